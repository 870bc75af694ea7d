//! The state directory `<root>/<id>/`: `state.json`, the exec FIFO, and the
//! lock that serialises commands on one container.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::cgroups::{ContainerCgroup, Ownership};
use crate::error::{Error, Status};

/// What the runtime remembers about a container between commands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StateFile {
    /// `ociVersion` of the bundle's config.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Pid of the container's init in the runtime's pid namespace.
    pub pid: i32,
    /// Start time of the init (field 22 of `/proc/<pid>/stat`): a pid
    /// reused by another process has another start time.
    pub start_time: u64,
    /// Bundle directory.
    #[serde(with = "crate::path_json::exact")]
    pub bundle: PathBuf,
    /// Root filesystem.
    #[serde(with = "crate::path_json::exact")]
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Annotations of the config.
    pub annotations: BTreeMap<String, String>,
    /// The container's cgroup on this host; `None` for a rootless
    /// container that got none (nothing was delegated to its user).
    #[serde(default)]
    pub cgroup: Option<ContainerCgroup>,
    /// Which of the cgroup's directories the container made (and `delete`
    /// removes) and which existed before it; `None` in a state written
    /// before this was recorded (the cgroup counts as made by it).
    #[serde(default)]
    pub cgroup_ownership: Option<Ownership>,
    /// The transient unit systemd made the cgroup as (the systemd cgroup
    /// driver): `delete` stops it, `update` sets its properties.
    #[serde(default)]
    pub systemd_unit: Option<String>,
    /// The user's manager that made `systemd_unit` (a rootless runtime's
    /// systemd driver); `None`: the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_user: Option<crate::cgroup_types::UserManager>,
    /// The device nodes of the container, kept allowed when `update`
    /// replaces the device rules.
    #[serde(default)]
    pub device_nodes: Vec<crate::plan::DeviceNode>,
    /// The config's process: `exec` starts from it (env, user, caps...)
    /// when given only a command line.
    #[serde(default)]
    pub process: Option<oci_spec::runtime::Process>,
    /// The hooks; poststart and poststop are run by later commands.
    #[serde(default)]
    pub hooks: crate::hooks::HookPlan,
    /// The config's seccomp profile, applied to `exec`'d processes too.
    #[serde(default)]
    pub seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
    /// `--no-new-keyring` at create: `exec`'d processes then keep their
    /// caller's session keyring too, else they join the container's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_new_keyring: bool,
    /// `linux.personality`, applied to `exec`'d processes too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<oci_spec::runtime::LinuxPersonality>,
    /// `linux.memoryPolicy`, applied to `exec`'d processes too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<oci_spec::runtime::LinuxMemoryPolicy>,
    /// Whether the container has its own pid namespace (without one, killing
    /// the init does not kill the rest).
    pub own_pid_namespace: bool,
    /// While `create` runs: its pid and start time. `create` writes the
    /// state before it makes anything (cgroup, processes), so a `create`
    /// killed at any point leaves a state that `delete` can undo; a state
    /// whose creator is gone is a failed create and counts as stopped.
    #[serde(default)]
    pub creator: Option<(i32, u64)>,
}

/// The OCI state as `cella state` prints it (runc's field order and extras).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    /// Version of the spec of the config.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Init pid; 0 once stopped.
    pub pid: i32,
    /// Status.
    pub status: Status,
    /// Bundle path.
    #[serde(serialize_with = "crate::path_json::lossy")]
    pub bundle: PathBuf,
    /// Root filesystem path.
    #[serde(serialize_with = "crate::path_json::lossy")]
    pub rootfs: PathBuf,
    /// Creation time.
    pub created: String,
    /// Owner of the container (user name of the state directory's owner).
    pub owner: String,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub annotations: BTreeMap<String, String>,
}

pub(crate) const STATE_FILE: &str = "state.json";
pub(crate) const EXEC_FIFO: &str = "exec.fifo";

/// An exclusive `flock` on a container's state directory, held until drop:
/// the per-id lock that serialises the commands that change a container
/// (`create`, `start`, `delete`, `pause`, `resume`, `update`). Commands on
/// other ids take other locks and never wait for it; `state` and `list`
/// only read files that are replaced atomically and take no lock.
pub(crate) struct DirLock {
    _lock: Flock<File>,
}

impl DirLock {
    pub(crate) fn lock(dir: &Path) -> Result<Self, Error> {
        // std opens with O_CLOEXEC: the lock never reaches a child's exec.
        let mut file = File::open(dir).map_err(Error::io("open", dir))?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Err((f, nix::errno::Errno::EINTR)) => file = f,
                Err((_, e)) => return Err(Error::sys("lock", dir.to_path_buf())(e)),
                Ok(lock) => return Ok(DirLock { _lock: lock }),
            }
        }
    }
}

/// Writes `bytes` to `path` atomically: a new file (mode 0600, `O_EXCL`,
/// so a file or symlink planted at the temporary name is never followed)
/// is written and renamed over `path`, so a reader sees the old
/// content or the new, never half of it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(Error::io("create", &tmp))?;
    let written = f.write_all(bytes);
    drop(f);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", &tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("rename", path)(e)
    })
}

impl StateFile {
    pub(crate) fn load(dir: &Path) -> Result<Option<Self>, Error> {
        let path = dir.join(STATE_FILE);
        let file = match std::fs::File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", path)(e)),
            Ok(f) => f,
        };
        let bytes = crate::spec::read_document(file, &path)?;
        Self::parse(&bytes, path).map(Some)
    }

    /// Parses the bytes of a state file (`path` names it in errors).
    pub(crate) fn parse(bytes: &[u8], path: PathBuf) -> Result<Self, Error> {
        serde_json::from_slice(bytes).map_err(|e| Error::Io {
            op: "parse",
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }

    pub(crate) fn save(&self, dir: &Path) -> Result<(), Error> {
        let path = dir.join(STATE_FILE);
        let bytes = serde_json::to_vec(self).map_err(|e| Error::Io {
            op: "serialize",
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        write_atomic(&path, &bytes)
    }
}

/// Reads the start time and run state of `pid` from `/proc/<pid>/stat`.
pub(crate) fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start
    // after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// Whether `pid` is still the process that had `start_time`, and alive.
pub(crate) fn process_alive(pid: i32, start_time: u64) -> bool {
    pid > 0
        && matches!(proc_stat(pid), Some((state, start)) if start == start_time && state != 'Z' && state != 'X')
}

/// Whether the init recorded in the state is still that process and alive.
pub(crate) fn init_alive(st: &StateFile) -> bool {
    process_alive(st.pid, st.start_time)
}

/// Whether the state is that of a `create` still at work (its process is
/// alive). A state left by a `create` that died is not: it is stopped.
pub(crate) fn still_creating(st: &StateFile) -> bool {
    st.creator
        .is_some_and(|(pid, start)| process_alive(pid, start))
}

/// The user name owning `uid` (from `/etc/passwd`), or `#uid` like runc.
pub(crate) fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_for(pid: i32, start_time: u64) -> StateFile {
        StateFile {
            oci_version: "1.2.0".into(),
            id: "t".into(),
            pid,
            start_time,
            bundle: PathBuf::from("/b"),
            rootfs: PathBuf::from("/b/rootfs"),
            created: String::new(),
            annotations: BTreeMap::new(),
            cgroup: Some(ContainerCgroup::V2 {
                dir: PathBuf::from("/nonexistent"),
            }),
            cgroup_ownership: None,
            systemd_unit: None,
            systemd_user: None,
            device_nodes: Vec::new(),
            process: None,
            hooks: Default::default(),
            seccomp: None,
            no_new_keyring: false,
            personality: None,
            memory_policy: None,
            own_pid_namespace: true,
            creator: None,
        }
    }

    /// A pid that now belongs to another process (another start time) is
    /// not the container's init: the container is stopped.
    #[test]
    fn a_reused_pid_is_not_the_init() {
        let me = std::process::id() as i32;
        let (_, start) = proc_stat(me).expect("our own stat");
        assert!(init_alive(&state_for(me, start)));
        assert!(!init_alive(&state_for(me, start + 1)));
        assert!(!init_alive(&state_for(0, 0)));
    }

    #[test]
    fn stat_fields_after_a_tricky_command_name() {
        // The parser starts after the last ')', so a name with ") S 1" cannot fool it.
        let me = std::process::id() as i32;
        assert!(matches!(proc_stat(me), Some((state, _)) if state == 'R' || state == 'S'));
    }
}
