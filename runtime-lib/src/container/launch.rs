//! Starting a container's process, create's init or exec's process, the
//! runtime's side: what stage 1 inherits (the namespaces to join, the
//! console, the seccomp listener, the channel, the process's stdio), all
//! numbered above the range the process fills; the fork of stage 1; its
//! placement in the cgroup; and the pid of the process it forks. The child's
//! side is `apply/stage1.rs`; a [`Cleanup`] undoes a launch that fails.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::cleanup::Cleanup;
use crate::apply::fds::ChildFds;
use crate::apply::namespaces::{self, JoinFd};
use crate::apply::stage1::{self, Inherited, Kept, Stage1};
use crate::cgroup_types::{SystemdUnit, UserManager};
use crate::cgroups::systemd::Manager;
use crate::cgroups::ContainerCgroup;
use crate::console;
use crate::error::Error;
use crate::plan::{Console, NamespacePlan};
use crate::seccomp::Compiled;
use crate::sync::{self, RuntimeSide};
use crate::sys::{self, Forked};

/// The `--pidfd-socket` connection: it gets a pidfd of the started process
/// (runc 1.2's protocol: one `SCM_RIGHTS` message whose data is `standard`
/// for an init, `setns` for an exec'd process). runc's process opens and
/// sends its own; here the runtime does, for its child (no other process
/// can reap it, so the pid cannot be reused in between).
pub(super) struct PidfdSocket(Option<OwnedFd>);

impl PidfdSocket {
    /// Connects to `path`, before anything is started: its path is on the
    /// host.
    pub(super) fn connect(path: Option<&std::path::Path>) -> Result<Self, Error> {
        path.map(|p| console::connect_unix(p, "connect to pidfd socket"))
            .transpose()
            .map(PidfdSocket)
    }

    /// Sends `pidfd` (the handle's own, opened when the process was
    /// forked), tagged `kind`, and closes the connection.
    pub(super) fn send(self, pidfd: BorrowedFd<'_>, kind: &str) -> Result<(), Error> {
        let Some(socket) = self.0 else {
            return Ok(());
        };
        console::send_fd(std::os::fd::AsFd::as_fd(&socket), pidfd, kind.as_bytes())
            .map_err(Error::sys("send pidfd over the pidfd socket", None))
    }
}

/// What stage 1 will inherit, gathered before the fork.
pub(super) struct Launch {
    /// The lowest number the runtime's own fds may have in the child: its
    /// stdio and preserved fds are below (see `apply/fds.rs`).
    floor: RawFd,
    joins: Vec<JoinFd>,
    /// The console socket the process sends its terminal's master to.
    console: Option<OwnedFd>,
    /// The other end of that socket when it is the runtime's own
    /// (`Console::Relay`).
    relay: Option<OwnedFd>,
    seccomp_listener: Option<OwnedFd>,
}

impl Launch {
    /// For a process whose fds from 3 to `3 + preserve_fds - 1` are its own.
    pub(super) fn new(preserve_fds: u32) -> Launch {
        Launch {
            floor: 3 + preserve_fds as RawFd,
            joins: Vec::new(),
            console: None,
            relay: None,
            seccomp_listener: None,
        }
    }

    /// `fd`, numbered at the floor or above.
    pub(super) fn lift(&self, fd: OwnedFd) -> Result<OwnedFd, Error> {
        crate::apply::fds::lift(fd, self.floor)
    }

    /// Stage 1 joins these namespaces.
    pub(super) fn join_namespaces(&mut self, joins: Vec<JoinFd>) -> Result<(), Error> {
        self.joins = joins
            .into_iter()
            .map(|j| {
                Ok(JoinFd {
                    fd: self.lift(j.fd)?,
                    ..j
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(())
    }

    /// The namespaces stage 1 joins.
    pub(super) fn joins(&self) -> &[JoinFd] {
        &self.joins
    }

    /// Where the process's terminal goes. The console socket is connected
    /// before forking: its path is on the host, out of reach once the
    /// container's root is in place.
    pub(super) fn connect_console(&mut self, console: &Console) -> Result<(), Error> {
        match console {
            Console::None => {}
            Console::Socket(path) => {
                self.console = Some(self.lift(console::connect_console_socket(path)?)?);
            }
            Console::Relay => {
                let (ours, theirs) = console::private_console_socket()?;
                self.console = Some(self.lift(theirs)?);
                self.relay = Some(ours);
            }
        }
        Ok(())
    }

    /// The seccomp agent's socket, when `filter` has a listener: like the
    /// console socket, its path is on the host.
    pub(super) fn connect_seccomp_listener(
        &mut self,
        filter: Option<&Compiled>,
    ) -> Result<(), Error> {
        if let Some(l) = filter.and_then(|c| c.listener.as_ref()) {
            let socket = crate::apply::seccomp::connect_agent(&l.path)?;
            self.seccomp_listener = Some(self.lift(socket)?);
        }
        Ok(())
    }

    /// Forks stage 1, which runs `kind`'s steps with `io` as the process's
    /// stdio and preserved fds; then drops this process's copies of what
    /// the child inherited. Stage 1 goes to `cleanup`.
    pub(super) fn fork(
        self,
        io: ChildFds,
        cgroup: Option<ContainerCgroup>,
        cleanup: &mut Cleanup<'_>,
        kind: &impl Stage1,
    ) -> Result<Started, Error> {
        let Launch {
            floor,
            joins,
            console,
            relay,
            seccomp_listener,
        } = self;
        let (runtime_end, channel) = sync::channel(floor)?;
        let self_join = cgroup
            .as_ref()
            .and_then(ContainerCgroup::self_join_files)
            .unwrap_or_default();
        let moves_itself = !self_join.is_empty();
        let inherited = Inherited {
            runtime_end,
            channel,
            io,
            joins,
            self_join,
            kept: Kept {
                console,
                seccomp_listener,
            },
        };
        // SAFETY: the child runs `stage1::run`, which meets `sys::fork`'s
        // contract: it ends with `execve` or `exit_now` (a panic included,
        // caught there), starts no thread, takes no lock but the
        // environment's that spawning a hook takes (the crate's "Fork
        // safety" rules), and uses only the values given to it here and
        // those they borrow; every fd of its values was numbered at
        // `floor` or above, and it keeps them all when it closes the rest
        // (`fds::close_all_except`) and places the process's fds below
        // `floor` (`ChildFds::place`).
        #[allow(unsafe_code)]
        let forked = unsafe { sys::fork() }.map_err(Error::sys("fork", None))?;
        let stage1 = match forked {
            Forked::Child(child) => stage1::run(kind, inherited, child),
            Forked::Parent(pid) => pid,
        };
        cleanup.add_process(stage1);
        // Our copies of the child's ends go: a dead child must show as end
        // of file, and a pipe given as stdout must end when the container's
        // processes are gone, not when this caller lets go.
        let Inherited { runtime_end, .. } = inherited;
        Ok(Started {
            stage1,
            channel: runtime_end,
            relay,
            cgroup,
            moves_itself,
        })
    }
}

/// A forked stage 1, seen from the runtime.
pub(super) struct Started {
    stage1: Pid,
    /// The runtime's end of the channel to stage 1 and the process.
    pub(super) channel: RuntimeSide,
    relay: Option<OwnedFd>,
    cgroup: Option<ContainerCgroup>,
    /// Whether stage 1 writes itself into the cgroup (see
    /// `ContainerCgroup::self_join_files`).
    moves_itself: bool,
}

impl Started {
    /// Puts stage 1 into the cgroup and lets it go on: waits for its word
    /// that it moved itself (it goes on by itself then, sparing a round
    /// trip), or moves it and says "Proceed".
    pub(super) fn place_in_cgroup(&self) -> Result<(), Error> {
        match &self.cgroup {
            Some(_) if self.moves_itself => return self.channel.wait_until_in_cgroup(),
            Some(cgroup) => cgroup.add_process(self.stage1)?,
            None => {}
        }
        self.channel.proceed()
    }

    /// Puts stage 1 into the container's unit of the user's manager (a
    /// rootless `exec`) and lets it go on. The runtime may not move it
    /// itself when it runs outside the manager's cgroup (a login session's
    /// scope: the common ancestor is root's), so the manager does, asking
    /// the system's in turn, which is done after its answer: waited for.
    pub(super) fn place_by_user_manager(
        &self,
        unit: &str,
        user: &UserManager,
    ) -> Result<(), Error> {
        if let Some(cgroup) = &self.cgroup {
            Manager::connect(unit, Some(user))?.attach(unit, self.stage1)?;
            crate::cgroups::systemd::wait_until_in(cgroup, self.stage1, unit)?;
        }
        self.channel.proceed()
    }

    /// Asks systemd to start the container's unit with stage 1 in it
    /// (systemd makes the cgroup), applies `limits` to that cgroup, and
    /// lets stage 1 go on.
    /// Once connected, the unit goes to `cleanup`: a start that fails
    /// half-way may leave it.
    pub(super) fn place_by_systemd(
        &self,
        unit: &SystemdUnit,
        cleanup: &mut Cleanup<'_>,
        limits: impl FnOnce(&ContainerCgroup) -> Result<(), Error>,
    ) -> Result<Manager, Error> {
        let mut manager = Manager::connect(&unit.name, unit.user.as_ref())?;
        cleanup.set_systemd_unit(unit.name.clone(), unit.user.clone());
        manager.start(unit, self.stage1)?;
        if let Some(cgroup) = &self.cgroup {
            // A user's manager cannot move a process out of a cgroup it
            // does not own (the caller's): it asks the system's manager,
            // and its job is done before that move is. Stage 1 makes its
            // cgroup namespace where it is, so it must be in first.
            crate::cgroups::systemd::wait_until_in(cgroup, self.stage1, &unit.name)?;
            cgroup.enable_controllers_above();
            limits(cgroup)?;
        }
        self.channel.proceed()?;
        Ok(manager)
    }

    /// Writes the id maps of the user namespace stage 1 makes, when it
    /// asks.
    pub(super) fn map_ids(&self, plan: &NamespacePlan) -> Result<(), Error> {
        self.channel
            .map_ids_when_asked(|| namespaces::write_id_maps(self.stage1, plan))
    }

    /// The pid of the process stage 1 forked; that process goes to
    /// `cleanup`, and stage 1, whose part is done, is reaped.
    pub(super) fn wait_for_pid(&self, cleanup: &mut Cleanup<'_>) -> Result<Pid, Error> {
        let pid = self.channel.wait_for_pid()?;
        cleanup.add_process(pid);
        let _ = waitpid(self.stage1, None);
        cleanup.forget_process(self.stage1);
        Ok(pid)
    }

    /// The terminal's master, when the runtime relays it (`Console::Relay`).
    pub(super) fn terminal(&self) -> Result<Option<OwnedFd>, Error> {
        self.relay
            .as_ref()
            .map(|fd| console::recv_master(fd.as_raw_fd()))
            .transpose()
            .map(|m| m.map(|(master, _)| master))
    }
}
