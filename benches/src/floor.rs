//! `cella-floor ROOTFS`: the least work a container run of the benches' minimal bundle needs,
//! as a floor under the runtimes' `run` times.
//!
//! One clone(2) into new pid, ipc, uts, mount and network namespaces; in the child: every mount
//! made private, the rootfs bound onto itself, proc on `<rootfs>/proc`, a tmpfs on
//! `<rootfs>/dev`, pivot_root into it, the old root detached, `/` remounted read-only,
//! sethostname, exec `/bin/true`. The parent waits for it and exits with its status. No state,
//! no cgroup, no configuration to read, no devices, no capabilities or seccomp: what is left is
//! what any runtime must pay for those namespaces and mounts.
//!
//! Every call is checked: a failure exits 1 with a message naming the call.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::ptr;

/// The paths the child needs, made before the clone so that the child allocates nothing.
struct Paths {
    rootfs: CString,
    proc_dir: CString,
    dev_dir: CString,
}

fn main() {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [rootfs] = args.as_slice() else {
        eprintln!("usage: cella-floor ROOTFS");
        std::process::exit(2);
    };
    let cstring = |suffix: &[u8]| {
        let mut bytes = rootfs.as_bytes().to_vec();
        bytes.extend_from_slice(suffix);
        CString::new(bytes).unwrap_or_else(|_| fail("ROOTFS contains a NUL byte"))
    };
    let paths = Paths {
        rootfs: cstring(b""),
        proc_dir: cstring(b"/proc"),
        dev_dir: cstring(b"/dev"),
    };
    let flags = libc::CLONE_NEWPID
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWNET;
    // SAFETY: clone(2) without CLONE_VM and with a null stack behaves as fork(2): the child runs
    // on a copy-on-write copy of this stack and returns here. This process is single-threaded,
    // so no lock is held by a thread missing from the child; the child only makes syscalls and
    // execs (or exits).
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::c_long::from(flags | libc::SIGCHLD),
            ptr::null_mut::<libc::c_void>(),
            ptr::null_mut::<libc::c_void>(),
            ptr::null_mut::<libc::c_void>(),
            0 as libc::c_long,
        )
    };
    match pid {
        -1 => fail_errno("clone"),
        0 => child(&paths),
        pid => parent(pid as libc::pid_t),
    }
}

/// Waits for the child and exits with its status (128 + the signal if it was killed).
fn parent(pid: libc::pid_t) -> ! {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `pid` is our child, not yet reaped; `status` is a live, writable c_int.
        let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
        if ret == pid {
            break;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            fail_errno("waitpid");
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    std::process::exit(code);
}

/// In the new namespaces: the mounts, the pivot, the hostname, the exec.
fn child(paths: &Paths) -> ! {
    let none: Option<&CStr> = None;
    mount(
        none,
        c"/",
        none,
        libc::MS_REC | libc::MS_PRIVATE,
        none,
        "mount / private",
    );
    let rootfs = Some(paths.rootfs.as_c_str());
    mount(
        rootfs,
        &paths.rootfs,
        none,
        libc::MS_BIND | libc::MS_REC,
        none,
        "bind rootfs",
    );
    let (nosuid, nodev, noexec) = (libc::MS_NOSUID, libc::MS_NODEV, libc::MS_NOEXEC);
    mount(
        Some(c"proc"),
        &paths.proc_dir,
        Some(c"proc"),
        nosuid | nodev | noexec,
        none,
        "mount proc",
    );
    mount(
        Some(c"tmpfs"),
        &paths.dev_dir,
        Some(c"tmpfs"),
        nosuid | libc::MS_STRICTATIME,
        Some(c"mode=755,size=65536k"),
        "mount /dev tmpfs",
    );
    pivot(&paths.rootfs);
    let ro = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
    mount(none, c"/", none, ro, none, "remount / read-only");
    let name = b"floor";
    // SAFETY: `name` is valid for its length for the call's duration.
    check(
        unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) },
        "sethostname",
    );
    let argv = [c"/bin/true".as_ptr(), ptr::null()];
    let envp = [c"PATH=/usr/sbin:/usr/bin:/sbin:/bin".as_ptr(), ptr::null()];
    // SAFETY: the path and every element of the null-terminated argv and envp arrays are
    // NUL-terminated static strings. execve returns only on failure.
    unsafe { libc::execve(argv[0], argv.as_ptr(), envp.as_ptr()) };
    fail_errno("execve /bin/true")
}

/// pivot_root into `rootfs` (a mount point: bound onto itself) with the old root stacked under
/// the new one (`pivot_root(".", ".")`), then the old root detached.
fn pivot(rootfs: &CStr) {
    // SAFETY: `rootfs` is NUL-terminated and outlives the call.
    check(unsafe { libc::chdir(rootfs.as_ptr()) }, "chdir rootfs");
    let dot = c".";
    // SAFETY: both arguments are NUL-terminated static strings; the syscall reads only them.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) };
    check(ret as libc::c_int, "pivot_root");
    // SAFETY: `dot` is a NUL-terminated static string.
    check(
        unsafe { libc::umount2(dot.as_ptr(), libc::MNT_DETACH) },
        "umount old root",
    );
    // SAFETY: as above.
    check(unsafe { libc::chdir(c"/".as_ptr()) }, "chdir /");
}

/// mount(2) with optional strings; exits naming `what` on failure.
fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
    what: &str,
) {
    let ptr_of = |s: Option<&CStr>| s.map_or(ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is null or a NUL-terminated string borrowed for the call's
    // duration; `data` is a string, as the file systems mounted here expect.
    let ret = unsafe {
        libc::mount(
            ptr_of(source),
            target.as_ptr(),
            ptr_of(fstype),
            flags,
            ptr_of(data).cast(),
        )
    };
    check(ret, what);
}

fn check(ret: libc::c_int, what: &str) {
    if ret != 0 {
        fail_errno(what);
    }
}

fn fail_errno(what: &str) -> ! {
    fail(&format!("{what}: {}", io::Error::last_os_error()))
}

fn fail(msg: &str) -> ! {
    eprintln!("cella-floor: {msg}");
    std::process::exit(1)
}
