//! The container process's fds: its stdio and preserved fds put in place
//! (0, 1, 2, then 3, 4, ...), first thing in the forked child.
//!
//! The parent numbers every fd of its own that the child still needs (the
//! sync channel, the exec FIFO, the console socket, the namespaces to join)
//! above the range the child fills ([`lift`]), so placing can never
//! overwrite one of them.

use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd, RawFd};

use crate::error::{ChildError, Error, Step};
use crate::sys::{self, ForkedChild};

/// Returns `fd` if its number is `floor` or above, else a close-on-exec
/// duplicate that is (the original is closed).
pub(crate) fn lift(fd: OwnedFd, floor: RawFd) -> Result<OwnedFd, Error> {
    if fd.as_raw_fd() >= floor {
        return Ok(fd);
    }
    sys::dup_at_least(fd.as_fd(), floor).map_err(Error::sys("fcntl F_DUPFD_CLOEXEC", None))
}

/// What the child places: for each of stdin, stdout and stderr an fd to
/// put there (`None`: keep the inherited one), and the fds that become 3,
/// 4, ... in order (empty: the inherited ones stay, as `--preserve-fds N`
/// passes the caller's own). The parent holds them across the fork and
/// drops its copies after it; the child places its own.
#[derive(Debug, Default)]
pub(crate) struct ChildFds {
    pub(crate) stdio: [Option<OwnedFd>; 3],
    pub(crate) preserved: Vec<OwnedFd>,
}

impl ChildFds {
    /// Puts every source at its target, in the child (`child`). In two
    /// passes: a source may sit at another source's target (the caller's
    /// fd 4 to become 3 and its fd 3 to become 4), so all are first copied
    /// above every target, then the copies are placed. `dup2` leaves the
    /// targets without close-on-exec; the copies are close-on-exec and
    /// closed once placed.
    pub(crate) fn place(self, child: &ForkedChild) -> Result<(), ChildError> {
        let ChildFds { stdio, preserved } = self;
        let floor = 3 + preserved.len() as RawFd;
        let moves: Vec<(OwnedFd, RawFd)> = stdio
            .into_iter()
            .zip(0..)
            .filter_map(|(src, target)| src.map(|src| (src, target)))
            .chain(preserved.into_iter().zip(3..))
            .collect();
        let mut copies = Vec::with_capacity(moves.len());
        for (src, target) in &moves {
            let copy = sys::dup_at_least(src.as_fd(), floor).map_err(|e| {
                let what = format!("fd {} (for fd {target})", src.as_raw_fd());
                ChildError::sys(Step::Dup, what, e)
            })?;
            copies.push((copy, *target));
        }
        // The sources are not closed: one may now be numbered as another's
        // target, or be a stream the container keeps (a caller's fd 2
        // given as stdout is still its stderr). Those above the range go
        // with the runtime's other fds.
        for (src, _) in moves {
            let _ = src.into_raw_fd();
        }
        for (copy, target) in copies {
            sys::dup_onto(child, copy.as_fd(), target)
                .map_err(|e| ChildError::sys(Step::Dup2, format!("fd {target}"), e))?;
        }
        Ok(())
    }
}

/// In a child (`child`): closes every fd from `first` upwards but `keep`:
/// `close_range(2)` where the kernel has it (5.9), else one `close` per fd
/// listed by a checked procfs. Called first thing in the forked children,
/// while `/proc` is still the host's.
pub(crate) fn close_all_except(
    child: &ForkedChild,
    first: u32,
    keep: &[RawFd],
) -> Result<(), ChildError> {
    if sys::close_fds_except(child, first, keep).is_ok() {
        return Ok(());
    }
    for fd in listed_fds()? {
        if u32::try_from(fd).is_ok_and(|n| n >= first) && !keep.contains(&fd) {
            sys::close_unowned(child, fd);
        }
    }
    Ok(())
}

/// Marks every fd from `first` upwards close-on-exec: `close_range(2)` with
/// `CLOSE_RANGE_CLOEXEC` where the kernel has it (5.11), else one `fcntl`
/// per fd listed by a checked procfs (runc falls back the same way). Made
/// before the seccomp filter is loaded, so no profile can deny it.
pub(crate) fn cloexec_all_from(first: u32) -> Result<(), ChildError> {
    if sys::cloexec_from(first).is_ok() {
        return Ok(());
    }
    for fd in listed_fds()? {
        if u32::try_from(fd).is_ok_and(|n| n >= first) {
            sys::set_cloexec(fd)
                .map_err(|e| ChildError::sys(Step::SetCloexec, format!("fd {fd}"), e))?;
        }
    }
    Ok(())
}

/// This process's open fds, from a procfs the container cannot fake: a
/// private instance where one can be mounted, else `/proc`, checked.
fn listed_fds() -> Result<Vec<RawFd>, ChildError> {
    let proc = crate::apply::procfs::ProcFs::private()
        .or_else(|_| crate::apply::procfs::ProcFs::at_proc())?;
    proc.own_fds()
        .map_err(|e| ChildError::sys(Step::List, "/proc/self/fd".to_string(), e))
}
