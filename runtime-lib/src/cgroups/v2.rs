//! cgroup v2: one directory in the unified tree.

use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;

use super::{devices_bpf, io_err, CgroupError};
use crate::cgroup_types::DeviceRule;
use crate::sys::bpf;

/// Creates the directory level by level: a v2 cgroup only has the files of
/// the controllers its parent enables in `cgroup.subtree_control`, so every
/// available controller is enabled at each level from the deepest existing
/// one down to the container's parent. A level that cannot ("no internal
/// processes": a non-root cgroup with processes of its own) is left alone;
/// a limit that then has no file fails later, naming its field. Each level
/// made is added to `made` (one that appeared meanwhile is not ours).
pub(super) fn create(dir: &Path, made: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    for level in missing.into_iter().rev() {
        if let Some(parent) = level.parent() {
            enable_controllers(parent);
        }
        match std::fs::create_dir(level) {
            Ok(()) => made.push(level.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("create", level)(e)),
        }
    }
    Ok(())
}

/// Enables every available controller from the top of the hierarchy down
/// to `dir`'s parent, for a directory someone else made: systemd enables
/// only the controllers it manages (not hugetlb, rdma, misc), and runc
/// enables the rest above a container's scope too.
pub(super) fn enable_above(dir: &Path) {
    let levels: Vec<&Path> = dir
        .ancestors()
        .skip(1)
        .take_while(|p| p.join("cgroup.controllers").exists())
        .collect();
    for level in levels.into_iter().rev() {
        enable_controllers(level);
    }
}

/// A level with processes of its own is left alone (but the root, which
/// has no `cgroup.type` and may have both): enabling controllers there
/// would fail for the domain ones and turn it threaded for the others,
/// and it is someone else's.
fn enable_controllers(level: &Path) {
    // The root's `cgroup.procs` can list the whole host: read only below it.
    if level.join("cgroup.type").exists()
        && !std::fs::read_to_string(level.join("cgroup.procs"))
            .unwrap_or_default()
            .trim()
            .is_empty()
    {
        return;
    }
    let available = std::fs::read_to_string(level.join("cgroup.controllers")).unwrap_or_default();
    let enabled = std::fs::read_to_string(level.join("cgroup.subtree_control")).unwrap_or_default();
    for c in available.split_whitespace() {
        if !enabled.split_whitespace().any(|e| e == c) {
            let _ = std::fs::write(level.join("cgroup.subtree_control"), format!("+{c}"));
        }
    }
}

/// v2 has no `devices.allow`/`devices.deny` files: device access is decided
/// by an eBPF program attached to the cgroup directory, built from the rules
/// by [`devices_bpf`]. An empty list leaves the cgroup as it is.
pub(super) fn apply_device_rules(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    if rules.is_empty() {
        return Ok(());
    }
    let code = devices_bpf::encode(&devices_bpf::program(rules));
    let cgroup: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(io_err("open", dir))?
        .into();
    let prog = load_device_program(&code).map_err(|(errno, log)| CgroupError::DeviceProgram {
        step: "load",
        path: dir.to_path_buf(),
        errno,
        log,
    })?;
    bpf::replace_device_program(cgroup.as_fd(), prog.as_fd()).map_err(|e| {
        CgroupError::DeviceProgram {
            step: e.step,
            path: dir.to_path_buf(),
            errno: e.errno,
            log: String::new(),
        }
    })
    // Both fds close here: the attachment keeps the program alive until it
    // is detached or the cgroup is removed.
}

/// Loads the filter; on failure, the errno and the verifier's explanation.
///
/// The first attempt goes without a log: a log buffer too small for the
/// verifier's trace of a good program would itself fail the load (`ENOSPC`).
/// Only a refused program is loaded again with a buffer, to say why.
fn load_device_program(code: &[u8]) -> Result<OwnedFd, (Errno, String)> {
    // The kernel only reads the license to gate GPL-only helpers, which a
    // device filter does not call.
    const LICENSE: &CStr = c"Apache-2.0";
    const LOG_SIZE: usize = 1 << 20;
    let first = match bpf::prog_load_cgroup_device(code, LICENSE, None) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let mut log = vec![0u8; LOG_SIZE];
    match bpf::prog_load_cgroup_device(code, LICENSE, Some(&mut log)) {
        Ok(fd) => Ok(fd),
        Err(errno) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]).trim().to_string();
            // ENOSPC here means the trace outgrew the buffer: the first
            // errno is the real reason.
            let errno = if errno == Errno::ENOSPC { first } else { errno };
            Err((errno, text))
        }
    }
}

pub(super) fn set_frozen(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.freeze");
    std::fs::write(&file, if frozen { "1" } else { "0" }).map_err(io_err("write", &file))?;
    let events = dir.join("cgroup.events");
    let want = if frozen { "frozen 1" } else { "frozen 0" };
    for _ in 0..1000 {
        let text = std::fs::read_to_string(&events).map_err(io_err("read", &events))?;
        if text.lines().any(|l| l.trim() == want) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(CgroupError::Io {
        op: "freeze",
        path: file,
        source: std::io::Error::from_raw_os_error(libc::ETIMEDOUT),
    })
}

pub(super) fn is_frozen(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
}
