//! The one error type at the library boundary.

use std::path::PathBuf;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupError;
use crate::spec::SpecError;

/// A step of container setup that failed inside the container's processes,
/// sent back to the runtime as a value (not a string) over the sync socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{step}{}: {}", target.as_ref().map(|t| format!(" {t}")).unwrap_or_default(), detail)]
pub struct ChildError {
    /// What was being done (`mount`, `pivot_root`, `set rlimit`...).
    pub step: String,
    /// What it was done to (a path, a field, a capability).
    pub target: Option<String>,
    /// The errno, when a syscall failed.
    pub errno: Option<i32>,
    /// Human-readable cause.
    pub detail: String,
}

impl ChildError {
    /// A failed syscall.
    pub fn sys(step: impl Into<String>, target: impl Into<Option<String>>, errno: Errno) -> Self {
        ChildError {
            step: step.into(),
            target: target.into(),
            errno: Some(errno as i32),
            detail: errno.desc().to_string(),
        }
    }

    /// A failure that is not a syscall's.
    pub fn other(
        step: impl Into<String>,
        target: impl Into<Option<String>>,
        detail: impl Into<String>,
    ) -> Self {
        ChildError {
            step: step.into(),
            target: target.into(),
            errno: None,
            detail: detail.into(),
        }
    }
}

/// Container status, as the OCI state reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is in progress.
    Creating,
    /// Created, waiting for `start`.
    Created,
    /// The user process runs.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// The process has exited.
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// Everything that can go wrong, by cause. The `cella` binary maps each to
/// runc's exit code (1) and a one-line message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle's configuration is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// The container id is not acceptable.
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId {
        /// The id.
        id: String,
        /// Why.
        reason: &'static str,
    },
    /// A container with this id exists already.
    #[error("container {id:?} already exists")]
    Exists {
        /// The id.
        id: String,
    },
    /// No container with this id.
    #[error("container {id:?} does not exist")]
    NotFound {
        /// The id.
        id: String,
    },
    /// The operation is not allowed in the container's current status.
    #[error("cannot {op} container {id:?}: it is {status}")]
    WrongStatus {
        /// The id.
        id: String,
        /// The operation.
        op: &'static str,
        /// The status that forbids it.
        status: Status,
    },
    /// Setting up the container failed inside its processes.
    #[error("container setup failed: {0}")]
    Child(#[from] ChildError),
    /// A syscall made by the runtime failed.
    #[error("{op}{}: {source}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Sys {
        /// What was attempted.
        op: &'static str,
        /// The file it was attempted on, if any.
        path: Option<PathBuf>,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// A file of the runtime (state, pid file, log) could not be used.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `newuidmap` or `newgidmap` could not map a rootless container's ids.
    #[error("{helper} {args}: {reason}")]
    IdMapHelper {
        /// `newuidmap` or `newgidmap`.
        helper: &'static str,
        /// Its arguments (the pid, then the ranges).
        args: String,
        /// Why it failed (its own message when it ran).
        reason: String,
    },
    /// The operation needs the container's own cgroup, which a rootless
    /// container without a delegated cgroup does not have.
    #[error("cannot {op} container {id:?}: it has no cgroup of its own (rootless, and no cgroup was delegated to its user)")]
    NoCgroup {
        /// The id.
        id: String,
        /// The operation.
        op: &'static str,
    },
    /// Something the caller asked for is invalid (a flag, a signal name).
    #[error("{0}")]
    Usage(String),
    /// The runtime and the container's processes disagree on the protocol.
    #[error("internal: expected {expected} from the container process, got {received}")]
    UnexpectedMessage {
        /// What was expected.
        expected: &'static str,
        /// What came.
        received: String,
    },
}

impl Error {
    pub(crate) fn sys(
        op: &'static str,
        path: impl Into<Option<PathBuf>>,
    ) -> impl FnOnce(Errno) -> Error {
        let path = path.into();
        move |source| Error::Sys { op, path, source }
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}
