//! The in-container checker (`checker/`): a static binary embedded in spec-tests, copied into a
//! bundle's rootfs with the config and the host facts it cannot see, and run as the container's
//! process. It compares the live environment with the config and prints one line per check,
//! which the test shows as TAP comments and turns into its result.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use serde_json::{json, Value};

use crate::harness::{mkdir_mode, Ctn, Ctx, TestResult};

/// The checker, built by `build.rs` with `-C target-feature=+crt-static`.
const CHECKER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/spec-checker"));

/// Where the checker and its inputs live inside the container.
const DIR: &str = ".spec-checker";

/// OCI namespace type → /proc/self/ns name.
const NS: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("network", "net"),
    ("mount", "mnt"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("user", "user"),
    ("cgroup", "cgroup"),
    ("time", "time"),
];

/// One line of the checker's report.
#[derive(Debug, Clone)]
pub struct Check {
    /// `ok`, `not ok` or `skip`.
    pub status: String,
    /// The rest: `GROUP WHAT[: REASON]`.
    pub text: String,
}

/// The checker's report for one container.
#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// The failed checks.
    pub fn failures(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.status == "not ok")
            .collect()
    }

    /// Whether a check whose text starts with `prefix` passed.
    pub fn passed(&self, prefix: &str) -> bool {
        self.checks
            .iter()
            .any(|c| c.status == "ok" && c.text.starts_with(prefix))
    }

    /// Prints every check (captured as the test's output: TAP comments) and fails with the
    /// failed ones.
    pub fn verdict(&self) -> TestResult {
        for c in &self.checks {
            println!("# check: {} {}", c.status, c.text);
        }
        let f = self.failures();
        if f.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} of {} checks failed:\n{}",
                f.len(),
                self.checks.len(),
                f.iter()
                    .map(|c| format!("not ok {}", c.text))
                    .collect::<Vec<_>>()
                    .join("\n")
            ))
        }
    }
}

/// The inode of a namespace file or link target.
fn inode_of(p: &str) -> Option<u64> {
    fs::metadata(p).ok().map(|m| m.ino())
}

/// Puts the checker into the bundle's rootfs and makes it the container's process, checking
/// `groups` (all when empty). Writes config.json.
pub fn install(c: &Ctn, cfg: &mut Value, groups: &[&str]) -> Result<(), String> {
    let copy = cfg.clone();
    install_with(c, cfg, &copy, groups)
}

/// [`install`] giving the checker `told` (with the same args) instead of the config the
/// runtime gets: a test of the checker itself, which must then report the differences.
pub fn install_with(c: &Ctn, cfg: &mut Value, told: &Value, groups: &[&str]) -> Result<(), String> {
    let dir = c.rootfs().join(DIR);
    mkdir_mode(&dir, 0o755)?;
    let bin = dir.join("check");
    fs::write(&bin, CHECKER).map_err(|e| format!("write {}: {e}", bin.display()))?;
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", bin.display()))?;
    let mut facts = String::new();
    for (oci, kind) in NS {
        if let Some(ino) = inode_of(&format!("/proc/self/ns/{kind}")) {
            facts.push_str(&format!("ns.{kind} {ino}\n"));
        }
        let path = cfg["linux"]["namespaces"]
            .as_array()
            .and_then(|l| l.iter().find(|n| n["type"] == *oci))
            .and_then(|n| n["path"].as_str());
        if let Some(ino) = path.and_then(inode_of) {
            facts.push_str(&format!("nspath.{kind} {ino}\n"));
        }
    }
    fs::write(dir.join("facts"), facts).map_err(|e| format!("write facts: {e}"))?;
    let mut args = vec![
        json!(format!("/{DIR}/check")),
        json!(format!("/{DIR}/config.json")),
        json!(format!("/{DIR}/facts")),
    ];
    args.extend(groups.iter().map(|g| json!(g)));
    cfg["process"]["args"] = json!(args);
    let mut told = told.clone();
    told["process"]["args"] = cfg["process"]["args"].clone();
    let text = serde_json::to_string_pretty(&told).map_err(|e| e.to_string())?;
    fs::write(dir.join("config.json"), &text).map_err(|e| format!("write config copy: {e}"))?;
    c.write_config(cfg)
}

/// Copies the checker to `<bundle>/hookbin/check` and to the same absolute path inside the
/// rootfs (a hook path resolves in the runtime's or the container's mount namespace), for use
/// as a hook: `check --hook NAME LOG`. Returns the path.
pub fn install_hook_binary(c: &Ctn) -> Result<String, String> {
    let host = c.bundle.join("hookbin/check");
    let inside = c
        .rootfs()
        .join(c.bundle.strip_prefix("/").unwrap_or(&c.bundle))
        .join("hookbin/check");
    for p in [&host, &inside] {
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        }
        fs::write(p, CHECKER).map_err(|e| format!("write {}: {e}", p.display()))?;
        fs::set_permissions(p, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", p.display()))?;
    }
    Ok(host.to_string_lossy().into_owned())
}

/// Parses the checker's output; it must end with its `done` line.
pub fn parse(stdout: &str) -> Result<Report, String> {
    let mut checks = Vec::new();
    let mut done = false;
    for line in stdout.lines() {
        let (status, text) = if let Some(t) = line.strip_prefix("not ok ") {
            ("not ok", t)
        } else if let Some(t) = line.strip_prefix("ok ") {
            ("ok", t)
        } else if let Some(t) = line.strip_prefix("skip ") {
            ("skip", t)
        } else if line.starts_with("done ") {
            done = true;
            continue;
        } else {
            continue;
        };
        checks.push(Check {
            status: status.to_string(),
            text: text.to_string(),
        });
    }
    if !done {
        return Err(format!(
            "the checker did not finish (no `done` line); its output:\n{stdout}"
        ));
    }
    Ok(Report { checks })
}

/// Runs `cfg` (its `process.args` replaced by the checker) in the foreground and returns the
/// checker's report. The container must exit 0.
pub fn run_checker(ctx: &Ctx, cfg: &Value, groups: &[&str]) -> Result<Report, String> {
    let c = Ctn::new(ctx, "")?;
    run_in(&c, cfg, groups)
}

/// [`run_checker`] in a prepared container (e.g. with a chowned rootfs).
pub fn run_in(c: &Ctn, cfg: &Value, groups: &[&str]) -> Result<Report, String> {
    let mut cfg = cfg.clone();
    install(c, &mut cfg, groups)?;
    let out = c.run()?;
    if out.code != 0 {
        return Err(format!(
            "the checker's container failed: {}",
            out.describe()
        ));
    }
    parse(&out.stdout)
}
