//! Finding a container's processes without a cgroup (rootless, nothing
//! delegated): they are the processes in its init's pid namespace, which
//! `create` then insists on.

use nix::unistd::Pid;

/// The processes whose pid namespace is the one of `init` (by the
/// `/proc/<pid>/ns/pid` link, which names the namespace's inode), `init`
/// included. Empty when `init` is gone: the kernel kills a pid namespace's
/// processes when its init dies. Processes we may not inspect are not
/// ours, so they are not the container's either.
pub(crate) fn members(init: i32) -> Vec<Pid> {
    let link = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let Some(ns) = link(&init.to_string()) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<Pid> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|name| link(name).as_ref() == Some(&ns))
        .filter_map(|name| name.parse().ok())
        .map(Pid::from_raw)
        .collect();
    pids.sort();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_namespace_has_us() {
        let me = std::process::id() as i32;
        assert!(members(me).contains(&Pid::from_raw(me)));
        assert!(members(0).is_empty(), "no such process");
    }
}
