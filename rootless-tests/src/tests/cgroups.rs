//! Cgroups of a rootless container: none when nothing is delegated (the
//! container stays in the caller's cgroups, limits are refused), the
//! delegated subtree when an administrator gave one to the user.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::idmaps::nothing_left;
use crate::config;
use crate::harness::{cgroup_mounts, ensure, proc_cgroup, skip, Ctn, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    vec![
        Test::new(
            "cgroups",
            "not_delegated_stays_in_callers_cgroup",
            not_delegated_stays,
        ),
        Test::new(
            "cgroups",
            "limits_refused_without_delegation",
            limits_refused,
        ),
        Test::new("cgroups", "pause_needs_a_cgroup", pause_needs_a_cgroup),
        Test::new(
            "cgroups",
            "no_pid_namespace_without_a_cgroup",
            no_pid_namespace,
        ),
        Test::new("cgroups", "rootless_false_needs_the_cgroup", rootless_false),
        Test::new(
            "cgroups",
            "delegated_subtree_is_used",
            delegated_subtree_is_used,
        ),
        Test::new("cgroups", "partly_delegated", partly_delegated),
    ]
}

fn v1_host() -> bool {
    cgroup_mounts().iter().any(|(n, _)| !n.is_empty())
}

/// The init is where the caller is in every hierarchy; `--debug` says
/// why.
fn not_delegated_stays(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "", &config::base(ctx, &["sleep", "1000"]))?;
    let out = c.create_with(&["--debug"])?.ok("create --debug")?;
    let pid = c.pid()?;
    let ours = proc_cgroup(std::process::id() as i32);
    let theirs = proc_cgroup(pid);
    ensure(ours == theirs, || {
        format!("init cgroups:\n{theirs}\nours:\n{ours}")
    })?;
    if ctx.is_cella {
        ensure(out.stderr.contains("not delegated"), || {
            format!(
                "--debug does not say the cgroup was skipped: {}",
                out.describe()
            )
        })?;
    }
    Ok(())
}

/// Where the container's cgroup would be for each hierarchy: the
/// caller's own cgroup joined with the id (a relative cgroupsPath).
fn would_be_dirs(id: &str) -> Vec<PathBuf> {
    let own = proc_cgroup(std::process::id() as i32);
    cgroup_mounts()
        .into_iter()
        .filter_map(|(name, mp)| {
            let path = own.lines().find_map(|l| {
                let mut f = l.splitn(3, ':');
                let (_, n, p) = (f.next()?, f.next()?, f.next()?);
                (n == name).then(|| p.trim_start_matches('/').to_string())
            })?;
            Some(mp.join(path).join(id))
        })
        .collect()
}

fn limits_refused(ctx: &Ctx) -> TestResult {
    let mut cfg = config::base(ctx, &["true"]);
    cfg["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    let c = Ctn::new(ctx, "", &cfg)?;
    let out = c.create_with(&[])?;
    ensure(out.code != 0, || {
        format!(
            "a memory limit without a delegated cgroup was accepted: {}",
            out.describe()
        )
    })?;
    if ctx.is_cella {
        ensure(
            out.stderr.contains("linux.resources.memory.limit") && out.stderr.contains("delegated"),
            || format!("want the field named and why: {}", out.describe()),
        )?;
    }
    for d in would_be_dirs(&c.id) {
        ensure(!d.exists(), || format!("cgroup {} left", d.display()))?;
    }
    nothing_left(ctx, &c)
}

fn pause_needs_a_cgroup(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "", &config::base(ctx, &["sleep", "1000"]))?;
    c.start_new()?;
    let out = ctx.rt(&["pause", &c.id])?;
    ensure(out.code != 0, || {
        "pause without a freezer succeeded".to_string()
    })?;
    if ctx.is_cella {
        ensure(out.stderr.contains("no cgroup"), || {
            format!("pause: {}", out.describe())
        })?;
    }
    c.wait_status("running")
}

/// Without a cgroup and without a pid namespace of its own the
/// container's processes could not be told from the caller's: refused.
fn no_pid_namespace(ctx: &Ctx) -> TestResult {
    if !ctx.is_cella {
        return Err(skip("cella's rule (runc accepts it and cannot kill --all)"));
    }
    let mut cfg = config::base(ctx, &["true"]);
    cfg["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "user"}]);
    cfg.as_object_mut().ok_or("config")?.remove("hostname");
    let c = Ctn::new(ctx, "", &cfg)?;
    let out = c.create_with(&[])?;
    ensure(
        out.code == 1
            && out.stderr.contains("linux.namespaces")
            && out.stderr.contains("pid namespace"),
        || format!("want linux.namespaces refused: {}", out.describe()),
    )?;
    nothing_left(ctx, &c)
}

/// `--rootless false`: a cgroup the user cannot create is an error.
fn rootless_false(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "", &config::base(ctx, &["true"]))?;
    let out = c.create_with(&["--rootless", "false"])?;
    ensure(out.code != 0, || {
        format!(
            "--rootless false created without a cgroup: {}",
            out.describe()
        )
    })?;
    if ctx.is_cella {
        ensure(
            out.stderr.contains("cgroup") && out.stderr.contains("Permission denied"),
            || format!("want the cgroup error: {}", out.describe()),
        )?;
    }
    nothing_left(ctx, &c)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("({e})"))
}

/// A subtree given to the user (as an administrator would): limits are
/// written there, the init is in it, pause/resume/update/events work and
/// delete removes the container's directory. On v2 the caller must be
/// inside the subtree too (the kernel checks `cgroup.procs` of the common
/// ancestor when a process moves), as a systemd user session is: the
/// suite moves itself into `<subtree>/caller` for the test.
fn delegated_subtree_is_used(ctx: &Ctx) -> TestResult {
    let v1 = v1_host();
    let rel = format!("cella-rootless-{}-full", ctx.pid);
    let dirs = ctx.delegate_cgroup(&rel, &[])?;
    let _inside = if v1 {
        None
    } else {
        let caller = dirs.first().ok_or("no v2 tree")?.join("caller");
        Some(crate::harness::EnterCgroup::new(&caller)?)
    };
    let mut cfg = config::base(ctx, &["sleep", "1000"]);
    cfg["linux"]["cgroupsPath"] = json!(format!("/{rel}/ctr"));
    cfg["linux"]["resources"] = json!({
        "memory": {"limit": 67108864},
        "pids": {"limit": 50},
        "cpu": {"shares": 512}
    });
    let c = Ctn::new(ctx, "", &cfg)?;
    c.start_new()?;
    let pid = c.pid()?;
    // v1: the hierarchy of a controller; v2: the one directory.
    let dir = |ctrl: &str| {
        dirs.iter()
            .find(|d| {
                !v1 || d
                    .parent()
                    .and_then(|p| p.file_name())
                    .is_some_and(|n| n.to_string_lossy().split(',').any(|x| x == ctrl))
            })
            .map(|d| d.join("ctr"))
            .unwrap_or_default()
    };
    let (memory, cpu, cpu_want) = if v1 {
        ("memory.limit_in_bytes", "cpu.shares", "512")
    } else {
        // runc's conversion: 1 + (512 - 2) * 9999 / 262142.
        ("memory.max", "cpu.weight", "20")
    };
    for (ctrl, file, want) in [
        ("memory", memory, "67108864"),
        ("pids", "pids.max", "50"),
        ("cpu", cpu, cpu_want),
    ] {
        let got = read(&dir(ctrl).join(file));
        ensure(got == want, || format!("{ctrl}/{file}: {got}, want {want}"))?;
    }
    let cg = proc_cgroup(pid);
    let inside = cg
        .lines()
        .filter(|l| l.ends_with(&format!("/{rel}/ctr")))
        .count();
    ensure(inside >= if v1 { 3 } else { 1 }, || {
        format!("init not in the delegated cgroups:\n{cg}")
    })?;
    ctx.rt_ok(&["pause", &c.id])?;
    c.wait_status("paused")?;
    let (freezer, frozen) = if v1 {
        (dir("freezer").join("freezer.state"), "FROZEN")
    } else {
        (dir("").join("cgroup.freeze"), "1")
    };
    ensure(read(&freezer) == frozen, || {
        format!("{} is not {frozen}", freezer.display())
    })?;
    ctx.rt_ok(&["resume", &c.id])?;
    c.wait_status("running")?;
    ctx.rt_ok(&["update", "--memory", "134217728", &c.id])?;
    let got = read(&dir("memory").join(memory));
    ensure(got == "134217728", || format!("update: {memory} {got}"))?;
    let ev = ctx.rt_ok(&["events", "--stats", &c.id])?;
    ensure(ev.stdout.contains("\"memory\""), || {
        format!("events --stats: {}", ev.stdout)
    })?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    for d in &dirs {
        ensure(!d.join("ctr").exists(), || {
            format!("{}/ctr left after delete", d.display())
        })?;
    }
    Ok(())
}

/// Only memory and pids delegated: a memory limit works, a cpu one is
/// refused naming its field. On v1 the container stays in the caller's
/// cpu cgroup; on v2 (systemd's default delegation) the subtree is one
/// whose parent enables only memory and pids for it.
fn partly_delegated(ctx: &Ctx) -> TestResult {
    let v1 = v1_host();
    let rel = format!("cella-rootless-{}-part", ctx.pid);
    let (path, _inside) = if v1 {
        ctx.delegate_cgroup(&rel, &["memory", "pids"])?;
        (format!("/{rel}/ctr"), None)
    } else {
        let (_, mountpoint) = cgroup_mounts()
            .into_iter()
            .next()
            .ok_or("no cgroup2 mount")?;
        let top = mountpoint.join(&rel);
        ctx.make_cgroup(&top, false)?;
        std::fs::write(top.join("cgroup.subtree_control"), "+memory +pids")
            .map_err(|e| format!("enable memory and pids: {e}"))?;
        ctx.make_cgroup(&top.join("deleg"), true)?;
        let inside = crate::harness::EnterCgroup::new(&top.join("deleg/caller"))?;
        (format!("/{rel}/deleg/ctr"), Some(inside))
    };
    let mut cfg = config::base(ctx, &["sleep", "1000"]);
    cfg["linux"]["cgroupsPath"] = json!(path);
    cfg["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    let c = Ctn::new(ctx, "ok", &cfg)?;
    let out = c.create_with(&["--debug"])?.ok("create")?;
    let pid = c.pid()?;
    let cg = proc_cgroup(pid);
    let ours = proc_cgroup(std::process::id() as i32);
    let line = |text: &str, ctrl: &str| {
        text.lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|n| n.split(',').any(|x| x == ctrl))
            })
            .map(|l| l.to_string())
            .unwrap_or_default()
    };
    let memory_line = if v1 {
        line(&cg, "memory")
    } else {
        line(&cg, "")
    };
    ensure(memory_line.ends_with(&path), || {
        format!("want {path}: {cg}")
    })?;
    if v1 {
        ensure(line(&cg, "cpu") == line(&ours, "cpu"), || {
            format!("cpu: {cg}")
        })?;
        if ctx.is_cella {
            ensure(
                out.stderr.contains("not delegated") && out.stderr.contains("cpu"),
                || format!("--debug: {}", out.describe()),
            )?;
        }
    }
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    cfg["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "cpu": {"shares": 512}});
    let c = Ctn::new(ctx, "cpu", &cfg)?;
    let out = c.create_with(&[])?;
    ensure(out.code != 0, || {
        format!(
            "a cpu limit without cpu delegated was accepted: {}",
            out.describe()
        )
    })?;
    if ctx.is_cella {
        ensure(
            out.code == 1
                && out.stderr.contains("linux.resources.cpu.shares")
                && out.stderr.contains("delegated"),
            || format!("want cpu.shares refused: {}", out.describe()),
        )?;
    }
    nothing_left(ctx, &c)
}
