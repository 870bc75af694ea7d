//! `NOTIFY_SOCKET` in the runtime's environment (runc's sd_notify proxying; runtime-spec is
//! silent; podman's `--sdnotify=container` and Quadlet's `Notify=yes` rely on it): `create`
//! mounts a directory of the runtime's state read-only at `/run/notify` and gives the process
//! `NOTIFY_SOCKET=/run/notify/notify.sock`; `start` binds that socket, returns once the
//! container sent `READY=` and passes on to the host's socket the `READY=` line, `MAINPID=<init
//! pid>` and `BARRIER=1` with a pipe's write end; an init that exits first ends the wait.
//!
//! busybox cannot send a unix datagram: the container runs this very binary
//! (`--sd-notify-helper`, see [`helper_main`]), bind-mounted read-only with the directories of
//! the libraries it has mapped, through its dynamic loader.

use std::collections::BTreeSet;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::{json, Value};

use crate::bundle::{add_mount, base_config};
use crate::harness::{ensure, ensure_eq, mount_at, Ctn, Ctx, Output, TestResult};
use crate::Test;

/// The first argument that makes this binary the helper.
pub const HELPER_FLAG: &str = "--sd-notify-helper";

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("as_runc", name, f);
    vec![
        t("notify_socket_ready", notify_socket_ready),
        t(
            "notify_socket_exit_without_ready",
            notify_socket_exit_without_ready,
        ),
        t("notify_socket_run_detached", notify_socket_run_detached),
        t("notify_socket_run_foreground", notify_socket_run_foreground),
        t("notify_socket_unusable", notify_socket_unusable),
    ]
}

/// `spec-tests --sd-notify-helper MESSAGE`: sends MESSAGE as one datagram to `$NOTIFY_SOCKET`.
pub fn helper_main(args: &[String]) -> std::process::ExitCode {
    let run = || -> Result<(), String> {
        let [message] = args else {
            return Err(format!("usage: {HELPER_FLAG} MESSAGE"));
        };
        let path = std::env::var("NOTIFY_SOCKET").map_err(|_| "NOTIFY_SOCKET is not set")?;
        let socket = UnixDatagram::unbound().map_err(|e| format!("socket: {e}"))?;
        socket
            .send_to(message.as_bytes(), &path)
            .map_err(|e| format!("send to {path}: {e}"))?;
        Ok(())
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{HELPER_FLAG}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A config whose process runs the helper with `message`, then `then` (a shell command), with
/// this binary and its libraries' directories bound read-only at their own paths.
fn helper_config(message: &str, then: &str) -> Result<Value, String> {
    let exe = std::fs::read_link("/proc/self/exe").map_err(|e| format!("/proc/self/exe: {e}"))?;
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(|e| format!("maps: {e}"))?;
    let files: BTreeSet<PathBuf> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .collect();
    let loader = files.iter().find(|f| {
        f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("ld-"))
    });
    let dirs: BTreeSet<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    let mut command: Vec<String> = Vec::new();
    if let Some(loader) = loader {
        // Through the loader: the container has none at the binary's PT_INTERP path.
        let libs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        command.extend([
            loader.display().to_string(),
            "--library-path".into(),
            libs.join(":"),
        ]);
    }
    command.extend([
        exe.display().to_string(),
        HELPER_FLAG.into(),
        message.into(),
    ]);
    let script = format!("\"$@\" && {then}");
    let mut args = vec!["sh".to_string(), "-c".into(), script, "sh".into()];
    args.extend(command);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cfg = base_config(&args);
    for d in dirs {
        let d = d.display().to_string();
        add_mount(
            &mut cfg,
            json!({"destination": d, "type": "bind", "source": d,
                   "options": ["bind", "ro", "nosuid", "nodev"]}),
        );
    }
    Ok(cfg)
}

/// What the host's socket received: each datagram's text and how many fds came with it.
type Received = Vec<(String, usize)>;

/// Receives on `socket` until a `BARRIER=1` (closing its fds: the barrier's answer) or until
/// nothing came for `first` (then 3 s once something came: runc 1.1 sends no barrier).
fn receive(socket: UnixDatagram, first: Duration) -> Result<Received, String> {
    let mut got = Vec::new();
    loop {
        let quiet = if got.is_empty() {
            first
        } else {
            Duration::from_secs(3)
        };
        socket
            .set_read_timeout(Some(quiet))
            .map_err(|e| format!("set_read_timeout: {e}"))?;
        let mut buf = vec![0u8; 4096];
        let mut space = nix::cmsg_space!([RawFd; 4]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EAGAIN) => return Ok(got),
            // The suite's own signals (SIGCHLD) interrupt a receive with a timeout.
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("recvmsg on the host's notify socket: {e}")),
        };
        let mut fds = Vec::new();
        for c in msg.cmsgs().map_err(|e| format!("control data: {e}"))? {
            if let ControlMessageOwned::ScmRights(v) = c {
                fds.extend(v);
            }
        }
        let n = msg.bytes;
        // SAFETY: each fd was just installed in this process by SCM_RIGHTS and nothing else
        // refers to it; it is closed at once (the barrier's answer).
        let owned: Vec<OwnedFd> = fds
            .iter()
            .map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
            .collect();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let barrier = text == "BARRIER=1";
        got.push((text, owned.len()));
        drop(owned);
        if barrier {
            return Ok(got);
        }
    }
}

/// The host's socket at `<bundle>/host-notify.sock`, read in another thread.
fn listen(
    c: &Ctn<'_>,
    quiet: Duration,
) -> Result<(PathBuf, thread::JoinHandle<Result<Received, String>>), String> {
    let path = c.bundle.join("host-notify.sock");
    let socket = UnixDatagram::bind(&path).map_err(|e| format!("bind {}: {e}", path.display()))?;
    Ok((path, thread::spawn(move || receive(socket, quiet))))
}

/// `RUNTIME create|start` with `NOTIFY_SOCKET=host`.
fn with_notify(c: &Ctn<'_>, host: &Path, args: &[&str]) -> Result<Output, String> {
    let mut cmd = c.ctx.runtime_cmd(args);
    cmd.env("NOTIFY_SOCKET", host);
    let out = c.ctx.exec(cmd, None)?;
    ensure_eq(
        out.code,
        0,
        &format!(
            "`{}` with NOTIFY_SOCKET ({})",
            args.join(" "),
            out.describe()
        ),
    )?;
    Ok(out)
}

/// The proxy's mount and variable in the container, start blocking until READY=1, and the
/// host's socket getting READY=1, MAINPID=<init pid> and BARRIER=1 with an fd.
fn notify_socket_ready(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&helper_config("READY=1", "exec sleep 1000")?)?;
    let (host, got) = listen(&c, Duration::from_secs(20))?;
    with_notify(&c, &host, &["create", "--bundle", &c.bundle_str(), &c.id])?;
    let pid = c.pid()?;
    c.ctx.track_pid(pid);
    with_notify(&c, &host, &["start", &c.id])?;
    expect_ready_forwarded(got, pid)?;
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .map_err(|e| format!("mountinfo of the init: {e}"))?;
    let m = mount_at(&mountinfo, "/run/notify")?;
    ensure(m.has_opt("ro"), || {
        format!("/run/notify is not read-only: {}", m.line)
    })?;
    let environ = std::fs::read(format!("/proc/{pid}/environ"))
        .map_err(|e| format!("environ of the init: {e}"))?;
    let has = environ
        .split(|&b| b == 0)
        .any(|v| v == b"NOTIFY_SOCKET=/run/notify/notify.sock");
    ensure(has, || {
        format!(
            "NOTIFY_SOCKET=/run/notify/notify.sock not in the process's environment: {:?}",
            String::from_utf8_lossy(&environ)
        )
    })
}

/// What the runtime forwards to the host's socket once the container said READY=1, as
/// `listen`'s thread received it: the READY line, `MAINPID=<pid>`, and BARRIER=1 with one fd.
fn expect_ready_forwarded(
    got: thread::JoinHandle<Result<Received, String>>,
    pid: i32,
) -> TestResult {
    let got = got.join().map_err(|_| "the receiving thread panicked")??;
    let want = vec![
        ("READY=1\n".to_string(), 0),
        (format!("MAINPID={pid}\n"), 0),
        ("BARRIER=1".to_string(), 1),
    ];
    ensure_eq(
        got,
        want,
        "what the host's NOTIFY_SOCKET received (text, fds)",
    )
}

/// An init that exits without READY= ends start's wait: start succeeds and the host's socket
/// gets nothing.
fn notify_socket_exit_without_ready(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&helper_config("STATUS=starting", "exit 0")?)?;
    // Read here, after start: nothing is to come, so no barrier is to be answered meanwhile.
    let host = c.bundle.join("host-notify.sock");
    let socket = UnixDatagram::bind(&host).map_err(|e| format!("bind {}: {e}", host.display()))?;
    with_notify(&c, &host, &["create", "--bundle", &c.bundle_str(), &c.id])?;
    c.ctx.track_pid(c.pid()?);
    with_notify(&c, &host, &["start", &c.id])?;
    c.wait_status("stopped")?;
    let got = receive(socket, Duration::from_millis(200))?;
    ensure_eq(got, Vec::new(), "what the host's NOTIFY_SOCKET received")
}

/// `run -d` with `NOTIFY_SOCKET`: the same wait and messages as `start`, `MAINPID` the init's.
fn notify_socket_run_detached(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&helper_config("READY=1", "exec sleep 1000")?)?;
    let (host, got) = listen(&c, Duration::from_secs(20))?;
    with_notify(
        &c,
        &host,
        &["run", "-d", "--bundle", &c.bundle_str(), &c.id],
    )?;
    let pid = c.pid()?;
    c.ctx.track_pid(pid);
    expect_ready_forwarded(got, pid)?;
    ensure_eq(c.status()?.as_str(), "running", "the status after run -d")
}

/// A `NOTIFY_SOCKET` nothing listens on fails `start`, naming the path.
fn notify_socket_unusable(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&helper_config("READY=1", "exec sleep 1000")?)?;
    let host = c.bundle.join("nobody-listens.sock");
    with_notify(&c, &host, &["create", "--bundle", &c.bundle_str(), &c.id])?;
    c.ctx.track_pid(c.pid()?);
    let mut cmd = c.ctx.runtime_cmd(&["start", &c.id]);
    cmd.env("NOTIFY_SOCKET", &host);
    let out = c.ctx.exec(cmd, None)?;
    ensure(out.code != 0, || {
        format!(
            "start with an unusable NOTIFY_SOCKET succeeded: {}",
            out.describe()
        )
    })?;
    let path = host.display().to_string();
    ensure(!ctx.check_messages || out.stderr.contains(&path), || {
        format!("the error does not name {path}: {}", out.describe())
    })
}

/// A foreground `run` with `NOTIFY_SOCKET` passes READY= on with its own pid as `MAINPID` (as
/// runc: the runtime lives as long as the container and exits with its status), then waits for
/// the container as usual.
fn notify_socket_run_foreground(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&helper_config("READY=1", "exit 7")?)?;
    let (host, got) = listen(&c, Duration::from_secs(20))?;
    let mut cmd = c
        .ctx
        .runtime_cmd(&["run", "--bundle", &c.bundle_str(), &c.id]);
    cmd.env("NOTIFY_SOCKET", &host);
    let out = c.ctx.exec(cmd, None)?;
    ensure_eq(
        out.code,
        7,
        &format!("the foreground run's exit code ({})", out.describe()),
    )?;
    let got = got.join().map_err(|_| "the receiving thread panicked")??;
    let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    let main_pid = texts
        .get(1)
        .and_then(|t| t.strip_prefix("MAINPID="))
        .and_then(|t| t.trim_end().parse::<i32>().ok());
    ensure(
        texts.first() == Some(&"READY=1\n") && main_pid.is_some_and(|p| p > 0),
        || format!("want READY=1 then MAINPID=<pid>, got {got:?}"),
    )?;
    ensure_eq(
        got.get(2).cloned(),
        Some(("BARRIER=1".to_string(), 1)),
        "the third message (text, fds)",
    )
}
