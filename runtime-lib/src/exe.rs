//! Running from an unwritable view of the runtime's own binary (runc
//! CVE-2019-5736).
//!
//! The container's init and `exec`'d processes are forks of the runtime
//! until they `execve` the container's program, and a program in the
//! container can be `#!/proc/self/exe`: either way a process in the
//! container's pid namespace has the runtime's binary as `/proc/<pid>/exe`
//! for a while, and a container process that opens it then can write to the
//! host's binary once the runtime has exited. [`reexec_from_sealed_copy`]
//! re-executes the runtime, before anything is forked, from a file that no
//! one can ever open for writing, so that what the container can reach is
//! that file:
//!
//! 1. first choice, no copy: the binary seen through a private overlayfs
//!    made of the binary's directory and a second directory (the state
//!    root, or an empty tmpfs), both as lower layers. The overlay is a detached mount (`fsopen`/`fsmount`), in no
//!    mount namespace and at no path, and an overlay without an upper layer
//!    is read-only in its superblock: every open for writing fails with
//!    EROFS, and no remount (there is no mount to remount: `mount_setattr`
//!    on the fd clears nothing that matters) can make it writable. The
//!    layers are the host's files, read-only: nothing is copied, and the
//!    page cache is the host binary's (runc 1.2 does the same).
//! 2. fallback, where the kernel or the caller's rights refuse the overlay
//!    (no new mount API, no `lowerdir` given by fd, rootless without mount
//!    rights): a memfd copy of the binary, sealed against every write. That
//!    costs one read and one write of the whole binary per command.
//!
//! Both are checked the same way after the re-exec
//! ([`running_from_sealed_copy`]): a sealed memfd, or an overlayfs file that
//! the kernel refuses to open for writing with EROFS.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, OVERLAYFS_SUPER_MAGIC};

use crate::error::Error;
use crate::sys;

/// The seals that make a memfd immutable (and its seals too).
fn seals() -> SealFlag {
    SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE
        | SealFlag::F_SEAL_FUTURE_WRITE
}

/// Copies with read(2) and write(2) only. `std::io::copy` may splice,
/// and pages still referenced from a pipe count as pins that make
/// `F_SEAL_WRITE` fail with EBUSY (seen once in 4,000 creates).
fn copy_plainly(from: &mut File, to: &mut File) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => to.write_all(&buf[..n])?,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `F_SEAL_WRITE` waits a little for transient page references and then
/// gives EBUSY; they go away by themselves, so try again for a while.
fn seal(copy: &File) -> nix::Result<()> {
    let mut tries = 0;
    loop {
        match fcntl(copy.as_fd(), FcntlArg::F_ADD_SEALS(seals())) {
            Err(Errno::EBUSY) if tries < 100 => {
                tries += 1;
                // Why a sleep: a retry, not a wait for an event; the page
                // references go without any notification to wait on.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            r => return r.map(drop),
        }
    }
}

/// Whether the kernel refuses every open of `fd`'s file for writing
/// because its superblock is read-only (EROFS), and the file is on an
/// overlayfs: what [`read_only_view`] makes. A file on a read-only *mount*
/// of a writable filesystem does not pass (its open fails with ETXTBSY, or
/// succeeds): a mount flag can be cleared, a lower-only overlay's
/// superblock cannot be made writable.
fn is_unwritable_overlay_file(fd: &OwnedFd) -> bool {
    if !fstatfs(fd).is_ok_and(|s| s.filesystem_type() == OVERLAYFS_SUPER_MAGIC) {
        return false;
    }
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    // No O_TRUNC, no O_CREAT: were it to open, nothing would be written.
    match nix::fcntl::open(
        path.as_str(),
        OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
        Mode::empty(),
    ) {
        Err(Errno::EROFS) => true,
        Err(_) => false,
        Ok(_writable) => false,
    }
}

/// Whether this process already runs from a sealed copy or an unwritable
/// overlay view of its binary.
pub fn running_from_sealed_copy() -> bool {
    let Ok(exe) = File::open("/proc/self/exe") else {
        return false;
    };
    let sealed = fcntl(exe.as_fd(), FcntlArg::F_GET_SEALS)
        .ok()
        .is_some_and(|s| SealFlag::from_bits_truncate(s).contains(seals()));
    sealed || is_unwritable_overlay_file(&OwnedFd::from(exe))
}

/// Whether `dir` can be named in a legacy `lowerdir` option as it is.
fn usable_as_layer(dir: &[u8]) -> bool {
    // The legacy `lowerdir` syntax separates layers with ':' and, on
    // kernels that pass it as comma-separated mount data, options with ',':
    // a directory with either takes a fallback rather than an escaping
    // that differs between kernels.
    !dir.is_empty() && !dir.iter().any(|b| matches!(b, b':' | b',' | b'\\'))
}

/// The running binary seen through a private, lower-only overlayfs of its
/// directory (see the module's doc), opened read-only; `None` where the
/// kernel or our rights refuse any step, or the file found there is not
/// the one running (replaced since we were started).
///
/// The overlay needs a second lower layer (a single lower one is refused).
/// `beside`, a directory of the host that exists (the runtime's state root,
/// as runc uses its own), is the cheap one: a detached tmpfs made for the
/// purpose costs an unmount when its fd is closed, which waits for an RCU
/// grace period (0.1 to 3 ms measured here). The tmpfs is the fallback when
/// `beside` is not given or the kernel refuses it (it overlaps the binary's
/// directory, say). The binary's directory is the upper of the two, so a
/// file of the same name in `beside` cannot mask the binary.
fn read_only_view(beside: Option<&Path>) -> Option<OwnedFd> {
    beside
        .filter(|d| usable_as_layer(d.as_os_str().as_bytes()) && d.is_dir())
        .and_then(|d| view_with_second_layer(d.as_os_str().as_bytes(), None))
        .or_else(|| {
            let empty = sys::new_detached_mount(
                c"tmpfs",
                &[],
                sys::MOUNT_ATTR_RDONLY
                    | sys::MOUNT_ATTR_NOSUID
                    | sys::MOUNT_ATTR_NODEV
                    | sys::MOUNT_ATTR_NOEXEC,
            )
            .ok()?;
            let path = format!("/proc/self/fd/{}", empty.as_raw_fd());
            view_with_second_layer(path.as_bytes(), Some(empty))
        })
}

/// [`read_only_view`] with `second` (a path) as the lower layer under the
/// binary's directory; `_keep` holds the mount `second` names alive.
fn view_with_second_layer(second: &[u8], _keep: Option<OwnedFd>) -> Option<OwnedFd> {
    let running = std::fs::metadata("/proc/self/exe").ok()?;
    let path = std::fs::read_link("/proc/self/exe").ok()?;
    let (dir, name) = (path.parent()?, path.file_name()?);
    let dir_bytes = dir.as_os_str().as_bytes();
    if !usable_as_layer(dir_bytes) {
        return None;
    }
    let mut lower = dir_bytes.to_vec();
    lower.push(b':');
    lower.extend_from_slice(second);
    let lower = CString::new(lower).ok()?;
    let view = sys::new_detached_mount(
        c"overlay",
        &[
            (c"lowerdir", Some(lower.as_c_str())),
            (c"xino", Some(c"off")),
        ],
        sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
    )
    .ok()?;
    let file = nix::fcntl::openat(
        &view,
        name,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
    .ok()?;
    // The overlay shows the lower file's inode number (its device is the
    // overlay's own): the same number, size and mtime say it is the binary
    // that runs, not one installed over it since.
    let seen = File::from(file.try_clone().ok()?).metadata().ok()?;
    let same = seen.ino() == running.ino()
        && seen.size() == running.size()
        && seen.mtime() == running.mtime()
        && seen.mtime_nsec() == running.mtime_nsec();
    (same && is_unwritable_overlay_file(&file)).then_some(file)
}

/// A memfd copy of the running binary, sealed against every write.
fn sealed_memfd_copy() -> Result<OwnedFd, Error> {
    let sys_err = |op| {
        move |e| Error::Sys {
            op,
            path: None,
            source: e,
        }
    };
    let mut exe = File::open("/proc/self/exe").map_err(Error::io("open", "/proc/self/exe"))?;
    // MFD_EXEC: kernels with vm.memfd_noexec (6.3) otherwise may refuse it.
    let flags = MFdFlags::MFD_CLOEXEC
        | MFdFlags::MFD_ALLOW_SEALING
        | MFdFlags::from_bits_retain(libc::MFD_EXEC);
    let memfd = memfd_create(c"cella", flags)
        .or_else(|_| {
            memfd_create(
                c"cella",
                MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
            )
        })
        .map_err(sys_err("memfd_create"))?;
    let mut copy = File::from(memfd);
    copy_plainly(&mut exe, &mut copy).map_err(Error::io("copy", "/proc/self/exe"))?;
    seal(&copy).map_err(sys_err("seal the copy of"))?;
    Ok(OwnedFd::from(copy))
}

/// Re-executes this program, with the same arguments and environment, from
/// an unwritable view of its binary (a private read-only overlay, or a
/// sealed in-memory copy where that cannot be made), unless it already runs
/// from one (then it returns at once). Call it first thing in `main` of a
/// program that creates containers or execs into them; it returns only on
/// error.
///
/// The overlay costs a few mount syscalls and no copy; the fallback costs
/// one read of the binary per command (both measured in `docs/security.md`).
pub fn reexec_from_sealed_copy() -> Result<(), Error> {
    reexec_from_sealed_view(None)
}

/// [`reexec_from_sealed_copy`], with `beside` (an existing directory of the
/// host that is neither the binary's directory nor above or under it: the
/// runtime's state root) as the second, empty-or-not layer of the overlay
/// view, which spares the detached tmpfs and the wait its unmount costs.
/// Where `beside` is missing or refused, the tmpfs is used, then the memfd.
pub fn reexec_from_sealed_view(beside: Option<&Path>) -> Result<(), Error> {
    if running_from_sealed_copy() {
        return Ok(());
    }
    let image = match read_only_view(beside) {
        Some(fd) => fd,
        None => sealed_memfd_copy()?,
    };
    let cstrings = |v: Vec<OsString>| -> Result<Vec<CString>, Error> {
        v.into_iter()
            .map(|s| {
                // execve(2) takes C strings: a NUL byte (which a process's
                // own arguments and environment cannot hold) would cut one.
                CString::new(s.into_vec()).map_err(|_| Error::Sys {
                    op: "execveat (an argument or environment entry holds a NUL byte)",
                    path: None,
                    source: nix::errno::Errno::EINVAL,
                })
            })
            .collect()
    };
    let args = cstrings(std::env::args_os().collect())?;
    let env = cstrings(
        std::env::vars_os()
            .map(|(k, v)| {
                let mut kv = k;
                kv.push("=");
                kv.push(v);
                kv
            })
            .collect(),
    )?;
    nix::unistd::fexecve(image.as_fd(), &args, &env).map_err(|e| Error::Sys {
        op: "execute the sealed copy of",
        path: None,
        source: e,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn the_overlay_view_is_the_running_binary_and_refuses_every_write() {
        let Some(view) = read_only_view(None) else {
            // Root on a kernel with the new mount API makes it; others use the fallback.
            eprintln!("skipped: this host or user cannot make the overlay view");
            return;
        };
        let running = std::fs::metadata("/proc/self/exe").unwrap();
        let seen = File::from(view.try_clone().unwrap()).metadata().unwrap();
        assert_eq!(seen.ino(), running.ino());
        assert!(is_unwritable_overlay_file(&view));
        let path = format!("/proc/self/fd/{}", view.as_raw_fd());
        for flags in [
            OFlag::O_WRONLY,
            OFlag::O_RDWR,
            OFlag::O_WRONLY | OFlag::O_APPEND,
        ] {
            let r = nix::fcntl::open(path.as_str(), flags | OFlag::O_CLOEXEC, Mode::empty());
            assert_eq!(r.err(), Some(Errno::EROFS), "{flags:?}");
        }
    }

    #[test]
    fn the_memfd_copy_is_sealed_against_writes() {
        let copy = sealed_memfd_copy().unwrap();
        let got = fcntl(copy.as_fd(), FcntlArg::F_GET_SEALS).unwrap();
        assert!(SealFlag::from_bits_truncate(got).contains(seals()));
        let mut f = File::from(copy);
        assert!(f.write_all(b"x").is_err());
        // Neither kind of file passes for the other: a memfd is no overlay.
        assert!(!is_unwritable_overlay_file(&OwnedFd::from(f)));
    }

    #[test]
    fn a_test_binary_does_not_run_from_a_sealed_copy() {
        assert!(!running_from_sealed_copy());
    }
}
