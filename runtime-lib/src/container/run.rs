//! The foreground `run`: wait for the init, forwarding signals to it.

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

pub(super) fn wait_forwarding(init: Pid) -> Result<i32, Error> {
    let sfd = SignalFd::with_flags(&forwarded(), SfdFlags::SFD_CLOEXEC)
        .map_err(Error::sys("signalfd", None))?;
    loop {
        // Reap first: the init may have exited before we got here.
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == init => return Ok(code),
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == init => return Ok(128 + sig as i32),
                Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => break,
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("waitpid", None)(e)),
            }
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
