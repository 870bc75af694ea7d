//! Stage 1, the process the runtime forks to start a container's process
//! (create's init, exec's process), the same for both: it puts the fds in
//! place, closes the runtime's, enters the container's cgroup and
//! namespaces, and forks the process with `CLONE_PARENT` so that the
//! runtime is its parent — pid and time namespaces only apply to children,
//! which is why a second process is needed at all. What differs is a
//! [`Stage1`]: the namespaces create makes (`init.rs`), or the joined user
//! namespace exec becomes root of (`exec.rs`), and the process's own steps
//! (stage 2).

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use nix::unistd::Pid;

use crate::apply::fds::{self, ChildFds};
use crate::apply::namespaces::{self, JoinFd};
use crate::apply::process;
use crate::error::{ChildError, Step};
use crate::plan::ProcessPlan;
use crate::sync::{ChildSide, RuntimeSide};
use crate::sys::{self, Forked, ForkedChild};

/// What the runtime hands stage 1, made before the fork with every fd
/// numbered above the range the process fills (`fds.rs`); after the fork
/// these are the child's own copies.
pub(crate) struct Inherited {
    /// The runtime's end of the channel: the child closes its copy first
    /// thing, or the runtime could never see the children go away.
    pub(crate) runtime_end: RuntimeSide,
    pub(crate) channel: ChildSide,
    /// The process's stdio and preserved fds, to put in place.
    pub(crate) io: ChildFds,
    /// The namespaces to join, opened by the runtime.
    pub(crate) joins: Vec<JoinFd>,
    /// The v1 `tasks` files the child writes itself into (empty: the
    /// runtime moves it, as on cgroup v2).
    pub(crate) self_join: Vec<PathBuf>,
    /// What stage 2 takes on.
    pub(crate) kept: Kept,
}

/// The fds stage 2 gets from stage 1.
pub(crate) struct Kept {
    /// The console socket (or the runtime's private one) when the process
    /// gets a terminal.
    pub(crate) console: Option<OwnedFd>,
    /// The seccomp listener socket (connected by the runtime) when the
    /// profile notifies.
    pub(crate) seccomp_listener: Option<OwnedFd>,
}

/// What stage 2, the process stage 1 forks, starts with.
pub(crate) struct Stage2<'a> {
    pub(crate) channel: &'a ChildSide,
    pub(crate) kept: Kept,
    /// Its pid in the runtime's pid namespace, as the runtime has it (the
    /// process itself only sees its pid in the container's).
    pub(crate) pid: Pid,
    pub(crate) child: ForkedChild,
}

/// What create's stage 1 and exec's do differently.
pub(crate) trait Stage1 {
    /// The step a failed fork of the process is reported as.
    const FORK_STEP: Step;
    /// The process's plan.
    fn process(&self) -> &ProcessPlan;
    /// An fd of the runtime's the children keep besides those they
    /// inherit (create's exec FIFO).
    fn extra_fd(&self) -> Option<RawFd> {
        None
    }
    /// The steps before the cgroup.
    fn before_cgroup(&self) -> Result<(), ChildError> {
        Ok(())
    }
    /// The steps after the namespaces given by path are joined.
    fn enter_namespaces(&self, channel: &ChildSide) -> Result<(), ChildError>;
    /// Stage 1 forked the process, and is about to send its pid.
    fn forked(&self) {}
    /// The process's own steps; never returns.
    fn stage2(&self, s: Stage2<'_>) -> !;
}

/// Runs stage 1 in the freshly forked child; never returns. A panic, which
/// no input should cause, ends the process rather than unwind into the
/// frames it shares with the runtime (`sys::fork`'s contract).
pub(crate) fn run<K: Stage1>(kind: &K, inherited: Inherited, child: ForkedChild) -> ! {
    let run = std::panic::AssertUnwindSafe(|| steps(kind, inherited, child));
    match std::panic::catch_unwind(run) {
        Ok(never) => never,
        Err(_) => sys::exit_now(127),
    }
}

fn steps<K: Stage1>(kind: &K, inherited: Inherited, child: ForkedChild) -> ! {
    let Inherited {
        runtime_end,
        channel,
        io,
        joins,
        self_join,
        kept,
    } = inherited;
    drop(runtime_end);
    let result = enter(kind, &channel, io, &joins, &self_join, &kept, &child)
        .and_then(|()| fork_process(kind, &channel, joins, kept, &child));
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = channel.report_failure(e);
            1
        }
    };
    sys::exit_now(code)
}

/// Stage 1's steps up to the fork, in the order each needs.
fn enter(
    kind: &impl Stage1,
    channel: &ChildSide,
    io: ChildFds,
    joins: &[JoinFd],
    self_join: &[PathBuf],
    kept: &Kept,
    child: &ForkedChild,
) -> Result<(), ChildError> {
    // Before the runtime's other fds are closed: a source may be among
    // them (an fd the caller gave that is numbered above the range).
    io.place(child)?;
    let mut keep = vec![channel.raw_fd()];
    keep.extend(joins.iter().map(|j| j.fd.as_raw_fd()));
    keep.extend(kept.raw_fds());
    keep.extend(kind.extra_fd());
    fds::close_all_except(child, 3 + kind.process().preserve_fds, &keep)?;
    kind.before_cgroup()?;
    // Into the container's cgroup before any namespace is made or joined:
    // a new cgroup namespace takes the current cgroup as its root. Either we
    // move ourselves (v1), tell the runtime and go on, or the runtime moves
    // us and says "Proceed".
    if self_join.is_empty() {
        channel.wait_for_proceed()?;
    } else {
        super::join_cgroup_self(channel, self_join)?;
    }
    // From the host's /proc, before any namespace is entered: the
    // container's /proc is whatever its processes made of it (runc
    // CVE-2025-52881). The process inherits the score.
    process::set_oom_score_adj(kind.process())?;
    // Joins first, as runc does: a namespace to join may be owned by a user
    // namespace we would leave by creating our own.
    namespaces::join_all(joins)?;
    kind.enter_namespaces(channel)
}

impl Kept {
    /// The fds, for the list of those a child keeps.
    pub(crate) fn raw_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.console
            .iter()
            .chain(&self.seccomp_listener)
            .map(|fd| fd.as_raw_fd())
    }
}

/// Forks the process, and gives the runtime its pid before the process
/// does anything: both write to the one channel, and under load a message
/// of the process's could otherwise reach the runtime first, which would
/// then fail without knowing the process and leave it behind. So the
/// process waits on a pipe for its own pid (in the runtime's pid
/// namespace, which it could not learn otherwise), which stage 1 writes
/// there once the runtime has it.
fn fork_process<K: Stage1>(
    kind: &K,
    channel: &ChildSide,
    joins: Vec<JoinFd>,
    kept: Kept,
    child: &ForkedChild,
) -> Result<(), ChildError> {
    let (pid_r, pid_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ChildError::sys(Step::Pipe, None, e))?;
    match sys::fork_with_flags(child, libc::CLONE_PARENT as libc::c_ulong) {
        Err(e) => Err(ChildError::sys(K::FORK_STEP, None, e)),
        Ok(Forked::Child(child)) => {
            drop(pid_w);
            // Stage 2 is in the namespaces already.
            drop(joins);
            let Some(pid) = read_own_pid(pid_r) else {
                // Stage 1 died before the runtime learnt who we are: the
                // runtime fails, and nobody would ever wait for us.
                sys::exit_now(1)
            };
            kind.stage2(Stage2 {
                channel,
                kept,
                pid,
                child,
            })
        }
        Ok(Forked::Parent(pid)) => {
            kind.forked();
            channel.send_pid(pid)?;
            nix::unistd::write(&pid_w, &pid.as_raw().to_ne_bytes())
                .map(drop)
                .map_err(|e| ChildError::sys(Step::Write, "the new process's pipe".to_string(), e))
        }
    }
}

/// The pid stage 1 writes once the runtime has it; `None` if stage 1 is
/// gone without writing it. A write of 4 bytes to a pipe is atomic.
fn read_own_pid(pipe: OwnedFd) -> Option<Pid> {
    let mut buf = [0u8; 4];
    loop {
        match nix::unistd::read(&pipe, &mut buf) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(4) => return Some(Pid::from_raw(i32::from_ne_bytes(buf))),
            _ => return None,
        }
    }
}
