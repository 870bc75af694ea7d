//! Idmapped bind mounts (config.md "Mounts": `uidMappings`, `gidMappings`, the `idmap` and
//! `ridmap` options), observed through `stat` inside the container and on the host.
//!
//! A mount's mapping is a user namespace map: an id on disk (`containerID`) is seen as the
//! host's id `hostID` through the mount, and a file created through it by the host's id
//! `hostID` gets `containerID` on disk. This is the kernel's `MOUNT_ATTR_IDMAP` and runc's
//! reading (its tests/integration/idmap.bats: a root-owned file under the mapping 0:100000 is
//! `100000` in a container without a user namespace and `0` in one whose root is 100000).

use std::fs;
use std::os::unix::fs::{chown, MetadataExt};
use std::path::Path;

use serde_json::{json, Value};

use crate::bundle::{add_mount, add_userns, sh};
use crate::harness::{ensure, ensure_eq, mount_at, skip, Ctn, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("mounts", name, f);
    vec![
        t("idmap_write_no_userns", idmap_write_no_userns),
        t("idmap_write_userns", idmap_write_userns),
        t(
            "idmap_container_userns_mapping",
            idmap_container_userns_mapping,
        ),
        t("idmap_top_mount_only", idmap_top_mount_only),
        t("ridmap_submounts", ridmap_submounts),
        t(
            "idmap_without_mapping_refused",
            idmap_without_mapping_refused,
        ),
    ]
}

/// Skips (with the reason) where the kernel cannot idmap the filesystem the bundles are on:
/// before Linux 5.12 none, and tmpfs only from 6.3 (the initramfs VM: Debian 12's 6.1 kernel,
/// `/tmp` on tmpfs). Anything else is tried, and a runtime's refusal is a failure.
fn filesystem_supports_idmap(ctx: &Ctx) -> TestResult {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut v = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let kernel = (v.next().unwrap_or(0), v.next().unwrap_or(0));
    let work = &ctx.work;
    let fs =
        nix::sys::statfs::statfs(work).map_err(|e| format!("statfs {}: {e}", work.display()))?;
    let tmpfs = fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC;
    if kernel < (5, 12) || (tmpfs && kernel < (6, 3)) {
        return Err(skip(format!(
            "kernel {} cannot idmap the bundles' filesystem ({}{}): idmapped mounts need \
             Linux 5.12, on tmpfs 6.3",
            release.trim(),
            work.display(),
            if tmpfs { ", tmpfs" } else { "" }
        )));
    }
    Ok(())
}

/// The container's user namespace of the tests that have one.
const USERNS: (u64, u64, u64) = (0, 100000, 65536);

fn one(container: u32, host: u32) -> Value {
    json!([{"containerID": container, "hostID": host, "size": 1}])
}

fn overflow_ids() -> String {
    let read = |f: &str| fs::read_to_string(f).unwrap_or_default().trim().to_string();
    format!(
        "{} {}",
        read("/proc/sys/kernel/overflowuid"),
        read("/proc/sys/kernel/overflowgid")
    )
}

fn owner(p: &Path) -> Result<(u32, u32), String> {
    let m = fs::symlink_metadata(p).map_err(|e| format!("stat {}: {e}", p.display()))?;
    Ok((m.uid(), m.gid()))
}

fn make_owned(p: &Path, dir: bool, uid: u32, gid: u32) -> Result<(), String> {
    let made = if dir {
        fs::create_dir_all(p)
    } else {
        fs::write(p, "x")
    };
    made.map_err(|e| format!("create {}: {e}", p.display()))?;
    chown(p, Some(uid), Some(gid)).map_err(|e| format!("chown {}: {e}", p.display()))
}

/// Runs `cfg` in `c`; the container must exit 0. Returns its stdout.
fn run(c: &Ctn, cfg: &Value) -> Result<String, String> {
    c.write_config(cfg)?;
    let out = c.run()?;
    ensure(out.code == 0, || {
        format!("the container failed: {}", out.describe())
    })?;
    Ok(out.stdout)
}

/// A volume whose files are 1000:2000 on disk, mapped (uid 1000 → `host`, gid 2000 → `host`)
/// for a container root that is `host` on the host: through the mount the volume, its file
/// and a file the container creates are root's (`0 0`), a file of the host's root is
/// unmapped (the overflow ids), the file created is 1000:2000 on the host, and mountinfo
/// says `idmapped`.
fn write_case(ctx: &Ctx, userns: bool) -> TestResult {
    filesystem_supports_idmap(ctx)?;
    let c = Ctn::new(ctx, "")?;
    let host = if userns { USERNS.1 as u32 } else { 0 };
    let vol = c.bundle.join("vol");
    make_owned(&vol, true, 1000, 2000)?;
    make_owned(&vol.join("old"), false, 1000, 2000)?;
    make_owned(&vol.join("rootfile"), false, 0, 0)?;
    let mut cfg = sh(
        "cd /mnt/v && stat -c '%u %g' . old rootfile && touch new && \
         stat -c '%u %g' new && cat /proc/self/mountinfo",
    );
    if userns {
        crate::rootfs::chown_tree(&c.rootfs(), host, host)?;
        add_userns(&mut cfg, &[USERNS]);
    }
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/v", "type": "bind", "source": vol,
               "options": ["bind", "idmap"],
               "uidMappings": one(1000, host), "gidMappings": one(2000, host)}),
    );
    let out = run(&c, &cfg)?;
    let lines: Vec<&str> = out.lines().take(4).collect();
    let overflow = overflow_ids();
    ensure_eq(
        lines,
        vec!["0 0", "0 0", overflow.as_str(), "0 0"],
        "owners of the volume, its file, a host root's file and a new file, seen inside",
    )?;
    ensure_eq(
        owner(&vol.join("new"))?,
        (1000, 2000),
        "owner on the host of the file created through the mount",
    )?;
    let m = mount_at(&out, "/mnt/v")?;
    ensure(m.has_opt("idmapped"), || {
        format!("/mnt/v is not idmapped: {}", m.line)
    })
}

/// Without a user namespace: the container's root (the host's root) creates through a mount
/// mapping 1000 → 0 a file that is 1000:2000 on the host.
fn idmap_write_no_userns(ctx: &Ctx) -> TestResult {
    write_case(ctx, false)
}

/// With a user namespace (root is 100000): the mount's `hostID` is the host's id 100000, not an
/// id of the container's namespace (runc makes the mapping's namespace from the host).
fn idmap_write_userns(ctx: &Ctx) -> TestResult {
    write_case(ctx, true)
}

/// `idmap` without mappings in a container with a user namespace takes that namespace's
/// mapping (runtime-spec: MAY; runc does): the host's root-owned volume is the container
/// root's, a file owned 5:6 on disk is 5:6 inside, and a file the container's root creates is
/// the host root's.
fn idmap_container_userns_mapping(ctx: &Ctx) -> TestResult {
    filesystem_supports_idmap(ctx)?;
    let c = Ctn::new(ctx, "")?;
    crate::rootfs::chown_tree(&c.rootfs(), USERNS.1 as u32, USERNS.1 as u32)?;
    let vol = c.bundle.join("vol");
    make_owned(&vol, true, 0, 0)?;
    make_owned(&vol.join("five"), false, 5, 6)?;
    let mut cfg = sh("cd /mnt/v && stat -c '%u %g' . five && touch new && stat -c '%u %g' new");
    add_userns(&mut cfg, &[USERNS]);
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/v", "type": "bind", "source": vol,
               "options": ["bind", "idmap"]}),
    );
    let out = run(&c, &cfg)?;
    ensure_eq(
        out.lines().collect::<Vec<_>>(),
        vec!["0 0", "5 6", "0 0"],
        "owners of the volume, a 5:6 file and a new file, seen inside",
    )?;
    ensure_eq(
        owner(&vol.join("new"))?,
        (0, 0),
        "owner on the host of the file created through the mount",
    )
}

/// An `rbind` of a tree with a submount, idmapped (1000 → 0) with `option`; returns what
/// `stat` shows of the tree's file and of the submount's file (both 1000:2000 on disk).
fn tree_case(ctx: &Ctx, option: &str) -> Result<(String, String), String> {
    filesystem_supports_idmap(ctx)?;
    let c = Ctn::new(ctx, "")?;
    let tree = c.bundle.join("tree");
    make_owned(&tree, true, 0, 0)?;
    make_owned(&tree.join("f"), false, 1000, 2000)?;
    // A mount of its own below the tree (a bind of a bundle directory onto itself), made and
    // undone by the harness.
    let sub = tree.join("sub");
    c.host_shared_bind(&sub)?;
    make_owned(&sub.join("g"), false, 1000, 2000)?;
    let mut cfg = sh("stat -c '%u %g' /mnt/t/f /mnt/t/sub/g");
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/t", "type": "bind", "source": tree,
               "options": ["rbind", option],
               "uidMappings": one(1000, 0), "gidMappings": one(2000, 0)}),
    );
    let out = run(&c, &cfg)?;
    let mut lines = out.lines().map(str::to_string);
    Ok((
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    ))
}

/// `idmap` on an `rbind` maps the top mount only: the submount's files keep their ids.
fn idmap_top_mount_only(ctx: &Ctx) -> TestResult {
    let (top, sub) = tree_case(ctx, "idmap")?;
    ensure_eq(top.as_str(), "0 0", "owner of the tree's file")?;
    ensure_eq(
        sub.as_str(),
        "1000 2000",
        "owner of the submount's file (not idmapped)",
    )
}

/// `ridmap` on an `rbind` maps every mount of the tree.
fn ridmap_submounts(ctx: &Ctx) -> TestResult {
    let (top, sub) = tree_case(ctx, "ridmap")?;
    ensure_eq(top.as_str(), "0 0", "owner of the tree's file")?;
    ensure_eq(
        sub.as_str(),
        "0 0",
        "owner of the submount's file (idmapped)",
    )
}

/// `idmap` with neither mappings nor a user namespace: runtime-spec says an error MUST be
/// returned; no container is left, and the error names the mount.
fn idmap_without_mapping_refused(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let vol = c.bundle.join("vol");
    make_owned(&vol, true, 0, 0)?;
    let mut cfg = sh("true");
    let index = cfg["mounts"].as_array().map_or(0, |m| m.len());
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/v", "type": "bind", "source": vol,
               "options": ["bind", "idmap"]}),
    );
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    ensure(out.code != 0, || {
        format!("create should fail: {}", out.describe())
    })?;
    let field = format!("mounts[{index}]");
    ensure(!ctx.check_messages || out.stderr.contains(&field), || {
        format!("the error should name {field}: {}", out.describe())
    })?;
    println!("# refused: {}", out.stderr.trim().replace('\n', " "));
    ensure(c.state().is_err(), || {
        "the refused create left a container".to_string()
    })
}
