//! OCI hooks: programs run at fixed points of the lifecycle, each with the
//! container's state JSON on stdin (runtime-spec "POSIX-platform Hooks").
//!
//! | hook | run by | namespaces | when |
//! |---|---|---|---|
//! | prestart, createRuntime | the runtime | the runtime's | create, mounts done, before pivot_root |
//! | createContainer | the container's init | the container's | right after, before pivot_root |
//! | startContainer | the container's init | the container's | start, before the program |
//! | poststart | the runtime | the runtime's | start, after the program started |
//! | poststop | the runtime | the runtime's | delete, after everything is gone |

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hooks;
use serde::{Deserialize, Serialize};

/// One hook, as planned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    /// Absolute path of the program.
    pub path: PathBuf,
    /// argv (the first is `argv[0]`); empty means just the path.
    pub args: Vec<String>,
    /// The whole environment of the hook.
    pub env: Vec<String>,
    /// Seconds before it is killed.
    pub timeout: Option<u64>,
}

/// The hooks of a container, by lifecycle point.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookPlan {
    /// Deprecated `prestart`, run with createRuntime.
    pub prestart: Vec<Hook>,
    /// `createRuntime`.
    pub create_runtime: Vec<Hook>,
    /// `createContainer`.
    pub create_container: Vec<Hook>,
    /// `startContainer`.
    pub start_container: Vec<Hook>,
    /// `poststart`.
    pub poststart: Vec<Hook>,
    /// `poststop`.
    pub poststop: Vec<Hook>,
}

impl HookPlan {
    /// From the config's `hooks`.
    pub fn from_spec(hooks: Option<&Hooks>) -> Self {
        let conv = |list: &Option<Vec<oci_spec::runtime::Hook>>| -> Vec<Hook> {
            list.iter()
                .flatten()
                .map(|h| Hook {
                    path: h.path().clone(),
                    args: h.args().clone().unwrap_or_default(),
                    env: h.env().clone().unwrap_or_default(),
                    timeout: h.timeout().and_then(|t| u64::try_from(t).ok()),
                })
                .collect()
        };
        match hooks {
            None => HookPlan::default(),
            Some(h) => HookPlan {
                #[allow(deprecated)]
                prestart: conv(h.prestart()),
                create_runtime: conv(h.create_runtime()),
                create_container: conv(h.create_container()),
                start_container: conv(h.start_container()),
                poststart: conv(h.poststart()),
                poststop: conv(h.poststop()),
            },
        }
    }
}

/// The state a hook reads on stdin.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookState<'a> {
    /// Spec version.
    pub oci_version: &'a str,
    /// Container id.
    pub id: &'a str,
    /// Status at this point of the lifecycle.
    pub status: &'a str,
    /// The init's pid.
    pub pid: i32,
    /// Bundle path.
    pub bundle: &'a std::path::Path,
    /// Annotations.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: &'a std::collections::BTreeMap<String, String>,
}

/// Runs `hooks` (named `kind` in messages) in order; the first failure
/// stops and is returned as `(field, reason)`.
pub(crate) fn run_all(
    kind: &str,
    hooks: &[Hook],
    state: &HookState<'_>,
) -> Result<(), (String, String)> {
    let json = serde_json::to_vec(state).unwrap_or_default();
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, &json)
            .map_err(|reason| (format!("hooks.{kind}[{i}] ({})", h.path.display()), reason))?;
    }
    Ok(())
}

fn run_one(h: &Hook, state: &[u8]) -> Result<(), String> {
    let mut cmd = Command::new(&h.path);
    if let Some(argv0) = h.args.first() {
        use std::os::unix::process::CommandExt;
        cmd.arg0(argv0).args(&h.args[1..]);
    }
    // Output goes to an anonymous file, read on failure: a pipe could fill
    // up and block a chatty hook until its timeout.
    let out = output_file();
    let to = |f: &Option<std::fs::File>| {
        f.as_ref()
            .and_then(|f| f.try_clone().ok())
            .map_or(Stdio::null(), Stdio::from)
    };
    cmd.env_clear()
        .envs(h.env.iter().filter_map(|e| e.split_once('=')))
        .stdin(Stdio::piped())
        .stdout(to(&out))
        .stderr(to(&out));
    let mut child = cmd.spawn().map_err(|e| format!("cannot run: {e}"))?;
    // A hook that does not read its stdin must not block us: ignore EPIPE.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(state);
    }
    let deadline = h.timeout.map(|t| Instant::now() + Duration::from_secs(t));
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => return Err(format!("wait: {e}")),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {} s", h.timeout.unwrap_or(0)));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    if let Some(mut f) = out {
        let _ = f.seek(SeekFrom::Start(0));
        let _ = f.take(4096).read_to_string(&mut text);
    }
    let out = text.trim().replace('\n', " / ");
    Err(if out.is_empty() {
        format!("{status}")
    } else {
        format!("{status}: {out}")
    })
}

/// An unnamed temporary file (`O_TMPFILE`), if `/tmp` allows one.
fn output_file() -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
        .open("/tmp")
        .ok()
}
