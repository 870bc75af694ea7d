//! The one error type at the library boundary.

use std::path::PathBuf;

/// The errno type of [`Error::Sys`], from `nix`.
pub use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupError;
use crate::spec::SpecError;

/// A field of a configuration that is refused, in one shape wherever it is
/// found (validation, planning, resource limits, seccomp): the JSON path of
/// the field, why, and whether the value is wrong or cannot be honoured
/// here. The file the field is in is attached once, where the
/// configuration was read ([`FieldError::in_file`]); a field of something
/// given without a file (the process of `exec`, the resources of `update`)
/// has none.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{field}: {reason}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
pub struct FieldError {
    /// The configuration file, once attached.
    pub file: Option<PathBuf>,
    /// The JSON path of the field (`linux.namespaces[2]`), or the option
    /// (`CgroupSetting::Disabled`) that cannot be honoured.
    pub field: String,
    /// Why, and what would work instead.
    pub reason: String,
    /// Whether the value is wrong or cannot be honoured.
    pub kind: FieldErrorKind,
}

/// Why a field is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// The value breaks a rule: the configuration is wrong.
    Invalid,
    /// The value is fine but this host or this runtime cannot honour it
    /// (AppArmor on a host without it, a limit for a cgroup controller
    /// that was not delegated, a feature not implemented yet).
    Unsupported,
}

impl FieldError {
    /// A value that breaks a rule.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            file: None,
            field: field.into(),
            reason: reason.into(),
            kind: FieldErrorKind::Invalid,
        }
    }

    /// A value this host or this runtime cannot honour.
    pub fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            kind: FieldErrorKind::Unsupported,
            ..FieldError::invalid(field, reason)
        }
    }

    /// The error, naming the file the field is in.
    pub fn in_file(self, file: &std::path::Path) -> SpecError {
        SpecError::Field(FieldError {
            file: Some(file.to_path_buf()),
            ..self
        })
    }

    /// Whether the field cannot be honoured (rather than being wrong).
    pub fn is_unsupported(&self) -> bool {
        self.kind == FieldErrorKind::Unsupported
    }
}

mod step;

pub use step::Step;

/// What makes a cgroup unfit to be a new container's ([`Error::CgroupInUse`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InUse {
    /// Processes are in its subtree: it is someone else's.
    #[error(
        "the cgroup already has {count} process(es) in {}: a container's cgroup must be its own \
         (runc 1.2+ refuses a non-empty cgroup too); choose another path or empty it",
        dir.display()
    )]
    Processes {
        /// The directory of its subtree they are in.
        dir: PathBuf,
        /// How many.
        count: usize,
    },
    /// It, or a level above it, is frozen: a process put there would stop
    /// at once, and `create` with it.
    #[error(
        "the cgroup is frozen ({}): the container's processes would stop as they entered it; \
         thaw it or choose another path",
        dir.display()
    )]
    Frozen {
        /// The frozen level.
        dir: PathBuf,
    },
}

/// A step of container setup that failed inside the container's processes,
/// sent back to the runtime as a value (not a string) over the sync socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{step}{}: {}", target.as_ref().map(|t| format!(" {t}")).unwrap_or_default(), detail)]
pub struct ChildError {
    /// What was being done (`mount`, `pivot_root`, `set rlimit`...).
    pub step: Step,
    /// What it was done to (a path, a field, a capability).
    pub target: Option<String>,
    /// The errno, when a syscall failed.
    pub errno: Option<i32>,
    /// Human-readable cause.
    pub detail: String,
}

impl ChildError {
    /// A failed syscall.
    pub fn sys(step: Step, target: impl Into<Option<String>>, errno: Errno) -> Self {
        ChildError {
            step,
            target: target.into(),
            errno: Some(errno as i32),
            detail: errno.desc().to_string(),
        }
    }

    /// A failure that is not a syscall's.
    pub fn other(step: Step, target: impl Into<Option<String>>, detail: impl Into<String>) -> Self {
        ChildError {
            step,
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

/// Everything that can go wrong, by cause: match on the variant to tell a
/// missing container ([`Error::NotFound`]) from a taken id
/// ([`Error::AlreadyExists`]), an operation the container's status forbids
/// ([`Error::WrongState`]), a config that is wrong ([`Error::InvalidConfig`],
/// naming the file and the JSON field) from one this host or this runtime
/// cannot honour ([`Error::Unsupported`]), and a failed syscall
/// ([`Error::Sys`], naming the call and what it was made on).
///
/// The `cella` binary prints every error as one line (its `Display`) and
/// exits with status 1, as runc does. New variants may be added: the enum
/// is `#[non_exhaustive]`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid: unreadable, not JSON, a field of the
    /// wrong type, or a value that breaks a rule. The [`SpecError`] names
    /// the file (when there is one) and the JSON path of the field
    /// (`linux.namespaces[2]`). The process given to `exec` and the
    /// resources given to `update` are configuration too.
    #[error(transparent)]
    InvalidConfig(SpecError),
    /// The configuration asks for something this host or this runtime
    /// cannot honour (AppArmor on a host without it, a limit for a cgroup
    /// controller that was not delegated, a feature not implemented yet).
    /// Refused rather than ignored: the container would run otherwise than
    /// asked. Its [`FieldError::kind`] is [`FieldErrorKind::Unsupported`].
    #[error(transparent)]
    Unsupported(FieldError),
    /// The cgroup the configuration names is not free for a container:
    /// someone else's processes are in it, or it is frozen (runc 1.2+
    /// refuses both). Refused before anything is made.
    #[error("{}: {field}: {cause}", file.display())]
    CgroupInUse {
        /// The configuration file.
        file: PathBuf,
        /// What chose the cgroup: `linux.cgroupsPath`, or the option
        /// (`cgroups (CgroupSetting::Path)`).
        field: String,
        /// What is in the way.
        cause: InUse,
    },
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// systemd did not do what the systemd cgroup driver asked of it (or
    /// its bus could not be reached).
    #[error(transparent)]
    Systemd(#[from] crate::cgroups::systemd::SystemdError),
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
    AlreadyExists {
        /// The id.
        id: String,
    },
    /// No container with this id.
    #[error("container {id:?} does not exist")]
    NotFound {
        /// The id.
        id: String,
    },
    /// The operation is not allowed in the container's current status
    /// (runtime-spec: `start` needs `created`, `delete` without force
    /// `stopped`, ...).
    #[error("cannot {op} container {id:?}: it is {status}")]
    WrongState {
        /// The id.
        id: String,
        /// The operation.
        op: &'static str,
        /// The status that forbids it.
        status: Status,
    },
    /// Only the process that created a container (or started an `exec`)
    /// is the parent of its process and can wait for its exit status.
    #[error("cannot wait for {what} of container {id:?}: it is not a child of this process")]
    NotChild {
        /// The id.
        id: String,
        /// `the init` or `process <pid>`.
        what: String,
    },
    /// Setting up the container failed inside its processes.
    #[error("container setup failed")]
    Child(#[from] ChildError),
    /// A syscall made by the runtime failed.
    #[error("{op}{}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Sys {
        /// What was attempted: the syscall, and what for (`open exec fifo`,
        /// `pidfd_open`).
        op: &'static str,
        /// The file it was attempted on, if any.
        path: Option<PathBuf>,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// A device of `linux.netDevices` could not be moved into the
    /// container (`field` names its entry, `what` the device and the step).
    #[error("{field}: {what}")]
    NetDevice {
        /// `linux.netDevices["eth1"]` (or its `.name`).
        field: String,
        /// What failed, naming the device.
        what: String,
        /// The errno netlink returned.
        #[source]
        source: Errno,
    },
    /// A file of the runtime (state, pid file, log) could not be used.
    #[error("{op} {path}")]
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
    /// The operation needs the container's own cgroup, which a container
    /// created without one (cgroups disabled, or rootless without a
    /// delegated cgroup) does not have.
    #[error("cannot {op} container {id:?}: it has no cgroup of its own (cgroups disabled, or rootless and no cgroup was delegated to its user)")]
    NoCgroup {
        /// The id.
        id: String,
        /// The operation.
        op: &'static str,
    },
    /// Something the caller passed cannot be used: an option, a flag, a
    /// signal name, options that exclude each other. (A refused field of a
    /// process for `exec` or of resources for `update` is
    /// [`Error::InvalidConfig`] or [`Error::Unsupported`].)
    #[error("{0}")]
    Usage(String),
    /// The container's init exited while `create` set it up (its own
    /// error, if it sent one, is [`Error::Child`]).
    #[error("the container init died right after {after}")]
    InitDied {
        /// The step after which it was found dead: `it was forked`, `setup`.
        after: &'static str,
    },
    /// No `--root` was given and the caller's state directory cannot be
    /// found: an unprivileged user's is below `XDG_RUNTIME_DIR`, which is
    /// not set.
    #[error(
        "no state directory for uid {uid}: XDG_RUNTIME_DIR is not set (set it, or pass --root DIR)"
    )]
    NoStateDirectory {
        /// The caller's effective uid.
        uid: u32,
    },
    /// An operation failed, and undoing it logged warnings: the poststop
    /// hooks of a failed `create` that failed too (runtime-spec lifecycle
    /// step 13: a failed poststop hook is a warning). Shown as the error
    /// (its `Display` and `source` are the error's); [`Error::warnings`]
    /// gives the warnings, [`Error::root`] the error.
    #[error(transparent)]
    WithWarnings(Box<Warned>),
    /// A message to the container's processes could not be encoded.
    #[error("internal: encode {what} for the container process")]
    EncodeMessage {
        /// What was to be sent.
        what: &'static str,
        /// Why it could not be encoded.
        #[source]
        source: serde_json::Error,
    },
    /// The runtime and the container's processes disagree on the protocol.
    #[error("internal: expected {expected} from the container process, got {received}")]
    UnexpectedMessage {
        /// What was expected.
        expected: &'static str,
        /// What came.
        received: String,
    },
}

/// An error and the warnings logged while the failed operation was undone
/// ([`Error::WithWarnings`]). It shows as the error: its `Display` and its
/// `source` are the error's.
#[derive(Debug)]
pub struct Warned {
    /// What failed.
    pub error: Error,
    /// The warnings, one line each.
    pub warnings: Vec<String>,
}

impl std::fmt::Display for Warned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Warned {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// An error with its causes on one line, `what: why: errno` (what the
/// `cella` binary prints): the `Display` of this crate's errors says only
/// their own part, and leaves their `source` to be shown after it.
///
/// ```
/// use cella::error::Chain;
///
/// let e = cella::Error::Sys {
///     op: "open",
///     path: Some("/nonexistent".into()),
///     source: cella::error::Errno::ENOENT,
/// };
/// assert_eq!(e.to_string(), "open /nonexistent");
/// assert_eq!(Chain(&e).to_string(), "open /nonexistent: ENOENT: No such file or directory");
/// ```
pub struct Chain<'a>(pub &'a dyn std::error::Error);

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

/// A refusal of the configuration becomes [`Error::Unsupported`] when the
/// host or the runtime cannot honour the field, [`Error::InvalidConfig`]
/// otherwise.
impl From<SpecError> for Error {
    fn from(e: SpecError) -> Self {
        match e {
            SpecError::Field(e) if e.is_unsupported() => Error::Unsupported(e),
            e => Error::InvalidConfig(e),
        }
    }
}

/// A refused field of a configuration given without a file.
impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::from(SpecError::Field(e))
    }
}

impl Error {
    /// The warnings logged while the failed operation was undone (see
    /// [`Error::WithWarnings`]); empty for every other error.
    pub fn warnings(&self) -> &[String] {
        match self {
            Error::WithWarnings(w) => &w.warnings,
            _ => &[],
        }
    }

    /// The error itself, without the warnings of [`Error::WithWarnings`].
    pub fn root(&self) -> &Error {
        match self {
            Error::WithWarnings(w) => w.error.root(),
            e => e,
        }
    }

    /// `self` with `warnings` attached (itself when there are none).
    pub(crate) fn with_warnings(self, warnings: Vec<String>) -> Error {
        if warnings.is_empty() {
            self
        } else {
            Error::WithWarnings(Box::new(Warned {
                error: self,
                warnings,
            }))
        }
    }

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
