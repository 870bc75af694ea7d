//! The executor: replays a [`Plan`](crate::plan::Plan) with syscalls, in
//! the processes that become the container.

pub(crate) mod apparmor;
pub(crate) mod devices;
pub(crate) mod exec;
pub(crate) mod fds;
pub(crate) mod fs;
pub(crate) mod init;
pub(crate) mod keyring;
pub(crate) mod last_steps;
pub(crate) mod mounts;
pub(crate) mod namespaces;
pub(crate) mod process;
pub(crate) mod procfs;
pub(crate) mod seccomp;
pub(crate) mod selinux;
pub(crate) mod stage1;
pub(crate) mod tuning;

mod cgroupfs;
mod copyup;
mod mount_point;

/// Moves the freshly forked child into the container's cgroup itself
/// (cgroup v1: see `ContainerCgroup::self_join_files`) and tells the
/// runtime, which waits for that instead of writing `cgroup.procs`. Nothing
/// to do, and nothing sent, when `tasks_files` is empty (the runtime places
/// the child).
pub(crate) fn join_cgroup_self(
    channel: &crate::sync::ChildSide,
    tasks_files: &[std::path::PathBuf],
) -> Result<(), crate::error::ChildError> {
    if tasks_files.is_empty() {
        return Ok(());
    }
    crate::cgroups::join_self(tasks_files)?;
    channel.report_in_cgroup()
}
