//! A user namespace made only for its maps: the mapping an idmapped mount
//! takes (`mount_setattr(MOUNT_ATTR_IDMAP)` wants a user namespace fd).
//!
//! The cheapest safe way, as runc does it: a short-lived child in a new user
//! namespace ([`sys::spawn_userns_holder`]), whose maps the runtime writes,
//! whose `/proc/PID/ns/user` it opens, and which it then kills and reaps. The
//! fd keeps the namespace alive without any process in it.

use std::os::fd::OwnedFd;

use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::plan::IdRange;
use crate::sys;

/// Kills and reaps the holder however the caller leaves: nothing stays
/// behind on an error.
struct Holder(Pid);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = kill(self.0, Signal::SIGKILL);
        let _ = waitpid(self.0, None);
    }
}

/// An fd of a new user namespace with these uid and gid maps; `Err` says
/// which step failed.
pub(super) fn with_maps(uid: &[IdRange], gid: &[IdRange]) -> Result<OwnedFd, String> {
    let holder = Holder(
        sys::spawn_userns_holder()
            .map_err(|e| format!("clone(CLONE_NEWUSER) for the mapping: {}", e.desc()))?,
    );
    let pid = holder.0;
    write_map(pid, "uid_map", uid)?;
    write_map(pid, "gid_map", gid)?;
    let path = format!("/proc/{pid}/ns/user");
    nix::fcntl::open(
        path.as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("open {path}: {}", e.desc()))
}

/// The map in one write, as the kernel requires.
fn write_map(pid: Pid, file: &str, ranges: &[IdRange]) -> Result<(), String> {
    let text: String = ranges
        .iter()
        .map(|r| format!("{} {} {}\n", r.container_id, r.host_id, r.size))
        .collect();
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, text).map_err(|e| format!("write {path}: {e}"))
}
