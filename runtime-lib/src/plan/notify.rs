//! sd_notify proxying (runc's `NOTIFY_SOCKET`, what podman's
//! `--sdnotify=container` and Quadlet's `Notify=yes` rely on): the
//! container gets a directory of the runtime's state, read-only at
//! `/run/notify`, and `NOTIFY_SOCKET=/run/notify/notify.sock`. `start` (or
//! `run`) binds that socket, waits for `READY=` and passes it on to the
//! host's socket (`container::NotifyProxy`). runc does the same, by the
//! same paths: a service's notifications find their way whichever of the
//! two runtimes made the container.

use std::path::{Path, PathBuf};

use oci_spec::runtime::MountBuilder;
use serde::Serialize;

use super::idmap::IdmapHost;
use super::mounts::{self, MountOp};
use crate::error::FieldError;

/// The directory, in a container's state directory, mounted at
/// [`MOUNT_POINT`].
pub const DIR: &str = "notify";
/// The socket's name in [`DIR`].
pub const SOCKET: &str = "notify.sock";
/// Where the container sees [`DIR`].
pub const MOUNT_POINT: &str = "/run/notify";

/// What sd_notify proxying makes on the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotifyPlan {
    /// `<state dir>/notify`, made 0755 by `create` (the container's user
    /// must reach the socket in it); it goes with the state at `delete`.
    #[serde(serialize_with = "crate::path_json::lossy")]
    pub dir: PathBuf,
}

impl NotifyPlan {
    /// The socket `start` binds, as the host sees it.
    pub fn socket(&self) -> PathBuf {
        self.dir.join(SOCKET)
    }
}

/// The proxy's directory, its mount (runc's: `bind`, `nosuid`, `noexec`,
/// `nodev`, `ro`; after the config's mounts, as runc appends it) and the
/// variable the process gets. `state_dir`: the container's, where the
/// runtime keeps it; `index`: the mount's place after the config's.
pub(super) fn plan(
    state_dir: Option<&Path>,
    index: usize,
    bundle: &Path,
    host: IdmapHost,
) -> Result<(NotifyPlan, MountOp, String), FieldError> {
    const FIELD: &str = "NOTIFY_SOCKET";
    let state_dir = state_dir.ok_or_else(|| {
        FieldError::invalid(
            FIELD,
            "sd_notify proxying needs the container's state directory (plan it with a Runtime)",
        )
    })?;
    let dir = state_dir.join(DIR);
    let mount = MountBuilder::default()
        .destination(MOUNT_POINT)
        .source(&dir)
        .typ("bind")
        .options(
            ["bind", "nosuid", "noexec", "nodev", "ro"]
                .map(String::from)
                .to_vec(),
        )
        .build()
        .map_err(|e| FieldError::invalid(FIELD, format!("its mount: {e}")))?;
    let field = format!("{FIELD} (its mount of {} at {MOUNT_POINT})", dir.display());
    let op = mounts::plan_mount(index, &field, &mount, bundle, host)?;
    let env = format!("NOTIFY_SOCKET={MOUNT_POINT}/{SOCKET}");
    Ok((NotifyPlan { dir }, op, env))
}
