//! Finding a container's processes by its pid namespace: those of its
//! init's. Without a cgroup (rootless, nothing delegated) they can be found
//! no other way, which is why `create` then insists on a pid namespace; with
//! one, a process in the container's cgroup but outside that namespace was
//! put there by someone else and is not the container's.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::state;
use crate::sys;

fn link(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

/// The pid namespace of `pid` (the `/proc/<pid>/ns/pid` link, which names
/// the namespace's inode), if `pid` is still the process that started at
/// `start_time`: checked before and after reading the link, so a pid that
/// was reused never lends its namespace. `None` when that process is gone
/// (the kernel kills a pid namespace's processes when its init dies).
pub(crate) fn of_process(pid: i32, start_time: u64) -> Option<PathBuf> {
    if !state::process_alive(pid, start_time) {
        return None;
    }
    let ns = link(pid)?;
    state::process_alive(pid, start_time).then_some(ns)
}

/// Every pid in `/proc`.
fn all_pids() -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| name.parse().ok())
        .map(Pid::from_raw)
        .collect()
}

/// The processes in pid namespace `ns`, among `candidates` (every process
/// when `None`), sorted. Processes we may not inspect are not ours, so they
/// are not the container's either.
pub(crate) fn members(ns: &Path, candidates: Option<Vec<Pid>>) -> Vec<Pid> {
    let mut pids: Vec<Pid> = candidates
        .unwrap_or_else(all_pids)
        .into_iter()
        .filter(|p| link(p.as_raw()).as_deref() == Some(ns))
        .collect();
    pids.sort();
    pids.dedup();
    pids
}

/// Sends `signal` to the processes of pid namespace `ns` among `candidates`
/// (every process when `None`). Each is signalled through a pidfd opened
/// before its namespace is checked: a pid reused after the check would be
/// another process, which the pidfd does not reach. Returns the failures
/// (a process that exited meanwhile is none).
pub(crate) fn signal_members(ns: &Path, candidates: Option<Vec<Pid>>, sig: Signal) -> Vec<String> {
    let mut failed = Vec::new();
    for pid in candidates.unwrap_or_else(all_pids) {
        let Ok(pidfd) = sys::pidfd_open(pid) else {
            continue;
        };
        if link(pid.as_raw()).as_deref() != Some(ns) {
            continue;
        }
        match sys::pidfd_send_signal(pidfd.as_fd(), sig as i32) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => failed.push(format!("kill {pid} {sig}: {e}")),
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_namespace_has_us() {
        let me = std::process::id() as i32;
        let (_, start) = state::proc_stat(me).expect("our own stat");
        let ns = of_process(me, start).expect("we are alive");
        assert!(members(&ns, None).contains(&Pid::from_raw(me)));
        assert_eq!(
            members(&ns, Some(vec![Pid::from_raw(me)])),
            [Pid::from_raw(me)]
        );
        assert!(members(Path::new("pid:[0]"), None).is_empty());
        assert_eq!(of_process(0, 0), None, "no such process");
    }

    /// A pid whose start time is not the recorded one is another process:
    /// its namespace is not looked at.
    #[test]
    fn a_reused_pid_has_no_namespace_for_us() {
        let me = std::process::id() as i32;
        let (_, start) = state::proc_stat(me).expect("our own stat");
        assert_eq!(of_process(me, start + 1), None);
    }

    #[test]
    fn signals_reach_only_the_namespace() {
        let me = std::process::id() as i32;
        let (_, start) = state::proc_stat(me).expect("our own stat");
        let ns = of_process(me, start).unwrap();
        assert!(signal_members(&ns, Some(vec![Pid::from_raw(me)]), Signal::SIGCONT).is_empty());
        // Another namespace's name: nothing is signalled, so nothing fails.
        let other = Path::new("pid:[1]");
        assert!(signal_members(other, Some(vec![Pid::from_raw(me)]), Signal::SIGCONT).is_empty());
    }
}
