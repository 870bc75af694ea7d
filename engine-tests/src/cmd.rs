//! Running the engines' command-line clients and daemons.
//!
//! Output goes through files, not pipes: an engine's client may leave a
//! process behind that holds its stdio (conmon, a shim), and a pipe would then
//! never reach end-of-file. Every command runs in a process group of its own
//! under a timeout, so a hung client is killed with everything it started.

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

/// The result of a finished command.
#[derive(Debug, Clone)]
pub struct Out {
    pub line: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Out {
    /// One line for a failure message.
    pub fn describe(&self) -> String {
        let mut s = format!("`{}` exited {}", self.line, self.code);
        if self.timed_out {
            s.push_str(" (timed out, killed)");
        }
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let t = text.trim();
            if !t.is_empty() {
                let t: String = t.chars().take(1500).collect();
                s.push_str(&format!("; {name}: {t}"));
            }
        }
        s
    }

    /// Fails unless the command exited 0.
    pub fn ok(self) -> Result<Out, String> {
        if self.code == 0 && !self.timed_out {
            Ok(self)
        } else {
            Err(self.describe())
        }
    }
}

/// Exit code as a shell reports it: 128+N for a signal.
pub fn status_code(st: ExitStatus) -> i32 {
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A command to run with a timeout, its output captured in `dir`.
pub struct Cmd {
    cmd: Command,
    line: String,
    timeout: Duration,
}

impl Cmd {
    pub fn new(prog: impl AsRef<OsStr>) -> Cmd {
        let line = prog.as_ref().to_string_lossy().into_owned();
        Cmd {
            cmd: Command::new(prog),
            line,
            timeout: Duration::from_secs(90),
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.line.push(' ');
        self.line.push_str(&a.as_ref().to_string_lossy());
        self.cmd.arg(a);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Cmd {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Cmd {
        self.cmd.env(k, v);
        self
    }

    /// Runs to completion (or the timeout), capturing output under `dir`.
    pub fn run_in(mut self, dir: &Path) -> Result<Out, String> {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let (out_path, err_path) = (dir.join(format!("{n}.out")), dir.join(format!("{n}.err")));
        let open = |p: &PathBuf| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        let (out_f, err_f) = (open(&out_path)?, open(&err_path)?);
        let mut child = self
            .cmd
            .stdin(Stdio::null())
            .stdout(out_f)
            .stderr(err_f)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("`{}`: {e}", self.line))?;
        let (code, timed_out) = wait_or_kill(&mut child, self.timeout);
        let read = |p: &PathBuf| {
            let s = std::fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let _ = std::fs::remove_file(p);
            s
        };
        Ok(Out {
            line: self.line,
            code,
            stdout: read(&out_path),
            stderr: read(&err_path),
            timed_out,
        })
    }
}

/// Waits for `child`; past `timeout` its whole process group is killed.
fn wait_or_kill(child: &mut Child, timeout: Duration) -> (i32, bool) {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return (status_code(st), false),
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let pg = Pid::from_raw(child.id() as i32);
                let _ = killpg(pg, Signal::SIGKILL);
                let code = child.wait().map(status_code).unwrap_or(-1);
                return (code, true);
            }
        }
    }
}

/// A long-running daemon started by the suite, stopped by its pid.
pub struct Daemon {
    pub name: String,
    child: Child,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `cmd` in its own process group with output to `log`.
    pub fn start(name: &str, mut cmd: Command, log: PathBuf) -> Result<Daemon, String> {
        let f = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let f2 = f.try_clone().map_err(|e| e.to_string())?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("start {name}: {e}"))?;
        Ok(Daemon {
            name: name.to_string(),
            child,
            log,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Whether it is still running; if not, why (for setup errors).
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(st)) => Err(format!(
                "{} exited ({st}); log tail:\n{}",
                self.name,
                self.log_tail(20)
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        let pid = Pid::from_raw(self.pid());
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = kill(pid, Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < grace {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = kill(pid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

/// Polls `f` every 20 ms until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
