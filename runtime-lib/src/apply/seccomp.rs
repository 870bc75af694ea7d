//! Loading the seccomp filter, and handing a notify listener its fd.
//!
//! Where it is loaded is decided by the caller: with `noNewPrivileges` as
//! late as possible, right before `execve`; without it, while the process
//! still has CAP_SYS_ADMIN (the kernel's condition for loading a filter
//! without no_new_privs), i.e. before capabilities are dropped — as runc.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};
use serde_json::json;

use crate::error::{ChildError, Error, Step};
use crate::hooks::HookState;
use crate::seccomp::Compiled;
use crate::sys;

/// What the listener's agent is told with the fd: runc's
/// `ContainerProcessState` (the OCI state plus the fd's name and metadata).
pub(crate) struct ListenerInfo<'a> {
    /// The agent's socket, connected by the runtime; closed once the fd is
    /// sent.
    pub(crate) socket: OwnedFd,
    /// The container's state; its pid is the process's own, in the
    /// runtime's pid namespace.
    pub(crate) state: HookState<'a>,
}

/// Loads `filter`; sends the listener fd when the profile notifies.
pub(crate) fn load(
    filter: &Compiled,
    listener: Option<ListenerInfo<'_>>,
) -> Result<(), ChildError> {
    let program = filter.sock_filters();
    let fd = sys::seccomp_set_filter(&program, filter.flags.bits()).map_err(|e| {
        ChildError::sys(
            Step::LoadSeccompFilter,
            format!("{} instructions", program.len()),
            e,
        )
    })?;
    let (Some(fd), Some(info)) = (fd, listener) else {
        return Ok(());
    };
    let metadata = filter
        .listener
        .as_ref()
        .and_then(|l| l.metadata.clone())
        .unwrap_or_default();
    let st = &info.state;
    let state = json!({
        "ociVersion": st.oci_version,
        "fds": ["seccompFd"],
        "pid": st.pid,
        "metadata": metadata,
        "state": {
            "ociVersion": st.oci_version,
            "id": st.id,
            "status": st.status,
            "pid": st.pid,
            "bundle": st.bundle.to_string_lossy(),
            "annotations": st.annotations,
        }
    });
    let target = || "linux.seccomp.listenerPath".to_string();
    let bytes = serde_json::to_vec(&state)
        .map_err(|e| ChildError::other(Step::SendSeccompListener, target(), e.to_string()))?;
    send_state(info.socket.as_fd(), &bytes, fd.as_fd()).map_err(|e| {
        let mut err = ChildError::sys(Step::SendSeccompListener, target(), e);
        if e == Errno::EAGAIN {
            err.detail = format!(
                "the agent did not read the container's state within {} s",
                AGENT_SEND_TIMEOUT.as_secs()
            );
        }
        err
    })
}

/// Sends the state with the fd, then the rest of a state too large for one
/// `sendmsg`. The socket's send timeout bounds each call; the sends together
/// get [`AGENT_SEND_TIMEOUT`]: an agent that does not read gives `EAGAIN`.
fn send_state(socket: BorrowedFd<'_>, bytes: &[u8], fd: BorrowedFd<'_>) -> Result<(), Errno> {
    let deadline = std::time::Instant::now() + AGENT_SEND_TIMEOUT;
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let mut sent = 0;
    while sent < bytes.len() {
        // Only the first message carries the fd.
        let rights: &[ControlMessage<'_>] = if sent == 0 { &cmsg } else { &[] };
        let iov = [IoSlice::new(&bytes[sent..])];
        match sendmsg::<()>(
            socket.as_raw_fd(),
            &iov,
            rights,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => sent += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        if sent < bytes.len() {
            let left = deadline
                .checked_duration_since(std::time::Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or(Errno::EAGAIN)?;
            sys::set_send_timeout(socket, left)?;
        }
    }
    Ok(())
}

/// How long the agent at `listenerPath` may leave the state unread before
/// the container fails, instead of `create` hanging on it.
pub(crate) const AGENT_SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Connects to the seccomp agent at `path` (runtime side, before the fork:
/// the path is the host's). As runc's `net.Dial`, an agent whose listen
/// backlog is full fails at once (`EAGAIN`) instead of blocking `create`;
/// the socket gets [`AGENT_SEND_TIMEOUT`] for the init's send.
pub(crate) fn connect_agent(path: &Path) -> Result<OwnedFd, Error> {
    let fail = |errno: Errno, detail: String| {
        Error::Child(ChildError {
            step: Step::ConnectSeccompAgent,
            target: Some(format!("linux.seccomp.listenerPath {}", path.display())),
            errno: Some(errno as i32),
            detail,
        })
    };
    let sys_fail = |e: Errno| fail(e, e.desc().to_string());
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(sys_fail)?;
    let addr = UnixAddr::new(path).map_err(sys_fail)?;
    match connect(sock.as_raw_fd(), &addr) {
        Ok(()) => {}
        Err(e @ Errno::EAGAIN) => {
            return Err(fail(
                e,
                "the agent accepts no connection (its listen backlog is full)".into(),
            ))
        }
        Err(e) => return Err(sys_fail(e)),
    }
    fcntl(&sock, FcntlArg::F_SETFL(OFlag::empty())).map_err(sys_fail)?;
    sys::set_send_timeout(sock.as_fd(), AGENT_SEND_TIMEOUT).map_err(sys_fail)?;
    Ok(sock)
}
