//! The container process (config.md "Process", config-linux "oomScoreAdj"): args, env, cwd,
//! user, umask, rlimits, capabilities, no_new_privs, oom_score_adj and stdio, observed from
//! inside and through /proc/<pid>.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::json;

use crate::bundle::{base_config, set_caps, set_namespaces, sh, DEFAULT_PATH};
use crate::harness::{
    cgroup_path_dirs, cgroup_procs_file, ensure, ensure_eq, proc_alive, read_pids, run_host,
    run_ok, runtime_with_fds, status_code, wait_until, Ctn, Ctx, TestResult, RUNTIME_TIMEOUT,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("process", name, f);
    vec![
        t("args_env", args_env),
        t("cwd", cwd),
        t("user_ids", user_ids),
        t("user_unknown_uid", user_unknown_uid),
        t("umask", umask),
        t("rlimits", rlimits),
        t("capabilities_root", capabilities_root),
        t("capabilities_ambient", capabilities_ambient),
        t(
            "capabilities_unknown_name_warned",
            capabilities_unknown_name_warned,
        ),
        t(
            "capabilities_outside_bounding_set_warned",
            capabilities_outside_bounding_set_warned,
        ),
        t("no_new_privileges_true", no_new_privileges_true),
        t("no_new_privileges_false", no_new_privileges_false),
        t("oom_score_adj", oom_score_adj),
        t("stdio_inherited", stdio_inherited),
        t("preserve_fds", preserve_fds),
        t("socket_activation", socket_activation),
        t("no_fd_leak", no_fd_leak),
        t("fd_leak_cwd_escape", fd_leak_cwd_escape),
        t("kill_all_without_pidns", kill_all_without_pidns),
    ]
}

fn args_env(ctx: &Ctx) -> TestResult {
    let mut cfg = base_config(&[
        "sh",
        "-c",
        "printf '%s|' \"$@\"; echo; env",
        "sh",
        "a b",
        "c",
    ]);
    cfg["process"]["env"] = json!([DEFAULT_PATH, "FOO=bar baz", "EMPTY="]);
    let out = run_ok(ctx, &cfg)?;
    let mut lines = out.lines();
    ensure_eq(lines.next(), Some("a b|c|"), "arguments")?;
    let env: Vec<&str> = lines.collect();
    for want in ["FOO=bar baz", "EMPTY=", DEFAULT_PATH] {
        ensure(env.contains(&want), || {
            format!("env lacks {want:?}: {env:?}")
        })?;
    }
    Ok(())
}

fn cwd(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("pwd");
    cfg["process"]["cwd"] = json!("/tmp");
    let out = run_ok(ctx, &cfg)?;
    ensure_eq(out.trim(), "/tmp", "pwd")
}

/// uid, gid and additionalGids (`Groups:` in /proc/self/status lists the supplementary ones).
fn user_ids(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("id -u; id -g; grep '^Groups:' /proc/self/status");
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]});
    let out = run_ok(ctx, &cfg)?;
    let lines: Vec<&str> = out.lines().collect();
    ensure(lines.len() == 3, || format!("unexpected output: {out}"))?;
    ensure_eq(lines[0], "1000", "uid")?;
    ensure_eq(lines[1], "1000", "gid")?;
    let mut groups: Vec<&str> = lines[2]
        .trim_start_matches("Groups:")
        .split_whitespace()
        .filter(|g| *g != "1000")
        .collect();
    groups.sort();
    ensure_eq(groups, vec!["10", "20"], "supplementary groups")
}

/// A uid and gid that /etc/passwd does not know are used as they are.
fn user_unknown_uid(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("id -u; id -g");
    cfg["process"]["user"] = json!({"uid": 4321, "gid": 4321});
    let out = run_ok(ctx, &cfg)?;
    ensure_eq(
        out.lines().collect::<Vec<_>>(),
        vec!["4321", "4321"],
        "uid and gid",
    )
}

fn umask(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("umask");
    cfg["process"]["user"]["umask"] = json!(0o077);
    let out = run_ok(ctx, &cfg)?;
    ensure_eq(out.trim(), "0077", "umask")
}

/// RLIMIT_NOFILE soft 1000 hard 2000 (below the sandbox's hard limit of 20000).
fn rlimits(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("ulimit -n; ulimit -Hn; grep 'Max open files' /proc/self/limits");
    cfg["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000}]);
    let out = run_ok(ctx, &cfg)?;
    let lines: Vec<&str> = out.lines().collect();
    ensure(lines.len() == 3, || format!("unexpected output: {out}"))?;
    ensure_eq(lines[0], "1000", "ulimit -n")?;
    ensure_eq(lines[1], "2000", "ulimit -Hn")?;
    let f: Vec<&str> = lines[2].split_whitespace().collect();
    ensure_eq(
        f.get(3..5).map(|s| s.to_vec()),
        Some(vec!["1000", "2000"]),
        "Max open files in /proc/self/limits",
    )
}

/// Parses `CapXxx:\t<hex>` lines into (name, mask).
fn cap_masks(out: &str) -> Vec<(String, u64)> {
    out.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((
                k.trim().to_string(),
                u64::from_str_radix(v.trim(), 16).ok()?,
            ))
        })
        .collect()
}

fn check_caps(out: &str, want: &[(&str, u64)]) -> TestResult {
    let got = cap_masks(out);
    for (name, mask) in want {
        let g = got
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("no {name} line: {out}"))?;
        ensure(g == *mask, || format!("{name}: got {g:#x}, want {mask:#x}"))?;
    }
    Ok(())
}

const CAP_CHOWN: u64 = 1 << 0;
const CAP_KILL: u64 = 1 << 5;
const CAP_NET_BIND_SERVICE: u64 = 1 << 10;

/// Root with bounding = effective = permitted = {CHOWN, KILL}, nothing inheritable or ambient.
fn capabilities_root(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("grep ^Cap /proc/self/status");
    set_caps(&mut cfg, &["CAP_CHOWN", "CAP_KILL"]);
    let out = run_ok(ctx, &cfg)?;
    let m = CAP_CHOWN | CAP_KILL;
    check_caps(
        &out,
        &[
            ("CapInh", 0),
            ("CapPrm", m),
            ("CapEff", m),
            ("CapBnd", m),
            ("CapAmb", 0),
        ],
    )
}

/// Runs `cfg` (whose process prints its `Cap*` lines) and checks what config.md asks of a
/// capability that cannot be granted: the container runs (exit 0), stderr names each of
/// `ungrantable` (under --check-messages also the field, `process.capabilities.bounding`, and
/// the word warning), and the process has exactly `granted` in its bounding, permitted and
/// effective sets.
fn ungrantable_caps_warned(
    ctx: &Ctx,
    cfg: &serde_json::Value,
    ungrantable: &[&str],
    granted: u64,
) -> TestResult {
    let out = crate::harness::run_config(ctx, cfg)?;
    if out.code != 0 {
        return Err(format!(
            "the container should run without {ungrantable:?}: {}",
            out.describe()
        ));
    }
    let mut problems = Vec::new();
    let mut want: Vec<&str> = ungrantable.to_vec();
    if ctx.check_messages {
        want.extend(["process.capabilities.bounding", "warning"]);
    }
    let stderr = out.stderr.to_lowercase();
    for w in want {
        if !stderr.contains(&w.to_lowercase()) {
            problems.push(format!(
                "stderr should warn naming {w}; got: {:?}",
                out.stderr
            ));
        }
    }
    if let Err(e) = check_caps(
        &out.stdout,
        &[
            ("CapPrm", granted),
            ("CapEff", granted),
            ("CapBnd", granted),
        ],
    ) {
        problems.push(e);
    }
    ensure(problems.is_empty(), || problems.join("\n"))
}

/// config.md "Linux Process": a capability name no kernel interface maps to ("Any value which
/// cannot be mapped to a relevant kernel interface ... MUST be logged as a warning"; "SHOULD
/// NOT fail"): `CAP_NOT_A_CAP` in three sets is left out with a warning naming it, the rest
/// is granted.
fn capabilities_unknown_name_warned(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("grep ^Cap /proc/self/status");
    set_caps(&mut cfg, &["CAP_CHOWN", "CAP_KILL", "CAP_NOT_A_CAP"]);
    ungrantable_caps_warned(ctx, &cfg, &["CAP_NOT_A_CAP"], CAP_CHOWN | CAP_KILL)
}

/// config.md "Linux Process": "Runtimes SHOULD NOT fail if the container configuration
/// requests capabilities that cannot be granted, for example, if the runtime operates in a
/// restricted environment with a limited set of capabilities." The test drops `CAP_SYS_RESOURCE` from
/// its own bounding set (the test runs in a process of its own; the runtime it starts
/// inherits the set, as a runtime inside a container or under `capsh --drop` has it), then
/// asks for it: a warning names it, the container runs without it.
fn capabilities_outside_bounding_set_warned(ctx: &Ctx) -> TestResult {
    const CAP_SYS_RESOURCE: u64 = 1 << 24;
    // SAFETY: PR_CAPBSET_DROP takes an integer capability number and no pointers; it changes
    // only this thread's bounding set, which the runtime started from it inherits.
    let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, 24, 0, 0, 0) };
    if r != 0 {
        return Err(format!(
            "prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE): {}",
            std::io::Error::last_os_error()
        ));
    }
    let mut cfg = sh("grep ^Cap /proc/self/status");
    set_caps(&mut cfg, &["CAP_CHOWN", "CAP_KILL", "CAP_SYS_RESOURCE"]);
    let granted = CAP_CHOWN | CAP_KILL;
    debug_assert_eq!(granted & CAP_SYS_RESOURCE, 0);
    ungrantable_caps_warned(ctx, &cfg, &["CAP_SYS_RESOURCE"], granted)
}

/// A non-root user keeps an ambient capability across execve; the other sets follow the
/// kernel's rules (permitted and effective become the ambient set).
fn capabilities_ambient(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("grep ^Cap /proc/self/status");
    let all = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    cfg["process"]["capabilities"] = json!({
        "bounding": all, "effective": all, "permitted": all, "inheritable": all,
        "ambient": ["CAP_NET_BIND_SERVICE"]
    });
    let out = run_ok(ctx, &cfg)?;
    let all_m = CAP_CHOWN | CAP_KILL | CAP_NET_BIND_SERVICE;
    check_caps(
        &out,
        &[
            ("CapInh", all_m),
            ("CapPrm", CAP_NET_BIND_SERVICE),
            ("CapEff", CAP_NET_BIND_SERVICE),
            ("CapBnd", all_m),
            ("CapAmb", CAP_NET_BIND_SERVICE),
        ],
    )
}

fn nnp_case(ctx: &Ctx, on: bool) -> TestResult {
    let mut cfg = sh("grep ^NoNewPrivs: /proc/self/status");
    cfg["process"]["noNewPrivileges"] = json!(on);
    let out = run_ok(ctx, &cfg)?;
    let v = out
        .trim()
        .trim_start_matches("NoNewPrivs:")
        .trim()
        .to_string();
    ensure_eq(v.as_str(), if on { "1" } else { "0" }, "NoNewPrivs")
}

fn no_new_privileges_true(ctx: &Ctx) -> TestResult {
    nnp_case(ctx, true)
}

fn no_new_privileges_false(ctx: &Ctx) -> TestResult {
    nnp_case(ctx, false)
}

fn oom_score_adj(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("cat /proc/self/oom_score_adj");
    cfg["process"]["oomScoreAdj"] = json!(500);
    let out = run_ok(ctx, &cfg)?;
    ensure_eq(out.trim(), "500", "oom_score_adj")
}

/// `readlink /proc/<pid>/fd/<fd>`.
fn fd_link(pid: &str, fd: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads a pipe to its end on a thread; the receiver gets the text.
fn drain<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
    });
    rx
}

/// The container init inherits the stdio given to `create` (containerd passes pipes): its fds
/// 0-2 are the very pipes, and data flows through them after `start`.
fn stdio_inherited(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("read line; echo \"got:$line\"; echo err-marker >&2"))?;
    let mut cmd = ctx.runtime_cmd(&["create", "--bundle", &c.bundle_str(), &c.id]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("spawn create: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin pipe")?;
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let links = [
        fd_link("self", stdin.as_raw_fd()),
        fd_link("self", stdout.as_raw_fd()),
        fd_link("self", stderr.as_raw_fd()),
    ];
    let out_rx = drain(stdout);
    let err_rx = drain(stderr);
    // Wait for create itself (its pipes stay open in the container, so no output-based wait).
    let start = std::time::Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break status_code(st);
        }
        if start.elapsed() > RUNTIME_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err("create timed out".into());
        }
        thread::sleep(Duration::from_millis(5));
    };
    if code != 0 {
        drop(stdin);
        let err = err_rx
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        return Err(format!("create failed with {code}: {}", err.trim()));
    }
    let pid = c.pid()?.to_string();
    for (fd, want) in links.iter().enumerate() {
        let got = fd_link(&pid, fd as i32);
        ensure(&got == want, || {
            format!("init fd {fd} is {got:?}, want the caller's pipe {want:?}")
        })?;
    }
    c.start_ok()?;
    stdin
        .write_all(b"ping\n")
        .map_err(|e| format!("write to the container's stdin: {e}"))?;
    drop(stdin);
    let out = out_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "stdout pipe not closed 10 s after start".to_string())?;
    let err = err_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "stderr pipe not closed 10 s after start".to_string())?;
    ensure_eq(out.as_str(), "got:ping\n", "container stdout")?;
    ensure(err.contains("err-marker"), || {
        format!("container stderr lacks err-marker: {err:?}")
    })
}

/// systemd socket activation (`LISTEN_FDS`/`LISTEN_PID` naming the runtime's own pid): the
/// fds 3.. go on to the container, which sees `LISTEN_FDS=N` and `LISTEN_PID=1` (runc does so).
fn socket_activation(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh(
        "echo \"fds=$LISTEN_FDS pid=$LISTEN_PID\"; echo via-fd3 >&3",
    ))?;
    let file = c.bundle.join("fd3.out");
    let b = c.bundle_str();
    let script = "exec 3>\"$1\"; shift; export LISTEN_FDS=1 LISTEN_PID=$$; exec \"$@\"";
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&file)
        .arg(&ctx.runtime)
        .args(ctx.global_args())
        .args(["run", "--bundle", &b, &c.id]);
    let out = ctx.exec(cmd, None)?;
    ensure_eq(
        out.code,
        0,
        &format!("run with LISTEN_FDS=1 ({})", out.describe()),
    )?;
    ensure_eq(out.stdout.trim(), "fds=1 pid=1", "LISTEN_* inside")?;
    let got = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    ensure_eq(got.as_str(), "via-fd3\n", "written to the activation fd 3")
}

/// `create --preserve-fds 2` hands the caller's fds 3 (a file) and 4 (a pipe) to the
/// container process, which writes to both after `start`.
fn preserve_fds(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("echo to-fd3 >&3 && echo to-fd4 >&4"))?;
    let file = c.bundle.join("fd3.out");
    let fifo = c.bundle.join("fd4.fifo");
    run_host(&["mkfifo", &fifo.to_string_lossy()])?;
    // A non-blocking read end: opening it does not wait for a writer, and the shell's open of
    // the write end then does not block either. Read after the container has exited, it gives
    // the data and then EOF (no writer left).
    let mut reader = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .map_err(|e| format!("open {}: {e}", fifo.display()))?;
    let b = c.bundle_str();
    let args = ["create", "--preserve-fds", "2", "--bundle", &b, &c.id];
    let out = ctx.exec(runtime_with_fds(ctx, &[&file, &fifo], &args), None)?;
    ensure_eq(
        out.code,
        0,
        &format!("create --preserve-fds 2 ({})", out.describe()),
    )?;
    if let Ok(pid) = c.pid() {
        ctx.track_pid(pid);
    }
    c.start_ok()?;
    c.wait_status("stopped")?;
    let got3 = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut buf = Vec::new();
    let eof = match reader.read_to_end(&mut buf) {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => return Err(format!("read the fifo: {e}")),
    };
    let got4 = String::from_utf8_lossy(&buf).into_owned();
    ensure_eq(got3.as_str(), "to-fd3\n", "written to fd 3 (a file)")?;
    ensure_eq(got4.as_str(), "to-fd4\n", "written to fd 4 (a pipe)")?;
    ensure(eof, || {
        "the pipe of fd 4 is still open for writing after the container exited".into()
    })
}

/// The numbers listed by `ls /proc/$$/fd; exit 0` (the shell's own fds: `ls` is not the last
/// command, so the shell forks it instead of exec'ing it, and `ls`'s own directory fd does not
/// show).
fn parse_fds(out: &str) -> Vec<i32> {
    let mut v: Vec<i32> = out
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    v.sort();
    v
}

/// With fds 3 and 4 open in the caller (inherited, not `CLOEXEC`), the container process has
/// only 0, 1 and 2, and with `--preserve-fds 1` exactly 0 to 3: the runtime closes everything
/// else, its own fds included (runc CVE-2024-21626 leaked a host directory fd).
fn no_fd_leak(ctx: &Ctx) -> TestResult {
    for (tag, preserve, want) in [
        ("none", None, vec![0, 1, 2]),
        ("one", Some("1"), vec![0, 1, 2, 3]),
    ] {
        let c = Ctn::new(ctx, tag)?;
        c.write_config(&sh("ls /proc/$$/fd; exit 0"))?;
        let b = c.bundle_str();
        let mut args = vec!["run", "--bundle", &b];
        if let Some(n) = preserve {
            args.extend(["--preserve-fds", n]);
        }
        args.push(&c.id);
        let (f3, f4) = (c.bundle.join("fd3"), c.bundle.join("fd4"));
        let out = ctx.exec(runtime_with_fds(ctx, &[&f3, &f4], &args), None)?;
        let what = format!("`{}`", args.join(" "));
        ensure_eq(out.code, 0, &format!("{what} ({})", out.describe()))?;
        ensure_eq(
            parse_fds(&out.stdout),
            want,
            &format!("fds of the container process after {what}"),
        )?;
    }
    Ok(())
}

/// `ls -l` lines `... N -> TARGET` as (N, TARGET).
fn fd_targets(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| {
            let (left, target) = l.split_once(" -> ")?;
            let fd = left.split_whitespace().last()?;
            Some((fd.to_string(), target.trim().to_string()))
        })
        .collect()
}

/// The container process cannot reach the host through its cwd or its fds: `/proc/1/cwd` is
/// `/` and holds no bundle file, no fd points into the bundle, the state root, `/run` or the
/// cgroup tree; and a `process.cwd` of `/proc/self/fd/N` (the CVE-2024-21626 attack on a
/// leaked fd) either fails or leaves the process inside its root (`..` from the cwd, repeated,
/// ends at the container's `/`).
fn fd_leak_cwd_escape(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("echo cwd=$(readlink /proc/1/cwd); \
         test -e /proc/1/cwd/config.json && echo ESCAPE-cwd; \
         test -e /proc/1/root/config.json && echo ESCAPE-root; \
         ls -l /proc/1/fd/ /proc/self/fd/; exit 0"))?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    ensure_eq(
        out.stdout.lines().next(),
        Some("cwd=/"),
        "readlink /proc/1/cwd",
    )?;
    ensure(!out.stdout.contains("ESCAPE"), || {
        format!("the bundle's config.json is reachable: {}", out.stdout)
    })?;
    let targets = fd_targets(&out.stdout);
    ensure(targets.len() >= 6, || {
        format!("unexpected ls -l output: {}", out.stdout)
    })?;
    let bundle = c.bundle_str();
    let root = ctx.root.to_string_lossy().into_owned();
    let bad: Vec<&(String, String)> = targets
        .iter()
        .filter(|(fd, t)| {
            let host = [bundle.as_str(), root.as_str(), "/run", "/sys/fs/cgroup"]
                .iter()
                .any(|p| t == p || t.starts_with(&format!("{p}/")));
            // Above stdio only `ls`'s own directory fd may be open.
            let extra = !matches!(fd.as_str(), "0" | "1" | "2") && !t.starts_with("/proc/");
            host || extra
        })
        .collect();
    ensure(bad.is_empty(), || {
        format!("fds reaching the host: {bad:?} (all: {targets:?})")
    })?;

    let script = "r=$(stat -c %d:%i /); \
                  u=$(stat -c %d:%i ../../../../../../../../../../../../../../../../../..); \
                  [ \"$r\" = \"$u\" ] && echo INSIDE || echo OUTSIDE $(readlink /proc/self/cwd)";
    for n in 3..=9 {
        let c = Ctn::new(ctx, &format!("fd{n}"))?;
        let mut cfg = sh(script);
        cfg["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        c.write_config(&cfg)?;
        let out = c.run()?;
        if out.code == 0 {
            ensure(out.stdout.trim() == "INSIDE", || {
                format!(
                    "with cwd /proc/self/fd/{n} the process's cwd is outside its root: {}",
                    out.stdout.trim()
                )
            })?;
        }
    }
    Ok(())
}

/// `kill --all ID KILL` on a container without a pid namespace of its own kills every process
/// in its cgroup, an orphan that left the process tree included; then delete removes the
/// cgroup.
fn kill_all_without_pidns(ctx: &Ctx) -> TestResult {
    let path = ctx.new_cgroup_path("");
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("sleep 1000 & (sleep 1000 &); wait");
    set_namespaces(&mut cfg, &["ipc", "uts", "mount", "network"]);
    cfg["linux"]["cgroupsPath"] = json!(path);
    c.write_config(&cfg)?;
    c.start_new()?;
    let procs = cgroup_procs_file(&path);
    let is_sleep =
        |p: &i32| fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\0"));
    // Both sleeps running (the orphan's short-lived subshell may still be there too).
    let mut before = Vec::new();
    let found = wait_until(Duration::from_secs(5), || {
        before = read_pids(&procs);
        before.iter().filter(|p| is_sleep(p)).count() >= 2
    });
    ensure(found, || {
        format!(
            "{} lists {before:?}, want the shell and two sleeps",
            procs.display()
        )
    })?;
    ctx.rt_ok(&["kill", "--all", &c.id, "KILL"])?;
    let mut left = Vec::new();
    let gone = wait_until(Duration::from_secs(5), || {
        left = read_pids(&procs);
        left.is_empty() && before.iter().all(|&p| !proc_alive(p))
    });
    ensure(gone, || {
        let alive: Vec<i32> = before.iter().copied().filter(|&p| proc_alive(p)).collect();
        format!(
            "after kill --all: {} lists {left:?}; alive of {before:?}: {alive:?}",
            procs.display()
        )
    })?;
    c.wait_status("stopped")?;
    ctx.rt_ok(&["delete", &c.id])?;
    let removed = wait_until(Duration::from_secs(3), || {
        cgroup_path_dirs(&path).is_empty()
    });
    ensure(removed, || {
        format!(
            "cgroup directories left after delete: {:?}",
            cgroup_path_dirs(&path)
        )
    })
}
