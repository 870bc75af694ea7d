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
/// (`/etc/docker/key.json`) and plugin directory (`/run/docker`), netavark's
/// address database (`/run/containers/networks`), `ip netns`'s directory,
/// and the runtime's default state directory (podman's containers use it).
/// Children come before their parents.
const FIXED: &[&str] = &[
    "/run/containers/networks/ipam.db",
    "/run/containers/networks",
    "/run/containers",
    "/run/netns",
    "/run/cella",
    "/run/runc",
    "/run/crun",
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
        if cmdline.contains(&work)
            || cmdline.contains(&env.prefix)
            || cgroup.contains(&env.prefix)
            || cgroup.contains(&env.unit_prefix)
        {
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
    if env.systemd {
        stop_units(env, &mut found);
    }
    let mut dirs = cgroup_dirs_with(&env.prefix);
    dirs.extend(cgroup_dirs_with(&env.unit_prefix));
    for d in dirs {
        let mut tree = Vec::new();
        subtree(&d, &mut tree);
        // Deepest first: a parent can only go once its children have.
        tree.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for t in tree {
            if t.exists() {
                found.push(format!("cgroup {}", t.display()));
                if let Err(e) = std::fs::remove_dir(&t) {
                    found.push(format!("  (could not remove it: {e})"));
                }
            }
        }
    }
    for p in &before.absent {
        if p == Path::new("/run/netns") {
            unmount_netns_dir(p);
        }
        // A directory someone else has started using meanwhile stays.
        let r = if p.is_dir() {
            std::fs::remove_dir(p)
        } else {
            std::fs::remove_file(p)
        };
        match r {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::DirectoryNotEmpty
                ) => {}
            Err(e) => found.push(format!("{} (made during the run): {e}", p.display())),
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

/// The systemd driver's units of the run: the scopes still in its slices
/// and the engines' slices are leftovers; the top slice, which systemd made
/// for the engines' slices, is the suite's own. All are stopped (which
/// kills what is in them) and their failed state reset.
fn stop_units(env: &Env, found: &mut Vec<String>) {
    let top = format!("{}.slice", env.unit_prefix);
    let mut units = crate::systemd::our_units(env);
    if !units.contains(&top) {
        units.push(top.clone());
    }
    for u in &units {
        if *u != top {
            found.push(format!("systemd unit {u}"));
        }
        let _ = env.run(Cmd::new("systemctl").args(["stop", u]));
    }
    let _ = env.run(Cmd::new("systemctl").arg("reset-failed").args(&units));
    let mut left = Vec::new();
    let unloaded = crate::cmd::wait_until(Duration::from_secs(10), || {
        left = crate::systemd::our_units(env);
        left.is_empty()
    });
    if !unloaded {
        found.push(format!("  (still loaded after systemctl stop: {left:?})"));
    }
}

/// Every `--root` the engines were given for the runtime.
fn runtime_roots(env: &Env) -> Vec<PathBuf> {
    let ns = format!("containerd/runc-root/{}", env.prefix);
    [
        ns.as_str(),
        "cri/runc-root/k8s.io",
        "docker/exec/runtime-runc/moby",
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
                let _ = std::fs::copy(
                    &p,
                    keep.join(format!("{dir}-{}", e.file_name().to_string_lossy())),
                );
            }
        }
    }
}

/// `dir` and every directory below it.
fn subtree(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            subtree(&e.path(), out);
        }
    }
}

/// `ip netns` (and podman, for each container's network namespace) makes
/// `/run/netns` a shared mount of itself; once no namespace is bound in it,
/// that mount goes with the directory.
fn unmount_netns_dir(p: &Path) {
    let empty = std::fs::read_dir(p)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if !empty {
        return;
    }
    while mounts_under(p).iter().any(|m| Path::new(m) == p) {
        if nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH).is_err() {
            break;
        }
    }
}
