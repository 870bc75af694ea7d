//! `exec`: a new process in a running container's namespaces and cgroup.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use nix::unistd::Pid;
use oci_spec::runtime::Process;

use super::cleanup::Cleanup;
use super::create::check_io;
use super::launch::{Launch, PidfdSocket};
use super::state::{init_alive, write_atomic};
use super::{facts, Container, Io};
use crate::apply::exec::ExecContext;
use crate::apply::namespaces::JoinFd;
use crate::cgroups::ContainerCgroup;
use crate::error::{Error, FieldError, Status};
use crate::hooks::HookState;
use crate::plan::{
    self, Console, ContainerDefaults, CreateOptions, LsmHost, NamespaceKind, ProcessPlan,
};

/// How to run a process with [`Container::exec`].
#[derive(Debug)]
pub struct ExecOptions {
    /// The process (as in `process.json`).
    pub process: Process,
    /// Its stdio and the fds it gets as 3, 4, ...
    pub io: Io,
    /// `--preserve-fds N`: this process's own fds 3 to 3+N-1 pass as they
    /// are (not with [`Io::fds`]).
    pub preserve_fds: u32,
    /// `--ignore-paused`: run even in a paused container (it starts frozen).
    pub ignore_paused: bool,
    /// `--cgroup`: a sub-cgroup of the container's (`path`, or on v1
    /// `controller:path` for one hierarchy).
    pub sub_cgroup: Option<String>,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// Where the terminal goes when `process.terminal` is true.
    pub console: Console,
    /// `--pidfd-socket PATH`: a unix socket that gets a pidfd of the
    /// process (runc 1.2: the message's data is `setns`).
    pub pidfd_socket: Option<PathBuf>,
}

impl ExecOptions {
    /// Runs `process` with the caller's stdio, no preserved fds, no
    /// terminal unless `process.terminal` (then [`ExecOptions::console`]
    /// must be set).
    pub fn new(process: Process) -> Self {
        ExecOptions {
            process,
            io: Io::default(),
            preserve_fds: 0,
            ignore_paused: false,
            sub_cgroup: None,
            pid_file: None,
            console: Console::None,
            pidfd_socket: None,
        }
    }
}

/// A process started by [`Container::exec`]; this process is its parent.
#[derive(Debug)]
pub struct ExecProcess {
    /// Its pid (in the runtime's pid namespace).
    pub pid: Pid,
    /// The container's id, for errors.
    id: String,
    /// The terminal master kept for relaying (`Console::Relay`).
    terminal: Option<OwnedFd>,
    /// Its exit status, once reaped.
    exit_status: Option<ExitStatus>,
    /// A pidfd of it, opened while it was our unreaped child.
    pidfd: OwnedFd,
}

/// The process's pidfd, opened when it was started (so it is this process,
/// whatever became of its pid): it becomes readable when the process exits,
/// and [`ExecProcess::try_wait`] then returns its status at once. An event
/// loop waits on it instead of blocking a thread in [`ExecProcess::wait`]
/// (tokio: an `AsyncFd` of `process.as_fd()`, awaited for readability, as
/// in `runtime-lib/examples/tokio_wait.rs`). It stays open, and valid, as long
/// as the handle: after the exit too.
impl AsFd for ExecProcess {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }
}

/// Checks the process and the [`Io`], and plans the process;
/// `container`: what it gets from its container.
fn plan_exec(opts: &ExecOptions, container: ContainerDefaults<'_>) -> Result<ProcessPlan, Error> {
    let mut create_opts = CreateOptions {
        preserve_fds: opts.preserve_fds,
        ..CreateOptions::default()
    };
    check_io(
        &opts.io,
        &mut create_opts,
        opts.process.terminal() == Some(true),
    )?;
    crate::spec::check_exec_process(&opts.process)?;
    let own = Some(&opts.process);
    // Read only where a profile or label is asked for, as at create.
    let host = LsmHost {
        apparmor: (facts::asks_profile(own) || facts::asks_profile(container.process))
            && facts::apparmor_enabled(),
        selinux: (facts::asks_process_label(own) || facts::asks_process_label(container.process))
            && facts::selinux_enabled(),
    };
    Ok(plan::plan_exec_process(
        &opts.process,
        create_opts.preserve_fds,
        container,
        host,
    )?)
}

fn ns_inode(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.ino())
}

impl Container {
    /// Starts `opts.process` in the container. It inherits this process's
    /// stdio and is its child: wait for it with [`ExecProcess::wait`], or
    /// await its pidfd ([`AsFd`]).
    pub fn exec(&self, opts: ExecOptions) -> Result<ExecProcess, Error> {
        match self.status() {
            Status::Running | Status::Created => {}
            Status::Paused if opts.ignore_paused => {}
            s => return Err(self.wrong("exec in", s)),
        }
        let mut plan = plan_exec(
            &opts,
            ContainerDefaults {
                process: self.config_process(),
                personality: self.state.personality.as_ref(),
                memory_policy: self.state.memory_policy.as_ref(),
            },
        )?;
        // Into the container's session keyring, as runc's exec does.
        plan.new_session_keyring = !self.state.no_new_keyring;
        let mut launch = Launch::new(plan.preserve_fds);
        launch.join_namespaces(self.open_namespaces()?)?;
        let cgroup = self.exec_cgroup(opts.sub_cgroup.as_deref())?;
        let joins_user = launch.joins().iter().any(|j| j.kind == NamespaceKind::User);
        let filter = match &self.state.seccomp {
            Some(s) => Some(plan::compile_seccomp(s)?),
            None => None,
        };
        launch.connect_seccomp_listener(filter.as_ref())?;
        let pidfd_socket = PidfdSocket::connect(opts.pidfd_socket.as_deref())?;
        if plan.terminal {
            if let Console::None = opts.console {
                return Err(FieldError::invalid(
                    "terminal",
                    "a terminal needs --console-socket (or a foreground exec)",
                )
                .into());
            }
            launch.connect_console(&opts.console)?;
        }
        let io = opts.io.prepare()?;
        let st = &self.state;
        let ctx = ExecContext {
            process: &plan,
            joins_user,
            seccomp: filter.as_ref(),
            state: HookState {
                oci_version: &st.oci_version,
                id: &st.id,
                status: "running",
                pid: 0,
                bundle: &st.bundle,
                annotations: &st.annotations,
            },
        };
        let mut cleanup = Cleanup::processes();
        let started = launch.fork(io, cgroup, &mut cleanup, &ctx)?;
        match (&self.state.systemd_unit, &self.state.systemd_user) {
            (Some(unit), Some(user)) => started.place_by_user_manager(unit, user)?,
            _ => started.place_in_cgroup()?,
        }
        let pid = started.wait_for_pid(&mut cleanup)?;
        // Now, while the process is our unreaped child: the pid is surely its.
        let pidfd = super::pidfd::of_child(pid)?;
        pidfd_socket.send(pidfd.as_fd(), "setns")?;
        started.channel.wait_for_exec()?;
        if let Some(path) = &opts.pid_file {
            write_atomic(path, pid.as_raw().to_string().as_bytes())?;
        }
        let terminal = started.terminal()?;
        cleanup.disarm();
        Ok(ExecProcess {
            pid,
            id: self.state.id.clone(),
            terminal,
            exit_status: None,
            pidfd,
        })
    }

    /// Opens the init's namespaces that differ from ours, checking after
    /// opening that the init is still the same process (pid reuse).
    fn open_namespaces(&self) -> Result<Vec<JoinFd>, Error> {
        let pid = self.state.pid;
        let mut joins = Vec::new();
        for kind in NamespaceKind::ALL {
            let theirs = PathBuf::from(format!("/proc/{pid}/ns/{}", kind.proc_name()));
            let ours = PathBuf::from(format!("/proc/self/ns/{}", kind.proc_name()));
            match (ns_inode(&theirs), ns_inode(&ours)) {
                (Some(a), Some(b)) if a == b => continue,
                (None, None) => continue,
                _ => {}
            }
            let fd = nix::fcntl::open(
                &theirs,
                nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(Error::sys("open namespace", theirs.clone()))?;
            joins.push(JoinFd {
                kind,
                fd,
                path: theirs.display().to_string(),
            });
        }
        if !init_alive(&self.state) {
            return Err(self.wrong("exec in", Status::Stopped));
        }
        Ok(joins)
    }

    /// The cgroup the process joins: the container's (`None`: it has none,
    /// rootless, and the process stays in ours as the init did).
    fn exec_cgroup(&self, sub: Option<&str>) -> Result<Option<ContainerCgroup>, Error> {
        let Some(sub) = sub else {
            return Ok(self.state.cgroup.clone());
        };
        let cgroup = self.own_cgroup("exec --cgroup in")?;
        let (only, path) = match sub.split_once(':') {
            Some((ctrl, p)) => (Some(ctrl), p),
            None => (None, sub),
        };
        let rel = Path::new(path.trim_start_matches('/'));
        if rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(Error::Usage(format!(
                "--cgroup {sub:?}: must be a path below the container's cgroup"
            )));
        }
        Ok(Some(match cgroup {
            ContainerCgroup::V2 { dir } => ContainerCgroup::V2 { dir: dir.join(rel) },
            ContainerCgroup::V1 { dirs } => ContainerCgroup::V1 {
                dirs: dirs
                    .iter()
                    .map(|(n, d)| {
                        let hit = only.is_none_or(|c| n.split(',').any(|x| x == c));
                        (n.clone(), if hit { d.join(rel) } else { d.clone() })
                    })
                    .collect(),
            },
        }))
    }
}

impl ExecProcess {
    /// Waits for the process to exit and returns its exit status, leaving
    /// signals alone (an event loop awaits its pidfd, [`AsFd`], instead,
    /// then calls [`ExecProcess::try_wait`]). Once reaped, the status is
    /// kept.
    pub fn wait(&mut self) -> Result<ExitStatus, Error> {
        if let Some(s) = self.exit_status {
            return Ok(s);
        }
        let status = super::run::wait_child(self.pid, true)?;
        self.exit_status = status;
        status.ok_or_else(|| Error::NotChild {
            id: self.id.clone(),
            what: format!("process {}", self.pid),
        })
    }

    /// Like [`ExecProcess::wait`] without blocking: `None` while it runs.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Error> {
        if self.exit_status.is_none() {
            self.exit_status = super::run::wait_child(self.pid, false)?;
        }
        Ok(self.exit_status)
    }

    /// The terminal's master when the process has a terminal and the
    /// console was [`Console::Relay`]; `None` otherwise, or once taken.
    pub fn take_terminal(&mut self) -> Option<OwnedFd> {
        self.terminal.take()
    }

    /// For a foreground command line (`cella exec`): waits for the process,
    /// forwarding signals to it (block them first with
    /// [`super::block_forwarded_signals`]) and relaying its terminal if the
    /// runtime kept it; returns its exit code as a shell reports it.
    pub fn wait_forwarding_signals(&mut self) -> Result<i32, Error> {
        let status = match &self.terminal {
            Some(master) => super::run::relay_terminal(self.pid, master),
            None => super::run::wait_forwarding(self.pid),
        }?;
        self.exit_status = Some(status);
        Ok(super::run::shell_code(status))
    }
}
