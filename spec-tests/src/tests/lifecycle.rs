//! The lifecycle verbs and their command-line contract: create, start, state, kill, delete,
//! run, list, spec, the pid file and the JSON log (runtime.md "Lifecycle" and "Operations",
//! and runc's documented command line).

use std::fs::{self, File};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};

use crate::bundle::{base_config, set_namespaces, sh};
use crate::harness::{
    all_pids, cgroup_path_dirs, ensure, ensure_eq, proc_alive, proc_ppid, run_host, skip,
    status_code, wait_until, Ctn, Ctx, TestResult,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("lifecycle", name, f);
    vec![
        t("create_state_created", create_state_created),
        t("start_running", start_running),
        t("kill_sigkill_stopped", kill_sigkill_stopped),
        t("delete_removes", delete_removes),
        t("run_exit_code", run_exit_code),
        t("run_signal_exit_code", run_signal_exit_code),
        t("start_twice_fails", start_twice_fails),
        t("kill_stopped_fails", kill_stopped_fails),
        t(
            "delete_created_fails_force_ok",
            delete_created_fails_force_ok,
        ),
        t(
            "delete_running_fails_force_ok",
            delete_running_fails_force_ok,
        ),
        t("create_duplicate_id_fails", create_duplicate_id_fails),
        t("invalid_ids_rejected", invalid_ids_rejected),
        t("state_fields", state_fields),
        t("state_missing_fails", state_missing_fails),
        t("delete_force_missing_ok", delete_force_missing_ok),
        t("list_formats", list_formats),
        t("output_formats_as_runc", output_formats_as_runc),
        t("kill_signal_spellings", kill_signal_spellings),
        t("kill_all", kill_all),
        t("run_detach", run_detach),
        t("pid_file", pid_file),
        t("spec_command", spec_command),
        t("log_json", log_json),
        t("no_new_keyring", no_new_keyring),
        t("start_after_init_died", start_after_init_died),
        t("run_forwards_signals", run_forwards_signals),
    ]
}

fn sleeper() -> Value {
    base_config(&["sleep", "1000"])
}

/// create → `created`, a pid > 0 that exists, and the user process has not run yet.
fn create_state_created(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("touch /ran; sleep 1000"))?;
    c.create_ok()?;
    let st = c.state()?;
    ensure_eq(
        st["status"].as_str(),
        Some("created"),
        "status after create",
    )?;
    let pid = c.pid()?;
    ensure(Path::new(&format!("/proc/{pid}")).exists(), || {
        format!("init pid {pid} does not exist")
    })?;
    ensure(!c.rootfs().join("ran").exists(), || {
        "the user process ran before start".to_string()
    })
}

/// start → `running`, and the user process is the init pid.
fn start_running(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    c.start_new()?;
    ensure_eq(c.status()?, "running".to_string(), "status after start")?;
    let pid = c.pid()?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    ensure(cmdline.trim() == "sleep 1000", || {
        format!("init pid {pid} runs {cmdline:?}, want \"sleep 1000\"")
    })
}

/// kill KILL on a running container → `stopped`.
fn kill_sigkill_stopped(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    c.start_new()?;
    let pid = c.pid()?;
    ctx.rt_ok(&["kill", &c.id, "KILL"])?;
    c.wait_status("stopped")?;
    ensure(
        wait_until(Duration::from_secs(5), || !proc_alive(pid)),
        || format!("init {pid} still alive"),
    )
}

/// delete of a stopped container removes it: state fails, state dir gone.
fn delete_removes(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["true"]))?;
    c.start_new()?;
    c.wait_status("stopped")?;
    ctx.rt_ok(&["delete", &c.id])?;
    let out = ctx.rt(&["state", &c.id])?;
    ensure(out.code != 0, || {
        format!("state after delete succeeded: {}", out.stdout.trim())
    })?;
    let dir = ctx.root.join(&c.id);
    ensure(!dir.exists(), || format!("{} still exists", dir.display()))
}

/// `run` passes the exit code through.
fn run_exit_code(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("exit 7"))?;
    let out = c.run()?;
    ensure_eq(out.code, 7, &format!("run exit code ({})", out.describe()))
}

/// A process killed by a signal gives 128+signal. Without a pid namespace the shell can
/// signal itself (an init of a pid namespace would ignore it).
fn run_signal_exit_code(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("kill -TERM $$; sleep 5");
    set_namespaces(&mut cfg, &["ipc", "uts", "mount", "network"]);
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(
        out.code,
        128 + 15,
        &format!("run exit code ({})", out.describe()),
    )
}

/// start on a running container fails with exit 1.
fn start_twice_fails(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    c.start_new()?;
    let out = ctx.rt(&["start", &c.id])?;
    ensure_eq(out.code, 1, &format!("second start ({})", out.describe()))?;
    ensure_eq(
        c.status()?,
        "running".to_string(),
        "status after second start",
    )
}

/// kill on a stopped container fails.
fn kill_stopped_fails(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["true"]))?;
    c.start_new()?;
    c.wait_status("stopped")?;
    let out = ctx.rt(&["kill", &c.id, "KILL"])?;
    ensure(out.code != 0, || {
        "kill of a stopped container succeeded".into()
    })
}

/// delete on a created container (not stopped) fails with exit 1 and leaves it created, its
/// init waiting; delete --force kills and removes it.
fn delete_created_fails_force_ok(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    c.create_ok()?;
    delete_refused_then_forced(ctx, &c, "created")
}

/// delete on a running container fails with exit 1; delete --force kills and removes it.
fn delete_running_fails_force_ok(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    c.start_new()?;
    delete_refused_then_forced(ctx, &c, "running")
}

/// A container in `status` (not stopped): delete fails with exit 1 and leaves it as it was,
/// its init alive; delete --force kills and removes it.
fn delete_refused_then_forced(ctx: &Ctx, c: &Ctn, status: &str) -> TestResult {
    let pid = c.pid()?;
    let out = ctx.rt(&["delete", &c.id])?;
    ensure_eq(
        out.code,
        1,
        &format!("delete of {status} ({})", out.describe()),
    )?;
    ensure_eq(
        c.status()?,
        status.to_string(),
        "status after failed delete",
    )?;
    ensure(proc_alive(pid), || {
        format!("init {pid} gone after a failed delete")
    })?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    let out = ctx.rt(&["state", &c.id])?;
    ensure(out.code != 0, || {
        "state after delete --force succeeded".into()
    })?;
    ensure(
        wait_until(Duration::from_secs(5), || !proc_alive(pid)),
        || format!("init {pid} still alive after delete --force"),
    )
}

/// A second create with the same id fails and leaves the first container alone.
fn create_duplicate_id_fails(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    c.create_ok()?;
    let pid = c.pid()?;
    let out = c.create(&[])?;
    ensure(out.code != 0, || {
        "second create with the same id succeeded".into()
    })?;
    ensure_eq(c.status()?, "created".to_string(), "first container status")?;
    ensure_eq(c.pid()?, pid, "first container pid")
}

/// Ids that are not plain names are rejected, and nothing is created outside the root.
fn invalid_ids_rejected(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    let escape = format!("st-escape-{}", ctx.pid);
    let outside = ctx.root.parent().unwrap_or(Path::new("/")).join(&escape);
    let existed = outside.exists();
    let mut errors = Vec::new();
    for id in [format!("../{escape}"), "a/b".to_string(), String::new()] {
        let out = ctx.rt(&["create", "--bundle", &c.bundle_str(), &id])?;
        if out.code == 0 {
            errors.push(format!("create with id {id:?} succeeded"));
            let _ = ctx.rt(&["delete", "--force", &id]);
        }
    }
    if !existed && outside.exists() {
        errors.push(format!("{} was created", outside.display()));
        let _ = fs::remove_dir_all(&outside);
    }
    if ctx.root.join("a").exists() {
        errors.push(format!("{} was created", ctx.root.join("a").display()));
    }
    ensure(errors.is_empty(), || errors.join("; "))
}

/// The state JSON has the OCI fields plus runc's extras, with the right values.
fn state_fields(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    c.create_ok()?;
    let st = c.state()?;
    for key in [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
    ] {
        ensure(st.get(key).is_some(), || {
            format!("state lacks {key:?}: {st}")
        })?;
    }
    ensure_eq(st["id"].as_str(), Some(c.id.as_str()), "state id")?;
    ensure_eq(
        st["bundle"].as_str(),
        Some(c.bundle_str().as_str()),
        "state bundle",
    )?;
    let rootfs = c.rootfs().to_string_lossy().into_owned();
    ensure_eq(st["rootfs"].as_str(), Some(rootfs.as_str()), "state rootfs")?;
    let created = st["created"].as_str().unwrap_or("");
    ensure(
        created.len() >= 20 && created.as_bytes().get(10) == Some(&b'T'),
        || format!("created is not RFC 3339: {created:?}"),
    )?;
    ensure(
        st["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        || format!("ociVersion empty: {st}"),
    )
}

fn state_missing_fails(ctx: &Ctx) -> TestResult {
    let id = ctx.new_id("");
    let out = ctx.rt(&["state", &id])?;
    ensure(out.code != 0, || {
        "state of a missing container succeeded".into()
    })
}

/// delete --force of a missing container succeeds (containerd relies on it after crashes).
fn delete_force_missing_ok(ctx: &Ctx) -> TestResult {
    let id = ctx.new_id("");
    let out = ctx.rt(&["delete", "--force", &id])?;
    ensure_eq(
        out.code,
        0,
        &format!("delete --force missing ({})", out.describe()),
    )
}

/// list: the table, `--format json` and `-q`.
fn list_formats(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    c.create_ok()?;
    let out = ctx.rt_ok(&["list"])?;
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    ensure_eq(
        header,
        vec!["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
        "list header",
    )?;
    let row = lines
        .find(|l| l.split_whitespace().next() == Some(c.id.as_str()))
        .ok_or_else(|| format!("list table lacks {}: {}", c.id, out.stdout))?;
    ensure(row.split_whitespace().nth(2) == Some("created"), || {
        format!("list row status: {row}")
    })?;

    let out = ctx.rt_ok(&["list", "--format", "json"])?;
    let v: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("list --format json is not JSON ({e}): {}", out.stdout))?;
    let arr = v
        .as_array()
        .ok_or_else(|| format!("list json not an array: {v}"))?;
    let entry = arr
        .iter()
        .find(|e| e["id"] == c.id.as_str())
        .ok_or_else(|| format!("list json lacks {}: {v}", c.id))?;
    ensure_eq(
        entry["status"].as_str(),
        Some("created"),
        "list json status",
    )?;

    let out = ctx.rt_ok(&["list", "-q"])?;
    ensure(out.stdout.lines().any(|l| l.trim() == c.id), || {
        format!("list -q lacks {}: {}", c.id, out.stdout)
    })
}

/// The outputs containerd parses, in runc's exact shape: `state` is 2-space indented JSON with
/// runc's key order; `list` is Go's tabwriter (min width 12, padding 3: every column starts at
/// the same offset in every row, each at least 12 wide); `ps --format json` a compact array.
fn output_formats_as_runc(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    c.create_ok()?;
    let out = ctx.rt_ok(&["state", &c.id])?;
    let keys: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
        .filter_map(|l| l.trim().strip_prefix('"')?.split('"').next())
        .collect();
    let want = [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
    ];
    ensure_eq(
        &keys[..want.len().min(keys.len())],
        &want[..],
        "state keys, order and 2-space indent",
    )?;
    ensure(out.stdout.starts_with("{\n  \"ociVersion\""), || {
        format!("state layout: {}", out.stdout)
    })?;

    let out = ctx.rt_ok(&["list"])?;
    let lines: Vec<&str> = out.stdout.lines().collect();
    let starts = |l: &str| -> Vec<usize> {
        let mut v = vec![0];
        let b = l.as_bytes();
        for i in 1..b.len() {
            if b[i] != b' ' && b[i - 1] == b' ' {
                v.push(i);
            }
        }
        v
    };
    let head = starts(lines.first().copied().unwrap_or(""));
    ensure_eq(head.len(), 6, "list header columns")?;
    for w in head.windows(2) {
        ensure(w[1] - w[0] >= 12, || {
            format!("a list column narrower than 12: {:?}", lines[0])
        })?;
    }
    for row in lines.iter().skip(1) {
        let r = starts(row);
        ensure(r.len() >= 6 && r[..6] == head[..6], || {
            format!("list row not aligned with the header:\n{}\n{row}", lines[0])
        })?;
    }

    c.start_ok()?;
    let out = ctx.rt_ok(&["ps", "--format", "json", &c.id])?;
    let text = out.stdout.trim();
    ensure(
        text.starts_with('[') && text.ends_with(']') && !text.contains(' ') && !text.contains('\n'),
        || format!("ps --format json is not a compact array: {text:?}"),
    )?;
    let pids: Vec<i64> = serde_json::from_str(text).map_err(|e| format!("ps json: {e}: {text}"))?;
    ensure(pids.contains(&i64::from(c.pid()?)), || {
        format!("ps json lacks the init: {text}")
    })
}

/// kill accepts `KILL`, `SIGKILL` and `9`.
fn kill_signal_spellings(ctx: &Ctx) -> TestResult {
    for (tag, sig) in [("name", "KILL"), ("sig", "SIGKILL"), ("num", "9")] {
        let c = Ctn::new(ctx, tag)?;
        c.write_config(&sleeper())?;
        c.start_new()?;
        ctx.rt_ok(&["kill", &c.id, sig])?;
        c.wait_status("stopped")
            .map_err(|e| format!("after kill {sig}: {e}"))?;
    }
    Ok(())
}

/// kill --all reaches every process of a container that has no pid namespace of its own.
fn kill_all(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("sleep 1000 & sleep 1000 & wait");
    set_namespaces(&mut cfg, &["ipc", "uts", "mount", "network"]);
    c.write_config(&cfg)?;
    c.start_new()?;
    let init = c.pid()?;
    let mut children = Vec::new();
    let found = wait_until(Duration::from_secs(5), || {
        children = all_pids()
            .into_iter()
            .filter(|&p| proc_ppid(p) == Some(init))
            .collect();
        children.len() >= 2
    });
    ensure(found, || format!("the two sleeps of {init} did not appear"))?;
    ctx.rt_ok(&["kill", "--all", &c.id, "KILL"])?;
    let mut all = children.clone();
    all.push(init);
    let gone = wait_until(Duration::from_secs(5), || {
        all.iter().all(|&p| !proc_alive(p))
    });
    ensure(gone, || {
        let alive: Vec<i32> = all.iter().copied().filter(|&p| proc_alive(p)).collect();
        format!("processes still alive after kill --all: {alive:?}")
    })?;
    c.wait_status("stopped")
}

/// run --detach returns while the container keeps running.
fn run_detach(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    let out = c.run_with(&["--detach"], None)?;
    ensure_eq(out.code, 0, &format!("run --detach ({})", out.describe()))?;
    ensure_eq(
        c.status()?,
        "running".to_string(),
        "status after run --detach",
    )?;
    let pid = c.pid()?;
    ctx.track_pid(pid);
    ensure(proc_alive(pid), || format!("init {pid} is not alive"))
}

/// --pid-file holds the init pid.
fn pid_file(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sleeper())?;
    let pf = c.bundle.join("init.pid");
    let out = c.create(&["--pid-file", &pf.to_string_lossy()])?;
    ensure_eq(
        out.code,
        0,
        &format!("create --pid-file ({})", out.describe()),
    )?;
    let text = fs::read_to_string(&pf).map_err(|e| format!("pid file: {e}"))?;
    let got: i32 = text
        .trim()
        .parse()
        .map_err(|e| format!("pid file {text:?}: {e}"))?;
    ensure_eq(got, c.pid()?, "pid file vs state pid")
}

/// `spec --bundle DIR` writes a config.json that parses.
fn spec_command(ctx: &Ctx) -> TestResult {
    let dir = ctx.work.join(format!("spec-{}", ctx.pid));
    crate::harness::mkdir_mode(&dir, 0o755)?;
    let res = (|| {
        ctx.rt_ok(&["spec", "--bundle", &dir.to_string_lossy()])?;
        let text = fs::read_to_string(dir.join("config.json"))
            .map_err(|e| format!("config.json not written: {e}"))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("config.json: {e}"))?;
        ensure(v["ociVersion"].is_string(), || "no ociVersion".into())?;
        ensure(v["process"]["args"].is_array(), || "no process.args".into())?;
        ensure(v["root"]["path"].is_string(), || "no root.path".into())
    })();
    let _ = fs::remove_dir_all(&dir);
    res
}

/// `--log FILE --log-format json` on a failing command writes JSON lines with level, msg
/// and time, one of them an error.
fn log_json(ctx: &Ctx) -> TestResult {
    let log = ctx.work.join(format!("log-{}.json", ctx.pid));
    let id = ctx.new_id("");
    let res = (|| {
        let logs = log.to_string_lossy().into_owned();
        let args = ["--log", &logs, "--log-format", "json", "start", &id];
        let out = ctx.rt(&args)?;
        ensure(out.code != 0, || {
            "start of a missing container succeeded".into()
        })?;
        let text = fs::read_to_string(&log).map_err(|e| format!("log file: {e}"))?;
        let mut error_seen = false;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value =
                serde_json::from_str(line).map_err(|e| format!("log line {line:?}: {e}"))?;
            for key in ["level", "msg", "time"] {
                ensure(v[key].is_string(), || {
                    format!("log line lacks {key}: {line}")
                })?;
            }
            error_seen |= v["level"] == "error";
        }
        ensure(error_seen, || {
            format!("no level=error line in log: {text:?}")
        })
    })();
    let _ = fs::remove_file(&log);
    res
}

/// The `/proc/keys` lines of keyrings named after container `id`: `_ses.<id>` (runc, cella)
/// or `<id>` (crun).
fn container_keyrings(id: &str) -> Vec<String> {
    let names = [format!("_ses.{id}:"), format!("{id}:")];
    fs::read_to_string("/proc/keys")
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(7) == Some(&"keyring") && f.get(8).is_some_and(|d| names.iter().any(|n| n == d))
        })
        .map(String::from)
        .collect()
}

/// By default the container init joins a new session keyring named after the container (the
/// spec leaves the name open: runc uses `_ses.<id>`, crun `<id>`), seen from the host in
/// `/proc/keys` (which lists the keys root may view) while the init holds it; with
/// `--no-new-keyring` no such keyring is made.
fn no_new_keyring(ctx: &Ctx) -> TestResult {
    if !Path::new("/proc/keys").exists() {
        return Err(skip("the host has no /proc/keys"));
    }
    let a = Ctn::new(ctx, "new")?;
    a.write_config(&sleeper())?;
    a.create_ok()?;
    let found = container_keyrings(&a.id);
    ensure(found.len() == 1, || {
        format!(
            "after create, /proc/keys has {found:?}, want one keyring _ses.{0} or {0}",
            a.id
        )
    })?;
    let b = Ctn::new(ctx, "keep")?;
    b.write_config(&sleeper())?;
    let out = b.create(&["--no-new-keyring"])?;
    ensure_eq(
        out.code,
        0,
        &format!("create --no-new-keyring ({})", out.describe()),
    )?;
    let found = container_keyrings(&b.id);
    ensure(found.is_empty(), || {
        format!("after create --no-new-keyring, /proc/keys has {found:?}")
    })
}

/// An init killed from outside before `start`: state says `stopped`, start fails with exit 1,
/// and delete (without --force) succeeds and removes the cgroup.
fn start_after_init_died(ctx: &Ctx) -> TestResult {
    let path = ctx.new_cgroup_path("");
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sleeper();
    cfg["linux"]["cgroupsPath"] = json!(path);
    c.write_config(&cfg)?;
    c.create_ok()?;
    let pid = c.pid()?;
    run_host(&["kill", "-KILL", &pid.to_string()])?;
    ensure(
        wait_until(Duration::from_secs(5), || !proc_alive(pid)),
        || format!("init {pid} still alive after SIGKILL"),
    )?;
    c.wait_status("stopped")?;
    let out = ctx.rt(&["start", &c.id])?;
    ensure_eq(
        out.code,
        1,
        &format!("start after the init died ({})", out.describe()),
    )?;
    ctx.rt_ok(&["delete", &c.id])?;
    let out = ctx.rt(&["state", &c.id])?;
    ensure(out.code != 0, || {
        format!("state after delete succeeded: {}", out.stdout.trim())
    })?;
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

/// A foreground `run` forwards SIGTERM to the container: pid 1 of a new pid namespace with a
/// trap handles it and exits 42; the runtime exits 42 and the container is deleted.
fn run_forwards_signals(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh(
        "trap 'exit 42' TERM; touch /ready; while true; do sleep 0.1; done",
    ))?;
    let (out_p, err_p) = (c.bundle.join("run.out"), c.bundle.join("run.err"));
    let file = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut cmd = ctx.runtime_cmd(&["run", "--bundle", &c.bundle_str(), &c.id]);
    cmd.stdin(Stdio::null())
        .stdout(file(&out_p)?)
        .stderr(file(&err_p)?);
    let mut child = cmd.spawn().map_err(|e| format!("spawn run: {e}"))?;
    let stderr = || fs::read_to_string(&err_p).unwrap_or_default();
    // The trap is set once /ready exists.
    let ready = c.rootfs().join("ready");
    wait_until(Duration::from_secs(10), || {
        ready.exists() || matches!(child.try_wait(), Ok(Some(_)))
    });
    if let Ok(pid) = c.pid() {
        ctx.track_pid(pid);
    }
    if !ready.exists() {
        let code = match child.try_wait() {
            Ok(Some(st)) => Some(status_code(st)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                None
            }
        };
        return Err(format!(
            "the container did not start (run exit code {code:?}); stderr: {}",
            stderr().trim()
        ));
    }
    run_host(&["kill", "-TERM", &child.id().to_string()])?;
    let mut code = None;
    wait_until(Duration::from_secs(10), || {
        code = child.try_wait().ok().flatten().map(status_code);
        code.is_some()
    });
    let Some(code) = code else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "run did not exit 10 s after SIGTERM; stderr: {}",
            stderr().trim()
        ));
    };
    ensure_eq(
        code,
        42,
        &format!("run exit code after SIGTERM (stderr: {})", stderr().trim()),
    )?;
    let out = ctx.rt(&["state", &c.id])?;
    ensure(out.code != 0, || {
        format!(
            "the container still exists after run: {}",
            out.stdout.trim()
        )
    })
}
