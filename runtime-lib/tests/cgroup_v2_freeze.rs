//! Freezing and thawing a real cgroup v2 (root only) through the public
//! API: `set_frozen` waits on `cgroup.events` (POLLPRI) for the kernel's
//! "frozen 1" / "frozen 0" instead of sleeping and looking again (the wake
//! itself is tested in `cgroups/v2.rs`: a freeze is usually complete when
//! its write returns).
//!
//! The test makes its own cgroup, `cella-freeze-test-<pid>`, directly under
//! the host's cgroup2 mount (on a hybrid host `/sys/fs/cgroup/unified`: the
//! freezer is part of cgroup2's core, no controller needed), moves a
//! `sleep` into it, freezes and thaws it, kills it and removes the cgroup.
//! No other cgroup is touched.

use std::path::PathBuf;
use std::process::Command;

use cella::cgroups::{ContainerCgroup, HostCgroups, Ownership};
use nix::unistd::{geteuid, Pid};

struct TestCgroup(ContainerCgroup);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for w in self.0.remove(&Ownership::assumed(&self.0)) {
            eprintln!("cgroup_v2_freeze: could not remove the test cgroup: {w}");
        }
    }
}

fn test_cgroup_dir() -> Result<PathBuf, String> {
    if !geteuid().is_root() {
        return Err("needs root (a cgroup of its own)".into());
    }
    let host = HostCgroups::detect().map_err(|e| cella::error::Chain(&e).to_string())?;
    let unified = host.unified.ok_or("the host has no cgroup2 mount")?;
    Ok(unified.join(format!("cella-freeze-test-{}", std::process::id())))
}

fn events(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("cgroup.events")).unwrap()
}

#[test]
fn freeze_and_thaw_a_real_cgroup() {
    let dir = match test_cgroup_dir() {
        Ok(d) => d,
        Err(reason) => {
            eprintln!("SKIPPED freeze_and_thaw_a_real_cgroup: {reason}");
            return;
        }
    };
    let cgroup = TestCgroup(ContainerCgroup::V2 { dir: dir.clone() });
    cgroup
        .0
        .create(&mut Vec::new())
        .expect("create the test cgroup");
    let mut child = Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("spawn sleep");
    let pid = Pid::from_raw(child.id() as i32);
    let moved = cgroup.0.add_process(pid);
    let frozen = moved.and_then(|()| cgroup.0.set_frozen(true));
    let frozen_events = events(&dir);
    let thawed = cgroup.0.set_frozen(false);
    let thawed_events = events(&dir);
    let _ = child.kill();
    let _ = child.wait();
    frozen.expect("freeze");
    assert!(frozen_events.contains("frozen 1"), "{frozen_events}");
    thawed.expect("thaw");
    assert!(thawed_events.contains("frozen 0"), "{thawed_events}");
    assert!(!cgroup.0.is_frozen());
}
