//! Terminals (config.md "terminal", "consoleSize"; runc's `--console-socket`): the runtime makes
//! a pty for the process and sends the master over the unix socket given by `--console-socket`
//! with one `SCM_RIGHTS` message (runc puts the pty name in the data, crun one byte). The test
//! receives it, types a command line into it and reads the answer: the shell runs on the pty
//! (`tty`), with `consoleSize` applied (`stty size`), and exits with the status it was told.
//! Without a console socket a foreground `run` relays the terminal itself.

use std::fs::{self, File};
use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::pty::openpty;
use nix::sys::prctl;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde_json::{json, Value};

use crate::bundle::{base_config, DEFAULT_PATH};
use crate::harness::{
    ensure, ensure_eq, status_code, wait_until, Ctn, Ctx, Output, TestResult, RUNTIME_TIMEOUT,
};
use crate::tests::hooks::leftovers_of;
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("terminal", name, f);
    vec![
        t("console_socket_create", console_socket_create),
        t("console_socket_exec", console_socket_exec),
        t("run_relays_terminal", run_relays_terminal),
        t("exec_relays_terminal", exec_relays_terminal),
        t(
            "run_relays_without_host_terminal",
            run_relays_without_host_terminal,
        ),
        t(
            "console_socket_without_terminal_fails",
            console_socket_without_terminal_fails,
        ),
        t("console_owner_as_runc", console_owner_as_runc),
    ]
}

/// What the test types into the pty: the shell's answers are `42`, `/dev/pts/N`, `ROWS COLS`,
/// and its exit status is 7.
const SCRIPT: &[u8] = b"echo $((6*7)); tty; stty size; exit 7\n";

/// How long a conversation over the pty may take.
const PTY_TIMEOUT: Duration = Duration::from_secs(10);

/// A config running an interactive `sh` on a terminal of 30 rows and 100 columns.
fn terminal_config(args: &[&str]) -> Value {
    let mut cfg = base_config(args);
    cfg["process"]["terminal"] = json!(true);
    cfg["process"]["consoleSize"] = json!({"height": 30, "width": 100});
    cfg
}

/// The pty master the runtime sent, and the data of its message.
struct Received {
    master: File,
    data: Vec<u8>,
}

/// A console socket: a unix listener on a path in the bundle.
struct ConsoleSocket {
    path: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    fn bind(dir: &Path, name: &str) -> Result<ConsoleSocket, String> {
        let path = dir.join(name);
        let listener =
            UnixListener::bind(&path).map_err(|e| format!("bind {}: {e}", path.display()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("set_nonblocking: {e}"))?;
        Ok(ConsoleSocket { path, listener })
    }

    fn path_str(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// A pending connection's message, if there is one.
    fn try_receive(&self) -> Result<Option<Received>, String> {
        match self.listener.accept() {
            Ok((stream, _)) => recv_master(&stream).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(format!("accept on {}: {e}", self.path.display())),
        }
    }

    /// Runs `RUNTIME --root R ARGS...` (stdio: /dev/null and files in `dir`) while accepting
    /// on the socket; returns its output and what it sent, if anything.
    fn run(
        &self,
        ctx: &Ctx,
        args: &[&str],
        dir: &Path,
    ) -> Result<(Output, Option<Received>), String> {
        let (out_p, err_p) = (dir.join("runtime.out"), dir.join("runtime.err"));
        let file = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        let mut cmd = ctx.runtime_cmd(args);
        cmd.stdin(Stdio::null())
            .stdout(file(&out_p)?)
            .stderr(file(&err_p)?);
        let mut child = cmd.spawn().map_err(|e| format!("spawn the runtime: {e}"))?;
        let start = Instant::now();
        let mut received = None;
        let mut res = Ok(());
        let (code, timed_out) = loop {
            if received.is_none() && res.is_ok() {
                match self.try_receive() {
                    Ok(r) => received = r,
                    Err(e) => res = Err(e),
                }
            }
            match child.try_wait() {
                Ok(Some(st)) => break (status_code(st), false),
                Ok(None) => {}
                Err(e) => return Err(format!("wait for the runtime: {e}")),
            }
            if start.elapsed() > RUNTIME_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break (-1, true);
            }
            thread::sleep(Duration::from_millis(5));
        };
        // A connection made just before the runtime exited.
        if received.is_none() && res.is_ok() {
            received = self.try_receive()?;
        }
        res?;
        let out = Output {
            code,
            stdout: fs::read_to_string(&out_p).unwrap_or_default(),
            stderr: fs::read_to_string(&err_p).unwrap_or_default(),
            timed_out,
        };
        Ok((out, received))
    }
}

/// Receives one message with `SCM_RIGHTS` on an accepted connection: it must carry exactly
/// one fd, a pty master.
fn recv_master(stream: &UnixStream) -> Result<Received, String> {
    stream
        .set_nonblocking(false)
        .and_then(|_| stream.set_read_timeout(Some(Duration::from_secs(5))))
        .map_err(|e| format!("console socket connection: {e}"))?;
    let mut buf = vec![0u8; 4096];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let (n, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| format!("recvmsg on the console socket: {e}"))?;
        let mut fds = Vec::new();
        for c in msg
            .cmsgs()
            .map_err(|e| format!("console socket control data: {e}"))?
        {
            if let ControlMessageOwned::ScmRights(v) = c {
                fds.extend(v);
            }
        }
        (msg.bytes, fds)
    };
    let mut owned: Vec<OwnedFd> = fds
        .into_iter()
        // SAFETY: each fd was just installed in this process by SCM_RIGHTS and nothing else
        // refers to it, so taking ownership of it is sound.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    buf.truncate(n);
    if owned.len() != 1 {
        return Err(format!(
            "the console socket message carries {} fds, want 1 (data {:?})",
            owned.len(),
            String::from_utf8_lossy(&buf)
        ));
    }
    let master = File::from(owned.remove(0));
    let link = fs::read_link(format!("/proc/self/fd/{}", master.as_raw_fd()))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !link.ends_with("ptmx") {
        return Err(format!(
            "the fd sent over the console socket is {link:?}, not a pty master"
        ));
    }
    Ok(Received { master, data: buf })
}

/// Types `input` into the pty master and reads everything the shell writes until the pty
/// hangs up (the last process on it exited).
fn converse(master: File, input: &[u8]) -> Result<String, String> {
    let mut w = master
        .try_clone()
        .map_err(|e| format!("dup the pty master: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let mut r = master;
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // EIO (all of the terminal's slave side closed) or EOF ends the conversation.
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    w.write_all(input)
        .map_err(|e| format!("write to the pty master: {e}"))?;
    let deadline = Instant::now() + PTY_TIMEOUT;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => got.extend(chunk),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "the pty did not hang up {}s after the input; read so far: {:?}",
                    PTY_TIMEOUT.as_secs(),
                    String::from_utf8_lossy(&got)
                ))
            }
        }
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// Checks the shell's answers to [`SCRIPT`]: `42`, a `/dev/pts/N` line, and with
/// `size` the `30 100` of `consoleSize`.
fn check_answers(text: &str, size: bool) -> TestResult {
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim()).collect();
    let is_pts = |l: &&str| {
        l.strip_prefix("/dev/pts/")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    ensure(lines.contains(&"42"), || {
        format!("no answer 42 from the shell on the pty: {text:?}")
    })?;
    ensure(lines.iter().any(is_pts), || {
        format!("`tty` printed no /dev/pts/N: {text:?}")
    })?;
    if size {
        ensure(lines.contains(&"30 100"), || {
            format!("`stty size` did not print \"30 100\" (consoleSize): {text:?}")
        })?;
    }
    Ok(())
}

/// Makes the test process a child subreaper (as containerd's shim is) so that a container
/// process is reparented to it when the runtime exits and its exit status can be read.
/// Dropping it clears the flag and reaps the zombies left. Declared before the containers so
/// that it is dropped after their `delete --force`.
struct Subreaper;

impl Subreaper {
    fn set() -> Result<Subreaper, String> {
        prctl::set_child_subreaper(true).map_err(|e| format!("PR_SET_CHILD_SUBREAPER: {e}"))?;
        Ok(Subreaper)
    }
}

impl Drop for Subreaper {
    fn drop(&mut self) {
        let _ = prctl::set_child_subreaper(false);
        while let Ok(st) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if st == WaitStatus::StillAlive {
                break;
            }
        }
    }
}

/// Waits for the exit of `pid`, a child of the test (reparented to it, the subreaper), and
/// returns its shell-style status.
fn wait_exit(pid: i32) -> Result<i32, String> {
    let start = Instant::now();
    loop {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, c)) => return Ok(c),
            Ok(WaitStatus::Signaled(_, s, _)) => return Ok(128 + s as i32),
            Ok(_) => {}
            Err(Errno::ECHILD) => {
                return Err(format!(
                    "process {pid} is not a child of the caller, a subreaper, after the runtime \
                     exited (is a runtime process still its parent?)"
                ))
            }
            Err(e) => return Err(format!("waitpid {pid}: {e}")),
        }
        if start.elapsed() > PTY_TIMEOUT {
            return Err(format!("process {pid} did not exit"));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Reads a pid file written by the runtime.
fn read_pid_file(p: &Path) -> Result<i32, String> {
    let text = fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
    text.trim()
        .parse()
        .map_err(|_| format!("pid file {} holds {text:?}", p.display()))
}

/// `create --console-socket`: the master arrives during create; after start the shell
/// answers on it with consoleSize applied, and the container exits with status 7.
fn console_socket_create(ctx: &Ctx) -> TestResult {
    let _reaper = Subreaper::set()?;
    let c = Ctn::new(ctx, "")?;
    c.write_config(&terminal_config(&["sh"]))?;
    let sock = ConsoleSocket::bind(&c.bundle, "console.sock")?;
    let b = c.bundle_str();
    let s = sock.path_str();
    let args = ["create", "--bundle", &b, "--console-socket", &s, &c.id];
    let (out, rec) = sock.run(ctx, &args, &c.bundle)?;
    ensure_eq(
        out.code,
        0,
        &format!("create --console-socket ({})", out.describe()),
    )?;
    let pid = c.pid()?;
    ctx.track_pid(pid);
    let rec = rec.ok_or("create succeeded but sent nothing over the console socket")?;
    ensure(!rec.data.is_empty(), || {
        "the console socket message has no data byte".to_string()
    })?;
    c.start_ok()?;
    let text = converse(rec.master, SCRIPT)?;
    check_answers(&text, true)?;
    ensure_eq(wait_exit(pid)?, 7, "exit status of the container's shell")?;
    c.wait_status("stopped")
}

/// `exec -t -d --console-socket` (args form), then `exec --process` with a terminal and a
/// consoleSize (as containerd calls it): each shell answers on its pty and exits with 7.
fn console_socket_exec(ctx: &Ctx) -> TestResult {
    let _reaper = Subreaper::set()?;
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["sleep", "1000"]))?;
    c.start_new()?;
    let sock = ConsoleSocket::bind(&c.bundle, "console.sock")?;
    let s = sock.path_str();
    let process = c.bundle.join("process.json");
    let p = json!({
        "terminal": true,
        "consoleSize": {"height": 30, "width": 100},
        "user": {"uid": 0, "gid": 0},
        "args": ["sh"],
        "env": [DEFAULT_PATH, "TERM=xterm"],
        "cwd": "/"
    });
    fs::write(&process, p.to_string()).map_err(|e| format!("{}: {e}", process.display()))?;
    let process = process.to_string_lossy().into_owned();
    for (tag, flags, cmd, size) in [
        ("args", vec!["-t"], vec!["sh"], false),
        ("process", vec!["--process", process.as_str()], vec![], true),
    ] {
        let pf = c.bundle.join(format!("{tag}.pid"));
        let pf_s = pf.to_string_lossy().into_owned();
        let mut args = vec!["exec", "-d", "--console-socket", &s, "--pid-file", &pf_s];
        args.extend(flags);
        args.push(&c.id);
        args.extend(cmd);
        let what = format!("`{}`", args.join(" "));
        let (out, rec) = sock.run(ctx, &args, &c.bundle)?;
        ensure_eq(out.code, 0, &format!("{what} ({})", out.describe()))?;
        let pid = read_pid_file(&pf)?;
        let rec = rec.ok_or_else(|| format!("{what} sent nothing over the console socket"))?;
        let text = converse(rec.master, SCRIPT).map_err(|e| format!("{what}: {e}"))?;
        check_answers(&text, size).map_err(|e| format!("{what}: {e}"))?;
        ensure_eq(
            wait_exit(pid)?,
            7,
            &format!("exit status of the shell of {what}"),
        )?;
    }
    ensure_eq(c.status()?, "running".to_string(), "container status")
}

/// Runs `setsid RUNTIME --root R ARGS...` (a new session: no controlling terminal) with
/// stdin a pipe carrying "echo relayed; exit 4", stdout a file, and stderr either a file or,
/// with `host_tty`, the slave of a pty the test made (a host terminal, as in interactive use,
/// that the runtime may put in raw mode). The runtime must relay between its stdio and the
/// container's terminal: the line runs and its status comes back.
fn check_relay(ctx: &Ctx, c: &Ctn, args: &[&str], host_tty: bool) -> TestResult {
    let (out_p, err_p) = (c.bundle.join("relay.out"), c.bundle.join("relay.err"));
    let file = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    // Started from this process, `setsid` is never a process group leader, so it calls
    // setsid(2) and execs the runtime without forking (util-linux and busybox alike).
    let mut cmd = Command::new("setsid");
    cmd.arg(&ctx.runtime).args(ctx.global_args()).args(args);
    cmd.stdin(Stdio::piped()).stdout(file(&out_p)?);
    let mut host_master = None;
    if host_tty {
        let pty = openpty(None, None).map_err(|e| format!("openpty: {e}"))?;
        cmd.stderr(Stdio::from(pty.slave));
        host_master = Some(File::from(pty.master));
    } else {
        cmd.stderr(file(&err_p)?);
    }
    let mut child = cmd.spawn().map_err(|e| format!("spawn setsid: {e}"))?;
    drop(cmd);
    // Drain the host terminal (the runtime's stderr) so that the runtime never blocks on it.
    let host_rx = host_master.map(|mut m| {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = m.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        rx
    });
    let mut stdin = child.stdin.take().ok_or("no stdin pipe")?;
    let wrote = stdin.write_all(b"echo relayed; exit 4\n");
    let mut code = None;
    wait_until(PTY_TIMEOUT, || {
        code = child.try_wait().ok().flatten().map(status_code);
        code.is_some()
    });
    drop(stdin);
    if code.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = fs::read_to_string(&out_p).unwrap_or_default();
    let stderr = match host_rx {
        Some(rx) => {
            let mut v = Vec::new();
            while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
                v.extend(chunk);
            }
            String::from_utf8_lossy(&v).into_owned()
        }
        None => fs::read_to_string(&err_p).unwrap_or_default(),
    };
    let what = format!(
        "`{}`: stdout {stdout:?}, stderr {:?}",
        args.join(" "),
        stderr.trim()
    );
    wrote.map_err(|e| format!("write to stdin: {e}; {what}"))?;
    ensure_eq(code, Some(4), &format!("exit code ({what})"))?;
    ensure(stdout.split('\n').any(|l| l.trim() == "relayed"), || {
        format!("stdout lacks the line \"relayed\" ({what})")
    })
}

/// A foreground `run` with `terminal: true` and no console socket, started from a terminal
/// (on stderr) with stdin a pipe: the runtime relays stdin and stdout to the container's pty.
fn run_relays_terminal(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&terminal_config(&["sh"]))?;
    let b = c.bundle_str();
    let res = check_relay(ctx, &c, &["run", "--bundle", &b, &c.id], true);
    if let Ok(pid) = c.pid() {
        ctx.track_pid(pid);
    }
    res
}

/// A foreground `exec -t` without a console socket relays the same way.
fn exec_relays_terminal(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["sleep", "1000"]))?;
    c.start_new()?;
    check_relay(ctx, &c, &["exec", "-t", &c.id, "sh"], true)?;
    ensure_eq(c.status()?, "running".to_string(), "container status")
}

/// The foreground `run` relays even when the runtime has no terminal at all (stdin a pipe,
/// stdout and stderr files, no controlling terminal), as under a CI job or a supervisor.
fn run_relays_without_host_terminal(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&terminal_config(&["sh"]))?;
    let b = c.bundle_str();
    let res = check_relay(ctx, &c, &["run", "--bundle", &b, &c.id], false);
    if let Ok(pid) = c.pid() {
        ctx.track_pid(pid);
    }
    res
}

/// `--console-socket` with `terminal: false` is an error at create (there is no pty to send),
/// and nothing is left: no state, no process, no cgroup.
fn console_socket_without_terminal_fails(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["sleep", "1000"]))?;
    let sock = ConsoleSocket::bind(&c.bundle, "console.sock")?;
    let b = c.bundle_str();
    let s = sock.path_str();
    let args = ["create", "--bundle", &b, "--console-socket", &s, &c.id];
    let (out, _) = sock.run(ctx, &args, &c.bundle)?;
    ensure_eq(
        out.code,
        1,
        &format!(
            "create --console-socket with terminal false ({})",
            out.describe()
        ),
    )?;
    let left = leftovers_of(ctx, &c)?;
    ensure(left.is_empty(), || {
        format!("left after the failed create: {}", left.join("; "))
    })
}

/// The pty of a process running as uid 1000 belongs to uid 1000 (so it can control its
/// terminal) and keeps the group devpts gave it, `gid=5` (`tty`) in the config, as under runc:
/// tools such as `write`/`mesg` and sshd-style checks look for group `tty`.
fn console_owner_as_runc(ctx: &Ctx) -> TestResult {
    let _reaper = Subreaper::set()?;
    let c = Ctn::new(ctx, "")?;
    let mut cfg = terminal_config(&["sh"]);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    c.write_config(&cfg)?;
    let sock = ConsoleSocket::bind(&c.bundle, "console.sock")?;
    let (b, s) = (c.bundle_str(), sock.path_str());
    let args = ["create", "--bundle", &b, "--console-socket", &s, &c.id];
    let (out, rec) = sock.run(ctx, &args, &c.bundle)?;
    ensure_eq(out.code, 0, &format!("create ({})", out.describe()))?;
    ctx.track_pid(c.pid()?);
    let rec = rec.ok_or("create succeeded but sent nothing over the console socket")?;
    c.start_ok()?;
    let text = converse(rec.master, b"echo owner=$(stat -c %u:%g $(tty)); exit 0\n")?;
    ensure(text.contains("owner=1000:5"), || {
        format!("the pty is not 1000:5 (user's, devpts's gid=5): {text:?}")
    })
}
