//! `exec` into a running container (runc's `exec` command line, as containerd's shim and
//! podman call it): the process joins every namespace and the cgroup of the container's init,
//! takes the config's process settings with the flags' changes (`--cwd`, `-e`, `-u`, `-g`,
//! `--cap`, `--no-new-privs`, `--process FILE`), `-d` with `--pid-file`, `--preserve-fds`,
//! `--ignore-paused`, `--cgroup`; its exit status is passed through and it gets no fd of the
//! host beyond stdio and the preserved ones.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bundle::{add_userns, base_config, set_namespaces, DEFAULT_NAMESPACES, DEFAULT_PATH};
use crate::harness::{
    cgroup_rel, ensure, ensure_eq, host_cgroup_v2, ns_link, proc_alive, runtime_with_fds,
    status_code, wait_until, Ctn, Ctx, Output, TestResult, RUNTIME_TIMEOUT,
};
use crate::rootfs::chown_tree;
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("exec", name, f);
    vec![
        t("output_and_exit_code", output_and_exit_code),
        t("cwd", cwd),
        t("env", env),
        t("user", user),
        t("additional_gids", additional_gids),
        t("cap", cap),
        t("no_new_privs", no_new_privs),
        t("detach_pid_file", detach_pid_file),
        t("preserve_fds", preserve_fds),
        t("no_fd_leak", no_fd_leak),
        t("ignore_paused", ignore_paused),
        t("cgroup_sub", cgroup_sub),
        t("process_json", process_json),
        t("stopped_fails", stopped_fails),
        t("joins_namespaces_and_cgroup", joins_namespaces_and_cgroup),
        t("user_namespace", user_namespace),
    ]
}

/// A started container running `sleep 1000` with `cfg` (or the baseline when `None`).
fn running<'a>(ctx: &'a Ctx, tag: &str, cfg: Option<Value>) -> Result<Ctn<'a>, String> {
    let c = Ctn::new(ctx, tag)?;
    c.write_config(&cfg.unwrap_or_else(|| base_config(&["sleep", "1000"])))?;
    c.start_new()?;
    Ok(c)
}

/// `RUNTIME exec FLAGS... ID CMD...`.
fn exec(c: &Ctn, flags: &[&str], cmd: &[&str]) -> Result<Output, String> {
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.push(&c.id);
    args.extend_from_slice(cmd);
    c.ctx.rt(&args)
}

/// Like [`exec`], but the process must exit 0; returns its stdout.
fn exec_ok(c: &Ctn, flags: &[&str], cmd: &[&str]) -> Result<String, String> {
    let out = exec(c, flags, cmd)?;
    if out.code != 0 {
        return Err(format!(
            "`exec {} {} {}` failed: {}",
            flags.join(" "),
            c.id,
            cmd.join(" "),
            out.describe()
        ));
    }
    Ok(out.stdout)
}

/// The value of a `Key:\tvalue` line of /proc/<pid>/status text.
fn status_field<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

/// Reads a pid file written by the runtime (it may appear just after the runtime exits).
fn read_pid_file(p: &Path) -> Result<i32, String> {
    let mut text = String::new();
    wait_until(Duration::from_secs(2), || {
        text = fs::read_to_string(p).unwrap_or_default();
        !text.trim().is_empty()
    });
    text.trim()
        .parse()
        .map_err(|_| format!("pid file {} holds {text:?}", p.display()))
}

/// The output and the exit code of the process are passed through; a process killed by a
/// signal gives 128+signal.
fn output_and_exit_code(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    let out = exec(
        &c,
        &[],
        &["sh", "-c", "echo to-out; echo to-err >&2; exit 3"],
    )?;
    ensure_eq(out.code, 3, &format!("exec exit code ({})", out.describe()))?;
    ensure_eq(out.stdout.as_str(), "to-out\n", "exec stdout")?;
    ensure(out.stderr.contains("to-err"), || {
        format!("exec stderr lacks to-err: {:?}", out.stderr)
    })?;
    let out = exec(&c, &[], &["sh", "-c", "kill -KILL $$"])?;
    ensure_eq(
        out.code,
        128 + 9,
        &format!(
            "exit code of a process killed by SIGKILL ({})",
            out.describe()
        ),
    )?;
    ensure_eq(c.status()?, "running".to_string(), "status after the execs")
}

fn cwd(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    let out = exec_ok(&c, &["--cwd", "/tmp"], &["pwd"])?;
    ensure_eq(out.trim(), "/tmp", "pwd with --cwd /tmp")?;
    let out = exec_ok(&c, &[], &["pwd"])?;
    ensure_eq(out.trim(), "/", "pwd without --cwd (the config's cwd)")
}

/// `-e` adds to the config's environment.
fn env(ctx: &Ctx) -> TestResult {
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["process"]["env"] = json!([DEFAULT_PATH, "ST_CONFIG=from-config"]);
    let c = running(ctx, "", Some(cfg))?;
    // One spelling per call: runc's flag parser refuses `-e` and `--env` together.
    for (flags, added) in [
        (
            vec!["-e", "ST_ADDED=one", "-e", "ST_SPACE=a b"],
            vec!["ST_ADDED=one", "ST_SPACE=a b"],
        ),
        (vec!["--env", "ST_LONG=two"], vec!["ST_LONG=two"]),
    ] {
        let out = exec_ok(&c, &flags, &["env"])?;
        let env: Vec<&str> = out.lines().collect();
        for want in added.iter().chain(&["ST_CONFIG=from-config", DEFAULT_PATH]) {
            ensure(env.contains(want), || {
                format!("env of `exec {}` lacks {want:?}: {env:?}", flags.join(" "))
            })?;
        }
    }
    Ok(())
}

fn user(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    let out = exec_ok(&c, &["-u", "1000:1000"], &["sh", "-c", "id -u; id -g"])?;
    ensure_eq(
        out.lines().collect::<Vec<_>>(),
        vec!["1000", "1000"],
        "uid and gid with -u 1000:1000",
    )?;
    let out = exec_ok(&c, &["--user", "4321"], &["id", "-u"])?;
    ensure_eq(out.trim(), "4321", "uid with --user 4321")
}

/// `-g` sets supplementary groups (`Groups:` in /proc/self/status).
fn additional_gids(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    // One spelling per call: runc's flag parser refuses `-g` and `--additional-gids` together.
    for (flags, want) in [
        (vec!["-g", "10", "-g", "20"], vec!["10", "20"]),
        (vec!["--additional-gids", "30"], vec!["30"]),
    ] {
        let mut all = vec!["-u", "1000:1000"];
        all.extend(&flags);
        let out = exec_ok(&c, &all, &["grep", "^Groups:", "/proc/self/status"])?;
        let mut groups: Vec<&str> = status_field(&out, "Groups")
            .unwrap_or("")
            .split_whitespace()
            .filter(|g| *g != "1000")
            .collect();
        groups.sort();
        ensure_eq(
            groups,
            want,
            &format!("supplementary groups with {}", flags.join(" ")),
        )?;
    }
    Ok(())
}

const CAP_NET_ADMIN: u64 = 1 << 12;

fn cap_eff(out: &str) -> Result<u64, String> {
    status_field(out, "CapEff")
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .ok_or_else(|| format!("no CapEff line: {out}"))
}

/// `--cap CAP_NET_ADMIN` adds a capability the config does not give (Docker's defaults lack
/// it): CapEff gains the bit.
fn cap(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    let cmd = ["grep", "^Cap", "/proc/self/status"];
    let before = cap_eff(&exec_ok(&c, &[], &cmd)?)?;
    ensure(before & CAP_NET_ADMIN == 0, || {
        format!("CapEff {before:#x} has CAP_NET_ADMIN without --cap")
    })?;
    let after = cap_eff(&exec_ok(&c, &["--cap", "CAP_NET_ADMIN"], &cmd)?)?;
    ensure(after & CAP_NET_ADMIN != 0, || {
        format!("CapEff {after:#x} lacks CAP_NET_ADMIN with --cap CAP_NET_ADMIN")
    })?;
    ensure(after & before == before, || {
        format!("--cap dropped capabilities: {before:#x} -> {after:#x}")
    })
}

/// With `noNewPrivileges: false` in the config, exec gives NoNewPrivs 0, and 1 with
/// `--no-new-privs`.
fn no_new_privs(ctx: &Ctx) -> TestResult {
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["process"]["noNewPrivileges"] = json!(false);
    let c = running(ctx, "", Some(cfg))?;
    let cmd = ["grep", "^NoNewPrivs:", "/proc/self/status"];
    let out = exec_ok(&c, &[], &cmd)?;
    ensure_eq(status_field(&out, "NoNewPrivs"), Some("0"), "NoNewPrivs")?;
    let out = exec_ok(&c, &["--no-new-privs"], &cmd)?;
    ensure_eq(
        status_field(&out, "NoNewPrivs"),
        Some("1"),
        "NoNewPrivs with --no-new-privs",
    )
}

/// `-d --pid-file F`: exec returns at once; F names the process, which runs in the
/// container's pid namespace (its /proc/<pid>/ns/pid is the init's).
fn detach_pid_file(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    let pf = c.bundle.join("exec.pid");
    let t0 = Instant::now();
    let out = exec(
        &c,
        &["-d", "--pid-file", &pf.to_string_lossy()],
        &["sleep", "1001"],
    )?;
    ensure_eq(out.code, 0, &format!("exec -d ({})", out.describe()))?;
    ensure(t0.elapsed() < Duration::from_secs(10), || {
        format!("exec -d took {:?}", t0.elapsed())
    })?;
    let pid = read_pid_file(&pf)?;
    let init = c.pid()?;
    ensure(pid != init, || {
        format!("the pid file names the init {init}")
    })?;
    ensure(proc_alive(pid), || {
        format!("exec'd process {pid} is not alive")
    })?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    ensure_eq(
        String::from_utf8_lossy(&cmdline).replace('\0', " ").trim(),
        "sleep 1001",
        &format!("command line of pid {pid}"),
    )?;
    ensure_eq(
        ns_link(&pid.to_string(), "pid")?,
        ns_link(&init.to_string(), "pid")?,
        "pid namespace of the exec'd process vs the init's",
    )
}

/// `exec --preserve-fds 1` hands the caller's fd 3 (a file) to the process, which writes to
/// it.
fn preserve_fds(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    let file = c.bundle.join("fd3.out");
    let args = [
        "exec",
        "--preserve-fds",
        "1",
        &c.id,
        "sh",
        "-c",
        "echo to-fd3 >&3",
    ];
    let out = ctx.exec(runtime_with_fds(ctx, &[&file], &args), None)?;
    ensure_eq(
        out.code,
        0,
        &format!("exec --preserve-fds 1 ({})", out.describe()),
    )?;
    let got = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    ensure_eq(got.as_str(), "to-fd3\n", "written to fd 3")
}

/// With fds 3 and 4 open in the caller, the exec'd process has only 0, 1 and 2 (`ls
/// /proc/$$/fd` of the shell itself).
fn no_fd_leak(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    let (f3, f4) = (c.bundle.join("fd3"), c.bundle.join("fd4"));
    let args = ["exec", &c.id, "sh", "-c", "ls /proc/$$/fd; exit 0"];
    let out = ctx.exec(runtime_with_fds(ctx, &[&f3, &f4], &args), None)?;
    ensure_eq(out.code, 0, &format!("exec ({})", out.describe()))?;
    let mut fds: Vec<i32> = out
        .stdout
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    fds.sort();
    ensure_eq(fds, vec![0, 1, 2], "fds of the exec'd process")
}

/// Exec into a paused container fails without `--ignore-paused`. With it (and `-d`), the
/// process is created but stays frozen until `resume`, then runs.
fn ignore_paused(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    ctx.rt_ok(&["pause", &c.id])?;
    let out = exec(&c, &[], &["touch", "/plain"])?;
    ensure(out.code != 0, || {
        "exec into a paused container without --ignore-paused succeeded".to_string()
    })?;
    ensure(!c.rootfs().join("plain").exists(), || {
        "exec without --ignore-paused ran its process".to_string()
    })?;

    let marker = c.rootfs().join("ran");
    let pf = c.bundle.join("exec.pid");
    let (out_p, err_p) = (c.bundle.join("exec.out"), c.bundle.join("exec.err"));
    let file = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut cmd = ctx.runtime_cmd(&[
        "exec",
        "--ignore-paused",
        "-d",
        "--pid-file",
        &pf.to_string_lossy(),
        &c.id,
        "touch",
        "/ran",
    ]);
    cmd.stdin(Stdio::null())
        .stdout(file(&out_p)?)
        .stderr(file(&err_p)?);
    let mut child = cmd.spawn().map_err(|e| format!("spawn exec: {e}"))?;
    let stderr = || fs::read_to_string(&err_p).unwrap_or_default();
    // Whether the runtime returns at once or waits for the thaw, the process must not run
    // while the container is paused.
    let mut code = None;
    wait_until(Duration::from_secs(1), || {
        code = child.try_wait().ok().flatten().map(status_code);
        code.is_some()
    });
    std::thread::sleep(Duration::from_millis(300));
    let ran_while_paused = marker.exists();
    let resumed = ctx.rt_ok(&["resume", &c.id]);
    let start = Instant::now();
    while code.is_none() && start.elapsed() < RUNTIME_TIMEOUT {
        code = child.try_wait().ok().flatten().map(status_code);
        std::thread::sleep(Duration::from_millis(10));
    }
    if code.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    resumed?;
    ensure(!ran_while_paused, || {
        "the exec'd process ran while the container was paused".to_string()
    })?;
    ensure_eq(
        code,
        Some(0),
        &format!(
            "exec --ignore-paused -d exit code (stderr: {})",
            stderr().trim()
        ),
    )?;
    ensure(
        wait_until(Duration::from_secs(5), || marker.exists()),
        || "the exec'd process did not run after resume".to_string(),
    )?;
    ensure_eq(c.status()?, "running".to_string(), "status after resume")
}

/// Removes a sub-cgroup the test made (after the container's delete, which may have removed
/// it already). Declared before the container so that it is dropped after it.
struct SubCgroup(PathBuf);

impl Drop for SubCgroup {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = fs::remove_dir(&self.0);
        }
    }
}

/// The path of a process's cgroup in one hierarchy of /proc/<pid>/cgroup: `ctrl` is a v1
/// controller, or "" for the v2 line (`0::`).
fn cgroup_of(text: &str, ctrl: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        let hit = if ctrl.is_empty() {
            ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == ctrl)
        };
        hit.then(|| path.to_string())
    })
}

/// `--cgroup` puts the process in an existing sub-cgroup of the container's: on a v1 (or
/// hybrid) host `--cgroup pids:sub` (the pids hierarchy only; the others stay the init's), on
/// a v2 host `--cgroup sub`.
fn cgroup_sub(ctx: &Ctx) -> TestResult {
    let path = ctx.new_cgroup_path("");
    let dir_path = cgroup_rel(&path);
    let rel = dir_path.trim_start_matches('/');
    let v2 = host_cgroup_v2();
    let (dir, flag, ctrl) = if v2 {
        (Path::new("/sys/fs/cgroup").join(rel), "sub", "")
    } else {
        (
            Path::new("/sys/fs/cgroup/pids").join(rel),
            "pids:sub",
            "pids",
        )
    };
    let _guard = SubCgroup(dir.join("sub"));
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["linux"]["cgroupsPath"] = json!(path);
    let c = running(ctx, "", Some(cfg))?;
    fs::create_dir(dir.join("sub")).map_err(|e| format!("mkdir {}/sub: {e}", dir.display()))?;
    let pf = c.bundle.join("exec.pid");
    let out = exec(
        &c,
        &["--cgroup", flag, "-d", "--pid-file", &pf.to_string_lossy()],
        &["sleep", "1001"],
    )?;
    ensure_eq(
        out.code,
        0,
        &format!("exec --cgroup {flag} ({})", out.describe()),
    )?;
    let pid = read_pid_file(&pf)?;
    let init = c.pid()?;
    let read = |p: i32| {
        fs::read_to_string(format!("/proc/{p}/cgroup"))
            .map_err(|e| format!("/proc/{p}/cgroup: {e}"))
    };
    let (mine, its) = (read(pid)?, read(init)?);
    ensure_eq(
        cgroup_of(&mine, ctrl),
        Some(format!("{dir_path}/sub")),
        &format!("cgroup of the exec'd process (all: {mine:?})"),
    )?;
    if !v2 {
        for other in ["memory", "cpu", "devices"] {
            ensure_eq(
                cgroup_of(&mine, other),
                cgroup_of(&its, other),
                &format!("{other} cgroup of the exec'd process vs the init's"),
            )?;
        }
    }
    Ok(())
}

/// `exec --process FILE` (as containerd calls it) takes args, env, cwd and user from the
/// JSON file.
fn process_json(ctx: &Ctx) -> TestResult {
    let c = running(ctx, "", None)?;
    let p = c.bundle.join("process.json");
    let process = json!({
        "terminal": false,
        "user": {"uid": 1000, "gid": 1000},
        "args": ["sh", "-c", "id -u; id -g; pwd; echo \"$ST_VAR\"; exit 5"],
        "env": [DEFAULT_PATH, "ST_VAR=from json"],
        "cwd": "/tmp",
        "noNewPrivileges": true
    });
    fs::write(&p, process.to_string()).map_err(|e| format!("{}: {e}", p.display()))?;
    let out = ctx.rt(&["exec", "--process", &p.to_string_lossy(), &c.id])?;
    ensure_eq(
        out.code,
        5,
        &format!("exec --process exit code ({})", out.describe()),
    )?;
    ensure_eq(
        out.stdout.lines().collect::<Vec<_>>(),
        vec!["1000", "1000", "/tmp", "from json"],
        "uid, gid, cwd and env of the process",
    )
}

/// Exec into a stopped container fails: exit code 1, or 255 as runc gives for every failure
/// of `exec` itself (to tell it from the codes of the process).
fn stopped_fails(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["true"]))?;
    c.start_new()?;
    c.wait_status("stopped")?;
    let out = exec(&c, &[], &["sh", "-c", "touch /ran"])?;
    ensure(out.code == 1 || out.code == 255, || {
        format!(
            "exec into a stopped container: {}, want exit code 1 (or runc's 255)",
            out.describe()
        )
    })?;
    ensure(!c.rootfs().join("ran").exists(), || {
        "the process ran".to_string()
    })
}

/// The exec'd process is in every namespace of the init (all /proc/<pid>/ns/* links, with a
/// cgroup namespace too) and in its cgroup (the same /proc/<pid>/cgroup).
fn joins_namespaces_and_cgroup(ctx: &Ctx) -> TestResult {
    let mut cfg = base_config(&["sleep", "1000"]);
    let types: Vec<&str> = DEFAULT_NAMESPACES
        .iter()
        .copied()
        .chain(["cgroup"])
        .collect();
    set_namespaces(&mut cfg, &types);
    let c = running(ctx, "", Some(cfg))?;
    let pf = c.bundle.join("exec.pid");
    let out = exec(
        &c,
        &["-d", "--pid-file", &pf.to_string_lossy()],
        &["sleep", "1001"],
    )?;
    ensure_eq(out.code, 0, &format!("exec -d ({})", out.describe()))?;
    let pid = read_pid_file(&pf)?.to_string();
    let init = c.pid()?.to_string();
    let names: Vec<String> = fs::read_dir(format!("/proc/{init}/ns"))
        .map_err(|e| format!("/proc/{init}/ns: {e}"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ensure(names.len() >= 7, || format!("few namespaces: {names:?}"))?;
    let mut differ = Vec::new();
    for n in &names {
        let (a, b) = (ns_link(&pid, n)?, ns_link(&init, n)?);
        if a != b {
            differ.push(format!("{n}: {a} vs the init's {b}"));
        }
    }
    ensure(differ.is_empty(), || {
        format!("namespaces of the exec'd process differ: {differ:?}")
    })?;
    let read = |p: &str| {
        fs::read_to_string(format!("/proc/{p}/cgroup"))
            .map_err(|e| format!("/proc/{p}/cgroup: {e}"))
    };
    ensure_eq(
        read(&pid)?,
        read(&init)?,
        "/proc/<pid>/cgroup of the exec'd process vs the init's",
    )
}

/// In a container with a user namespace the exec'd process has the init's user namespace
/// (same uid and gid maps) and is root inside.
fn user_namespace(ctx: &Ctx) -> TestResult {
    let maps = [(0, 100000, 65536)];
    let c = Ctn::new(ctx, "")?;
    chown_tree(&c.rootfs(), 100000, 100000)?;
    let mut cfg = base_config(&["sleep", "1000"]);
    add_userns(&mut cfg, &maps);
    c.write_config(&cfg)?;
    c.start_new()?;
    let init = c.pid()?.to_string();
    let out = exec_ok(
        &c,
        &[],
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; \
             readlink /proc/self/ns/user; id -u; id -g",
        ],
    )?;
    let parts: Vec<&str> = out.split("--\n").collect();
    ensure(parts.len() == 3, || format!("unexpected output: {out}"))?;
    let norm = |t: &str| {
        t.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    for (i, f) in [(0, "uid_map"), (1, "gid_map")] {
        let host = fs::read_to_string(format!("/proc/{init}/{f}"))
            .map_err(|e| format!("/proc/{init}/{f}: {e}"))?;
        ensure_eq(
            norm(parts[i]),
            norm(&host),
            &format!("{f} of the exec'd process vs the init's"),
        )?;
    }
    let rest: Vec<&str> = parts[2].lines().collect();
    ensure_eq(
        rest,
        vec![ns_link(&init, "user")?.as_str(), "0", "0"],
        "user namespace, uid and gid of the exec'd process",
    )
}
