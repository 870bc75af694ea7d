//! The OCI mount type `cgroup`: shows the container its own cgroups.
//!
//! On v1, a tmpfs holds one directory per hierarchy, each a bind of the
//! container's own cgroup directory on the host (this works with or without
//! a cgroup namespace and inside a user namespace, where v1 cgroupfs cannot
//! be mounted). On v2 a new cgroup namespace gets a fresh cgroup2 mount, whose
//! root is the namespace's root; without one, or where a user namespace
//! cannot mount it, the container's directory is bound.

use std::os::fd::{AsFd, OwnedFd};

use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::symlinkat;

use super::fs::fd_path;
use super::mount_point::mount_on;
use super::mounts::{remount_bind, FindAgain};
use crate::cgroups::ContainerCgroup;
use crate::error::{ChildError, Step};
use crate::plan::{MountOp, NamespaceKind, Plan};

type Result<T> = std::result::Result<T, ChildError>;

fn what(op: &MountOp) -> String {
    format!("mounts[{}] ({})", op.index, op.destination.display())
}

/// Mounts the layout on `point`; returns the root of the mount made there,
/// found again by [`mount_on`] (`find_again`). The binds inside the v1
/// tmpfs are found by name: nothing else can reach that tmpfs to rename
/// anything in it.
pub(crate) fn mount_cgroups(
    plan: &Plan,
    op: &MountOp,
    point: &OwnedFd,
    find_again: &FindAgain<'_>,
    cgroup: &ContainerCgroup,
) -> Result<OwnedFd> {
    let fl = MsFlags::from_bits_truncate(
        op.flags.0 & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT),
    );
    let top = match cgroup {
        ContainerCgroup::V2 { dir } => {
            let in_userns = plan.namespaces.in_user_namespace();
            let mut bound = !plan.namespaces.creates(NamespaceKind::Cgroup);
            let top = mount_on(point, Some(find_again), &what(op), |to| {
                let bind = || {
                    mount(
                        Some(dir.as_path()),
                        to,
                        None::<&str>,
                        MsFlags::MS_BIND,
                        None::<&str>,
                    )
                    .map_err(|e| ChildError::sys(Step::BindCgroupOn, what(op), e))
                };
                if bound {
                    return bind();
                }
                match mount(Some("cgroup2"), to, Some("cgroup2"), fl, None::<&str>) {
                    // In a user namespace, as runc: EBUSY when the target
                    // is the root of a cgroup2 mount already (a rootless
                    // config's `/sys` is a recursive bind of the host's),
                    // EPERM when the namespace may not mount it. The
                    // container's own directory shows the same tree.
                    Err(nix::errno::Errno::EBUSY | nix::errno::Errno::EPERM) if in_userns => {
                        bound = true;
                        bind()
                    }
                    r => r.map_err(|e| ChildError::sys(Step::MountCgroup2, what(op), e)),
                }
            })?;
            let top = found(top, op)?;
            if bound {
                remount_bind(&fd_path(&top), fl.bits(), &what(op))?;
            }
            top
        }
        ContainerCgroup::V1 { dirs } => mount_v1(op, point, find_again, dirs, fl)?,
    };
    Ok(top)
}

/// One hierarchy's directory in the v1 tmpfs `dir_fd`: a bind of the
/// container's cgroup there, read-only as asked, nosuid, nodev, noexec.
fn bind_hierarchy(
    op: &MountOp,
    dir_fd: &OwnedFd,
    sub: &str,
    host_dir: &std::path::Path,
    fl: MsFlags,
) -> Result<()> {
    let open_sub = || {
        nix::fcntl::openat(
            dir_fd.as_fd(),
            sub,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_NOFOLLOW
                | nix::fcntl::OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    };
    let sub_what = format!("{}/{sub}", what(op));
    match nix::sys::stat::mkdirat(dir_fd.as_fd(), sub, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(ChildError::sys(Step::Mkdir, sub_what, e)),
    }
    let open_err = |e| ChildError::sys(Step::Open, sub_what.clone(), e);
    let sub_fd = open_sub().map_err(open_err)?;
    mount(
        Some(host_dir),
        fd_path(&sub_fd).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| {
        ChildError::sys(
            Step::BindCgroup,
            format!("{} to {sub_what}", host_dir.display()),
            e,
        )
    })?;
    // By name, to reach the bind rather than what it covers: in the tmpfs
    // just made, which nothing else can reach to rename.
    remount_bind(
        &fd_path(&open_sub().map_err(open_err)?),
        (fl | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC).bits(),
        &what(op),
    )
}

fn found(top: Option<OwnedFd>, op: &MountOp) -> Result<OwnedFd> {
    top.ok_or_else(|| ChildError::other(Step::Mount, what(op), "the new mount was not found"))
}

/// v1: a tmpfs with one bind per hierarchy, read-only as asked.
fn mount_v1(
    op: &MountOp,
    point: &OwnedFd,
    find_again: &FindAgain<'_>,
    dirs: &[(String, std::path::PathBuf)],
    fl: MsFlags,
) -> Result<OwnedFd> {
    let tmpfs_flags = fl & !MsFlags::MS_RDONLY;
    let dir_fd = mount_on(point, Some(find_again), &what(op), |to| {
        mount(
            Some("tmpfs"),
            to,
            Some("tmpfs"),
            tmpfs_flags,
            Some("mode=755"),
        )
        .map_err(|e| ChildError::sys(Step::MountCgroupTmpfs, what(op), e))
    })?;
    let dir_fd = found(dir_fd, op)?;
    // The cgroup2 tree of a hybrid host ("") is not shown inside, as with
    // runc: the container sees its v1 hierarchies.
    for (name, host_dir) in dirs.iter().filter(|(n, _)| !n.is_empty()) {
        let sub = name.strip_prefix("name=").unwrap_or(name);
        bind_hierarchy(op, &dir_fd, sub, host_dir, fl)?;
        // `cpu,cpuacct` is also reachable as `cpu` and `cpuacct`.
        if sub.contains(',') {
            for part in sub.split(',') {
                match symlinkat(sub, dir_fd.as_fd(), part) {
                    Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(ChildError::sys(
                            Step::Symlink,
                            format!("{}/{part}", what(op)),
                            e,
                        ))
                    }
                }
            }
        }
    }
    if fl.contains(MsFlags::MS_RDONLY) {
        mount(
            None::<&str>,
            fd_path(&dir_fd).as_str(),
            None::<&str>,
            MsFlags::MS_REMOUNT | tmpfs_flags | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(|e| ChildError::sys(Step::RemountReadonly, what(op), e))?;
    }
    Ok(dir_fd)
}
