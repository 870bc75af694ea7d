//! `create`: from a bundle to a container waiting for `start`.

use std::cell::RefCell;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::sys::stat::Mode;
use nix::unistd::Pid;

use super::cleanup::{Cleanup, Poststop};
use super::launch::{Launch, PidfdSocket, Started};
use super::state::{self, DirLock, StateFile, EXEC_FIFO};
use super::{time, Container, Io};
use crate::apply::init::InitContext;
use crate::apply::namespaces;
use crate::cgroups::systemd::Manager;
use crate::cgroups::{ContainerCgroup, Ownership};
use crate::error::{Error, FieldError};
use crate::hooks::{self, DefaultEnv, HookState};
use crate::plan::{self, CreateOptions, NamespaceKind, Plan};
use crate::spec::{self, Bundle};
use crate::stop_point;
use crate::sync::InitRequests;

/// Loads, validates and plans the bundle for this host; nothing is created.
/// Without a runtime there is no state directory: `opts.notify_socket` is
/// refused.
pub fn plan_bundle(bundle: &Path, id: &str, opts: &CreateOptions) -> Result<Plan, Error> {
    plan_loaded(&spec::load_bundle(bundle)?, id, opts, None)
}

/// Plans a loaded (or in-memory) bundle for this host, its state going to
/// `state_dir`; nothing is created.
pub(super) fn plan_loaded(
    loaded: &Bundle,
    id: &str,
    opts: &CreateOptions,
    state_dir: Option<PathBuf>,
) -> Result<Plan, Error> {
    let facts = super::facts::gather(loaded, id, opts, state_dir)?;
    plan::compile(loaded, id, opts, &facts)
}

/// What `create` is given besides the plan's options.
pub(super) struct Request<'a> {
    pub(super) id: &'a str,
    pub(super) bundle: Bundle,
    pub(super) io: Io,
    pub(super) pid_file: Option<&'a Path>,
}

/// The preserved fds an [`Io`] gives replace runc's `--preserve-fds N`,
/// and cannot be had with a terminal, which is the process's stdio.
pub(super) fn check_io(io: &Io, opts: &mut CreateOptions, terminal: bool) -> Result<(), Error> {
    if !io.fds.is_empty() {
        if opts.preserve_fds != 0 || opts.listen_fds != 0 {
            return Err(Error::Usage(
                "Io::fds: cannot be combined with preserve_fds or listen_fds (the caller's own \
                 fds 3 and up)"
                    .into(),
            ));
        }
        opts.preserve_fds = io.fds.len() as u32;
    }
    if terminal && io.sets_stdio() {
        return Err(Error::Usage(
            "Io: the process has a terminal (process.terminal), which is its stdin, stdout and \
             stderr: leave them Stdio::Inherit"
                .into(),
        ));
    }
    Ok(())
}

/// Whether the config's process asks for a terminal.
pub(super) fn has_terminal(loaded: &Bundle) -> bool {
    loaded
        .spec
        .process()
        .as_ref()
        .is_some_and(|p| p.terminal() == Some(true))
}

/// Makes `<root>/<id>` (mode 0700: state, FIFO and lock are the runtime's
/// alone), and the root (0700) if it is missing.
fn make_state_dir(root: &Path, id: &str) -> Result<PathBuf, Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(Error::io("create", root))?;
    let dir = root.join(id);
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(Error::AlreadyExists { id: id.to_string() })
        }
        Err(e) => Err(Error::io("create", &dir)(e)),
    }
}

pub(super) fn create(
    root: &Path,
    req: Request<'_>,
    opts: &CreateOptions,
) -> Result<Container, Error> {
    // A failed create is undone when its `Cleanup` drops, poststop hooks
    // included; their failures come back here to go out with the error.
    let warnings = RefCell::new(Vec::new());
    let result = create_or_undo(root, req, opts, &warnings);
    result.map_err(|e| e.with_warnings(warnings.into_inner()))
}

/// `create`'s steps; on an error what was made is undone (see [`Cleanup`]),
/// the warnings of failed poststop hooks going to `warnings`.
fn create_or_undo(
    root: &Path,
    req: Request<'_>,
    opts: &CreateOptions,
    warnings: &RefCell<Vec<String>>,
) -> Result<Container, Error> {
    let Request {
        id,
        bundle: loaded,
        io,
        pid_file,
    } = req;
    // Plan before touching anything: a bad config leaves nothing behind.
    let plan = plan_create(root, id, &loaded, &io, opts)?;
    let mut launch = open_joins(&plan, &loaded)?;

    let dir = make_state_dir(root, id)?;
    let mut cleanup = Cleanup::container(dir.clone(), warnings);
    let _lock = DirLock::lock(&dir)?;
    // The state is written before anything else is made, and says who is
    // creating: a `create` killed at any later point leaves a container
    // that `state` and `list` show and `delete` removes (cgroup included).
    let mut st = save_first_state(&plan, &loaded, id, &dir)?;
    make_cgroup(&plan, &mut st, &dir, &mut cleanup)?;
    stop_point::reached("create:cgroup-made");
    let exec_fifo = make_exec_fifo(&dir, &launch)?;
    stop_point::reached("create:fifo-made");

    if plan.process.terminal {
        launch.connect_console(&opts.console)?;
    }
    launch.connect_seccomp_listener(plan.seccomp.as_ref())?;
    let pidfd_socket = PidfdSocket::connect(opts.pidfd_socket.as_deref())?;
    let io = io.prepare()?;
    cleanup.set_poststop(poststop(&plan, id));
    let view = plan.cgroup.placement.view();
    let init = InitContext {
        plan: &plan,
        cgroup: &view,
        exec_fifo: &exec_fifo,
    };
    let cgroup = plan.cgroup.placement.cgroup();
    let started = launch.fork(io, cgroup, &mut cleanup, &init)?;
    stop_point::reached("create:forked");
    let manager = place(&started, &plan, &mut cleanup)?;
    stop_point::reached("create:in-cgroup");
    if plan.namespaces.creates(NamespaceKind::User) {
        started.map_ids(&plan.namespaces)?;
    }
    let (init_pid, pidfd) = init_forked(&started, &mut cleanup, &mut st, &dir, pidfd_socket)?;
    apply_after_init(&plan, manager)?;
    stop_point::reached("create:init-forked");
    // Before any hook runs (runc's order): they see the devices inside.
    super::net_devices::move_all(&plan.net_devices, init_pid, cleanup.net_devices())?;
    stop_point::reached("create:net-devices");
    let mut requests = CreateRequests::new(&plan, id, init_pid);
    started.channel.serve_until_ready(&mut requests)?;
    stop_point::reached("create:ready");

    let terminal = started.terminal()?;
    finish(&mut st, &dir, pid_file)?;
    cleanup.disarm();
    stop_point::reached("create:done");
    Ok(Container {
        dir,
        state: st,
        exec_fifo: Some(exec_fifo),
        terminal,
        warnings: plan.warnings,
        notes: plan.cgroup.placement.notes,
        is_parent: true,
        exit_status: None,
        pidfd: OnceLock::from(pidfd),
    })
}

/// The init's pid, once stage 1 forked it, and a pidfd of it opened then,
/// while the init is our unreaped child (so the pid is surely its);
/// recorded in the state and sent to the `--pidfd-socket`.
fn init_forked(
    started: &Started,
    cleanup: &mut Cleanup<'_>,
    st: &mut StateFile,
    dir: &Path,
    socket: PidfdSocket,
) -> Result<(Pid, OwnedFd), Error> {
    let pid = started.wait_for_pid(cleanup)?;
    let pidfd = super::pidfd::of_child(pid)?;
    record_init(st, dir, pid)?;
    socket.send(pidfd.as_fd(), "standard")?;
    Ok((pid, pidfd))
}

/// Checks the id and the [`Io`], and plans the bundle for this host.
fn plan_create(
    root: &Path,
    id: &str,
    loaded: &Bundle,
    io: &Io,
    opts: &CreateOptions,
) -> Result<Plan, Error> {
    super::id::validate_id(id)?;
    let mut opts = opts.clone();
    check_io(io, &mut opts, has_terminal(loaded))?;
    let facts = super::facts::gather(loaded, id, &opts, Some(state_dir(root, id)?))?;
    match plan::compile(loaded, id, &opts, &facts) {
        // A taken id is that error (as in runc, which checks it before the
        // cgroup), even when it is its own container that is in the cgroup.
        Err(Error::CgroupInUse { .. }) if root.join(id).exists() => {
            Err(Error::AlreadyExists { id: id.to_string() })
        }
        planned => planned,
    }
}

/// The container's state directory, absolute: the plan's bind source of
/// sd_notify's directory must not be read relative to the bundle (a
/// relative `--root`).
pub(super) fn state_dir(root: &Path, id: &str) -> Result<PathBuf, Error> {
    let dir = root.join(id);
    std::path::absolute(&dir).map_err(Error::io("make absolute", dir))
}

/// Opens the namespaces the container joins by path, for its launch. A
/// sysctl must not be set in one that is the runtime's own: it would change
/// the host.
fn open_joins(plan: &Plan, loaded: &Bundle) -> Result<Launch, Error> {
    let mut launch = Launch::new(plan.process.preserve_fds);
    launch.join_namespaces(namespaces::open_joins(&plan.namespaces)?)?;
    let Some((key, path)) = namespaces::sysctl_in_own_namespace(plan.sysctl.keys(), launch.joins())
    else {
        return Ok(launch);
    };
    Err(FieldError::invalid(
        format!("linux.sysctl.{key:?}"),
        format!(
            "the namespace joined at {path} is the runtime's own: setting it would change the host"
        ),
    )
    .in_file(&loaded.config_path)
    .into())
}

/// Saves the first state, then makes what lives in the state directory
/// besides it (sd_notify's directory).
fn save_first_state(
    plan: &Plan,
    loaded: &Bundle,
    id: &str,
    dir: &Path,
) -> Result<StateFile, Error> {
    let st = first_state(plan, loaded, id);
    st.save(dir)?;
    stop_point::reached("create:state-saved");
    make_notify_dir(plan.notify.as_ref())?;
    Ok(st)
}

/// The state as first saved: "creating", by this process, with no init yet.
fn first_state(plan: &Plan, loaded: &Bundle, id: &str) -> StateFile {
    let placement = &plan.cgroup.placement;
    let cgroup = placement.cgroup();
    let me = nix::unistd::getpid().as_raw();
    let linux = loaded.spec.linux().as_ref();
    StateFile {
        oci_version: plan.oci_version.clone(),
        id: id.to_string(),
        pid: 0,
        start_time: 0,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: time::rfc3339_nano(std::time::SystemTime::now()),
        annotations: plan.annotations.clone(),
        cgroup_ownership: cgroup.as_ref().map(|_| placement.ownership.clone()),
        systemd_unit: plan.cgroup.systemd.as_ref().map(|u| u.name.clone()),
        systemd_user: plan.cgroup.systemd.as_ref().and_then(|u| u.user.clone()),
        cgroup,
        own_pid_namespace: plan.namespaces.creates(NamespaceKind::Pid),
        device_nodes: plan.devices.nodes.clone(),
        process: loaded.spec.process().clone(),
        hooks: plan.hooks.clone(),
        seccomp: linux.and_then(|l| l.seccomp().clone()),
        no_new_keyring: !plan.process.new_session_keyring,
        personality: linux.and_then(|l| l.personality().clone()),
        memory_policy: linux.and_then(|l| l.memory_policy().clone()),
        creator: state::proc_stat(me).map(|(_, start)| (me, start)),
    }
}

/// Makes the container's cgroup, if it gets one, with its limits and
/// device rules.
fn make_cgroup(
    plan: &Plan,
    st: &mut StateFile,
    dir: &Path,
    cleanup: &mut Cleanup<'_>,
) -> Result<(), Error> {
    let placement = &plan.cgroup.placement;
    let Some(cgroup) = placement.cgroup() else {
        return Ok(());
    };
    // Armed before it exists: a create that fails half-way through
    // making it removes what it made. The state names what was to be
    // made, so a create killed meanwhile leaves it to `delete`.
    cleanup.set_cgroup(cgroup.clone());
    if plan.cgroup.systemd.is_some() {
        // systemd makes it when the unit starts, with stage 1 in it.
        cleanup.set_ownership(placement.ownership.clone());
        return Ok(());
    }
    let mut made = Vec::new();
    let result = cgroup.create(&mut made);
    cleanup.set_ownership(Ownership {
        created: made,
        foreign: placement.ownership.foreign.clone(),
    });
    if st.cgroup_ownership.as_ref() != Some(cleanup.ownership()) {
        // It stopped half-way, or a level appeared meanwhile (which
        // is not ours): the state says what was made.
        st.cgroup_ownership = Some(cleanup.ownership().clone());
        st.save(dir)?;
    }
    result?;
    apply_limits(plan, &cgroup)
}

/// Writes the limits and device rules into the container's cgroup.
fn apply_limits(plan: &Plan, cgroup: &ContainerCgroup) -> Result<(), Error> {
    cgroup.apply_writes(&plan.cgroup.writes)?;
    cgroup.apply_device_rules(&plan.cgroup.device_rules)?;
    Ok(())
}

/// The directory sd_notify proxying mounts in the container (runc's
/// 0755: the container's user reaches the socket `start` binds in it).
fn make_notify_dir(notify: Option<&plan::NotifyPlan>) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let Some(dir) = notify.map(|n| &n.dir) else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(dir)
        .map_err(Error::io("create", dir))?;
    // The umask may have taken bits of it.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(Error::io("chmod", dir))
}

/// Puts stage 1 in the container's cgroup (by systemd: the unit is started
/// with it, and its manager's connection kept for [`apply_after_init`]).
fn place(
    started: &Started,
    plan: &Plan,
    cleanup: &mut Cleanup<'_>,
) -> Result<Option<Manager>, Error> {
    match &plan.cgroup.systemd {
        Some(unit) => started
            .place_by_systemd(unit, cleanup, |cg| apply_limits(plan, cg))
            .map(Some),
        None => started.place_in_cgroup().map(|()| None),
    }
}

/// Writes the limits that count the runtime's own processes, now that the
/// init is the only one (`CgroupPlan::after_init`): systemd's properties
/// first, as `update` does, then the files.
fn apply_after_init(plan: &Plan, manager: Option<Manager>) -> Result<(), Error> {
    let Some(cgroup) = plan.cgroup.placement.cgroup() else {
        return Ok(());
    };
    if let (Some(mut manager), Some(unit)) = (manager, &plan.cgroup.systemd) {
        if !unit.after_init.is_empty() {
            manager.set_properties(&unit.name, &unit.after_init)?;
        }
    }
    Ok(cgroup.apply_writes(&plan.cgroup.after_init)?)
}

/// The exec FIFO, opened read-write for the init to block on until `start`.
fn make_exec_fifo(dir: &Path, launch: &Launch) -> Result<OwnedFd, Error> {
    let fifo_path = dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o600))
        .map_err(Error::sys("mkfifo", fifo_path.clone()))?;
    let fd = nix::fcntl::open(
        &fifo_path,
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(Error::sys("open", fifo_path.clone()))?;
    launch.lift(fd)
}

/// The poststop hooks a create that fails from now on runs, if any.
fn poststop(plan: &Plan, id: &str) -> Option<Poststop> {
    (!plan.hooks.poststop.is_empty()).then(|| Poststop {
        oci_version: plan.oci_version.clone(),
        id: id.to_string(),
        bundle: plan.bundle.clone(),
        annotations: plan.annotations.clone(),
        hooks: plan.hooks.poststop.clone(),
    })
}

/// Records the init in the state at once: a `delete` after a crash from
/// here on finds it by pid as well as by cgroup.
fn record_init(st: &mut StateFile, dir: &Path, init: Pid) -> Result<(), Error> {
    let (_, init_start) = state::proc_stat(init.as_raw()).ok_or(Error::InitDied {
        after: "it was forked",
    })?;
    st.pid = init.as_raw();
    st.start_time = init_start;
    st.save(dir)
}

/// What the init asks of the runtime while it builds the container.
struct CreateRequests<'a> {
    plan: &'a Plan,
    id: &'a str,
    init: Pid,
}

impl<'a> CreateRequests<'a> {
    fn new(plan: &'a Plan, id: &'a str, init: Pid) -> Self {
        CreateRequests { plan, id, init }
    }
}

impl InitRequests for CreateRequests<'_> {
    fn open_mount_source(&mut self, index: usize) -> Result<OwnedFd, String> {
        super::mount_source::open_for_init(self.plan, index, self.init)
    }

    fn run_hooks(&mut self) -> Result<(), Error> {
        stop_point::reached("create:hooks");
        let plan = self.plan;
        let state = HookState {
            oci_version: &plan.oci_version,
            id: self.id,
            status: "creating",
            pid: self.init.as_raw(),
            bundle: &plan.bundle,
            annotations: &plan.annotations,
        };
        for (kind, list) in [
            ("prestart", &plan.hooks.prestart),
            ("createRuntime", &plan.hooks.create_runtime),
        ] {
            hooks::run_all(kind, list, DefaultEnv::Runtime, &state)
                .map_err(|e| Error::Child(e.into()))?;
        }
        Ok(())
    }
}

/// The init is ready: the pid file, then the state says "created".
fn finish(st: &mut StateFile, dir: &Path, pid_file: Option<&Path>) -> Result<(), Error> {
    if !state::init_alive(st) {
        return Err(Error::InitDied { after: "setup" });
    }
    if let Some(path) = pid_file {
        // Before the state says "created": containerd reads the pid file
        // as soon as create returns, and a create that cannot write it
        // fails whole (the cleanup undoes the rest).
        state::write_atomic(path, st.pid.to_string().as_bytes())?;
    }
    st.created = time::rfc3339_nano(std::time::SystemTime::now());
    st.creator = None;
    st.save(dir)
}
