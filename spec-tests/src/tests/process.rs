//! The container process (config.md "Process", config-linux "oomScoreAdj"): args, env, cwd,
//! user, umask, rlimits, capabilities, no_new_privs, oom_score_adj and stdio, observed from
//! inside and through /proc/<pid>.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::json;

use crate::bundle::{base_config, set_caps, sh, DEFAULT_PATH};
use crate::harness::{
    ensure, ensure_eq, run_ok, status_code, Ctn, Ctx, TestResult, RUNTIME_TIMEOUT,
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
        t("no_new_privileges_true", no_new_privileges_true),
        t("no_new_privileges_false", no_new_privileges_false),
        t("oom_score_adj", oom_score_adj),
        t("stdio_inherited", stdio_inherited),
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
