//! `bpf(2)` for the cgroup v2 device filter: load a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program and put it on a cgroup in place of
//! the ones attached before. See bpf(2),
//! <https://man7.org/linux/man-pages/man2/bpf.2.html>, and the kernel's
//! `include/uapi/linux/bpf.h` for the `union bpf_attr` members used here.
//!
//! Each command reads a prefix of `union bpf_attr`; the kernel takes the
//! size we pass and requires any bytes beyond the part it knows to be zero,
//! so every struct below is exactly a prefix of the kernel's member, with
//! explicit padding fields and no implicit padding, and is built zeroed.
//! (`unsafe` is allowed here by `#![allow(unsafe_code)]` in `sys/mod.rs`,
//! which covers its submodules.)

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;

const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;

/// Attach flag: the program runs alongside the others attached to the cgroup
/// (and to its ancestors); an access is allowed only if all of them allow it.
pub const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

/// The name the program shows in `bpftool prog` (at most 15 bytes, letters,
/// digits, `_` and `.`).
const PROG_NAME: &[u8] = b"cella_devices";

/// The `BPF_PROG_LOAD` member, up to `expected_attach_type` (Linux 4.17;
/// older kernels accept the zeroed tail).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH`/`BPF_PROG_DETACH` member.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// The `BPF_PROG_QUERY` member, up to `prog_cnt` and the padding after it.
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    pad: u32,
}

/// The `BPF_PROG_GET_FD_BY_ID` member.
#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

// The sizes of the kernel's layouts: a field added or mistyped shows here.
const _: () = assert!(std::mem::size_of::<ProgLoadAttr>() == 72);
const _: () = assert!(std::mem::size_of::<AttachAttr>() == 20);
const _: () = assert!(std::mem::size_of::<QueryAttr>() == 32);
const _: () = assert!(std::mem::size_of::<GetFdByIdAttr>() == 12);

/// `bpf(cmd, attr, sizeof(*attr))`.
///
/// # Safety
/// `T` must be the `#[repr(C)]` prefix of the `union bpf_attr` member that
/// `cmd` reads, with no uninitialised bytes, and every address stored in it
/// must point to memory valid for what the kernel does with it during the
/// call (reads of `insns`/`license`, writes to `log_buf`/`prog_ids` up to the
/// sizes given alongside).
unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> Result<libc::c_long, Errno> {
    // SAFETY: the caller guarantees that `attr` has the layout `cmd` expects
    // and that the addresses inside it are valid; `attr` itself is a live,
    // exclusively borrowed value of exactly the size we pass, so the kernel's
    // copy in (and, for queries, copy back out) stays inside it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    Errno::result(ret)
}

/// Takes ownership of an fd the kernel just returned.
fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: `fd` was just returned by a successful bpf(2) call that creates
    // a new descriptor (BPF_PROG_LOAD, BPF_PROG_GET_FD_BY_ID); nothing else
    // in the process knows it yet.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// `BPF_PROG_LOAD` of a `BPF_PROG_TYPE_CGROUP_DEVICE` program.
///
/// `insns` are encoded 8-byte instructions. The kernel only looks at
/// `license` to decide whether GPL-only helpers may be called; a device
/// filter calls none, so any string works. With `log`, the verifier writes
/// its trace there (level 1); the buffer must hold at least 128 bytes, and a
/// trace that does not fit makes the load fail with `ENOSPC`, so pass one
/// only to explain a failure.
pub fn prog_load_cgroup_device(
    insns: &[u8],
    license: &CStr,
    log: Option<&mut [u8]>,
) -> Result<OwnedFd, Errno> {
    // Whole 8-byte instructions only.
    if insns.is_empty() || !insns.chunks_exact(8).remainder().is_empty() {
        return Err(Errno::EINVAL);
    }
    let insn_cnt = u32::try_from(insns.len() / 8).map_err(|_| Errno::E2BIG)?;
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..ProgLoadAttr::default()
    };
    attr.prog_name[..PROG_NAME.len()].copy_from_slice(PROG_NAME);
    if let Some(buf) = log {
        // The kernel refuses sizes above UINT_MAX >> 2.
        attr.log_size = u32::try_from(buf.len())
            .unwrap_or(u32::MAX)
            .min(u32::MAX >> 2);
        attr.log_level = 1;
        attr.log_buf = buf.as_mut_ptr() as u64;
    }
    // SAFETY: `ProgLoadAttr` is the BPF_PROG_LOAD prefix, zeroed where unset.
    // `insns` (insn_cnt * 8 bytes) and the NUL-terminated `license` are
    // borrowed for the call; the log buffer, if any, is exclusively borrowed
    // and the kernel writes at most `log_size` bytes, which is at most its
    // length.
    let fd = unsafe { bpf(BPF_PROG_LOAD, &mut attr) }?;
    Ok(owned(fd))
}

/// `BPF_PROG_ATTACH` of a device program to a cgroup directory.
pub fn prog_attach(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>, flags: u32) -> Result<(), Errno> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: flags,
        ..AttachAttr::default()
    };
    // SAFETY: `AttachAttr` is the BPF_PROG_ATTACH member and holds no
    // addresses; both fds are borrowed for the call.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map(drop)
}

/// `BPF_PROG_DETACH` of one device program (attached with
/// [`BPF_F_ALLOW_MULTI`], so the kernel needs to be told which).
pub fn prog_detach(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..AttachAttr::default()
    };
    // SAFETY: as for prog_attach: no addresses, fds borrowed for the call.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }.map(drop)
}

/// `BPF_PROG_QUERY`: the ids of the device programs attached directly to
/// the cgroup (not those inherited from its ancestors).
pub fn prog_query_cgroup_device(cgroup: BorrowedFd<'_>) -> Result<Vec<u32>, Errno> {
    // A cgroup holds at most 64 programs per hook today; the kernel says
    // how many there are (ENOSPC) if that ever grows.
    let mut ids = vec![0u32; 64];
    for _ in 0..8 {
        let mut attr = QueryAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..QueryAttr::default()
        };
        // SAFETY: `QueryAttr` is the BPF_PROG_QUERY prefix; `prog_ids`
        // points to `ids`, exclusively borrowed, with room for `prog_cnt`
        // ids, the most the kernel writes.
        match unsafe { bpf(BPF_PROG_QUERY, &mut attr) } {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            Err(Errno::ENOSPC) => ids.resize(attr.prog_cnt.max(ids.len() as u32 * 2) as usize, 0),
            Err(e) => return Err(e),
        }
    }
    Err(Errno::ENOSPC)
}

/// `BPF_PROG_GET_FD_BY_ID`: a handle on a loaded program (needs
/// `CAP_SYS_ADMIN`).
pub fn prog_get_fd_by_id(id: u32) -> Result<OwnedFd, Errno> {
    let mut attr = GetFdByIdAttr {
        prog_id: id,
        ..GetFdByIdAttr::default()
    };
    // SAFETY: `GetFdByIdAttr` is the BPF_PROG_GET_FD_BY_ID member and holds
    // no addresses.
    let fd = unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) }?;
    Ok(owned(fd))
}

/// A step of [`replace_device_program`] that failed.
#[derive(Debug)]
pub struct StepFailed {
    /// `query`, `open` (an old program), `attach` or `detach`.
    pub step: &'static str,
    /// Why.
    pub errno: Errno,
}

/// Makes `prog` the cgroup's device filter: attaches it, then detaches the
/// device programs that were attached to the cgroup itself before (an
/// `update`, or a filter left by an earlier attempt).
///
/// Attaching first means there is never a moment without a filter; for that
/// moment both run and an access needs both to allow it, which can only be
/// stricter than either. (`BPF_F_REPLACE` would swap atomically but only one
/// program, and needs Linux 5.6.) Old programs that vanish meanwhile
/// (`ENOENT`) are done with; those we may not open (an LSM's label, as runc
/// notes for systemd's) stay attached, which can only deny more.
pub fn replace_device_program(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
) -> Result<(), StepFailed> {
    let failed = |step| move |errno| StepFailed { step, errno };
    let ids = prog_query_cgroup_device(cgroup).map_err(failed("query"))?;
    // Handles on the old programs before attaching, so an id reused by a
    // later program can never make us detach that one.
    let mut old = Vec::with_capacity(ids.len());
    for id in ids {
        match prog_get_fd_by_id(id) {
            Ok(fd) => old.push(fd),
            Err(Errno::ENOENT | Errno::EPERM | Errno::EACCES) => {}
            Err(e) => return Err(failed("open")(e)),
        }
    }
    prog_attach(cgroup, prog, BPF_F_ALLOW_MULTI).map_err(failed("attach"))?;
    for fd in &old {
        match prog_detach(cgroup, fd.as_fd()) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(failed("detach")(e)),
        }
    }
    Ok(())
}
