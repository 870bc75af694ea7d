//! `create`: from a bundle to a container waiting for `start`.

use std::cell::RefCell;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::state::{self, DirLock, StateFile, EXEC_FIFO};
use super::{time, Container, Io};
use crate::apply::init::{self, InitContext};
use crate::apply::namespaces::{self, JoinFd};
use crate::cgroups::{ContainerCgroup, Ownership};
use crate::console;
use crate::error::{Chain, Error, FieldError};
use crate::hooks::{self, DefaultEnv, HookFailed, HookState};
use crate::plan::{self, Console, CreateOptions, NamespaceKind, Plan};
use crate::spec::{self, Bundle};
use crate::stop_point;
use crate::sync::{self, FromChild, FromRuntime};
use crate::sys::{self, Forked};

/// Undoes a half-made container when `create` fails: processes, cgroup,
/// state directory, in that order. Mounts need no undoing: they live in the
/// container's mount namespace, which dies with its processes.
struct Cleanup<'w> {
    state_dir: PathBuf,
    cgroup: Option<ContainerCgroup>,
    /// What of the cgroup this create made: all it may remove.
    ownership: Ownership,
    pids: Vec<Pid>,
    /// Set once the container's hooks may run: a create that fails from
    /// there on runs the poststop hooks after undoing the rest.
    poststop: Option<Poststop>,
    /// Where the warnings of failed poststop hooks and of a clean-up step
    /// that failed go: `create` returns them with its error.
    warnings: &'w RefCell<Vec<String>>,
    armed: bool,
}

/// What the poststop hooks of a failed create need. runtime-spec: a failed
/// prestart, createRuntime or createContainer hook continues the lifecycle
/// at step 12 (destroy), and step 13 runs the poststop hooks; runc runs them
/// whenever it destroys a failed create.
struct Poststop {
    oci_version: String,
    id: String,
    bundle: PathBuf,
    annotations: std::collections::BTreeMap<String, String>,
    hooks: Vec<hooks::Hook>,
}

impl Poststop {
    /// Each hook runs even if an earlier one failed; a failure is a warning
    /// (runtime-spec lifecycle step 13: "the runtime MUST log a warning"),
    /// returned in the form `Container::delete` gives its own.
    fn run(&self) -> Vec<String> {
        let state = HookState {
            oci_version: &self.oci_version,
            id: &self.id,
            status: "stopped",
            pid: 0,
            bundle: &self.bundle,
            annotations: &self.annotations,
        };
        (0..self.hooks.len())
            .filter_map(|i| {
                hooks::run_all("poststop", &self.hooks[i..=i], DefaultEnv::Runtime, &state)
                    .err()
                    .map(|e| HookFailed { index: i, ..e }.to_string())
            })
            .collect()
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for pid in &self.pids {
            let _ = nix::sys::signal::kill(*pid, Signal::SIGKILL);
            let _ = waitpid(*pid, None);
        }
        let mut warnings = Vec::new();
        if let Some(cg) = &self.cgroup {
            // The cgroup had no process when it was checked: what is in it
            // now is this create's, including a process whose pid we never
            // learnt; what is in a child cgroup that was there before is not.
            let strays = cg.subtree_pids(&self.ownership).unwrap_or_default();
            match cg.signal_all(Signal::SIGKILL, &self.ownership) {
                Ok(w) => warnings.extend(w),
                Err(e) => warnings.push(format!("killing what is in the cgroup: {}", Chain(&e))),
            }
            // Such a process is a child of ours (forked with CLONE_PARENT):
            // reaped here, or it would stay a zombie of the caller's.
            for pid in strays {
                let _ = waitpid(pid, None);
            }
            warnings.extend(cg.remove(&self.ownership));
        }
        match std::fs::remove_dir_all(&self.state_dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                warnings.push(format!("remove {}: {e}", self.state_dir.display()))
            }
            _ => {}
        }
        self.warnings.borrow_mut().extend(warnings);
        if let Some(p) = &self.poststop {
            self.warnings.borrow_mut().extend(p.run());
        }
    }
}

/// Loads, validates and plans the bundle for this host; nothing is created.
pub fn plan_bundle(bundle: &Path, id: &str, opts: &CreateOptions) -> Result<Plan, Error> {
    plan_loaded(&spec::load_bundle(bundle)?, id, opts)
}

/// Plans a loaded (or in-memory) bundle for this host; nothing is created.
pub(super) fn plan_loaded(loaded: &Bundle, id: &str, opts: &CreateOptions) -> Result<Plan, Error> {
    plan::compile(loaded, id, opts, &super::facts::gather(loaded, id, opts)?)
}

/// What `create` is given besides the plan's options.
pub(super) struct Request<'a> {
    pub(super) id: &'a str,
    pub(super) bundle: Bundle,
    pub(super) io: Io,
    pub(super) pid_file: Option<&'a Path>,
}

/// The fd numbers the runtime's own fds must stay at or above in the
/// child (see `apply/fds.rs`).
fn fd_floor(plan: &Plan) -> RawFd {
    3 + plan.process.preserve_fds as RawFd
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
    super::id::validate_id(id)?;
    let mut opts = opts.clone();
    check_io(&io, &mut opts, has_terminal(&loaded))?;
    let opts = &opts;
    // Plan before touching anything: a bad config leaves nothing behind.
    let plan = match plan::compile(&loaded, id, opts, &super::facts::gather(&loaded, id, opts)?) {
        // A taken id is that error (as in runc, which checks it before the
        // cgroup), even when it is its own container that is in the cgroup.
        Err(Error::CgroupInUse { .. }) if root.join(id).exists() => {
            return Err(Error::AlreadyExists { id: id.to_string() })
        }
        planned => planned?,
    };
    let placement = &plan.cgroup.placement;
    let cgroup = placement.cgroup();
    let floor = fd_floor(&plan);
    let lift = |fd| crate::apply::fds::lift(fd, floor);
    let joins = namespaces::open_joins(&plan.namespaces)?
        .into_iter()
        .map(|j| {
            Ok(JoinFd {
                fd: lift(j.fd)?,
                ..j
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    if let Some((key, path)) = namespaces::sysctl_in_own_namespace(plan.sysctl.keys(), &joins) {
        return Err(FieldError::invalid(
            format!("linux.sysctl.{key:?}"),
            format!(
                "the namespace joined at {path} is the runtime's own: setting it would change the host"
            ),
        )
        .in_file(&loaded.config_path)
        .into());
    }

    let dir = make_state_dir(root, id)?;
    let mut cleanup = Cleanup {
        state_dir: dir.clone(),
        cgroup: None,
        ownership: Ownership::default(),
        pids: Vec::new(),
        poststop: None,
        warnings,
        armed: true,
    };
    let _lock = DirLock::lock(&dir)?;
    let planned = cgroup.as_ref().map(|_| placement.ownership.clone());
    // The state is written before anything else is made, and says who is
    // creating: a `create` killed at any later point leaves a container
    // that `state` and `list` show and `delete` removes (cgroup included).
    let me = nix::unistd::getpid().as_raw();
    let mut st = StateFile {
        oci_version: plan.oci_version.clone(),
        id: id.to_string(),
        pid: 0,
        start_time: 0,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: time::rfc3339_nano(std::time::SystemTime::now()),
        annotations: plan.annotations.clone(),
        cgroup: cgroup.clone(),
        cgroup_ownership: planned.clone(),
        own_pid_namespace: plan.namespaces.creates(NamespaceKind::Pid),
        device_nodes: plan.devices.nodes.clone(),
        process: loaded.spec.process().clone(),
        hooks: plan.hooks.clone(),
        seccomp: loaded
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().clone()),
        creator: state::proc_stat(me).map(|(_, start)| (me, start)),
    };
    st.save(&dir)?;
    stop_point::reached("create:state-saved");

    if let Some(cgroup) = &cgroup {
        // Armed before it exists: a create that fails half-way through
        // making it removes what it made. The state names what was to be
        // made, so a create killed meanwhile leaves it to `delete`.
        cleanup.cgroup = Some(cgroup.clone());
        let mut made = Vec::new();
        let result = cgroup.create(&mut made);
        cleanup.ownership = Ownership {
            created: made,
            foreign: planned
                .as_ref()
                .map(|p| p.foreign.clone())
                .unwrap_or_default(),
        };
        if st.cgroup_ownership.as_ref() != Some(&cleanup.ownership) {
            // It stopped half-way, or a level appeared meanwhile (which
            // is not ours): the state says what was made.
            st.cgroup_ownership = Some(cleanup.ownership.clone());
            st.save(&dir)?;
        }
        result?;
        cgroup.apply_writes(&plan.cgroup.writes)?;
        cgroup.apply_device_rules(&plan.cgroup.device_rules)?;
    }
    stop_point::reached("create:cgroup-made");

    let fifo_path = dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o600))
        .map_err(Error::sys("mkfifo", fifo_path.clone()))?;
    let exec_fifo: OwnedFd = lift(
        nix::fcntl::open(
            &fifo_path,
            nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(Error::sys("open", fifo_path.clone()))?,
    )?;
    stop_point::reached("create:fifo-made");

    // The console socket is connected before forking: its path is on the
    // host, out of reach once the container's root is in place.
    let (console_for_child, relay_end) = match (&opts.console, plan.process.terminal) {
        (_, false) | (Console::None, _) => (None, None),
        (Console::Socket(path), true) => {
            (Some(lift(console::connect_console_socket(path)?)?), None)
        }
        (Console::Relay, true) => {
            let (ours, theirs) = console::private_console_socket()?;
            (Some(lift(theirs)?), Some(ours))
        }
    };

    // Like the console socket, the listener's path is on the host.
    let seccomp_listener = match plan.seccomp.as_ref().and_then(|c| c.listener.as_ref()) {
        Some(l) => Some(lift(crate::apply::seccomp::connect_agent(&l.path)?)?),
        None => None,
    };

    let io = io.prepare()?;
    let child_fds = io.child_fds();
    let (parent_end, child_end) = sync::channel(floor)?;
    let self_join = self_join_files(cgroup.as_ref());
    let view = placement.view();
    let ctx = InitContext {
        fds: &child_fds,
        plan: &plan,
        cgroup: &view,
        self_join: &self_join,
        joins: &joins,
        channel: &child_end,
        runtime_end: parent_end.raw_fd(),
        exec_fifo: &exec_fifo,
        console: console_for_child.as_ref().map(|fd| fd.as_raw_fd()),
        seccomp_listener: seccomp_listener.as_ref().map(|fd| fd.as_raw_fd()),
    };
    if !plan.hooks.poststop.is_empty() {
        cleanup.poststop = Some(Poststop {
            oci_version: plan.oci_version.clone(),
            id: id.to_string(),
            bundle: plan.bundle.clone(),
            annotations: plan.annotations.clone(),
            hooks: plan.hooks.poststop.clone(),
        });
    }
    let stage1 = match sys::fork().map_err(Error::sys("fork", None))? {
        Forked::Child => init::stage1(&ctx),
        Forked::Parent(pid) => pid,
    };
    cleanup.pids.push(stage1);
    stop_point::reached("create:forked");
    // Our copy of the child's end must go, or a dead child would never
    // show as end-of-file.
    drop(child_end);
    drop(console_for_child);
    drop(seccomp_listener);
    // The child has its copies: a pipe given as stdout must end when the
    // container's processes are gone, not when this caller lets go.
    drop(io);

    place_child(cgroup.as_ref(), &self_join, &parent_end, stage1)?;
    stop_point::reached("create:in-cgroup");
    parent_end.send_to_child(FromRuntime::Proceed)?;
    let init_pid = loop {
        match parent_end.recv_from_child()? {
            FromChild::MapIds => {
                namespaces::write_id_maps(stage1, &plan.namespaces)?;
                parent_end.send_to_child(FromRuntime::IdsMapped)?;
            }
            FromChild::InitPid(pid) => break Pid::from_raw(pid),
            FromChild::Failed(e) => return Err(e.into()),
            other => {
                return Err(Error::UnexpectedMessage {
                    expected: "InitPid",
                    received: format!("{other:?}"),
                })
            }
        }
    };
    cleanup.pids.push(init_pid);
    let _ = waitpid(stage1, None);
    cleanup.pids.retain(|p| *p != stage1);
    // Recorded at once: a `delete` after a crash from here on finds the
    // init by pid as well as by cgroup.
    let (_, init_start) = state::proc_stat(init_pid.as_raw()).ok_or(Error::InitDied {
        after: "it was forked",
    })?;
    st.pid = init_pid.as_raw();
    st.start_time = init_start;
    st.save(&dir)?;
    stop_point::reached("create:init-forked");
    loop {
        match parent_end.recv_from_child()? {
            FromChild::Ready => break,
            FromChild::OpenMountSource(index) => {
                let source = super::mount_source::open_for_init(&plan, index, init_pid);
                parent_end.send_mount_source(source)?;
            }
            FromChild::RunHooks => {
                stop_point::reached("create:hooks");
                let state = HookState {
                    oci_version: &plan.oci_version,
                    id,
                    status: "creating",
                    pid: init_pid.as_raw(),
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
                parent_end.send_to_child(FromRuntime::HooksDone)?;
            }
            FromChild::Failed(e) => return Err(e.into()),
            other => {
                return Err(Error::UnexpectedMessage {
                    expected: "Ready",
                    received: format!("{other:?}"),
                })
            }
        }
    }

    stop_point::reached("create:ready");
    let terminal = relay_end
        .map(|fd| console::recv_master(fd.as_raw_fd()))
        .transpose()?
        .map(|(m, _)| m);
    if !state::init_alive(&st) {
        return Err(Error::InitDied { after: "setup" });
    }
    if let Some(path) = pid_file {
        // Before the state says "created": containerd reads the pid file
        // as soon as create returns, and a create that cannot write it
        // fails whole (the cleanup undoes the rest).
        state::write_atomic(path, init_pid.as_raw().to_string().as_bytes())?;
    }
    st.created = time::rfc3339_nano(std::time::SystemTime::now());
    st.creator = None;
    st.save(&dir)?;
    cleanup.armed = false;
    stop_point::reached("create:done");
    Ok(Container {
        dir,
        state: st,
        exec_fifo: Some(exec_fifo),
        terminal,
        warnings: plan.warnings.clone(),
        notes: placement.notes.clone(),
        is_parent: true,
        exit_status: None,
    })
}

/// The files a forked child writes itself into the cgroup with (see
/// `ContainerCgroup::self_join_files`); empty without a cgroup or where the
/// runtime must move the child.
pub(super) fn self_join_files(cgroup: Option<&ContainerCgroup>) -> Vec<PathBuf> {
    cgroup
        .and_then(ContainerCgroup::self_join_files)
        .unwrap_or_default()
}

/// Puts the forked `child` into `cgroup`: waits for the child's word that
/// it moved itself (`self_join` given), or moves it.
pub(super) fn place_child(
    cgroup: Option<&ContainerCgroup>,
    self_join: &[PathBuf],
    channel: &sync::Channel,
    child: Pid,
) -> Result<(), Error> {
    let Some(cgroup) = cgroup else {
        return Ok(());
    };
    if self_join.is_empty() {
        return Ok(cgroup.add_process(child)?);
    }
    match channel.recv_from_child()? {
        FromChild::InCgroup => Ok(()),
        FromChild::Failed(e) => Err(e.into()),
        other => Err(Error::UnexpectedMessage {
            expected: "InCgroup",
            received: format!("{other:?}"),
        }),
    }
}
