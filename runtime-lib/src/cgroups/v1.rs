//! cgroup v1: one directory per hierarchy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{io_err, write_one, CgroupError, CgroupWrite};
use crate::cgroup_types::DeviceRule;

/// Makes the missing levels of every hierarchy's directory, adding each
/// one it made to `made` (a level that appeared meanwhile is not ours).
pub(super) fn create(
    dirs: &[(String, PathBuf)],
    made: &mut Vec<PathBuf>,
) -> Result<(), CgroupError> {
    for (name, dir) in dirs {
        let cpuset = name.split(',').any(|c| c == "cpuset");
        // Most often only the last level is missing: one mkdir then, no
        // look at each level first.
        match std::fs::create_dir(dir) {
            Ok(()) => {
                made.push(dir.clone());
                if cpuset {
                    fill_cpuset(dir)?;
                }
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => {}
        }
        let mut missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
        missing.reverse();
        for level in missing {
            match std::fs::create_dir(level) {
                Ok(()) => made.push(level.to_path_buf()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err("create", level)(e)),
            }
            if cpuset {
                fill_cpuset(level)?;
            }
        }
    }
    Ok(())
}

/// A new v1 cpuset cgroup starts with empty `cpuset.cpus`/`cpuset.mems`,
/// and the kernel refuses tasks until both are set: copy them down from the
/// parent at every level we create.
fn fill_cpuset(dir: &Path) -> Result<(), CgroupError> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mine = dir.join(file);
        let current = std::fs::read_to_string(&mine).map_err(io_err("read", &mine))?;
        if current.trim().is_empty() {
            let parent = dir.parent().unwrap_or(dir).join(file);
            let value = std::fs::read_to_string(&parent).map_err(io_err("read", &parent))?;
            std::fs::write(&mine, value.trim()).map_err(io_err("write", &mine))?;
        }
    }
    Ok(())
}

pub(super) fn apply_device_rules(
    dirs: &[(String, PathBuf)],
    rules: &[DeviceRule],
) -> Result<(), CgroupError> {
    // No rules (an unprivileged runtime writes none) need no hierarchy.
    if rules.is_empty() {
        return Ok(());
    }
    let Some((_, dir)) = dirs
        .iter()
        .find(|(n, _)| n.split(',').any(|c| c == "devices"))
    else {
        return Err(CgroupError::Unsupported(
            "linux.resources.devices: the host has no v1 devices hierarchy".into(),
        ));
    };
    for rule in rules {
        let file = dir.join(if rule.allow {
            "devices.allow"
        } else {
            "devices.deny"
        });
        std::fs::write(&file, rule.to_kernel()).map_err(io_err("write", &file))?;
    }
    Ok(())
}

fn freezer(dirs: &[(String, PathBuf)]) -> Option<&Path> {
    dirs.iter()
        .find(|(n, _)| n == "freezer")
        .map(|(_, d)| d.as_path())
}

pub(super) fn set_frozen(dirs: &[(String, PathBuf)], frozen: bool) -> Result<(), CgroupError> {
    let Some(dir) = freezer(dirs) else {
        return Err(CgroupError::Unsupported(
            "the host has no v1 freezer hierarchy".into(),
        ));
    };
    let file = dir.join("freezer.state");
    let want = if frozen { "FROZEN" } else { "THAWED" };
    // Freezing can report FREEZING for a while; writing again nudges tasks
    // that were in the middle of a fork.
    for _ in 0..1000 {
        std::fs::write(&file, want).map_err(io_err("write", &file))?;
        let now = std::fs::read_to_string(&file).map_err(io_err("read", &file))?;
        if now.trim() == want {
            return Ok(());
        }
        // Why a sleep: v1's freezer.state has no notification (no
        // cgroup.events, no eventfd), and this is a retry that writes again
        // as much as a wait.
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(CgroupError::Io {
        op: "freeze",
        path: file,
        source: std::io::Error::from_raw_os_error(libc::ETIMEDOUT),
    })
}

pub(super) fn is_frozen(dirs: &[(String, PathBuf)]) -> bool {
    freezer(dirs)
        .and_then(|d| std::fs::read_to_string(d.join("freezer.state")).ok())
        .is_some_and(|s| s.trim() == "FROZEN")
}

/// The hierarchy directory that has `controller`.
fn dir_for<'a>(dirs: &'a [(String, PathBuf)], controller: &str) -> Option<&'a Path> {
    dirs.iter()
        .find(|(n, _)| n.split(',').any(|c| c == controller))
        .map(|(_, d)| d.as_path())
}

pub(super) fn apply_writes(
    dirs: &[(String, PathBuf)],
    list: &[CgroupWrite],
) -> Result<(), CgroupError> {
    let mut list: Vec<&CgroupWrite> = list.iter().collect();
    order_memory_and_swap(dirs, &mut list);
    for w in list {
        let Some(dir) = dir_for(dirs, w.controller) else {
            return Err(CgroupError::Unsupported(format!(
                "{}: the host has no cgroup v1 {} hierarchy, so it cannot be enforced",
                w.field, w.controller
            )));
        };
        write_one(dir, w)?;
        if w.file == "memory.kmem.limit_in_bytes" {
            check_kept(dir, w)?;
        }
    }
    Ok(())
}

/// v1 refuses a memory limit above the memory+swap limit and the reverse:
/// when raising, memsw goes first; when lowering, memory goes first.
fn order_memory_and_swap(dirs: &[(String, PathBuf)], list: &mut [&CgroupWrite]) {
    let pos = |file: &str| list.iter().position(|w| w.file == file);
    let (Some(mem), Some(sw)) = (
        pos("memory.limit_in_bytes"),
        pos("memory.memsw.limit_in_bytes"),
    ) else {
        return;
    };
    let current = dir_for(dirs, "memory")
        .and_then(|d| std::fs::read_to_string(d.join("memory.memsw.limit_in_bytes")).ok())
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(i64::MAX);
    let new: i64 = list[sw].value.parse().unwrap_or(-1);
    let raising = new < 0 || new > current;
    if raising != (sw < mem) {
        list.swap(mem, sw);
    }
}

/// Since Linux 5.16 the v1 kernel memory limit accepts any write and
/// enforces nothing: read it back, and refuse a limit the kernel dropped
/// (it may round to a page).
fn check_kept(dir: &Path, w: &CgroupWrite) -> Result<(), CgroupError> {
    let want: i64 = w.value.parse().unwrap_or(-1);
    if want < 0 {
        return Ok(());
    }
    let got: i64 = std::fs::read_to_string(dir.join(&w.file))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(-1);
    if got >= 0 && got <= want && want - got < 4096 {
        return Ok(());
    }
    Err(CgroupError::Unsupported(format!(
        "{}: this kernel ignores {} (kernel memory limits were dropped in Linux 5.16), so it cannot be enforced",
        w.field, w.file
    )))
}
