//! The final check: after every test has cleaned up, nothing the suite's containers created may
//! be left on the host — no process, no cgroup directory named after one of its ids (or at one
//! of its cgroupsPaths), no mount under its bundles or state root, no state directory. What is
//! found is reported, then removed (only these exact items: the suite's own ids and paths).

use std::fs;
use std::time::Duration;

use crate::harness::{
    cgroup_path_dirs, find_cgroup_dirs, find_processes, mounts_under, parse_mountinfo, proc_alive,
    proc_start_time, remove_bundle, run_host, wait_until, Ctx, TestResult,
};

pub fn check(ctx: &Ctx) -> TestResult {
    let mut problems = Vec::new();
    let ids = ctx.ids();
    let paths = ctx.cgroup_paths();

    // Processes: give ones killed by the last test a moment to finish exiting.
    let leaked_procs = || {
        let mut v = find_processes(&ids, &paths, &ctx.work);
        for (pid, start) in ctx.tracked_pids() {
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

    // Mounts under the bundles or the state root, or of something in them.
    for dir in [&ctx.work, &ctx.root] {
        let mut lines = mounts_under(dir);
        let d = format!("{}/", dir.to_string_lossy());
        let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for m in parse_mountinfo(&text) {
            if m.line.contains(&d) && !lines.contains(&m.line) {
                lines.push(m.line);
            }
        }
        for line in lines {
            problems.push(format!("mount left: {line}"));
        }
        let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let d = dir.to_string_lossy().to_string();
        let mut mps: Vec<String> = parse_mountinfo(&text)
            .into_iter()
            .map(|m| m.mount_point)
            .filter(|mp| mp.starts_with(&format!("{d}/")))
            .collect();
        mps.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mp in mps {
            let _ = run_host(&["umount", "-l", &mp]);
        }
    }

    // Cgroup directories: wait a little for cgroups whose last process just died.
    let leaked_cgroups = || {
        let mut v = find_cgroup_dirs(&ids);
        for p in &paths {
            v.extend(cgroup_path_dirs(p));
        }
        v.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
        v
    };
    wait_until(Duration::from_secs(2), || leaked_cgroups().is_empty());
    for dir in leaked_cgroups() {
        problems.push(format!("cgroup left: {}", dir.display()));
        let _ = fs::remove_dir(&dir);
    }

    // State directories in the private root.
    if let Ok(rd) = fs::read_dir(&ctx.root) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if ids.contains(&name) {
                problems.push(format!("state directory left: {}", e.path().display()));
            }
        }
    }
    remove_bundle(&ctx.root);

    // Bundles (each test removes its own; one left means a mount blocked it).
    if let Ok(rd) = fs::read_dir(&ctx.work) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                problems.push(format!("bundle left: {}", e.path().display()));
            }
        }
    }
    remove_bundle(&ctx.work);

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
