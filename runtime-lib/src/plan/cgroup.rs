//! Where the container's cgroup goes, and what is written into it.

use std::path::{Component, PathBuf};

use oci_spec::runtime::Spec;
use serde::Serialize;

use super::devices::DeviceRule;
use super::Problem;
use crate::cgroups::{self, CgroupWrite, Version};

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
    /// Device access rules, in order.
    pub device_rules: Vec<DeviceRule>,
}

pub(super) fn plan(
    spec: &Spec,
    id: &str,
    version: Version,
    device_rules: Vec<DeviceRule>,
) -> Result<CgroupPlan, Problem> {
    let configured = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().clone())
        .filter(|p| !p.as_os_str().is_empty());
    let path = match configured {
        None => PathBuf::from(id),
        Some(p) => {
            if p.components().any(|c| c == Component::ParentDir) {
                return Err(Problem::new("linux.cgroupsPath", "must not contain \"..\""));
            }
            if p.to_string_lossy().contains(':') {
                return Err(Problem::new(
                    "linux.cgroupsPath",
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
        return Err(Problem::new(
            "linux.cgroupsPath",
            "must name a cgroup below the root, not the root itself",
        ));
    }
    let writes = match spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        None => Vec::new(),
        Some(r) => cgroups::writes(r, version).map_err(|e| Problem::new(e.field, e.reason))?,
    };
    Ok(CgroupPlan {
        path,
        version,
        writes,
        device_rules,
    })
}
