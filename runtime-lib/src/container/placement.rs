//! Where a container's cgroup goes when it is rootless (the part of it
//! delegated to the caller) or when cgroups are disabled (nowhere), and the
//! refusals that must come before anything is created.

use std::path::{Path, PathBuf};

use crate::cgroups::{delegated_part, ContainerCgroup, Delegated, HostCgroups};
use crate::error::{Error, FieldError};
use crate::plan::{NamespaceKind, Plan};

/// Where a rootless container's cgroup goes: the part delegated to the
/// caller, if any. A limit for a controller it did not get, or no cgroup
/// and no pid namespace of its own (its processes could then not be found
/// again), is refused before anything is created.
pub(super) fn place_cgroup(
    plan: &Plan,
    config: &Path,
    wanted: ContainerCgroup,
    host: &HostCgroups,
    own: &[(String, PathBuf)],
    euid: u32,
) -> Result<Delegated, Error> {
    if plan.cgroup.disabled {
        // The plan refused every limit already; the processes stay in the
        // caller's cgroups, which is what the container's cgroup mount shows.
        if !plan.namespaces.creates(NamespaceKind::Pid) {
            return Err(FieldError::unsupported(
                "linux.namespaces",
                "cgroups are disabled (CgroupSetting::Disabled), so the container needs a new pid \
                 namespace: without either, its processes could not be found to be killed",
            )
            .in_file(config)
            .into());
        }
        return Ok(Delegated {
            cgroup: None,
            view: ContainerCgroup::current(host, own),
            notes: Vec::new(),
        });
    }
    if !plan.cgroup.optional {
        return Ok(Delegated {
            cgroup: Some(wanted.clone()),
            view: wanted,
            notes: Vec::new(),
        });
    }
    let placed = delegated_part(&wanted, &ContainerCgroup::current(host, own));
    let who = crate::rootless::describe_uid(euid);
    // The host (what was delegated) cannot honour it: not a wrong config.
    let refuse = |field: &str, reason: String| {
        Error::from(FieldError::unsupported(field, reason).in_file(config))
    };
    for w in &plan.cgroup.writes {
        if !placed
            .cgroup
            .as_ref()
            .is_some_and(|c| c.can_have(w.controller))
        {
            return Err(refuse(
                &w.field,
                format!(
                    "rootless: no {} cgroup was delegated to {who}, so the limit cannot be applied{}",
                    w.controller,
                    placed
                        .notes
                        .iter()
                        .find(|n| n.contains(w.controller))
                        .or(placed.notes.first())
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    if placed.cgroup.is_none() && !plan.namespaces.creates(NamespaceKind::Pid) {
        return Err(refuse(
            "linux.namespaces",
            format!(
                "rootless: no cgroup was delegated to {who}, so the container needs a new pid \
                 namespace: without either, its processes could not be found to be killed"
            ),
        ));
    }
    Ok(placed)
}
