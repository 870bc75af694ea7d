//! `tmpcopyup`: a tmpfs mounted over a directory of the image starts with a
//! copy of what that directory held (podman's `--read-only` puts such a
//! tmpfs on `/tmp`, `/var/tmp`, `/run`, ...; runc and crun do the copy).
//!
//! The image is untrusted, so the copy never follows a symlink and never
//! resolves a path: every step is an `*at` call relative to a directory fd
//! opened from the one below it, with `O_NOFOLLOW`. A symlink is copied as a
//! symlink, whatever it points to.

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmod, fchmodat, fstatat, mkdirat, mknodat, FchmodatFlags, FileStat, Mode, SFlag,
};
use nix::unistd::{fchown, fchownat, symlinkat, Gid, Uid};

/// Deeper trees than this are refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

/// Copies the contents of the directory `src` into the (empty) directory
/// `dst`, keeping modes, owners, symlinks and device nodes.
pub(crate) fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<(), Errno> {
    copy_dir(src, dst, 0)
}

fn open_dir(parent: BorrowedFd<'_>, name: &CStr) -> Result<OwnedFd, Errno> {
    openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

fn copy_dir(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, depth: usize) -> Result<(), Errno> {
    if depth > MAX_DEPTH {
        return Err(Errno::ELOOP);
    }
    // A stream of its own: `Dir` owns (and closes) the fd it reads.
    let mut entries = Dir::openat(src, c".", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())?;
    for entry in entries.iter() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
        copy_entry(src, dst, name, &st, depth)?;
    }
    Ok(())
}

fn copy_entry(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    name: &CStr,
    st: &FileStat,
    depth: usize,
) -> Result<(), Errno> {
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    let (uid, gid) = (
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    );
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(dst, name, Mode::from_bits_truncate(0o700))?;
            let from = open_dir(src, name)?;
            let to = open_dir(dst, name)?;
            copy_dir(from.as_fd(), to.as_fd(), depth + 1)?;
            // Owner first: chown clears the set-id bits that chmod sets.
            owned(fchown(&to, uid, gid))?;
            fchmod(&to, mode)
        }
        SFlag::S_IFREG => {
            let from = openat(
                src,
                name,
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let to = openat(
                dst,
                name,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?;
            let (mut from, mut to) = (File::from(from), File::from(to));
            std::io::copy(&mut from, &mut to)
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
            owned(fchown(&to, uid, gid))?;
            fchmod(&to, mode)
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(src, name)?;
            symlinkat(target.as_os_str(), dst, name)?;
            owned(fchownat(dst, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW))
        }
        SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO | SFlag::S_IFSOCK => {
            mknodat(dst, name, kind, mode, st.st_rdev)?;
            owned(fchownat(dst, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW))?;
            // mknod's mode went through the umask; set it exactly. The
            // tmpfs is new and seen by no one else yet, so the name is ours.
            fchmodat(dst, name, mode, FchmodatFlags::FollowSymlink)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// In a user namespace an owner outside the mapping shows as the overflow
/// id, which cannot be given back (EINVAL): the copy then stays owned by the
/// container's root, as a file the container made would be.
fn owned(r: Result<(), Errno>) -> Result<(), Errno> {
    match r {
        Err(Errno::EINVAL) => Ok(()),
        r => r,
    }
}
