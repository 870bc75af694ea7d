//! Cgroup resources (config-linux.md "Control groups": `linux.resources`) and the commands that
//! work on a container's cgroup: `update`, `pause`/`resume`, `events`, `ps`, `kill --all`.
//!
//! Every check is made from the host, in the files of the container's cgroup. The host's mode
//! decides which files: pure cgroup v2 (`/sys/fs/cgroup/cgroup.controllers` exists) reads
//! `/sys/fs/cgroup/<cgroupsPath>/<file>`; v1 or hybrid reads
//! `/sys/fs/cgroup/<controller>/<cgroupsPath>/<file>` (the cgroup2 mount of a hybrid host is
//! not used for limits). Every container gets an absolute cgroupsPath from
//! [`Ctx::new_cgroup_path`], so the leak check knows it.
//!
//! Tests that need a cgroup file after the process exits use create/start and have the
//! container write its output to `/tmp/log` in its rootfs (the runtime's captured stdio is gone
//! once `create` returns).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bundle::sh;
use crate::harness::{
    all_pids, cgroup_mounts, cgroup_path_dirs, cgroup_procs_file, cgroup_rel, ensure, ensure_eq,
    proc_alive, proc_ppid, read_pids, wait_until, Ctn, Ctx, Output, TestResult,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("resources", name, f);
    vec![
        t("pids_limit", pids_limit),
        t("pids_limit_zero", pids_limit_zero),
        t("memory_limit", memory_limit),
        t("cpu", cpu),
        t("update", update),
        t("update_cpu_idle", update_cpu_idle),
        t("pause_resume", pause_resume),
        t("events_stats", events_stats),
        t("events_oom", events_oom),
        t("ps", ps),
        t("kill_all_paused", kill_all_paused),
        t("delete_removes_subtree", delete_removes_subtree),
        t("unenforceable_is_refused", unenforceable_is_refused),
        t("devices_rules", devices_rules),
        t("every_field", every_field),
        t("check_before_update", check_before_update),
        t(
            "v1_fields_without_v2_conversion_refused",
            v1_fields_without_v2_conversion_refused,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Cgroup files

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The host's cgroup mode as far as limits go.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    /// v1 controllers at `/sys/fs/cgroup/<controller>` (legacy or hybrid).
    V1,
    /// Everything in the unified tree at `/sys/fs/cgroup`.
    V2,
}

fn mode() -> Mode {
    if Path::new(CGROUP_ROOT).join("cgroup.controllers").exists() {
        Mode::V2
    } else {
        Mode::V1
    }
}

/// The host file `file` of the cgroup at `path`: v1 `<root>/<ctrl>/<path>/<file>`, v2
/// `<root>/<path>/<file>`.
fn cg_file(path: &str, v1_ctrl: &str, file: &str) -> PathBuf {
    let rel = cgroup_rel(path);
    let rel = rel.trim_start_matches('/');
    match mode() {
        Mode::V1 => Path::new(CGROUP_ROOT).join(v1_ctrl).join(rel).join(file),
        Mode::V2 => Path::new(CGROUP_ROOT).join(rel).join(file),
    }
}

/// The trimmed content of a cgroup file.
fn read_cg(p: &Path) -> Result<String, String> {
    fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("read {}: {e}", p.display()))
}

/// The file must hold exactly `want` (trimmed).
fn expect_cg(p: &Path, want: &str) -> TestResult {
    let got = read_cg(p)?;
    ensure(got == want, || {
        format!("{}: got {got:?}, want {want:?}", p.display())
    })
}

/// The value of `key` in a flat keyed file (`key value` per line).
fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        if k == key {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

/// The cgroup's count of OOM kills: v1 `oom_kill` of memory.oom_control, v2 `oom_kill` of
/// memory.events.
fn oom_kills(path: &str) -> Result<u64, String> {
    let p = match mode() {
        Mode::V1 => cg_file(path, "memory", "memory.oom_control"),
        Mode::V2 => cg_file(path, "memory", "memory.events"),
    };
    let text = read_cg(&p)?;
    keyed_value(&text, "oom_kill")
        .ok_or_else(|| format!("{} has no oom_kill line: {text:?}", p.display()))
}

/// Waits until no directory of `path` is left in any hierarchy.
fn expect_cgroup_gone(path: &str) -> TestResult {
    let gone = wait_until(Duration::from_secs(3), || cgroup_path_dirs(path).is_empty());
    ensure(gone, || {
        format!(
            "cgroup directories left after delete: {:?}",
            cgroup_path_dirs(path)
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Containers

/// A container running `script` with an absolute cgroupsPath and `resources` (when not null).
fn container<'a>(
    ctx: &'a Ctx,
    tag: &str,
    script: &str,
    resources: Value,
) -> Result<(Ctn<'a>, String), String> {
    let path = ctx.new_cgroup_path(tag);
    let c = Ctn::new(ctx, tag)?;
    let mut cfg = sh(script);
    cfg["linux"]["cgroupsPath"] = json!(path);
    if !resources.is_null() {
        cfg["linux"]["resources"] = resources;
    }
    c.write_config(&cfg)?;
    Ok((c, path))
}

/// What the container wrote to `/tmp/log` in its rootfs.
fn log(c: &Ctn) -> String {
    fs::read_to_string(c.rootfs().join("tmp/log")).unwrap_or_default()
}

/// `RUNTIME update ARGS` with `stdin`.
fn run_update(ctx: &Ctx, args: &[&str], stdin: Option<&[u8]>) -> TestResult {
    let mut all = vec!["update"];
    all.extend_from_slice(args);
    let out = ctx.exec(ctx.runtime_cmd(&all), stdin)?;
    ensure(out.code == 0, || {
        format!("`{}` failed: {}", all.join(" "), out.describe())
    })
}

/// `RUNTIME ARGS` must fail.
fn expect_fails(ctx: &Ctx, args: &[&str]) -> TestResult {
    let out = ctx.rt(args)?;
    ensure(out.code != 0 && !out.timed_out, || {
        format!("`{}` should fail: {}", args.join(" "), out.describe())
    })
}

// ---------------------------------------------------------------------------------------------
// Tests

/// `pids.limit` 5: pids.max is 5, and forking ten background sleeps fails inside ("can't
/// fork") while the container still exits.
fn pids_limit(ctx: &Ctx) -> TestResult {
    let (c, path) = container(
        ctx,
        "",
        "exec >/tmp/log 2>&1; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 100 & done; echo forked-all",
        json!({"pids": {"limit": 5}}),
    )?;
    c.create_ok()?;
    expect_cg(&cg_file(&path, "pids", "pids.max"), "5")?;
    c.start_ok()?;
    c.wait_status("stopped")?;
    let out = log(&c);
    ensure(
        out.contains("can't fork") && !out.contains("forked-all"),
        || format!("with pids.max 5, ten background sleeps should fail to fork; output: {out:?}"),
    )?;
    ctx.rt_ok(&["delete", &c.id])?;
    expect_cgroup_gone(&path)
}

/// runtime-spec 1.3: `pids.limit` 0 is a real limit ("a valid limit value for the pids cgroup
/// controller ... SHOULD be treated as such"), and `limit` may be absent. runc 1.3+ writes an
/// explicit 0 as `pids.max` 1 (systemd cannot set TasksMax=0; the init is in the cgroup, so no
/// task can fork either way), and leaves an absent limit alone. The init runs, and cannot fork.
fn pids_limit_zero(ctx: &Ctx) -> TestResult {
    let (c, path) = container(
        ctx,
        "",
        "exec >/tmp/log 2>&1; echo started; /bin/true && echo forked",
        json!({"pids": {"limit": 0}}),
    )?;
    c.create_ok()?;
    expect_cg(&cg_file(&path, "pids", "pids.max"), "1")?;
    c.start_ok()?;
    c.wait_status("stopped")?;
    let out = log(&c);
    ensure(
        out.contains("started") && out.contains("can't fork") && !out.contains("forked"),
        || format!("with pids.limit 0 the init should run and fail to fork; output: {out:?}"),
    )?;
    ctx.rt_ok(&["delete", &c.id])?;
    expect_cgroup_gone(&path)?;

    // No limit in the object: nothing written, the file keeps its default ("max"; under
    // systemd its DefaultTasksMax, as for a container without `resources`).
    let default = if ctx.systemd {
        let (c, path) = container(ctx, "base", "true", Value::Null)?;
        c.create_ok()?;
        let v = read_cg(&cg_file(&path, "pids", "pids.max"))?;
        ctx.rt_ok(&["delete", "--force", &c.id])?;
        expect_cgroup_gone(&path)?;
        v
    } else {
        "max".to_string()
    };
    let (c, path) = container(ctx, "", "true", json!({"pids": {}}))?;
    c.create_ok()?;
    expect_cg(&cg_file(&path, "pids", "pids.max"), &default)?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    expect_cgroup_gone(&path)
}

const MIB: u64 = 1024 * 1024;

/// The memory part of `resources` for a limit with no swap beyond it (v1 memsw = limit; v2
/// swap = limit gives memory.swap.max 0).
fn memory_no_swap(limit: u64) -> Value {
    json!({"memory": {"limit": limit, "swap": limit}})
}

/// `memory.limit` 64 MiB with swap = limit: the limit files show it, and a 200 MB hog is
/// OOM-killed (no "survived" marker) with the cgroup's oom_kill counter raised.
fn memory_limit(ctx: &Ctx) -> TestResult {
    let limit = 64 * MIB;
    // Under --systemd-cgroup the scope, and its memory.events, goes once its last process
    // exits: there the shell stays (the counter is read while it sleeps).
    let script = format!(
        "exec >/tmp/log 2>&1; dd if=/dev/zero of=/dev/null bs=200000000 count=1 2>/dev/null && echo survived; \
         echo finished{}",
        if ctx.systemd { "; exec sleep 1000" } else { "" }
    );
    let (c, path) = container(ctx, "", &script, memory_no_swap(limit))?;
    c.create_ok()?;
    let l = limit.to_string();
    match mode() {
        Mode::V1 => {
            expect_cg(&cg_file(&path, "memory", "memory.limit_in_bytes"), &l)?;
            let memsw = cg_file(&path, "memory", "memory.memsw.limit_in_bytes");
            if memsw.exists() {
                expect_cg(&memsw, &l)?;
            }
        }
        Mode::V2 => {
            expect_cg(&cg_file(&path, "memory", "memory.max"), &l)?;
            let swap = cg_file(&path, "memory", "memory.swap.max");
            if swap.exists() {
                expect_cg(&swap, "0")?;
            }
        }
    }
    c.start_ok()?;
    if ctx.systemd {
        wait_until(Duration::from_secs(30), || log(&c).contains("finished"));
    } else {
        c.wait_status("stopped")?;
    }
    let out = log(&c);
    ensure(!out.contains("survived"), || {
        format!("the 200 MB hog survived a 64 MiB limit; output: {out:?}")
    })?;
    let kills = oom_kills(&path)?;
    ensure(kills >= 1, || {
        format!("the cgroup's oom_kill counter is {kills} after the hog; output: {out:?}")
    })?;
    if ctx.systemd {
        ctx.rt_ok(&["delete", "--force", &c.id])?;
    } else {
        ctx.rt_ok(&["delete", &c.id])?;
    }
    expect_cgroup_gone(&path)
}

/// cpu shares 512, quota 50000, period 100000, cpus "0", mems "0": v1 cpu.shares,
/// cpu.cfs_quota_us, cpu.cfs_period_us, cpuset.cpus/mems; v2 cpu.weight 20 (runc's conversion
/// `1 + (512-2)*9999/262142`), cpu.max "50000 100000", cpuset.cpus/mems. Inside,
/// Cpus_allowed_list is 0.
fn cpu(ctx: &Ctx) -> TestResult {
    let (c, path) = container(
        ctx,
        "",
        "grep Cpus_allowed_list /proc/self/status >/tmp/log 2>&1",
        json!({"cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}}),
    )?;
    c.create_ok()?;
    match mode() {
        Mode::V1 => {
            expect_cg(&cg_file(&path, "cpu", "cpu.shares"), "512")?;
            expect_cg(&cg_file(&path, "cpu", "cpu.cfs_quota_us"), "50000")?;
            expect_cg(&cg_file(&path, "cpu", "cpu.cfs_period_us"), "100000")?;
        }
        Mode::V2 => {
            expect_cg(&cg_file(&path, "cpu", "cpu.weight"), "20")?;
            expect_cg(&cg_file(&path, "cpu", "cpu.max"), "50000 100000")?;
        }
    }
    expect_cg(&cg_file(&path, "cpuset", "cpuset.cpus"), "0")?;
    expect_cg(&cg_file(&path, "cpuset", "cpuset.mems"), "0")?;
    c.start_ok()?;
    c.wait_status("stopped")?;
    let out = log(&c);
    let list = out
        .trim()
        .strip_prefix("Cpus_allowed_list:")
        .map(str::trim)
        .unwrap_or("");
    ensure_eq(
        list,
        "0",
        &format!("Cpus_allowed_list inside (output {out:?})"),
    )?;
    ctx.rt_ok(&["delete", &c.id])?;
    expect_cgroup_gone(&path)
}

/// `update` of a running container with flags and with `--resources -` (the JSON containerd
/// sends on stdin); `update` of a stopped container fails.
fn update(ctx: &Ctx) -> TestResult {
    let (c, path) = container(ctx, "", "sleep 1000", json!({"pids": {"limit": 50}}))?;
    c.start_new()?;
    let id = c.id.as_str();
    let pids_max = cg_file(&path, "pids", "pids.max");
    expect_cg(&pids_max, "50")?;

    run_update(ctx, &["--pids-limit", "7", id], None)?;
    expect_cg(&pids_max, "7")?;

    let mem_file = match mode() {
        Mode::V1 => cg_file(&path, "memory", "memory.limit_in_bytes"),
        Mode::V2 => cg_file(&path, "memory", "memory.max"),
    };
    let json = br#"{"memory":{"limit":33554432},"cpu":{"shares":256}}"#;
    run_update(ctx, &["--resources", "-", id], Some(json))?;
    expect_cg(&mem_file, "33554432")?;
    match mode() {
        Mode::V1 => expect_cg(&cg_file(&path, "cpu", "cpu.shares"), "256")?,
        Mode::V2 => expect_cg(&cg_file(&path, "cpu", "cpu.weight"), "10")?,
    }
    // Untouched by the JSON.
    expect_cg(&pids_max, "7")?;

    run_update(ctx, &["--memory", "48m", id], None)?;
    expect_cg(&mem_file, &(48 * MIB).to_string())?;

    ctx.rt_ok(&["kill", id, "KILL"])?;
    c.wait_status("stopped")?;
    expect_fails(ctx, &["update", "--pids-limit", "10", id])?;
    ctx.rt_ok(&["delete", id])?;
    expect_cgroup_gone(&path)
}

/// `update --cpu-idle 1` (runc 1.2+) writes `cpu.idle` where the kernel has it (Linux 5.15+,
/// both cgroup versions); `--l3-cache-schema` without an Intel RDT group fails.
fn update_cpu_idle(ctx: &Ctx) -> TestResult {
    let (c, path) = container(ctx, "", "sleep 1000", Value::Null)?;
    c.start_new()?;
    let id = c.id.as_str();
    let idle = cg_file(&path, "cpu", "cpu.idle");
    if idle.exists() {
        run_update(ctx, &["--cpu-idle", "1", id], None)?;
        expect_cg(&idle, "1")?;
        run_update(ctx, &["--cpu-idle", "0", id], None)?;
        expect_cg(&idle, "0")?;
    } else {
        println!("# no {}: the kernel has no cpu.idle", idle.display());
    }
    expect_fails(ctx, &["update", "--l3-cache-schema", "L3:0=f", id])?;
    ctx.rt_ok(&["delete", "--force", id])?;
    expect_cgroup_gone(&path)
}

/// The freezer's view of the cgroup: v1 freezer.state, v2 cgroup.freeze.
fn freezer_file(path: &str) -> (PathBuf, &'static str, &'static str) {
    match mode() {
        Mode::V1 => (
            cg_file(path, "freezer", "freezer.state"),
            "FROZEN",
            "THAWED",
        ),
        Mode::V2 => (cg_file(path, "freezer", "cgroup.freeze"), "1", "0"),
    }
}

/// `pause` freezes the cgroup (state "paused"), `resume` thaws it ("running"); resume on a
/// running container and pause on a stopped one fail.
fn pause_resume(ctx: &Ctx) -> TestResult {
    let (c, path) = container(ctx, "", "sleep 1000", Value::Null)?;
    c.start_new()?;
    let id = c.id.as_str();
    let (file, frozen, thawed) = freezer_file(&path);
    expect_fails(ctx, &["resume", id])?;

    ctx.rt_ok(&["pause", id])?;
    ensure_eq(c.status()?, "paused".to_string(), "status after pause")?;
    expect_cg(&file, frozen)?;

    ctx.rt_ok(&["resume", id])?;
    ensure_eq(c.status()?, "running".to_string(), "status after resume")?;
    expect_cg(&file, thawed)?;

    ctx.rt_ok(&["kill", id, "KILL"])?;
    c.wait_status("stopped")?;
    expect_fails(ctx, &["pause", id])?;
    ctx.rt_ok(&["delete", id])?;
    expect_cgroup_gone(&path)
}

/// `events --stats` prints one JSON line `{"type":"stats","id":ID,"data":{...}}` with the
/// pids, memory and cpu usage of the running container.
fn events_stats(ctx: &Ctx) -> TestResult {
    let (c, path) = container(ctx, "", "sleep 1000", Value::Null)?;
    c.start_new()?;
    let out = ctx.rt_ok(&["events", "--stats", &c.id])?;
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    ensure(lines.len() == 1, || {
        format!("events --stats should print one line: {:?}", out.stdout)
    })?;
    let v: Value = serde_json::from_str(lines[0])
        .map_err(|e| format!("events --stats output is not JSON ({e}): {}", lines[0]))?;
    ensure_eq(v["type"].as_str(), Some("stats"), "type")?;
    ensure_eq(v["id"].as_str(), Some(c.id.as_str()), "id")?;
    let d = &v["data"];
    let pids = d["pids"]["current"].as_u64().unwrap_or(0);
    let mem = d["memory"]["usage"]["usage"].as_u64().unwrap_or(0);
    let cpu = d["cpu"]["usage"]["total"].as_u64().unwrap_or(0);
    ensure(pids >= 1 && mem > 0 && cpu > 0, || {
        format!(
            "want data.pids.current >= 1, data.memory.usage.usage > 0, data.cpu.usage.total > 0; \
             got {pids}, {mem}, {cpu} in {v}"
        )
    })?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    expect_cgroup_gone(&path)
}

/// `events` streams an `oom` event when the container's hog hits its memory limit.
fn events_oom(ctx: &Ctx) -> TestResult {
    let (c, path) = container(
        ctx,
        "",
        "sleep 1; dd if=/dev/zero of=/dev/null bs=200000000 count=1 2>/dev/null; sleep 1000",
        memory_no_swap(32 * MIB),
    )?;
    c.start_new()?;
    let out_path = c.bundle.join("events.out");
    let err_path = c.bundle.join("events.err");
    let out_file = File::create(&out_path).map_err(|e| format!("events.out: {e}"))?;
    let err_file = File::create(&err_path).map_err(|e| format!("events.err: {e}"))?;
    let mut child = ctx
        .runtime_cmd(&["events", "--interval", "10s", &c.id])
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(err_file)
        .spawn()
        .map_err(|e| format!("spawn events: {e}"))?;
    let is_oom = |l: &str| {
        serde_json::from_str::<Value>(l).is_ok_and(|v| v["type"] == "oom" && v["id"] == *c.id)
    };
    let start = Instant::now();
    let mut exited = None;
    let mut found = false;
    while start.elapsed() < Duration::from_secs(8) {
        let text = fs::read_to_string(&out_path).unwrap_or_default();
        if text.lines().any(is_oom) {
            found = true;
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            exited = Some(st);
            // One last read: the event may have been written just before the exit.
            found = fs::read_to_string(&out_path)
                .unwrap_or_default()
                .lines()
                .any(is_oom);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let out = fs::read_to_string(&out_path).unwrap_or_default();
    let err = fs::read_to_string(&err_path).unwrap_or_default();
    ensure(found, || {
        format!(
            "no {{\"type\":\"oom\",\"id\":{:?}}} line from `events --interval 10s` within 8 s \
             (exited: {exited:?}); stdout: {out:?}; stderr: {err:?}; oom_kill counter: {:?}",
            c.id,
            oom_kills(&path)
        )
    })?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    expect_cgroup_gone(&path)
}

/// `ps --format json` is an array of the container's pids (the init and its background
/// child); `ps` prints a table with a PID header and one line per process.
fn ps(ctx: &Ctx) -> TestResult {
    let (c, path) = container(ctx, "", "sleep 1000 & wait", Value::Null)?;
    c.start_new()?;
    let init = c.pid()?;
    let mut child = None;
    wait_until(Duration::from_secs(3), || {
        child = all_pids()
            .into_iter()
            .find(|&p| proc_ppid(p) == Some(init) && proc_alive(p));
        child.is_some()
    });
    let child = child.ok_or_else(|| format!("the init {init} has no child after 3 s"))?;

    let out = ctx.rt_ok(&["ps", "--format", "json", &c.id])?;
    let pids: Vec<i64> = serde_json::from_str(out.stdout.trim()).map_err(|e| {
        format!(
            "ps --format json is not an array of pids ({e}): {}",
            out.stdout
        )
    })?;
    ensure(
        pids.contains(&i64::from(init)) && pids.contains(&i64::from(child)),
        || format!("ps --format json: {pids:?}, want the init {init} and its child {child}"),
    )?;

    let out = ctx.rt_ok(&["ps", &c.id])?;
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let header_ok = lines
        .first()
        .is_some_and(|h| h.split_whitespace().any(|w| w == "PID"));
    ensure(header_ok && lines.len() == 3, || {
        format!(
            "ps: want a header with PID and two process lines (init {init}, child {child}); got:\n{}",
            out.stdout
        )
    })?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    expect_cgroup_gone(&path)
}

/// `kill --all ID KILL` on a paused container succeeds; the processes die (once thawed) and
/// `delete --force` removes the container and its cgroup.
fn kill_all_paused(ctx: &Ctx) -> TestResult {
    let (c, path) = container(ctx, "", "sleep 1000 & sleep 1000 & wait", Value::Null)?;
    c.start_new()?;
    let procs = cgroup_procs_file(&path);
    let mut before = Vec::new();
    let all = wait_until(Duration::from_secs(3), || {
        before = read_pids(&procs);
        before.len() >= 3
    });
    ensure(all, || {
        format!(
            "{} lists {before:?}, want the shell and two sleeps",
            procs.display()
        )
    })?;
    ctx.rt_ok(&["pause", &c.id])?;
    ensure_eq(c.status()?, "paused".to_string(), "status after pause")?;
    ctx.rt_ok(&["kill", "--all", &c.id, "KILL"])?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    let dead = wait_until(Duration::from_secs(3), || {
        before.iter().all(|&p| !proc_alive(p))
    });
    ensure(dead, || {
        let alive: Vec<i32> = before.iter().copied().filter(|&p| proc_alive(p)).collect();
        format!("after kill --all and delete --force, alive of {before:?}: {alive:?}")
    })?;
    ensure(ctx.rt(&["state", &c.id])?.code != 0, || {
        "state still works after delete --force".to_string()
    })?;
    expect_cgroup_gone(&path)
}

/// Removes a child cgroup the test made (if the runtime did not), then its parent if it is
/// empty by then. Declared before the container so that it runs after the container's
/// `delete --force`.
struct SubCgroup {
    sub: PathBuf,
}

impl Drop for SubCgroup {
    fn drop(&mut self) {
        if self.sub.is_dir() {
            let _ = fs::remove_dir(&self.sub);
            if let Some(parent) = self.sub.parent() {
                let _ = fs::remove_dir(parent);
            }
        }
    }
}

/// A child cgroup made on the host inside the container's cgroup is removed with it by
/// `delete --force`.
fn delete_removes_subtree(ctx: &Ctx) -> TestResult {
    let path = ctx.new_cgroup_path("");
    let rel = cgroup_rel(&path);
    let rel = rel.trim_start_matches('/');
    let dir = match mode() {
        Mode::V1 => Path::new(CGROUP_ROOT).join("pids").join(rel),
        Mode::V2 => Path::new(CGROUP_ROOT).join(rel),
    };
    let _guard = SubCgroup {
        sub: dir.join("sub"),
    };
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("sleep 1000");
    cfg["linux"]["cgroupsPath"] = json!(path);
    c.write_config(&cfg)?;
    c.create_ok()?;
    ensure(dir.is_dir(), || {
        format!("no cgroup directory {}", dir.display())
    })?;
    let sub = dir.join("sub");
    fs::create_dir(&sub).map_err(|e| format!("mkdir {}: {e}", sub.display()))?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    let gone = wait_until(Duration::from_secs(3), || !sub.exists() && !dir.exists());
    ensure(gone, || {
        format!(
            "after delete --force: {} exists: {}, {} exists: {}",
            sub.display(),
            sub.exists(),
            dir.display(),
            dir.exists()
        )
    })?;
    expect_cgroup_gone(&path)
}

/// Whether the host can enforce 2 MB hugepage limits through cgroups: v2 with the hugetlb
/// controller, or a mounted v1 hugetlb hierarchy.
fn hugetlb_available() -> bool {
    match mode() {
        Mode::V2 => fs::read_to_string(Path::new(CGROUP_ROOT).join("cgroup.controllers"))
            .unwrap_or_default()
            .split_whitespace()
            .any(|c| c == "hugetlb"),
        Mode::V1 => cgroup_mounts()
            .iter()
            .any(|m| m == Path::new("/sys/fs/cgroup/hugetlb")),
    }
}

/// Creates a container with `resources` that the host cannot enforce: create must exit 1
/// (under --check-messages naming `field` on stderr) and leave nothing behind.
fn expect_refused(ctx: &Ctx, tag: &str, resources: Value, field: &str) -> TestResult {
    let (c, path) = container(ctx, tag, "true", resources)?;
    let out = c.create(&[])?;
    refusal_ok(ctx, &c, &path, &out, field)
}

/// The checks on a `create` that had to refuse a config: exit 1, (under --check-messages)
/// stderr naming `field`, no state directory, no cgroup directory.
fn refusal_ok(ctx: &Ctx, c: &Ctn, path: &str, out: &Output, field: &str) -> TestResult {
    let mut problems = Vec::new();
    if out.code != 1 {
        problems.push(format!("create should exit 1 for {field} on this host"));
    }
    if ctx.check_messages && !out.stderr.contains(field) {
        problems.push(format!("stderr should name {field}"));
    }
    let state_dir = ctx.root.join(&c.id);
    if state_dir.exists() {
        problems.push(format!("state directory left: {}", state_dir.display()));
    }
    if out.code != 0 {
        for d in cgroup_path_dirs(path) {
            problems.push(format!("cgroup left: {}", d.display()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.push(format!("runtime said: {}", out.describe()));
        Err(problems.join("\n"))
    }
}

/// Creates a container with `resources` and checks `file` of its cgroup holds `want`.
fn expect_applied(
    ctx: &Ctx,
    tag: &str,
    resources: Value,
    ctrl: &str,
    file: &str,
    want: &str,
) -> TestResult {
    let (c, path) = container(ctx, tag, "true", resources)?;
    c.create_ok()?;
    expect_cg(&cg_file(&path, ctrl, file), want)?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    expect_cgroup_gone(&path)
}

/// A limit the host cannot enforce is refused, not ignored: hugepageLimits without a hugetlb
/// controller and `unified` on a v1 host. Where the host can enforce them, they are applied.
fn unenforceable_is_refused(ctx: &Ctx) -> TestResult {
    // 4 MiB: the kernel rounds hugetlb limits down to whole pages (1 MiB would read back 0).
    let huge = json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]});
    if hugetlb_available() {
        if Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").is_dir() {
            hugetlb_applied(ctx, huge)?;
        }
    } else {
        expect_refused(ctx, "huge", huge, "linux.resources.hugepageLimits[0]")?;
    }
    let unified = json!({"unified": {"pids.max": "9"}});
    match mode() {
        Mode::V1 => expect_refused(ctx, "unified", unified, "linux.resources.unified"),
        Mode::V2 => expect_applied(ctx, "unified", unified, "pids", "pids.max", "9"),
    }
}

/// A hugepage limit is written to the usage limit and, where the kernel has reservation
/// accounting (`*.rsvd.*` files), to the reservation limit as well (runtime-spec 1.3 limits
/// reservations "if supported"; runc writes both).
fn hugetlb_applied(ctx: &Ctx, huge: Value) -> TestResult {
    let suffix = match mode() {
        Mode::V1 => "limit_in_bytes",
        Mode::V2 => "max",
    };
    let (c, path) = container(ctx, "huge", "true", huge)?;
    c.create_ok()?;
    expect_cg(
        &cg_file(&path, "hugetlb", &format!("hugetlb.2MB.{suffix}")),
        "4194304",
    )?;
    let rsvd = cg_file(&path, "hugetlb", &format!("hugetlb.2MB.rsvd.{suffix}"));
    if rsvd.exists() {
        expect_cg(&rsvd, "4194304")?;
    }
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    expect_cgroup_gone(&path)
}

/// The v1 fields that have no cgroup v2 equivalent, each as `(tag, linux.resources value, the
/// field an error names)`: kernel memory limits, swappiness, the OOM killer switch, a
/// non-hierarchical memory cgroup, realtime CPU limits and blkio leaf weights.
fn unconvertible_v1_fields() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "kmem",
            json!({"memory": {"kernel": 67108864}}),
            "memory.kernel",
        ),
        (
            "kmemtcp",
            json!({"memory": {"kernelTCP": 67108864}}),
            "memory.kernelTCP",
        ),
        (
            "swappiness",
            json!({"memory": {"swappiness": 10}}),
            "memory.swappiness",
        ),
        (
            "nooom",
            json!({"memory": {"disableOOMKiller": true}}),
            "memory.disableOOMKiller",
        ),
        (
            "flat",
            json!({"memory": {"useHierarchy": false}}),
            "memory.useHierarchy",
        ),
        (
            "rtrun",
            json!({"cpu": {"realtimeRuntime": 1000}}),
            "cpu.realtimeRuntime",
        ),
        (
            "rtper",
            json!({"cpu": {"realtimePeriod": 100000}}),
            "cpu.realtimePeriod",
        ),
        (
            "leaf",
            json!({"blockIO": {"leafWeight": 300}}),
            "blockIO.leafWeight",
        ),
        (
            "leafdev",
            json!({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "leafWeight": 300}]}}),
            "blockIO.weightDevice[0]",
        ),
    ]
}

/// config-linux.md "Unified": on a pure cgroup v2 host a v1 field the runtime cannot convert
/// MUST be an error. Each field of [`unconvertible_v1_fields`] alone: `create` exits 1, leaves
/// no state directory or cgroup (and, swept after the test, no process or mount), and under
/// --check-messages stderr names `linux.resources.<field>`. On a v1 or hybrid host the fields
/// are v1 files and nothing is converted: skip.
fn v1_fields_without_v2_conversion_refused(ctx: &Ctx) -> TestResult {
    if mode() != Mode::V2 {
        return Err(crate::harness::skip(
            "not a pure cgroup v2 host (no /sys/fs/cgroup/cgroup.controllers): v1 fields are \
             written to v1 files here, nothing is converted",
        ));
    }
    let mut failures = Vec::new();
    for (tag, resources, field) in unconvertible_v1_fields() {
        let field = format!("linux.resources.{field}");
        if let Err(e) = expect_refused(ctx, tag, resources.clone(), &field) {
            failures.push(format!("{field} ({resources}): {e}"));
        }
    }
    ensure(failures.is_empty(), || failures.join("\n"))
}

/// Device cgroup rules: with `linux.resources.devices` denying everything, only the runtime's
/// default devices work (`/dev/null`); a node of an unlisted device (made in the container's
/// `/dev`, a tmpfs without `nodev`: the rootfs may sit on a `nodev` mount) cannot be made or
/// opened (EPERM). A rule allowing `rm` on it lets reads through (the kernel then answers ENXIO:
/// major 120 is reserved for local use and has no driver) while writes stay EPERM.
///
/// Not /dev/full (1:7): it is one of the defaults runtimes always allow. Not /dev/mem (1:1):
/// opening it needs CAP_SYS_RAWIO, so it gives EPERM whatever the cgroup says. `m` is in the
/// allow rule because runc's blanket `c *:* m` default is not something to rely on.
fn devices_rules(ctx: &Ctx) -> TestResult {
    let deny_all = json!({"allow": false, "access": "rwm"});
    let script = "m=$(mknod /dev/st-dev120 c 120 0 2>&1); echo \"mknod: $?: $m\"; \
                  r=$(head -c1 /dev/st-dev120 2>&1); echo \"read: $?: $r\"; \
                  w=$( (echo x >/dev/st-dev120) 2>&1); echo \"write: $?: $w\"; \
                  echo x >/dev/null && echo null-ok";
    let step = |text: &str, name: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or("(missing)")
            .to_string()
    };
    const EPERM: &str = "Operation not permitted";

    let (c, _) = container(ctx, "deny", script, json!({"devices": [deny_all]}))?;
    let out = c.run()?;
    ensure(out.code == 0, || {
        format!("deny-all run failed: {}", out.describe())
    })?;
    let text = &out.stdout;
    let (mknod, read, write) = (step(text, "mknod"), step(text, "read"), step(text, "write"));
    let denied = mknod.contains(EPERM) || read.contains(EPERM) && write.contains(EPERM);
    ensure(denied && text.contains("null-ok"), || {
        format!(
            "with devices [deny rwm], making or opening c 120:0 should fail with {EPERM:?} \
             and /dev/null work; output: {text:?}"
        )
    })?;
    drop(c);

    let allow = json!({"allow": true, "type": "c", "major": 120, "minor": 0, "access": "rm"});
    let (c, _) = container(ctx, "allow", script, json!({"devices": [deny_all, allow]}))?;
    let out = c.run()?;
    ensure(out.code == 0, || {
        format!("allow-rm run failed: {}", out.describe())
    })?;
    let text = &out.stdout;
    let (mknod, read, write) = (step(text, "mknod"), step(text, "read"), step(text, "write"));
    ensure(
        mknod.starts_with("0:")
            && read.contains("No such device or address")
            && write.contains(EPERM)
            && text.contains("null-ok"),
        || {
            format!(
                "with an allow rule c 120:0 rm, mknod should work, reading reach the (absent) \
                 driver (ENXIO) and writing stay EPERM; output: {text:?}"
            )
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Every field of linux.resources

/// What one file of the container's cgroup must hold.
struct FileWant {
    /// The v1 controller (the hierarchy directory); not used on v2.
    ctrl: &'static str,
    file: String,
    want: Content,
}

enum Content {
    /// The whole (trimmed) content.
    Exact(String),
    /// Some line whose whitespace-separated words include all of these (keyed files such as
    /// `memory.oom_control`, per-device files such as `io.max`).
    Line(Vec<String>),
}

/// What `create` must do with one field on this host.
enum Want {
    /// Succeed, with every file holding its content (an empty list: only accepted).
    Files(Vec<FileWant>),
    /// Fail with exit 1 (under --check-messages naming the field) and leave nothing.
    Refused,
    /// Whichever the kernel allows: on success the files must show the values (a value the
    /// kernel silently dropped fails the test), on failure it must be a proper refusal.
    FilesOrRefused(Vec<FileWant>),
    /// Not checkable on this host, with the reason.
    Skip(String),
}

/// One field: a config with only it set (and what it needs, like a memory limit for swap).
struct Case {
    /// `memory.limit`, also the container tag.
    name: String,
    /// What a refusal must name.
    field: String,
    resources: Value,
    want: Want,
    /// Why the expectation is what it is, when that is not obvious (printed as a TAP comment).
    note: Option<String>,
}

fn exact(ctrl: &'static str, file: &str, want: impl ToString) -> FileWant {
    FileWant {
        ctrl,
        file: file.to_string(),
        want: Content::Exact(want.to_string()),
    }
}

fn line(ctrl: &'static str, file: &str, words: &[&str]) -> FileWant {
    FileWant {
        ctrl,
        file: file.to_string(),
        want: Content::Line(words.iter().map(|w| w.to_string()).collect()),
    }
}

/// `Files` when the host has what the field needs, else `Refused`.
fn files_if(available: bool, files: Vec<FileWant>) -> Want {
    if available {
        Want::Files(files)
    } else {
        Want::Refused
    }
}

/// v1: the hierarchy of `ctrl` is mounted and its root cgroup has `file` (every knob this test
/// uses exists in the root as well as in children, except where noted).
fn v1_has(ctrl: &str, file: &str) -> bool {
    Path::new(CGROUP_ROOT).join(ctrl).join(file).exists()
}

/// v2: `ctrl` is in the root's `cgroup.controllers`.
fn v2_has(ctrl: &str) -> bool {
    fs::read_to_string(Path::new(CGROUP_ROOT).join("cgroup.controllers"))
        .unwrap_or_default()
        .split_whitespace()
        .any(|c| c == ctrl)
}

/// A whole block device of the host with a size, as (name, "MAJ:MIN"): a real disk rather
/// than loop, ram, zram, nbd, dm or md when there is one. Throttling applies to whole disks only
/// (the kernel answers ENODEV for a partition or a number that is no disk).
fn block_device() -> Option<(String, String)> {
    let mut found = Vec::new();
    for e in fs::read_dir("/sys/block").ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let dev = fs::read_to_string(e.path().join("dev")).unwrap_or_default();
        let size: u64 = fs::read_to_string(e.path().join("size"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if dev.trim().is_empty() || size == 0 {
            continue;
        }
        let virt = ["loop", "ram", "zram", "nbd", "dm-", "md"]
            .iter()
            .any(|p| name.starts_with(p));
        found.push((virt, name, dev.trim().to_string()));
    }
    found.sort();
    found.into_iter().next().map(|(_, n, d)| (n, d))
}

/// The first RDMA device of the host (`/sys/class/infiniband`), if any.
fn rdma_device() -> Option<String> {
    fs::read_dir("/sys/class/infiniband")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .min()
}

/// The cases for this host: every `linux.resources` field of runtime-spec 1.2 but `devices`
/// (see `devices_rules`), each alone.
fn field_cases() -> Vec<Case> {
    let m = mode();
    let v1 = m == Mode::V1;
    let mut cases = Vec::new();
    let mut add = |name: &str, field: &str, resources: Value, want: Want, note: Option<String>| {
        cases.push(Case {
            name: name.to_string(),
            field: field.to_string(),
            resources,
            want,
            note,
        })
    };
    let lr = |f: &str| format!("linux.resources.{f}");

    // memory
    let (limit, swap, reservation) = (64 * MIB, 128 * MIB, 32 * MIB);
    let mem = if v1 {
        v1_has("memory", "cgroup.procs")
    } else {
        v2_has("memory")
    };
    let want = match m {
        Mode::V1 => exact("memory", "memory.limit_in_bytes", limit),
        Mode::V2 => exact("memory", "memory.max", limit),
    };
    add(
        "memory.limit",
        &lr("memory.limit"),
        json!({"memory": {"limit": limit}}),
        files_if(mem, vec![want]),
        None,
    );
    let want = match m {
        Mode::V1 => exact("memory", "memory.soft_limit_in_bytes", reservation),
        Mode::V2 => exact("memory", "memory.low", reservation),
    };
    add(
        "memory.reservation",
        &lr("memory.reservation"),
        json!({"memory": {"reservation": reservation}}),
        files_if(mem, vec![want]),
        None,
    );
    let want = match m {
        // memsw exists only with swap accounting.
        Mode::V1 => files_if(
            v1_has("memory", "memory.memsw.limit_in_bytes"),
            vec![
                exact("memory", "memory.limit_in_bytes", limit),
                exact("memory", "memory.memsw.limit_in_bytes", swap),
            ],
        ),
        // OCI's swap is memory+swap; v2 limits swap alone.
        Mode::V2 => files_if(
            mem,
            vec![
                exact("memory", "memory.max", limit),
                exact("memory", "memory.swap.max", swap - limit),
            ],
        ),
    };
    add(
        "memory.swap",
        &lr("memory.swap"),
        json!({"memory": {"limit": limit, "swap": swap}}),
        want,
        None,
    );
    let want = match m {
        Mode::V1 => files_if(
            v1_has("memory", "memory.swappiness"),
            vec![exact("memory", "memory.swappiness", 10)],
        ),
        Mode::V2 => Want::Refused,
    };
    add(
        "memory.swappiness",
        &lr("memory.swappiness"),
        json!({"memory": {"swappiness": 10}}),
        want,
        None,
    );
    let want = match m {
        Mode::V1 => files_if(
            mem,
            vec![line(
                "memory",
                "memory.oom_control",
                &["oom_kill_disable", "1"],
            )],
        ),
        Mode::V2 => Want::Refused,
    };
    add(
        "memory.disableOOMKiller",
        &lr("memory.disableOOMKiller"),
        json!({"memory": {"disableOOMKiller": true}}),
        want,
        None,
    );
    let want = match m {
        Mode::V1 => files_if(mem, vec![exact("memory", "memory.use_hierarchy", 1)]),
        // v2 is always hierarchical: true is what it does.
        Mode::V2 => Want::Files(Vec::new()),
    };
    add(
        "memory.useHierarchy",
        &lr("memory.useHierarchy"),
        json!({"memory": {"useHierarchy": true}}),
        want,
        None,
    );
    let want = match m {
        // Kernels since 5.x refuse to turn it off (EINVAL); older ones took it.
        Mode::V1 => Want::FilesOrRefused(vec![exact("memory", "memory.use_hierarchy", 0)]),
        Mode::V2 => Want::Refused,
    };
    add(
        "memory.useHierarchy=false",
        &lr("memory.useHierarchy"),
        json!({"memory": {"useHierarchy": false}}),
        want,
        None,
    );
    for (key, file) in [
        ("kernel", "memory.kmem.limit_in_bytes"),
        ("kernelTCP", "memory.kmem.tcp.limit_in_bytes"),
    ] {
        let want = match m {
            // Since 5.16 the kernel takes any write to kmem.limit_in_bytes and ignores it
            // ("Writing any value to this file has no effect"; it reads back as unlimited),
            // newer ones may drop the file: either way the runtime must refuse. kmem.tcp still
            // works.
            Mode::V1 => Want::FilesOrRefused(vec![exact("memory", file, limit)]),
            Mode::V2 => Want::Refused,
        };
        add(
            &format!("memory.{key}"),
            &lr(&format!("memory.{key}")),
            json!({"memory": {key: limit}}),
            want,
            None,
        );
    }

    // cpu
    let cpu = if v1 {
        v1_has("cpu", "cpu.shares")
    } else {
        v2_has("cpu")
    };
    let want = match m {
        Mode::V1 => exact("cpu", "cpu.shares", 512),
        // runc's conversion 1 + (512-2)*9999/262142.
        Mode::V2 => exact("cpu", "cpu.weight", 20),
    };
    add(
        "cpu.shares",
        &lr("cpu.shares"),
        json!({"cpu": {"shares": 512}}),
        files_if(cpu, vec![want]),
        None,
    );
    let want = match m {
        Mode::V1 => exact("cpu", "cpu.cfs_quota_us", 50000),
        Mode::V2 => exact("cpu", "cpu.max", "50000 100000"),
    };
    add(
        "cpu.quota",
        &lr("cpu.quota"),
        json!({"cpu": {"quota": 50000}}),
        files_if(cpu, vec![want]),
        None,
    );
    let want = match m {
        Mode::V1 => exact("cpu", "cpu.cfs_period_us", 200000),
        Mode::V2 => exact("cpu", "cpu.max", "max 200000"),
    };
    add(
        "cpu.period",
        &lr("cpu.period"),
        json!({"cpu": {"period": 200000}}),
        files_if(cpu, vec![want]),
        None,
    );
    let want = match m {
        Mode::V1 => files_if(
            v1_has("cpu", "cpu.cfs_burst_us"),
            vec![exact("cpu", "cpu.cfs_burst_us", 10000)],
        ),
        Mode::V2 => files_if(cpu, vec![exact("cpu", "cpu.max.burst", 10000)]),
    };
    add(
        "cpu.burst",
        &lr("cpu.burst"),
        json!({"cpu": {"burst": 10000}}),
        want,
        None,
    );
    // The container's cgroup is a child of the root, whose rt_runtime_us (950000 by default)
    // leaves room for 10000 of 100000.
    let rt = v1 && v1_has("cpu", "cpu.rt_runtime_us");
    let rt_case = |files: Vec<FileWant>| {
        if v1 {
            files_if(rt, files)
        } else {
            Want::Refused
        }
    };
    add(
        "cpu.realtimePeriod",
        &lr("cpu.realtimePeriod"),
        json!({"cpu": {"realtimePeriod": 100000}}),
        rt_case(vec![exact("cpu", "cpu.rt_period_us", 100000)]),
        None,
    );
    add(
        "cpu.realtimeRuntime",
        &lr("cpu.realtimeRuntime"),
        json!({"cpu": {"realtimeRuntime": 10000}}),
        rt_case(vec![exact("cpu", "cpu.rt_runtime_us", 10000)]),
        None,
    );
    add(
        "cpu.realtimeRuntime+Period",
        &lr("cpu.realtime"),
        json!({"cpu": {"realtimeRuntime": 10000, "realtimePeriod": 100000}}),
        rt_case(vec![
            exact("cpu", "cpu.rt_period_us", 100000),
            exact("cpu", "cpu.rt_runtime_us", 10000),
        ]),
        None,
    );
    let cpuset = if v1 {
        v1_has("cpuset", "cpuset.cpus")
    } else {
        v2_has("cpuset")
    };
    add(
        "cpu.cpus",
        &lr("cpu.cpus"),
        json!({"cpu": {"cpus": "0"}}),
        files_if(cpuset, vec![exact("cpuset", "cpuset.cpus", "0")]),
        None,
    );
    add(
        "cpu.mems",
        &lr("cpu.mems"),
        json!({"cpu": {"mems": "0"}}),
        files_if(cpuset, vec![exact("cpuset", "cpuset.mems", "0")]),
        None,
    );
    let idle = if v1 { v1_has("cpu", "cpu.idle") } else { cpu };
    add(
        "cpu.idle",
        &lr("cpu.idle"),
        json!({"cpu": {"idle": 1}}),
        files_if(idle, vec![exact("cpu", "cpu.idle", 1)]),
        None,
    );

    // pids
    let pids = if v1 {
        v1_has("pids", "cgroup.procs")
    } else {
        v2_has("pids")
    };
    add(
        "pids.limit",
        &lr("pids.limit"),
        json!({"pids": {"limit": 7}}),
        files_if(pids, vec![exact("pids", "pids.max", 7)]),
        None,
    );

    // blockIO
    let io = v2_has("io");
    let disk = block_device();
    let (dev, disk_note) = match &disk {
        Some((name, d)) => (d.clone(), format!("block device {name} {d}")),
        // No disk at all: any number is no device, and the kernel refuses it (ENODEV).
        None => (
            "8:0".to_string(),
            "no block device: 8:0 must be refused".to_string(),
        ),
    };
    let (major, minor): (u64, u64) = {
        let (a, b) = dev.split_once(':').unwrap_or(("8", "0"));
        (a.parse().unwrap_or(8), b.parse().unwrap_or(0))
    };
    let want = match m {
        Mode::V1 => files_if(
            v1_has("blkio", "blkio.weight"),
            vec![exact("blkio", "blkio.weight", 500)],
        ),
        // runc's conversion 1 + (500-10)*9999/990 (cella writes io.weight, not io.bfq.weight).
        Mode::V2 => files_if(io, vec![line("io", "io.weight", &["default", "4950"])]),
    };
    add(
        "blockIO.weight",
        &lr("blockIO.weight"),
        json!({"blockIO": {"weight": 500}}),
        want,
        None,
    );
    let want = match m {
        Mode::V1 => files_if(
            v1_has("blkio", "blkio.leaf_weight"),
            vec![exact("blkio", "blkio.leaf_weight", 500)],
        ),
        Mode::V2 => Want::Refused,
    };
    add(
        "blockIO.leafWeight",
        &lr("blockIO.leafWeight"),
        json!({"blockIO": {"leafWeight": 500}}),
        want,
        None,
    );
    let want = match m {
        Mode::V1 => files_if(
            disk.is_some() && v1_has("blkio", "blkio.weight_device"),
            vec![line("blkio", "blkio.weight_device", &[&dev, "500"])],
        ),
        // A per-device io.weight line needs a weight-based policy on the device (blk-iocost
        // enabled in io.cost.qos, or BFQ): elsewhere the kernel says EOPNOTSUPP (vda with
        // mq-deadline in the Debian guest), which must then be a proper refusal.
        Mode::V2 if disk.is_some() && io => {
            Want::FilesOrRefused(vec![line("io", "io.weight", &[&dev, "4950"])])
        }
        Mode::V2 => Want::Refused,
    };
    add(
        "blockIO.weightDevice",
        &lr("blockIO.weightDevice[0]"),
        json!({"blockIO": {"weightDevice": [{"major": major, "minor": minor, "weight": 500}]}}),
        want,
        Some(disk_note.clone()),
    );
    for (key, v1_file, v2_key, rate) in [
        (
            "throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            "rbps",
            1048576,
        ),
        (
            "throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            "wbps",
            2097152,
        ),
        (
            "throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            "riops",
            100,
        ),
        (
            "throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            "wiops",
            200,
        ),
    ] {
        let rate_s = rate.to_string();
        let want = match m {
            Mode::V1 => files_if(
                disk.is_some() && v1_has("blkio", v1_file),
                vec![line("blkio", v1_file, &[&dev, &rate_s])],
            ),
            Mode::V2 => files_if(
                disk.is_some() && io,
                vec![line("io", "io.max", &[&dev, &format!("{v2_key}={rate}")])],
            ),
        };
        add(
            &format!("blockIO.{key}"),
            &lr(&format!("blockIO.{key}[0]")),
            json!({"blockIO": {key: [{"major": major, "minor": minor, "rate": rate}]}}),
            want,
            Some(disk_note.clone()),
        );
    }

    // hugepageLimits (4 MiB: the kernel rounds down to whole 2 MB pages).
    let want = if !hugetlb_available() {
        Want::Refused
    } else if !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").is_dir() {
        Want::Skip("the kernel has no 2 MB hugepages".to_string())
    } else {
        let file = if v1 {
            "hugetlb.2MB.limit_in_bytes"
        } else {
            "hugetlb.2MB.max"
        };
        Want::Files(vec![exact("hugetlb", file, 4194304)])
    };
    add(
        "hugepageLimits",
        &lr("hugepageLimits[0]"),
        json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}),
        want,
        None,
    );

    // network: net_cls and net_prio are v1 only.
    let (want, field) = match m {
        Mode::V1 => (
            files_if(
                v1_has("net_cls", "net_cls.classid"),
                vec![exact("net_cls", "net_cls.classid", 1048577)],
            ),
            lr("network.classID"),
        ),
        Mode::V2 => (Want::Refused, lr("network")),
    };
    add(
        "network.classID",
        &field,
        json!({"network": {"classID": 1048577}}),
        want,
        None,
    );
    let (want, field) = match m {
        Mode::V1 => (
            files_if(
                v1_has("net_prio", "net_prio.ifpriomap"),
                vec![line("net_prio", "net_prio.ifpriomap", &["lo", "5"])],
            ),
            lr("network.priorities[0]"),
        ),
        Mode::V2 => (Want::Refused, lr("network")),
    };
    add(
        "network.priorities",
        &field,
        json!({"network": {"priorities": [{"name": "lo", "priority": 5}]}}),
        want,
        None,
    );

    // rdma: rdma.max takes only existing RDMA devices (ENODEV otherwise).
    let rdma_dev = rdma_device();
    let rdma_ctrl = if v1 {
        v1_has("rdma", "rdma.max")
    } else {
        v2_has("rdma")
    };
    let name = rdma_dev.clone().unwrap_or_else(|| "mlx5_0".to_string());
    let note = match (&rdma_dev, rdma_ctrl) {
        (None, true) => Some(format!("no RDMA device: rdma.max refuses {name}")),
        _ => None,
    };
    add(
        "rdma",
        &lr("rdma"),
        json!({"rdma": {name.as_str(): {"hcaHandles": 3, "hcaObjects": 10000}}}),
        files_if(
            rdma_ctrl && rdma_dev.is_some(),
            vec![line(
                "rdma",
                "rdma.max",
                &[&name, "hca_handle=3", "hca_object=10000"],
            )],
        ),
        note,
    );

    // unified: v2 files by name.
    let want = match m {
        Mode::V1 => Want::Refused,
        Mode::V2 => files_if(
            mem && pids,
            vec![
                exact("memory", "memory.high", 52428800),
                exact("pids", "pids.max", 9),
            ],
        ),
    };
    add(
        "unified",
        &lr("unified"),
        json!({"unified": {"memory.high": "52428800", "pids.max": "9"}}),
        want,
        None,
    );
    cases
}

/// Checks one file of the container's cgroup against `w`.
fn check_file(path: &str, w: &FileWant) -> TestResult {
    let p = cg_file(path, w.ctrl, &w.file);
    let got = read_cg(&p)?;
    match &w.want {
        Content::Exact(want) => ensure(got == *want, || {
            format!("{}: got {got:?}, want {want:?}", p.display())
        }),
        Content::Line(words) => {
            let hit = got.lines().any(|l| {
                let have: Vec<&str> = l.split_whitespace().collect();
                words.iter().all(|w| have.contains(&w.as_str()))
            });
            ensure(hit, || {
                format!("{}: no line with {words:?} in {got:?}", p.display())
            })
        }
    }
}

/// Runs one case: create, then the files or the refusal, then delete.
fn run_case(ctx: &Ctx, case: &Case) -> TestResult {
    let tag = case.name.replace(['.', '=', '+'], "-");
    let (c, path) = container(ctx, &tag, "sleep 1000", case.resources.clone())?;
    let out = c.create(&[])?;
    let files = match (&case.want, out.code == 0) {
        (Want::Skip(_), _) => return Ok(()),
        (Want::Refused, false) | (Want::FilesOrRefused(_), false) => {
            return refusal_ok(ctx, &c, &path, &out, &case.field)
        }
        (Want::Files(_), false) => return Err(format!("create failed: {}", out.describe())),
        (Want::Refused, true) => {
            return Err(format!(
                "create succeeded, but this host cannot enforce {}: it must fail naming it",
                case.field
            ))
        }
        (Want::Files(f), true) | (Want::FilesOrRefused(f), true) => f,
    };
    let mut problems: Vec<String> = files
        .iter()
        .filter_map(|w| check_file(&path, w).err())
        .collect();
    if !problems.is_empty() && matches!(case.want, Want::FilesOrRefused(_)) {
        problems.push(format!(
            "create succeeded but the kernel did not keep the value; the runtime must then fail \
             naming {}",
            case.field
        ));
    }
    if problems.is_empty() {
        ctx.rt_ok(&["delete", "--force", &c.id])?;
        expect_cgroup_gone(&path)
    } else {
        Err(problems.join("; "))
    }
}

/// Every `linux.resources` field of runtime-spec 1.2 (but `devices`, see `devices_rules`), one
/// container each with only that field: where the host can enforce it, its cgroup file shows
/// the value after `create` (v1 or v2 names and conversions, see [`field_cases`]); where it
/// cannot (no hierarchy or controller, no such knob, no such device, a v1-only field on v2),
/// `create` exits 1, names the field under --check-messages and leaves no state or cgroup.
fn every_field(ctx: &Ctx) -> TestResult {
    let cases = field_cases();
    let mut failures = Vec::new();
    let mut noted = std::collections::BTreeSet::new();
    for case in &cases {
        if let Some(note) = &case.note {
            if noted.insert(note.clone()) {
                println!("# every_field: {note}");
            }
        }
        if let Want::Skip(why) = &case.want {
            println!("# {}: not checked: {why}", case.name);
            continue;
        }
        let what = match &case.want {
            Want::Files(_) => "applied",
            Want::Refused => "refused",
            _ => "applied or refused",
        };
        if let Err(e) = run_case(ctx, case) {
            failures.push(format!(
                "{} ({}, want {what}): {e}",
                case.name, case.resources
            ));
        }
    }
    ensure(failures.is_empty(), || {
        format!(
            "{} of {} fields failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        )
    })
}

/// `update --resources -` with `memory.checkBeforeUpdate`: a limit below the current usage
/// (the container writes 4 MiB into its /tmp first) is refused (under --check-messages naming
/// `checkBeforeUpdate` or `linux.resources.memory.limit`) and the limit file keeps its value; a
/// limit above the usage is applied. Without the check the kernel would just reclaim the page
/// cache and take the low limit.
fn check_before_update(ctx: &Ctx) -> TestResult {
    let limit = 64 * MIB;
    let (c, path) = container(
        ctx,
        "",
        // Synced, so the 4 MiB are clean page cache the kernel can always reclaim: a runtime
        // without checkBeforeUpdate then always manages to lower the limit below the usage
        // (dirty pages made that depend on writeback, and the kernel's EBUSY on luck).
        "head -c 4194304 /dev/zero >/tmp/fill && sync && touch /tmp/filled; exec sleep 1000",
        json!({"memory": {"limit": limit}}),
    )?;
    c.start_new()?;
    let filled = c.rootfs().join("tmp/filled");
    ensure(
        wait_until(Duration::from_secs(10), || filled.exists()),
        || "the container did not write its 4 MiB file within 10 s".to_string(),
    )?;
    let (mem_file, usage_file) = match mode() {
        Mode::V1 => (
            cg_file(&path, "memory", "memory.limit_in_bytes"),
            cg_file(&path, "memory", "memory.usage_in_bytes"),
        ),
        Mode::V2 => (
            cg_file(&path, "memory", "memory.max"),
            cg_file(&path, "memory", "memory.current"),
        ),
    };
    expect_cg(&mem_file, &limit.to_string())?;
    let usage: u64 = read_cg(&usage_file)?
        .parse()
        .map_err(|e| format!("{}: {e}", usage_file.display()))?;
    let low = MIB;
    ensure(usage > 2 * low, || {
        format!(
            "{} is {usage} after the container wrote 4 MiB; want above 2 MiB",
            usage_file.display()
        )
    })?;

    let json = format!(r#"{{"memory":{{"limit":{low},"checkBeforeUpdate":true}}}}"#);
    let out = ctx.exec(
        ctx.runtime_cmd(&["update", "--resources", "-", &c.id]),
        Some(json.as_bytes()),
    )?;
    let mut problems = Vec::new();
    if out.code == 0 || out.timed_out {
        problems.push(format!(
            "update to {json} should fail: the usage is {usage}"
        ));
    }
    if ctx.check_messages
        && !(out.stderr.contains("checkBeforeUpdate")
            || out.stderr.contains("linux.resources.memory.limit"))
    {
        problems
            .push("stderr should name checkBeforeUpdate or linux.resources.memory.limit".into());
    }
    let now = read_cg(&mem_file)?;
    if now != limit.to_string() {
        problems.push(format!(
            "{} is {now:?} after the refused update, want {limit}",
            mem_file.display()
        ));
    }
    if !problems.is_empty() {
        problems.push(format!("runtime said: {}", out.describe()));
        return Err(problems.join("\n"));
    }

    let ok_limit = 48 * MIB;
    let json = format!(r#"{{"memory":{{"limit":{ok_limit},"checkBeforeUpdate":true}}}}"#);
    run_update(ctx, &["--resources", "-", &c.id], Some(json.as_bytes()))?;
    expect_cg(&mem_file, &ok_limit.to_string())?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    expect_cgroup_gone(&path)
}
