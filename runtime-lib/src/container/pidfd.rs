//! Pidfds of a container's processes: what the handles expose for an
//! event loop to wait on, and what the runtime's own waits for an exit
//! block on.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::unistd::Pid;

use super::state::proc_stat;
use crate::error::Error;
use crate::sys;

/// A pidfd of our child `pid`, right after it was forked: it cannot have
/// been reaped (only this process could), so the pid is still its own.
pub(super) fn of_child(pid: Pid) -> Result<OwnedFd, Error> {
    sys::pidfd_open(pid).map_err(Error::sys("pidfd_open", None))
}

/// A pidfd of `pid` if it is still the process that started at
/// `start_time` (running, or exited and not yet reaped); `None` if that
/// process is gone. The start time is read after the open: the pidfd pins
/// the process it was opened on, so a pid reused before the open shows
/// another start time, and one reused after it cannot be the pidfd's.
pub(super) fn of_recorded(pid: i32, start_time: u64) -> Result<Option<OwnedFd>, Error> {
    if pid <= 0 {
        return Ok(None);
    }
    let fd = match sys::pidfd_open(Pid::from_raw(pid)) {
        Err(Errno::ESRCH) => return Ok(None),
        r => r.map_err(Error::sys("pidfd_open", None))?,
    };
    Ok(matches!(proc_stat(pid), Some((_, start)) if start == start_time).then_some(fd))
}

/// Waits up to `limit` for the process `pid` that started at `start_time`
/// to exit; returns at once if it is gone already.
pub(super) fn wait_gone(pid: i32, start_time: u64, limit: Duration) {
    if let Ok(Some(fd)) = of_recorded(pid, start_time) {
        crate::ready::process_exit(fd.as_fd(), limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_pid_gets_no_pidfd() {
        let me = std::process::id() as i32;
        let (_, start) = proc_stat(me).unwrap();
        assert!(of_recorded(me, start).unwrap().is_some());
        assert!(of_recorded(me, start + 1).unwrap().is_none());
        assert!(of_recorded(0, 0).unwrap().is_none());
    }

    #[test]
    fn waits_for_a_child_to_exit() {
        let mut child = std::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let (_, start) = proc_stat(pid).unwrap();
        wait_gone(pid, start, Duration::from_secs(10));
        assert_eq!(proc_stat(pid).map(|(state, _)| state), Some('Z'));
        // A zombie still has a pidfd, readable at once.
        let fd = of_recorded(pid, start).unwrap().unwrap();
        assert!(crate::ready::process_exit(fd.as_fd(), Duration::ZERO));
        child.wait().unwrap();
        assert!(of_recorded(pid, start).unwrap().is_none());
    }
}
