//! Waiting for a container's process: plainly ([`wait_child`]), or as the
//! foreground `run` does, forwarding signals to it.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::Error;

fn forwarded() -> SigSet {
    let mut set = SigSet::all();
    // These cannot be caught; SIGCHLD tells us about the init itself.
    set.remove(Signal::SIGKILL);
    set.remove(Signal::SIGSTOP);
    set
}

pub(super) fn block_signals() -> Result<(), Error> {
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded()), None)
        .map_err(Error::sys("sigprocmask", None))
}

/// Waits for `pid`, a child of this process, and only for it (an
/// embedder's other children are not reaped): `None` if `block` is false
/// and it still runs. Signals are left alone.
pub(super) fn wait_child(pid: Pid, block: bool) -> Result<Option<ExitStatus>, Error> {
    if !block && nix::sys::prctl::get_child_subreaper().unwrap_or(false) {
        if let Some(status) = reap_adopted(pid)? {
            return Ok(Some(status));
        }
    }
    let flags = (!block).then_some(WaitPidFlag::WNOHANG);
    loop {
        match waitpid(pid, flags) {
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(st) => match exit_status(st) {
                Some(status) => return Ok(Some(status)),
                None => continue,
            },
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("waitpid", None)(e)),
        }
    }
}

/// The raw status as wait(2) encodes it (what `ExitStatus` decodes), for
/// an exit or a death by signal.
fn exit_status(st: WaitStatus) -> Option<ExitStatus> {
    match st {
        WaitStatus::Exited(_, code) => Some(ExitStatus::from_raw((code & 0xff) << 8)),
        WaitStatus::Signaled(_, sig, core) => Some(ExitStatus::from_raw(
            sig as i32 | if core { 0x80 } else { 0 },
        )),
        _ => None,
    }
}

/// A child subreaper (a foreground `cella run`, as runc's) adopts the
/// processes the container leaves orphaned outside a pid namespace of its
/// own: every exited child is reaped here, so none stays a zombie while
/// the container runs. Returns `init`'s status if it was among them.
fn reap_adopted(init: Pid) -> Result<Option<ExitStatus>, Error> {
    loop {
        match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return Ok(None),
            Ok(st) if st.pid() == Some(init) => {
                if let Some(status) = exit_status(st) {
                    return Ok(Some(status));
                }
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("waitpid", None)(e)),
        }
    }
}

/// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`), as
/// runc's foreground `run` does unless `--no-subreaper`: orphans of the
/// container's processes are then reparented to it, not to the host's
/// init, and the wait for the init reaps them. An embedder with children
/// of its own should not: that wait reaps every child that exits.
pub fn become_subreaper() -> Result<(), Error> {
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(Error::sys("prctl(PR_SET_CHILD_SUBREAPER)", None))
}

/// An exit status as a shell reports it: the code, or 128+signal.
pub(super) fn shell_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(255)
}

/// Puts our terminal (if stdin is one) in raw mode until dropped, so keys
/// reach the container's terminal unprocessed.
struct RawMode {
    saved: Option<nix::sys::termios::Termios>,
}

impl RawMode {
    fn enter() -> Self {
        let stdin = std::io::stdin();
        let saved = nix::sys::termios::tcgetattr(&stdin).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            nix::sys::termios::cfmakeraw(&mut raw);
            let _ = nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}

fn copy_size(master: &OwnedFd) {
    if let Ok((rows, cols)) = crate::sys::window_size(std::io::stdin().as_fd()) {
        let _ = crate::sys::set_window_size(master.as_fd(), rows, cols);
    }
}

/// Like [`wait_forwarding`], relaying our stdio to the container's
/// terminal (a foreground `run`/`exec` without a console socket): stdin
/// goes to the pty master, its output to stdout, window size changes along.
pub(super) fn relay_terminal(init: Pid, master: &OwnedFd) -> Result<ExitStatus, Error> {
    let sfd = SignalFd::with_flags(&forwarded(), SfdFlags::SFD_CLOEXEC)
        .map_err(Error::sys("signalfd", None))?;
    let _raw = RawMode::enter();
    copy_size(master);
    let stdin = std::io::stdin();
    let mut stdin_open = true;
    let mut master_open = true;
    let mut buf = [0u8; 8192];
    let mut exit = None;
    loop {
        if exit.is_none() {
            exit = wait_child(init, false)?;
        }
        if exit.is_some() && !master_open {
            break;
        }
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if master_open {
            fds.push(PollFd::new(master.as_fd(), PollFlags::POLLIN));
        }
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        // Once the process is gone, only drain what the pty still holds.
        let timeout = if exit.is_some() {
            PollTimeout::from(100u8)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(0) => break,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("poll", None)(e)),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (sig_ready, master_ready, stdin_ready) = (
            ready(0),
            master_open && ready(1),
            stdin_open && ready(if master_open { 2 } else { 1 }),
        );
        drop(fds);
        if sig_ready {
            if let Ok(Some(info)) = sfd.read_signal() {
                match info.ssi_signo as i32 {
                    libc::SIGCHLD => {}
                    libc::SIGWINCH => copy_size(master),
                    signo => {
                        if let Ok(sig) = Signal::try_from(signo) {
                            let _ = nix::sys::signal::kill(init, sig);
                        }
                    }
                }
            }
        }
        if master_ready {
            match nix::unistd::read(master, &mut buf) {
                Ok(0) | Err(nix::errno::Errno::EIO) => master_open = false,
                Ok(n) => write_all(std::io::stdout().as_fd(), &buf[..n]),
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(_) => master_open = false,
            }
        }
        if stdin_ready {
            match nix::unistd::read(&stdin, &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => write_all(master.as_fd(), &buf[..n]),
            }
        }
    }
    match exit {
        Some(code) => Ok(code),
        None => wait_forwarding(init),
    }
}

fn write_all(fd: std::os::fd::BorrowedFd<'_>, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

pub(super) fn wait_forwarding(init: Pid) -> Result<ExitStatus, Error> {
    let sfd = SignalFd::with_flags(&forwarded(), SfdFlags::SFD_CLOEXEC)
        .map_err(Error::sys("signalfd", None))?;
    loop {
        // Reap first: the init may have exited before we got here.
        if let Some(status) = wait_child(init, false)? {
            return Ok(status);
        }
        match sfd.read_signal() {
            Ok(Some(info)) => {
                let signo = info.ssi_signo as i32;
                if signo != libc::SIGCHLD {
                    // SAFETY-free: kill(2) via nix; a vanished init is fine.
                    if let Ok(sig) = Signal::try_from(signo) {
                        let _ = nix::sys::signal::kill(init, sig);
                    }
                }
            }
            Ok(None) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Error::sys("read signalfd", None)(e)),
        }
    }
}
