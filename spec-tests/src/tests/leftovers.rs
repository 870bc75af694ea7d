//! Leak checks. After each test the runner sweeps what that test created (its [`Scope`]); the
//! final check sweeps everything the suite created. Nothing of the suite's containers may be
//! left on the host — no process, no cgroup directory named after one of its ids (or at one of
//! its cgroupsPaths), no mount under its bundles or state directories, no state directory, no
//! bundle. What is found is reported, then removed (only these exact items: the suite's own ids
//! and paths), so that a runtime that fails to clean up cannot leave anything behind.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{
    cgroup_path_dirs, find_cgroup_dirs, find_processes_in, is_systemd_path, mounts_under,
    parse_mountinfo, proc_alive, proc_start_time, remove_bundle, run_host, systemd_unit,
    wait_until, Ctx, TestResult,
};

/// What one test (or the whole suite) created and must not leave behind.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    /// Container ids handed out.
    pub ids: BTreeSet<String>,
    /// Absolute cgroupsPaths asked for.
    pub cgroup_paths: BTreeSet<String>,
    /// Container init pids with their start times.
    pub pids: Vec<(i32, u64)>,
}

impl Scope {
    /// Everything the suite recorded so far.
    pub fn of_suite(ctx: &Ctx) -> Scope {
        Scope {
            ids: ctx.ids(),
            cgroup_paths: ctx.cgroup_paths(),
            pids: ctx.tracked_pids(),
        }
    }

    /// What `after` recorded beyond `before`.
    pub fn difference(after: &Scope, before: &Scope) -> Scope {
        Scope {
            ids: after.ids.difference(&before.ids).cloned().collect(),
            cgroup_paths: after
                .cgroup_paths
                .difference(&before.cgroup_paths)
                .cloned()
                .collect(),
            pids: after
                .pids
                .iter()
                .filter(|p| !before.pids.contains(p))
                .copied()
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.cgroup_paths.is_empty() && self.pids.is_empty()
    }
}

/// Force-deletes every container of `scope` through the runtime (used after a test was killed:
/// its guards never ran).
pub fn delete_all(ctx: &Ctx, scope: &Scope) {
    for id in &scope.ids {
        let _ = ctx.rt(&["delete", "--force", id]);
    }
}

/// Finds what `scope` left, removes it, and describes each item found.
pub fn sweep(ctx: &Ctx, scope: &Scope) -> Vec<String> {
    let mut problems = Vec::new();
    let ids = &scope.ids;
    let paths = &scope.cgroup_paths;
    let bundles: Vec<PathBuf> = ids.iter().map(|id| ctx.work.join(id)).collect();
    let states: Vec<PathBuf> = ids.iter().map(|id| ctx.root.join(id)).collect();

    // Processes: give ones killed by the test a moment to finish exiting.
    let leaked_procs = || {
        let mut v = find_processes_in(ids, paths, &bundles);
        for &(pid, start) in &scope.pids {
            if proc_alive(pid)
                && proc_start_time(pid) == Some(start)
                && !v.iter().any(|x| x.0 == pid)
            {
                v.push((pid, "container init still alive".to_string()));
            }
        }
        v
    };
    wait_until(Duration::from_secs(3), || leaked_procs().is_empty());
    let leaked = leaked_procs();
    for (pid, why) in &leaked {
        problems.push(format!("process {pid} left: {why}"));
        let _ = run_host(&["kill", "-KILL", &pid.to_string()]);
    }
    // Let them die before their cgroups are removed below.
    wait_until(Duration::from_secs(3), || {
        leaked.iter().all(|(pid, _)| !proc_alive(*pid))
    });

    // Mounts under the bundles or state directories, or of something in them.
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut mps = Vec::new();
    for dir in bundles.iter().chain(&states) {
        let mut lines = mounts_under(dir);
        let d = format!("{}/", dir.to_string_lossy());
        for m in parse_mountinfo(&text) {
            if m.line.contains(&d) && !lines.contains(&m.line) {
                lines.push(m.line);
            }
        }
        for line in lines {
            problems.push(format!("mount left: {line}"));
        }
        let d = dir.to_string_lossy().to_string();
        mps.extend(
            parse_mountinfo(&text)
                .into_iter()
                .map(|m| m.mount_point)
                .filter(|mp| *mp == d || mp.starts_with(&format!("{d}/"))),
        );
    }
    mps.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for mp in mps {
        let _ = run_host(&["umount", "-l", &mp]);
    }

    // Cgroup directories: wait a little for cgroups whose last process just died.
    let leaked_cgroups = || {
        let mut v = if ids.is_empty() {
            Vec::new()
        } else {
            find_cgroup_dirs(ids)
        };
        for p in paths {
            v.extend(cgroup_path_dirs(p));
        }
        v.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
        v.dedup();
        v
    };
    wait_until(Duration::from_secs(2), || leaked_cgroups().is_empty());
    for dir in leaked_cgroups() {
        problems.push(format!("cgroup left: {}", dir.display()));
        let _ = fs::remove_dir(&dir);
    }

    // On a systemd host: units still loaded (active, or failed and not collected): the scopes
    // of the systemd cgroupsPaths, and under --systemd-cgroup the default
    // `<prefix>-<id>.scope`s of the ids.
    if Path::new("/run/systemd/system").is_dir() {
        let mut units: Vec<String> = paths
            .iter()
            .filter(|p| is_systemd_path(p))
            .map(|p| systemd_unit(p))
            .collect();
        if ctx.systemd {
            units.extend(
                ids.iter()
                    .map(|id| format!("{}-{id}.scope", ctx.default_unit_prefix)),
            );
        }
        for (unit, states) in loaded_units(&units) {
            problems.push(format!("systemd unit left: {unit} ({states})"));
            let _ = run_host(&["systemctl", "stop", &unit]);
            let _ = run_host(&["systemctl", "reset-failed", &unit]);
        }
    }

    // State directories in the private root, then bundles (each test removes its own; one
    // left means a mount blocked it or the test was killed).
    for (what, dirs) in [("state directory", &states), ("bundle", &bundles)] {
        for d in dirs {
            if d.exists() {
                problems.push(format!("{what} left: {}", d.display()));
                remove_bundle(d);
            }
        }
    }
    problems
}

/// The final check over everything the suite did, then removal of the suite's directories.
pub fn check(ctx: &Ctx) -> TestResult {
    let problems = sweep(ctx, &Scope::of_suite(ctx));
    let mut extra = Vec::new();
    // Anything else in the work directory (a bundle of an id not recorded).
    if let Ok(rd) = fs::read_dir(&ctx.work) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                extra.push(format!("bundle left: {}", e.path().display()));
            }
        }
    }
    remove_bundle(&ctx.root);
    remove_bundle(&ctx.work);
    let all: Vec<String> = problems.into_iter().chain(extra).collect();
    if all.is_empty() {
        Ok(())
    } else {
        Err(all.join("\n"))
    }
}

/// Which of `units` systemd still has loaded (`systemctl list-units --all`: active, failed,
/// deactivating...), with their states (`loaded active running`). One systemctl call; none
/// when `units` is empty.
pub fn loaded_units(units: &[String]) -> Vec<(String, String)> {
    if units.is_empty() {
        return Vec::new();
    }
    let mut args = vec![
        "systemctl",
        "list-units",
        "--all",
        "--plain",
        "--no-legend",
        "--full",
    ];
    args.extend(units.iter().map(String::as_str));
    let text = run_host(&args).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let u = f.next()?;
            units
                .iter()
                .any(|x| x == u)
                .then(|| (u.to_string(), f.take(3).collect::<Vec<_>>().join(" ")))
        })
        .collect()
}
