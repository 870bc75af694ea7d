//! The data planning and the cgroup code share: the host's cgroup
//! hierarchies, the container's directories in them and which of those it
//! made, and what is written into them. Plain data and pure functions:
//! `plan/` decides with them, `cgroups/` acts on them, and neither of the
//! two imports the other.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The cgroup version a write is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    /// cgroup v1 (also the controllers of a hybrid host).
    V1,
    /// cgroup v2.
    V2,
}

/// One write into the container's cgroup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupWrite {
    /// The config field it comes from (`linux.resources.memory.limit`).
    pub field: String,
    /// The controller that owns the file (v1: picks the hierarchy).
    pub controller: &'static str,
    /// The file name in the cgroup directory.
    pub file: String,
    /// What is written.
    pub value: String,
    /// Skipped where the kernel has no such file, rather than refused:
    /// hugetlb reservation limits, which runtime-spec applies "if hugetlb
    /// cgroup reservation is supported" (runc writes them the same way).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// One rule of the device cgroup (v1 `devices.allow`/`devices.deny` syntax).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceRule {
    /// Allow or deny.
    pub allow: bool,
    /// `a`, `c` or `b`.
    pub kind: char,
    /// Major, `None` = any.
    pub major: Option<i64>,
    /// Minor, `None` = any.
    pub minor: Option<i64>,
    /// Some of `rwm`.
    pub access: String,
}

impl DeviceRule {
    /// The rule in the kernel's syntax: `c 1:3 rwm`.
    pub fn to_kernel(&self) -> String {
        let n = |v: Option<i64>| v.map_or("*".to_string(), |v| v.to_string());
        if self.kind == 'a' {
            return "a".to_string();
        }
        format!(
            "{} {}:{} {}",
            self.kind,
            n(self.major),
            n(self.minor),
            self.access
        )
    }
}

/// How the host mounts its cgroups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only cgroup v1 hierarchies.
    Legacy,
    /// v1 controllers plus a cgroup2 tree (at `/sys/fs/cgroup/unified`).
    Hybrid,
    /// Only cgroup v2, at `/sys/fs/cgroup`.
    Unified,
}

/// A mounted v1 hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// Its name as `/proc/self/cgroup` spells it: `memory`, `cpu,cpuacct`,
    /// `name=systemd`.
    pub name: String,
    /// Where it is mounted.
    pub mountpoint: PathBuf,
    /// The cgroup the mount shows as its root (`/` on the host).
    pub root: PathBuf,
}

/// The host's cgroup mounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostCgroups {
    /// The mode.
    pub mode: Mode,
    /// v1 hierarchies (empty in unified mode).
    pub v1: Vec<Hierarchy>,
    /// The cgroup2 mount, if any.
    pub unified: Option<PathBuf>,
}

/// The container's cgroup, resolved on this host. Stored in the state so
/// later commands find it without re-deriving it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "version", rename_all = "lowercase")]
pub enum ContainerCgroup {
    /// One directory per v1 hierarchy: `(hierarchy name, dir)`.
    V1 {
        /// The directories.
        dirs: Vec<(String, PathBuf)>,
    },
    /// The cgroup2 directory.
    V2 {
        /// The directory.
        dir: PathBuf,
    },
}

impl HostCgroups {
    /// The version of the files a container's limits are written as: v2
    /// only on a pure v2 host (a hybrid host's controllers are v1).
    pub fn version(&self) -> Version {
        match self.mode {
            Mode::Unified => Version::V2,
            Mode::Legacy | Mode::Hybrid => Version::V1,
        }
    }
}

impl ContainerCgroup {
    /// Works out the container's directories for `path` (the plan's
    /// `cgroupsPath`), relative paths being relative to the caller's cgroups
    /// (on cgroup v2, to the parent of the caller's cgroup, as in runc).
    pub fn resolve(host: &HostCgroups, own: &[(String, PathBuf)], path: &Path) -> Self {
        let place = |mountpoint: &Path, root: &Path, own_path: Option<&PathBuf>| -> PathBuf {
            let base = if path.is_absolute() {
                PathBuf::from("/")
            } else {
                own_path.cloned().unwrap_or_else(|| PathBuf::from("/"))
            };
            let full = base.join(path);
            let rel = full.strip_prefix(root).unwrap_or(&full);
            let rel = rel.strip_prefix("/").unwrap_or(rel);
            mountpoint.join(rel)
        };
        match host.mode {
            Mode::Unified => {
                let mp = host
                    .unified
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup"));
                let own_path = own.iter().find(|(n, _)| n.is_empty()).map(|(_, p)| p);
                // As runc's fs2 (`defaultDirPath`): a relative path is below
                // the *parent* of the caller's cgroup. The caller's own has
                // processes (its systemd scope or service), and a cgroup2
                // directory with processes cannot give its children
                // controllers. The caller's cgroup itself is the empty path.
                let base = match path.as_os_str().is_empty() {
                    true => own_path.cloned(),
                    false => own_path.map(|p| p.parent().unwrap_or(p).to_path_buf()),
                };
                ContainerCgroup::V2 {
                    dir: place(&mp, Path::new("/"), base.as_ref()),
                }
            }
            Mode::Legacy | Mode::Hybrid => {
                let mut dirs: Vec<(String, PathBuf)> = host
                    .v1
                    .iter()
                    .map(|h| {
                        let own_path = own.iter().find(|(n, _)| *n == h.name).map(|(_, p)| p);
                        (h.name.clone(), place(&h.mountpoint, &h.root, own_path))
                    })
                    .collect();
                // A hybrid host's cgroup2 tree is a hierarchy too: runc
                // places the container there as well (its `0::` line of
                // /proc/self/cgroup), named "" as /proc/self/cgroup names
                // it; it holds no controller a v1 hierarchy lacks here.
                if let (Mode::Hybrid, Some(mp)) = (host.mode, &host.unified) {
                    let own_path = own.iter().find(|(n, _)| n.is_empty()).map(|(_, p)| p);
                    dirs.push((String::new(), place(mp, Path::new("/"), own_path)));
                }
                ContainerCgroup::V1 { dirs }
            }
        }
    }

    /// Its directories with their hierarchies' names (`""` for a cgroup2
    /// tree), in order.
    pub fn hierarchies(&self) -> Vec<(&str, &Path)> {
        match self {
            ContainerCgroup::V1 { dirs } => dirs
                .iter()
                .map(|(n, d)| (n.as_str(), d.as_path()))
                .collect(),
            ContainerCgroup::V2 { dir } => vec![("", dir.as_path())],
        }
    }

    /// The caller's own cgroup (one directory per hierarchy), where a
    /// container stays when it gets none of its own.
    pub fn current(host: &HostCgroups, own: &[(String, PathBuf)]) -> Self {
        Self::resolve(host, own, Path::new(""))
    }

    /// The cgroup version the container's files follow.
    pub fn version(&self) -> Version {
        match self {
            ContainerCgroup::V1 { .. } => Version::V1,
            ContainerCgroup::V2 { .. } => Version::V2,
        }
    }

    /// The files a freshly forked, single-threaded child writes `0` to in
    /// order to move itself into the cgroup (`cgroups::join_self`), or
    /// `None` where the runtime moves it with [`Self::add_process`] (cgroup
    /// v2).
    ///
    /// Why: on cgroup v1, writing a pid to `cgroup.procs` moves a whole
    /// thread group and takes the kernel's global
    /// `cgroup_threadgroup_rwsem` for writing, which waits for an RCU grace
    /// period: 5–20 ms on this project's VMs, the largest single cost of a
    /// `create`. A thread moving itself through `tasks` (pid 0, one thread)
    /// needs no thread-group stability and the kernel skips that lock
    /// (`cgroup_procs_write_start`). The child is a fork, so one thread is
    /// the whole process; its own children inherit the cgroups.
    pub fn self_join_files(&self) -> Option<Vec<PathBuf>> {
        match self {
            // cgroup2 has no `tasks`: `0` to `cgroup.procs` moves the writer.
            ContainerCgroup::V1 { dirs } => Some(
                dirs.iter()
                    .map(|(n, d)| {
                        d.join(if n.is_empty() {
                            "cgroup.procs"
                        } else {
                            "tasks"
                        })
                    })
                    .collect(),
            ),
            ContainerCgroup::V2 { .. } => None,
        }
    }

    /// The container's directories: one per v1 hierarchy, or the v2 one.
    pub fn leaves(&self) -> Vec<&Path> {
        match self {
            ContainerCgroup::V1 { dirs } => dirs.iter().map(|(_, d)| d.as_path()).collect(),
            ContainerCgroup::V2 { dir } => vec![dir.as_path()],
        }
    }
}

/// Which of the container's cgroup directories it made; kept in its state
/// so that `delete` removes those and nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// The directories `create` made, parents first: the container's cgroup
    /// and any level above it that did not exist.
    pub created: Vec<PathBuf>,
    /// Directories below the container's cgroup that existed before it
    /// (children of an adopted cgroup): never removed, and their processes
    /// are never signalled.
    pub foreign: Vec<PathBuf>,
}

impl Ownership {
    /// The ownership a state file written before it was recorded implies:
    /// the container made its cgroup, as that runtime assumed.
    pub fn assumed(cgroup: &ContainerCgroup) -> Self {
        Ownership {
            created: cgroup.leaves().iter().map(|d| d.to_path_buf()).collect(),
            foreign: Vec::new(),
        }
    }

    /// Whether `dir` is one the container made.
    pub fn made(&self, dir: &Path) -> bool {
        self.created.iter().any(|d| d == dir)
    }

    /// Whether `dir` is, or is below, a directory that is not the container's.
    pub fn is_foreign(&self, dir: &Path) -> bool {
        self.foreign.iter().any(|f| dir.starts_with(f))
    }
}

/// What one directory of the container's cgroup (one hierarchy's, or the
/// cgroup2 one) is like before `create` makes anything: read from the host
/// before planning, so that the plan decides where the container goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// The directory.
    pub dir: PathBuf,
    /// The levels that do not exist yet (the directory, and those above it
    /// up to the first that exists), parents first.
    pub missing: Vec<PathBuf>,
    /// Directories strictly below it that exist already (an existing
    /// cgroup's children).
    pub descendants: Vec<PathBuf>,
    /// A directory of its subtree that has processes, and how many.
    pub busy: Option<(PathBuf, usize)>,
    /// Itself, or the deepest existing level above it, when frozen or
    /// freezing (looked at in the v1 freezer hierarchy and on cgroup v2).
    pub frozen: Option<PathBuf>,
    /// On cgroup v2, the controllers its deepest existing level offers
    /// (`cgroup.controllers`): what the levels below may enable.
    pub controllers: Vec<String>,
    /// Why the caller may not make it its cgroup (it was not delegated to
    /// an unprivileged caller), or `None` when it may.
    pub unusable: Option<String>,
}

impl Found {
    /// What a directory that nothing is known of is taken to be: missing,
    /// with nothing in it, usable.
    pub fn absent(dir: &Path) -> Self {
        Found {
            dir: dir.to_path_buf(),
            missing: vec![dir.to_path_buf()],
            ..Found::default()
        }
    }
}

/// The transient unit the systemd cgroup driver asks systemd for: the
/// container's cgroup is its directory, which systemd makes and removes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SystemdUnit {
    /// `<prefix>-<name>.scope`.
    pub name: String,
    /// The slice it goes in (`system.slice`).
    pub slice: String,
    /// The user's systemd manager it is asked of (a rootless runtime);
    /// `None`: the system's, over the system bus.
    pub user: Option<UserManager>,
    /// Its properties at start, but for `PIDs` (the process is not forked
    /// yet when this is planned): description, slice, delegation,
    /// accounting, and the config's `org.systemd.property.*` annotations.
    pub start: Vec<UnitProperty>,
    /// The limits systemd has properties for, set once it runs, so that
    /// a `systemctl daemon-reload` re-applies them rather than resetting
    /// the files they are also written to.
    pub resources: Vec<UnitProperty>,
    /// The limits that count the runtime's own processes (`TasksMax`), set
    /// once the init is forked and stage 1 is gone: see
    /// `CgroupPlan::after_init`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_init: Vec<UnitProperty>,
}

/// A user's systemd manager (`user@UID.service`), as a rootless runtime
/// reaches it: over the user's session bus, authenticated as its owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserManager {
    /// The session bus's address (`unix:path=/run/user/1000/bus`).
    pub address: String,
    /// The uid `EXTERNAL` authentication gives: the host's uid of the
    /// runtime's euid (the bus sees the host's credentials, not a user
    /// namespace's).
    pub uid: u32,
    /// The manager's cgroup (its `ControlGroup`:
    /// `/user.slice/user-1000.slice/user@1000.service`), below which its
    /// slices are.
    pub control_group: PathBuf,
}

/// One property of a systemd unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitProperty {
    /// Its name, as systemd's D-Bus API spells it (`MemoryMax`).
    pub name: String,
    /// Its value, typed as systemd expects it.
    pub value: crate::dbus::wire::Value,
    /// The first systemd version that has it (0: every one the driver
    /// supports); an older systemd is not sent it, and the file write
    /// alone applies the limit.
    pub since: u32,
}

impl UnitProperty {
    /// A property every supported systemd has.
    pub fn new(name: &str, value: crate::dbus::wire::Value) -> Self {
        UnitProperty {
            name: name.to_string(),
            value,
            since: 0,
        }
    }
}
