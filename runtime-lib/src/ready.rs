//! Waiting for a kernel event on an fd, with a time limit: a process's exit
//! on its pidfd, a change of a cgroup's `cgroup.events`. The library's
//! waits block on these instead of sleeping and looking again, so they end
//! as soon as the event happens and cost nothing meanwhile.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// Waits until `fd` reports one of `events` (or an error or hangup, which
/// poll(2) always reports), for up to `limit`: true if it did, false if the
/// time ran out. A signal's interruption goes on waiting with the time
/// left.
pub(crate) fn wait_for(
    fd: BorrowedFd<'_>,
    events: PollFlags,
    limit: Duration,
) -> Result<bool, Errno> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Rounded up: a timeout rounded down to 0 ms would spin until the
        // deadline.
        let ms = i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(fd, events)];
        match poll(&mut fds, timeout) {
            Ok(0) if Instant::now() >= deadline => return Ok(false),
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => return Ok(true),
            Err(e) => return Err(e),
        }
    }
}

/// Waits up to `limit` for the process a pidfd refers to to exit (a pidfd
/// becomes readable then, zombie or reaped); true if it has. A pidfd that
/// cannot be polled reads as "not yet": the callers then see the process
/// still alive and say so.
pub(crate) fn process_exit(pidfd: BorrowedFd<'_>, limit: Duration) -> bool {
    wait_for(pidfd, PollFlags::POLLIN, limit).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn a_pipe_becomes_readable_and_a_silent_one_times_out() {
        let (r, w) = nix::unistd::pipe().unwrap();
        assert!(!wait_for(r.as_fd(), PollFlags::POLLIN, Duration::from_millis(30)).unwrap());
        nix::unistd::write(&w, b"x").unwrap();
        assert!(wait_for(r.as_fd(), PollFlags::POLLIN, Duration::from_secs(5)).unwrap());
    }
}
