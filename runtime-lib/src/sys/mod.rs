//! The only module allowed to use `unsafe`: thin wrappers for the syscalls
//! that `nix` does not offer (or offers in a form we cannot use), each with
//! a `// SAFETY:` note naming the invariant it relies on.
#![allow(unsafe_code)]

pub mod bpf;

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// What a fork-like call returned, seen from the caller.
pub enum Forked {
    /// We are the new process.
    Child,
    /// We are the caller; the new process has this pid.
    Parent(Pid),
}

/// `clone(2)` used like `fork(2)`, with extra flags (`CLONE_PARENT` makes the
/// new process a sibling of the caller, so the runtime's top process is its
/// parent and can wait for it). See clone(2).
///
/// Must be called while the process is single-threaded: the runtime is
/// single-threaded until the container process is cloned (DESIGN.md).
pub fn fork_with_flags(flags: libc::c_ulong) -> Result<Forked, Errno> {
    // SAFETY: a raw clone with a null stack duplicates the calling thread like
    // fork(2): the child continues on a copy of this stack. The process is
    // single-threaded (the runtime never starts threads before this point), so
    // no lock held by another thread can be left poisoned in the child.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    match Errno::result(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}

/// Ends the calling process at once, without running destructors or atexit
/// handlers: a forked child must not flush buffers it shares with its parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) takes any int and never returns.
    unsafe { libc::_exit(code) }
}

/// `mount_setattr(2)` on `dirfd`/`path` (`AT_EMPTY_PATH` when `path` is empty).
pub fn mount_setattr(
    dirfd: BorrowedFd<'_>,
    path: &CStr,
    flags: libc::c_uint,
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
) -> Result<(), Errno> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set,
        attr_clr,
        propagation,
        userns_fd: 0,
    };
    // SAFETY: `path` is NUL-terminated (CStr), `attr` is a live, correctly laid
    // out `struct mount_attr` whose size we pass, and `dirfd` is borrowed for
    // the duration of the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd.as_raw_fd(),
            path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// Marks every fd from `first` upwards close-on-exec (`close_range(2)` with
/// `CLOSE_RANGE_CLOEXEC`), so nothing of the host leaks through `execve`
/// (runc CVE-2024-21626).
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes fd flags; no memory is passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(ret).map(drop)
}

/// Joins a new anonymous session keyring (`keyctl(KEYCTL_JOIN_SESSION_KEYRING)`),
/// so the container cannot read the host's session keys.
pub fn join_new_session_keyring(name: &CStr) -> Result<(), Errno> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: `name` is NUL-terminated and outlives the call.
    let ret =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    Errno::result(ret).map(drop)
}

/// `pidfd_open(2)`: a handle on a process that cannot be confused with a later
/// process reusing the same pid.
pub fn pidfd_open(pid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: no pointers are passed; on success the kernel returns a new fd
    // that nothing else owns.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = Errno::result(ret)? as RawFd;
    // SAFETY: `fd` was just returned by pidfd_open and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `pidfd_send_signal(2)`.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> Result<(), Errno> {
    // SAFETY: a null siginfo is allowed (the kernel fills in SI_USER); the fd
    // is borrowed for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    Errno::result(ret).map(drop)
}

/// `setdomainname(2)` (nix only offers the hostname).
pub fn setdomainname(name: &str) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe `name`'s bytes, which outlive
    // the call; the kernel copies them and needs no NUL terminator.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    Errno::result(ret).map(drop)
}

/// `setrlimit(2)` by raw resource number, so every `RLIMIT_*` of the OCI
/// spec is reachable (nix's enum lacks some).
pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> Result<(), Errno> {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `limit` is a valid rlimit that lives across the call.
    let ret = unsafe { libc::setrlimit(resource as _, &limit) };
    Errno::result(ret).map(drop)
}

/// Resets every signal disposition to its default and unblocks all signals.
///
/// Ignored signals stay ignored across `execve`, and the Rust runtime ignores
/// `SIGPIPE`; a container process must start with a clean slate.
pub fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition; failures for
        // signal numbers the kernel reserves (32, 33 for glibc) are harmless.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // SAFETY: an all-empty set is valid; a null old-set pointer is allowed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Closes an fd that a forked child inherited but whose owner lives in the
/// parent's copy of memory (the child exits with `_exit`, so the owner is
/// never dropped there).
pub fn close_inherited(fd: RawFd) {
    // SAFETY: after fork the child's copy of `fd` belongs to no live Rust
    // object in this process that will use it again: its owner is a value
    // of the parent that the child never touches after this call.
    unsafe { libc::close(fd) };
}

/// Closes every fd from `first` upwards except those in `keep`, with
/// `close_range(2)` over the gaps. Used by the container's processes right
/// after fork: the runtime's fds (the state directory's lock among them)
/// must not be reachable from inside, even before `execve` (runc
/// CVE-2024-21626: a cwd of `/proc/self/fd/N` led to the host).
pub fn close_fds_except(first: u32, keep: &[RawFd]) {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter_map(|&k| u32::try_from(k).ok())
        .filter(|&k| k >= first)
        .collect();
    keep.sort_unstable();
    let mut start = first;
    for k in keep.into_iter().chain(std::iter::once(u32::MAX)) {
        if k > start {
            // SAFETY: close_range only closes fds of this process; the
            // caller is a forked child whose Rust owners of these fds live in
            // the parent's copy of memory and are never dropped here.
            unsafe { libc::syscall(libc::SYS_close_range, start, k - 1, 0) };
        }
        start = k.saturating_add(1);
    }
}

/// Makes `fd` (a terminal) the controlling terminal of this session
/// (`ioctl(TIOCSCTTY)`, see tty_ioctl(4)).
pub fn set_controlling_terminal(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal); no memory
    // is passed.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) };
    Errno::result(ret).map(drop)
}

/// Sets a terminal's window size (`ioctl(TIOCSWINSZ)`).
pub fn set_window_size(fd: RawFd, rows: u16, cols: u16) -> Result<(), Errno> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid winsize that outlives the call; the kernel
    // only reads it.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
    Errno::result(ret).map(drop)
}

/// Reads a terminal's window size (`ioctl(TIOCGWINSZ)`): `(rows, cols)`.
pub fn window_size(fd: RawFd) -> Result<(u16, u16), Errno> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid, writable winsize that outlives the call.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    Errno::result(ret).map(|_| (ws.ws_row, ws.ws_col))
}

/// Takes ownership of an fd the kernel just installed (received with
/// `SCM_RIGHTS`).
pub fn own_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller passes an fd that the kernel created for this
    // process in the same call (recvmsg) and that no other value owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `dup2(2)` onto a standard stream (0, 1 or 2) of this process.
pub fn dup_onto_stdio(fd: BorrowedFd<'_>, target: RawFd) -> Result<(), Errno> {
    // SAFETY: `target` is 0, 1 or 2, which no Rust value of the container's
    // process owns (they are the inherited stdio, replaced on purpose);
    // `fd` is borrowed for the call.
    let ret = unsafe { libc::dup2(fd.as_raw_fd(), target) };
    Errno::result(ret).map(drop)
}

/// Loads a seccomp filter (`seccomp(SECCOMP_SET_MODE_FILTER)`, see
/// seccomp(2)); with `SECCOMP_FILTER_FLAG_NEW_LISTENER` the kernel returns
/// the notify fd.
pub fn seccomp_set_filter(
    filter: &[libc::sock_filter],
    flags: u32,
) -> Result<Option<OwnedFd>, Errno> {
    const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
    const NEW_LISTENER: u32 = 1 << 3;
    let len = u16::try_from(filter.len()).map_err(|_| Errno::EINVAL)?;
    let prog = libc::sock_fprog {
        len,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `filter`, which outlives the call and holds
    // `len` instructions; the kernel copies the program and does not write
    // through the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    let fd = Errno::result(ret)?;
    if flags & NEW_LISTENER == 0 {
        return Ok(None);
    }
    // SAFETY: with NEW_LISTENER the return value is a new fd owned by no one.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }))
}
