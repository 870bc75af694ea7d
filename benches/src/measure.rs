//! One measured process: spawn, collect stderr, reap with `wait4` for its resource usage.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The outcome of one run.
pub struct Sample {
    /// From just before spawning to the reaping of the process.
    pub wall: Duration,
    /// `ru_maxrss` from `wait4`, in KiB: the largest peak RSS among the process (over all the
    /// images it exec'd) and the descendants it waited for (the runtime's helpers, the
    /// container's init).
    pub maxrss_kib: u64,
    /// Exit status 0.
    pub ok: bool,
    /// Why the run failed (status and stderr); empty when `ok`.
    pub error: String,
}

enum Kind {
    /// `cella-floor ROOTFS`: the least work a run of the minimal bundle needs.
    Floor { rootfs: PathBuf },
    /// A runtime doing `run` of a bundle, with its own `--root`.
    Runtime { root: PathBuf },
}

/// Something measured: a row of the results table. Every subject's binary is spawned
/// directly, in the driver's mount namespace (see `hostns`): no wrapper.
pub struct Subject {
    /// Row label.
    pub name: String,
    /// The binary.
    binary: PathBuf,
    kind: Kind,
}

impl Subject {
    /// The floor program (`cella-floor`) on `rootfs`.
    pub fn floor(binary: &Path, rootfs: &Path) -> Self {
        Subject {
            name: "floor".into(),
            binary: binary.to_path_buf(),
            kind: Kind::Floor {
                rootfs: rootfs.to_path_buf(),
            },
        }
    }

    /// A runtime binary with its own state directory `root`.
    pub fn runtime(name: &str, binary: &Path, root: PathBuf) -> Self {
        Subject {
            name: name.to_string(),
            binary: binary.to_path_buf(),
            kind: Kind::Runtime { root },
        }
    }

    /// Runs once: `run` of `bundle` for a runtime (`tag` makes the container id unique), the
    /// floor on its rootfs (which is the minimal bundle's).
    pub fn run_once(&self, bundle: &Path, tag: &str) -> Sample {
        match &self.kind {
            Kind::Floor { rootfs } => measure(&[self.binary.clone().into(), rootfs.into()]),
            Kind::Runtime { .. } => {
                let sample = measure(&self.run_argv(bundle, tag).expect("a runtime"));
                if !sample.ok {
                    // `run` normally deletes the container; after a failure remove what may be
                    // left (state, cgroup) so the next run starts clean.
                    self.force_delete(tag);
                }
                sample
            }
        }
    }

    /// The argv of `run --bundle BUNDLE ID` for a runtime subject (None for the floor), for
    /// callers that need the container's output rather than a [`Sample`].
    pub fn run_argv(&self, bundle: &Path, tag: &str) -> Option<Vec<OsString>> {
        let args = [
            OsString::from("run"),
            "--bundle".into(),
            bundle.into(),
            self.run_id(tag).into(),
        ];
        self.argv(&args)
    }

    /// Removes a container left behind by a failed `run` of [`Self::run_argv`]'s `tag`.
    pub fn force_delete(&self, tag: &str) {
        let args = [
            OsString::from("delete"),
            "--force".into(),
            self.run_id(tag).into(),
        ];
        if let Some(argv) = self.argv(&args) {
            let _ = measure(&argv);
        }
    }

    /// `runtime --root ROOT ARGS...` for a runtime subject (None for the floor).
    pub fn argv(&self, args: &[OsString]) -> Option<Vec<OsString>> {
        match &self.kind {
            Kind::Floor { .. } => None,
            Kind::Runtime { root } => {
                let mut argv = vec![self.binary.clone().into_os_string(), "--root".into()];
                argv.push(root.into());
                argv.extend(args.iter().cloned());
                Some(argv)
            }
        }
    }

    /// The subject's binary.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    fn run_id(&self, tag: &str) -> String {
        format!("cb{}-{}-{tag}", std::process::id(), self.name)
    }
}

/// Spawns `argv` with stdin and stdout on /dev/null and stderr on a pipe, and reaps it with
/// `wait4`. Any failure to spawn or reap is reported as a failed sample.
pub fn measure(argv: &[OsString]) -> Sample {
    let start = Instant::now();
    match spawn_and_reap(argv) {
        Ok((status, maxrss_kib, stderr)) => {
            let ok = status.success();
            Sample {
                wall: start.elapsed(),
                maxrss_kib,
                ok,
                error: if ok {
                    String::new()
                } else {
                    describe_failure(status, &stderr)
                },
            }
        }
        Err(e) => Sample {
            wall: start.elapsed(),
            maxrss_kib: 0,
            ok: false,
            error: format!("{}: {e}", argv[0].to_string_lossy()),
        },
    }
}

/// Spawns `argv` without waiting for it, for runs made in parallel and for commands that
/// leave a container running (`run --detach`): stderr goes to the file `log`, not a pipe,
/// because a detached container inherits the runtime's stdio and would hold a pipe open.
pub fn spawn(argv: &[OsString], log: &Path) -> io::Result<(std::process::Child, PathBuf)> {
    let err = std::fs::File::create(log)?;
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()?;
    Ok((child, log.to_path_buf()))
}

/// Reaps a child of [`spawn`]: whether it exited 0, with its stderr when not; removes the log.
pub fn reap((mut child, log): (std::process::Child, PathBuf)) -> Result<(), String> {
    let status = child.wait();
    let stderr = std::fs::read(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(describe_failure(status, &stderr)),
        Err(e) => Err(e.to_string()),
    }
}

fn spawn_and_reap(argv: &[OsString]) -> io::Result<(ExitStatus, u64, Vec<u8>)> {
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_end(&mut stderr)?;
    }
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let (status, usage) = wait4(pid)?;
    // ru_maxrss is in KiB on Linux.
    let maxrss_kib = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    Ok((ExitStatus::from_raw(status), maxrss_kib, stderr))
}

/// `wait4(2)`: like `Child::wait`, but also returns the child's `rusage`, which std does not
/// expose. `Child::wait` must not be called for this pid afterwards (it is reaped).
fn wait4(pid: libc::pid_t) -> io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers (and `timeval`s of integers), for which
    // all-zero bytes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, spawned above and not yet reaped (std never waits for
        // it: `Child::wait` is not called), so wait4 cannot reap someone else's process; both
        // out-pointers point to live, writable locals of the right types.
        let ret = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if ret == pid {
            return Ok((status, usage));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn describe_failure(status: ExitStatus, stderr: &[u8]) -> String {
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    };
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    // The end of stderr carries the runtime's final error; keep the message readable.
    let tail: String = text
        .chars()
        .rev()
        .take(600)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if tail.is_empty() {
        how
    } else {
        format!("{how}: {tail}")
    }
}
