//! The process `exec` runs when given a command line rather than a whole
//! `process.json`: the container's own process, amended (runc's `exec`
//! flags).

use std::path::PathBuf;

use oci_spec::runtime::{Capabilities, Capability, Process};

use super::Container;

/// What to change in the container's process for [`Container::exec`]
/// (runc's `exec` flags); what is not set stays as in the config. Turn it
/// into a process with [`Container::process_with`].
#[derive(Clone, Debug, Default)]
pub struct ProcessOverrides {
    /// The command and its arguments (required).
    pub args: Vec<String>,
    /// The working directory.
    pub cwd: Option<PathBuf>,
    /// `KEY=value` entries added to the environment.
    pub env: Vec<String>,
    /// The uid, and the gid if given.
    pub user: Option<(u32, Option<u32>)>,
    /// Supplementary groups (replacing the config's).
    pub additional_gids: Vec<u32>,
    /// Capabilities added to the bounding, effective and permitted sets.
    pub capabilities: Vec<Capability>,
    /// Sets `noNewPrivileges`.
    pub no_new_privileges: bool,
    /// Gives the process a terminal.
    pub terminal: bool,
    /// An AppArmor profile (refused on a host without AppArmor, as by runc).
    pub apparmor_profile: Option<String>,
    /// An SELinux label (refused on a host without SELinux).
    pub selinux_label: Option<String>,
}

impl Container {
    /// The config's process, which [`ProcessOverrides`] amend.
    pub fn config_process(&self) -> Option<&Process> {
        self.state.process.as_ref()
    }

    /// The container's process with `o` applied, for [`Container::exec`]
    /// (which checks it as `create` checks a config's).
    pub fn process_with(&self, o: &ProcessOverrides) -> Process {
        let mut p = self.config_process().cloned().unwrap_or_default();
        p.set_args(Some(o.args.clone()));
        p.set_terminal(Some(o.terminal));
        if let Some(cwd) = &o.cwd {
            p.set_cwd(cwd.clone());
        }
        if !o.env.is_empty() {
            let mut env = p.env().clone().unwrap_or_default();
            env.extend(o.env.iter().cloned());
            p.set_env(Some(env));
        }
        if let Some((uid, gid)) = o.user {
            let user = p.user_mut();
            user.set_uid(uid);
            if let Some(g) = gid {
                user.set_gid(g);
            }
        }
        if !o.additional_gids.is_empty() {
            p.user_mut()
                .set_additional_gids(Some(o.additional_gids.clone()));
        }
        if !o.capabilities.is_empty() {
            let mut caps = p.capabilities().clone().unwrap_or_default();
            let add = |s: &Option<Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.extend(o.capabilities.iter().copied());
                Some(s)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
            p.set_capabilities(Some(caps));
        }
        if o.no_new_privileges {
            p.set_no_new_privileges(Some(true));
        }
        if o.apparmor_profile.is_some() {
            p.set_apparmor_profile(o.apparmor_profile.clone());
        }
        if o.selinux_label.is_some() {
            p.set_selinux_label(o.selinux_label.clone());
        }
        p
    }
}
