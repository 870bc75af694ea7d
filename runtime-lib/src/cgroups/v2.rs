//! cgroup v2: one directory in the unified tree.

use std::path::Path;
use std::time::Duration;

use super::{io_err, CgroupError};
use crate::plan::DeviceRule;

pub(super) fn create(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(io_err("create", dir))
}

/// v2 has no device files: access control needs an eBPF program attached to
/// the cgroup, which comes with issue [2]. Refuse rather than pretend.
pub(super) fn apply_device_rules(rules: &[DeviceRule]) -> Result<(), CgroupError> {
    if rules.is_empty() {
        return Ok(());
    }
    Err(CgroupError::Unsupported(
        "linux.resources.devices: device rules on cgroup v2 need an eBPF program, not supported yet".into(),
    ))
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
