//! What real-world configs and callers do that the other areas' tests do not: a state larger
//! than a pipe (Kubernetes writes large annotations) reaching hooks that do not read it, hooks
//! that leave a child behind holding their stdio, hooks without `env`, a seccomp agent that
//! does not answer, a bundle path that is not UTF-8, and the exit statuses callers read.
//! Each test is in the area it belongs to (`hooks.`, `seccomp.`, `lifecycle.`, `exec.`).

use std::ffi::OsString;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::bundle::{base_config, sh, DEFAULT_PATH};
use crate::harness::{ensure, ensure_eq, proc_alive, wait_until, Ctn, Ctx, Output, TestResult};
use crate::tests::hooks::leftovers_of;
use crate::Test;

pub fn tests() -> Vec<Test> {
    vec![
        Test::new("hooks", "timeout_unread_stdin", timeout_unread_stdin),
        Test::new("hooks", "stdin_closed_early", stdin_closed_early),
        Test::new("hooks", "child_holds_stdio", child_holds_stdio),
        Test::new("hooks", "env_when_unset", env_when_unset),
        Test::new("seccomp", "agent_backlog_full", agent_backlog_full),
        Test::new("seccomp", "agent_never_reads", agent_never_reads),
        Test::new("lifecycle", "run_non_utf8_bundle", run_non_utf8_bundle),
        Test::new("lifecycle", "usage_error_exit_1", usage_error_exit_1),
        Test::new("exec", "failures_exit_255", failures_exit_255),
    ]
}

/// Annotations of 256 KiB: the state a hook or the seccomp agent is sent is four times what a
/// pipe holds, and more than a unix socket buffers.
fn big_annotations() -> Value {
    let value = "k".repeat(64 * 1024);
    json!({
        "example.com/a": value, "example.com/b": value,
        "example.com/c": value, "example.com/d": value,
    })
}

/// A hook running `sh -c script` from the host's /bin/sh, with `env` only if given.
fn hook(script: &str, env: Option<&[&str]>) -> Value {
    let mut h = json!({"path": "/bin/sh", "args": ["sh", "-c", script]});
    if let Some(env) = env {
        h["env"] = json!(env);
    }
    h
}

const HOOK_ENV: &[&str] = &["PATH=/usr/sbin:/usr/bin:/sbin:/bin"];

/// The pid written to `path` by a hook (`echo $$ > path`), if it ran.
fn pid_in(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Kills a process the test's hook left, if it is still alive (the runtime under test may
/// have left it running: this suite leaves nothing behind either way).
fn reap_left(pid: Option<i32>) {
    if let Some(p) = pid.filter(|p| proc_alive(*p)) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// `create` did return on its own (not killed by the suite's timeout).
fn returned(out: &Output, what: &str) -> TestResult {
    ensure(!out.timed_out, || {
        format!("create did not return ({what}): {}", out.describe())
    })
}

/// A createRuntime hook that never reads its stdin, sent a state larger than a pipe holds,
/// is still killed at its `timeout` (1 s): create fails naming the hook, the hook is gone and
/// nothing of the container is left. (runc's `exec.Cmd` feeds stdin from a goroutine while it
/// waits; a runtime that writes the whole state before waiting blocks until the hook exits.)
fn timeout_unread_stdin(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let pidfile = c.bundle.join("hook.pid");
    let mut h = hook(
        &format!("echo $$ > {}; exec sleep 1000", pidfile.display()),
        Some(HOOK_ENV),
    );
    h["timeout"] = json!(1);
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["annotations"] = big_annotations();
    cfg["hooks"] = json!({"createRuntime": [h]});
    c.write_config(&cfg)?;
    let out = c.create(&[]);
    let pid = pid_in(&pidfile);
    let checked = out.and_then(|out| {
        returned(
            &out,
            "its hook never reads the state and outlives its 1 s timeout",
        )?;
        ensure(out.code != 0, || {
            "create succeeded although its hook ran past its timeout".to_string()
        })?;
        if ctx.check_messages {
            ensure(out.stderr.contains("hooks.createRuntime[0]"), || {
                format!(
                    "the error does not name hooks.createRuntime[0]: {}",
                    out.stderr.trim()
                )
            })?;
        }
        let pid = pid.ok_or("the hook did not run")?;
        let dead = wait_until(Duration::from_secs(3), || !proc_alive(pid));
        ensure(dead, || format!("the timed-out hook {pid} is still alive"))?;
        let left = leftovers_of(ctx, &c)?;
        ensure(left.is_empty(), || {
            format!("left after the failed create: {}", left.join("; "))
        })
    });
    reap_left(pid);
    checked
}

/// Hooks that close their stdin before reading all of a state larger than a pipe holds (one
/// reads 100 bytes first) and go on: that is no failure (runc ignores `EPIPE` on a hook's
/// stdin). Run by the runtime (createRuntime) and by the container's init (createContainer,
/// startContainer).
fn stdin_closed_early(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let dir = c.bundle_str();
    let mut cfg = sh("sleep 1000");
    cfg["annotations"] = big_annotations();
    cfg["hooks"] = json!({
        "createRuntime": [hook(&format!("head -c 100 >/dev/null; exec 0<&-; echo ok > {dir}/cr"), Some(HOOK_ENV))],
        "createContainer": [hook(&format!("exec 0<&-; echo ok > {dir}/cc"), Some(HOOK_ENV))],
        // In the container, after pivot_root: its own /bin/sh, its own root.
        "startContainer": [hook("exec 0<&-; echo ok > /sc", Some(&[DEFAULT_PATH]))],
    });
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    returned(&out, "its hooks closed their stdin early")?;
    ensure_eq(out.code, 0, &format!("create ({})", out.describe()))?;
    c.start_ok()?;
    for f in [
        c.bundle.join("cr"),
        c.bundle.join("cc"),
        c.rootfs().join("sc"),
    ] {
        ensure(f.exists(), || {
            format!(
                "the hook writing {} did not go on after closing its stdin",
                f.display()
            )
        })?;
    }
    Ok(())
}

/// A createRuntime hook that leaves a background child holding its stdin (unread, with a state
/// larger than a pipe holds), stdout and stderr, and exits 0: create returns once the hook
/// exited and succeeds, while the child still runs. Its createContainer twin, run by the
/// container's init, too.
fn child_holds_stdio(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let childfile = c.bundle.join("child.pid");
    // A non-interactive shell gives a background job /dev/null as stdin unless it is
    // redirected explicitly: fd 3 carries the hook's stdin to it.
    let script = format!(
        "exec 3<&0; sleep 1000 <&3 3<&- & echo $! > {}; exit 0",
        childfile.display()
    );
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["annotations"] = big_annotations();
    cfg["hooks"] = json!({
        "createRuntime": [hook(&script, Some(HOOK_ENV))],
        "createContainer": [hook("exec 3<&0; sleep 1000 <&3 3<&- & exit 0", Some(HOOK_ENV))],
    });
    c.write_config(&cfg)?;
    let out = c.create(&[]);
    let child = pid_in(&childfile);
    let checked = out.and_then(|out| {
        returned(
            &out,
            "its hook exited, leaving a child that holds its stdio",
        )?;
        ensure_eq(out.code, 0, &format!("create ({})", out.describe()))?;
        let child = child.ok_or("the hook did not run")?;
        ensure(proc_alive(child), || {
            format!("the hook's child {child} did not outlive create")
        })
    });
    reap_left(child);
    checked
}

/// Hooks without `env` get the environment runc gives them: createRuntime and poststart hooks
/// (run by the runtime) the runtime's own, createContainer and startContainer hooks (run from
/// the container's init) the container process's `env`.
fn env_when_unset(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let dir = c.bundle_str();
    // /proc/self: before pivot_root a createContainer hook sees the host's /proc, where `$$`
    // (a pid in the container's namespace) names another process.
    let record = |to: &str| format!("cat /proc/self/environ > {to}; exit 0");
    let mut cfg = sh("sleep 1000");
    cfg["process"]["env"] = json!([DEFAULT_PATH, "ST_PROCESS_MARK=process"]);
    cfg["hooks"] = json!({
        "createRuntime": [hook(&record(&format!("{dir}/createRuntime")), None)],
        "createContainer": [hook(&record(&format!("{dir}/createContainer")), None)],
        // In the container, after pivot_root: its own /bin/sh, its own root.
        "startContainer": [hook(&record("/startContainer"), None)],
        "poststart": [hook(&record(&format!("{dir}/poststart")), None)],
    });
    c.write_config(&cfg)?;
    let marked = |args: &[&str]| {
        let mut cmd = ctx.runtime_cmd(args);
        cmd.env("ST_RUNTIME_MARK", "runtime");
        ctx.exec(cmd, None)
    };
    let bundle = c.bundle_str();
    let out = marked(&["create", "--bundle", &bundle, &c.id])?;
    ensure_eq(out.code, 0, &format!("create ({})", out.describe()))?;
    let out = marked(&["start", &c.id])?;
    ensure_eq(out.code, 0, &format!("start ({})", out.describe()))?;
    let mut errors = Vec::new();
    for (kind, file, want, not) in [
        (
            "createRuntime",
            c.bundle.join("createRuntime"),
            "ST_RUNTIME_MARK=runtime",
            "ST_PROCESS_MARK",
        ),
        (
            "createContainer",
            c.bundle.join("createContainer"),
            "ST_PROCESS_MARK=process",
            "ST_RUNTIME_MARK",
        ),
        (
            "startContainer",
            c.rootfs().join("startContainer"),
            "ST_PROCESS_MARK=process",
            "ST_RUNTIME_MARK",
        ),
        (
            "poststart",
            c.bundle.join("poststart"),
            "ST_RUNTIME_MARK=runtime",
            "ST_PROCESS_MARK",
        ),
    ] {
        let text = match fs::read(&file) {
            Ok(t) => String::from_utf8_lossy(&t).into_owned(),
            Err(e) => {
                errors.push(format!(
                    "{kind}: the hook did not run ({}: {e})",
                    file.display()
                ));
                continue;
            }
        };
        let vars: Vec<&str> = text.split('\0').filter(|v| !v.is_empty()).collect();
        if !vars.contains(&want) || vars.iter().any(|v| v.starts_with(not)) {
            errors.push(format!(
                "{kind}: environment {vars:?}, want {want} and no {not}"
            ));
        }
    }
    ensure(errors.is_empty(), || errors.join("\n"))
}

/// A notify profile sending the listener to `sock`.
fn notify_to(sock: &Path) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock.to_string_lossy(),
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
    })
}

/// Creates `c` with a notify profile to `sock`; create must fail on its own (not hang), name
/// `linux.seccomp.listenerPath` and leave nothing.
fn create_fails_on_agent(ctx: &Ctx, c: &Ctn, sock: &Path, what: &str) -> TestResult {
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["annotations"] = big_annotations();
    cfg["linux"]["seccomp"] = notify_to(sock);
    // Without no_new_privs the filter is loaded, and the agent sent its fd, during create on
    // every runtime (with it, Cella loads it at start, right before the program).
    cfg["process"]["noNewPrivileges"] = json!(false);
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    returned(&out, what)?;
    ensure(out.code != 0, || {
        format!("create succeeded although {what}")
    })?;
    if ctx.check_messages {
        ensure(out.stderr.contains("linux.seccomp.listenerPath"), || {
            format!(
                "the error does not name linux.seccomp.listenerPath: {}",
                out.stderr.trim()
            )
        })?;
    }
    let left = leftovers_of(ctx, c)?;
    ensure(left.is_empty(), || {
        format!("left after the failed create: {}", left.join("; "))
    })
}

/// A seccomp agent whose listen backlog is full (it accepts nothing) fails create at once,
/// as runc's non-blocking connect does (`EAGAIN`), instead of create waiting for it.
fn agent_backlog_full(ctx: &Ctx) -> TestResult {
    use nix::sys::socket::{
        bind, connect, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
    };
    let c = Ctn::new(ctx, "")?;
    let sock = c.bundle.join("agent.sock");
    let err = |what: &'static str| move |e: nix::errno::Errno| format!("{what}: {e}");
    let addr = UnixAddr::new(&sock).map_err(err("agent address"))?;
    let listener = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(err("socket"))?;
    bind(listener.as_raw_fd(), &addr).map_err(err("bind"))?;
    // Backlog 0 holds one connection: ours fills it.
    listen(&listener, Backlog::new(0).map_err(err("backlog"))?).map_err(err("listen"))?;
    let filler = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(err("socket"))?;
    connect(filler.as_raw_fd(), &addr).map_err(err("connect the filler"))?;
    create_fails_on_agent(ctx, &c, &sock, "the seccomp agent accepts no connection")
}

/// A seccomp agent that accepts the connection but never reads, sent a state larger than the
/// socket buffers (annotations of 256 KiB), fails create in bounded time.
fn agent_never_reads(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let sock = c.bundle.join("agent.sock");
    // Connections queue in the backlog and their data in the socket; nothing is read.
    let _listener =
        UnixListener::bind(&sock).map_err(|e| format!("bind {}: {e}", sock.display()))?;
    create_fails_on_agent(ctx, &c, &sock, "the seccomp agent never reads its message")
}

/// A bundle whose path is not UTF-8 (byte 0xff in its name): `run` runs the container from
/// it (a path is bytes), and it is gone after.
fn run_non_utf8_bundle(ctx: &Ctx) -> TestResult {
    let mut c = Ctn::new(ctx, "")?;
    let mut name = c.id.clone().into_bytes();
    name.extend_from_slice(b"-\xff");
    let bundle: PathBuf = ctx.work.join(OsString::from_vec(name));
    fs::rename(&c.bundle, &bundle).map_err(|e| format!("rename the bundle: {e}"))?;
    c.bundle = bundle;
    c.write_config(&sh("echo ran-from-bytes"))?;
    let args = [
        OsString::from("run"),
        OsString::from("--bundle"),
        c.bundle.clone().into_os_string(),
        OsString::from(&c.id),
    ];
    let out = ctx.rt(&args)?;
    ensure_eq(
        out.code,
        0,
        &format!("run from a non-UTF-8 bundle path ({})", out.describe()),
    )?;
    ensure_eq(
        out.stdout.trim(),
        "ran-from-bytes",
        "the container's output",
    )?;
    let left = leftovers_of(ctx, &c)?;
    ensure(left.is_empty(), || {
        format!("left after run: {}", left.join("; "))
    })
}

/// A command line the runtime cannot parse (a missing id, an unknown flag) exits 1, as runc's.
fn usage_error_exit_1(ctx: &Ctx) -> TestResult {
    for args in [&["create"][..], &["--no-such-flag", "list"], &["state"]] {
        let out = ctx.rt(args)?;
        ensure_eq(
            out.code,
            1,
            &format!("exit code of {args:?} ({})", out.describe()),
        )?;
    }
    Ok(())
}

/// `exec` exits 255 when the process cannot be started, as runc's (`fatalWithCode(..., 255)`),
/// which callers tell from the exit status of a process that ran: a missing binary, a missing
/// container, a stopped container.
fn failures_exit_255(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["sleep", "1000"]))?;
    c.start_new()?;
    let check = |args: &[&str], what: &str| -> TestResult {
        let out = ctx.rt(args)?;
        ensure_eq(
            out.code,
            255,
            &format!("exit code of exec {what} ({})", out.describe()),
        )
    };
    check(&["exec", &c.id, "/no/such/binary"], "of a missing binary")?;
    check(
        &["exec", &c.id, "no-such-binary-in-path"],
        "of a binary not in PATH",
    )?;
    let missing = ctx.new_id("missing");
    check(&["exec", &missing, "true"], "into a missing container")?;
    ctx.rt_ok(&["kill", &c.id, "KILL"])?;
    c.wait_status("stopped")?;
    check(&["exec", &c.id, "true"], "into a stopped container")
}
