//! Cgroup placement (config-linux.md "Control groups": cgroupsPath), observed from the host:
//! /proc/<pid>/cgroup of the init and the cgroup directories.

mod foreign;

use std::fs;
use std::os::unix::fs::MetadataExt;

use serde_json::json;

use crate::bundle::{add_mount, add_userns, put_namespace, sh};
use crate::harness::{
    cgroup_path_dirs, cgroup_rel, ensure, host_cgroup_v2, skip, wait_until, Ctn, Ctx, TestResult,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("cgroups", name, f);
    vec![
        t("cgroups_path_placement", cgroups_path_placement),
        t(
            "v2_relative_path_is_a_sibling",
            v2_relative_path_is_a_sibling,
        ),
        t("ownership_unchanged_v1", ownership_unchanged_v1),
        t(
            "refuses_cgroup_with_processes",
            foreign::refuses_cgroup_with_processes,
        ),
        t("refuses_frozen_cgroup", foreign::refuses_frozen_cgroup),
        t(
            "foreign_process_in_child_cgroup_survives",
            foreign::foreign_process_in_child_cgroup_survives,
        ),
        t(
            "kill_all_stopped_leaves_foreign_process",
            foreign::kill_all_stopped_leaves_foreign_process,
        ),
    ]
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
    let dir = cgroup_rel(&path);
    let wrong: Vec<&&str> = lines
        .iter()
        .filter(|l| l.splitn(3, ':').nth(2) != Some(dir.as_str()))
        .collect();
    ensure(!lines.is_empty() && wrong.is_empty(), || {
        format!("init {pid} not in {dir}: {wrong:?} (all: {text})")
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

/// On a pure cgroup v2 host a relative cgroupsPath, and an absent one (the container id), is
/// placed below the *parent* of the caller's cgroup, as a sibling of it (runc's fs2
/// `defaultDirPath`: the caller's own cgroup has processes, so it could not give a child
/// controllers); delete removes it. The cgroupfs driver's rule: skipped under
/// `--systemd-cgroup`, and on a v1 or hybrid host (where runc nests it in the caller's
/// cgroup of each hierarchy).
fn v2_relative_path_is_a_sibling(ctx: &Ctx) -> TestResult {
    if !host_cgroup_v2() {
        return Err(skip("not a cgroup v2 host: the rule is cgroup v2's"));
    }
    if ctx.systemd {
        return Err(skip(
            "--systemd-cgroup: a cgroupsPath is slice:prefix:name there",
        ));
    }
    let own =
        fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("/proc/self/cgroup: {e}"))?;
    let own = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or_else(|| format!("no 0:: line in /proc/self/cgroup: {own}"))?;
    let parent = std::path::Path::new(own)
        .parent()
        .unwrap_or(std::path::Path::new("/"))
        .to_path_buf();
    let rel = format!("spec-tests-{}-{}-rel", ctx.pid, ctx.current());
    for configured in [Some(rel.as_str()), None] {
        let c = Ctn::new(ctx, if configured.is_some() { "rel" } else { "none" })?;
        let mut cfg = sh("sleep 1000");
        let name = configured.unwrap_or(&c.id).to_string();
        if let Some(p) = configured {
            cfg["linux"]["cgroupsPath"] = json!(p);
        } else if let Some(l) = cfg["linux"].as_object_mut() {
            l.remove("cgroupsPath");
        }
        let want = parent.join(&name);
        ctx.record_cgroup_path(&want.to_string_lossy());
        c.write_config(&cfg)?;
        c.create_ok()?;
        let pid = c.pid()?;
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .map_err(|e| format!("/proc/{pid}/cgroup: {e}"))?;
        let line = format!("0::{}", want.display());
        ensure(text.lines().any(|l| l == line), || {
            format!(
                "cgroupsPath {configured:?}, the caller in {own}: the init is in {}, not {line}",
                text.trim()
            )
        })?;
        ctx.rt_ok(&["delete", "--force", &c.id])?;
        let dir =
            std::path::Path::new("/sys/fs/cgroup").join(want.strip_prefix("/").unwrap_or(&want));
        let gone = wait_until(std::time::Duration::from_secs(3), || !dir.exists());
        ensure(gone, || format!("{} left after delete", dir.display()))?;
    }
    Ok(())
}

/// On cgroup v1 the container's cgroups keep the runtime's owner (root) even when everything
/// else that could call for a change is there: a user namespace mapping root to 100000, a new
/// cgroup namespace and a read-write `cgroup` mount at `/sys/fs/cgroup`. Every v1 directory
/// at the cgroupsPath and every file in it is checked (the cgroup2 mount of a hybrid host is
/// left out: the rule is about v1).
fn ownership_unchanged_v1(ctx: &Ctx) -> TestResult {
    if host_cgroup_v2() {
        return Err(skip("a cgroup v2 host: the rule is about cgroup v1"));
    }
    let path = ctx.new_cgroup_path("");
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("sleep 1000");
    add_userns(&mut cfg, &[(0, 100000, 65536)]);
    put_namespace(&mut cfg, json!({"type": "cgroup"}));
    add_mount(
        &mut cfg,
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "relatime", "rw"]}),
    );
    cfg["linux"]["cgroupsPath"] = json!(path);
    c.write_config(&cfg)?;
    c.create_ok()?;
    let dirs: Vec<_> = cgroup_path_dirs(&path)
        .into_iter()
        .filter(|d| !d.starts_with("/sys/fs/cgroup/unified"))
        .collect();
    ensure(!dirs.is_empty(), || {
        format!("no cgroup v1 directory for {path}")
    })?;
    let mut changed = Vec::new();
    for d in &dirs {
        let entries = fs::read_dir(d).map_err(|e| format!("{}: {e}", d.display()))?;
        let paths = std::iter::once(d.clone()).chain(entries.flatten().map(|e| e.path()));
        for p in paths {
            let m = fs::symlink_metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            if (m.uid(), m.gid()) != (0, 0) {
                changed.push(format!("{} {}:{}", p.display(), m.uid(), m.gid()));
            }
        }
    }
    println!("# checked {} v1 cgroup directories", dirs.len());
    ensure(changed.is_empty(), || {
        format!("cgroup v1 files not owned by root: {}", changed.join(", "))
    })
}
