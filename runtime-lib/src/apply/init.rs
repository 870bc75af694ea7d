//! The two processes that build a container, as ordered lists of steps.
//!
//! Stage 1 (`stage1.rs`, shared with exec) enters the namespaces: joins the
//! ones given by path, then here creates a user namespace and has the
//! runtime map it, creates the rest and writes the time offsets; then it
//! forks the init.
//!
//! Stage 2 (the container's init) builds the root filesystem, reports
//! "ready", waits for `start` on the exec FIFO, then drops to the process's
//! identity and executes it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;

use crate::apply::fds;
use crate::apply::fs::Root;
use crate::apply::last_steps::ReadyToExec;
use crate::apply::procfs::ProcFs;
use crate::apply::seccomp::ListenerInfo;
use crate::apply::stage1::{Stage1, Stage2};
use crate::apply::{devices, keyring, mounts, namespaces};
use crate::cgroups::ContainerCgroup;
use crate::console;
use crate::error::{ChildError, Step};
use crate::hooks;
use crate::plan::{NamespaceKind, Plan, ProcessPlan};
use crate::stop_point;
use crate::sync::ChildSide;
use crate::sys;

/// What create's children need besides what they inherit, all prepared by
/// the runtime before forking.
pub(crate) struct InitContext<'a> {
    pub(crate) plan: &'a Plan,
    /// The container's cgroup as its cgroupfs mounts show it.
    pub(crate) cgroup: &'a ContainerCgroup,
    /// The exec FIFO, opened read-write by the runtime: the init blocks
    /// reading it until `start` writes a byte.
    pub(crate) exec_fifo: &'a OwnedFd,
}

impl Stage1 for InitContext<'_> {
    const FORK_STEP: Step = Step::ForkInit;

    fn process(&self) -> &ProcessPlan {
        &self.plan.process
    }

    fn extra_fd(&self) -> Option<RawFd> {
        Some(self.exec_fifo.as_raw_fd())
    }

    /// The namespaces the container gets of its own: the user namespace
    /// first (the others are then owned by it), mapped by the runtime.
    fn enter_namespaces(&self, channel: &ChildSide) -> Result<(), ChildError> {
        let ns = &self.plan.namespaces;
        if ns.creates(NamespaceKind::User) {
            namespaces::unshare_user()?;
            channel.ask_to_map_ids()?;
        }
        namespaces::become_namespace_root(ns)?;
        namespaces::unshare_rest(ns)?;
        namespaces::write_time_offsets(ns)
    }

    fn forked(&self) {
        stop_point::reached("stage1:init-forked");
    }

    fn stage2(&self, s: Stage2<'_>) -> ! {
        stage2(self, s)
    }
}

fn stage2(ctx: &InitContext<'_>, s: Stage2<'_>) -> ! {
    let channel = s.channel;
    let err = match stage2_steps(ctx, s) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // Before "ready" the runtime is listening; after it, only stderr is left.
    if channel.report_failure(err.clone()).is_err() {
        // write(2) to fd 2, not eprintln!: std's stderr lock may be held
        // by a thread of the caller's that this fork did not copy.
        let _ = nix::unistd::write(std::io::stderr(), format!("cella init: {err}\n").as_bytes());
    }
    sys::exit_now(127)
}

fn stage2_steps(
    ctx: &InitContext<'_>,
    s: Stage2<'_>,
) -> Result<std::convert::Infallible, ChildError> {
    let plan = ctx.plan;
    let Stage2 {
        channel,
        kept,
        pid,
        child,
    } = s;
    let mut keep = vec![channel.raw_fd(), ctx.exec_fifo.as_raw_fd()];
    keep.extend(kept.raw_fds());
    fds::close_all_except(&child, 3 + plan.process.preserve_fds, &keep)?;
    // Until `execve` the init is a copy of the runtime inside the
    // container's pid namespace: its `/proc/<pid>/exe`, memory and fds must
    // not be reachable from the container (runc CVE-2019-5736, CVE-2016-9962;
    // exec'd processes do the same). `execve` of the program resets it.
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| ChildError::sys(Step::SetDumpable, None, e))?;
    // A session of its own: the init must not share the caller's
    // controlling terminal or receive its job-control signals.
    nix::unistd::setsid().map_err(|e| ChildError::sys(Step::Setsid, None, e))?;
    // Nodes must get exactly the modes the plan gives.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    set_names(plan)?;
    if plan.process.new_session_keyring {
        // Before pivot_root: the host's /proc is still ours to write to.
        keyring::join_new(
            &plan.id,
            plan.process.selinux_label.as_deref(),
            plan.namespaces.in_user_namespace(),
        )?;
    }
    // Before pivot_root, from the host: the container's /dev/null may be
    // anything by the time the masks are made.
    let null = mounts::open_null()?;
    build_root(ctx, channel, &null)?;
    drop(null);
    stop_point::reached("init:pivoted");
    apply_sysctl(plan)?;
    // Before the root is made read-only, in the container's root (runc
    // creates a missing cwd too: images' WORKDIRs need not exist).
    make_cwd(plan)?;
    if plan.root_readonly {
        mounts::remount_root_readonly()?;
    }
    // The pty is made after pivot_root, in the container's /dev/pts, and
    // while still root: its slave is handed to the process's user.
    if let Some(socket) = kept.console {
        console::setup_terminal(socket.as_fd(), plan.process.console_size, true)?;
    }
    let program = become_process(ctx, kept.seccomp_listener, pid)?;
    stop_point::reached("init:ready");
    channel.report_ready()?;
    wait_for_start(ctx.exec_fifo)?;
    // After start, as the process's user, in the container: the path is
    // resolved in the container's root (runtime-spec).
    if let Err(e) = hook_state(plan, "created", |st| {
        hooks::run_all(
            "startContainer",
            &plan.hooks.start_container,
            hooks::DefaultEnv::Process(&plan.process.env),
            st,
        )
    }) {
        // runtime-spec: a failing startContainer hook makes `start` fail. `start` reads the
        // fifo after its hangup: a byte left there means the program will not run.
        let _ = nix::unistd::write(ctx.exec_fifo, &[START_FAILED]);
        return Err(e);
    }
    program.exec()
}

/// Everything between the root filesystem and "ready": the process's
/// limits, cwd, environment and identity, checked now so that an impossible
/// rlimit, capability, user or program fails `create` with a message rather
/// than `start` with a dead container (as runc). What is left for after
/// `start` is the filter and `execve` ([`ReadyToExec`]).
fn become_process<'a>(
    ctx: &InitContext<'a>,
    listener: Option<OwnedFd>,
    pid: nix::unistd::Pid,
) -> Result<ReadyToExec<'a>, ChildError> {
    let plan = ctx.plan;
    let listener = listener.map(|socket| ListenerInfo {
        socket,
        state: hooks::HookState {
            oci_version: &plan.oci_version,
            id: &plan.id,
            status: "creating",
            pid: pid.as_raw(),
            bundle: &plan.bundle,
            annotations: &plan.annotations,
        },
    });
    ReadyToExec::prepare(&plan.process, plan.seccomp.as_ref(), listener)
}

/// Hostname and domain name belong to the new UTS namespace.
fn set_names(plan: &Plan) -> Result<(), ChildError> {
    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h)
            .map_err(|e| ChildError::sys(Step::Sethostname, h.clone(), e))?;
    }
    if let Some(d) = &plan.domainname {
        sys::setdomainname(d).map_err(|e| ChildError::sys(Step::Setdomainname, d.clone(), e))?;
    }
    Ok(())
}

/// The root filesystem, in the order the kernel requires: propagation before
/// any mount, the rootfs bind before mounts into it, devices after a `/dev`
/// tmpfs is mounted, the switch of root last.
fn build_root(
    ctx: &InitContext<'_>,
    channel: &ChildSide,
    null: &OwnedFd,
) -> Result<(), ChildError> {
    let plan = ctx.plan;
    mounts::set_root_propagation(plan)?;
    if plan.mounts.root_propagation.0 & libc::MS_SHARED != 0 {
        mounts::make_parent_mount_private(&plan.rootfs)?;
    }
    mounts::bind_rootfs(&plan.rootfs)?;
    let root = Root::open(&plan.rootfs)?;
    let readonly_last = mounts::mount_all(plan, &root, ctx.cgroup, channel)?;
    devices::create_devices(&root, &plan.devices)?;
    stop_point::reached("init:devices");
    run_create_hooks(plan, channel)?;
    // Masks and read-only binds are made here, inside the rootfs, while
    // the mounts they clone (the host's /dev/null among them) are still in
    // this mount namespace: open_tree(2) clones only those. After the
    // hooks, which may have mounted more.
    mounts::mask_paths(
        &root,
        &plan.masked_paths,
        plan.mounts.label.as_deref(),
        null,
    )?;
    mounts::readonly_paths(&root, &plan.readonly_paths)?;
    mounts::make_readonly_last(&readonly_last)?;
    drop(readonly_last);
    drop(root);
    if plan.mounts.pivot_root {
        mounts::pivot_to(&plan.rootfs)?;
    } else {
        mounts::move_root_to(&plan.rootfs)?;
    }
    mounts::set_new_root_propagation(plan)
}

/// After `pivot_root`, so `/proc/sys` is the container's; before the
/// read-only paths (which usually include `/proc/sys`).
/// Written through a procfs instance of the runtime's own (see
/// `procfs.rs`): whatever the container's `/proc` has become, the values
/// reach the kernel (runc CVE-2025-52881).
fn apply_sysctl(plan: &Plan) -> Result<(), ChildError> {
    if plan.sysctl.is_empty() {
        return Ok(());
    }
    let proc = ProcFs::private()?;
    for (key, value) in &plan.sysctl {
        let rel = format!("sys/{}", key.replace('.', "/"));
        proc.write(&rel, value)
            .map_err(|e| ChildError::sys(Step::SetSysctl, key.clone(), e))?;
    }
    Ok(())
}

/// Creates `process.cwd` (mode 0755, root's) where it is missing, in the
/// container's root after the switch: nothing there leads outside it.
fn make_cwd(plan: &Plan) -> Result<(), ChildError> {
    let cwd = &plan.process.cwd;
    let err = |e: std::io::Error| {
        ChildError::other(Step::ProcessCwd, cwd.display().to_string(), e.to_string())
    };
    match std::fs::metadata(cwd) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(ChildError::other(
            Step::ProcessCwd,
            cwd.display().to_string(),
            "not a directory",
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(cwd)
            .map_err(err),
        // Root may not search it here (an unmapped owner in a user
        // namespace); the process's user may: enter_cwd tries both.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// Blocks until `start` (or the foreground `run`) writes a byte.
/// The byte the init leaves in the exec fifo when a startContainer hook failed.
pub(crate) const START_FAILED: u8 = b'H';

fn wait_for_start(fifo: &OwnedFd) -> Result<(), ChildError> {
    let mut buf = [0u8; 1];
    loop {
        match nix::unistd::read(fifo, &mut buf) {
            Ok(1) => return Ok(()),
            Ok(_) => {
                return Err(ChildError::other(
                    Step::WaitForStart,
                    None,
                    "exec fifo closed",
                ))
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(ChildError::sys(Step::WaitForStart, None, e)),
        }
    }
}

/// The state a hook run from the init reads: its pid is the init's own, as
/// seen in the container (runc does the same).
fn hook_state(
    plan: &Plan,
    status: &str,
    run: impl FnOnce(&hooks::HookState<'_>) -> Result<(), hooks::HookFailed>,
) -> Result<(), ChildError> {
    let state = hooks::HookState {
        oci_version: &plan.oci_version,
        id: &plan.id,
        status,
        pid: nix::unistd::getpid().as_raw(),
        bundle: &plan.bundle,
        annotations: &plan.annotations,
    };
    run(&state).map_err(ChildError::from)
}

/// prestart and createRuntime run in the runtime (it has the runtime's
/// namespaces); createContainer here, in the container's, still before
/// pivot_root so that the host's paths resolve.
fn run_create_hooks(plan: &Plan, channel: &ChildSide) -> Result<(), ChildError> {
    if !plan.hooks.prestart.is_empty() || !plan.hooks.create_runtime.is_empty() {
        channel.ask_to_run_hooks()?;
    }
    hook_state(plan, "creating", |st| {
        hooks::run_all(
            "createContainer",
            &plan.hooks.create_container,
            hooks::DefaultEnv::Process(&plan.process.env),
            st,
        )
    })
}
