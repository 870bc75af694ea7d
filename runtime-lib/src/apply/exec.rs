//! The processes of `exec`: stage 1 (`stage1.rs`, shared with create)
//! joins the container's cgroup and namespaces (user first), here becomes
//! root of the joined user namespace, and forks the new process with
//! `CLONE_PARENT`, so it lands in the container's pid and time namespaces
//! and is the runtime's child; stage 2 takes the process's identity and
//! executes it.
//!
//! Both are made non-dumpable first: until `execve` they are copies of the
//! host's runtime binary inside the container's pid namespace, and
//! `/proc/<pid>/exe` must not hand that binary to the container (runc
//! CVE-2019-5736). `execve` of the container's program resets the flag.

use crate::apply::last_steps::ReadyToExec;
use crate::apply::seccomp::ListenerInfo;
use crate::apply::stage1::{Stage1, Stage2};
use crate::apply::{keyring, namespaces, tuning};
use crate::error::{ChildError, Step};
use crate::hooks::HookState;
use crate::plan::ProcessPlan;
use crate::sync::ChildSide;
use crate::sys;

/// What the exec children need besides what they inherit, prepared by the
/// runtime.
pub(crate) struct ExecContext<'a> {
    pub(crate) process: &'a ProcessPlan,
    /// Whether a user namespace is among the joins (then become its root).
    pub(crate) joins_user: bool,
    /// The container's seccomp filter, which exec'd processes get too.
    pub(crate) seccomp: Option<&'a crate::seccomp::Compiled>,
    /// The container's state, for the seccomp listener's message (its
    /// status and pid are the process's).
    pub(crate) state: HookState<'a>,
}

impl Stage1 for ExecContext<'_> {
    const FORK_STEP: Step = Step::ForkExecProcess;

    fn process(&self) -> &ProcessPlan {
        self.process
    }

    fn before_cgroup(&self) -> Result<(), ChildError> {
        nix::sys::prctl::set_dumpable(false)
            .map_err(|e| ChildError::sys(Step::SetDumpable, None, e))?;
        // Inherited by the process stage 1 forks.
        tuning::initial_affinity(self.process)
    }

    fn enter_namespaces(&self, _: &ChildSide) -> Result<(), ChildError> {
        if self.joins_user {
            namespaces::become_joined_root()?;
        }
        Ok(())
    }

    fn stage2(&self, s: Stage2<'_>) -> ! {
        let channel = s.channel;
        let err = match stage2_steps(self, s) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let _ = channel.report_failure(err);
        sys::exit_now(127)
    }
}

/// The same order as a container's init (see `init.rs`), minus the root
/// filesystem, which the joined mount namespace already has.
fn stage2_steps(
    ctx: &ExecContext<'_>,
    s: Stage2<'_>,
) -> Result<std::convert::Infallible, ChildError> {
    let p = ctx.process;
    // In the container's cgroup now (stage 1 joined it).
    tuning::final_affinity(p)?;
    // A session of its own, as runc gives every process it starts: the
    // caller's job control must not reach into the container, and a
    // terminal needs a session to be controlling in.
    nix::unistd::setsid().map_err(|e| ChildError::sys(Step::Setsid, None, e))?;
    // Not the caller's session keyring: the container's (runc's exec too).
    if p.new_session_keyring {
        keyring::join_existing(ctx.state.id, p.selinux_label.as_deref())?;
    }
    if let Some(socket) = s.kept.console {
        crate::console::setup_terminal(std::os::fd::AsFd::as_fd(&socket), p.console_size, false)?;
    }
    let listener = s.kept.seccomp_listener.map(|socket| ListenerInfo {
        socket,
        state: HookState {
            status: "running",
            pid: s.pid.as_raw(),
            ..ctx.state
        },
    });
    // No "ready" message: the channel is close-on-exec, so a successful
    // execve shows as end-of-file to the runtime, a failure as a message.
    ReadyToExec::prepare(p, ctx.seccomp, listener)?.exec()
}
