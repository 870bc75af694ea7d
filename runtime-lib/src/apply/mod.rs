//! The executor: replays a [`Plan`](crate::plan::Plan) with syscalls, in
//! the processes that become the container.

pub(crate) mod devices;
pub(crate) mod exec;
pub(crate) mod fds;
pub(crate) mod fs;
pub(crate) mod init;
pub(crate) mod mounts;
pub(crate) mod namespaces;
pub(crate) mod process;
pub(crate) mod procfs;
pub(crate) mod seccomp;

mod cgroupfs;
mod copyup;
