//! Writes to procfs that nothing in the container can redirect (runc
//! CVE-2025-52881, CVE-2019-16884, CVE-2023-28642: a `/proc` that is a
//! symlink, a volume over it, or a tmpfs over `/proc/sys` turned the
//! runtime's writes into writes to files the attacker chose).
//!
//! A [`ProcFs`] is an fd of a procfs root checked with `fstatfs`; files
//! are opened beneath it with `openat2(RESOLVE_BENEATH | RESOLVE_NO_XDEV |
//! RESOLVE_NO_MAGICLINKS)` (no `..` out of it, no crossing into a mount on
//! top of any of its directories, no magic links) and checked again with
//! `fstatfs` before anything is written.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};

use crate::error::{ChildError, Step};
use crate::sys;

/// The root of a procfs instance, checked to be one.
pub(crate) struct ProcFs {
    root: OwnedFd,
}

fn is_procfs(fd: &OwnedFd) -> bool {
    fstatfs(fd).is_ok_and(|s| s.filesystem_type() == PROC_SUPER_MAGIC)
}

impl ProcFs {
    /// The procfs at `/proc` of the current mount namespace: before the
    /// container's root is in place that is the host's.
    pub(crate) fn at_proc() -> Result<Self, ChildError> {
        let fd = nix::fcntl::open(
            "/proc",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ChildError::sys(Step::Open, "/proc".to_string(), e))?;
        Self::checked(fd, "/proc")
    }

    /// A procfs instance of our own (fsopen/fsmount: of the current pid
    /// namespace, reachable by no path, with nothing mounted over any of its
    /// files). Where the kernel refuses one (no new mount API), the `/proc`
    /// of the current mount namespace, checked.
    pub(crate) fn private() -> Result<Self, ChildError> {
        match sys::new_detached_mount(
            c"proc",
            &[],
            sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV | sys::MOUNT_ATTR_NOEXEC,
        ) {
            Ok(fd) => Self::checked(fd, "a private procfs"),
            Err(Errno::ENOSYS) => Self::at_proc(),
            Err(e) => Err(ChildError::sys(Step::MountPrivateProcfs, None, e)),
        }
    }

    fn checked(fd: OwnedFd, what: &str) -> Result<Self, ChildError> {
        if !is_procfs(&fd) {
            return Err(ChildError::other(
                Step::Procfs,
                what.to_string(),
                "is not a procfs mount: refusing to write through it",
            ));
        }
        Ok(ProcFs { root: fd })
    }

    /// Opens `rel` beneath the root (no `..` out, no crossing into another
    /// mount, no magic links) and checks that it is still procfs.
    fn open_beneath(&self, rel: &str, flags: OFlag) -> Result<OwnedFd, Errno> {
        let how = OpenHow::new().flags(flags | OFlag::O_CLOEXEC).resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_XDEV
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
        let fd = loop {
            match openat2(self.root.as_fd(), Path::new(rel), how) {
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                r => break r?,
            }
        };
        if !is_procfs(&fd) {
            return Err(Errno::EXDEV);
        }
        Ok(fd)
    }

    /// The fds this process has open (`self/fd`), but the one used to list
    /// them.
    pub(crate) fn own_fds(&self) -> Result<Vec<RawFd>, Errno> {
        let fd = self.open_beneath("self/fd", OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let listing = fd.as_raw_fd();
        let mut dir = nix::dir::Dir::from_fd(fd)?;
        let mut fds = Vec::new();
        for entry in dir.iter() {
            let entry = entry?;
            let name = entry.file_name().to_str().unwrap_or_default();
            if let Ok(n) = name.parse::<RawFd>() {
                if n != listing {
                    fds.push(n);
                }
            }
        }
        Ok(fds)
    }

    /// Opens `rel` for writing, beneath the root and checked (see
    /// [`ProcFs::write`]), for a caller that must tell a missing file from
    /// a failed write.
    pub(crate) fn open_write(&self, rel: &str) -> Result<OwnedFd, Errno> {
        self.open_beneath(rel, OFlag::O_WRONLY | OFlag::O_NOCTTY)
    }

    /// Writes `value` to `rel` (relative to the procfs root, e.g.
    /// `sys/net/ipv4/ip_forward` or `self/oom_score_adj`).
    pub(crate) fn write(&self, rel: &str, value: &str) -> Result<(), Errno> {
        let fd = self.open_write(rel)?;
        let n = nix::unistd::write(&fd, value.as_bytes())?;
        if n != value.len() {
            return Err(Errno::EIO);
        }
        Ok(())
    }
}
