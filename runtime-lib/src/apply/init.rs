//! The two processes that build a container, as ordered lists of steps.
//!
//! Stage 1 (forked by the runtime) enters the namespaces: joins the ones
//! given by path, creates a user namespace and has the runtime map it,
//! creates the rest, then forks the init with `CLONE_PARENT` so that the
//! runtime is its parent — pid and time namespaces only apply to children,
//! which is why a second process is needed at all.
//!
//! Stage 2 (the container's init) builds the root filesystem, reports
//! "ready", waits for `start` on the exec FIFO, then drops to the process's
//! identity and executes it.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;

use crate::apply::fds::ChildFds;
use crate::apply::fs::Root;
use crate::apply::last_steps::ReadyToExec;
use crate::apply::namespaces::JoinFd;
use crate::apply::procfs::ProcFs;
use crate::apply::seccomp::{self, ListenerInfo};
use crate::apply::{devices, mounts, namespaces, process};
use crate::cgroups::ContainerCgroup;
use crate::console;
use crate::error::{ChildError, Step};
use crate::hooks;
use crate::plan::{NamespaceKind, Plan};
use crate::stop_point;
use crate::sync::{Channel, FromChild, FromRuntime};
use crate::sys::{self, Forked};

/// What the children need, all prepared by the runtime before forking.
pub(crate) struct InitContext<'a> {
    /// The container process's stdio and preserved fds, to put in place.
    pub(crate) fds: &'a ChildFds,
    pub(crate) plan: &'a Plan,
    pub(crate) cgroup: &'a ContainerCgroup,
    /// The v1 `tasks` files the child writes itself into (empty: the
    /// runtime moves it, as on cgroup v2).
    pub(crate) self_join: &'a [std::path::PathBuf],
    pub(crate) joins: &'a [JoinFd],
    pub(crate) channel: &'a Channel,
    /// The runtime's end of the channel, inherited through fork: closed
    /// first thing, or the runtime could never see the children go away.
    pub(crate) runtime_end: RawFd,
    /// The exec FIFO, opened read-write by the runtime: the init blocks
    /// reading it until `start` writes a byte.
    pub(crate) exec_fifo: &'a OwnedFd,
    /// The console socket (or the runtime's private one) when the process
    /// gets a terminal.
    pub(crate) console: Option<RawFd>,
    /// The seccomp listener socket (connected by the runtime) when the
    /// profile notifies.
    pub(crate) seccomp_listener: Option<RawFd>,
}

/// Runs stage 1 in the freshly forked child; never returns.
pub(crate) fn stage1(ctx: &InitContext<'_>) -> ! {
    let code = match stage1_steps(ctx) {
        Ok(()) => 0,
        Err(e) => {
            let _ = ctx.channel.send_to_runtime(&FromChild::Failed(e));
            1
        }
    };
    sys::exit_now(code)
}

/// The fds a child keeps from the runtime: the channel, the exec FIFO and
/// (stage 1 only) the namespaces to join; everything else above stdio and
/// `--preserve-fds` is closed at once.
fn close_runtime_fds(ctx: &InitContext<'_>, with_joins: bool) -> Result<(), ChildError> {
    let mut keep = vec![ctx.channel.raw_fd(), ctx.exec_fifo.as_raw_fd()];
    keep.extend(ctx.console);
    keep.extend(ctx.seccomp_listener);
    if with_joins {
        keep.extend(ctx.joins.iter().map(|j| j.fd.as_raw_fd()));
    }
    crate::apply::fds::close_all_except(3 + ctx.plan.process.preserve_fds, &keep)
}

fn stage1_steps(ctx: &InitContext<'_>) -> Result<(), ChildError> {
    sys::close_inherited(ctx.runtime_end);
    // Before the runtime's other fds are closed: a source may be among
    // them (an fd the caller gave that is numbered above the range).
    ctx.fds.place()?;
    close_runtime_fds(ctx, true)?;
    let ns = &ctx.plan.namespaces;
    // Into the container's cgroup before any namespace is made, either by
    // ourselves (v1) or by the runtime, which says "Proceed" once we are
    // in: a new cgroup namespace takes the current cgroup as its root.
    super::join_cgroup_self(ctx.channel, ctx.self_join)?;
    ctx.channel.expect_from_runtime("Proceed")?;
    // Joins first, as runc does: a namespace to join may be owned by a user
    // namespace we would leave by creating our own.
    // From the host's /proc, before any namespace is entered; the init
    // inherits it (see process.rs).
    process::set_oom_score_adj(&ctx.plan.process)?;
    namespaces::join_all(ctx.joins)?;
    if ns.creates(NamespaceKind::User) {
        namespaces::unshare_user()?;
        ctx.channel.send_to_runtime(&FromChild::MapIds)?;
        match ctx.channel.expect_from_runtime("IdsMapped")? {
            FromRuntime::IdsMapped => {}
            other => {
                return Err(ChildError::other(
                    Step::Sync,
                    None,
                    format!("unexpected {other:?}"),
                ))
            }
        }
    }
    namespaces::become_namespace_root(ns)?;
    namespaces::unshare_rest(ns)?;
    namespaces::write_time_offsets(ns)?;
    // Both processes write to the one channel: the init waits on this pipe
    // until its pid is sent, or under load its "ready" could reach the
    // runtime first, which would then fail without knowing the init's pid
    // and leave it behind.
    let (pid_sent_r, pid_sent_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ChildError::sys(Step::Pipe, None, e))?;
    match sys::fork_with_flags(libc::CLONE_PARENT as libc::c_ulong) {
        Err(e) => Err(ChildError::sys(Step::ForkInit, None, e)),
        Ok(Forked::Child) => {
            drop(pid_sent_w);
            let mut buf = [0u8; 1];
            let sent = loop {
                match nix::unistd::read(&pid_sent_r, &mut buf) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    r => break matches!(r, Ok(1)),
                }
            };
            if !sent {
                // Stage 1 died before the runtime learnt who we are: the
                // runtime fails the create and nobody would ever start us.
                sys::exit_now(1)
            }
            drop(pid_sent_r);
            stage2(ctx)
        }
        Ok(Forked::Parent(pid)) => {
            stop_point::reached("stage1:init-forked");
            ctx.channel
                .send_to_runtime(&FromChild::InitPid(pid.as_raw()))?;
            nix::unistd::write(&pid_sent_w, &[1])
                .map(drop)
                .map_err(|e| ChildError::sys(Step::Write, "the init's pipe".to_string(), e))
        }
    }
}

fn stage2(ctx: &InitContext<'_>) -> ! {
    let err = match stage2_steps(ctx) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // Before "ready" the runtime is listening; after it, only stderr is left.
    if ctx
        .channel
        .send_to_runtime(&FromChild::Failed(err.clone()))
        .is_err()
    {
        // write(2) to fd 2, not eprintln!: std's stderr lock may be held
        // by a thread of the caller's that this fork did not copy.
        let _ = nix::unistd::write(std::io::stderr(), format!("cella init: {err}\n").as_bytes());
    }
    sys::exit_now(127)
}

fn stage2_steps(ctx: &InitContext<'_>) -> Result<std::convert::Infallible, ChildError> {
    let plan = ctx.plan;
    close_runtime_fds(ctx, false)?;
    // Until `execve` the init is a copy of the runtime inside the
    // container's pid namespace: its `/proc/<pid>/exe`, memory and fds must
    // not be reachable from the container (runc CVE-2019-5736, CVE-2016-9962;
    // exec'd processes do the same). `execve` of the program resets it.
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| ChildError::sys(Step::SetDumpable, None, e))?;
    let outer_pid = seccomp::outer_pid();
    // A session of its own: the init must not share the caller's
    // controlling terminal or receive its job-control signals.
    nix::unistd::setsid().map_err(|e| ChildError::sys(Step::Setsid, None, e))?;
    // Nodes must get exactly the modes the plan gives.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    set_names(plan)?;
    if plan.process.new_session_keyring {
        join_session_keyring(&plan.id)?;
    }
    // Before pivot_root, from the host: the container's /dev/null may be
    // anything by the time the masks are made.
    let null = mounts::open_null()?;
    build_root(ctx, &null)?;
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
    if let Some(socket) = ctx.console {
        console::setup_terminal(socket, plan.process.console_size, true)?;
        sys::close_inherited(socket);
    }
    let program = become_process(ctx, outer_pid)?;
    stop_point::reached("init:ready");
    ctx.channel.send_to_runtime(&FromChild::Ready)?;
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
    outer_pid: i32,
) -> Result<ReadyToExec<'a>, ChildError> {
    let p = &ctx.plan.process;
    let listener = ctx.seccomp_listener.map(|socket| ListenerInfo {
        socket,
        oci_version: &ctx.plan.oci_version,
        id: &ctx.plan.id,
        status: "creating",
        pid: outer_pid,
        bundle: &ctx.plan.bundle,
        annotations: &ctx.plan.annotations,
    });
    ReadyToExec::prepare(p, ctx.plan.seccomp.as_ref(), listener)
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

/// A new session keyring keeps the host's keys (and other containers')
/// out of reach. Kernels or seccomp profiles without keyctl are tolerated,
/// as runc does.
fn join_session_keyring(id: &str) -> Result<(), ChildError> {
    let name = std::ffi::CString::new(format!("_ses.{id}"))
        .map_err(|_| ChildError::other(Step::Keyring, id.to_string(), "id contains NUL"))?;
    match sys::join_new_session_keyring(&name) {
        Ok(()) | Err(nix::errno::Errno::ENOSYS) | Err(nix::errno::Errno::EPERM) => Ok(()),
        Err(e) => Err(ChildError::sys(Step::JoinSessionKeyring, id.to_string(), e)),
    }
}

/// The root filesystem, in the order the kernel requires: propagation before
/// any mount, the rootfs bind before mounts into it, devices after a `/dev`
/// tmpfs is mounted, the switch of root last.
fn build_root(ctx: &InitContext<'_>, null: &OwnedFd) -> Result<(), ChildError> {
    let plan = ctx.plan;
    mounts::set_root_propagation(plan)?;
    if plan.mounts.root_propagation.0 & libc::MS_SHARED != 0 {
        mounts::make_parent_mount_private(&plan.rootfs)?;
    }
    mounts::bind_rootfs(&plan.rootfs)?;
    let root = Root::open(&plan.rootfs)?;
    let readonly_last = mounts::mount_all(plan, &root, ctx.cgroup, ctx.channel)?;
    devices::create_devices(&root, &plan.devices)?;
    stop_point::reached("init:devices");
    run_create_hooks(ctx)?;
    // Masks and read-only binds are made here, inside the rootfs, while
    // the mounts they clone (the host's /dev/null among them) are still in
    // this mount namespace: open_tree(2) clones only those. After the
    // hooks, which may have mounted more.
    mounts::mask_paths(&root, &plan.masked_paths, null)?;
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
fn run_create_hooks(ctx: &InitContext<'_>) -> Result<(), ChildError> {
    let plan = ctx.plan;
    if !plan.hooks.prestart.is_empty() || !plan.hooks.create_runtime.is_empty() {
        ctx.channel.send_to_runtime(&FromChild::RunHooks)?;
        match ctx.channel.expect_from_runtime("HooksDone")? {
            FromRuntime::HooksDone => {}
            other => {
                return Err(ChildError::other(
                    Step::Sync,
                    None,
                    format!("unexpected {other:?}"),
                ))
            }
        }
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
