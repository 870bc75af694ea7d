//! Terminals: the pty a container process gets when `process.terminal` is
//! true, and the console-socket protocol that hands its master to the
//! caller (containerd, podman's conmon).
//!
//! The runtime connects to `--console-socket` *before* forking (the path
//! is on the host, unreachable after `pivot_root`); the container's process
//! creates the pty inside the container's `/dev/pts` instance, makes the
//! slave its stdio and controlling terminal, and sends the master with one
//! `SCM_RIGHTS` message whose data is the pty's name, as runc does.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use crate::error::{ChildError, Error, Step};
use crate::sys;

/// Connects to the caller's console socket (runtime side).
pub fn connect_console_socket(path: &Path) -> Result<OwnedFd, Error> {
    connect_unix(path, "connect to console socket")
}

/// Connects to a unix stream socket on the host (console socket, seccomp
/// listener) before the container's processes lose sight of host paths.
pub(crate) fn connect_unix(path: &Path, what: &'static str) -> Result<OwnedFd, Error> {
    let stream = UnixStream::connect(path).map_err(Error::io(what, path))?;
    Ok(stream.into())
}

/// Creates a pty in the current mount namespace (the container's), makes
/// its slave this process's stdio and controlling terminal, sends the master
/// over `socket` and closes it; `console` also binds it to `/dev/console`.
/// The slave keeps the owner and group the kernel gave it (the group is
/// devpts's `gid=`, `tty` in the usual configs); its owner becomes the
/// process's user with the rest of stdio, as runc does (see
/// `apply::process::switch_user_and_caps`).
pub(crate) fn setup_terminal(
    socket: BorrowedFd<'_>,
    size: Option<(u16, u16)>,
    console: bool,
) -> Result<(), ChildError> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| ChildError::sys(Step::Open, "/dev/ptmx".to_string(), e))?;
    grantpt(&master).map_err(|e| ChildError::sys(Step::Grantpt, None, e))?;
    unlockpt(&master).map_err(|e| ChildError::sys(Step::Unlockpt, None, e))?;
    let name = ptsname_r(&master).map_err(|e| ChildError::sys(Step::Ptsname, None, e))?;
    // The slave is opened from the master (TIOCGPTPEER), not by its name:
    // `/dev/pts/N` is a path the container could have made a symlink.
    let slave = sys::open_pty_peer(master.as_fd())
        .map_err(|e| ChildError::sys(Step::OpenPtySlave, name.clone(), e))?;
    if let Some((rows, cols)) = size {
        sys::set_window_size(slave.as_fd(), rows, cols)
            .map_err(|e| ChildError::sys(Step::SetWindowSize, name.clone(), e))?;
    }
    if console {
        bind_console(&slave)?;
    }
    send_fd(socket, master.as_fd(), name.as_bytes())
        .map_err(|e| ChildError::sys(Step::SendTerminal, None, e))?;
    drop(master);
    for target in 0..3 {
        sys::dup_onto_stdio(slave.as_fd(), target)
            .map_err(|e| ChildError::sys(Step::Dup2Terminal, target.to_string(), e))?;
    }
    drop(slave);
    sys::set_controlling_terminal(std::io::stdin().as_fd())
        .map_err(|e| ChildError::sys(Step::SetControllingTerminal, name, e))
}

/// `/dev/console` in the container is the process's terminal (runc binds
/// the pty slave there too). The mount goes from the slave's fd onto an fd
/// of `/dev/console` opened without following symlinks (created as an empty
/// file if missing): a `/dev/console` made a symlink (runc CVE-2025-52565)
/// is refused rather than followed to a file the container chose.
fn bind_console(slave: &OwnedFd) -> Result<(), ChildError> {
    use nix::sys::stat::{fstat, Mode, SFlag};
    let what = || "/dev/console".to_string();
    let dev = nix::fcntl::open(
        "/dev",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ChildError::sys(Step::Open, "/dev".to_string(), e))?;
    let open = || {
        nix::fcntl::openat(
            dev.as_fd(),
            "console",
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    };
    let target = match open() {
        Err(nix::errno::Errno::ENOENT) => {
            let dir = nix::fcntl::openat(
                dev.as_fd(),
                ".",
                OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| ChildError::sys(Step::Open, "/dev".to_string(), e))?;
            match nix::fcntl::openat(
                dir.as_fd(),
                "console",
                OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_WRONLY
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            ) {
                Ok(_) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(ChildError::sys(Step::Create, what(), e)),
            }
            open().map_err(|e| ChildError::sys(Step::Open, what(), e))?
        }
        r => r.map_err(|e| ChildError::sys(Step::Open, what(), e))?,
    };
    let kind = fstat(&target)
        .map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT)
        .map_err(|e| ChildError::sys(Step::Stat, what(), e))?;
    if kind != SFlag::S_IFREG && kind != SFlag::S_IFCHR {
        return Err(ChildError::other(
            Step::BindTerminal,
            what(),
            "is a symlink or not a file: refusing to mount the terminal on it",
        ));
    }
    let tree = sys::open_tree(slave.as_fd(), sys::OPEN_TREE_CLONE)
        .map_err(|e| ChildError::sys(Step::CloneTerminalMount, what(), e))?;
    sys::move_mount(tree.as_fd(), target.as_fd())
        .map_err(|e| ChildError::sys(Step::BindTerminal, what(), e))
}

/// Sends `fd` over `socket` in an `SCM_RIGHTS` message whose data is
/// `data` (runc's framing for the console and pidfd sockets).
pub(crate) fn send_fd(
    socket: BorrowedFd<'_>,
    fd: BorrowedFd<'_>,
    data: &[u8],
) -> Result<(), nix::errno::Errno> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(data)];
    sendmsg::<()>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None).map(drop)
}

/// Receives a terminal master sent over a console socket (for the
/// runtime's own relay, and for embedders acting as the socket's server).
pub fn recv_master(socket: RawFd) -> Result<(OwnedFd, String), Error> {
    let mut buf = [0u8; 4096];
    let (n, master) =
        sys::recv_with_fd(socket, &mut buf).map_err(Error::sys("receive terminal", None))?;
    let name = String::from_utf8_lossy(&buf[..n]).into_owned();
    master
        .map(|m| (m, name))
        .ok_or_else(|| Error::UnexpectedMessage {
            expected: "a terminal fd",
            received: "a message without one".into(),
        })
}

/// A socketpair acting as our own console socket, for a foreground `run`
/// or `exec` without `--console-socket`.
pub(crate) fn private_console_socket() -> Result<(OwnedFd, OwnedFd), Error> {
    nix::sys::socket::socketpair(
        nix::sys::socket::AddressFamily::Unix,
        nix::sys::socket::SockType::Stream,
        None,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
    )
    .map_err(Error::sys("socketpair", None))
}
