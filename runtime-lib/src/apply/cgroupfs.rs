//! The OCI mount type `cgroup`: shows the container its own cgroups.
//!
//! On v1, a tmpfs holds one directory per hierarchy, each a bind of the
//! container's own cgroup directory on the host (this works with or without
//! a cgroup namespace and inside a user namespace, where v1 cgroupfs cannot
//! be mounted). On v2 a new cgroup namespace gets a fresh cgroup2 mount, whose
//! root is the namespace's root; without one the container's directory is
//! bound.

use std::os::fd::{AsFd, OwnedFd};

use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::symlinkat;

use super::fs::{fd_path, Root};
use super::mounts::remount_bind;
use crate::cgroups::ContainerCgroup;
use crate::error::{ChildError, Step};
use crate::plan::{MountOp, NamespaceKind, Plan};

type Result<T> = std::result::Result<T, ChildError>;

fn what(op: &MountOp) -> String {
    format!("mounts[{}] ({})", op.index, op.destination.display())
}

pub(crate) fn mount_cgroups(
    plan: &Plan,
    root: &Root,
    op: &MountOp,
    target: &OwnedFd,
    cgroup: &ContainerCgroup,
) -> Result<()> {
    let fl = MsFlags::from_bits_truncate(
        op.flags.0 & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT),
    );
    match cgroup {
        ContainerCgroup::V2 { dir } => {
            if plan.namespaces.creates(NamespaceKind::Cgroup) {
                mount(
                    Some("cgroup2"),
                    fd_path(target).as_str(),
                    Some("cgroup2"),
                    fl,
                    None::<&str>,
                )
                .map_err(|e| ChildError::sys(Step::MountCgroup2, what(op), e))
            } else {
                mount(
                    Some(dir.as_path()),
                    fd_path(target).as_str(),
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(|e| ChildError::sys(Step::BindCgroupOn, what(op), e))?;
                // The fd names the directory under the bind: look it up again
                // to remount the bind itself.
                let bound = root
                    .open_in(&op.destination, nix::fcntl::OFlag::O_DIRECTORY)
                    .map_err(|e| ChildError::sys(Step::Open, what(op), e))?;
                remount_bind(&fd_path(&bound), fl.bits(), &what(op))
            }
        }
        ContainerCgroup::V1 { dirs } => {
            let tmpfs_flags = fl & !MsFlags::MS_RDONLY;
            mount(
                Some("tmpfs"),
                fd_path(target).as_str(),
                Some("tmpfs"),
                tmpfs_flags,
                Some("mode=755"),
            )
            .map_err(|e| ChildError::sys(Step::MountCgroupTmpfs, what(op), e))?;
            // The fd names the directory under the tmpfs: look it up again.
            let dir_fd = root
                .open_in(&op.destination, nix::fcntl::OFlag::O_DIRECTORY)
                .map_err(|e| ChildError::sys(Step::Open, what(op), e))?;
            // The cgroup2 tree of a hybrid host ("") is not shown inside, as
            // with runc: the container sees its v1 hierarchies.
            for (name, host_dir) in dirs.iter().filter(|(n, _)| !n.is_empty()) {
                let sub = name.strip_prefix("name=").unwrap_or(name);
                let open_sub = || {
                    nix::fcntl::openat(
                        dir_fd.as_fd(),
                        sub,
                        nix::fcntl::OFlag::O_PATH
                            | nix::fcntl::OFlag::O_NOFOLLOW
                            | nix::fcntl::OFlag::O_CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| ChildError::sys(Step::Open, format!("{}/{sub}", what(op)), e))
                };
                match nix::sys::stat::mkdirat(dir_fd.as_fd(), sub, Mode::from_bits_truncate(0o755))
                {
                    Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(ChildError::sys(
                            Step::Mkdir,
                            format!("{}/{sub}", what(op)),
                            e,
                        ))
                    }
                }
                let sub_fd = open_sub()?;
                mount(
                    Some(host_dir.as_path()),
                    fd_path(&sub_fd).as_str(),
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(|e| {
                    ChildError::sys(
                        Step::BindCgroup,
                        format!("{} to {}/{sub}", host_dir.display(), what(op)),
                        e,
                    )
                })?;
                // Look the directory up again to reach the bind, not what it covers.
                let sub_fd = open_sub()?;
                remount_bind(
                    &fd_path(&sub_fd),
                    (fl | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC).bits(),
                    &what(op),
                )?;
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
            Ok(())
        }
    }
}
