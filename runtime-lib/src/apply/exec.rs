//! The processes of `exec`: stage 1 joins the container's cgroup-placed
//! namespaces (user first) and forks the new process with `CLONE_PARENT`,
//! so it lands in the container's pid and time namespaces and is the
//! runtime's child; stage 2 takes the process's identity and executes it.
//!
//! Both are made non-dumpable first: until `execve` they are copies of the
//! host's runtime binary inside the container's pid namespace, and
//! `/proc/<pid>/exe` must not hand that binary to the container (runc
//! CVE-2019-5736). `execve` of the container's program resets the flag.

use std::os::fd::RawFd;

use crate::apply::fds::ChildFds;
use crate::apply::last_steps::ReadyToExec;
use crate::apply::namespaces::{self, JoinFd};
use crate::apply::{process, seccomp};
use crate::error::{ChildError, Step};
use crate::plan::ProcessPlan;
use crate::sync::{Channel, FromChild};
use crate::sys::{self, Forked};

/// What the exec children need, prepared by the runtime.
pub(crate) struct ExecContext<'a> {
    /// The process's stdio and preserved fds, to put in place.
    pub(crate) fds: &'a ChildFds,
    pub(crate) process: &'a ProcessPlan,
    pub(crate) joins: &'a [JoinFd],
    pub(crate) channel: &'a Channel,
    pub(crate) runtime_end: RawFd,
    /// The v1 `tasks` files the child writes itself into (empty: the
    /// runtime moves it).
    pub(crate) self_join: &'a [std::path::PathBuf],
    /// Whether a user namespace is among the joins (then become its root).
    pub(crate) joins_user: bool,
    /// The console socket when the process gets a terminal.
    pub(crate) console: Option<RawFd>,
    /// The container's seccomp filter, which exec'd processes get too.
    pub(crate) seccomp: Option<&'a crate::seccomp::Compiled>,
    /// The seccomp listener socket, when the profile notifies.
    pub(crate) seccomp_listener: Option<RawFd>,
    /// The container, for the listener's state message.
    pub(crate) id: &'a str,
    /// The bundle, for the listener's state message.
    pub(crate) bundle: &'a std::path::Path,
    /// The spec version, for the listener's state message.
    pub(crate) oci_version: &'a str,
    /// The annotations, for the listener's state message.
    pub(crate) annotations: &'a std::collections::BTreeMap<String, String>,
}

/// Stage 1; never returns.
pub(crate) fn stage1(ctx: &ExecContext<'_>) -> ! {
    let code = match stage1_steps(ctx) {
        Ok(()) => 0,
        Err(e) => {
            let _ = ctx.channel.send_to_runtime(&FromChild::Failed(e));
            1
        }
    };
    sys::exit_now(code)
}

fn stage1_steps(ctx: &ExecContext<'_>) -> Result<(), ChildError> {
    sys::close_inherited(ctx.runtime_end);
    ctx.fds.place()?;
    let mut keep: Vec<RawFd> = ctx
        .joins
        .iter()
        .map(|j| std::os::fd::AsRawFd::as_raw_fd(&j.fd))
        .collect();
    keep.push(ctx.channel.raw_fd());
    keep.extend(ctx.console);
    keep.extend(ctx.seccomp_listener);
    crate::apply::fds::close_all_except(3 + ctx.process.preserve_fds, &keep)?;
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| ChildError::sys(Step::SetDumpable, None, e))?;
    // Into the container's cgroup from the host, before any namespace is
    // joined (see `join_cgroup_self`).
    super::join_cgroup_self(ctx.channel, ctx.self_join)?;
    ctx.channel.expect_from_runtime("Proceed")?;
    // From the host's /proc, before joining: the container's /proc is
    // whatever its processes made of it (runc CVE-2025-52881). The new
    // process inherits the score.
    process::set_oom_score_adj(ctx.process)?;
    namespaces::join_all(ctx.joins)?;
    if ctx.joins_user {
        namespaces::become_joined_root()?;
    }
    // The new process cannot see its own pid outside the container's pid
    // namespace; a notify listener's agent needs it, so we tell it.
    let pid_pipe = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ChildError::sys(Step::Pipe, None, e))?;
    match sys::fork_with_flags(libc::CLONE_PARENT as libc::c_ulong) {
        Err(e) => Err(ChildError::sys(Step::ForkExecProcess, None, e)),
        Ok(Forked::Child) => {
            drop(pid_pipe.1);
            let mut buf = [0u8; 4];
            let outer = match nix::unistd::read(&pid_pipe.0, &mut buf) {
                Ok(4) => i32::from_ne_bytes(buf),
                _ => 0,
            };
            stage2(ctx, outer)
        }
        Ok(Forked::Parent(pid)) => {
            // Sent before the child is let go: a "failed" from it must
            // reach the runtime after the pid, as the runtime expects.
            let sent = ctx
                .channel
                .send_to_runtime(&FromChild::InitPid(pid.as_raw()));
            let _ = nix::unistd::write(&pid_pipe.1, &pid.as_raw().to_ne_bytes());
            sent
        }
    }
}

fn stage2(ctx: &ExecContext<'_>, outer_pid: i32) -> ! {
    let err = match stage2_steps(ctx, outer_pid) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = ctx.channel.send_to_runtime(&FromChild::Failed(err));
    sys::exit_now(127)
}

/// The same order as a container's init (see `init.rs`), minus the root
/// filesystem, which the joined mount namespace already has.
fn stage2_steps(
    ctx: &ExecContext<'_>,
    outer_pid: i32,
) -> Result<std::convert::Infallible, ChildError> {
    let p = ctx.process;
    for j in ctx.joins {
        sys::close_inherited(std::os::fd::AsRawFd::as_raw_fd(&j.fd));
    }
    // A session of its own, as runc gives every process it starts: the
    // caller's job control must not reach into the container, and a
    // terminal needs a session to be controlling in.
    nix::unistd::setsid().map_err(|e| ChildError::sys(Step::Setsid, None, e))?;
    if let Some(socket) = ctx.console {
        crate::console::setup_terminal(socket, p.console_size, false)?;
        sys::close_inherited(socket);
    }
    let listener = ctx.seccomp_listener.map(|socket| seccomp::ListenerInfo {
        socket,
        oci_version: ctx.oci_version,
        id: ctx.id,
        status: "running",
        pid: outer_pid,
        bundle: ctx.bundle,
        annotations: ctx.annotations,
    });
    // No "ready" message: the channel is close-on-exec, so a successful
    // execve shows as end-of-file to the runtime, a failure as a message.
    ReadyToExec::prepare(p, ctx.seccomp, listener)?.exec()
}
