//! Cgroup placement (config-linux.md "Control groups": cgroupsPath), observed from the host:
//! /proc/<pid>/cgroup of the init and the cgroup directories.

use std::fs;

use serde_json::json;

use crate::bundle::sh;
use crate::harness::{cgroup_path_dirs, ensure, wait_until, Ctn, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("cgroups", name, f);
    vec![t("cgroups_path_placement", cgroups_path_placement)]
}

/// With an absolute cgroupsPath the init is in that cgroup in every controller hierarchy (v1
/// lines `N:controllers:/path`; on a pure v2 host the `0::/path` line), and delete removes the
/// directories.
fn cgroups_path_placement(ctx: &Ctx) -> TestResult {
    let path = ctx.new_cgroup_path("");
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("sleep 1000");
    cfg["linux"]["cgroupsPath"] = json!(path);
    c.write_config(&cfg)?;
    c.create_ok()?;
    let pid = c.pid()?;
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| format!("/proc/{pid}/cgroup: {e}"))?;
    let v1: Vec<&str> = text
        .lines()
        .filter(|l| {
            let ctrl = l.split(':').nth(1).unwrap_or("");
            !ctrl.is_empty() && !ctrl.starts_with("name=")
        })
        .collect();
    let lines: Vec<&str> = if v1.is_empty() {
        text.lines().filter(|l| l.starts_with("0::")).collect()
    } else {
        v1
    };
    let wrong: Vec<&&str> = lines
        .iter()
        .filter(|l| l.splitn(3, ':').nth(2) != Some(path.as_str()))
        .collect();
    ensure(!lines.is_empty() && wrong.is_empty(), || {
        format!("init {pid} not in {path}: {wrong:?} (all: {text})")
    })?;
    let dirs = cgroup_path_dirs(&path);
    ensure(!dirs.is_empty(), || {
        format!("no directory for {path} under /sys/fs/cgroup")
    })?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    let gone = wait_until(std::time::Duration::from_secs(3), || {
        cgroup_path_dirs(&path).is_empty()
    });
    ensure(gone, || {
        format!(
            "cgroup directories left after delete: {:?}",
            cgroup_path_dirs(&path)
        )
    })
}
