//! The typed protocol between the runtime and the processes it forks to
//! build the container: one message per step, over a `SOCK_SEQPACKET`
//! socketpair, so that message boundaries are kept by the kernel.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recv, recvmsg, send, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType,
};
use serde::{Deserialize, Serialize};

use crate::error::{ChildError, Error, Step};

/// Messages from the container's processes to the runtime.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromChild {
    /// The child moved itself into the container's cgroup (cgroup v1,
    /// `cgroups::join_self`).
    InCgroup,
    /// Stage 1 created a user namespace: write its uid/gid maps.
    MapIds,
    /// Stage 1 forked the container init; this is its pid (in the
    /// runtime's pid namespace).
    InitPid(i32),
    /// The mounts are done, pivot_root is next: run the prestart and
    /// createRuntime hooks now.
    RunHooks,
    /// The init may not open the source of bind mount N (`mounts[N]`) in
    /// its user namespace: the runtime, the host's root, opens it in the
    /// container's mount namespace and sends the fd.
    OpenMountSource(usize),
    /// The init has built the container and waits for `start`.
    Ready,
    /// A step failed.
    Failed(ChildError),
}

/// Messages from the runtime to the container's processes.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromRuntime {
    /// The process is in its cgroup: go on.
    Proceed,
    /// The id maps are written.
    IdsMapped,
    /// The prestart and createRuntime hooks succeeded.
    HooksDone,
    /// The source asked for with `OpenMountSource`: its `O_PATH` fd comes
    /// with this message (`SCM_RIGHTS`).
    MountSource,
    /// The runtime could not open the source either: why.
    MountSourceFailed(String),
}

/// One end of the channel.
pub(crate) struct Channel {
    fd: OwnedFd,
}

/// Creates the two ends: `(runtime, child)`, numbered `floor` or above
/// (the child's fds below it are its stdio and preserved fds).
pub(crate) fn channel(floor: RawFd) -> Result<(Channel, Channel), Error> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(Error::sys("socketpair", None))?;
    let lift = |fd| crate::apply::fds::lift(fd, floor);
    Ok((Channel { fd: lift(a)? }, Channel { fd: lift(b)? }))
}

impl Channel {
    /// The fd, for a forked child to close its inherited copy.
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    fn send_value<T: Serialize>(&self, msg: &T) -> Result<(), nix::errno::Errno> {
        let bytes = serde_json::to_vec(msg).unwrap_or_default();
        send(self.fd.as_raw_fd(), &bytes, MsgFlags::MSG_NOSIGNAL).map(drop)
    }

    fn recv_value<T: for<'de> Deserialize<'de>>(&self) -> Result<Option<T>, String> {
        let mut buf = vec![0u8; 65536];
        let n = loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.to_string()),
                Ok(n) => break n,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(|e| e.to_string())
    }

    /// Runtime side: the next message, or an error if the children are gone.
    pub(crate) fn recv_from_child(&self) -> Result<FromChild, Error> {
        match self.recv_value::<FromChild>() {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(Error::UnexpectedMessage {
                expected: "a message",
                received: "end of file (the container process died)".into(),
            }),
            Err(e) => Err(Error::UnexpectedMessage {
                expected: "a message",
                received: e,
            }),
        }
    }

    /// Runtime side: the next message, or `None` once every child's end is
    /// closed (a successful `execve` closes it: the fd is close-on-exec).
    pub(crate) fn recv_or_eof(&self) -> Result<Option<FromChild>, Error> {
        self.recv_value::<FromChild>()
            .map_err(|e| Error::UnexpectedMessage {
                expected: "a message",
                received: e,
            })
    }

    /// Runtime side.
    pub(crate) fn send_to_child(&self, msg: FromRuntime) -> Result<(), Error> {
        self.send_value(&msg)
            .map_err(Error::sys("send to container process", None))
    }

    /// Runtime side: the answer to `OpenMountSource`, with the fd attached.
    pub(crate) fn send_mount_source(&self, source: Result<OwnedFd, String>) -> Result<(), Error> {
        let err = Error::sys("send mount source to the container process", None);
        let fd = match source {
            Ok(fd) => fd,
            Err(why) => return self.send_to_child(FromRuntime::MountSourceFailed(why)),
        };
        let bytes = serde_json::to_vec(&FromRuntime::MountSource).unwrap_or_default();
        let fds = [fd.as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let iov = [IoSlice::new(&bytes)];
        sendmsg::<()>(
            self.fd.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map(drop)
        .map_err(err)
    }

    /// Child side: the answer to `OpenMountSource`: the fd, or why the
    /// runtime could not open it (`Ok(Err(..))`).
    pub(crate) fn recv_mount_source(&self) -> Result<Result<OwnedFd, String>, ChildError> {
        let fail = |e| ChildError::sys(Step::ReceiveMountSource, None, e);
        let mut buf = vec![0u8; 65536];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = loop {
            match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.map_err(fail)?,
            }
        };
        let mut fd = None;
        for c in msg.cmsgs().map_err(fail)? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                // The kernel installed these in our fd table just now.
                fd = fds.first().map(|&f| crate::sys::own_fd(f));
            }
        }
        let n = msg.bytes;
        let answer: FromRuntime = serde_json::from_slice(&buf[..n])
            .map_err(|e| ChildError::other(Step::ReceiveMountSource, None, e.to_string()))?;
        match (answer, fd) {
            (FromRuntime::MountSource, Some(fd)) => Ok(Ok(fd)),
            (FromRuntime::MountSourceFailed(why), _) => Ok(Err(why)),
            (other, _) => Err(ChildError::other(
                Step::ReceiveMountSource,
                None,
                format!("unexpected {other:?} (or no fd)"),
            )),
        }
    }

    /// Child side.
    pub(crate) fn send_to_runtime(&self, msg: &FromChild) -> Result<(), ChildError> {
        self.send_value(msg)
            .map_err(|e| ChildError::sys(Step::SendToRuntime, None, e))
    }

    /// Child side: waits for `want` from the runtime.
    pub(crate) fn expect_from_runtime(
        &self,
        want: &'static str,
    ) -> Result<FromRuntime, ChildError> {
        match self.recv_value::<FromRuntime>() {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(ChildError::other(
                Step::WaitForRuntime,
                None,
                format!("runtime went away before {want}"),
            )),
            Err(e) => Err(ChildError::other(Step::WaitForRuntime, None, e)),
        }
    }
}
