//! The last test: nothing the suite made outlives it. Everything it creates
//! is named by its prefix (`engine-tests-<pid>`: cgroups, the containerd
//! namespace, the network namespace) or lives in its work directory, so this
//! finds exactly the suite's own leftovers, reports them (the test fails) and
//! removes them. Engines also write a few fixed host paths; those are
//! removed only if they did not exist before the suite ran.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::cmd::Cmd;
use crate::env::{cgroup_dirs_with, mounts_under, proc_alive, Env, TestResult};

/// Host paths engines create outside any directory we can give them:
/// containerd's shim sockets (`/run/containerd/s`) and, for dockerd's
/// containers, fifos (`/run/containerd/fifo`), dockerd's key
/// (`/etc/docker/key.json`) and plugin directory (`/run/docker`).
const FIXED: &[&str] = &[
    "/run/containerd/s",
    "/run/containerd/fifo",
    "/run/containerd",
    "/etc/docker/key.json",
    "/etc/docker",
    "/run/docker/plugins",
    "/run/docker",
];

pub struct Before {
    absent: Vec<PathBuf>,
}

impl Before {
    pub fn take(_env: &Env) -> Before {
        Before {
            absent: FIXED
                .iter()
                .map(PathBuf::from)
                .filter(|p| !p.exists())
                .collect(),
        }
    }
}

/// Processes whose command line names the work dir or the prefix (daemons,
/// shims, conmon) or whose cgroup path carries the prefix (containers).
fn our_processes(env: &Env) -> Vec<(i32, String)> {
    let work = env.work.to_string_lossy().into_owned();
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me || !proc_alive(pid) {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if cmdline.contains(&work) || cmdline.contains(&env.prefix) || cgroup.contains(&env.prefix) {
            found.push((pid, cmdline.trim().to_string()));
        }
    }
    found
}

/// With `keep_logs`, the engines' logs are kept in `<work>.logs/`.
pub fn check_and_clean(env: &Env, before: &Before, keep_logs: bool) -> TestResult {
    let mut found = Vec::new();

    for root in runtime_roots(env) {
        for id in env.runtime_ids(&root).unwrap_or_default() {
            found.push(format!("runtime state {} in {}", id, root.display()));
            let _ = env.run(env.runtime_cmd(&root).args(["delete", "--force", &id]));
        }
    }
    for (pid, cmdline) in our_processes(env) {
        found.push(format!("process {pid}: {cmdline}"));
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    for (pid, _) in our_processes(env) {
        let _ = crate::cmd::wait_until(Duration::from_secs(5), || !proc_alive(pid));
    }
    for m in mounts_under(&env.work) {
        found.push(format!("mount {m}"));
        let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
    let netns = Path::new("/run/netns").join(&env.prefix);
    if netns.exists() {
        found.push(format!("network namespace {}", netns.display()));
        let _ = env.run(Cmd::new("ip").args(["netns", "delete", &env.prefix]));
    }
    let mut dirs = cgroup_dirs_with(&env.prefix);
    // Deepest first: a parent can only go once its children have.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        found.push(format!("cgroup {}", d.display()));
        let _ = std::fs::remove_dir(&d);
    }
    for p in &before.absent {
        if !p.exists() {
            continue;
        }
        let gone = if p.is_dir() {
            std::fs::remove_dir(p).is_ok()
        } else {
            std::fs::remove_file(p).is_ok()
        };
        if !gone {
            found.push(format!("{} (made by an engine during the run) could not be removed", p.display()));
        }
    }
    if keep_logs {
        save_logs(env);
    }
    let _ = std::fs::remove_dir_all(&env.work);
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!("left behind (now removed):\n{}", found.join("\n")))
    }
}

/// Every `--root` the engines were given for the runtime.
fn runtime_roots(env: &Env) -> Vec<PathBuf> {
    let ns = format!("containerd/runc-root/{}", env.prefix);
    [
        ns.as_str(),
        "cri/runc-root/k8s.io",
        "docker/exec/runtime-rt",
    ]
    .iter()
    .map(|r| env.work.join(r))
    .collect()
}

/// The engines' logs survive the work dir, in `<work>.logs/`, for reading
/// after a failure.
fn save_logs(env: &Env) {
    let keep = PathBuf::from(format!("{}.logs", env.work.display()));
    println!("# engine logs kept in {}", keep.display());
    for dir in ["containerd", "cri", "podman", "docker"] {
        let Ok(entries) = std::fs::read_dir(env.work.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "log") {
                let _ = std::fs::create_dir_all(&keep);
                let _ = std::fs::copy(&p, keep.join(format!("{dir}-{}", e.file_name().to_string_lossy())));
            }
        }
    }
}
