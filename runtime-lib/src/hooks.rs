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
//!
//! Each hook is one bounded operation: its stdin is fed without blocking
//! while waiting for it to exit (a hook may never read it, or close it
//! early), its output goes to a file (a child it leaves behind may hold it
//! open forever), and its `timeout` kills it and fails, as runc's.

use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::Pid;
use oci_spec::runtime::Hooks;
use serde::{Deserialize, Serialize};

use crate::sys;

/// One hook, as planned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    /// Absolute path of the program.
    pub path: PathBuf,
    /// argv (the first is `argv[0]`); empty means just the path.
    pub args: Vec<String>,
    /// The whole environment of the hook; `None` (no `env` in the config)
    /// gives the hook the environment runc gives it: the runtime's, or the
    /// process's for the hooks the container's init runs.
    pub env: Option<Vec<String>>,
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
                    env: h.env().clone(),
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
    #[serde(serialize_with = "crate::path_json::lossy")]
    pub bundle: &'a std::path::Path,
    /// Annotations.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: &'a std::collections::BTreeMap<String, String>,
}

/// The environment of a hook whose config has no `env`, as runc gives it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DefaultEnv<'a> {
    /// The runtime's own: runc runs prestart, createRuntime, poststart and
    /// poststop hooks with Go's `exec.Cmd` and a nil `Env`, which inherits
    /// runc's environment.
    Runtime,
    /// The container process's: runc runs createContainer and
    /// startContainer hooks from its init, after it replaced its own
    /// environment with `process.env`.
    Process(&'a [String]),
}

/// A hook that failed: which one, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", self.field())]
pub struct HookFailed {
    /// Its lifecycle point (`prestart`, `poststop`, ...).
    pub kind: String,
    /// Its index in the config's list.
    pub index: usize,
    /// Its program.
    pub path: PathBuf,
    /// Why: it could not run, timed out, or exited with a failure (and
    /// what it printed).
    pub reason: String,
}

impl HookFailed {
    /// The hook as the config names it, with its program:
    /// `hooks.prestart[1] (/usr/bin/setup)`.
    pub fn field(&self) -> String {
        format!(
            "hooks.{}[{}] ({})",
            self.kind,
            self.index,
            self.path.display()
        )
    }
}

/// A hook run while the container is set up fails the setup.
impl From<HookFailed> for crate::error::ChildError {
    fn from(e: HookFailed) -> Self {
        crate::error::ChildError::other(crate::error::Step::RunHook, e.field(), e.reason)
    }
}

/// Runs `hooks` (named `kind` in messages) in order; the first failure
/// stops and is returned.
pub(crate) fn run_all(
    kind: &str,
    hooks: &[Hook],
    default_env: DefaultEnv<'_>,
    state: &HookState<'_>,
) -> Result<(), HookFailed> {
    let json = serde_json::to_vec(state).unwrap_or_default();
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, default_env, &json).map_err(|reason| HookFailed {
            kind: kind.to_string(),
            index: i,
            path: h.path.clone(),
            reason,
        })?;
    }
    Ok(())
}

fn run_one(h: &Hook, default_env: DefaultEnv<'_>, state: &[u8]) -> Result<(), String> {
    let mut cmd = Command::new(&h.path);
    if let Some(argv0) = h.args.first() {
        use std::os::unix::process::CommandExt;
        cmd.arg0(argv0).args(&h.args[1..]);
    }
    let env = match (&h.env, default_env) {
        (Some(env), _) => Some(env.as_slice()),
        (None, DefaultEnv::Process(env)) => Some(env),
        (None, DefaultEnv::Runtime) => None,
    };
    if let Some(env) = env {
        cmd.env_clear()
            .envs(env.iter().filter_map(|e| e.split_once('=')));
    }
    // Output goes to an anonymous file, read on failure: a pipe could fill
    // up and block a chatty hook, and a child the hook leaves behind could
    // hold a pipe open long after the hook exited.
    let out = output_file();
    let to = |f: &Option<std::fs::File>| {
        f.as_ref()
            .and_then(|f| f.try_clone().ok())
            .map_or(Stdio::null(), Stdio::from)
    };
    cmd.stdin(Stdio::piped()).stdout(to(&out)).stderr(to(&out));
    let mut child = cmd.spawn().map_err(|e| format!("cannot run: {e}"))?;
    let stdin = child.stdin.take().map(OwnedFd::from);
    // A timeout too large for a deadline is no timeout.
    let deadline = h
        .timeout
        .and_then(|t| Instant::now().checked_add(Duration::from_secs(t)));
    match feed_and_wait(&child, stdin, state, deadline) {
        Ok(Waited::Exited) => {}
        Ok(Waited::TimedOut) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "ran past its timeout of {} s and was killed",
                h.timeout.unwrap_or(0)
            ));
        }
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    }
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
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

/// How waiting for a hook ended.
enum Waited {
    Exited,
    TimedOut,
}

/// Writes `data` to the hook's stdin as far as it reads it, until the hook
/// exits or `deadline` passes: one `poll` on a pidfd of the hook and on its
/// stdin, so that neither a hook that never reads nor one that never exits
/// blocks past the deadline. A hook that closes its stdin early (`EPIPE`)
/// is fine, as for runc.
fn feed_and_wait(
    child: &Child,
    mut stdin: Option<OwnedFd>,
    mut data: &[u8],
    deadline: Option<Instant>,
) -> Result<Waited, String> {
    let pid = i32::try_from(child.id()).map_err(|_| "pid out of range".to_string())?;
    let pidfd = sys::pidfd_open(Pid::from_raw(pid)).map_err(|e| format!("pidfd_open: {e}"))?;
    if let Some(fd) = &stdin {
        fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
            .map_err(|e| format!("make its stdin non-blocking: {e}"))?;
    }
    loop {
        if data.is_empty() {
            // Closed: the hook sees the end of the state.
            stdin = None;
        }
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                None => return Ok(Waited::TimedOut),
                Some(left) => poll_timeout(left),
            },
        };
        let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        if let Some(fd) = &stdin {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLOUT));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("poll: {e}")),
        }
        if fds[0].any().unwrap_or(false) {
            return Ok(Waited::Exited);
        }
        if !fds.get(1).and_then(PollFd::any).unwrap_or(false) {
            continue;
        }
        let Some(fd) = &stdin else { continue };
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            // EPIPE: the hook closed its stdin; it gets no more of the
            // state, and its exit status decides.
            Err(_) => stdin = None,
        }
    }
}

/// `left`, rounded up to whole milliseconds (so that the wait never ends
/// just before the deadline) and capped to what `poll` takes.
fn poll_timeout(left: Duration) -> PollTimeout {
    let ms = left.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Option<u64>) -> Hook {
        Hook {
            path: "/bin/sh".into(),
            args: vec!["sh".into(), "-c".into(), script.into()],
            env: Some(vec!["PATH=/usr/bin:/bin".into()]),
            timeout,
        }
    }

    /// More than a pipe holds (64 KiB).
    fn big_state() -> Vec<u8> {
        vec![b'x'; 512 * 1024]
    }

    #[test]
    fn a_hook_that_never_reads_is_killed_at_its_timeout() {
        let err = run_one(
            &sh("exec sleep 1000", Some(1)),
            DefaultEnv::Runtime,
            &big_state(),
        )
        .unwrap_err();
        assert!(err.contains("timeout of 1 s"), "{err}");
    }

    #[test]
    fn a_hook_that_closes_its_stdin_early_succeeds() {
        let h = sh("head -c 10 >/dev/null; exec 0<&-; exit 0", Some(60));
        run_one(&h, DefaultEnv::Runtime, &big_state()).unwrap();
    }

    #[test]
    fn a_hook_that_reads_all_gets_the_whole_state() {
        let state = big_state();
        let h = sh(&format!("test \"$(wc -c)\" -eq {}", state.len()), None);
        run_one(&h, DefaultEnv::Runtime, &state).unwrap();
    }

    #[test]
    fn a_child_holding_stdio_does_not_hold_the_hook() {
        // The child holds stdin (unread), stdout and stderr; the hook exits.
        let pidfile = std::env::temp_dir().join(format!("cella-hook-child-{}", std::process::id()));
        let h = sh(
            &format!(
                "exec 3<&0; sleep 1000 <&3 3<&- & echo $! > {}; exit 0",
                pidfile.display()
            ),
            None,
        );
        let res = run_one(&h, DefaultEnv::Runtime, &big_state());
        let child = std::fs::read_to_string(&pidfile).unwrap_or_default();
        let _ = std::fs::remove_file(&pidfile);
        if let Ok(pid) = child.trim().parse() {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        res.unwrap();
    }

    #[test]
    fn a_failure_reports_status_and_output() {
        let err = run_one(
            &sh("echo oops >&2; exit 3", None),
            DefaultEnv::Runtime,
            b"{}",
        )
        .unwrap_err();
        assert!(err.contains("3") && err.contains("oops"), "{err}");
    }

    #[test]
    fn env_without_env_follows_runc() {
        let mut h = sh("test \"$MARK\" = want", None);
        h.env = None;
        let env = ["MARK=want".to_string()];
        run_one(&h, DefaultEnv::Process(&env), b"{}").unwrap();
        // The runtime's own environment has no MARK.
        assert!(std::env::var_os("MARK").is_none());
        assert!(run_one(&h, DefaultEnv::Runtime, b"{}").is_err());
        h.args[2] = "test -n \"$HOME$PATH\"".into();
        run_one(&h, DefaultEnv::Runtime, b"{}").unwrap();
    }
}
