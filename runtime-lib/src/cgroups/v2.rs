//! cgroup v2: one directory in the unified tree.

use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::PollFlags;

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

/// How long a freeze or thaw may take to be complete.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn set_frozen(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.freeze");
    let events = dir.join("cgroup.events");
    // Opened before the write: a cgroup whose events cannot be watched is
    // left as it was.
    let watch = std::fs::File::open(&events).map_err(io_err("open", &events))?;
    std::fs::write(&file, if frozen { "1" } else { "0" }).map_err(io_err("write", &file))?;
    let want = if frozen { "frozen 1" } else { "frozen 0" };
    let deadline = std::time::Instant::now() + FREEZE_TIMEOUT;
    loop {
        if read_from_start(&watch)
            .map_err(io_err("read", &events))?
            .lines()
            .any(|l| l.trim() == want)
        {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        // The kernel signals a change of `cgroup.events` since this fd's
        // last read with POLLPRI (kernfs_notify), so the wait ends when the
        // freeze completes.
        let changed =
            crate::ready::wait_for(watch.as_fd(), PollFlags::POLLPRI, left).map_err(|e| {
                CgroupError::Io {
                    op: "poll",
                    path: events.clone(),
                    source: e.into(),
                }
            })?;
        if !changed {
            return Err(CgroupError::Io {
                op: "freeze",
                path: file,
                source: std::io::Error::from_raw_os_error(libc::ETIMEDOUT),
            });
        }
    }
}

/// The whole of a kernfs file, read through `file` from offset 0 (which
/// also marks its current content as seen, for the next POLLPRI).
fn read_from_start(file: &std::fs::File) -> std::io::Result<String> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 4096];
    let n = file.read_at(&mut buf, 0)?;
    buf.truncate(n);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub(super) fn is_frozen(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `set_frozen`'s wait relies on, on the real kernel (root only,
    /// in a cgroup of its own under the host's cgroup2 mount): a change of
    /// `cgroup.events` after our last read wakes a POLLPRI wait, and none
    /// times out. A freeze is usually complete when its write returns, so
    /// the change used is the cgroup becoming populated and empty again.
    #[test]
    fn a_change_of_cgroup_events_wakes_the_wait() {
        let host = crate::cgroups::HostCgroups::detect().ok();
        let Some(unified) = host.and_then(|h| h.unified) else {
            eprintln!("SKIPPED a_change_of_cgroup_events_wakes_the_wait: no cgroup2 mount");
            return;
        };
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIPPED a_change_of_cgroup_events_wakes_the_wait: needs root");
            return;
        }
        let dir = unified.join(format!("cella-events-test-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let watch = std::fs::File::open(dir.join("cgroup.events")).unwrap();
        let wait = |ms| {
            crate::ready::wait_for(watch.as_fd(), PollFlags::POLLPRI, Duration::from_millis(ms))
                .unwrap()
        };
        let before = read_from_start(&watch).unwrap();
        let quiet = wait(50);
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let moved = std::fs::write(dir.join("cgroup.procs"), child.id().to_string());
        let woke = wait(5000);
        let populated = read_from_start(&watch).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        let woke_again = wait(5000);
        let emptied = read_from_start(&watch).unwrap();
        std::fs::remove_dir(&dir).unwrap();
        moved.unwrap();
        assert!(before.contains("populated 0"), "{before}");
        assert!(!quiet, "woke without a change");
        assert!(woke && populated.contains("populated 1"), "{populated}");
        assert!(woke_again && emptied.contains("populated 0"), "{emptied}");
    }
}
