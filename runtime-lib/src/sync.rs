//! The protocol between the runtime and the processes it forks to start a
//! container's process (create's init, exec's process), over a
//! `SOCK_SEQPACKET` socketpair, so that message boundaries are kept by the
//! kernel.
//!
//! Each side has one method per step of the protocol ([`RuntimeSide`],
//! [`ChildSide`]), returning the step's data: the messages themselves are
//! private to this module, and a message other than the one a step waits
//! for is an error made in one place ([`unexpected`] on the runtime's side,
//! [`ChildSide::expect`] on the child's). The steps, in order:
//!
//! | child                                  | runtime                            |
//! |----------------------------------------|------------------------------------|
//! | [`report_in_cgroup`] (cgroup v1), or   | [`wait_until_in_cgroup`], or       |
//! | [`wait_for_proceed`] (the runtime moves it) | [`proceed`] once it moved it  |
//! | [`ask_to_map_ids`] (a new user ns)     | [`map_ids_when_asked`]             |
//! | [`send_pid`]                           | [`wait_for_pid`]                   |
//! | [`ask_for_mount_source`] (create)      | [`serve_until_ready`]              |
//! | [`ask_to_run_hooks`] (create)          | [`serve_until_ready`]              |
//! | [`report_ready`] (create)              | [`serve_until_ready`]              |
//! | `execve` closes the channel (exec)     | [`wait_for_exec`]                  |
//!
//! and at any point the child may [`report_failure`] instead.
//!
//! [`report_in_cgroup`]: ChildSide::report_in_cgroup
//! [`wait_for_proceed`]: ChildSide::wait_for_proceed
//! [`ask_to_map_ids`]: ChildSide::ask_to_map_ids
//! [`send_pid`]: ChildSide::send_pid
//! [`ask_for_mount_source`]: ChildSide::ask_for_mount_source
//! [`ask_to_run_hooks`]: ChildSide::ask_to_run_hooks
//! [`report_ready`]: ChildSide::report_ready
//! [`report_failure`]: ChildSide::report_failure
//! [`wait_until_in_cgroup`]: RuntimeSide::wait_until_in_cgroup
//! [`proceed`]: RuntimeSide::proceed
//! [`map_ids_when_asked`]: RuntimeSide::map_ids_when_asked
//! [`wait_for_pid`]: RuntimeSide::wait_for_pid
//! [`serve_until_ready`]: RuntimeSide::serve_until_ready
//! [`wait_for_exec`]: RuntimeSide::wait_for_exec

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::error::{ChildError, Error, Step};
use crate::sys;

/// Messages from the container's processes to the runtime.
#[derive(Debug, Serialize, Deserialize)]
enum FromChild {
    /// The child moved itself into the container's cgroup (cgroup v1,
    /// `cgroups::join_self`).
    InCgroup,
    /// Stage 1 created a user namespace: write its uid/gid maps.
    MapIds,
    /// Stage 1 forked the container's process; this is its pid (in the
    /// runtime's pid namespace).
    Pid(i32),
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
enum FromRuntime {
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

/// The largest message either side accepts: a child's error with a long
/// path fits many times over.
const MAX_MESSAGE: usize = 65536;

/// One end of the socketpair, with the wire format: one JSON value per
/// datagram, an fd attached with `SCM_RIGHTS` where a step passes one.
struct End {
    fd: OwnedFd,
}

/// Why a message could not be sent.
enum SendError {
    /// It could not be encoded (never an empty datagram instead).
    Encode(serde_json::Error),
    /// `sendmsg` failed.
    Send(Errno),
}

/// What came instead of a message.
enum RecvError {
    /// `recvmsg` failed.
    Recv(Errno),
    /// The datagram was not a message of the protocol.
    Decode(serde_json::Error),
}

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecvError::Recv(e) => write!(f, "recvmsg: {}", e.desc()),
            RecvError::Decode(e) => write!(f, "a message that does not decode: {e}"),
        }
    }
}

impl End {
    fn send<T: Serialize>(&self, msg: &T, fd: Option<BorrowedFd<'_>>) -> Result<(), SendError> {
        let bytes = serde_json::to_vec(msg).map_err(SendError::Encode)?;
        sys::send_with_fd(self.fd.as_raw_fd(), &bytes, fd).map_err(SendError::Send)
    }

    /// The next message and the fd that came with it; `None` once every
    /// other copy of the peer's end is closed.
    fn recv<T: for<'de> Deserialize<'de>>(
        &self,
    ) -> Result<Option<(T, Option<OwnedFd>)>, RecvError> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let (n, fd) = loop {
            match sys::recv_with_fd(self.fd.as_raw_fd(), &mut buf) {
                Err(Errno::EINTR) => continue,
                r => break r.map_err(RecvError::Recv)?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..n]).map_err(RecvError::Decode)?;
        Ok(Some((msg, fd)))
    }
}

/// Creates the two ends, numbered `floor` or above (the child's fds below
/// it are its stdio and preserved fds).
pub(crate) fn channel(floor: RawFd) -> Result<(RuntimeSide, ChildSide), Error> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(Error::sys("socketpair", None))?;
    let lift = |fd| crate::apply::fds::lift(fd, floor);
    Ok((
        RuntimeSide(End { fd: lift(a)? }),
        ChildSide(End { fd: lift(b)? }),
    ))
}

/// The runtime's end.
pub(crate) struct RuntimeSide(End);

/// What the init asks of the runtime while it builds the container
/// ([`RuntimeSide::serve_until_ready`]).
pub(crate) trait InitRequests {
    /// Opens the source of bind mount `index` of the plan for the init, or
    /// says why not (the init puts that in its error).
    fn open_mount_source(&mut self, index: usize) -> Result<OwnedFd, String>;
    /// Runs the prestart and createRuntime hooks.
    fn run_hooks(&mut self) -> Result<(), Error>;
}

/// The error for a message other than the one a step of the runtime waits
/// for; the only place such an error is made.
fn unexpected(expected: &'static str, received: impl std::fmt::Debug) -> Error {
    Error::UnexpectedMessage {
        expected,
        received: format!("{received:?}"),
    }
}

/// What stands for end of file in [`unexpected`]'s "received".
struct Eof;

impl std::fmt::Debug for Eof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("end of file (the container process died)")
    }
}

/// What stands for a message that could not be read.
struct Unreadable(RecvError);

impl std::fmt::Debug for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl RuntimeSide {
    fn send(&self, msg: &FromRuntime, fd: Option<BorrowedFd<'_>>) -> Result<(), Error> {
        self.0.send(msg, fd).map_err(|e| match e {
            SendError::Encode(source) => Error::EncodeMessage {
                what: "a message",
                source,
            },
            SendError::Send(errno) => Error::sys("send to container process", None)(errno),
        })
    }

    /// The next message but end of file, for a step waiting for
    /// `expected`: a failure the child reports is its error.
    fn next(&self, expected: &'static str) -> Result<FromChild, Error> {
        match self.0.recv() {
            Ok(Some((FromChild::Failed(e), _))) => Err(e.into()),
            Ok(Some((msg, _))) => Ok(msg),
            Ok(None) => Err(unexpected(expected, Eof)),
            Err(e) => Err(unexpected(expected, Unreadable(e))),
        }
    }

    /// Lets the child go on: it is in its cgroup.
    pub(crate) fn proceed(&self) -> Result<(), Error> {
        self.send(&FromRuntime::Proceed, None)
    }

    /// Waits for the child's word that it moved itself into the cgroup.
    pub(crate) fn wait_until_in_cgroup(&self) -> Result<(), Error> {
        match self.next("InCgroup")? {
            FromChild::InCgroup => Ok(()),
            other => Err(unexpected("InCgroup", other)),
        }
    }

    /// Waits for stage 1 to ask for its user namespace's id maps, writes
    /// them with `map`, and says so.
    pub(crate) fn map_ids_when_asked(
        &self,
        map: impl FnOnce() -> Result<(), Error>,
    ) -> Result<(), Error> {
        match self.next("MapIds")? {
            FromChild::MapIds => {}
            other => return Err(unexpected("MapIds", other)),
        }
        map()?;
        self.send(&FromRuntime::IdsMapped, None)
    }

    /// Waits for the pid of the process stage 1 forked (create's init,
    /// exec's process), in the runtime's pid namespace.
    pub(crate) fn wait_for_pid(&self) -> Result<Pid, Error> {
        match self.next("Pid")? {
            FromChild::Pid(pid) => Ok(Pid::from_raw(pid)),
            other => Err(unexpected("Pid", other)),
        }
    }

    /// Answers the init's requests (bind sources, hooks) until it reports
    /// that the container is built.
    pub(crate) fn serve_until_ready(&self, requests: &mut impl InitRequests) -> Result<(), Error> {
        loop {
            match self.next("Ready")? {
                FromChild::Ready => return Ok(()),
                FromChild::OpenMountSource(index) => match requests.open_mount_source(index) {
                    Ok(fd) => self.send(&FromRuntime::MountSource, Some(fd.as_fd()))?,
                    Err(why) => self.send(&FromRuntime::MountSourceFailed(why), None)?,
                },
                FromChild::RunHooks => {
                    requests.run_hooks()?;
                    self.send(&FromRuntime::HooksDone, None)?;
                }
                other => return Err(unexpected("Ready", other)),
            }
        }
    }

    /// Waits for exec's process to execute its program: the channel is
    /// close-on-exec, so a successful `execve` shows as end of file, a
    /// failure as its error.
    pub(crate) fn wait_for_exec(&self) -> Result<(), Error> {
        const EXPECTED: &str = "end of file after exec";
        match self.0.recv() {
            Ok(None) => Ok(()),
            Ok(Some((FromChild::Failed(e), _))) => Err(e.into()),
            Ok(Some((other, _))) => Err(unexpected(EXPECTED, other)),
            Err(e) => Err(unexpected(EXPECTED, Unreadable(e))),
        }
    }
}

/// The end of the container's processes.
pub(crate) struct ChildSide(End);

impl ChildSide {
    fn send(&self, msg: &FromChild) -> Result<(), ChildError> {
        self.0.send(msg, None).map_err(|e| match e {
            SendError::Encode(e) => ChildError::other(Step::SendToRuntime, None, e.to_string()),
            SendError::Send(errno) => ChildError::sys(Step::SendToRuntime, None, errno),
        })
    }

    /// Waits for `expected` from the runtime: `pick` takes it apart, with
    /// the fd that came with it, or describes what came instead; anything
    /// but `expected` is an error, made here.
    fn expect<T>(
        &self,
        expected: &'static str,
        pick: impl FnOnce(FromRuntime, Option<OwnedFd>) -> Result<T, String>,
    ) -> Result<T, ChildError> {
        match self.0.recv::<FromRuntime>() {
            Ok(Some((msg, fd))) => pick(msg, fd).map_err(|other| {
                ChildError::other(
                    Step::Sync,
                    None,
                    format!("expected {expected}, got {other}"),
                )
            }),
            Ok(None) => Err(ChildError::other(
                Step::WaitForRuntime,
                None,
                format!("runtime went away before {expected}"),
            )),
            Err(e) => Err(ChildError::other(Step::WaitForRuntime, None, e.to_string())),
        }
    }

    /// Tells the runtime that this process moved itself into the cgroup.
    pub(crate) fn report_in_cgroup(&self) -> Result<(), ChildError> {
        self.send(&FromChild::InCgroup)
    }

    /// Waits until the runtime lets stage 1 go on.
    pub(crate) fn wait_for_proceed(&self) -> Result<(), ChildError> {
        self.expect("Proceed", |msg, _| match msg {
            FromRuntime::Proceed => Ok(()),
            other => Err(format!("{other:?}")),
        })
    }

    /// Has the runtime write the id maps of the user namespace just made.
    pub(crate) fn ask_to_map_ids(&self) -> Result<(), ChildError> {
        self.send(&FromChild::MapIds)?;
        self.expect("IdsMapped", |msg, _| match msg {
            FromRuntime::IdsMapped => Ok(()),
            other => Err(format!("{other:?}")),
        })
    }

    /// Gives the runtime the pid of the process stage 1 forked.
    pub(crate) fn send_pid(&self, pid: Pid) -> Result<(), ChildError> {
        self.send(&FromChild::Pid(pid.as_raw()))
    }

    /// Has the runtime open the source of bind mount `index` (an `O_PATH`
    /// fd), or learns why it could not (`Ok(Err(why))`).
    pub(crate) fn ask_for_mount_source(
        &self,
        index: usize,
    ) -> Result<Result<OwnedFd, String>, ChildError> {
        self.send(&FromChild::OpenMountSource(index))?;
        self.expect("MountSource", |msg, fd| match (msg, fd) {
            (FromRuntime::MountSource, Some(fd)) => Ok(Ok(fd)),
            (FromRuntime::MountSourceFailed(why), _) => Ok(Err(why)),
            (FromRuntime::MountSource, None) => Err("MountSource without its fd".into()),
            (other, _) => Err(format!("{other:?}")),
        })
        .map_err(|e| ChildError {
            step: Step::ReceiveMountSource,
            ..e
        })
    }

    /// Has the runtime run the prestart and createRuntime hooks.
    pub(crate) fn ask_to_run_hooks(&self) -> Result<(), ChildError> {
        self.send(&FromChild::RunHooks)?;
        self.expect("HooksDone", |msg, _| match msg {
            FromRuntime::HooksDone => Ok(()),
            other => Err(format!("{other:?}")),
        })
    }

    /// Tells the runtime that the container is built.
    pub(crate) fn report_ready(&self) -> Result<(), ChildError> {
        self.send(&FromChild::Ready)
    }

    /// Tells the runtime why the child gives up.
    pub(crate) fn report_failure(&self, e: ChildError) -> Result<(), ChildError> {
        self.send(&FromChild::Failed(e))
    }

    /// The fd, for the list of those a child keeps.
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.0.fd.as_raw_fd()
    }
}
