//! The tests, one module per area, and the final leak check.

mod cgroups;
mod features;
mod idmaps;
mod lifecycle;
mod notify;
mod podman;
mod systemd;

use crate::harness::{Ctx, TestResult};
use crate::Test;

/// Every test, in order.
pub fn all() -> Vec<Test> {
    let mut v = Vec::new();
    v.extend(lifecycle::tests());
    v.extend(idmaps::tests());
    v.extend(cgroups::tests());
    v.extend(features::tests());
    v.extend(notify::tests());
    v.extend(podman::tests());
    v.extend(systemd::tests());
    v
}

/// What the tests left: processes of the user or its subordinate ids
/// (but podman's pause process, which rootless podman keeps by design and
/// is stopped here), container state, cgroups below the delegated ones,
/// mounts under the work directory. Found ones are reported and removed.
pub fn leftovers(ctx: &Ctx) -> TestResult {
    let mut found = Vec::new();
    if let Some(pid) = podman::pause_pid(ctx) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        crate::harness::wait_until(std::time::Duration::from_secs(5), || {
            !crate::harness::alive(pid)
        });
    }
    for pid in ctx.user.processes() {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let name = crate::harness::proc_status(pid, "Name").unwrap_or_default();
        let state = crate::harness::proc_status(pid, "State").unwrap_or_default();
        found.push(format!(
            "process {pid} ({name}, {state}) of the user: {}",
            cmd.trim()
        ));
    }
    ctx.user.kill_processes();
    let root = ctx.state_root();
    for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        found.push(format!("state left in {}", e.path().display()));
    }
    for d in ctx.delegated_children() {
        found.push(format!("cgroup left: {}", d.display()));
        let _ = crate::harness::remove_cgroup_tree(&d);
    }
    let work = ctx.work.to_string_lossy().into_owned();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for l in mounts.lines() {
        if let Some(mp) = l.split(' ').nth(4) {
            if mp.starts_with(&work) {
                found.push(format!("mount left: {mp}"));
            }
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(found.join("\n"))
    }
}
