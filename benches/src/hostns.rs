//! The driver's own private mount namespace, in which every runtime runs directly.
//!
//! crun 1.8.1 refuses a hybrid-cgroup host ("cgroups in hybrid mode not supported") unless
//! `/sys/fs/cgroup/unified` is absent. Wrapping each run in `unshare` + `umount` (as the
//! benches once did) cost crun about 5.5 ms per run more than cella: it pays for starting in a
//! fresh mount namespace, which no host makes it do. So the driver itself enters one private
//! mount namespace once, unmounts the v2 tree there if it is mounted, and every runtime it
//! spawns inherits that namespace. Nothing outside the namespace changes: every mount in it is
//! made private before the unmount, so the unmount does not propagate to the host's mounts.

use std::ffi::CStr;
use std::io;
use std::sync::OnceLock;

/// The v2 tree of a hybrid host.
const UNIFIED: &str = "/sys/fs/cgroup/unified";

/// What [`enter`] did, for the header of the results.
static ENTERED: OnceLock<Result<String, String>> = OnceLock::new();

/// Enters the driver's private mount namespace (once per process; later calls return the first
/// call's outcome) and says what was done. Must run before the driver starts any thread:
/// unshare(CLONE_NEWNS) fails in a multi-threaded process.
pub fn enter() -> Result<String, String> {
    ENTERED.get_or_init(enter_once).clone()
}

fn enter_once() -> Result<String, String> {
    // SAFETY: unshare(2) takes flags only and touches no memory of ours; the driver is still
    // single-threaded here (see `enter`), so the new namespace is the whole process's.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(format!(
            "unshare(CLONE_NEWNS): {}",
            io::Error::last_os_error()
        ));
    }
    make_private()?;
    if !is_mount_point(UNIFIED)? {
        return Ok("private mount namespace; no /sys/fs/cgroup/unified mount in it".into());
    }
    // Until no mount is left there: a second mount may be stacked on the first.
    while is_mount_point(UNIFIED)? {
        let path = c"/sys/fs/cgroup/unified";
        // SAFETY: `path` is a NUL-terminated string that outlives the call. The mount is
        // private to this namespace (make_private above): the unmount does not reach the host.
        if unsafe { libc::umount2(path.as_ptr(), 0) } != 0 {
            return Err(format!("umount {UNIFIED}: {}", io::Error::last_os_error()));
        }
    }
    Ok("private mount namespace; /sys/fs/cgroup/unified unmounted in it".into())
}

/// `mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)`: no mount or unmount in this namespace
/// reaches another namespace, nor the other way round.
fn make_private() -> Result<(), String> {
    let root: &CStr = c"/";
    // SAFETY: every pointer is either null (allowed for source, fstype and data with
    // MS_PRIVATE) or a NUL-terminated string that outlives the call.
    let ret = unsafe {
        libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if ret != 0 {
        return Err(format!(
            "mount(\"/\", MS_REC|MS_PRIVATE): {}",
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Whether `path` is a mount point in this namespace: a mount point field (the fifth) of
/// `/proc/self/mountinfo` equal to it. Paths with spaces or other escaped bytes do not occur
/// here (the only caller asks for `/sys/fs/cgroup/unified`).
fn is_mount_point(path: &str) -> Result<bool, String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("/proc/self/mountinfo: {e}"))?;
    Ok(text
        .lines()
        .any(|line| line.split(' ').nth(4) == Some(path)))
}
