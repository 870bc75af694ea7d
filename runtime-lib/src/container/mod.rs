//! The public API: create containers from bundles and drive their lifecycle
//! (`start`, `state`, `kill`, `delete`), as runc's commands do.

mod builder;
mod cgroup_ops;
mod cleanup;
mod create;
mod exec;
mod facts;
mod id;
mod idmap_userns;
mod launch;
mod mount_source;
mod net_devices;
mod notify;
mod pid_namespace;
mod pidfd;
mod process_overrides;
mod run;
mod state;
mod stdio;
mod time;

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

pub use builder::ContainerBuilder;
pub use cgroup_ops::Event;
pub use create::plan_bundle;
pub use exec::{ExecOptions, ExecProcess};
pub use id::validate_id;
pub use notify::NotifyProxy;
pub use process_overrides::ProcessOverrides;
pub use run::become_subreaper;
pub use state::{OciState, StateFile};
pub use stdio::{Io, Stdio};
pub use time::rfc3339_nano;

use crate::cgroups::{ContainerCgroup, Ownership};
use crate::error::{Chain, Error, Status, Step};
use crate::plan::CreateOptions;
use crate::sys;
use state::{DirLock, EXEC_FIFO};

/// Parses a container's state file as every command reads it and computes
/// the OCI state `state` would print for it (status from the process it
/// names). For tests and the fuzz targets: no input makes it panic.
pub fn parse_state(bytes: &[u8]) -> Result<OciState, Error> {
    let path = PathBuf::from("/nonexistent/state.json");
    let state = state::StateFile::parse(bytes, path)?;
    Ok(Container::loaded(PathBuf::from("/nonexistent"), state).oci_state())
}

/// A runtime with its state directory (runc's `--root`).
#[derive(Clone, Debug)]
pub struct Runtime {
    root: PathBuf,
}

/// The default state directory.
pub const DEFAULT_ROOT: &str = "/run/cella";

impl Runtime {
    /// A runtime keeping its state under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Runtime { root: root.into() }
    }

    /// The state directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates container `id` from `bundle`: namespaces, rootfs and cgroup
    /// are set up and the init waits for [`Container::start`]. The init
    /// inherits this process's stdin, stdout and stderr. For the other
    /// options (stdio, an in-memory spec, a pid file) see
    /// [`Runtime::builder`].
    pub fn create(
        &self,
        id: &str,
        bundle: &Path,
        opts: &CreateOptions,
    ) -> Result<Container, Error> {
        create::create(&self.root, builder::bundle_request(id, bundle)?, opts)
    }

    /// Deletes container `id` (see [`Container::delete`]). With `force`, a
    /// container that does not exist is not an error, and what a `create`
    /// killed before it wrote any state left (an empty directory) is
    /// removed. Returns the warnings of failed poststop hooks.
    pub fn delete(&self, id: &str, force: bool) -> Result<Vec<String>, Error> {
        match self.load(id) {
            Ok(c) => c.delete(force),
            Err(Error::NotFound { .. }) if force => match self.remove_stateless(id) {
                // A create finished meanwhile: delete what it made.
                Err(Error::AlreadyExists { .. }) => self.load(id)?.delete(true),
                r => r.map(|_| Vec::new()),
            },
            Err(e) => Err(e),
        }
    }

    /// Loads an existing container.
    pub fn load(&self, id: &str) -> Result<Container, Error> {
        validate_id(id)?;
        let dir = self.root.join(id);
        match state::StateFile::load(&dir)? {
            Some(st) => Ok(Container::loaded(dir, st)),
            None => Err(Error::NotFound { id: id.to_string() }),
        }
    }

    /// Removes what a `create` killed before writing any state left: the
    /// directory `<root>/<id>` without a state file (after waiting for the
    /// container's lock, so a `create` still at work is never disturbed).
    /// Nothing else exists at that point. Returns whether there was one.
    pub fn remove_stateless(&self, id: &str) -> Result<bool, Error> {
        validate_id(id)?;
        let dir = self.root.join(id);
        let _lock = match DirLock::lock(&dir) {
            Err(Error::Io { ref source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(false)
            }
            r => r?,
        };
        if state::StateFile::load(&dir)?.is_some() {
            return Err(Error::AlreadyExists { id: id.to_string() });
        }
        std::fs::remove_dir_all(&dir).map_err(Error::io("remove", &dir))?;
        Ok(true)
    }

    /// All containers under the root, sorted by id. Directories without a
    /// state (a `create` in progress) are skipped.
    pub fn list(&self) -> Result<Vec<Container>, Error> {
        let entries = match std::fs::read_dir(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            r => r.map_err(Error::io("read", &self.root))?,
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids.iter().filter_map(|id| self.load(id).ok()).collect())
    }
}

/// A container known to the runtime.
pub struct Container {
    dir: PathBuf,
    state: StateFile,
    /// The exec FIFO, held open by the process that created the container.
    exec_fifo: Option<OwnedFd>,
    /// Whether this process is the init's parent (it created it), and so
    /// can wait for it.
    is_parent: bool,
    /// The terminal master kept for relaying (`Console::Relay`).
    terminal: Option<OwnedFd>,
    /// What `create` skipped and the caller should hear of.
    warnings: Vec<String>,
    /// What `create` decided that only `--debug` shows (a rootless
    /// container's cgroups that were not delegated).
    notes: Vec<String>,
    /// The init's exit status, once this process (its parent) reaped it.
    exit_status: Option<ExitStatus>,
    /// A pidfd of the init: opened by `create` while the init was its
    /// unreaped child, or by [`Container::pidfd`] for a loaded container
    /// (after checking the start time). Never another process than the one
    /// the state names, whatever becomes of its pid.
    pidfd: OnceLock<OwnedFd>,
}

impl Container {
    /// A container read from its state by a process that did not create it.
    fn loaded(dir: PathBuf, state: StateFile) -> Self {
        Container {
            dir,
            state,
            exec_fifo: None,
            is_parent: false,
            terminal: None,
            warnings: Vec::new(),
            notes: Vec::new(),
            exit_status: None,
            pidfd: OnceLock::new(),
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.state.id
    }

    /// The init's pid (in the runtime's pid namespace).
    pub fn pid(&self) -> i32 {
        self.state.pid
    }

    /// What `create` skipped (unknown syscall names of the seccomp
    /// profile), for the caller to report.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What `create` decided and a debug log should show: the cgroup
    /// directories a rootless container did not get, and why.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The stored state.
    pub fn state_file(&self) -> &StateFile {
        &self.state
    }

    /// The current status, computed from the process and the cgroup, never
    /// from a stored field.
    pub fn status(&self) -> Status {
        if self.state.creator.is_some() {
            // A create that died left this state: whatever it made is
            // for `delete` to remove, nothing in it will ever start.
            return if state::still_creating(&self.state) {
                Status::Creating
            } else {
                Status::Stopped
            };
        }
        if !state::init_alive(&self.state) {
            Status::Stopped
        } else if self.dir.join(EXEC_FIFO).exists() {
            Status::Created
        } else if self.state.cgroup.as_ref().is_some_and(|c| c.is_frozen()) {
            Status::Paused
        } else {
            Status::Running
        }
    }

    /// The OCI state (with runc's extra fields).
    pub fn oci_state(&self) -> OciState {
        let status = self.status();
        let owner = std::fs::metadata(&self.dir).map(|m| m.uid()).unwrap_or(0);
        OciState {
            oci_version: self.state.oci_version.clone(),
            id: self.state.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.state.pid
            },
            status,
            bundle: self.state.bundle.clone(),
            rootfs: self.state.rootfs.clone(),
            created: self.state.created.clone(),
            owner: state::user_name(owner),
            annotations: self.state.annotations.clone(),
        }
    }

    /// Writes the init's pid to `path` (atomically, as containerd reads it).
    pub fn write_pid_file(&self, path: &Path) -> Result<(), Error> {
        state::write_atomic(path, self.state.pid.to_string().as_bytes())
    }

    /// Takes the container's lock, then reads its state again: the command
    /// we may have waited for (a `create` finishing or dying, a `delete`)
    /// changed it.
    fn lock_and_reload(&mut self) -> Result<DirLock, Error> {
        let lock = DirLock::lock(&self.dir).map_err(|e| match e {
            Error::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::NotFound {
                    id: self.state.id.clone(),
                }
            }
            e => e,
        })?;
        match state::StateFile::load(&self.dir)? {
            Some(st) => {
                if (st.pid, st.start_time) != (self.state.pid, self.state.start_time) {
                    // Another container under the same id (or one whose
                    // create finished since we loaded it): not our pidfd's.
                    self.pidfd = OnceLock::new();
                }
                self.state = st;
            }
            None => {
                return Err(Error::NotFound {
                    id: self.state.id.clone(),
                })
            }
        }
        // A create still named in the state cannot be at work: we hold its
        // lock. It died, and may still be exiting (its lock goes before its
        // process does): wait for that, so the state reads as stopped.
        if let Some((pid, start)) = self.state.creator {
            pidfd::wait_gone(pid, start, Duration::from_secs(10));
        }
        Ok(lock)
    }

    fn wrong(&self, op: &'static str, status: Status) -> Error {
        Error::WrongState {
            id: self.state.id.clone(),
            op,
            status,
        }
    }

    /// Lets the init execute the container's program, then runs the
    /// poststart hooks. A failing one fails `start` and stops the container
    /// (runtime-spec 1.3, runtime.md step 9; runc does the same): the
    /// container is then `stopped`, and `delete` runs the poststop hooks.
    pub fn start(&mut self) -> Result<(), Error> {
        let _lock = self.lock_and_reload()?;
        let status = self.status();
        if status != Status::Created {
            return Err(self.wrong("start", status));
        }
        self.release_init()?;
        self.run_poststart()
    }

    /// Lets the init go on to `execve` through the exec FIFO, and waits
    /// until the program runs; an error if a startContainer hook failed.
    fn release_init(&mut self) -> Result<(), Error> {
        let fifo_path = self.dir.join(EXEC_FIFO);
        let open = |flags| {
            nix::fcntl::open(
                &fifo_path,
                flags | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(Error::sys("open exec fifo", fifo_path.clone()))
        };
        // Our reader is opened before our writer: Linux reports POLLHUP on
        // a FIFO reader once no writer is left *and* one connected after the
        // reader did. The last writer is then the init's close-on-exec fd,
        // so POLLHUP means "the container's program runs" and `start`
        // returns only then (as runc's does).
        let reader = open(nix::fcntl::OFlag::O_RDONLY)?;
        drop(self.exec_fifo.take());
        let mut writer = std::fs::File::from(open(nix::fcntl::OFlag::O_WRONLY)?);
        writer
            .write_all(&[0])
            .map_err(Error::io("write", &fifo_path))?;
        drop(writer);
        std::fs::remove_file(&fifo_path).map_err(Error::io("remove", &fifo_path))?;
        // After the hangup the init has consumed our byte; one left behind is its word that a
        // startContainer hook failed and the program will not run (runtime-spec: start MUST
        // then fail). Without a hangup (an init slow to be scheduled, on a loaded machine) the
        // byte in the FIFO may still be ours: reading it would take it from the init, which
        // would then wait for ever.
        let mut buf = [0u8; 1];
        if wait_for_hangup(&reader, Duration::from_secs(10))
            && nix::unistd::read(&reader, &mut buf) == Ok(1)
            && buf[0] == crate::apply::init::START_FAILED
        {
            return Err(Error::Child(crate::error::ChildError::other(
                Step::RunStartContainerHooks,
                self.state.id.clone(),
                "a hook failed; the container's program did not run",
            )));
        }
        Ok(())
    }

    /// The poststart hooks, in order, stopping at the first that fails;
    /// then the container is killed, and waited for (up to 10 s) so that
    /// `start` returns with it stopped.
    fn run_poststart(&self) -> Result<(), Error> {
        let list = &self.state.hooks.poststart;
        if list.is_empty() {
            return Ok(());
        }
        let state = self.hook_state("running");
        let Err(failed) =
            crate::hooks::run_all("poststart", list, crate::hooks::DefaultEnv::Runtime, &state)
        else {
            return Ok(());
        };
        // Without a pid namespace of its own, `kill` reaches every process.
        let _ = self.kill(Signal::SIGKILL, false);
        self.wait_init_gone(Duration::from_secs(10));
        Err(Error::Child(failed.into()))
    }

    /// The state hooks are given, with `status`.
    fn hook_state(&self, status: &'static str) -> crate::hooks::HookState<'_> {
        crate::hooks::HookState {
            oci_version: &self.state.oci_version,
            id: &self.state.id,
            status,
            pid: if status == "stopped" {
                0
            } else {
                self.state.pid
            },
            bundle: &self.state.bundle,
            annotations: &self.state.annotations,
        }
    }

    /// Runs the poststop hooks; their failures are warnings (runtime-spec:
    /// they do not stop the lifecycle).
    fn run_poststop_hooks(&self) -> Vec<String> {
        let list = &self.state.hooks.poststop;
        let state = self.hook_state("stopped");
        // Each hook runs even if an earlier one failed.
        (0..list.len())
            .filter_map(|i| {
                crate::hooks::run_all(
                    "poststop",
                    &list[i..=i],
                    crate::hooks::DefaultEnv::Runtime,
                    &state,
                )
                .err()
                .map(|e| crate::hooks::HookFailed { index: i, ..e }.to_string())
            })
            .collect()
    }

    /// Sends `signal` to the init, or with `all` to every process of the
    /// container. Without a pid namespace of its own, SIGKILL to the init
    /// would leave the rest running, so it goes to every process anyway (as
    /// runc 1.2 does). Returns the processes that could not be signalled.
    ///
    /// On a stopped container `all` only suppresses the error, as in runc
    /// 1.2+ (`kill.go` ignores `ErrNotRunning` with `--all`; runc 1.1
    /// signalled whatever was in the cgroup): nothing of the container is
    /// left to signal, except, without a pid namespace of its own, processes
    /// left in its cgroup, which SIGKILL still reaches (runc's
    /// `Container.Signal`).
    pub fn kill(&self, signal: Signal, all: bool) -> Result<Vec<String>, Error> {
        let status = self.status();
        if (status == Status::Stopped && !all) || status == Status::Creating {
            return Err(self.wrong("kill", status));
        }
        let everyone = signal == Signal::SIGKILL && !self.state.own_pid_namespace;
        if status == Status::Stopped {
            return match everyone {
                true => self.signal_all(signal),
                false => Ok(Vec::new()),
            };
        }
        if all || everyone {
            return self.signal_all(signal);
        }
        self.signal_init(signal).map(|()| Vec::new())
    }

    /// Signals the init through the handle's pidfd (see
    /// [`Container::pidfd`]), so a recycled pid is never hit.
    fn signal_init(&self, signal: Signal) -> Result<(), Error> {
        let pidfd = self.pidfd()?;
        if !state::init_alive(&self.state) {
            return Ok(());
        }
        sys::pidfd_send_signal(pidfd, signal as i32).map_err(Error::sys("kill", None))
    }

    /// Deletes the container: its processes (`force` is needed unless it
    /// is stopped), its cgroup and its state, then runs the poststop
    /// hooks, whose failures are returned as warnings. Idempotent after a
    /// crash.
    pub fn delete(mut self, force: bool) -> Result<Vec<String>, Error> {
        let _lock = match self.lock_and_reload() {
            // Deleted by the command we waited for.
            Err(Error::NotFound { .. }) => return Ok(Vec::new()),
            r => r?,
        };
        let status = self.status();
        // runtime-spec: deleting a container that is not stopped MUST fail
        // and leave it alone. runc and crun kill a created one anyway;
        // engines pass --force (podman, CRI-O) or kill first (containerd).
        match status {
            Status::Stopped => {}
            Status::Created | Status::Running | Status::Paused if force => {}
            _ => return Err(self.wrong("delete", status)),
        }
        let failed_create = self.state.creator.is_some();
        let mut warnings = Vec::new();
        if status != Status::Stopped {
            if let (Status::Paused, Some(cg)) = (status, &self.state.cgroup) {
                if let Err(e) = cg.set_frozen(false) {
                    warnings.push(format!(
                        "thawing the container before killing it: {}",
                        Chain(&e)
                    ));
                }
            }
            self.kill_init(&mut warnings);
        }
        if self.is_parent && self.exit_status.is_none() && !state::init_alive(&self.state) {
            // Our child: reaped here, or it would stay a zombie of the
            // caller's (nobody can wait for it once the container is gone).
            let _ = run::wait_child(nix::unistd::Pid::from_raw(self.state.pid), false);
        }
        // With a pid namespace of its own, the container's processes died
        // with its init. Without one, what is left in its cgroup goes too
        // (runc's destroy); and so does what a create that died left there
        // (its cgroup was empty when it was checked).
        if failed_create || !self.state.own_pid_namespace {
            if let Some(cg) = &self.state.cgroup {
                match cg.signal_all(Signal::SIGKILL, &self.ownership(cg)) {
                    Ok(w) => warnings.extend(w),
                    Err(e) => {
                        warnings.push(format!("killing what is left in the cgroup: {}", Chain(&e)))
                    }
                }
            }
        }
        if failed_create && state::init_alive(&self.state) {
            // Normally gone with the rest of its cgroup above; by pid too,
            // so that it goes even if its cgroup could not be used.
            self.kill_init(&mut warnings);
        }
        if let Some(name) = &self.state.systemd_unit {
            warnings.extend(cleanup::stop_unit(name, self.state.systemd_user.as_ref()));
        }
        if let Some(cg) = &self.state.cgroup {
            warnings.extend(cg.remove(&self.ownership(cg)));
        }
        std::fs::remove_dir_all(&self.dir).map_err(Error::io("remove", &self.dir))?;
        if !failed_create {
            // A failed create's hooks never ran to the end: poststop is
            // for containers that were created.
            warnings.extend(self.run_poststop_hooks());
        }
        Ok(warnings)
    }

    /// SIGKILL to the init, and a wait of up to 10 s for it to go; a
    /// failure is a warning (the cgroup's removal then says what is left).
    fn kill_init(&self, warnings: &mut Vec<String>) {
        let result = self.signal_init(Signal::SIGKILL);
        self.wait_init_gone(Duration::from_secs(10));
        if state::init_alive(&self.state) {
            let why = result
                .err()
                .map(|e| format!(": {}", Chain(&e)))
                .unwrap_or_default();
            warnings.push(format!(
                "the init (pid {}) is still alive 10 s after SIGKILL{why}",
                self.state.pid
            ));
        }
    }

    /// Which of the cgroup's directories are the container's.
    fn ownership(&self, cg: &ContainerCgroup) -> Ownership {
        self.state
            .cgroup_ownership
            .clone()
            .unwrap_or_else(|| Ownership::assumed(cg))
    }

    /// The container's own cgroup, for an operation that needs one.
    fn own_cgroup(&self, op: &'static str) -> Result<&ContainerCgroup, Error> {
        self.state.cgroup.as_ref().ok_or_else(|| Error::NoCgroup {
            id: self.state.id.clone(),
            op,
        })
    }

    /// Every process of the container: those in its cgroup, or, for a
    /// rootless container without one, those in its pid namespace.
    pub fn processes(&self) -> Result<Vec<nix::unistd::Pid>, Error> {
        match &self.state.cgroup {
            Some(cg) => Ok(cg.pids()?),
            None => Ok(self
                .pid_namespace()
                .map_or_else(Vec::new, |ns| pid_namespace::members(&ns, None))),
        }
    }

    /// The init's pid namespace while the init is the recorded process.
    fn pid_namespace(&self) -> Option<PathBuf> {
        pid_namespace::of_process(self.state.pid, self.state.start_time)
    }

    /// Signals every process of the container; returns those it failed to.
    ///
    /// With a pid namespace of its own, the container's processes are those
    /// of its init's namespace: a process in its cgroup outside it was put
    /// there by someone else and is left alone. SIGKILL then needs only the
    /// init (killing a namespace's init kills the namespace); another
    /// signal goes to each member found in the cgroup (frozen meanwhile,
    /// so none forks away), or, without a cgroup, in `/proc`. Without a pid
    /// namespace of its own, every process in the cgroup but in the
    /// directories that existed before it (an adopted cgroup's children) is
    /// the container's, as for runc.
    fn signal_all(&self, signal: Signal) -> Result<Vec<String>, Error> {
        let cgroup = self.state.cgroup.as_ref();
        if !self.state.own_pid_namespace {
            return match cgroup {
                Some(cg) => Ok(cg.signal_all(signal, &self.ownership(cg))?),
                // `create` refuses a container with neither.
                None => Ok(Vec::new()),
            };
        }
        let Some(ns) = self.pid_namespace() else {
            // The init is gone, and every process of its namespace with it.
            return Ok(Vec::new());
        };
        if signal == Signal::SIGKILL {
            return self.signal_init(signal).map(|()| Vec::new());
        }
        match cgroup {
            Some(cg) => {
                let own = self.ownership(cg);
                let signalled = cg.while_frozen(|| {
                    let pids = cg.subtree_pids(&own)?;
                    Ok::<_, crate::cgroups::CgroupError>(pid_namespace::signal_members(
                        &ns,
                        Some(pids),
                        signal,
                    ))
                })?;
                Ok(signalled?)
            }
            None => Ok(pid_namespace::signal_members(&ns, None, signal)),
        }
    }

    /// Waits up to `limit` for the init to exit (at once if it is gone).
    fn wait_init_gone(&self, limit: Duration) {
        if let Ok(fd) = self.pidfd() {
            crate::ready::process_exit(fd, limit);
        }
    }

    /// A pidfd of the init, for an event loop to wait on: it becomes
    /// readable when the init exits, and [`Container::try_wait`] then
    /// returns the exit status at once (tokio: an `AsyncFd` of it, awaited
    /// for readability, as in `runtime-lib/examples/tokio_wait.rs`).
    ///
    /// It always refers to the init this handle is about, never to a
    /// process that reused its pid: a container made by this process has
    /// one from `create` on (opened while the init was its unreaped child,
    /// so this never fails); a loaded one opens it on the first call,
    /// checking the process's start time against the state's after the
    /// open. That fails with [`Error::WrongState`] when the init is gone
    /// (exited and reaped by its parent, or a `create` that died before
    /// forking it): there is nothing to wait for. An init that exited and
    /// was not reaped yet still has one, readable at once. The fd is the
    /// handle's and lives as long as it; a caller that needs its own can
    /// [`BorrowedFd::try_clone_to_owned`] it.
    pub fn pidfd(&self) -> Result<BorrowedFd<'_>, Error> {
        if self.pidfd.get().is_none() {
            if let Some(fd) = pidfd::of_recorded(self.state.pid, self.state.start_time)? {
                // Another thread may have opened one meanwhile: both are
                // the init's, whichever is kept.
                let _ = self.pidfd.set(fd);
            }
        }
        self.pidfd
            .get()
            .map(AsFd::as_fd)
            .ok_or_else(|| self.wrong("open a pidfd of", self.status()))
    }

    /// Waits for the init to exit and returns its exit status; only the
    /// process that created the container is its parent and can
    /// ([`Error::NotChild`] otherwise). Signals are left alone; it only
    /// blocks this thread (an event loop awaits [`Container::pidfd`]
    /// instead, then calls [`Container::try_wait`]). Once reaped, the
    /// status is kept: later calls return it again.
    pub fn wait(&mut self) -> Result<ExitStatus, Error> {
        self.wait_inner(true)
            .map(|s| s.expect("a blocking wait returns a status"))
    }

    /// Like [`Container::wait`] without blocking: `None` while the init
    /// runs.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Error> {
        self.wait_inner(false)
    }

    fn wait_inner(&mut self, block: bool) -> Result<Option<ExitStatus>, Error> {
        if let Some(s) = self.exit_status {
            return Ok(Some(s));
        }
        if !self.is_parent {
            return Err(Error::NotChild {
                id: self.state.id.clone(),
                what: "the init".into(),
            });
        }
        let status = run::wait_child(nix::unistd::Pid::from_raw(self.state.pid), block)?;
        self.exit_status = status;
        Ok(status)
    }

    /// The terminal's master, kept by the runtime for a `process.terminal`
    /// container created with [`plan::Console::Relay`](crate::plan::Console::Relay):
    /// the caller reads the container's output from it and writes its
    /// input. `None` otherwise, or once taken.
    pub fn take_terminal(&mut self) -> Option<OwnedFd> {
        self.terminal.take()
    }

    /// For a foreground command line (`cella run`): waits for the init
    /// (only from the process that created the container), forwarding every
    /// catchable signal to it, and relays the terminal to this process's
    /// stdio if the runtime kept it; returns the exit code as a shell
    /// reports it (128+signal when killed). The signals must have been
    /// blocked before `create` with [`block_forwarded_signals`]: this
    /// takes them from a signalfd, which only a single-threaded program
    /// (or one that blocked them in every thread) can rely on.
    pub fn wait_forwarding_signals(&mut self) -> Result<i32, Error> {
        if !self.is_parent {
            return Err(Error::NotChild {
                id: self.state.id.clone(),
                what: "the init".into(),
            });
        }
        let pid = nix::unistd::Pid::from_raw(self.state.pid);
        let status = match &self.terminal {
            Some(master) => run::relay_terminal(pid, master),
            None => run::wait_forwarding(pid),
        }?;
        self.exit_status = Some(status);
        Ok(run::shell_code(status))
    }
}

/// Blocks the signals `run` forwards, before `create`, so none is lost
/// between creating and waiting (the init unblocks them before exec).
pub fn block_forwarded_signals() -> Result<(), Error> {
    run::block_signals()
}

/// Waits until `fd` (a FIFO's read end) reports a hangup (true), or `limit` passes (false).
///
/// Our own byte keeps the FIFO readable until the init reads it, so a level-triggered poll
/// would return at once, again and again. Edge-triggered epoll reports that readiness once,
/// and then wakes only on a new event: the init's hangup (its close-on-exec end goes at
/// `execve`) or a byte it writes, with no sleep in between.
fn wait_for_hangup(fd: &OwnedFd, limit: Duration) -> bool {
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
    let deadline = Instant::now() + limit;
    let Ok(epoll) = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC) else {
        return false;
    };
    if epoll
        .add(
            fd,
            EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLET, 0),
        )
        .is_err()
    {
        return false;
    }
    let mut events = [EpollEvent::empty()];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ms = u16::try_from(left.as_millis().min(1000)).unwrap_or(1000);
        match epoll.wait(&mut events, EpollTimeout::from(ms)) {
            Ok(1) if events[0].events().contains(EpollFlags::EPOLLHUP) => return true,
            // A byte came (ours at first, or the init's), or nothing yet: wait for the next edge.
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}
