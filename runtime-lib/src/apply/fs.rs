//! Paths inside the container's root, resolved so that no symlink in the
//! rootfs can lead outside it (runc CVE-2021-30465): every lookup goes
//! through `openat2(RESOLVE_IN_ROOT)` from an fd of the rootfs, and mounts
//! target the resulting fd through `/proc/self/fd/N`.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};

use crate::error::{ChildError, Step};
use crate::sys;

/// An open rootfs directory that lookups are confined to.
pub(crate) struct Root {
    fd: OwnedFd,
}

/// The name of an fd as a mount source or target.
pub(crate) fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn relative(path: &Path) -> &Path {
    path.strip_prefix("/").unwrap_or(path)
}

impl Root {
    pub(crate) fn open(path: &Path) -> Result<Self, ChildError> {
        let fd = open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ChildError::sys(Step::OpenRootfs, path.display().to_string(), e))?;
        Ok(Root { fd })
    }

    /// Opens `path` (absolute in the container) with `flags` | `O_PATH`.
    pub(crate) fn open_in(&self, path: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
        let rel = relative(path);
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let how = OpenHow::new()
            .flags(flags | OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        loop {
            match openat2(self.fd.as_fd(), rel, how) {
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                r => return r,
            }
        }
    }

    /// Opens `path`, which [`Root::resolve`] made free of symlinks, refusing
    /// any symlink met now (`ELOOP`): a path swapped for a symlink since it
    /// was resolved is not followed anywhere.
    pub(crate) fn open_resolved(&self, path: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
        let rel = relative(path);
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let how = OpenHow::new()
            .flags(flags | OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(
                ResolveFlag::RESOLVE_IN_ROOT
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS,
            );
        loop {
            match openat2(self.fd.as_fd(), rel, how) {
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                r => return r,
            }
        }
    }

    /// The path of what `fd` names, in the container: read back from the
    /// fd itself (`/proc/self/fd/N` of the host's procfs, which is `/proc`
    /// until `pivot_root`), then looked up again without following any
    /// symlink and required to lead to the same file in the same mount. A
    /// check of the result is a check of the object `fd` names, whatever
    /// path led to it and whatever was renamed or swapped meanwhile.
    pub(crate) fn locate(&self, fd: &OwnedFd) -> Result<PathBuf, Located> {
        let read = |fd: &OwnedFd| {
            nix::fcntl::readlink(fd_path(fd).as_str())
                .map(PathBuf::from)
                .map_err(Located::Sys)
        };
        let root = read(&self.fd)?;
        let host = read(fd)?;
        let Ok(rel) = host.strip_prefix(&root) else {
            return Err(Located::Outside(host));
        };
        let path = Path::new("/").join(rel);
        let same = self
            .open_resolved(&path, OFlag::empty())
            .and_then(|again| Ok(sys::file_id(again.as_fd())? == sys::file_id(fd.as_fd())?));
        match same {
            Ok(true) => Ok(path),
            Ok(false) | Err(Errno::ENOENT | Errno::ELOOP | Errno::ENOTDIR) => {
                Err(Located::Moved(path))
            }
            Err(e) => Err(Located::Sys(e)),
        }
    }

    /// Resolves every symlink of `path` that exists, as the kernel would
    /// with the rootfs as `/` (`..` stops at the root, absolute targets
    /// restart from it), and appends the part that does not exist yet. The
    /// result has no symlink left, so the missing directories can be created
    /// one by one — a dangling symlink's target is created inside the root,
    /// never outside.
    pub(crate) fn resolve(&self, path: &Path) -> Result<PathBuf, Errno> {
        let mut pending: Vec<std::ffi::OsString> =
            path.components().rev().filter_map(normal).collect();
        let mut resolved = PathBuf::from("/");
        let mut links = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                resolved.pop();
                continue;
            }
            let candidate = resolved.join(&name);
            let fd = match self.open_in(&candidate, OFlag::O_NOFOLLOW) {
                Err(Errno::ENOENT) => {
                    resolved = candidate;
                    continue;
                }
                r => r?,
            };
            let is_link = fstat(&fd).map(|st| {
                SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK
            })?;
            if !is_link {
                resolved = candidate;
                continue;
            }
            links += 1;
            if links > 40 {
                return Err(Errno::ELOOP);
            }
            let target = PathBuf::from(nix::fcntl::readlinkat(fd.as_fd(), "")?);
            if target.is_absolute() {
                resolved = PathBuf::from("/");
            }
            pending.extend(target.components().rev().filter_map(normal));
        }
        Ok(resolved)
    }

    /// Makes sure the directory `path` exists (creating missing components
    /// inside the root, 0755) and returns an `O_PATH` fd of it.
    pub(crate) fn mkdir_all(&self, path: &Path) -> Result<OwnedFd, Errno> {
        match self.open_in(path, OFlag::O_DIRECTORY) {
            Err(Errno::ENOENT) => {}
            r => return r,
        }
        let path = &self.resolve(path)?;
        let mut current = PathBuf::from("/");
        for comp in relative(path).components() {
            let parent = self.open_in(&current, OFlag::O_DIRECTORY)?;
            current.push(comp);
            match mkdirat(
                parent.as_fd(),
                comp.as_os_str(),
                Mode::from_bits_truncate(0o755),
            ) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
        }
        self.open_in(path, OFlag::O_DIRECTORY)
    }

    /// Makes sure `path` exists as a regular file (creating it empty if
    /// missing, and its parents) and returns an `O_PATH` fd of it.
    pub(crate) fn ensure_file(&self, path: &Path) -> Result<OwnedFd, Errno> {
        match self.open_in(path, OFlag::empty()) {
            Err(Errno::ENOENT) => {}
            r => return r,
        }
        let path = &self.resolve(path)?;
        let parent = self.mkdir_all(path.parent().unwrap_or(Path::new("/")))?;
        let name = path.file_name().ok_or(Errno::EINVAL)?;
        // Reopen the parent as a real directory fd: creating needs one.
        let dir = nix::fcntl::openat(
            parent.as_fd(),
            ".",
            OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | OFlag::O_RDONLY,
            Mode::empty(),
        )?;
        match nix::fcntl::openat(
            dir.as_fd(),
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        ) {
            Ok(_) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        self.open_in(path, OFlag::empty())
    }

    /// Makes sure a mount point of the same kind as `source` (file or
    /// directory) exists at `dest`.
    pub(crate) fn ensure_mountpoint(
        &self,
        dest: &Path,
        source_is_dir: bool,
    ) -> Result<OwnedFd, Errno> {
        if source_is_dir {
            self.mkdir_all(dest)
        } else {
            self.ensure_file(dest)
        }
    }

    /// The parent directory of `path` as a real directory fd, created if
    /// needed, and the final name: for `mknodat`/`symlinkat`.
    pub(crate) fn parent_dir(&self, path: &Path) -> Result<(OwnedFd, PathBuf), Errno> {
        let parent = self.mkdir_all(path.parent().unwrap_or(Path::new("/")))?;
        let dir = nix::fcntl::openat(
            parent.as_fd(),
            ".",
            OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | OFlag::O_RDONLY,
            Mode::empty(),
        )?;
        let name = path.file_name().ok_or(Errno::EINVAL)?;
        Ok((dir, PathBuf::from(name)))
    }
}

/// Why [`Root::locate`] found no path in the container for an fd.
#[derive(Debug)]
pub(crate) enum Located {
    /// It is not below the rootfs: the host path it has.
    Outside(PathBuf),
    /// The path read from it leads elsewhere now: it was moved meanwhile.
    Moved(PathBuf),
    /// `readlink` or `statx` failed.
    Sys(Errno),
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Located::Outside(p) => write!(f, "it is outside the rootfs, at {}", p.display()),
            Located::Moved(p) => write!(
                f,
                "it was moved while it was opened ({} leads elsewhere now)",
                p.display()
            ),
            Located::Sys(e) => write!(f, "its path cannot be read back: {}", e.desc()),
        }
    }
}

/// Whether an fd refers to a directory.
pub(crate) fn is_dir(fd: &OwnedFd) -> bool {
    fstat(fd)
        .map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
        .unwrap_or(false)
}

/// A path component as a name, `..` kept (resolution handles it), `/` and
/// `.` dropped.
fn normal(c: std::path::Component<'_>) -> Option<std::ffi::OsString> {
    match c {
        std::path::Component::Normal(n) => Some(n.to_os_string()),
        std::path::Component::ParentDir => Some("..".into()),
        _ => None,
    }
}
