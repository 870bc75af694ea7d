//! Building the container's root: propagation, the rootfs bind, each mount
//! of config.json in order, `pivot_root`, masked and read-only paths.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};

use super::fs::{fd_path, is_dir, Root};
use super::mount_point::{field, mount_on, open_target};
use crate::cgroups::ContainerCgroup;
use crate::error::{ChildError, Step};
use crate::plan::{MountKind, MountOp, Plan};
use crate::sync::ChildSide;
use crate::{stop_point, sys};

type Result<T> = std::result::Result<T, ChildError>;

fn flags(bits: u64) -> MsFlags {
    // Retain, not truncate: nix's MsFlags has no MS_NOSYMFOLLOW (Linux 5.10), which the plan's
    // `nosymfollow` sets; every bit comes from the plan's option table.
    MsFlags::from_bits_retain(bits)
}

fn mount_err(step: Step, target: &Path) -> impl FnOnce(Errno) -> ChildError + '_ {
    move |e| ChildError::sys(step, target.display().to_string(), e)
}

/// Step 1. Make every mount we inherited a slave (or what
/// `rootfsPropagation` asks for), so that nothing mounted from now on
/// propagates back to the host's namespace.
pub(crate) fn set_root_propagation(plan: &Plan) -> Result<()> {
    let mut p = plan.mounts.root_propagation.0;
    // The rootfs is bound from these mounts next, and the kernel refuses
    // to bind from an unbindable one: private until the switch of root,
    // unbindable after it (set_new_root_propagation).
    if p & libc::MS_UNBINDABLE != 0 {
        p = (p & !libc::MS_UNBINDABLE) | libc::MS_PRIVATE;
    }
    mount(None::<&str>, "/", None::<&str>, flags(p), None::<&str>)
        .map_err(mount_err(Step::MountPropagation, Path::new("/")))
}

/// Step 2. `pivot_root` refuses a new root whose parent mount is shared;
/// with shared root propagation, make just that parent private (runc does
/// the same).
pub(crate) fn make_parent_mount_private(rootfs: &Path) -> Result<()> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
        ChildError::other(
            Step::Read,
            "/proc/self/mountinfo".to_string(),
            e.to_string(),
        )
    })?;
    // Unescaped: a rootfs below a mount point with a space in its path
    // must find that mount, not the one above it.
    let parent = crate::mountinfo::mount_points(&info)
        .filter(|mp| rootfs.starts_with(mp))
        .max_by_key(|mp| mp.as_os_str().len())
        .unwrap_or_else(|| PathBuf::from("/"));
    mount(
        None::<&str>,
        &parent,
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(mount_err(Step::MountPrivatePropagation, &parent))
}

/// Step 3. Bind the rootfs onto itself: `pivot_root` needs the new root to
/// be a mount point, and the bind also lets a read-only remount of `/` later
/// affect only the container.
pub(crate) fn bind_rootfs(rootfs: &Path) -> Result<()> {
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(mount_err(Step::MountRootfsBind, rootfs))
}

/// Step 4. The mounts of config.json, in order.
/// Mounts every op in order. Returns the mounts whose `ro` waits for
/// [`make_readonly_last`], with an fd of each (the mount's root).
pub(crate) fn mount_all<'p>(
    plan: &'p Plan,
    root: &Root,
    cgroup: &ContainerCgroup,
    channel: &ChildSide,
) -> Result<Vec<(&'p MountOp, OwnedFd)>> {
    let mut readonly_last = Vec::new();
    for op in &plan.mounts.ops {
        if cfg!(debug_assertions) {
            stop_point::reached(&format!("init:mount-{}", op.index));
        }
        let top = mount_one(plan, root, op, cgroup, channel)?;
        if let (true, Some(top)) = (op.readonly_last, top) {
            readonly_last.push((op, top));
        }
    }
    Ok(readonly_last)
}

/// Makes the tmpfs mounts and `/dev` that asked for `ro` read-only, now
/// that what goes inside them is made (see `MountOp::readonly_last`).
/// On the fd taken when each was mounted (`mount_setattr`, no path looked
/// up: a createContainer hook may have mounted over `/proc` by now); a
/// bind remount through that fd where the kernel lacks `mount_setattr`.
pub(crate) fn make_readonly_last(mounts: &[(&MountOp, OwnedFd)]) -> Result<()> {
    for (op, target) in mounts {
        let at = libc::AT_EMPTY_PATH as libc::c_uint;
        match sys::mount_setattr(target.as_fd(), c"", at, sys::MOUNT_ATTR_RDONLY, 0, 0) {
            Err(Errno::ENOSYS) => {
                remount_bind(&fd_path(target), op.flags.0 | libc::MS_RDONLY, &field(op))?
            }
            r => r.map_err(|e| ChildError::sys(Step::MakeReadonly, field(op), e))?,
        }
    }
    Ok(())
}

/// Whether anything is done to mount `op` after it is made (a remount,
/// propagation, recursive attributes, a copy, the cgroup layout, a late
/// `ro`), so that the new mount must be found again ([`mount_on`]).
fn needs_handle(plan: &Plan, op: &MountOp) -> bool {
    let later = op.bind_remount.is_some()
        || op.root_label.is_some()
        || !op.propagation.is_empty()
        || op.recursive.is_some()
        || op.readonly_last
        || op.copy_up;
    later
        || match &op.kind {
            MountKind::Bind { .. } => false,
            MountKind::Cgroup => true,
            // The bind of the host's that may replace them is remounted.
            MountKind::Filesystem { fstype } => {
                plan.namespaces.in_user_namespace() && matches!(fstype.as_str(), "sysfs" | "mqueue")
            }
        }
}

/// The source of a bind mount, as an `O_PATH` fd. In a user namespace the
/// init may be denied what the host's root may open (a source below a
/// directory only root may search): the runtime opens it then, in the
/// container's mount namespace (`container/mount_source.rs`), as runc does.
fn open_bind_source(plan: &Plan, op: &MountOp, channel: &ChildSide) -> Result<OwnedFd> {
    let what = || format!("{} {}", field(op), op.source.display());
    if op.idmap.is_some() {
        return channel
            .ask_for_mount_source(op.index)?
            .map_err(|why| ChildError::other(Step::IdmappedMount, what(), why));
    }
    let own = nix::fcntl::open(
        &op.source,
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    );
    match own {
        Err(e @ (Errno::EACCES | Errno::EPERM)) if plan.namespaces.in_user_namespace() => {
            channel.ask_for_mount_source(op.index)?.map_err(|why| {
                ChildError::other(
                    Step::OpenBindSource,
                    what(),
                    format!("{} in the user namespace; {why}", e.desc()),
                )
            })
        }
        r => r.map_err(|e| ChildError::sys(Step::OpenBindSource, what(), e)),
    }
}

fn mount_one(
    plan: &Plan,
    root: &Root,
    op: &MountOp,
    cgroup: &ContainerCgroup,
    channel: &ChildSide,
) -> Result<Option<OwnedFd>> {
    let source = match op.kind {
        MountKind::Bind { .. } => Some(open_bind_source(plan, op, channel)?),
        _ => None,
    };
    let target = open_target(root, op, source.as_ref())?;
    target_opened(op);
    let find = || target.find_again(root);
    let find_again = needs_handle(plan, op).then_some(&find as &FindAgain);
    let what = field(op);
    let top = match &op.kind {
        MountKind::Bind { .. } => {
            let src = source
                .as_ref()
                .ok_or_else(|| ChildError::other(Step::BindMount, what.clone(), "no source"))?;
            let top = mount_on(&target.fd, find_again, &what, |to| {
                bind(op, src, &target.fd, to, &what)
            })?;
            if let (Some(remount), Some(top)) = (op.bind_remount, &top) {
                remount_bind(&fd_path(top), remount.0, &what)?;
            }
            top
        }
        MountKind::Filesystem { fstype } if op.copy_up => {
            Some(mount_copied_up(plan, op, fstype, &target.fd, &find)?)
        }
        MountKind::Filesystem { fstype } => {
            let mut remount = None;
            let top = mount_on(&target.fd, find_again, &what, |to| {
                remount = mount_fs(plan, op, fstype, to)?;
                Ok(())
            })?;
            match (remount, &top, &op.root_label) {
                (Some(bits), Some(top), _) => remount_host_bind(op, top, bits)?,
                // Not on the host's instance that a user namespace binds.
                (None, Some(top), Some(label)) => {
                    let dir = read_dir_fd(top)
                        .map_err(|e| ChildError::sys(Step::OpenNewMount, what.clone(), e))?;
                    super::selinux::set_root_label(dir, label, &what)?;
                }
                _ => {}
            }
            top
        }
        MountKind::Cgroup => Some(super::cgroupfs::mount_cgroups(
            plan, op, &target.fd, &find, cgroup,
        )?),
    };
    if let Some(top) = &top {
        set_propagation(op, top)?;
    }
    Ok(top)
}

/// Binds `src` on the mount point `point` (whose path is `to`). An idmapped
/// bind's source is the runtime's detached, idmapped tree
/// ([`open_bind_source`]): attached with `move_mount`, onto the fd.
fn bind(op: &MountOp, src: &OwnedFd, point: &OwnedFd, to: &str, what: &str) -> Result<()> {
    if op.idmap.is_some() {
        return sys::move_mount(src.as_fd(), point.as_fd())
            .map_err(|e| ChildError::sys(Step::MoveMount, what.to_string(), e));
    }
    mount(
        Some(fd_path(src).as_str()),
        to,
        None::<&str>,
        flags(op.flags.0),
        None::<&str>,
    )
    .map_err(|e| {
        ChildError::sys(
            Step::BindMount,
            format!("{what} from {}", op.source.display()),
            e,
        )
    })
}

pub(crate) type FindAgain<'a> = dyn Fn() -> std::result::Result<OwnedFd, Errno> + 'a;

/// The bind of the host's sysfs or mqueue that replaced a mount a user
/// namespace may not make gets the mount's flags.
fn remount_host_bind(op: &MountOp, top: &OwnedFd, bits: u64) -> Result<()> {
    remount_bind(&fd_path(top), bits, &field(op))?;
    if bits & libc::MS_RDONLY != 0 {
        // The host's /sys came with its submounts (its cgroup tree among
        // them): read-only means all of them (runc CVE-2023-25809).
        sys::mount_setattr(
            top.as_fd(),
            c"",
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            sys::MOUNT_ATTR_RDONLY,
            0,
            0,
        )
        .map_err(|e| ChildError::sys(Step::MakeReadonly, field(op), e))?;
    }
    Ok(())
}

/// The propagation and recursive attributes of `op`, on the new mount.
fn set_propagation(op: &MountOp, top: &OwnedFd) -> Result<()> {
    for p in &op.propagation {
        mount(
            None::<&str>,
            fd_path(top).as_str(),
            None::<&str>,
            flags(p.0),
            None::<&str>,
        )
        .map_err(|e| ChildError::sys(Step::SetPropagation, field(op), e))?;
    }
    if let Some(r) = op.recursive {
        sys::mount_setattr(
            top.as_fd(),
            c"",
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            r.set,
            r.clear,
            0,
        )
        .map_err(|e| ChildError::sys(Step::MountSetattr, field(op), e))?;
    }
    Ok(())
}

/// `tmpcopyup`: mount the tmpfs, copy what it covers into it, and only then
/// make it read-only if asked (the copy needs to write).
fn mount_copied_up(
    plan: &Plan,
    op: &MountOp,
    fstype: &str,
    target: &OwnedFd,
    find_again: &FindAgain<'_>,
) -> Result<OwnedFd> {
    let open_err = |e| ChildError::sys(Step::TmpcopyupOpen, field(op), e);
    // Opened before the mount covers it: the fd keeps the image's directory
    // reachable for the copy.
    let covered = read_dir_fd(target).map_err(open_err)?;
    let readonly = op.flags.0 & libc::MS_RDONLY != 0;
    let writable = MountOp {
        flags: crate::plan::MsFlags(op.flags.0 & !libc::MS_RDONLY),
        ..op.clone()
    };
    let top = mount_on(target, Some(find_again), &field(op), |to| {
        mount_fs(plan, &writable, fstype, to).map(drop)
    })?
    .ok_or_else(|| ChildError::other(Step::Tmpcopyup, field(op), "the new mount was not found"))?;
    let fresh = read_dir_fd(&top).map_err(open_err)?;
    super::copyup::copy_tree(covered.as_fd(), fresh.as_fd())
        .map_err(|e| ChildError::sys(Step::TmpcopyupCopy, field(op), e))?;
    if readonly {
        let data = (!op.data.is_empty()).then_some(op.data.as_str());
        mount(
            None::<&str>,
            fd_path(&top).as_str(),
            None::<&str>,
            flags(op.flags.0 | libc::MS_REMOUNT),
            data,
        )
        .map_err(|e| ChildError::sys(Step::RemountReadonly, field(op), e))?;
    }
    Ok(top)
}

/// A readable directory fd from an `O_PATH` one.
fn read_dir_fd(dir: &OwnedFd) -> std::result::Result<OwnedFd, Errno> {
    nix::fcntl::openat(
        dir.as_fd(),
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
}

/// The moment between opening and checking a mount point and mounting on
/// it, where a rename or a symlink swapped in must make no difference
/// (CVE-2021-30465).
fn target_opened(op: &MountOp) {
    if cfg!(debug_assertions) {
        stop_point::reached(&format!("init:mount-{}-target", op.index));
    }
}

/// Mounts a filesystem on `to` (the path of the mount point's fd); returns
/// the flags a bind fallback still needs.
fn mount_fs(plan: &Plan, op: &MountOp, fstype: &str, to: &str) -> Result<Option<u64>> {
    let data = (!op.data.is_empty()).then_some(op.data.as_str());
    let source = if op.source.as_os_str().is_empty() {
        Path::new(fstype)
    } else {
        &op.source
    };
    let res = mount(Some(source), to, Some(fstype), flags(op.flags.0), data);
    match res {
        // Without its own network (sysfs) or IPC (mqueue) namespace, a
        // user namespace may not mount these: bind the host's instead, as
        // runc does.
        Err(Errno::EPERM)
            if plan.namespaces.in_user_namespace() && matches!(fstype, "sysfs" | "mqueue") =>
        {
            let host = if fstype == "sysfs" {
                "/sys"
            } else {
                "/dev/mqueue"
            };
            mount(
                Some(host),
                to,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| ChildError::sys(Step::BindHost, format!("{host} for {}", field(op)), e))?;
            let rest = op.flags.0 & !(libc::MS_REMOUNT | libc::MS_BIND | libc::MS_REC);
            Ok((rest != 0).then_some(rest))
        }
        r => r.map(|()| None).map_err(|e| {
            let mut err = ChildError::sys(Step::MountFs(fstype.to_string()), field(op), e);
            // The kernel says only EINVAL when SELinux does not take the label.
            if let (Errno::EINVAL, Some(label)) = (e, &plan.mounts.label) {
                if op.data.contains("context=") {
                    err.detail.push_str(&format!(
                        " (with linux.mountLabel {label:?} as its context= option: is the \
                         context one the loaded policy knows?)"
                    ));
                }
            }
            err
        }),
    }
}

/// Applies `ro`, `nosuid`... to a bind mount (the first `MS_BIND` call
/// ignores them). In a user namespace the kernel refuses to clear flags the
/// source mount has locked: on EPERM, keep those and try again.
pub(crate) fn remount_bind(path: &str, bits: u64, what: &str) -> Result<()> {
    let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    match mount(
        None::<&str>,
        path,
        None::<&str>,
        base | flags(bits),
        None::<&str>,
    ) {
        Err(Errno::EPERM) => {
            let locked = statvfs(path)
                .map(|s| locked_flags(s.flags()))
                .map_err(|e| ChildError::sys(Step::Statvfs, what.to_string(), e))?;
            mount(
                None::<&str>,
                path,
                None::<&str>,
                base | flags(bits) | locked,
                None::<&str>,
            )
            .map_err(|e| ChildError::sys(Step::Remount, what.to_string(), e))
        }
        r => r.map_err(|e| ChildError::sys(Step::Remount, what.to_string(), e)),
    }
}

/// statfs's `ST_RELATIME` (Linux's include/linux/statfs.h), which nix names
/// only for glibc.
const ST_RELATIME: FsFlags = FsFlags::from_bits_retain(0x1000);

fn locked_flags(f: FsFlags) -> MsFlags {
    let mut m = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            m |= ms;
        }
    }
    m
}

/// Step 6. Make the rootfs `/`. With `pivot_root(".", ".")` the old root
/// ends up stacked on the new one, so no directory is needed for it; it is
/// made a slave first so that detaching it cannot unmount anything on the
/// host. The old root is reached through an fd opened before: after the
/// pivot a path's last "." does not step into the mount stacked on the cwd,
/// so `mount(".")` would make the *new* root a slave, recursively, and the
/// container's own shared mounts (a bind with `shared`) with it (runc too
/// changes to the old root's fd first).
pub(crate) fn pivot_to(rootfs: &Path) -> Result<()> {
    let old_root = nix::fcntl::open(
        "/",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| ChildError::sys(Step::OpenOldRoot, "/".to_string(), e))?;
    nix::unistd::chdir(rootfs)
        .map_err(|e| ChildError::sys(Step::Chdir, rootfs.display().to_string(), e))?;
    nix::unistd::pivot_root(".", ".")
        .map_err(|e| ChildError::sys(Step::PivotRoot, rootfs.display().to_string(), e))?;
    nix::unistd::fchdir(&old_root).map_err(|e| ChildError::sys(Step::ChdirOldRoot, None, e))?;
    drop(old_root);
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| ChildError::sys(Step::MakeOldRootSlave, None, e))?;
    umount2(".", MntFlags::MNT_DETACH)
        .map_err(|e| ChildError::sys(Step::DetachOldRoot, None, e))?;
    nix::unistd::chdir("/").map_err(|e| ChildError::sys(Step::Chdir, "/".to_string(), e))
}

/// Step 7. `rootfsPropagation: shared` puts the container's `/` in a peer
/// group of its own (runtime-spec): private first, so it leaves any group
/// it inherited from the host, then shared.
pub(crate) fn set_new_root_propagation(plan: &Plan) -> Result<()> {
    let p = plan.mounts.root_propagation.0;
    if p & libc::MS_UNBINDABLE != 0 {
        return mount(None::<&str>, "/", None::<&str>, flags(p), None::<&str>)
            .map_err(mount_err(Step::MountUnbindablePropagation, Path::new("/")));
    }
    if p & libc::MS_SHARED == 0 {
        return Ok(());
    }
    let rec = p & libc::MS_REC;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        flags(libc::MS_PRIVATE | rec),
        None::<&str>,
    )
    .map_err(mount_err(Step::MountPrivatePropagation, Path::new("/")))?;
    mount(None::<&str>, "/", None::<&str>, flags(p), None::<&str>)
        .map_err(mount_err(Step::MountSharedPropagation, Path::new("/")))
}

/// Step 6, `--no-pivot`: move the rootfs over `/` and chroot into it, for
/// roots where `pivot_root` is impossible (an initramfs). The host's mounts
/// stay reachable under the chroot's parent, which is why this is opt-in.
pub(crate) fn move_root_to(rootfs: &Path) -> Result<()> {
    nix::unistd::chdir(rootfs)
        .map_err(|e| ChildError::sys(Step::Chdir, rootfs.display().to_string(), e))?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .map_err(|e| ChildError::sys(Step::MoveRootfs, rootfs.display().to_string(), e))?;
    nix::unistd::chroot(".")
        .map_err(|e| ChildError::sys(Step::Chroot, rootfs.display().to_string(), e))?;
    nix::unistd::chdir("/").map_err(|e| ChildError::sys(Step::Chdir, "/".to_string(), e))
}

/// The host's null device, opened before `pivot_root` and checked to be
/// the character device 1:3: masks are bind mounts of it, and the
/// container's own `/dev/null` may have been replaced by a symlink (runc
/// CVE-2025-31133).
pub(crate) fn open_null() -> Result<OwnedFd> {
    let what = || "/dev/null".to_string();
    let fd = nix::fcntl::open(
        "/dev/null",
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| ChildError::sys(Step::Open, what(), e))?;
    let st = nix::sys::stat::fstat(&fd).map_err(|e| ChildError::sys(Step::Stat, what(), e))?;
    let is_chr = st.st_mode & libc::S_IFMT == libc::S_IFCHR;
    if !is_chr || st.st_rdev != libc::makedev(1, 3) {
        return Err(ChildError::other(
            Step::Mask,
            what(),
            "the runtime's /dev/null is not the null device (1:3)",
        ));
    }
    Ok(fd)
}

/// Opens each of `paths` inside the (new) root, skipping missing ones.
fn open_existing(root: &Root, p: &Path) -> Result<Option<OwnedFd>> {
    match root.open_in(p, OFlag::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(ChildError::sys(Step::Open, p.display().to_string(), e)),
    }
}

/// Step 8 (after the create hooks, before `pivot_root`). `maskedPaths`: a directory gets an empty read-only tmpfs, a file
/// the null device. Missing paths are fine (runc). Both mounts are made
/// detached and moved onto an fd of the target (looked up inside the root):
/// no path is resolved at mount time, through `/proc` or otherwise.
/// The tmpfs over a directory gets `label` (`linux.mountLabel`) as its
/// context, as under runc.
pub(crate) fn mask_paths(
    root: &Root,
    paths: &[PathBuf],
    label: Option<&str>,
    null: &OwnedFd,
) -> Result<()> {
    let label = label
        .map(CString::new)
        .transpose()
        .map_err(|_| ChildError::other(Step::MountLabel, None, "contains a NUL byte"))?;
    let mut options = vec![(c"size", Some(c"0k"))];
    if let Some(l) = &label {
        options.push((c"context", Some(l.as_c_str())));
    }
    for p in paths {
        let Some(target) = open_existing(root, p)? else {
            continue;
        };
        let what = p.display().to_string();
        let mnt = if is_dir(&target) {
            sys::new_detached_mount(c"tmpfs", &options, sys::MOUNT_ATTR_RDONLY)
        } else {
            sys::open_tree(null.as_fd(), sys::OPEN_TREE_CLONE)
        }
        .map_err(|e| ChildError::sys(Step::MakeMask, what.clone(), e))?;
        sys::move_mount(mnt.as_fd(), target.as_fd())
            .map_err(|e| ChildError::sys(Step::Mask, what, e))?;
    }
    Ok(())
}

/// Step 9. `readonlyPaths`: a recursive bind of each onto itself, made
/// read-only (and nosuid, nodev, noexec) while still detached, then moved
/// onto the fd of the path.
pub(crate) fn readonly_paths(root: &Root, paths: &[PathBuf]) -> Result<()> {
    for p in paths {
        let Some(target) = open_existing(root, p)? else {
            continue;
        };
        let what = p.display().to_string();
        let tree = sys::open_tree(
            target.as_fd(),
            sys::OPEN_TREE_CLONE | libc::AT_RECURSIVE as libc::c_uint,
        )
        .map_err(|e| ChildError::sys(Step::BindReadonlyPath, what.clone(), e))?;
        sys::mount_setattr(
            tree.as_fd(),
            c"",
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            sys::MOUNT_ATTR_RDONLY
                | sys::MOUNT_ATTR_NOSUID
                | sys::MOUNT_ATTR_NODEV
                | sys::MOUNT_ATTR_NOEXEC,
            0,
            0,
        )
        .map_err(|e| ChildError::sys(Step::MakeReadonly, what.clone(), e))?;
        sys::move_mount(tree.as_fd(), target.as_fd())
            .map_err(|e| ChildError::sys(Step::BindReadonlyPath, what, e))?;
    }
    Ok(())
}

/// Step 10. `root.readonly`: the rootfs bind becomes read-only.
pub(crate) fn remount_root_readonly() -> Result<()> {
    remount_bind("/", libc::MS_RDONLY, "/")
}
