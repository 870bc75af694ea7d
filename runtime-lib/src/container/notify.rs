//! The runtime's side of sd_notify proxying (runc's `NOTIFY_SOCKET`; the
//! plan's side, the mount and the variable, is `plan::notify`): `start`
//! binds the socket the container sees at `/run/notify/notify.sock`, lets
//! the container run, waits until it says `READY=` (or its init exits),
//! and tells the host's socket: the `READY=` line, `MAINPID=`, then
//! `BARRIER=1` with a pipe's write end, whose closing by the service
//! manager is awaited up to 30 s (sd_notify_barrier's protocol).

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::Pid;

use super::{state, Container};
use crate::error::Error;
use crate::plan::notify::{DIR, SOCKET};
use crate::sys;

/// How long the service manager has to close the barrier's pipe (runc's
/// 30 s; a manager without the barrier protocol never does: a warning).
const BARRIER_TIMEOUT: Duration = Duration::from_secs(30);

/// The container's notify socket, bound, and the host's, connected.
#[derive(Debug)]
pub struct NotifyProxy {
    socket: UnixDatagram,
    host: UnixDatagram,
    host_path: PathBuf,
}

/// Connects to the host's socket: a path, or `@name` in the abstract
/// namespace (sd_notify's convention).
fn connect_host(host: &Path) -> Result<UnixDatagram, Error> {
    use std::os::unix::ffi::OsStrExt;
    let err = Error::io("connect to NOTIFY_SOCKET", host);
    let socket = UnixDatagram::unbound().map_err(Error::io("socket for NOTIFY_SOCKET", host))?;
    match host.as_os_str().as_bytes().strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)
                .map_err(Error::io("connect to NOTIFY_SOCKET", host))?;
            socket.connect_addr(&addr).map_err(err)?;
        }
        None => socket.connect(host).map_err(err)?,
    }
    Ok(socket)
}

impl NotifyProxy {
    /// Connects to the host's socket `host` (the runtime's
    /// `NOTIFY_SOCKET`) and binds the container's (mode 0777: any user of
    /// the container may notify), before the container runs. A container
    /// created without sd_notify proxying has no place for it: an error, as
    /// in runc.
    pub fn bind(c: &Container, host: &Path) -> Result<Self, Error> {
        use std::os::unix::fs::PermissionsExt;
        let host_socket = connect_host(host)?;
        let dir = c.dir.join(DIR);
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "NOTIFY_SOCKET={} is set, but container {:?} was created without it (no {}): \
                 set it for create too",
                host.display(),
                c.state.id,
                dir.display()
            )));
        }
        let path = dir.join(SOCKET);
        // No stale socket is removed first: a second `start` racing this one
        // fails here (EADDRINUSE, as runc's) instead of taking the socket.
        let socket = UnixDatagram::bind(&path).map_err(Error::io("bind", &path))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
            .map_err(Error::io("chmod", &path))?;
        socket
            .set_nonblocking(true)
            .map_err(Error::io("set non-blocking", &path))?;
        Ok(NotifyProxy {
            socket,
            host: host_socket,
            host_path: host.to_path_buf(),
        })
    }

    /// Waits until the container says `READY=` and tells the host, with
    /// `main_pid` as `MAINPID` (the init's; a foreground `run` gives its
    /// own, as runc does: it is the process that lives as long as the
    /// container). Returns at once, telling nothing, if the init exits
    /// first. Returns the warnings (a service manager that does not answer
    /// the barrier).
    pub fn forward(self, c: &Container, main_pid: i32) -> Result<Vec<String>, Error> {
        let init = Pid::from_raw(c.state.pid);
        let pidfd = match sys::pidfd_open(init) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::ESRCH) => return Ok(Vec::new()),
            Err(e) => return Err(Error::sys("pidfd_open", None)(e)),
        };
        // The pid may have been reused between the state and the pidfd.
        if !state::init_alive(&c.state) {
            return Ok(Vec::new());
        }
        match self.wait_for_ready(pidfd.as_fd())? {
            Some(line) => self.tell_host(&line, main_pid),
            None => Ok(Vec::new()),
        }
    }

    /// The `READY=` line the container sends, or `None` once the init
    /// (`pidfd`) has exited without. Datagrams already queued are read
    /// before the exit counts: a service that says READY and exits is
    /// still reported.
    fn wait_for_ready(&self, pidfd: std::os::fd::BorrowedFd<'_>) -> Result<Option<Vec<u8>>, Error> {
        let socket_path = || {
            self.socket
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(Path::to_path_buf))
        };
        let mut buf = vec![0u8; 4096];
        loop {
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    if let Some(line) = ready_line(&buf[..n]) {
                        return Ok(Some(line.to_vec()));
                    }
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let path = socket_path().unwrap_or_default();
                    return Err(Error::io("receive from", path)(e));
                }
            }
            let mut fds = [
                PollFd::new(self.socket.as_fd(), PollFlags::POLLIN),
                PollFd::new(pidfd, PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    return Err(Error::sys(
                        "poll the notify socket and the init's pidfd",
                        socket_path(),
                    )(e))
                }
            }
            let readable = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            if !readable(&fds[0]) && readable(&fds[1]) {
                return Ok(None);
            }
        }
    }

    /// Sends `ready`, `MAINPID=main_pid` and the barrier to the host.
    fn tell_host(&self, ready: &[u8], main_pid: i32) -> Result<Vec<String>, Error> {
        let send = |data: &[u8]| {
            self.host
                .send(data)
                .map(drop)
                .map_err(Error::io("send to NOTIFY_SOCKET", &self.host_path))
        };
        send(&[ready, b"\n"].concat())?;
        send(format!("MAINPID={main_pid}\n").as_bytes())?;
        self.barrier()
    }

    /// `BARRIER=1` with a pipe's write end; the manager closes it once it
    /// has processed what came before.
    fn barrier(&self) -> Result<Vec<String>, Error> {
        let path = || Some(self.host_path.clone());
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(Error::sys("pipe2", None))?;
        sys::send_with_fd(self.host.as_raw_fd(), b"BARRIER=1", Some(write.as_fd()))
            .map_err(Error::sys("sendmsg BARRIER=1 to NOTIFY_SOCKET", path()))?;
        drop(write);
        let timeout = PollTimeout::try_from(BARRIER_TIMEOUT).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(read.as_fd(), PollFlags::POLLIN)];
        let answered = loop {
            match poll(&mut fds, timeout) {
                Ok(n) => break n > 0,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("poll the barrier pipe", None)(e)),
            }
        };
        let mut byte = [0u8; 1];
        Ok(match answered {
            false => vec![format!(
                "NOTIFY_SOCKET {}: no answer to BARRIER=1 in {} s (ignored)",
                self.host_path.display(),
                BARRIER_TIMEOUT.as_secs()
            )],
            true if nix::unistd::read(&read, &mut byte) == Ok(0) => Vec::new(),
            true => vec![format!(
                "NOTIFY_SOCKET {}: the BARRIER=1 pipe was written to instead of closed (ignored)",
                self.host_path.display()
            )],
        })
    }
}

/// The `READY=` line of a notification, if it has one. runc forwards a
/// datagram that begins with `READY=`; a `READY=` on a later line (as
/// `systemd-notify --ready --status=x` sends) counts too.
pub(crate) fn ready_line(datagram: &[u8]) -> Option<&[u8]> {
    datagram
        .split(|&b| b == b'\n')
        .find(|line| line.starts_with(b"READY="))
}

#[cfg(test)]
mod tests {
    use super::ready_line;

    #[test]
    fn ready_on_any_line() {
        assert_eq!(ready_line(b"READY=1"), Some(&b"READY=1"[..]));
        assert_eq!(ready_line(b"READY=1\nSTATUS=up\n"), Some(&b"READY=1"[..]));
        assert_eq!(ready_line(b"STATUS=up\nREADY=1"), Some(&b"READY=1"[..]));
        assert_eq!(ready_line(b"STATUS=READY=1"), None);
        assert_eq!(ready_line(b"WATCHDOG=1"), None);
        assert_eq!(ready_line(b""), None);
    }
}
