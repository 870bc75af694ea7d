//! Undoing a launch that failed half-way: one guard for `create` and
//! `exec`, which undoes what it was told of when it drops still armed.

use std::cell::RefCell;
use std::path::PathBuf;

use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::cgroup_types::UserManager;
use crate::cgroups::{ContainerCgroup, Ownership};
use crate::error::Chain;
use crate::hooks::{self, DefaultEnv, HookFailed, HookState};

/// Undoes a half-made launch when dropped armed: the network devices it
/// moved into the container (back to the host), processes, then (for
/// `create`) the cgroup and the state directory, in that order, then the
/// poststop hooks. Mounts need no undoing: they live in the container's
/// mount namespace, which dies with its processes.
pub(super) struct Cleanup<'w> {
    /// The processes started so far, killed and reaped.
    pids: Vec<Pid>,
    /// The container's state directory (`create`).
    state_dir: Option<PathBuf>,
    cgroup: Option<ContainerCgroup>,
    /// The systemd unit the cgroup is (the systemd cgroup driver): stopped.
    systemd_unit: Option<(String, Option<UserManager>)>,
    /// What of the cgroup this create made: all it may remove.
    ownership: Ownership,
    /// `linux.netDevices` moved so far: moved back before the container's
    /// processes (and so its network namespace) die.
    net_devices: Option<super::net_devices::MovedDevices>,
    /// Set once the container's hooks may run: a create that fails from
    /// there on runs the poststop hooks after undoing the rest.
    poststop: Option<Poststop>,
    /// Where the warnings of failed poststop hooks and of a clean-up step
    /// that failed go: `create` returns them with its error.
    warnings: Option<&'w RefCell<Vec<String>>>,
    armed: bool,
}

/// What the poststop hooks of a failed create need. runtime-spec: a failed
/// prestart, createRuntime or createContainer hook continues the lifecycle
/// at step 12 (destroy), and step 13 runs the poststop hooks; runc runs them
/// whenever it destroys a failed create.
pub(super) struct Poststop {
    pub(super) oci_version: String,
    pub(super) id: String,
    pub(super) bundle: PathBuf,
    pub(super) annotations: std::collections::BTreeMap<String, String>,
    pub(super) hooks: Vec<hooks::Hook>,
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

impl<'w> Cleanup<'w> {
    /// For `exec`: the processes it starts.
    pub(super) fn processes() -> Self {
        Cleanup::new(None, None)
    }

    /// For `create`: its processes, and the state directory `state_dir`
    /// just made; the warnings of the undoing go to `warnings`.
    pub(super) fn container(state_dir: PathBuf, warnings: &'w RefCell<Vec<String>>) -> Self {
        Cleanup::new(Some(state_dir), Some(warnings))
    }

    fn new(state_dir: Option<PathBuf>, warnings: Option<&'w RefCell<Vec<String>>>) -> Self {
        Cleanup {
            pids: Vec::new(),
            state_dir,
            cgroup: None,
            systemd_unit: None,
            ownership: Ownership::default(),
            net_devices: None,
            poststop: None,
            warnings,
            armed: true,
        }
    }

    /// A process started: killed and reaped if the launch fails.
    pub(super) fn add_process(&mut self, pid: Pid) {
        self.pids.push(pid);
    }

    /// A process that exited and was reaped.
    pub(super) fn forget_process(&mut self, pid: Pid) {
        self.pids.retain(|p| *p != pid);
    }

    /// The container's cgroup, made (or about to be) by this create.
    pub(super) fn set_cgroup(&mut self, cgroup: ContainerCgroup) {
        self.cgroup = Some(cgroup);
    }

    /// The systemd unit the cgroup is, started (or about to be) by this
    /// create.
    pub(super) fn set_systemd_unit(&mut self, name: String, user: Option<UserManager>) {
        self.systemd_unit = Some((name, user));
    }

    /// What of the cgroup this create made.
    pub(super) fn set_ownership(&mut self, ownership: Ownership) {
        self.ownership = ownership;
    }

    /// What of the cgroup this create made, as last set.
    pub(super) fn ownership(&self) -> &Ownership {
        &self.ownership
    }

    /// The poststop hooks to run if the create fails from now on.
    /// Where `linux.netDevices` records what it moved.
    pub(super) fn net_devices(&mut self) -> &mut Option<super::net_devices::MovedDevices> {
        &mut self.net_devices
    }

    pub(super) fn set_poststop(&mut self, poststop: Option<Poststop>) {
        self.poststop = poststop;
    }

    /// The launch succeeded: nothing is undone.
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }

    /// Kills what is in the cgroup and removes what this create made of
    /// it; the warnings of what failed.
    fn undo_cgroup(&self, cg: &ContainerCgroup) -> Vec<String> {
        let mut warnings = Vec::new();
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
        if let Some((name, user)) = &self.systemd_unit {
            warnings.extend(stop_unit(name, user.as_ref()));
        }
        warnings.extend(cg.remove(&self.ownership));
        warnings
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut warnings = Vec::new();
        if let Some(moved) = &self.net_devices {
            warnings.extend(moved.undo());
        }
        for pid in &self.pids {
            let _ = nix::sys::signal::kill(*pid, Signal::SIGKILL);
            let _ = waitpid(*pid, None);
        }
        if let Some(cg) = &self.cgroup {
            warnings.extend(self.undo_cgroup(cg));
        }
        if let Some(dir) = &self.state_dir {
            match std::fs::remove_dir_all(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    warnings.push(format!("remove {}: {e}", dir.display()))
                }
                _ => {}
            }
        }
        if let Some(p) = &self.poststop {
            warnings.extend(p.run());
        }
        if let Some(sink) = self.warnings {
            sink.borrow_mut().extend(warnings);
        }
    }
}

/// Stops a container's systemd unit; what failed, as a warning.
pub(super) fn stop_unit(name: &str, user: Option<&UserManager>) -> Option<String> {
    crate::cgroups::systemd::Manager::connect(name, user)
        .and_then(|mut m| m.stop(name))
        .err()
        .map(|e| Chain(&e).to_string())
}
