//! Device nodes and `/dev` symlinks inside the rootfs, before `pivot_root`.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fchmodat, fstatat, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};

use super::fs::{fd_path, Root};
use crate::error::{ChildError, Step};
use crate::plan::{DeviceNode, DevicePlan};

type Result<T> = std::result::Result<T, ChildError>;

/// Creates the planned nodes, directories and symlinks.
pub(crate) fn create_devices(root: &Root, plan: &DevicePlan) -> Result<()> {
    for dir in &plan.dirs {
        root.mkdir_all(dir)
            .map_err(|e| ChildError::sys(Step::CreateDirectory, dir.display().to_string(), e))?;
    }
    for node in &plan.nodes {
        if plan.bind_from_host {
            bind_host_node(root, node)?;
        } else {
            make_node(root, node)?;
        }
    }
    for (link, target) in &plan.symlinks {
        let (dir, name) = root
            .parent_dir(link)
            .map_err(|e| ChildError::sys(Step::OpenParent, link.display().to_string(), e))?;
        match symlinkat(target.as_path(), dir.as_fd(), name.as_path()) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(ChildError::sys(
                    Step::Symlink,
                    link.display().to_string(),
                    e,
                ))
            }
        }
    }
    Ok(())
}

fn make_node(root: &Root, node: &DeviceNode) -> Result<()> {
    let what = node.path.display().to_string();
    let (dir, name) = root
        .parent_dir(&node.path)
        .map_err(|e| ChildError::sys(Step::OpenParent, what.clone(), e))?;
    let dev = libc::makedev(node.major as u32, node.minor as u32);
    // config-linux.md "Devices": "If a file already exists at path that does
    // not match the requested device, the runtime MUST generate an error."
    // Replacing it would also destroy what the path held: a file of the
    // image, or a mount's (unlinking a mount point fails with EBUSY anyway).
    // The same node (type and numbers) is replaced, so that mode and owner
    // are the config's.
    match fstatat(dir.as_fd(), name.as_path(), AtFlags::AT_SYMLINK_NOFOLLOW) {
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(ChildError::sys(Step::Stat, what, e)),
        Ok(st) if !same_node(&st, node, dev) => {
            return Err(ChildError::other(
                Step::CreateDevice,
                what,
                format!(
                    "a file that is not this device is already there (mode {:o}, device {}:{})",
                    st.st_mode,
                    libc::major(st.st_rdev),
                    libc::minor(st.st_rdev)
                ),
            ))
        }
        Ok(_) => match nix::unistd::unlinkat(
            dir.as_fd(),
            name.as_path(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        ) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(ChildError::sys(Step::RemoveOldNode, what, e)),
        },
    }
    mknodat(
        dir.as_fd(),
        name.as_path(),
        SFlag::from_bits_truncate(node.kind.mode_bits()),
        Mode::from_bits_truncate(node.mode),
        dev,
    )
    .map_err(|e| ChildError::sys(Step::Mknod, what.clone(), e))?;
    // mknod's mode is filtered by the umask: set it exactly.
    fchmodat(
        dir.as_fd(),
        name.as_path(),
        Mode::from_bits_truncate(node.mode),
        FchmodatFlags::NoFollowSymlink,
    )
    .or_else(|e| {
        if e == Errno::EOPNOTSUPP {
            Ok(())
        } else {
            Err(e)
        }
    })
    .map_err(|e| ChildError::sys(Step::Chmod, what.clone(), e))?;
    fchownat(
        dir.as_fd(),
        name.as_path(),
        Some(Uid::from_raw(node.uid)),
        Some(Gid::from_raw(node.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| ChildError::sys(Step::Chown, what, e))
}

/// Whether `st` is the node `node` asks for: its type, and for a character
/// or block device its numbers (a FIFO has none).
fn same_node(st: &libc::stat, node: &DeviceNode, dev: libc::dev_t) -> bool {
    let kind = node.kind.mode_bits();
    st.st_mode & libc::S_IFMT == kind && (kind == libc::S_IFIFO || st.st_rdev == dev)
}

/// In a user namespace `mknod` is refused: bind the host's node over an
/// empty file instead (runc does the same).
fn bind_host_node(root: &Root, node: &DeviceNode) -> Result<()> {
    let what = node.path.display().to_string();
    let target = root
        .ensure_file(&node.path)
        .map_err(|e| ChildError::sys(Step::Create, what.clone(), e))?;
    mount(
        Some(node.path.as_path()),
        fd_path(&target).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| ChildError::sys(Step::BindHostDevice, what, e))
}
