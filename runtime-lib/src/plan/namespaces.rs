//! Which namespaces the container gets: created, joined by path, or shared
//! with the host; and the uid/gid maps of a new user namespace.

use std::path::PathBuf;

use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespaceType, Spec};
use serde::Serialize;

use crate::error::FieldError;
use crate::rootless::Caller;

/// A kind of Linux namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceKind {
    /// User namespace.
    User,
    /// Mount namespace.
    Mount,
    /// Pid namespace.
    Pid,
    /// Network namespace.
    Network,
    /// IPC namespace.
    Ipc,
    /// UTS namespace.
    Uts,
    /// Cgroup namespace.
    Cgroup,
    /// Time namespace.
    Time,
}

impl NamespaceKind {
    /// The `CLONE_NEW*` flag.
    pub fn clone_flag(self) -> u64 {
        (match self {
            NamespaceKind::User => libc::CLONE_NEWUSER,
            NamespaceKind::Mount => libc::CLONE_NEWNS,
            NamespaceKind::Pid => libc::CLONE_NEWPID,
            NamespaceKind::Network => libc::CLONE_NEWNET,
            NamespaceKind::Ipc => libc::CLONE_NEWIPC,
            NamespaceKind::Uts => libc::CLONE_NEWUTS,
            NamespaceKind::Cgroup => libc::CLONE_NEWCGROUP,
            NamespaceKind::Time => libc::CLONE_NEWTIME,
        }) as u64
    }

    /// The name under `/proc/<pid>/ns/`.
    pub fn proc_name(self) -> &'static str {
        match self {
            NamespaceKind::User => "user",
            NamespaceKind::Mount => "mnt",
            NamespaceKind::Pid => "pid",
            NamespaceKind::Network => "net",
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Uts => "uts",
            NamespaceKind::Cgroup => "cgroup",
            NamespaceKind::Time => "time",
        }
    }

    fn from_oci(t: LinuxNamespaceType) -> Self {
        match t {
            LinuxNamespaceType::User => NamespaceKind::User,
            LinuxNamespaceType::Mount => NamespaceKind::Mount,
            LinuxNamespaceType::Pid => NamespaceKind::Pid,
            LinuxNamespaceType::Network => NamespaceKind::Network,
            LinuxNamespaceType::Ipc => NamespaceKind::Ipc,
            LinuxNamespaceType::Uts => NamespaceKind::Uts,
            LinuxNamespaceType::Cgroup => NamespaceKind::Cgroup,
            LinuxNamespaceType::Time => NamespaceKind::Time,
        }
    }
}

/// One range of a uid or gid map, as written to `/proc/<pid>/uid_map`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IdRange {
    /// First id inside the namespace.
    pub container_id: u32,
    /// First id outside.
    pub host_id: u32,
    /// Number of ids.
    pub size: u32,
}

/// Who writes a new user namespace's uid or gid map (user_namespaces(7),
/// "Defining user and group ID mappings").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MapWriter {
    /// The runtime writes `/proc/<pid>/{uid,gid}_map` itself: it has
    /// `CAP_SETUID`/`CAP_SETGID`, so it may map any ids its own user
    /// namespace has.
    Runtime,
    /// An unprivileged runtime writes the map itself, which the kernel
    /// allows for exactly one id, its own effective one; a gid map then
    /// needs `setgroups` denied first, so the container can never set
    /// supplementary groups.
    SelfOnly,
    /// The setuid helper (`newuidmap`/`newgidmap`, Debian's `uidmap`)
    /// writes it, allowing the caller's own id and the ranges that
    /// `/etc/subuid` and `/etc/subgid` grant it.
    Helper,
}

impl MapWriter {
    /// Chooses the writer for `ranges` as the kernel's rules allow.
    fn choose(ranges: &[IdRange], own_id: u32, can_map: bool) -> MapWriter {
        match ranges {
            _ if can_map => MapWriter::Runtime,
            [only] if only.size == 1 && only.host_id == own_id => MapWriter::SelfOnly,
            _ => MapWriter::Helper,
        }
    }
}

/// A clock offset of a new time namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ClockOffset {
    /// Seconds.
    pub secs: i64,
    /// Nanoseconds.
    pub nanos: u32,
}

/// The namespace part of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamespacePlan {
    /// `CLONE_NEW*` flags of the namespaces to create.
    pub clone_flags: u64,
    /// The namespaces to create, in the order the runtime creates them.
    pub new: Vec<NamespaceKind>,
    /// Namespaces to join, user first (joining others needs its privileges).
    pub join: Vec<(NamespaceKind, PathBuf)>,
    /// uid map of a new user namespace.
    pub uid_map: Vec<IdRange>,
    /// gid map of a new user namespace.
    pub gid_map: Vec<IdRange>,
    /// Who writes the uid map (`None` without a new user namespace).
    pub uid_map_writer: Option<MapWriter>,
    /// Who writes the gid map (`None` without a new user namespace).
    pub gid_map_writer: Option<MapWriter>,
    /// The runtime itself runs in a user namespace other than the host's
    /// (rootless podman): the container is in one even without creating
    /// or joining one.
    pub runtime_in_user_namespace: bool,
    /// `monotonic` offset of a new time namespace.
    pub monotonic_offset: Option<ClockOffset>,
    /// `boottime` offset of a new time namespace.
    pub boottime_offset: Option<ClockOffset>,
}

impl NamespacePlan {
    /// Whether the container gets a namespace of this kind of its own
    /// (created), as opposed to joined or shared with the host.
    pub fn creates(&self, kind: NamespaceKind) -> bool {
        self.new.contains(&kind)
    }

    /// Whether the container is in a user namespace other than the host's
    /// initial one (so `mknod` and mounting sysfs without a network
    /// namespace of its own are refused).
    pub fn in_user_namespace(&self) -> bool {
        self.runtime_in_user_namespace
            || self.creates(NamespaceKind::User)
            || self.join.iter().any(|(k, _)| *k == NamespaceKind::User)
    }
}

impl NamespaceKind {
    /// Every kind, in the order they are created or joined: user first (it
    /// owns the others and joining them needs its privileges), pid and time
    /// last (they take effect for children only).
    pub const ALL: [NamespaceKind; 8] = [
        NamespaceKind::User,
        NamespaceKind::Mount,
        NamespaceKind::Network,
        NamespaceKind::Ipc,
        NamespaceKind::Uts,
        NamespaceKind::Cgroup,
        NamespaceKind::Pid,
        NamespaceKind::Time,
    ];
}

pub(super) fn plan(spec: &Spec, caller: &Caller) -> Result<NamespacePlan, FieldError> {
    let linux = spec.linux().as_ref();
    let (new, join) = new_and_joined(linux)?;
    let clone_flags = new.iter().fold(0, |acc, k| acc | k.clone_flag());
    let mut plan = NamespacePlan {
        clone_flags,
        new,
        join,
        uid_map: Vec::new(),
        gid_map: Vec::new(),
        uid_map_writer: None,
        gid_map_writer: None,
        runtime_in_user_namespace: caller.in_user_namespace,
        monotonic_offset: clock_offset(linux, "monotonic"),
        boottime_offset: clock_offset(linux, "boottime"),
    };
    // The maps only mean something to a user namespace the runtime creates.
    if plan.creates(NamespaceKind::User) {
        plan.uid_map = id_map(linux.and_then(|l| l.uid_mappings().as_ref()));
        plan.gid_map = id_map(linux.and_then(|l| l.gid_mappings().as_ref()));
        plan.uid_map_writer = Some(MapWriter::choose(
            &plan.uid_map,
            caller.euid,
            caller.can_map_uids,
        ));
        plan.gid_map_writer = Some(MapWriter::choose(
            &plan.gid_map,
            caller.egid,
            caller.can_map_gids,
        ));
    }
    Ok(plan)
}

/// Namespaces joined by path.
type Joined = Vec<(NamespaceKind, PathBuf)>;

/// `linux.namespaces` split into those to create and those to join by
/// path, each in the order of [`NamespaceKind::ALL`].
fn new_and_joined(linux: Option<&Linux>) -> Result<(Vec<NamespaceKind>, Joined), FieldError> {
    let mut new = Vec::new();
    let mut join = Vec::new();
    let namespaces = linux.and_then(|l| l.namespaces().as_ref());
    for (i, ns) in namespaces.into_iter().flatten().enumerate() {
        let kind = NamespaceKind::from_oci(ns.typ());
        match ns.path() {
            Some(path) if !path.as_os_str().is_empty() => {
                if kind == NamespaceKind::Mount {
                    return Err(FieldError::unsupported(
                        format!("linux.namespaces[{i}]"),
                        "joining a mount namespace by path is not supported: the container's root \
                         and mounts could not be applied",
                    ));
                }
                join.push((kind, path.clone()));
            }
            _ => new.push(kind),
        }
    }
    if !new.contains(&NamespaceKind::Mount) {
        return Err(FieldError::invalid(
            "linux.namespaces",
            "a new mount namespace is required (without one the container's mounts would land on the host)",
        ));
    }
    new.sort_by_key(|k| NamespaceKind::ALL.iter().position(|o| o == k));
    join.sort_by_key(|(k, _)| NamespaceKind::ALL.iter().position(|o| o == k));
    Ok((new, join))
}

/// A uid or gid map as given.
fn id_map(list: Option<&Vec<LinuxIdMapping>>) -> Vec<IdRange> {
    list.into_iter()
        .flatten()
        .map(|m| IdRange {
            container_id: m.container_id(),
            host_id: m.host_id(),
            size: m.size(),
        })
        .collect()
}

/// `linux.timeOffsets.<name>`.
fn clock_offset(linux: Option<&Linux>, name: &str) -> Option<ClockOffset> {
    linux
        .and_then(|l| l.time_offsets().as_ref())
        .and_then(|m| m.get(name))
        .map(|o| ClockOffset {
            secs: o.secs().unwrap_or(0),
            nanos: o.nanosecs().unwrap_or(0),
        })
}
