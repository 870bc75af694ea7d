//! Making a corpus config runnable in a fresh bundle: the probe as the process (or the
//! config's own args), the rootfs copy as root, no terminal, the `@DIR@`/`@FILE@` bind sources
//! and the `@CGROUP@` path that sanitised engine configs carry, and a rootfs owned by the
//! container's root when the config maps it elsewhere.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use serde_json::{json, Value};

use crate::corpus::Mode;
use crate::harness::{mkdir_mode, Ctn};
use crate::rootfs::chown_tree;

/// The in-container checker, built by spec-tests' build.rs; `--observe` is the probe.
const PROBE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/spec-checker"));

/// Where the probe lives inside the container.
pub const PROBE_PATH: &str = "/.difftest/probe";

/// Writes the bundle's config.json for `cfg` and returns what was written.
pub fn bundle(c: &Ctn, cfg: &Value, mode: Mode, cgroup: &str) -> Result<Value, String> {
    let mut cfg = cfg.clone();
    cfg["root"]["path"] = json!("rootfs");
    if cfg["process"].is_object() {
        // No console here: a config that asked for one gets none, and no size for it.
        if cfg["process"]["terminal"] == true {
            cfg["process"]["terminal"] = json!(false);
            cfg["process"]
                .as_object_mut()
                .map(|p| p.remove("consoleSize"));
        }
        if mode == Mode::Probe {
            cfg["process"]["args"] = json!([PROBE_PATH, "--observe"]);
        }
    }
    install_probe(c)?;
    bind_sources(c, &mut cfg)?;
    if let Some(p) = cfg["linux"]["cgroupsPath"].as_str() {
        if let Some(rest) = p.strip_prefix("@CGROUP@") {
            cfg["linux"]["cgroupsPath"] = json!(format!("{cgroup}{rest}"));
        }
    }
    block_device(&c.ctx.rootfs, &mut cfg);
    if let Some((uid, gid)) = mapped_root(&cfg) {
        chown_tree(&c.rootfs(), uid, gid)?;
    }
    c.write_config(&cfg)?;
    Ok(cfg)
}

fn install_probe(c: &Ctn) -> Result<(), String> {
    let dir = c.rootfs().join(".difftest");
    mkdir_mode(&dir, 0o755)?;
    let p = dir.join("probe");
    fs::write(&p, PROBE).map_err(|e| format!("write {}: {e}", p.display()))?;
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", p.display()))
}

/// `@DIR@name` and `@FILE@name` sources become a directory or an empty file in the bundle.
fn bind_sources(c: &Ctn, cfg: &mut Value) -> Result<(), String> {
    let Some(mounts) = cfg["mounts"].as_array_mut() else {
        return Ok(());
    };
    for m in mounts {
        let Some(src) = m["source"].as_str() else {
            continue;
        };
        let (is_dir, name) = if let Some(n) = src.strip_prefix("@DIR@") {
            (true, n)
        } else if let Some(n) = src.strip_prefix("@FILE@") {
            (false, n)
        } else {
            continue;
        };
        let p = c.bundle.join("binds").join(name);
        if is_dir {
            mkdir_mode(&p, 0o755)?;
        } else {
            mkdir_mode(&c.bundle.join("binds"), 0o755)?;
            fs::write(&p, "").map_err(|e| format!("create {}: {e}", p.display()))?;
        }
        m["source"] = json!(p.to_string_lossy());
    }
    Ok(())
}

/// The host ids of the container's root when the config has a user namespace that maps it
/// elsewhere than the host's root: the rootfs is chowned to them, as engines do.
fn mapped_root(cfg: &Value) -> Option<(u32, u32)> {
    let has_userns = cfg["linux"]["namespaces"]
        .as_array()?
        .iter()
        .any(|n| n["type"] == "user");
    if !has_userns {
        return None;
    }
    let host_of = |maps: &Value| -> Option<u32> {
        maps.as_array()?.iter().find_map(|m| {
            let (c, h, s) = (
                m["containerID"].as_u64()?,
                m["hostID"].as_u64()?,
                m["size"].as_u64()?,
            );
            (c == 0 && s > 0).then_some(h as u32)
        })
    };
    let uid = host_of(&cfg["linux"]["uidMappings"])?;
    let gid = host_of(&cfg["linux"]["gidMappings"]).unwrap_or(uid);
    (uid != 0 || gid != 0).then_some((uid, gid))
}

/// `"@BLOCK_MAJOR@"` and `"@BLOCK_MINOR@"` anywhere in the config become the numbers of the
/// block device holding the shared rootfs (a device the blockIO rules can name on any host).
fn block_device(rootfs: &std::path::Path, cfg: &mut Value) {
    let dev = fs::metadata(rootfs).map(|m| m.dev()).unwrap_or(0);
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    fn walk(v: &mut Value, major: u32, minor: u32) {
        match v {
            Value::String(s) if s == "@BLOCK_MAJOR@" => *v = json!(major),
            Value::String(s) if s == "@BLOCK_MINOR@" => *v = json!(minor),
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, major, minor)),
            Value::Object(m) => m.values_mut().for_each(|x| walk(x, major, minor)),
            _ => {}
        }
    }
    walk(cfg, major, minor);
}
