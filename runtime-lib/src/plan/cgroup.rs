//! Where the container's cgroup goes. Resource limits come with issue [2];
//! for now the plan holds the path and the device rules.

use std::path::{Component, PathBuf};

use oci_spec::runtime::Spec;
use serde::Serialize;

use super::devices::DeviceRule;
use super::Problem;

/// The cgroup part of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupPlan {
    /// `linux.cgroupsPath` as runc reads it: absolute paths are relative to
    /// each hierarchy's root, relative ones to the caller's own cgroup. When
    /// absent, the container id (relative).
    pub path: PathBuf,
    /// Device access rules, in order.
    pub device_rules: Vec<DeviceRule>,
}

pub(super) fn plan(
    spec: &Spec,
    id: &str,
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
    Ok(CgroupPlan { path, device_rules })
}
