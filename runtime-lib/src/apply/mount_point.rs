//! Where a mount of config.json goes, checked on the very fd that is
//! mounted on, and the mount made there found again without trusting a
//! path.
//!
//! A path checked and then looked up again to mount on can lead somewhere
//! else the second time: a volume the container shares with another one, or
//! a hook, can rename a directory or swap in a symlink in between. So the
//! mount point is opened first (inside the rootfs, `RESOLVE_IN_ROOT`), its
//! path is read back from the fd ([`Root::locate`]) and that path is what
//! the checks see. After the mount the fd still names the directory under
//! it; the new mount is looked up by that path and accepted only if it is a
//! mount the call just made on the mount point's mount ([`mount_on`]).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::fs::{fd_path, is_dir, Root};
use crate::error::{ChildError, Step};
use crate::plan::{MountKind, MountOp};
use crate::sys;

type Result<T> = std::result::Result<T, ChildError>;

/// Files under `/proc` that a bind mount may cover: lxcfs's, as runc allows.
const PROC_BIND_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

pub(super) fn field(op: &MountOp) -> String {
    format!("mounts[{}] ({})", op.index, op.destination.display())
}

/// The mount point of one mount: the fd mounted on, and its path in the
/// container as read back from that fd (and checked).
pub(super) struct Target {
    pub(super) fd: OwnedFd,
    pub(super) path: std::path::PathBuf,
}

impl Target {
    /// Looks the mount point up again by its path, refusing symlinks: after
    /// a mount this reaches the mount on top of it (see [`mount_on`]).
    pub(super) fn find_again(&self, root: &Root) -> std::result::Result<OwnedFd, Errno> {
        root.open_resolved(&self.path, OFlag::empty())
    }
}

/// Opens (creating it if missing) the mount point of `op` and checks where
/// it is. `source` is a bind's source: its kind (file or directory) is the
/// kind of mount point made.
pub(super) fn open_target(root: &Root, op: &MountOp, source: Option<&OwnedFd>) -> Result<Target> {
    // By path first, so that a refused destination makes nothing...
    let resolved = root
        .resolve(&op.destination)
        .map_err(|e| ChildError::sys(Step::ResolveMountPoint, field(op), e))?;
    check_destination(op, &resolved)?;
    let fd = match &op.kind {
        MountKind::Bind { .. } => root
            .ensure_mountpoint(&op.destination, source.is_none_or(is_dir))
            .map_err(|e| ChildError::sys(Step::CreateMountPoint, field(op), e))?,
        MountKind::Filesystem { fstype } => mountpoint_dir(root, op, fstype)?,
        MountKind::Cgroup => mountpoint_dir(root, op, "cgroup")?,
    };
    // ...then what decides: where the fd that is mounted on is.
    let path = root
        .locate(&fd)
        .map_err(|e| ChildError::other(Step::Mount, field(op), format!("the mount point: {e}")))?;
    check_destination(op, &path)?;
    Ok(Target { fd, path })
}

/// Nothing may be mounted on the container's root itself (runc: "mountpoint
/// is on the top of rootfs"): it would hide the rootfs from every later
/// mount and from `pivot_root`. Nothing but procfs goes on `/proc` or below.
fn check_destination(op: &MountOp, path: &Path) -> Result<()> {
    if path == Path::new("/") {
        return Err(ChildError::other(
            Step::Mount,
            format!("mounts[{}].destination", op.index),
            format!(
                "{} is the container's root \"/\" (through the rootfs's symlinks): \
                 a mount may not cover the rootfs",
                op.destination.display()
            ),
        ));
    }
    check_not_over_proc(op, path)
}

/// Nothing but procfs goes on `/proc` or below it, wherever the destination
/// leads through the rootfs's symlinks (runc CVE-2019-19921,
/// CVE-2023-27561): a volume there would receive what the runtime and the
/// kernel's users mean for procfs. lxcfs's bind mounts of single files are
/// the exception.
fn check_not_over_proc(op: &MountOp, path: &Path) -> Result<()> {
    if matches!(&op.kind, MountKind::Filesystem { fstype } if fstype == "proc") {
        // A proc mount point must be a real directory: see mountpoint_dir.
        return Ok(());
    }
    if !path.starts_with("/proc") {
        return Ok(());
    }
    let allowed = matches!(op.kind, MountKind::Bind { .. })
        && PROC_BIND_ALLOWED.iter().any(|a| path == Path::new(a));
    if allowed {
        return Ok(());
    }
    Err(ChildError::other(
        Step::Mount,
        field(op),
        format!(
            "the destination is {} (through the rootfs's symlinks): only procfs may be mounted \
             on /proc, and only lxcfs's files below it",
            path.display()
        ),
    ))
}

/// proc and sysfs must be mounted on a real directory: a symlink there
/// would let a malicious image move them (and the masked paths with them).
/// The fd returned is opened without following a symlink at the last
/// component, so that holds for what is mounted on, not only for what was
/// looked at first.
fn mountpoint_dir(root: &Root, op: &MountOp, fstype: &str) -> Result<OwnedFd> {
    let strict = matches!(fstype, "proc" | "sysfs");
    let refuse = || {
        ChildError::other(
            Step::Mount,
            field(op),
            format!("{fstype} must be mounted on a directory, not a symlink or file"),
        )
    };
    if strict {
        // Before creating anything: a dangling symlink must not get a target.
        if let Ok(fd) = root.open_in(&op.destination, OFlag::O_NOFOLLOW) {
            if !is_dir(&fd) {
                return Err(refuse());
            }
        }
    }
    let fd = root
        .mkdir_all(&op.destination)
        .map_err(|e| ChildError::sys(Step::CreateMountPoint, field(op), e))?;
    if !strict {
        return Ok(fd);
    }
    match root.open_in(&op.destination, OFlag::O_NOFOLLOW | OFlag::O_DIRECTORY) {
        Err(Errno::ENOTDIR | Errno::ELOOP) => Err(refuse()),
        r => r.map_err(|e| ChildError::sys(Step::OpenMountPoint, field(op), e)),
    }
}

/// Mounts with `mount_fn` on `point` (given the path that names its fd)
/// and, when `find_again` is given, returns the root of the new mount,
/// which the fd does not reach: `find_again` looks the mount point up by
/// its path, and the result must be a mount that did not exist before the
/// call and whose parent is the mount point's mount. A mount point renamed
/// meanwhile, with another mount's mount point renamed into its place,
/// would otherwise have the remount, the propagation or the read-only flag
/// meant for this mount applied to that one: create fails instead.
pub(crate) fn mount_on(
    point: &OwnedFd,
    find_again: Option<&dyn Fn() -> std::result::Result<OwnedFd, Errno>>,
    what: &str,
    mount_fn: impl FnOnce(&str) -> Result<()>,
) -> Result<Option<OwnedFd>> {
    let Some(find_again) = find_again else {
        mount_fn(&fd_path(point))?;
        return Ok(None);
    };
    let stat_err = |e| ChildError::sys(Step::Statx, what.to_string(), e);
    let under = sys::file_id(point.as_fd()).map_err(stat_err)?.mnt_id;
    let before = child_mounts(under, what)?;
    mount_fn(&fd_path(point))?;
    let top = find_again().map_err(|e| ChildError::sys(Step::OpenNewMount, what.to_string(), e))?;
    let id = sys::file_id(top.as_fd()).map_err(stat_err)?.mnt_id;
    if before.contains(&id) || !child_mounts(under, what)?.contains(&id) {
        return Err(ChildError::other(
            Step::Mount,
            what.to_string(),
            "the mount point was moved while it was mounted on: its path leads to another mount now",
        ));
    }
    Ok(Some(top))
}

/// The ids of the mounts whose parent is mount `parent`, from this
/// process's mountinfo (the host's procfs: before `pivot_root`).
fn child_mounts(parent: u64, what: &str) -> Result<Vec<u64>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| ChildError::other(Step::ReadMountinfo, what.to_string(), e.to_string()))?;
    Ok(crate::mountinfo::ids(&text)
        .filter(|&(_, p)| p == parent)
        .map(|(id, _)| id)
        .collect())
}
