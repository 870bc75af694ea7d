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
    /// We are the new process, under [`fork`]'s contract (the token).
    Child(ForkedChild),
    /// We are the caller; the new process has this pid.
    Parent(Pid),
}

/// Held by code running in a process made by [`fork`] (or by
/// [`fork_with_flags`] in one): the functions that are sound only there
/// take it, and only the fork functions make one. The code holding it is
/// bound by [`fork`]'s contract, which its caller promised: one thread, and
/// no fd in use but those of the values the code was given, so that every
/// other fd is the code's own to close or replace. Neither `Send` nor
/// `Sync`: it stays in that one thread.
pub struct ForkedChild {
    _one_thread: std::marker::PhantomData<*const ()>,
}

impl ForkedChild {
    fn new() -> Self {
        ForkedChild {
            _one_thread: std::marker::PhantomData,
        }
    }
}

/// `fork(2)` through the C library, for the first process the runtime
/// forks from its caller. Unlike a raw `clone`, glibc's `fork` runs the
/// `pthread_atfork` handlers and makes some of its own locks usable in the
/// child (malloc's arenas, the list of stdio streams; not each stream's
/// own lock), so the child can allocate even when the caller is
/// a multi-threaded program whose other threads held those locks at the
/// moment of the fork (see the crate documentation, "Fork safety").
///
/// # Safety
///
/// The child is a copy of the calling thread alone: in a multi-threaded
/// caller (an embedder's program) whatever the other threads held or were
/// doing at the moment of the fork stays so in the child for good. The
/// code the child runs, until it calls `execve` or [`exit_now`], must
/// therefore:
///
/// - take no lock that another thread may have held: allocating is allowed
///   (glibc's `fork` made malloc usable again), a lock of the Rust standard
///   library (stdout's, stderr's, the environment's, a `Mutex`, a `Once`)
///   or of another C library is not, beyond what the caller documents it
///   accepts;
/// - start no thread (so that [`fork_with_flags`] may be used in it);
/// - never return into, nor unwind through, the frames it shares with the
///   caller: it ends with `execve` or [`exit_now`], so the copies of the
///   caller's values are never used or dropped in the child;
/// - use, of the process's fds, only those owned by the values it was
///   given, and close or replace ([`dup_onto`], [`close_fds_except`],
///   [`close_unowned`]) only others: the copies of the caller's other
///   values own theirs in memory that the child never touches again.
///
/// The child gets a [`ForkedChild`] that the functions relying on this take.
pub unsafe fn fork() -> Result<Forked, Errno> {
    // SAFETY: fork(2) takes no arguments; what the child may do after it
    // is this function's contract, which the caller upholds.
    match Errno::result(unsafe { libc::fork() })? {
        0 => Ok(Forked::Child(ForkedChild::new())),
        pid => Ok(Forked::Parent(Pid::from_raw(pid))),
    }
}

/// `clone(2)` used like `fork(2)`, with extra flags (`CLONE_PARENT` makes the
/// new process a sibling of the caller, so the runtime's top process is its
/// parent and can wait for it). See clone(2).
///
/// Only in a child of [`fork`] (`_in`), which is single-threaded: a raw
/// clone skips glibc's fork handlers, which only matters when another
/// thread may hold one of its locks. Nor does it update the C library's
/// record of the thread (the thread id in glibc's thread descriptor): the
/// new process must not use what names the thread by it (`pthread_kill`
/// on `pthread_self()` in older glibc); `getpid`, and `raise` in glibc
/// 2.36 (Debian 12's), ask the kernel. The new process is under
/// [`fork`]'s contract as well (it runs the same code) and gets its own
/// token.
pub fn fork_with_flags(_in: &ForkedChild, flags: libc::c_ulong) -> Result<Forked, Errno> {
    // SAFETY: a raw clone with a null stack duplicates the calling thread like
    // fork(2): the child continues on a copy of this stack. The caller is a
    // child of `fork` (the token), single-threaded by `fork`'s contract, so
    // no lock held by another thread can be left taken in the new process.
    let ret = unsafe { raw_fork_clone(flags | libc::SIGCHLD as libc::c_ulong) };
    match Errno::result(ret)? {
        0 => Ok(Forked::Child(ForkedChild::new())),
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}

/// clone(2) the way fork(2) calls it, with `flags`: a null stack (the child
/// runs on a copy of the caller's), no thread ids, no TLS. The raw call's
/// argument order differs by architecture: s390 takes the stack first
/// (`CLONE_BACKWARDS2`), the others `flags` first; the remaining arguments
/// are all zero here, so their order (`CLONE_BACKWARDS` on arm, ppc, ...)
/// does not matter.
///
/// # Safety
/// As fork(2): the new process continues on a copy of the calling thread;
/// the caller answers for what it runs there.
unsafe fn raw_fork_clone(flags: libc::c_ulong) -> libc::c_long {
    let (first, second) = if cfg!(target_arch = "s390x") {
        (0, flags)
    } else {
        (flags, 0)
    };
    let zero: libc::c_ulong = 0;
    // SAFETY: the caller's (see above); no pointer is passed.
    unsafe { libc::syscall(libc::SYS_clone, first, second, zero, zero, zero) }
}

/// A close-on-exec duplicate of `fd` numbered `floor` or above
/// (`fcntl(F_DUPFD_CLOEXEC)`): keeps the runtime's own fds out of the
/// range a container's stdio and preserved fds are placed in.
pub fn dup_at_least(fd: BorrowedFd<'_>, floor: RawFd) -> Result<OwnedFd, Errno> {
    // SAFETY: F_DUPFD_CLOEXEC takes an int and returns a new fd; `fd` is
    // borrowed for the call.
    let ret = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, floor) };
    let new = Errno::result(ret)?;
    // SAFETY: the kernel just created `new` for us; no other value owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// In a child of [`fork`] (`_in`): `dup2(fd, target)`, which clears
/// close-on-exec on `target` so the container's program gets it. Whatever
/// `target` was is closed: by [`fork`]'s contract no value the child uses
/// owns it.
pub fn dup_onto(_in: &ForkedChild, fd: BorrowedFd<'_>, target: RawFd) -> Result<(), Errno> {
    // SAFETY: dup2 only changes this process's fd table. `target` is
    // owned by no value the child uses (the contract of `fork`, which made
    // the token); the values of the parent's that may own it live in memory
    // the child never uses or drops again. `fd` is borrowed for the call.
    Errno::result(unsafe { libc::dup2(fd.as_raw_fd(), target) }).map(drop)
}

/// Ends the calling process at once, without running destructors or atexit
/// handlers: a forked child must not flush buffers it shares with its parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) takes any int and never returns.
    unsafe { libc::_exit(code) }
}

/// The kernel's `struct mount_attr`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// The one `mount_setattr(2)` call.
fn mount_setattr_raw(
    dirfd: BorrowedFd<'_>,
    path: &CStr,
    flags: libc::c_uint,
    attr: &MountAttr,
) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated (CStr), `attr` is a live, correctly
    // laid out `struct mount_attr` whose size we pass, and `dirfd` (and the
    // user namespace fd `attr` may name, borrowed by the caller) stay open
    // for the duration of the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd.as_raw_fd(),
            path.as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(ret).map(drop)
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
    let attr = MountAttr {
        attr_set,
        attr_clr,
        propagation,
        userns_fd: 0,
    };
    mount_setattr_raw(dirfd, path, flags, &attr)
}

/// `MOUNT_ATTR_IDMAP`: give the detached mount `tree` (from [`open_tree`]
/// with [`OPEN_TREE_CLONE`]) the id mapping of the user namespace
/// `userns`, on every mount of the tree when `recursive`
/// (`mount_setattr(2)`).
pub fn mount_setattr_idmap(
    tree: BorrowedFd<'_>,
    userns: BorrowedFd<'_>,
    recursive: bool,
) -> Result<(), Errno> {
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    mount_setattr_raw(tree, c"", flags, &attr)
}

/// A process in a new user namespace that does nothing until it is killed
/// (`clone(CLONE_NEWUSER)`): its parent writes the namespace's maps and
/// keeps `/proc/PID/ns/user` open, the one thing it is for, then kills and
/// reaps it. It dies with its parent as well (`PR_SET_PDEATHSIG`).
///
/// Sound in a multi-threaded caller: the new process runs no code of the
/// caller's and takes no lock; it makes raw system calls only (the C
/// library's `syscall` is a plain trap), on the copy of this thread's
/// stack, and never returns from this function.
pub fn spawn_userns_holder() -> Result<Pid, Errno> {
    let parent = std::process::id() as libc::c_long;
    // SAFETY: a raw clone with a null stack duplicates the calling thread
    // like fork(2). The child branch below only traps into the kernel (no
    // allocation, no lock, no Rust or C library state) and never leaves
    // this function: it blocks until killed, or exits with _exit(2).
    let ret = unsafe { raw_fork_clone((libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong) };
    match Errno::result(ret)? {
        0 => userns_holder_body(parent),
        pid => Ok(Pid::from_raw(pid as libc::pid_t)),
    }
}

/// The child of [`spawn_userns_holder`]: raw system calls only.
fn userns_holder_body(parent: libc::c_long) -> ! {
    // SAFETY: prctl, getppid, ppoll and exit_group take plain integers or
    // null pointers and touch no memory of ours.
    unsafe {
        libc::syscall(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // The parent may have died before the line above took effect.
        if libc::syscall(libc::SYS_getppid) != parent {
            libc::syscall(libc::SYS_exit_group, 0);
        }
        loop {
            // Sleeps until a signal: only SIGKILL is expected.
            libc::syscall(
                libc::SYS_ppoll,
                std::ptr::null_mut::<libc::pollfd>(),
                0 as libc::c_ulong,
                std::ptr::null::<libc::timespec>(),
                std::ptr::null::<libc::sigset_t>(),
                0 as libc::size_t,
            );
        }
    }
}

/// Marks every fd from `first` upwards close-on-exec (`close_range(2)` with
/// `CLOSE_RANGE_CLOEXEC`), so nothing of the host leaks through `execve`
/// (runc CVE-2024-21626). Fails with ENOSYS before Linux 5.9 and EINVAL
/// before 5.11 (no `CLOSE_RANGE_CLOEXEC`): the caller falls back to
/// [`set_cloexec`] on each open fd.
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

/// Sets `FD_CLOEXEC` on `fd` (`fcntl(F_SETFD)`), the one-fd fallback of
/// [`cloexec_from`]. No other flag exists in `F_SETFD`'s word, so nothing
/// is lost by not reading it first.
pub fn set_cloexec(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: F_SETFD takes an int and only changes the fd's flags; an fd
    // that is not open gives EBADF.
    let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    Errno::result(ret).map(drop)
}

/// Sets the three capability sets of this thread at once (`capset(2)`,
/// version 3: 64-bit masks), with nothing read first: the one call left
/// after a seccomp filter is loaded without `no_new_privs`, so it must not
/// need `capget` too.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), Errno> {
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e, p, i) = (split(effective), split(permitted), split(inheritable));
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        Data {
            effective: e.0,
            permitted: p.0,
            inheritable: i.0,
        },
        Data {
            effective: e.1,
            permitted: p.1,
            inheritable: i.1,
        },
    ];
    // SAFETY: both pointers are to live, properly laid out structs of the
    // sizes version 3 asks for (one header, two data words); the kernel
    // writes only the header's version back, into our mutable header.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    Errno::result(ret).map(drop)
}

/// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, name)`: joins the session keyring
/// of that name this task may search, or makes a new one, so that the
/// container cannot read the caller's session keys. Returns its serial.
pub fn join_session_keyring(name: &CStr) -> Result<i32, Errno> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: `name` is NUL-terminated and outlives the call.
    let ret =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    Errno::result(ret).map(|serial| serial as i32)
}

/// `keyctl(KEYCTL_DESCRIBE, serial)`: `type;uid;gid;perm;description`.
pub fn describe_key(serial: i32) -> Result<String, Errno> {
    const KEYCTL_DESCRIBE: libc::c_long = 6;
    let mut buf = vec![0u8; 512];
    // SAFETY: `buf` is valid for `buf.len()` bytes for the call; the kernel
    // writes at most that many.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_DESCRIBE,
            serial,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    let n = Errno::result(ret)? as usize;
    buf.truncate(n.min(buf.len()));
    let text = buf.split(|&b| b == 0).next().unwrap_or_default();
    Ok(String::from_utf8_lossy(text).into_owned())
}

/// `keyctl(KEYCTL_SETPERM, serial, perm)`.
pub fn set_key_perm(serial: i32, perm: u32) -> Result<(), Errno> {
    const KEYCTL_SETPERM: libc::c_long = 5;
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, serial, perm) };
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

/// In a child of [`fork`] (`_in`): closes `fd`, which the child inherited
/// and none of its values owns (its owner, if any, is a value of the
/// parent's that the child never uses or drops: [`fork`]'s contract).
pub fn close_unowned(_in: &ForkedChild, fd: RawFd) {
    // SAFETY: by `fork`'s contract (the token) no value the child uses
    // owns `fd`; an fd that is not open gives EBADF, ignored.
    unsafe { libc::close(fd) };
}

/// In a child of [`fork`] (`_in`): closes every fd from `first` upwards
/// except those in `keep`, with `close_range(2)` over the gaps. Used by the
/// container's processes right after fork: the runtime's fds (the state
/// directory's lock among them) must not be reachable from inside, even
/// before `execve` (runc CVE-2024-21626: a cwd of `/proc/self/fd/N` led to
/// the host). Fails with ENOSYS on kernels before 5.9, with nothing closed:
/// the caller then closes them one by one ([`close_unowned`]).
pub fn close_fds_except(_in: &ForkedChild, first: u32, keep: &[RawFd]) -> Result<(), Errno> {
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
            // caller keeps every fd a value it uses owns (`fork`'s
            // contract, the token), so those closed are owned by none.
            let ret = unsafe { libc::syscall(libc::SYS_close_range, start, k - 1, 0) };
            Errno::result(ret)?;
        }
        start = k.saturating_add(1);
    }
    Ok(())
}

/// Makes `fd` (a terminal) the controlling terminal of this session
/// (`ioctl(TIOCSCTTY)`, see tty_ioctl(4)).
pub fn set_controlling_terminal(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal); no memory
    // is passed; `fd` is borrowed for the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(ret).map(drop)
}

/// Sets a terminal's window size (`ioctl(TIOCSWINSZ)`).
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), Errno> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid winsize that outlives the call; the kernel
    // only reads it; `fd` is borrowed for the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    Errno::result(ret).map(drop)
}

/// Reads a terminal's window size (`ioctl(TIOCGWINSZ)`): `(rows, cols)`.
pub fn window_size(fd: BorrowedFd<'_>) -> Result<(u16, u16), Errno> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid, writable winsize that outlives the call;
    // `fd` is borrowed for the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    Errno::result(ret).map(|_| (ws.ws_row, ws.ws_col))
}

/// Sends `data` as one message on `socket`, with `fd` attached
/// (`SCM_RIGHTS`) when given. `MSG_NOSIGNAL`: a peer that is gone is
/// `EPIPE`, not a SIGPIPE.
pub fn send_with_fd(socket: RawFd, data: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<(), Errno> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let fds: Vec<RawFd> = fd.iter().map(|f| f.as_raw_fd()).collect();
    let rights = [ControlMessage::ScmRights(&fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    let iov = [std::io::IoSlice::new(data)];
    sendmsg::<()>(socket, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None).map(drop)
}

/// Receives one message from `socket` into `buf`: its length (0: end of
/// file) and the fd that came with it (`SCM_RIGHTS`), owned and
/// close-on-exec. Should the message carry more than one fd, the others
/// are closed: nothing the peer sends stays in this process unowned.
pub fn recv_with_fd(socket: RawFd, buf: &mut [u8]) -> Result<(usize, Option<OwnedFd>), Errno> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!([RawFd; 2]);
    let msg = recvmsg::<()>(
        socket,
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut received = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel installed each of these fds in this
            // process's table during this recvmsg; nothing else has seen
            // their numbers, so each gets exactly one owner here.
            received.extend(
                fds.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    Ok((msg.bytes, received.into_iter().next()))
}

/// `dup2(2)` onto a standard stream (0, 1 or 2) of this process; any other
/// `target` is `EBADF`.
pub fn dup_onto_stdio(fd: BorrowedFd<'_>, target: RawFd) -> Result<(), Errno> {
    if !(0..=2).contains(&target) {
        return Err(Errno::EBADF);
    }
    // SAFETY: `target` is 0, 1 or 2, which no Rust value owns (the standard
    // library's stdin, stdout and stderr use them unowned; they are
    // replaced on purpose); `fd` is borrowed for the call.
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

// The new mount API (Linux 5.2). These syscall numbers are the same on every
// architecture (the unified table from 424 on), so they are spelt out here.
const SYS_OPEN_TREE: libc::c_long = 428;
const SYS_MOVE_MOUNT: libc::c_long = 429;
const SYS_FSOPEN: libc::c_long = 430;
const SYS_FSCONFIG: libc::c_long = 431;
const SYS_FSMOUNT: libc::c_long = 432;

/// `OPEN_TREE_CLONE`: a detached copy of the mount (a bind mount not yet attached).
pub const OPEN_TREE_CLONE: libc::c_uint = 1;
/// `MOUNT_ATTR_RDONLY` (mount_setattr(2), fsmount(2)).
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
/// `MOUNT_ATTR_NOSUID`.
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
/// `MOUNT_ATTR_NODEV`.
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
/// `MOUNT_ATTR_NOEXEC`.
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;

/// Takes ownership of an fd a syscall returned.
fn owned_result(ret: libc::c_long) -> Result<OwnedFd, Errno> {
    let fd = Errno::result(ret)? as RawFd;
    // SAFETY: the syscall just returned this fd to us; no other value owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `open_tree(2)` of the object `fd` names (`AT_EMPTY_PATH`); with
/// [`OPEN_TREE_CLONE`] the result is a detached bind mount of it, to be
/// attached with [`move_mount`]. Always close-on-exec.
pub fn open_tree(fd: BorrowedFd<'_>, flags: libc::c_uint) -> Result<OwnedFd, Errno> {
    // SAFETY: the path is a NUL-terminated empty string that outlives the
    // call; `fd` is borrowed for its duration; no memory is written.
    let ret = unsafe {
        libc::syscall(
            SYS_OPEN_TREE,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags | libc::O_CLOEXEC as libc::c_uint | libc::AT_EMPTY_PATH as libc::c_uint,
        )
    };
    owned_result(ret)
}

/// `sched_setattr(2)` of the calling thread.
pub fn sched_setattr(a: &crate::plan::SchedAttr) -> Result<(), Errno> {
    /// The kernel's `struct sched_attr` (`SCHED_ATTR_SIZE_VER1`).
    #[repr(C)]
    struct Raw {
        size: u32,
        policy: u32,
        flags: u64,
        nice: i32,
        priority: u32,
        runtime: u64,
        deadline: u64,
        period: u64,
        util_min: u32,
        util_max: u32,
    }
    let raw = Raw {
        size: std::mem::size_of::<Raw>() as u32,
        policy: a.policy,
        flags: a.flags,
        nice: a.nice,
        priority: a.priority,
        runtime: a.runtime,
        deadline: a.deadline,
        period: a.period,
        util_min: 0,
        util_max: 0,
    };
    // SAFETY: `raw` is a complete `struct sched_attr` whose `size` says
    // so, valid for the call; pid 0 is the calling thread.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &raw as *const Raw, 0) };
    Errno::result(ret).map(drop)
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, 0, value)`: the calling thread.
pub fn ioprio_set(value: u32) -> Result<(), Errno> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    Errno::result(ret).map(drop)
}

/// `personality(2)`: sets the execution domain.
pub fn set_personality(persona: u64) -> Result<(), Errno> {
    // SAFETY: an integer argument only.
    let ret = unsafe { libc::personality(persona as libc::c_ulong) };
    Errno::result(ret).map(drop)
}

/// `set_mempolicy(2)` of the calling thread, `nodes` a mask of 64 nodes a
/// word (empty: none).
pub fn set_mempolicy(mode: i32, nodes: &[u64]) -> Result<(), Errno> {
    let (ptr, maxnode) = if nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // The kernel reads `maxnode - 1` bits.
        (nodes.as_ptr(), nodes.len() as libc::c_ulong * 64 + 1)
    };
    // SAFETY: `ptr` is null with `maxnode` 0, or points to `nodes`, whose
    // `maxnode - 1` bits the kernel reads, valid for the call.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    Errno::result(ret).map(drop)
}

/// `sched_setaffinity(2)` of the calling thread, `mask` 64 CPUs a word
/// (the kernel clears what a short mask does not cover).
pub fn set_affinity(mask: &[u64]) -> Result<(), Errno> {
    let bytes = std::mem::size_of_val(mask);
    // SAFETY: `mask` is valid for `bytes` bytes for the call; pid 0 is the
    // calling thread.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setaffinity, 0, bytes, mask.as_ptr()) };
    Errno::result(ret).map(drop)
}

/// `fsetxattr(2)`: sets the extended attribute `name` of the file `fd` is
/// open on (not an `O_PATH` fd) to `value`.
pub fn fsetxattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> Result<(), Errno> {
    // SAFETY: `name` is NUL-terminated and `value` is valid for its length;
    // both outlive the call; `fd` is borrowed open.
    let ret = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    Errno::result(ret).map(drop)
}

/// `move_mount(2)` of the detached mount `from` onto the directory or file
/// `to` (both by fd, no path is looked up: nothing in the container can
/// redirect it).
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), Errno> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: both paths are NUL-terminated empty strings that outlive the
    // call; both fds are borrowed for its duration.
    let ret = unsafe {
        libc::syscall(
            SYS_MOVE_MOUNT,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(ret).map(drop)
}

/// A new filesystem of type `fstype` with `options` (`key=value` or flag
/// keys, as fsconfig(2) takes them), as a detached mount with the
/// `MOUNT_ATTR_*` bits `attrs` (fsopen, fsconfig, fsmount). It is reachable
/// by no path until [`move_mount`] attaches it, if ever.
pub fn new_detached_mount(
    fstype: &CStr,
    options: &[(&CStr, Option<&CStr>)],
    attrs: u64,
) -> Result<OwnedFd, Errno> {
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_SET_FLAG: libc::c_uint = 0;
    const FSCONFIG_SET_STRING: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    // SAFETY: `fstype` is NUL-terminated and outlives the call.
    let fsfd = owned_result(unsafe { libc::syscall(SYS_FSOPEN, fstype.as_ptr(), FSOPEN_CLOEXEC) })?;
    for (key, value) in options {
        let (cmd, value) = match value {
            Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
            None => (FSCONFIG_SET_FLAG, std::ptr::null()),
        };
        // SAFETY: `key` (and `value` when given) are NUL-terminated and
        // outlive the call; a null value is what FSCONFIG_SET_FLAG takes;
        // `fsfd` is ours.
        let ret =
            unsafe { libc::syscall(SYS_FSCONFIG, fsfd.as_raw_fd(), cmd, key.as_ptr(), value, 0) };
        Errno::result(ret)?;
    }
    // SAFETY: FSCONFIG_CMD_CREATE takes no key or value; `fsfd` is ours.
    let ret = unsafe {
        libc::syscall(
            SYS_FSCONFIG,
            fsfd.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    Errno::result(ret)?;
    // SAFETY: no pointers are passed; `fsfd` is ours.
    owned_result(unsafe { libc::syscall(SYS_FSMOUNT, fsfd.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })
}

/// Opens the slave of the pty `master` (`ioctl(TIOCGPTPEER)`, Linux 4.13),
/// without looking up its name in `/dev/pts`.
pub fn open_pty_peer(master: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes the open flags as an int and returns a new
    // fd; no memory is passed; `master` is borrowed for the call.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), TIOCGPTPEER as _, flags) };
    owned_result(ret as libc::c_long)
}

/// `setsockopt(SO_SNDTIMEO)` on a socket (the seccomp agent's).
pub fn set_send_timeout(fd: BorrowedFd<'_>, timeout: std::time::Duration) -> Result<(), Errno> {
    // The field types differ between C libraries (and musl deprecates their
    // names): inferred. 2^31 s is forever here; the micros are below 10^6.
    let tv = libc::timeval {
        tv_sec: timeout.as_secs().try_into().unwrap_or(i32::MAX.into()),
        tv_usec: (timeout.subsec_micros() as i32).into(),
    };
    // SAFETY: the pointer and length describe `tv`, which outlives the call;
    // the kernel only reads it. `fd` is borrowed for the call.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    Errno::result(ret).map(drop)
}

/// What names one file in one mount: the device and inode of the file, and
/// the id of the mount it was reached through (as mountinfo numbers it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    /// The device (`st_dev`).
    pub dev: (u32, u32),
    /// The inode number.
    pub ino: u64,
    /// The mount's id (`STATX_MNT_ID`, Linux 5.8; field 1 of mountinfo).
    pub mnt_id: u64,
}

/// `statx(2)` of the object `fd` names (`AT_EMPTY_PATH`, works on `O_PATH`
/// fds): its [`FileId`].
pub fn file_id(fd: BorrowedFd<'_>) -> Result<FileId, Errno> {
    const STATX_MNT_ID: libc::c_uint = 0x1000;
    let mut st = std::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: the path is a NUL-terminated empty string that outlives the
    // call; `st` is a writable `struct statx` the kernel fills in; `fd` is
    // borrowed for the call.
    let ret = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC,
            libc::STATX_INO | STATX_MNT_ID,
            st.as_mut_ptr(),
        )
    };
    Errno::result(ret)?;
    // SAFETY: zero-initialised and, on success, filled by the kernel: every
    // field is a plain integer.
    let st = unsafe { st.assume_init() };
    if st.stx_mask & STATX_MNT_ID == 0 {
        // Before Linux 5.8: no mount id, and no way to tell mounts apart.
        return Err(Errno::ENOSYS);
    }
    Ok(FileId {
        dev: (st.stx_dev_major, st.stx_dev_minor),
        ino: st.stx_ino,
        mnt_id: st.stx_mnt_id,
    })
}
