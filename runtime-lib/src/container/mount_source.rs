//! Bind sources the container's init cannot open itself.
//!
//! In a user namespace the init is root only over the ids mapped into it:
//! a source below a directory that only the host's root may search (mode
//! 0700, root's) is out of its reach, while runc binds it. The runtime, the
//! host's root, opens such a source for the init when asked
//! (`ChildSide::ask_for_mount_source`), from a thread that has joined the
//! init's mount namespace: the fd then names the file in the mount
//! namespace the init mounts in, which `mount(MS_BIND)` requires of its
//! source (an fd opened in the host's namespace is refused with EINVAL).
//! runc 1.2 does the same (`goCreateMountSources`). The init binds the fd
//! like any other source, so the mount's flags, propagation and the locks
//! the kernel puts on mounts copied into a less privileged namespace are
//! exactly those of a source the init opened itself.
//!
//! An idmapped bind mount is always made here: `mount_setattr(MOUNT_ATTR_IDMAP)`
//! needs `CAP_SYS_ADMIN` over the source's filesystem, which the host's root
//! has and an init in a user namespace has not. The runtime clones the
//! source's tree (`open_tree(OPEN_TREE_CLONE)`, with its submounts for an
//! `rbind`) in the init's mount namespace, idmaps it (every mount of it for
//! `ridmap`) and sends the detached tree; the init attaches it with
//! `move_mount`. runc 1.2 does the same (`mountFd`).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::plan::{Idmap, IdmapSource, MountKind, Plan};
use crate::sys;

/// Opens the source of bind mount `index` of `plan` (`O_PATH`) in the mount
/// namespace of `init`; `Err` says why not. Only a bind mount of the plan
/// can be asked for: the init names an index, never a path.
pub(crate) fn open_for_init(plan: &Plan, index: usize, init: Pid) -> Result<OwnedFd, String> {
    let op = plan
        .mounts
        .ops
        .iter()
        .find(|op| op.index == index && matches!(op.kind, MountKind::Bind { .. }))
        .ok_or_else(|| format!("mounts[{index}] is not a bind mount"))?;
    let source = op.source.clone();
    let ns = format!("/proc/{init}/ns/mnt");
    let idmapped = match &op.idmap {
        Some(idmap) => Some(Idmapped {
            userns: userns_for(idmap, init)?,
            recursive_bind: matches!(op.kind, MountKind::Bind { recursive: true }),
            recursive_idmap: idmap.recursive,
        }),
        None => None,
    };
    // A thread of its own: setns(CLONE_NEWNS) needs a thread that shares
    // its root and cwd with no other (unshare(CLONE_FS)), and the namespace
    // goes away with it.
    std::thread::spawn(move || open_in_namespace(Path::new(&ns), source, idmapped))
        .join()
        .unwrap_or_else(|_| Err("the thread opening it panicked".to_string()))
}

/// What an idmapped bind needs beyond its source.
struct Idmapped {
    /// The user namespace whose maps are the mount's mapping.
    userns: OwnedFd,
    /// `rbind`: the tree with its submounts.
    recursive_bind: bool,
    /// `ridmap`: every mount of the tree idmapped.
    recursive_idmap: bool,
}

/// The user namespace of an idmapped mount's mapping: one made with the
/// mount's own maps, or the container's (the init's, created or joined).
fn userns_for(idmap: &Idmap, init: Pid) -> Result<OwnedFd, String> {
    match &idmap.mapping {
        IdmapSource::Mappings { uid, gid } => super::idmap_userns::with_maps(uid, gid)
            .map_err(|e| format!("the user namespace of its mapping: {e}")),
        IdmapSource::ContainerUserNamespace => {
            let path = format!("/proc/{init}/ns/user");
            nix::fcntl::open(
                path.as_str(),
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| format!("open {path}: {}", e.desc()))
        }
    }
}

fn open_in_namespace(
    ns: &Path,
    source: PathBuf,
    idmapped: Option<Idmapped>,
) -> Result<OwnedFd, String> {
    let ns_fd = nix::fcntl::open(ns, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| format!("open {}: {}", ns.display(), e.desc()))?;
    nix::sched::unshare(CloneFlags::CLONE_FS)
        .map_err(|e| format!("unshare(CLONE_FS): {}", e.desc()))?;
    nix::sched::setns(&ns_fd, CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("join the container's mount namespace: {}", e.desc()))?;
    let fd = nix::fcntl::open(&source, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| format!("open {} as the runtime: {}", source.display(), e.desc()))?;
    match idmapped {
        Some(i) => idmapped_tree(&fd, &source, &i),
        None => Ok(fd),
    }
}

/// A detached copy of the tree at `source` (opened as `fd`), idmapped.
fn idmapped_tree(fd: &OwnedFd, source: &Path, i: &Idmapped) -> Result<OwnedFd, String> {
    let mut flags = sys::OPEN_TREE_CLONE;
    if i.recursive_bind {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let tree = sys::open_tree(fd.as_fd(), flags).map_err(|e| {
        format!(
            "open_tree({}, OPEN_TREE_CLONE): {}",
            source.display(),
            e.desc()
        )
    })?;
    sys::mount_setattr_idmap(tree.as_fd(), i.userns.as_fd(), i.recursive_idmap).map_err(|e| {
        let hint = match e {
            nix::errno::Errno::EINVAL => {
                " (the filesystem of the source, or of one of its submounts for ridmap, may not \
                 support idmapped mounts)"
            }
            _ => "",
        };
        format!(
            "mount_setattr(MOUNT_ATTR_IDMAP) on {}: {}{hint}",
            source.display(),
            e.desc()
        )
    })?;
    Ok(tree)
}
