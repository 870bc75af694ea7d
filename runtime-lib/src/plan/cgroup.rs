//! Where the container's cgroup goes, and what is written into it.

use std::path::{Component, PathBuf};

use oci_spec::runtime::Spec;
use serde::Serialize;

use super::resources::cgroup_writes;
use super::{CgroupSetting, CreateOptions, HostFacts};
use crate::cgroup_types::{CgroupWrite, DeviceRule, Version};
use crate::error::FieldError;

/// The cgroup part of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupPlan {
    /// `linux.cgroupsPath` as runc reads it: absolute paths are relative to
    /// each hierarchy's root, relative ones to the caller's own cgroup. When
    /// absent, the container id (relative).
    pub path: PathBuf,
    /// The host's cgroup version the writes are for.
    pub version: Version,
    /// Resource limits as file writes, in order.
    pub writes: Vec<CgroupWrite>,
    /// Device access rules, in order. Empty for an unprivileged runtime:
    /// the kernel lets only `CAP_SYS_ADMIN` of the initial user namespace
    /// write v1 `devices.allow` or load a v2 device program, and in a user
    /// namespace `mknod` is refused anyway, so the container has only the
    /// host's nodes the runtime binds in and those its mounts bring.
    pub device_rules: Vec<DeviceRule>,
    /// Rootless: the cgroup is used only where the caller may write it (a
    /// subtree delegated to it); elsewhere the container stays in the
    /// caller's cgroup, and a resource limit there is an error.
    pub optional: bool,
    /// No cgroup is made ([`CgroupSetting::Disabled`]): the container stays
    /// in the caller's cgroups; `writes` and `device_rules` are empty.
    pub disabled: bool,
}

pub(super) fn plan(
    spec: &Spec,
    id: &str,
    host: &HostFacts,
    opts: &CreateOptions,
    device_rules: Vec<DeviceRule>,
) -> Result<CgroupPlan, FieldError> {
    let version = host.cgroup_version;
    if opts.cgroups == CgroupSetting::Disabled {
        return disabled(spec, version, id);
    }
    // A path the caller gives is checked as the config's would be, under
    // the option's name.
    let (field, configured) = match &opts.cgroups {
        CgroupSetting::Path(p) => ("cgroups (CgroupSetting::Path)", Some(p.clone())),
        _ => (
            "linux.cgroupsPath",
            spec.linux()
                .as_ref()
                .and_then(|l| l.cgroups_path().clone())
                .filter(|p| !p.as_os_str().is_empty()),
        ),
    };
    let path = match configured {
        None => PathBuf::from(id),
        Some(p) => {
            if p.components().any(|c| c == Component::ParentDir) {
                return Err(FieldError::invalid(field, "must not contain \"..\""));
            }
            if p.to_string_lossy().contains(':') {
                return Err(FieldError::unsupported(
                    field,
                    "looks like a systemd slice:prefix:name path, but the systemd cgroup driver is not supported",
                ));
            }
            p
        }
    };
    if path
        .components()
        .all(|c| matches!(c, Component::RootDir | Component::CurDir))
    {
        return Err(FieldError::invalid(
            field,
            "must name a cgroup below the root, not the root itself",
        ));
    }
    let writes = match spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        None => Vec::new(),
        Some(r) => cgroup_writes(r, version)?,
    };
    let configured_rules = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.devices().as_ref())
        .is_some_and(|d| !d.is_empty());
    let device_rules = match (host.caller.privileged, configured_rules) {
        (true, _) => device_rules,
        (false, false) => Vec::new(),
        (false, true) => {
            return Err(FieldError::unsupported(
                "linux.resources.devices",
                "device cgroup rules need CAP_SYS_ADMIN in the host's initial user namespace, \
                 which this (rootless) runtime lacks; remove them (a user namespace cannot mknod)",
            ))
        }
    };
    Ok(CgroupPlan {
        path,
        version,
        writes,
        device_rules,
        optional: opts.rootless,
        disabled: false,
    })
}

/// The plan without a cgroup: every limit or device rule of the config is
/// refused, since nothing could enforce it.
fn disabled(spec: &Spec, version: Version, id: &str) -> Result<CgroupPlan, FieldError> {
    let refuse = |field: String| {
        FieldError::unsupported(
            field,
            "cgroups are disabled (CgroupSetting::Disabled): nothing would enforce it; remove \
             it or give the container a cgroup",
        )
    };
    if let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        if r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
            return Err(refuse("linux.resources.devices".into()));
        }
        let writes = cgroup_writes(r, version).map_err(|e| refuse(e.field))?;
        if let Some(w) = writes.first() {
            return Err(refuse(w.field.clone()));
        }
    }
    Ok(CgroupPlan {
        path: PathBuf::from(id),
        version,
        writes: Vec::new(),
        device_rules: Vec::new(),
        optional: false,
        disabled: true,
    })
}
