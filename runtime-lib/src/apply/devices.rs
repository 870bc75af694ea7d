//! Device nodes and `/dev` symlinks inside the rootfs, before `pivot_root`.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, AT_FDCWD};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fchmodat, fstat, fstatat, mknodat, FchmodatFlags, Mode, SFlag};
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
    // The mode (mknod's is filtered by the umask) and owner are set through
    // an fd of the node just made, checked to be it: the name could be
    // another file by now (a `/dev` shared with another container).
    let made = nix::fcntl::openat(
        dir.as_fd(),
        name.as_path(),
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ChildError::sys(Step::Open, what.clone(), e))?;
    let st = fstat(&made).map_err(|e| ChildError::sys(Step::Stat, what.clone(), e))?;
    if !same_node(&st, node, dev) {
        return Err(ChildError::other(
            Step::CreateDevice,
            what,
            "the node was replaced by another file while it was made",
        ));
    }
    fchmodat(
        AT_FDCWD,
        fd_path(&made).as_str(),
        Mode::from_bits_truncate(node.mode),
        FchmodatFlags::FollowSymlink,
    )
    .map_err(|e| ChildError::sys(Step::Chmod, what.clone(), e))?;
    fchownat(
        made.as_fd(),
        "",
        Some(Uid::from_raw(node.uid)),
        Some(Gid::from_raw(node.gid)),
        AtFlags::AT_EMPTY_PATH,
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
/// empty file instead (runc does the same). The file mounted on is opened
/// without following a symlink at its name and checked where it is, like a
/// mount of config.json: a symlink there (`/dev/null -> /proc/...`) must
/// not carry the bind elsewhere.
fn bind_host_node(root: &Root, node: &DeviceNode) -> Result<()> {
    let what = node.path.display().to_string();
    let refuse = |why: String| ChildError::other(Step::BindHostDevice, what.clone(), why);
    let nofollow = || root.open_in(&node.path, OFlag::O_NOFOLLOW);
    match nofollow() {
        Ok(fd) if !is_file_or_device(&fd) => {
            return Err(refuse("a symlink or directory is there".into()))
        }
        Ok(_) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(ChildError::sys(Step::Open, what, e)),
    }
    root.ensure_file(&node.path)
        .map_err(|e| ChildError::sys(Step::Create, what.clone(), e))?;
    let target = nofollow().map_err(|e| ChildError::sys(Step::Open, what.clone(), e))?;
    if !is_file_or_device(&target) {
        return Err(refuse("a symlink or directory is there".into()));
    }
    let at = root.locate(&target).map_err(|e| refuse(e.to_string()))?;
    if at.starts_with("/proc") {
        return Err(refuse(format!("it is {} (below /proc)", at.display())));
    }
    mount(
        Some(node.path.as_path()),
        fd_path(&target).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| ChildError::sys(Step::BindHostDevice, what, e))
}

fn is_file_or_device(fd: &std::os::fd::OwnedFd) -> bool {
    fstat(fd).is_ok_and(|st| {
        let kind = st.st_mode & libc::S_IFMT;
        kind == libc::S_IFREG || kind == libc::S_IFCHR || kind == libc::S_IFBLK
    })
}
