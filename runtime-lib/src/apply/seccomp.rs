//! Loading the seccomp filter, and handing a notify listener its fd.
//!
//! Where it is loaded is decided by the caller: with `noNewPrivileges` as
//! late as possible, right before `execve`; without it, while the process
//! still has CAP_SYS_ADMIN (the kernel's condition for loading a filter
//! without no_new_privs), i.e. before capabilities are dropped — as runc.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, RawFd};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use serde_json::json;

use crate::error::ChildError;
use crate::seccomp::Compiled;
use crate::sys;

/// What the listener's agent is told with the fd: runc's
/// `ContainerProcessState` (the OCI state plus the fd's name and metadata).
pub(crate) struct ListenerInfo<'a> {
    pub(crate) socket: RawFd,
    pub(crate) oci_version: &'a str,
    pub(crate) id: &'a str,
    pub(crate) status: &'a str,
    pub(crate) pid: i32,
    pub(crate) bundle: &'a std::path::Path,
    pub(crate) annotations: &'a std::collections::BTreeMap<String, String>,
}

/// Loads `filter`; sends the listener fd when the profile notifies.
pub(crate) fn load(
    filter: &Compiled,
    listener: Option<&ListenerInfo<'_>>,
) -> Result<(), ChildError> {
    let program = filter.sock_filters();
    let fd = sys::seccomp_set_filter(&program, filter.flags.bits()).map_err(|e| {
        ChildError::sys(
            "load seccomp filter",
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
    let state = json!({
        "ociVersion": info.oci_version,
        "fds": ["seccompFd"],
        "pid": info.pid,
        "metadata": metadata,
        "state": {
            "ociVersion": info.oci_version,
            "id": info.id,
            "status": info.status,
            "pid": info.pid,
            "bundle": info.bundle,
            "annotations": info.annotations,
        }
    });
    let bytes = serde_json::to_vec(&state).unwrap_or_default();
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(&bytes)];
    sendmsg::<()>(info.socket, &iov, &cmsg, MsgFlags::empty(), None).map_err(|e| {
        ChildError::sys(
            "send seccomp listener fd",
            "linux.seccomp.listenerPath".to_string(),
            e,
        )
    })?;
    sys::close_inherited(info.socket);
    Ok(())
}

/// This process's pid in the runtime's pid namespace, from the first
/// `NSpid` field — read before `pivot_root`, while `/proc` is still the
/// host's (inside, the container's procfs only shows the inner pid).
pub(crate) fn outer_pid() -> i32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .and_then(|v| v.split_whitespace().next().and_then(|p| p.parse().ok()))
        })
        .unwrap_or_else(|| nix::unistd::getpid().as_raw())
}
