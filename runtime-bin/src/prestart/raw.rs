//! The system calls of [`super`], made with the `syscall` instruction:
//! libc's wrappers are not usable before the C library has started (see
//! the module above). Errors are only ever "give up": no errno is kept.

use core::arch::asm;
use core::ffi::CStr;
use core::mem::MaybeUninit;

use libc::c_long;

/// `syscall(nr, a, b, c, d, e)`: the raw return value (negative errno on
/// failure).
///
/// # Safety
/// The arguments are what system call `nr` takes: pointers among them are
/// valid for what the call reads or writes.
unsafe fn syscall(nr: c_long, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller's contract; `syscall` clobbers only rcx and r11
    // (declared) and rax (the result), and touches no stack.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            in("r10") d,
            in("r8") e,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// A non-negative result as an fd or count.
fn ok(ret: isize) -> Option<usize> {
    usize::try_from(ret).ok()
}

pub(super) fn geteuid() -> u32 {
    // SAFETY: geteuid takes no arguments and cannot fail.
    unsafe { syscall(libc::SYS_geteuid, 0, 0, 0, 0, 0) as u32 }
}

pub(super) fn close(fd: usize) {
    // SAFETY: `fd` is an fd this module opened and no longer uses.
    unsafe { syscall(libc::SYS_close, fd, 0, 0, 0, 0) };
}

/// The target of the link `path` in `buf`: its length, `None` on an error
/// or when it may not fit.
pub(super) fn readlink(path: &CStr, buf: &mut [MaybeUninit<u8>]) -> Option<usize> {
    // SAFETY: `path` is NUL-terminated; the kernel writes at most
    // `buf.len()` bytes into `buf`.
    let ret = unsafe {
        syscall(
            libc::SYS_readlink,
            path.as_ptr() as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
            0,
            0,
        )
    };
    ok(ret).filter(|&len| len < buf.len())
}

/// The file `name` in a detached, read-only overlay with the lower layers
/// `lower` (as `cella::exe`'s view: no upper layer, `xino=off`), opened
/// read-only; the mount itself is not kept (the open file holds it).
///
/// # Safety
/// `lower` and `name` point to NUL-terminated strings (`Buf::c_ptr`).
pub(super) unsafe fn overlay_view(lower: *const u8, name: *const u8) -> Option<usize> {
    const FSOPEN_CLOEXEC: usize = 1;
    const FSCONFIG_SET_STRING: usize = 1;
    const FSCONFIG_CMD_CREATE: usize = 6;
    const FSMOUNT_CLOEXEC: usize = 1;
    let attrs =
        (libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV) as usize;
    let flags = (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW) as usize;
    let set = |fs: usize, key: &CStr, value: *const u8| {
        // SAFETY: `key` and `value` are NUL-terminated (the caller's, or
        // literals); `fs` is our fs context.
        ok(unsafe {
            syscall(
                libc::SYS_fsconfig,
                fs,
                FSCONFIG_SET_STRING,
                key.as_ptr() as usize,
                value as usize,
                0,
            )
        })
    };
    // SAFETY: a NUL-terminated literal and a flag.
    let fs = ok(unsafe {
        syscall(
            libc::SYS_fsopen,
            c"overlay".as_ptr() as usize,
            FSOPEN_CLOEXEC,
            0,
            0,
            0,
        )
    })?;
    let mount = set(fs, c"lowerdir", lower)
        .and_then(|_| set(fs, c"xino", c"off".as_ptr().cast()))
        // SAFETY: FSCONFIG_CMD_CREATE takes no key or value.
        .and_then(|_| ok(unsafe { syscall(libc::SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0) }))
        // SAFETY: no pointers; `fs` is ours.
        .and_then(|_| ok(unsafe { syscall(libc::SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs, 0, 0) }));
    close(fs);
    let mount = mount?;
    // SAFETY: `name` is NUL-terminated (the caller's); `mount` is ours.
    let file = ok(unsafe { syscall(libc::SYS_openat, mount, name as usize, flags, 0, 0) });
    close(mount);
    file
}

/// Whether `fd` is the file `path` names, as the view's check in
/// `cella::exe`: the same inode number, size and modification time (the
/// overlay shows the lower file's inode number, on a device of its own).
pub(super) fn same_file(fd: usize, path: &CStr) -> bool {
    let mut seen = MaybeUninit::<libc::stat>::uninit();
    let mut running = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: the kernel fills each `stat` on success; `path` is
    // NUL-terminated.
    let filled = unsafe {
        ok(syscall(
            libc::SYS_fstat,
            fd,
            seen.as_mut_ptr() as usize,
            0,
            0,
            0,
        ))
        .is_some()
            && ok(syscall(
                libc::SYS_newfstatat,
                libc::AT_FDCWD as usize,
                path.as_ptr() as usize,
                running.as_mut_ptr() as usize,
                0,
                0,
            ))
            .is_some()
    };
    if !filled {
        return false;
    }
    // SAFETY: both were filled by the kernel above.
    let (seen, running) = unsafe { (seen.assume_init(), running.assume_init()) };
    seen.st_ino == running.st_ino
        && seen.st_size == running.st_size
        && seen.st_mtime == running.st_mtime
        && seen.st_mtime_nsec == running.st_mtime_nsec
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`: returns only on failure.
///
/// # Safety
/// `argv` and `envp` are null-terminated vectors of NUL-terminated strings.
pub(super) unsafe fn execveat_empty(fd: usize, argv: *const *const u8, envp: *const *const u8) {
    // SAFETY: the caller's vectors; an empty NUL-terminated path.
    unsafe {
        syscall(
            libc::SYS_execveat,
            fd,
            c"".as_ptr() as usize,
            argv as usize,
            envp as usize,
            libc::AT_EMPTY_PATH as usize,
        )
    };
}
