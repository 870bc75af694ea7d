//! What the plan needs to know of this host, read (and nothing changed)
//! before planning: who the caller is, the host's cgroups, and what is at
//! the directories the container's cgroup would have.

use std::path::Path;

use crate::cgroups::{own_cgroups, ContainerCgroup, HostCgroups};
use crate::error::Error;
use crate::plan::{self, CgroupFacts, CreateOptions, HostFacts};
use crate::rootless::{describe_uid, Caller};
use crate::spec::Bundle;

/// Reads the facts for planning `loaded` as container `id`.
pub(super) fn gather(loaded: &Bundle, id: &str, opts: &CreateOptions) -> Result<HostFacts, Error> {
    let caller = Caller::detect();
    let mounts = HostCgroups::detect()?;
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(Error::io("read", "/proc/self/cgroup"))?;
    let own = own_cgroups(&own);
    let found = match plan::wanted_cgroup(&loaded.spec, id, opts, &mounts, &own) {
        Some(wanted) => wanted.survey(&ContainerCgroup::current(&mounts, &own))?,
        None => Vec::new(),
    };
    Ok(HostFacts {
        caller,
        proc_kcore: Path::new("/proc/kcore").exists(),
        apparmor: apparmor_enabled(),
        cgroups: CgroupFacts {
            user: describe_uid(caller.euid),
            mounts,
            own,
            found,
        },
    })
}

/// Whether the kernel has AppArmor enabled: the module's own switch, which
/// is what makes the kernel accept a profile change. runc's `IsEnabled`
/// also wants securityfs mounted; engines ask it before they set a profile,
/// and runc itself only tries the write.
pub(crate) fn apparmor_enabled() -> bool {
    std::fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|b| b.first() == Some(&b'Y'))
}
