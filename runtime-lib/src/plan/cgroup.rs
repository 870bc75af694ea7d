//! Where the container's cgroup goes, and what is written into it.
//!
//! The path and the limits come from the config. Where the container goes
//! in each hierarchy (a directory it makes, an empty one it adopts, or the
//! caller's own) and what is refused (a cgroup someone else's processes are
//! in, a frozen one, a limit for a controller that was not delegated) is
//! decided from facts read from the host before planning
//! ([`CgroupFacts`]), so that `cella plan` shows it and refuses what
//! `create` would.

use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::Serialize;

use super::resources::cgroup_writes;
use super::{systemd, CgroupDriver, CgroupSetting, CreateOptions, HostFacts, Refusal};
use crate::cgroup_types::{
    CgroupWrite, ContainerCgroup, DeviceRule, Found, HostCgroups, Ownership, SystemdUnit,
    UserManager, Version,
};
use crate::error::{FieldError, InUse};

/// The cgroup part of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupPlan {
    /// `linux.cgroupsPath` as runc reads it: absolute paths are relative to
    /// each hierarchy's root, relative ones to the caller's own cgroup (on
    /// cgroup v2 to its parent: the caller's has processes). When absent,
    /// the container id (relative).
    pub path: PathBuf,
    /// The host's cgroup version the writes are for.
    pub version: Version,
    /// Resource limits as file writes, in order.
    pub writes: Vec<CgroupWrite>,
    /// The limits that count the runtime's own processes (`pids.max`),
    /// written once the init is forked and stage 1, which forked it, is
    /// gone, before the init goes on (runc sets every limit after its init
    /// exists): while the init is forked, stage 1 and the init are both in
    /// the cgroup, so that a limit of 1 (runtime-spec 1.3's `pids.limit` 0,
    /// which runc writes as 1) would fail the fork.
    pub after_init: Vec<CgroupWrite>,
    /// Device access rules, in order. Empty for an unprivileged runtime:
    /// the kernel lets only `CAP_SYS_ADMIN` of the initial user namespace
    /// write v1 `devices.allow` or load a v2 device program, and in a user
    /// namespace `mknod` is refused anyway, so the container has only the
    /// host's nodes the runtime binds in and those its mounts bring.
    pub device_rules: Vec<DeviceRule>,
    /// Whether the container must have its cgroup, has it only where it
    /// was delegated (rootless), or has none.
    pub mode: CgroupMode,
    /// Where its processes go, hierarchy by hierarchy.
    pub placement: CgroupPlacement,
    /// The transient unit systemd makes the cgroup as (the systemd cgroup
    /// driver), or `None`: the runtime makes it.
    pub systemd: Option<SystemdUnit>,
}

/// Whether a container gets a cgroup of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CgroupMode {
    /// It gets its cgroup in every hierarchy; one that cannot be made is an
    /// error.
    Required,
    /// Rootless: it gets its cgroup only where the caller may write it (a
    /// subtree delegated to it); elsewhere it stays in the caller's
    /// cgroup, and a resource limit there is refused.
    WhereDelegated,
    /// No cgroup ([`CgroupSetting::Disabled`]): it stays in the caller's
    /// cgroups; `writes` and `device_rules` are empty.
    Disabled,
}

/// Where a container's processes go: one directory per hierarchy (one on
/// cgroup v2), and how the container gets each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupPlacement {
    /// The directories, in the order of the host's hierarchies.
    pub dirs: Vec<PlacedDir>,
    /// Whether the host has cgroup v2 only (one directory), rather than v1
    /// hierarchies (and a hybrid host's cgroup2 tree, named `""`).
    pub unified: bool,
    /// Of the container's own directories, those `create` makes (it may
    /// remove them) and those below them that were there before (never
    /// its own).
    pub ownership: Ownership,
    /// Why a directory is not the container's own (rootless), for
    /// `--debug`.
    pub notes: Vec<String>,
}

/// One hierarchy's directory of a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlacedDir {
    /// The hierarchy's name as `/proc/self/cgroup` spells it (`memory`,
    /// `cpu,cpuacct`; `""` for a cgroup2 tree).
    pub hierarchy: String,
    /// The directory the container's processes are in.
    #[serde(serialize_with = "crate::path_json::lossy")]
    pub dir: PathBuf,
    /// How the container gets it.
    #[serde(rename = "use")]
    pub how: CgroupUse,
}

/// How a container gets a directory of its cgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupUse {
    /// `create` makes it (and the levels above it that are missing).
    Create,
    /// It exists and is empty: the container takes it (as runc does), but
    /// not what is below it.
    Adopt,
    /// The container has none of its own there: its processes stay in the
    /// caller's cgroup (cgroups disabled, or rootless and not delegated).
    Caller,
    /// systemd makes it, as the container's transient unit; the slices
    /// above it are systemd's.
    Systemd,
}

impl CgroupPlacement {
    /// The container's own cgroup: the directories it makes or adopts
    /// (`None`: it has none).
    pub fn cgroup(&self) -> Option<ContainerCgroup> {
        self.layout(|d| d.how != CgroupUse::Caller)
    }

    /// Every directory its processes are in: what its `cgroup` mount shows.
    pub fn view(&self) -> ContainerCgroup {
        self.layout(|_| true)
            .unwrap_or(ContainerCgroup::V1 { dirs: Vec::new() })
    }

    fn layout(&self, pick: impl Fn(&PlacedDir) -> bool) -> Option<ContainerCgroup> {
        let mut dirs = self.dirs.iter().filter(|d| pick(d)).peekable();
        dirs.peek()?;
        Some(match self.unified {
            true => ContainerCgroup::V2 {
                dir: dirs.next()?.dir.clone(),
            },
            false => ContainerCgroup::V1 {
                dirs: dirs.map(|d| (d.hierarchy.clone(), d.dir.clone())).collect(),
            },
        })
    }
}

/// What the host's cgroups are like, read before planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupFacts {
    /// The host's cgroup mounts.
    pub mounts: HostCgroups,
    /// The caller's own cgroups (`/proc/self/cgroup`): `(hierarchy, path)`.
    pub own: Vec<(String, PathBuf)>,
    /// What is at each directory the container would have
    /// ([`wanted_cgroup`]); a directory not listed counts as missing, with
    /// nothing in it ([`Found::absent`]).
    pub found: Vec<Found>,
    /// The caller as messages name it (`uid 1000 (101000 on the host)`).
    pub user: String,
    /// The user's systemd manager, looked up for a rootless runtime with
    /// the systemd driver only, or why it could not be reached (naming
    /// the bus address).
    pub systemd_user: Option<Result<SystemdUserFacts, String>>,
}

/// The user's systemd manager, as a rootless runtime's systemd driver
/// uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemdUserFacts {
    /// How to reach it and where its cgroup is.
    pub manager: UserManager,
    /// The controllers delegated to it (its cgroup's
    /// `cgroup.controllers`): what its units can have.
    pub controllers: Vec<String>,
}

impl CgroupFacts {
    fn found(&self, dir: &Path) -> Found {
        self.found
            .iter()
            .find(|f| f.dir == dir)
            .cloned()
            .unwrap_or_else(|| Found::absent(dir))
    }
}

/// The directories a container would have on a host with these mounts,
/// for a caller in the `own` cgroups: what to read the facts of before
/// planning. `None` when it gets no cgroup, or the path is refused (the
/// plan says why).
pub fn wanted_cgroup(
    spec: &Spec,
    id: &str,
    opts: &CreateOptions,
    mounts: &HostCgroups,
    own: &[(String, PathBuf)],
    user: Option<&UserManager>,
) -> Option<ContainerCgroup> {
    if opts.cgroups == CgroupSetting::Disabled {
        return None;
    }
    let path = match opts.cgroup_driver {
        CgroupDriver::Cgroupfs => configured_path(spec, id, opts).ok()?.1,
        CgroupDriver::Systemd => {
            let user = user.filter(|_| opts.rootless);
            systemd::cgroup_path(&systemd_unit(spec, id, opts, user).ok()?)
        }
    };
    Some(ContainerCgroup::resolve(mounts, own, &path))
}

/// The cgroup plan before it is placed: what the config asks for.
pub(super) struct Limits {
    path: PathBuf,
    /// What chose the path, as errors name it.
    field: &'static str,
    version: Version,
    writes: Vec<CgroupWrite>,
    device_rules: Vec<DeviceRule>,
    mode: CgroupMode,
    systemd: Option<SystemdUnit>,
}

/// The cgroups path the caller or the config gives, and which of the two
/// it is, as errors name it.
fn configured(spec: &Spec, opts: &CreateOptions) -> (&'static str, Option<PathBuf>) {
    match &opts.cgroups {
        CgroupSetting::Path(p) => ("cgroups (CgroupSetting::Path)", Some(p.clone())),
        _ => (
            "linux.cgroupsPath",
            spec.linux()
                .as_ref()
                .and_then(|l| l.cgroups_path().clone())
                .filter(|p| !p.as_os_str().is_empty()),
        ),
    }
}

/// The unit the systemd driver asks for, from the configured path read as
/// `slice:prefix:name`.
fn systemd_unit(
    spec: &Spec,
    id: &str,
    opts: &CreateOptions,
    user: Option<&UserManager>,
) -> Result<SystemdUnit, FieldError> {
    let (field, path) = configured(spec, opts);
    let path = match &path {
        Some(p) => Some(p.to_str().ok_or_else(|| {
            FieldError::invalid(field, "not UTF-8: a systemd unit name is ASCII")
        })?),
        None => None,
    };
    systemd::unit(path, field, id, spec.annotations().as_ref(), user)
}

/// The path a container's cgroup is at, and the field or option that says
/// so. A path the caller gives is checked as the config's would be, under
/// the option's name.
fn configured_path(
    spec: &Spec,
    id: &str,
    opts: &CreateOptions,
) -> Result<(&'static str, PathBuf), FieldError> {
    let (field, configured) = configured(spec, opts);
    let path = match configured {
        None => PathBuf::from(id),
        Some(p) => {
            if p.components().any(|c| c == Component::ParentDir) {
                return Err(FieldError::invalid(field, "must not contain \"..\""));
            }
            if p.to_string_lossy().contains(':') {
                return Err(FieldError::invalid(
                    field,
                    "looks like a systemd slice:prefix:name path: give --systemd-cgroup \
                     (CgroupDriver::Systemd) for the systemd cgroup driver",
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
    Ok((field, path))
}

/// What the config asks of the container's cgroup: its path, the limits
/// as writes for the host's version, and the device rules.
pub(super) fn limits(
    spec: &Spec,
    id: &str,
    host: &HostFacts,
    opts: &CreateOptions,
    device_rules: Vec<DeviceRule>,
) -> Result<Limits, FieldError> {
    let version = host.cgroups.mounts.version();
    if opts.cgroups == CgroupSetting::Disabled {
        if opts.cgroup_driver == CgroupDriver::Systemd {
            return Err(FieldError::invalid(
                "cgroups (CgroupSetting::Disabled)",
                "the systemd cgroup driver makes a cgroup: it cannot be combined with no cgroup",
            ));
        }
        return disabled(spec, version, id);
    }
    if opts.cgroup_driver == CgroupDriver::Systemd {
        return systemd_limits(spec, id, host, opts, device_rules);
    }
    let (field, path) = configured_path(spec, id, opts)?;
    let writes = match spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        None => Vec::new(),
        Some(r) => cgroup_writes(r, version)?,
    };
    let device_rules = allowed_device_rules(spec, host, device_rules)?;
    Ok(Limits {
        path,
        field,
        version,
        writes,
        device_rules,
        mode: match opts.rootless {
            true => CgroupMode::WhereDelegated,
            false => CgroupMode::Required,
        },
        systemd: None,
    })
}

/// The device rules the caller can apply: all of them with CAP_SYS_ADMIN
/// in the host's user namespace; without it none, and a config that has
/// some is refused.
fn allowed_device_rules(
    spec: &Spec,
    host: &HostFacts,
    device_rules: Vec<DeviceRule>,
) -> Result<Vec<DeviceRule>, FieldError> {
    let configured_rules = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.devices().as_ref())
        .is_some_and(|d| !d.is_empty());
    match (host.caller.privileged, configured_rules) {
        (true, _) => Ok(device_rules),
        (false, false) => Ok(Vec::new()),
        (false, true) => Err(FieldError::unsupported(
            "linux.resources.devices",
            "device cgroup rules need CAP_SYS_ADMIN in the host's initial user namespace, \
             which this (rootless) runtime lacks; remove them (a user namespace cannot mknod)",
        )),
    }
}

/// The systemd driver's limits: its unit, with the limits systemd has
/// properties for, on a cgroup v2 host; a rootless runtime's unit is the
/// user's manager's, with the limits its controllers allow.
fn systemd_limits(
    spec: &Spec,
    id: &str,
    host: &HostFacts,
    opts: &CreateOptions,
    device_rules: Vec<DeviceRule>,
) -> Result<Limits, FieldError> {
    let user = match opts.rootless {
        true => host.cgroups.systemd_user.as_ref().map(|f| f.as_ref()),
        false => None,
    };
    // The config's own faults first, whatever the host.
    let mut unit = systemd_unit(
        spec,
        id,
        opts,
        user.and_then(|u| u.ok()).map(|u| &u.manager),
    )?;
    if host.cgroups.mounts.version() != Version::V2 {
        return Err(FieldError::unsupported(
            SYSTEMD_FIELD,
            "the systemd cgroup driver is supported on cgroup v2 hosts only (systemd's unified \
             hierarchy); this host's controllers are cgroup v1: use the cgroupfs driver",
        ));
    }
    let writes = match spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        None => Vec::new(),
        Some(r) => cgroup_writes(r, Version::V2)?,
    };
    let device_rules = match opts.rootless {
        true => {
            check_user_manager(user, &writes)?;
            allowed_device_rules(spec, host, device_rules)?
        }
        false => device_rules,
    };
    let (mut before, mut after) = split_after_init(writes);
    unit.resources = systemd::resource_properties(&mut before)?;
    unit.after_init = systemd::resource_properties(&mut after)?;
    let writes = [before, after].concat();
    unit.start.extend(systemd::oom_policy(&writes));
    Ok(Limits {
        path: systemd::cgroup_path(&unit),
        field: "linux.cgroupsPath",
        version: Version::V2,
        writes,
        device_rules,
        mode: CgroupMode::Required,
        systemd: Some(unit),
    })
}

/// What the systemd driver's errors name as their field.
const SYSTEMD_FIELD: &str = "cgroup driver (--systemd-cgroup)";

/// Rootless: the user's manager must be reachable (runc's rule: no session
/// bus, no container), and each limit's controller delegated to it (what
/// `user@.service`'s `Delegate=` gives), or systemd could not make the
/// scope have it.
fn check_user_manager(
    user: Option<Result<&SystemdUserFacts, &String>>,
    writes: &[CgroupWrite],
) -> Result<(), FieldError> {
    let facts = match user {
        Some(Ok(f)) => f,
        Some(Err(why)) => {
            return Err(FieldError::unsupported(
                SYSTEMD_FIELD,
                format!("rootless: the user's systemd manager cannot be reached: {why}"),
            ))
        }
        None => {
            return Err(FieldError::unsupported(
                SYSTEMD_FIELD,
                "rootless: the user's systemd manager was not looked up (no facts about it)",
            ))
        }
    };
    let missing = writes
        .iter()
        .find(|w| !w.controller.is_empty() && !facts.controllers.iter().any(|c| c == w.controller));
    match missing {
        None => Ok(()),
        Some(w) => Err(FieldError::unsupported(
            &w.field,
            format!(
                "rootless: the {} controller was not delegated to the user's systemd manager \
                 ({} offers: {}), so the limit cannot be applied; an administrator can delegate \
                 it (Delegate= in a drop-in of user@.service) or remove the limit",
                w.controller,
                facts.manager.control_group.display(),
                match facts.controllers.is_empty() {
                    true => "none".to_string(),
                    false => facts.controllers.join(" "),
                }
            ),
        )),
    }
}

/// The plan without a cgroup: every limit or device rule of the config is
/// refused, since nothing could enforce it.
fn disabled(spec: &Spec, version: Version, id: &str) -> Result<Limits, FieldError> {
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
    Ok(Limits {
        path: PathBuf::from(id),
        field: "linux.cgroupsPath",
        version,
        writes: Vec::new(),
        device_rules: Vec::new(),
        mode: CgroupMode::Disabled,
        systemd: None,
    })
}

/// Places the container's cgroup on the host the facts describe, and
/// refuses what `create` could not honour: a container without a cgroup
/// needs a pid namespace of its own (`creates_pid`), or its processes
/// could not be found again; a rootless limit needs its controller
/// delegated; a cgroup must be free (no process in it, not frozen).
pub(super) fn place(
    limits: Limits,
    facts: &CgroupFacts,
    creates_pid: bool,
) -> Result<CgroupPlan, Refusal> {
    let current = ContainerCgroup::current(&facts.mounts, &facts.own);
    let placement = match limits.mode {
        CgroupMode::Disabled => {
            // The processes stay in the caller's cgroups, which is what the
            // container's cgroup mount shows.
            if !creates_pid {
                return Err(FieldError::unsupported(
                    "linux.namespaces",
                    "cgroups are disabled (CgroupSetting::Disabled), so the container needs a new \
                     pid namespace: without either, its processes could not be found to be killed",
                )
                .into());
            }
            choose(&current, &current, facts, |_| Some(String::new()))
        }
        mode => {
            let wanted = ContainerCgroup::resolve(&facts.mounts, &facts.own, &limits.path);
            let rootless = mode == CgroupMode::WhereDelegated;
            let placement = choose(&wanted, &current, facts, |found| {
                found.unusable.clone().filter(|_| rootless)
            });
            if rootless {
                check_delegated(&limits, &placement, facts, creates_pid)?;
            }
            check_free(&placement, facts, limits.field)?;
            match limits.systemd {
                Some(_) => by_systemd(placement),
                None => placement,
            }
        }
    };
    let (writes, after_init) = split_after_init(limits.writes);
    Ok(CgroupPlan {
        path: limits.path,
        version: limits.version,
        writes,
        after_init,
        device_rules: limits.device_rules,
        mode: limits.mode,
        placement,
        systemd: limits.systemd,
    })
}

/// `writes` as (those made before stage 1 joins, those made once the init
/// is forked: see [`CgroupPlan::after_init`]).
fn split_after_init(writes: Vec<CgroupWrite>) -> (Vec<CgroupWrite>, Vec<CgroupWrite>) {
    writes.into_iter().partition(|w| w.file != "pids.max")
}

/// The placement as systemd makes it: the unit's directory is the
/// container's (removed with it if systemd leaves it), the slices above it
/// are systemd's.
fn by_systemd(mut placement: CgroupPlacement) -> CgroupPlacement {
    for d in &mut placement.dirs {
        d.how = CgroupUse::Systemd;
        placement.ownership.created = vec![d.dir.clone()];
    }
    placement
}

/// Each of `wanted`'s directories, or the caller's (`current`, in the same
/// order) where `skip` gives why not (an empty reason: say nothing).
fn choose(
    wanted: &ContainerCgroup,
    current: &ContainerCgroup,
    facts: &CgroupFacts,
    skip: impl Fn(&Found) -> Option<String>,
) -> CgroupPlacement {
    let mut placement = CgroupPlacement {
        dirs: Vec::new(),
        unified: matches!(wanted, ContainerCgroup::V2 { .. }),
        ownership: Ownership::default(),
        notes: Vec::new(),
    };
    for ((name, dir), (_, own_dir)) in wanted.hierarchies().into_iter().zip(current.hierarchies()) {
        let found = facts.found(dir);
        let (dir, how) = match skip(&found) {
            Some(why) => {
                if !why.is_empty() {
                    placement.notes.push(format!(
                        "rootless: cgroup {} not used ({why}, not delegated to {}): the \
                         container stays in the caller's cgroup there",
                        dir.display(),
                        facts.user
                    ));
                }
                (own_dir, CgroupUse::Caller)
            }
            None if found.missing.is_empty() => (dir, CgroupUse::Adopt),
            None => (dir, CgroupUse::Create),
        };
        if how != CgroupUse::Caller {
            placement.ownership.created.extend(found.missing);
            placement.ownership.foreign.extend(found.descendants);
        }
        placement.dirs.push(PlacedDir {
            hierarchy: name.to_string(),
            dir: dir.to_path_buf(),
            how,
        });
    }
    placement
}

/// Rootless: a limit whose controller was not delegated cannot be applied,
/// and a container with no cgroup at all needs its own pid namespace. The
/// host (what was delegated) cannot honour either: not a wrong config.
fn check_delegated(
    limits: &Limits,
    placement: &CgroupPlacement,
    facts: &CgroupFacts,
    creates_pid: bool,
) -> Result<(), FieldError> {
    let who = &facts.user;
    let own = placement.cgroup();
    for w in &limits.writes {
        if !own
            .as_ref()
            .is_some_and(|c| can_have(c, facts, w.controller))
        {
            let note = placement
                .notes
                .iter()
                .find(|n| n.contains(w.controller))
                .or(placement.notes.first())
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            return Err(FieldError::unsupported(
                &w.field,
                format!(
                    "rootless: no {} cgroup was delegated to {who}, so the limit cannot be \
                     applied{note}",
                    w.controller
                ),
            ));
        }
    }
    if own.is_none() && !creates_pid {
        return Err(FieldError::unsupported(
            "linux.namespaces",
            format!(
                "rootless: no cgroup was delegated to {who}, so the container needs a new pid \
                 namespace: without either, its processes could not be found to be killed"
            ),
        ));
    }
    Ok(())
}

/// Whether the cgroup can have `controller`'s files: on v1, whether it
/// has a directory in that controller's hierarchy; on v2, whether the
/// controller is offered where it is made.
fn can_have(cgroup: &ContainerCgroup, facts: &CgroupFacts, controller: &str) -> bool {
    match cgroup {
        ContainerCgroup::V1 { dirs } => dirs
            .iter()
            .any(|(n, _)| n.split(',').any(|c| c == controller)),
        // Core files (`cgroup.*`) belong to no controller.
        ContainerCgroup::V2 { .. } if controller.is_empty() => true,
        ContainerCgroup::V2 { dir } => facts.found(dir).controllers.iter().any(|c| c == controller),
    }
}

/// A cgroup that is someone else's (processes are in it) or frozen is
/// refused, naming the field that chose it.
fn check_free(
    placement: &CgroupPlacement,
    facts: &CgroupFacts,
    field: &str,
) -> Result<(), Refusal> {
    let own: Vec<Found> = placement
        .dirs
        .iter()
        .filter(|d| d.how != CgroupUse::Caller)
        .map(|d| facts.found(&d.dir))
        .collect();
    let cause = own
        .iter()
        .find_map(|f| f.busy.clone())
        .map(|(dir, count)| InUse::Processes { dir, count })
        .or_else(|| {
            own.iter()
                .find_map(|f| f.frozen.clone())
                .map(|dir| InUse::Frozen { dir })
        });
    match cause {
        None => Ok(()),
        Some(cause) => Err(Refusal::CgroupInUse {
            field: field.to_string(),
            cause,
        }),
    }
}
