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

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::plan::{MountKind, Plan};

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
    // A thread of its own: setns(CLONE_NEWNS) needs a thread that shares
    // its root and cwd with no other (unshare(CLONE_FS)), and the namespace
    // goes away with it.
    std::thread::spawn(move || open_in_namespace(Path::new(&ns), &source))
        .join()
        .unwrap_or_else(|_| Err("the thread opening it panicked".to_string()))
}

fn open_in_namespace(ns: &Path, source: &Path) -> Result<OwnedFd, String> {
    let ns_fd = nix::fcntl::open(ns, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| format!("open {}: {}", ns.display(), e.desc()))?;
    nix::sched::unshare(CloneFlags::CLONE_FS)
        .map_err(|e| format!("unshare(CLONE_FS): {}", e.desc()))?;
    nix::sched::setns(&ns_fd, CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("join the container's mount namespace: {}", e.desc()))?;
    nix::fcntl::open(source, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| format!("open {} as the runtime: {}", source.display(), e.desc()))
}
