//! The steps a container's init and an `exec`'d process share, from their
//! limits to `execve`, and the one place that decides what happens after
//! the seccomp filter is loaded.
//!
//! Profiles are often allow-lists recorded from an application's own
//! syscalls (or the classic Docker profile, older than `close_range`): they
//! do not list what a runtime needs. So everything the runtime does is done
//! before the filter, and between loading it and `execve` there is nothing
//! but sending a notify listener its fd (`sendmsg`, `close`) and, without
//! `no_new_privs`, one `capset` dropping the CAP_SYS_ADMIN that loading
//! needed. runc loads the filter earlier: without `no_new_privs` before the
//! identity switch, with it before the start wait and the startContainer
//! hooks (it must hand the listener fd to its parent over the sync pipe
//! while that is open); so under runc chdir, setgroups, setuid, capset, the
//! exec FIFO and those hooks all run under the container's profile. Cella's
//! hooks run unfiltered, as every other hook; the program itself meets the
//! same filter either way. A profile with a notify listener is the
//! exception: its agent must get the fd during `create` (see
//! [`ReadyToExec::prepare`]), so it is loaded before "ready".

use std::convert::Infallible;

use crate::apply::process::{self, Execve, HeldCaps};
use crate::apply::procfs::ProcFs;
use crate::apply::seccomp::{self, ListenerInfo};
use crate::apply::{apparmor, fds, selinux, tuning};
use crate::error::ChildError;
use crate::plan::ProcessPlan;
use crate::seccomp::Compiled;
use crate::sys;

/// Asks the kernel for the process's AppArmor profile and SELinux context
/// at its `execve`. Each is the task's own attribute, written through a
/// procfs the container cannot replace (a private instance, else its
/// /proc, checked).
fn confine_at_exec(p: &ProcessPlan) -> Result<(), ChildError> {
    if p.apparmor_profile.is_none() && p.selinux_label.is_none() {
        return Ok(());
    }
    let proc = ProcFs::private().or_else(|_| ProcFs::at_proc())?;
    if let Some(profile) = &p.apparmor_profile {
        apparmor::change_onexec(&proc, profile)?;
    }
    if let Some(label) = &p.selinux_label {
        selinux::set_exec_label(&proc, label)?;
    }
    Ok(())
}

/// A process with its identity taken, waiting only for the filter and
/// `execve`.
pub(crate) struct ReadyToExec<'a> {
    execve: Execve,
    filter: Option<&'a Compiled>,
    listener: Option<ListenerInfo<'a>>,
    held: Option<HeldCaps>,
}

impl<'a> ReadyToExec<'a> {
    /// Takes the process's limits, cwd, environment, identity and
    /// privileges, in the order each step needs (see the comments), and
    /// resolves the program, so that whatever cannot be done fails now.
    pub(crate) fn prepare(
        p: &ProcessPlan,
        filter: Option<&'a Compiled>,
        listener: Option<ListenerInfo<'a>>,
    ) -> Result<Self, ChildError> {
        // Nothing the runtime still holds may reach the program (runc
        // CVE-2024-21626); every fd opened from here on is close-on-exec.
        fds::cloexec_all_from(3 + p.preserve_fds)?;
        // Raising a hard limit needs CAP_SYS_RESOURCE: before the switch.
        process::set_rlimits(p)?;
        // With every capability still held (a real-time policy, a negative
        // nice, the real-time I/O class need them).
        tuning::apply(p)?;
        // Unconfined and root until `execve`: the profile and label are only
        // asked for here, before the identity switch, `no_new_privs` and
        // the filter.
        confine_at_exec(p)?;
        // As root first (runc does too): a cwd the runtime may search but
        // the user may not is still the process's cwd.
        let cwd = process::enter_cwd(p)?;
        // After the switch of root (the container's /etc/passwd) and as
        // root (the file may be root's alone).
        let env = process::exec_env(p);
        let hold_admin = filter.is_some() && !p.no_new_privileges;
        let held = process::switch_user_and_caps(p, hold_admin)?;
        process::finish_cwd(p, cwd)?;
        process::set_no_new_privs(p)?;
        // As the process's user: access(2) checks the real uid.
        let program = process::resolve_program(p, &env)?;
        let execve = process::prepare_exec(p, &program, &env)?;
        let mut ready = ReadyToExec {
            execve,
            filter,
            listener,
            held,
        };
        // A notify agent gets its fd while the container is being created,
        // as under runc (which always loads before its start wait): an agent
        // that is gone or never reads fails `create`, not a started
        // container. Only profiles with a listener are loaded this early.
        if ready.listener.is_some() {
            ready.load_filter()?;
        }
        Ok(ready)
    }

    /// Loads the filter (once) and drops what loading it needed.
    fn load_filter(&mut self) -> Result<(), ChildError> {
        if let Some(filter) = self.filter.take() {
            seccomp::load(filter, self.listener.take())?;
        }
        process::release_held_caps(self.held.take())
    }

    /// Resets signal handling (the runtime ignores SIGPIPE; ignored signals
    /// stay ignored across `execve`), loads the filter, drops what loading
    /// it needed, and executes the program.
    pub(crate) fn exec(mut self) -> Result<Infallible, ChildError> {
        sys::reset_signals();
        self.load_filter()?;
        process::exec(&self.execve)
    }
}
