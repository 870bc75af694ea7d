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
    all_pids, cgroup_mounts, cgroup_path_dirs, cgroup_procs_file, ensure, ensure_eq, proc_alive,
    proc_ppid, read_pids, wait_until, Ctn, Ctx, TestResult,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("resources", name, f);
    vec![
        t("pids_limit", pids_limit),
        t("memory_limit", memory_limit),
        t("cpu", cpu),
        t("update", update),
        t("pause_resume", pause_resume),
        t("events_stats", events_stats),
        t("events_oom", events_oom),
        t("ps", ps),
        t("kill_all_paused", kill_all_paused),
        t("delete_removes_subtree", delete_removes_subtree),
        t("unenforceable_is_refused", unenforceable_is_refused),
        t("devices_rules", devices_rules),
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
    let rel = path.trim_start_matches('/');
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
    let (c, path) = container(
        ctx,
        "",
        "exec >/tmp/log 2>&1; dd if=/dev/zero of=/dev/null bs=200000000 count=1 2>/dev/null && echo survived; \
         echo finished",
        memory_no_swap(limit),
    )?;
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
    c.wait_status("stopped")?;
    let out = log(&c);
    ensure(!out.contains("survived"), || {
        format!("the 200 MB hog survived a 64 MiB limit; output: {out:?}")
    })?;
    let kills = oom_kills(&path)?;
    ensure(kills >= 1, || {
        format!("the cgroup's oom_kill counter is {kills} after the hog; output: {out:?}")
    })?;
    ctx.rt_ok(&["delete", &c.id])?;
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
    let rel = path.trim_start_matches('/');
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
        for d in cgroup_path_dirs(&path) {
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
            let file = match mode() {
                Mode::V1 => "hugetlb.2MB.limit_in_bytes",
                Mode::V2 => "hugetlb.2MB.max",
            };
            expect_applied(ctx, "huge", huge, "hugetlb", file, "4194304")?;
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
