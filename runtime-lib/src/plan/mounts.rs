//! The ordered mount operations that build the container's root.
//!
//! Every OCI mount option is mapped to kernel flags here, in one table, so
//! that the executor only replays decisions.

use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::{Serialize, Serializer};

use super::idmap::{self, Idmap, IdmapHost, IdmapOption};
use super::lsm;
use crate::error::FieldError;

/// `MS_*` flags, shown by name in the plan's JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsFlags(pub u64);

const FLAG_NAMES: &[(u64, &str)] = &[
    (libc::MS_RDONLY, "MS_RDONLY"),
    (libc::MS_NOSUID, "MS_NOSUID"),
    (libc::MS_NODEV, "MS_NODEV"),
    (libc::MS_NOEXEC, "MS_NOEXEC"),
    (libc::MS_SYNCHRONOUS, "MS_SYNCHRONOUS"),
    (libc::MS_REMOUNT, "MS_REMOUNT"),
    (libc::MS_MANDLOCK, "MS_MANDLOCK"),
    (libc::MS_DIRSYNC, "MS_DIRSYNC"),
    (libc::MS_NOATIME, "MS_NOATIME"),
    (libc::MS_NODIRATIME, "MS_NODIRATIME"),
    (libc::MS_BIND, "MS_BIND"),
    (libc::MS_REC, "MS_REC"),
    (libc::MS_SILENT, "MS_SILENT"),
    (libc::MS_UNBINDABLE, "MS_UNBINDABLE"),
    (libc::MS_PRIVATE, "MS_PRIVATE"),
    (libc::MS_SLAVE, "MS_SLAVE"),
    (libc::MS_SHARED, "MS_SHARED"),
    (libc::MS_RELATIME, "MS_RELATIME"),
    (libc::MS_I_VERSION, "MS_I_VERSION"),
    (libc::MS_STRICTATIME, "MS_STRICTATIME"),
    (libc::MS_LAZYTIME, "MS_LAZYTIME"),
];

impl Serialize for MsFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = FLAG_NAMES
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        names.serialize(s)
    }
}

/// `MOUNT_ATTR_*` bits for `mount_setattr(2)` (recursive options like `rro`).
pub mod attr {
    /// Read-only.
    pub const RDONLY: u64 = 0x1;
    /// No setuid.
    pub const NOSUID: u64 = 0x2;
    /// No devices.
    pub const NODEV: u64 = 0x4;
    /// No exec.
    pub const NOEXEC: u64 = 0x8;
    /// Mask of the atime bits.
    pub const ATIME_MASK: u64 = 0x70;
    /// relatime (the value 0 inside the atime mask).
    pub const RELATIME: u64 = 0x0;
    /// noatime.
    pub const NOATIME: u64 = 0x10;
    /// strictatime.
    pub const STRICTATIME: u64 = 0x20;
    /// nodiratime.
    pub const NODIRATIME: u64 = 0x80;
    /// nosymfollow.
    pub const NOSYMFOLLOW: u64 = 0x200000;
}

/// Attributes applied recursively with `mount_setattr(AT_RECURSIVE)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecursiveAttrs {
    /// `MOUNT_ATTR_*` bits to set.
    pub set: u64,
    /// `MOUNT_ATTR_*` bits to clear.
    pub clear: u64,
}

/// What kind of mount an operation makes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MountKind {
    /// A bind mount of a host path (`rbind` = recursive).
    Bind {
        /// Include submounts.
        recursive: bool,
    },
    /// A new filesystem instance (`proc`, `tmpfs`, `sysfs`, ...).
    Filesystem {
        /// The filesystem type.
        fstype: String,
    },
    /// The container's cgroup hierarchy (OCI type `cgroup`), laid out by the
    /// executor from the host's cgroup mode.
    Cgroup,
}

/// One mount operation, in the order of `mounts` in config.json.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MountOp {
    /// Index in `mounts` (for error messages).
    pub index: usize,
    /// What to mount.
    pub kind: MountKind,
    /// Source: an absolute host path for binds (relative ones are resolved
    /// against the bundle), a free label otherwise.
    #[serde(serialize_with = "crate::path_json::lossy")]
    pub source: PathBuf,
    /// Destination inside the container, absolute, without `..`.
    pub destination: PathBuf,
    /// Flags for the mount call.
    pub flags: MsFlags,
    /// Filesystem data (`size=..,mode=..` and every option that is not a flag).
    pub data: String,
    /// Flags that need a remount of a bind (`ro`, `nosuid`, ... do not apply
    /// to the first `MS_BIND` call).
    pub bind_remount: Option<MsFlags>,
    /// Propagation changes applied after mounting, in order.
    pub propagation: Vec<MsFlags>,
    /// Recursive attributes (`rro`, `rnosuid`, ...).
    pub recursive: Option<RecursiveAttrs>,
    /// `tmpcopyup`: fill the new tmpfs with what the directory it covers
    /// held in the image.
    pub copy_up: bool,
    /// `ro` of a tmpfs or of `/dev`, held back from `flags` and applied once
    /// everything inside is made (mount points, device nodes, symlinks), as
    /// runc does: a read-only `/dev` still gets its `/dev/pts`.
    pub readonly_last: bool,
    /// `linux.mountLabel`, given to this mount as the SELinux file label of
    /// its root (`mqueue`, which runc labels so rather than by option).
    pub root_label: Option<String>,
    /// The idmapping of a bind mount: the runtime makes the bound tree,
    /// idmapped, and the init attaches it.
    pub idmap: Option<Idmap>,
}

/// The mount part of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MountPlan {
    /// Propagation applied to `/` before anything is mounted, so that nothing
    /// the container mounts propagates back to the host.
    pub root_propagation: MsFlags,
    /// `pivot_root(2)` into the rootfs; false means `MS_MOVE` + `chroot`
    /// (`--no-pivot`, for ramfs roots where pivot_root is impossible).
    pub pivot_root: bool,
    /// The mounts, in order.
    pub ops: Vec<MountOp>,
    /// `linux.mountLabel`: already in the data of each mount that takes it
    /// as `context=`; also the context of the tmpfs over masked
    /// directories.
    pub label: Option<String>,
}

enum Opt {
    Set(u64),
    Clear(u64),
    Propagation(u64),
    RecSet(u64),
    RecClear(u64),
    RecAtime(u64),
    Bind { recursive: bool },
    CopyUp,
    Idmap { recursive: bool },
}

/// The option table: runc's spelling of every mount option it knows.
fn option(name: &str) -> Option<Opt> {
    use Opt::*;
    Some(match name {
        "defaults" => Clear(0),
        "ro" => Set(libc::MS_RDONLY),
        "rw" => Clear(libc::MS_RDONLY),
        "nosuid" => Set(libc::MS_NOSUID),
        "suid" => Clear(libc::MS_NOSUID),
        "nodev" => Set(libc::MS_NODEV),
        "dev" => Clear(libc::MS_NODEV),
        "noexec" => Set(libc::MS_NOEXEC),
        "exec" => Clear(libc::MS_NOEXEC),
        "sync" => Set(libc::MS_SYNCHRONOUS),
        "async" => Clear(libc::MS_SYNCHRONOUS),
        "dirsync" => Set(libc::MS_DIRSYNC),
        "remount" => Set(libc::MS_REMOUNT),
        "mand" => Set(libc::MS_MANDLOCK),
        "nomand" => Clear(libc::MS_MANDLOCK),
        "atime" => Clear(libc::MS_NOATIME),
        "noatime" => Set(libc::MS_NOATIME),
        "diratime" => Clear(libc::MS_NODIRATIME),
        "nodiratime" => Set(libc::MS_NODIRATIME),
        "relatime" => Set(libc::MS_RELATIME),
        "norelatime" => Clear(libc::MS_RELATIME),
        "strictatime" => Set(libc::MS_STRICTATIME),
        "nostrictatime" => Clear(libc::MS_STRICTATIME),
        "lazytime" => Set(libc::MS_LAZYTIME),
        "nolazytime" => Clear(libc::MS_LAZYTIME),
        "nosymfollow" => Set(libc::MS_NOSYMFOLLOW),
        "symfollow" => Clear(libc::MS_NOSYMFOLLOW),
        "iversion" => Set(libc::MS_I_VERSION),
        "noiversion" => Clear(libc::MS_I_VERSION),
        "silent" => Set(libc::MS_SILENT),
        "loud" => Clear(libc::MS_SILENT),
        "bind" => Bind { recursive: false },
        "rbind" => Bind { recursive: true },
        "shared" => Propagation(libc::MS_SHARED),
        "rshared" => Propagation(libc::MS_SHARED | libc::MS_REC),
        "slave" => Propagation(libc::MS_SLAVE),
        "rslave" => Propagation(libc::MS_SLAVE | libc::MS_REC),
        "private" => Propagation(libc::MS_PRIVATE),
        "rprivate" => Propagation(libc::MS_PRIVATE | libc::MS_REC),
        "unbindable" => Propagation(libc::MS_UNBINDABLE),
        "runbindable" => Propagation(libc::MS_UNBINDABLE | libc::MS_REC),
        "rro" => RecSet(attr::RDONLY),
        "rrw" => RecClear(attr::RDONLY),
        "rnosuid" => RecSet(attr::NOSUID),
        "rsuid" => RecClear(attr::NOSUID),
        "rnodev" => RecSet(attr::NODEV),
        "rdev" => RecClear(attr::NODEV),
        "rnoexec" => RecSet(attr::NOEXEC),
        "rexec" => RecClear(attr::NOEXEC),
        "rnodiratime" => RecSet(attr::NODIRATIME),
        "rdiratime" => RecClear(attr::NODIRATIME),
        "rrelatime" => RecAtime(attr::RELATIME),
        "rnoatime" => RecAtime(attr::NOATIME),
        "rstrictatime" => RecAtime(attr::STRICTATIME),
        "rnosymfollow" => RecSet(attr::NOSYMFOLLOW),
        "rsymfollow" => RecClear(attr::NOSYMFOLLOW),
        "tmpcopyup" => CopyUp,
        "idmap" => Idmap { recursive: false },
        "ridmap" => Idmap { recursive: true },
        _ => return None,
    })
}

/// Every mount option the table above knows (for `features`).
pub const KNOWN_OPTIONS: &[&str] = &[
    "defaults",
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "lazytime",
    "nolazytime",
    "nosymfollow",
    "symfollow",
    "iversion",
    "noiversion",
    "silent",
    "loud",
    "bind",
    "rbind",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "unbindable",
    "runbindable",
    "rro",
    "rrw",
    "rnosuid",
    "rsuid",
    "rnodev",
    "rdev",
    "rnoexec",
    "rexec",
    "rnodiratime",
    "rdiratime",
    "rrelatime",
    "rnoatime",
    "rstrictatime",
    "rnosymfollow",
    "rsymfollow",
    "tmpcopyup",
    "idmap",
    "ridmap",
];

/// Options that runc/crun know but Cella does not do yet: refusing them is
/// better than handing them to the kernel as filesystem data.
const UNSUPPORTED: &[&str] = &["copy-symlink", "src-nofollow"];

/// The flags a bind's remount may carry (the first `MS_BIND` call ignores them).
const REMOUNT_FLAGS: u64 = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_SYNCHRONOUS
    | libc::MS_DIRSYNC
    | libc::MS_MANDLOCK
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_STRICTATIME
    | libc::MS_LAZYTIME
    | libc::MS_NOSYMFOLLOW;

/// Makes a container path absolute and free of `.` (config paths may be
/// relative to `/`, runtime-spec 1.1).
pub fn container_path(field: &str, p: &Path) -> Result<PathBuf, FieldError> {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(FieldError::invalid(field, "must not contain \"..\""));
            }
        }
    }
    Ok(out)
}

/// The mounts of `spec`, with `label` (`linux.mountLabel`, checked) where
/// runc puts it.
pub(super) fn plan(
    spec: &Spec,
    bundle: &Path,
    no_pivot: bool,
    label: Option<String>,
    host: IdmapHost,
) -> Result<MountPlan, FieldError> {
    let root_propagation = match spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .unwrap_or("")
    {
        "" => libc::MS_SLAVE | libc::MS_REC,
        other => match option(other) {
            Some(Opt::Propagation(p)) => p | libc::MS_REC,
            _ => {
                return Err(FieldError::invalid(
                    "linux.rootfsPropagation",
                    format!("unknown propagation {other:?}"),
                ))
            }
        },
    };
    let mut ops = Vec::new();
    for (index, m) in spec.mounts().iter().flatten().enumerate() {
        let field = format!("mounts[{index}]");
        let mut op = plan_mount(index, &field, m, bundle, host)?;
        if let (Some(l), MountKind::Filesystem { fstype }) = (&label, &op.kind) {
            if lsm::takes_context(fstype) {
                op.data = lsm::with_context(&op.data, l);
            } else if lsm::labels_root(fstype) {
                op.root_label = Some(l.clone());
            }
        }
        ops.push(op);
    }
    Ok(MountPlan {
        root_propagation: MsFlags(root_propagation),
        pivot_root: !no_pivot,
        ops,
        label,
    })
}

pub(super) fn plan_mount(
    index: usize,
    field: &str,
    m: &oci_spec::runtime::Mount,
    bundle: &Path,
    host: IdmapHost,
) -> Result<MountOp, FieldError> {
    let destination = destination(field, m)?;
    let opts = Options::parse(field, m)?;
    let kind = mount_kind(field, m.typ().as_deref().unwrap_or(""), opts.bind)?;
    let is_bind = matches!(kind, MountKind::Bind { .. });
    let idmap = idmap::plan(field, m, opts.idmap, is_bind, host)?;
    if let Some(j) = opts.copy_up {
        if !matches!(&kind, MountKind::Filesystem { fstype } if fstype == "tmpfs") {
            return Err(FieldError::invalid(
                format!("{field}.options[{j}]"),
                "\"tmpcopyup\" applies only to tmpfs mounts",
            ));
        }
    }
    let source = m.source().clone().unwrap_or_default();
    let source = match kind {
        // Bind sources are host paths; relative ones are relative to the
        // bundle (runtime-spec "mounts").
        MountKind::Bind { .. } if source.is_relative() => bundle.join(source),
        _ => source,
    };
    let (flags, bind_remount, readonly_last) = split_flags(opts.flags, &kind, &destination);
    let recursive = opts.recursive;
    Ok(MountOp {
        index,
        kind,
        source,
        destination,
        flags,
        data: opts.data.join(","),
        bind_remount,
        propagation: opts.propagation,
        recursive: (recursive != RecursiveAttrs::default()).then_some(recursive),
        copy_up: opts.copy_up.is_some(),
        readonly_last,
        root_label: None,
        idmap,
    })
}

/// `mounts[i].destination`, absolute and not the root.
fn destination(field: &str, m: &oci_spec::runtime::Mount) -> Result<PathBuf, FieldError> {
    let destination = container_path(&format!("{field}.destination"), m.destination())?;
    if destination == Path::new("/") {
        // runc: "mountpoint is on the top of rootfs". A symlink leading to
        // "/" is found by the executor, on the mount point's fd.
        return Err(FieldError::invalid(
            format!("{field}.destination"),
            "must not be \"/\": a mount may not cover the container's root",
        ));
    }
    Ok(destination)
}

/// A mount's `options`, each applied in turn (a later one overrides an
/// earlier one, as in runc).
#[derive(Default)]
struct Options<'a> {
    flags: u64,
    /// Options that are not flags: the filesystem's data.
    data: Vec<&'a str>,
    propagation: Vec<MsFlags>,
    recursive: RecursiveAttrs,
    /// `Some(recursive)` when `bind` or `rbind` is given; `rbind` wins.
    bind: Option<bool>,
    /// The index of `tmpcopyup`.
    copy_up: Option<usize>,
    /// `idmap` or `ridmap`.
    idmap: IdmapOption,
}

impl<'a> Options<'a> {
    fn parse(field: &str, m: &'a oci_spec::runtime::Mount) -> Result<Self, FieldError> {
        let mut opts = Options::default();
        for (j, o) in m.options().iter().flatten().enumerate() {
            match option(o) {
                Some(opt) => opts.apply(opt, j),
                None if UNSUPPORTED.contains(&o.as_str()) => {
                    return Err(FieldError::unsupported(
                        format!("{field}.options[{j}]"),
                        format!("mount option {o:?} is not supported yet"),
                    ))
                }
                None => opts.data.push(o.as_str()),
            }
        }
        Ok(opts)
    }

    /// Applies option `j`.
    fn apply(&mut self, opt: Opt, j: usize) {
        let rec = &mut self.recursive;
        match opt {
            Opt::Set(f) => self.flags |= f,
            Opt::Clear(f) => self.flags &= !f,
            Opt::Propagation(p) => self.propagation.push(MsFlags(p)),
            Opt::RecSet(a) => {
                rec.set |= a;
                rec.clear &= !a;
            }
            Opt::RecClear(a) => {
                rec.clear |= a;
                rec.set &= !a;
            }
            Opt::RecAtime(a) => {
                rec.clear |= attr::ATIME_MASK;
                rec.set = (rec.set & !attr::ATIME_MASK) | a;
            }
            Opt::Bind { recursive: r } => self.bind = Some(r || self.bind == Some(true)),
            Opt::CopyUp => self.copy_up = Some(j),
            Opt::Idmap { recursive } => self.idmap = Some((j, recursive)),
        }
    }
}

/// What kind of mount `type` and the bind options make.
fn mount_kind(field: &str, fstype: &str, bind: Option<bool>) -> Result<MountKind, FieldError> {
    Ok(if let Some(recursive) = bind {
        MountKind::Bind { recursive }
    } else if fstype == "bind" {
        MountKind::Bind { recursive: false }
    } else if fstype == "cgroup" || fstype == "cgroup2" {
        MountKind::Cgroup
    } else if fstype.is_empty() {
        return Err(FieldError::invalid(
            format!("{field}.type"),
            "a mount needs a type unless its options contain \"bind\" or \"rbind\"",
        ));
    } else {
        MountKind::Filesystem {
            fstype: fstype.to_string(),
        }
    })
}

/// The options' flags split between the mount call, a bind's remount
/// (the first `MS_BIND` call ignores them) and a read-only remount held
/// back until the mount is filled: `(flags, bind_remount, readonly_last)`.
fn split_flags(
    mut flags: u64,
    kind: &MountKind,
    destination: &Path,
) -> (MsFlags, Option<MsFlags>, bool) {
    let bind_remount = match kind {
        MountKind::Bind { .. } if flags & REMOUNT_FLAGS != 0 => {
            Some(MsFlags(flags & REMOUNT_FLAGS))
        }
        _ => None,
    };
    if let MountKind::Bind { recursive: r } = kind {
        flags = libc::MS_BIND | if *r { libc::MS_REC } else { 0 };
    }
    let readonly_last = flags & libc::MS_RDONLY != 0
        && matches!(kind, MountKind::Filesystem { fstype } if fstype == "tmpfs" || destination == Path::new("/dev"));
    if readonly_last {
        flags &= !libc::MS_RDONLY;
    }
    (MsFlags(flags), bind_remount, readonly_last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_of_root_is_refused() {
        for dest in ["/", "", ".", "/./"] {
            let m: oci_spec::runtime::Mount = serde_json::from_value(serde_json::json!({
                "destination": dest, "type": "tmpfs", "source": "tmpfs"
            }))
            .unwrap();
            let host = IdmapHost {
                container_userns: false,
                privileged: true,
            };
            let err = plan_mount(3, "mounts[3]", &m, Path::new("/b"), host).unwrap_err();
            assert_eq!(err.field, "mounts[3].destination", "{dest:?}");
        }
    }

    #[test]
    fn every_known_option_is_in_the_table() {
        for name in KNOWN_OPTIONS {
            assert!(option(name).is_some(), "{name}");
        }
        assert!(option("size=1k").is_none());
    }
}
