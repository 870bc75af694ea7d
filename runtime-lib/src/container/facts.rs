//! What the plan needs to know of this host, read (and nothing changed)
//! before planning: who the caller is, the host's cgroups, and what is at
//! the directories the container's cgroup would have.

use std::path::{Component, Path, PathBuf};

use crate::cgroups::systemd::Manager;
use crate::cgroups::{own_cgroups, ContainerCgroup, HostCgroups};
use crate::dbus::DbusError;
use crate::error::{Chain, Error};
use crate::plan::SystemdUserFacts;
use crate::plan::{
    self, CgroupDriver, CgroupFacts, CgroupSetting, CreateOptions, HostFacts, LsmHost,
};
use crate::rootless::{describe_uid, outer_id, Caller};
use crate::spec::Bundle;

/// Reads the facts for planning `loaded` as container `id`, whose state
/// goes to `state_dir` (when a runtime plans it).
pub(super) fn gather(
    loaded: &Bundle,
    id: &str,
    opts: &CreateOptions,
    state_dir: Option<PathBuf>,
) -> Result<HostFacts, Error> {
    let caller = Caller::detect();
    let mounts = HostCgroups::detect()?;
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(Error::io("read", "/proc/self/cgroup"))?;
    let own = own_cgroups(&own);
    let systemd_user = (opts.cgroup_driver == CgroupDriver::Systemd
        && opts.rootless
        && opts.cgroups != CgroupSetting::Disabled)
        .then(|| systemd_user(&mounts, &own, caller.euid));
    let user = systemd_user
        .as_ref()
        .and_then(|u| u.as_ref().ok())
        .map(|u| &u.manager);
    let found = match plan::wanted_cgroup(&loaded.spec, id, opts, &mounts, &own, user) {
        Some(wanted) => wanted.survey(&ContainerCgroup::current(&mounts, &own))?,
        None => Vec::new(),
    };
    Ok(HostFacts {
        caller,
        proc_kcore: Path::new("/proc/kcore").exists(),
        // Only a profile or a label consults the host: no reads on the path
        // of every create.
        lsm: LsmHost {
            apparmor: asks_profile(loaded.spec.process().as_ref()) && apparmor_enabled(),
            selinux: asks_label(&loaded.spec) && selinux_enabled(),
        },
        cgroups: CgroupFacts {
            user: describe_uid(caller.euid),
            mounts,
            own,
            found,
            systemd_user,
        },
        state_dir,
    })
}

/// The user's systemd manager, found as runc finds it: its session bus
/// from the environment, authenticated as the host's uid of `euid`, and
/// its cgroup and delegated controllers. Why not, naming the bus.
fn systemd_user(
    mounts: &HostCgroups,
    own: &[(String, PathBuf)],
    euid: u32,
) -> Result<SystemdUserFacts, String> {
    let env = |k| std::env::var(k).ok();
    let address = crate::dbus::session_address(
        env("DBUS_SESSION_BUS_ADDRESS").as_deref(),
        env("XDG_RUNTIME_DIR").as_deref(),
        |p| p.exists(),
    )?;
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let uid = outer_id(&map, euid).unwrap_or(euid);
    let manager = Manager::user_manager(&address, uid).map_err(|e| match e {
        DbusError::Connect { .. } => Chain(&e).to_string(),
        _ => format!("the session bus at {address} (as uid {uid}): {}", Chain(&e)),
    })?;
    let cg = &manager.control_group;
    if cg.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "the manager at {address} gives {} as its cgroup: \"..\" is not a cgroup path",
            cg.display()
        ));
    }
    let controllers = match ContainerCgroup::resolve(mounts, own, cg) {
        ContainerCgroup::V2 { dir } => {
            let file = dir.join("cgroup.controllers");
            std::fs::read_to_string(&file)
                .map_err(|e| format!("read {}: {e}", file.display()))?
                .split_whitespace()
                .map(str::to_string)
                .collect()
        }
        // The plan refuses the driver on a v1 host.
        ContainerCgroup::V1 { .. } => Vec::new(),
    };
    Ok(SystemdUserFacts {
        manager,
        controllers,
    })
}

/// Whether `p` names an AppArmor profile (an empty name is none).
pub(super) fn asks_profile(p: Option<&oci_spec::runtime::Process>) -> bool {
    p.and_then(|p| p.apparmor_profile().as_deref())
        .is_some_and(|n| !n.is_empty())
}

/// Whether the kernel has AppArmor enabled: the module's own switch, which
/// is what makes the kernel accept a profile change. runc's `IsEnabled`
/// also wants securityfs mounted; engines ask it before they set a profile,
/// and runc itself only tries the write.
pub(crate) fn apparmor_enabled() -> bool {
    std::fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|b| b.first() == Some(&b'Y'))
}

/// Whether `p` names an SELinux label (an empty one is none).
pub(super) fn asks_process_label(p: Option<&oci_spec::runtime::Process>) -> bool {
    p.and_then(|p| p.selinux_label().as_deref())
        .is_some_and(|l| !l.is_empty())
}

/// Whether `spec` names an SELinux label for its process or its mounts.
fn asks_label(spec: &oci_spec::runtime::Spec) -> bool {
    let mount_label = spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().as_deref());
    asks_process_label(spec.process().as_ref()) || mount_label.is_some_and(|l| !l.is_empty())
}

/// Whether SELinux is enabled, as runc's `GetEnabled` decides it: selinuxfs
/// is mounted (at `/sys/fs/selinux`, where systemd and libselinux put it)
/// and a policy is loaded (before one is, every task's context is
/// `kernel`, and the kernel refuses any other).
pub(crate) fn selinux_enabled() -> bool {
    const SELINUX_MAGIC: u32 = 0xf97c_ff8c;
    // The magic is 32 bits; the field's type differs between libcs.
    let mounted = nix::sys::statfs::statfs("/sys/fs/selinux")
        .is_ok_and(|s| s.filesystem_type().0 as u32 == SELINUX_MAGIC);
    mounted
        && std::fs::read("/proc/thread-self/attr/current")
            .is_ok_and(|c| c.split(|&b| b == 0 || b == b'\n').next() != Some(b"kernel"))
}
