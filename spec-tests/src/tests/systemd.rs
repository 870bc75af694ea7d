//! The systemd cgroup driver (`--systemd-cgroup`, runc's semantics; not in runtime-spec), seen
//! from outside: what systemd says of the container's transient scope (`systemctl show`), the
//! cgroup files, /proc/<pid>/cgroup. These tests pass `--systemd-cgroup` themselves, so they
//! run in both modes of the suite; they skip on a host that does not run systemd
//! (`/run/systemd/system` is not a directory) or has no pure cgroup v2 tree.
//!
//! Every unit a test makes is stopped and reset (`systemctl stop`, `systemctl reset-failed`) by
//! a guard, even when the test fails; the runner's sweep reports any that is still loaded.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::bundle::sh;
use crate::harness::{
    cgroup_rel, ensure, ensure_eq, host_cgroup_v2, run_host, skip, systemd_unit, wait_until, Ctn,
    Ctx, Output, TestResult,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("systemd", name, f);
    vec![
        t("scope_limits_and_reload", scope_limits_and_reload),
        t("devices_after_reload", devices_after_reload),
        t("update_pause_ps_exec", update_pause_ps_exec),
        t("kill_all_delete_removes_unit", kill_all_delete_removes_unit),
        t("collect_mode_annotation", collect_mode_annotation),
        t("bad_paths_refused", bad_paths_refused),
        t("default_path", default_path),
        t("no_bus_refused", no_bus_refused),
    ]
}

/// Whether the host can run these tests; the skip reason when not.
fn host_ok() -> TestResult {
    if !Path::new("/run/systemd/system").is_dir() {
        return Err(skip(
            "the host does not run systemd (no /run/systemd/system): no systemd cgroup driver",
        ));
    }
    if !host_cgroup_v2() {
        return Err(skip(
            "not a pure cgroup v2 host: these tests read the scope's v2 files",
        ));
    }
    Ok(())
}

/// A container of these tests: every runtime call gets `--systemd-cgroup`. On drop: the
/// container is force-deleted (with the flag), then its unit is stopped and reset, then the
/// bundle goes ([`Ctn`]'s own drop).
struct Sd<'a> {
    ctx: &'a Ctx,
    c: Ctn<'a>,
    /// The cgroupsPath (None: the config has none) and the unit.
    path: Option<String>,
    unit: String,
}

impl<'a> Sd<'a> {
    /// A container running `cfg` (cgroupsPath set when `path` is given).
    fn new(
        ctx: &'a Ctx,
        tag: &str,
        path: Option<String>,
        mut cfg: Value,
    ) -> Result<Sd<'a>, String> {
        let c = Ctn::new(ctx, tag)?;
        let unit = match &path {
            Some(p) => {
                cfg["linux"]["cgroupsPath"] = json!(p);
                systemd_unit(p)
            }
            None => format!("{}-{}.scope", ctx.default_unit_prefix, c.id),
        };
        c.write_config(&cfg)?;
        Ok(Sd { ctx, c, path, unit })
    }

    /// The cgroup directory of the container's scope.
    fn dir(&self) -> PathBuf {
        let rel = match &self.path {
            Some(p) => cgroup_rel(p),
            None => self.ctx.default_cgroup(&self.c.id),
        };
        Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/'))
    }

    fn cmd<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.ctx.runtime);
        let flags: Vec<OsString> = vec![
            "--systemd-cgroup".into(),
            "--root".into(),
            self.ctx.root.clone().into(),
        ];
        cmd.args(flags).args(args);
        cmd
    }

    fn rt<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<Output, String> {
        self.ctx.exec(self.cmd(args), None)
    }

    fn rt_ok(&self, args: &[&str]) -> Result<Output, String> {
        let out = self.rt(args)?;
        if out.code != 0 {
            return Err(format!(
                "`--systemd-cgroup {}` failed: {}",
                args.join(" "),
                out.describe()
            ));
        }
        Ok(out)
    }

    fn create(&self) -> Result<Output, String> {
        let b = self.c.bundle_str();
        let out = self.rt(&["create", "--bundle", &b, &self.c.id])?;
        if out.code == 0 {
            if let Ok(pid) = self.c.pid() {
                self.ctx.track_pid(pid);
            }
        }
        Ok(out)
    }

    fn create_ok(&self) -> Result<i32, String> {
        let out = self.create()?;
        ensure_eq(out.code, 0, &format!("create ({})", out.describe()))?;
        self.c.pid()
    }
}

impl Drop for Sd<'_> {
    fn drop(&mut self) {
        let _ = self.rt(&["delete", "--force", &self.c.id]);
        stop_unit(&self.unit);
    }
}

/// `systemctl stop UNIT; systemctl reset-failed UNIT`, errors ignored (the unit may be gone).
fn stop_unit(unit: &str) {
    let _ = run_host(&["systemctl", "stop", unit]);
    let _ = run_host(&["systemctl", "reset-failed", unit]);
}

/// `systemctl show UNIT -p P1,P2...` as (property, value) pairs.
fn show(unit: &str, props: &[&str]) -> Result<Vec<(String, String)>, String> {
    let text = run_host(&["systemctl", "show", unit, "-p", &props.join(",")])?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// The one property `prop` of `unit`.
fn prop(unit: &str, p: &str) -> Result<String, String> {
    show(unit, &[p])?
        .into_iter()
        .find(|(k, _)| k == p)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("systemctl show {unit} gave no {p}"))
}

/// The properties must hold these values.
fn expect_props(unit: &str, want: &[(&str, &str)]) -> TestResult {
    let names: Vec<&str> = want.iter().map(|(k, _)| *k).collect();
    let got = show(unit, &names)?;
    let mut wrong = Vec::new();
    for (k, v) in want {
        let g = got
            .iter()
            .find(|(gk, _)| gk == k)
            .map(|(_, gv)| gv.as_str());
        if g != Some(*v) {
            wrong.push(format!("{k}: got {g:?}, want {v:?}"));
        }
    }
    ensure(wrong.is_empty(), || {
        format!("systemctl show {unit}: {}", wrong.join("; "))
    })
}

/// The trimmed content of a file of the scope's cgroup.
fn read_cg(dir: &Path, file: &str) -> Result<String, String> {
    let p = dir.join(file);
    fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("read {}: {e}", p.display()))
}

fn expect_files(dir: &Path, want: &[(&str, &str)]) -> TestResult {
    let mut wrong = Vec::new();
    for (f, v) in want {
        let g = read_cg(dir, f)?;
        if g != *v {
            wrong.push(format!("{f}: got {g:?}, want {v:?}"));
        }
    }
    ensure(wrong.is_empty(), || {
        format!("{}: {}", dir.display(), wrong.join("; "))
    })
}

/// The `0::` line of /proc/<pid>/cgroup.
fn cgroup_of(pid: i32) -> Result<String, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| format!("/proc/{pid}/cgroup: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(String::from)
        .ok_or_else(|| format!("no 0:: line in /proc/{pid}/cgroup: {text}"))
}

/// Whether systemd has no such unit: `systemctl status` exits 4 ("could not be found"), or
/// `LoadState=not-found`.
fn unit_gone(unit: &str) -> bool {
    let st = Command::new("systemctl")
        .args(["status", "--no-pager", unit])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    matches!(st.map(|s| s.code()), Ok(Some(4)))
}

const MEM: u64 = 64 << 20;
const MEM2: u64 = 96 << 20;

fn limits() -> Value {
    json!({
        "memory": {"limit": MEM},
        "pids": {"limit": 50},
        "cpu": {"quota": 50000, "period": 100000}
    })
}

/// create with cgroupsPath `system.slice:spec-tests:<name>` and memory, pids and cpu limits:
/// the scope `spec-tests-<name>.scope` is active, delegated, and systemd's MemoryMax, TasksMax,
/// CPUQuotaPerSecUSec and ControlGroup agree with the config and with memory.max, pids.max
/// and cpu.max; the init is in the scope; after `systemctl daemon-reload` (systemd re-applies
/// the unit's properties) the files still hold the limits.
fn scope_limits_and_reload(ctx: &Ctx) -> TestResult {
    host_ok()?;
    let mut cfg = sh("sleep 1000");
    cfg["linux"]["resources"] = limits();
    let c = Sd::new(ctx, "", Some(ctx.systemd_cgroup_path("")), cfg)?;
    let pid = c.create_ok()?;
    let dir = c.dir();
    let rel = format!(
        "/{}",
        dir.strip_prefix("/sys/fs/cgroup").unwrap_or(&dir).display()
    );
    let mem = MEM.to_string();
    let want_props = [
        ("ActiveState", "active"),
        ("Delegate", "yes"),
        ("MemoryMax", mem.as_str()),
        ("TasksMax", "50"),
        ("CPUQuotaPerSecUSec", "500ms"),
        ("ControlGroup", rel.as_str()),
    ];
    expect_props(&c.unit, &want_props)?;
    let want_files = [
        ("memory.max", mem.as_str()),
        ("pids.max", "50"),
        ("cpu.max", "50000 100000"),
    ];
    expect_files(&dir, &want_files)?;
    ensure_eq(cgroup_of(pid)?, rel.clone(), "the init's cgroup")?;
    run_host(&["systemctl", "daemon-reload"])?;
    expect_files(&dir, &want_files)?;
    expect_props(&c.unit, &want_props)?;
    ensure_eq(
        cgroup_of(pid)?,
        rel,
        "the init's cgroup after daemon-reload",
    )
}

/// The device rules outlive `systemctl daemon-reload`, which re-applies every unit's cgroup
/// settings (runc sends them as DevicePolicy/DeviceAllow too; cella enforces them with its own
/// program alone and sends none, so systemd has nothing to put in its place). The host's
/// /dev/kmsg (1:11, in no default rule) bind-mounted into the container cannot be opened, before
/// and after the reload, while /dev/null (1:3, allowed) can.
fn devices_after_reload(ctx: &Ctx) -> TestResult {
    host_ok()?;
    let mut cfg = sh("sleep 1000");
    if let Some(mounts) = cfg["mounts"].as_array_mut() {
        mounts.push(json!({"destination": "/dev/denied", "type": "bind",
                           "source": "/dev/kmsg", "options": ["bind"]}));
    }
    let c = Sd::new(ctx, "", Some(ctx.systemd_cgroup_path("")), cfg)?;
    c.create_ok()?;
    c.rt_ok(&["start", &c.c.id])?;
    c.c.wait_status("running")?;
    // In a subshell: a failed redirection of a special built-in ends a POSIX shell.
    let probe = "for d in /dev/null /dev/denied; do if (: < $d) 2>/dev/null; then \
                 echo $d opened; else echo $d refused; fi; done";
    let want = "/dev/null opened\n/dev/denied refused";
    let before = c.rt_ok(&["exec", &c.c.id, "sh", "-c", probe])?;
    ensure_eq(
        before.stdout.trim(),
        want,
        "opening devices before daemon-reload",
    )?;
    run_host(&["systemctl", "daemon-reload"])?;
    let after = c.rt_ok(&["exec", &c.c.id, "sh", "-c", probe])?;
    ensure_eq(
        after.stdout.trim(),
        want,
        "opening devices after daemon-reload",
    )
}

/// On a running container: `update --memory N` changes MemoryMax and memory.max; pause
/// freezes the scope (cgroup.freeze 1, state paused) and resume thaws it; `ps` lists the
/// init; `exec` joins the scope.
fn update_pause_ps_exec(ctx: &Ctx) -> TestResult {
    host_ok()?;
    let mut cfg = sh("sleep 1000");
    cfg["linux"]["resources"] = limits();
    let c = Sd::new(ctx, "", Some(ctx.systemd_cgroup_path("")), cfg)?;
    c.create_ok()?;
    c.rt_ok(&["start", &c.c.id])?;
    c.c.wait_status("running")?;
    let pid = c.c.pid()?;
    let dir = c.dir();
    let rel = cgroup_of(pid)?;

    let m2 = MEM2.to_string();
    c.rt_ok(&["update", "--memory", &m2, &c.c.id])?;
    ensure_eq(
        prop(&c.unit, "MemoryMax")?,
        m2.clone(),
        "MemoryMax after update",
    )?;
    expect_files(&dir, &[("memory.max", m2.as_str()), ("pids.max", "50")])?;

    c.rt_ok(&["pause", &c.c.id])?;
    ensure_eq(
        read_cg(&dir, "cgroup.freeze")?,
        "1".into(),
        "cgroup.freeze after pause",
    )?;
    let frozen = wait_until(Duration::from_secs(10), || {
        read_cg(&dir, "cgroup.events").is_ok_and(|e| e.lines().any(|l| l == "frozen 1"))
    });
    ensure(frozen, || "cgroup.events never said frozen 1".to_string())?;
    ensure_eq(c.c.status()?, "paused".into(), "state after pause")?;
    c.rt_ok(&["resume", &c.c.id])?;
    ensure_eq(
        read_cg(&dir, "cgroup.freeze")?,
        "0".into(),
        "cgroup.freeze after resume",
    )?;
    ensure_eq(c.c.status()?, "running".into(), "state after resume")?;

    let out = c.rt_ok(&["ps", "--format", "json", &c.c.id])?;
    let pids: Vec<i64> = serde_json::from_str(out.stdout.trim())
        .map_err(|e| format!("ps --format json: {e}: {}", out.stdout))?;
    ensure(pids.contains(&(pid as i64)), || {
        format!("ps does not list the init {pid}: {pids:?}")
    })?;

    let out = c.rt_ok(&["exec", &c.c.id, "cat", "/proc/self/cgroup"])?;
    ensure_eq(
        out.stdout.trim().to_string(),
        format!("0::{rel}"),
        "/proc/self/cgroup of an exec'd process (the container has no cgroup namespace)",
    )
}

/// `kill --all KILL`, then `delete`: the unit is gone (`systemctl status` exits 4, not found)
/// and so is the scope's cgroup directory.
fn kill_all_delete_removes_unit(ctx: &Ctx) -> TestResult {
    host_ok()?;
    let c = Sd::new(ctx, "", Some(ctx.systemd_cgroup_path("")), sh("sleep 1000"))?;
    c.create_ok()?;
    c.rt_ok(&["start", &c.c.id])?;
    ensure_eq(
        prop(&c.unit, "ActiveState")?,
        "active".into(),
        "ActiveState",
    )?;
    c.rt_ok(&["kill", "--all", &c.c.id, "KILL"])?;
    c.c.wait_status("stopped")?;
    c.rt_ok(&["delete", &c.c.id])?;
    let dir = c.dir();
    let gone = wait_until(Duration::from_secs(10), || {
        unit_gone(&c.unit) && !dir.exists()
    });
    ensure(gone, || {
        format!(
            "after delete: unit {} gone: {}, {} exists: {}",
            c.unit,
            unit_gone(&c.unit),
            dir.display(),
            dir.exists()
        )
    })
}

/// The annotation `org.systemd.property.CollectMode` = `'inactive-or-failed'` (a GVariant
/// string) becomes the unit's CollectMode.
fn collect_mode_annotation(ctx: &Ctx) -> TestResult {
    host_ok()?;
    let mut cfg = sh("sleep 1000");
    cfg["annotations"] = json!({"org.systemd.property.CollectMode": "'inactive-or-failed'"});
    let c = Sd::new(ctx, "", Some(ctx.systemd_cgroup_path("")), cfg)?;
    c.create_ok()?;
    ensure_eq(
        prop(&c.unit, "CollectMode")?,
        "inactive-or-failed".into(),
        "CollectMode",
    )
}

/// A cgroupsPath that is not `slice:prefix:name` (`/not/systemd`, `a:b`) is refused: exit 1,
/// stderr naming linux.cgroupsPath (under --check-messages), and nothing left: no state
/// directory, no unit, no cgroup.
fn bad_paths_refused(ctx: &Ctx) -> TestResult {
    host_ok()?;
    let mut problems = Vec::new();
    for (tag, bad) in [("abs", "/not/systemd"), ("two", "a:b")] {
        let c = Sd::new(ctx, tag, Some(bad.to_string()), sh("true"))?;
        let out = c.create()?;
        if out.code != 1 {
            problems.push(format!("{bad}: create should exit 1: {}", out.describe()));
        }
        if ctx.check_messages && !out.stderr.contains("linux.cgroupsPath") {
            problems.push(format!(
                "{bad}: stderr should name linux.cgroupsPath: {}",
                out.describe()
            ));
        }
        let state = ctx.root.join(&c.c.id);
        if state.exists() {
            problems.push(format!("{bad}: state directory left: {}", state.display()));
        }
        // Whatever unit such a path could have been read as, and the default one.
        for unit in [
            format!("{}-{}.scope", ctx.default_unit_prefix, c.c.id),
            format!("{}.scope", c.c.id),
        ] {
            if !unit_gone(&unit) {
                problems.push(format!("{bad}: unit {unit} exists"));
                stop_unit(&unit);
            }
        }
        if bad.starts_with('/') && Path::new("/sys/fs/cgroup").join(&bad[1..]).exists() {
            problems.push(format!("{bad}: cgroup /sys/fs/cgroup{bad} made"));
        }
    }
    ensure(problems.is_empty(), || problems.join("\n"))
}

/// `run` of a config without cgroupsPath puts the init in `system.slice/<prefix>-<id>.scope`,
/// the prefix being the runtime's (`runc`, `cella`).
fn default_path(ctx: &Ctx) -> TestResult {
    host_ok()?;
    let c = Sd::new(ctx, "", None, sh("cat /proc/self/cgroup"))?;
    let b = c.c.bundle_str();
    let out = c.rt(&["run", "--bundle", &b, &c.c.id])?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    let want = format!(
        "0::/system.slice/{}-{}.scope",
        ctx.default_unit_prefix, c.c.id
    );
    ensure_eq(
        out.stdout.trim().to_string(),
        want,
        "/proc/self/cgroup of the init",
    )
}

/// With no system bus at `DBUS_SYSTEM_BUS_ADDRESS` (a socket path that does not exist),
/// `create` fails (exit 1) naming the address, and leaves no state, unit or cgroup.
fn no_bus_refused(ctx: &Ctx) -> TestResult {
    host_ok()?;
    let c = Sd::new(
        ctx,
        "nobus",
        Some(ctx.systemd_cgroup_path("nobus")),
        sh("true"),
    )?;
    let b = c.c.bundle_str();
    let mut cmd = c.cmd(&["create", "--bundle", &b, &c.c.id]);
    cmd.env(
        "DBUS_SYSTEM_BUS_ADDRESS",
        "unix:path=/nonexistent/spec-tests-bus",
    );
    let out = ctx.exec(cmd, None)?;
    ensure_eq(
        out.code,
        1,
        &format!("create without a bus ({})", out.describe()),
    )?;
    if ctx.check_messages {
        ensure(out.stderr.contains("/nonexistent/spec-tests-bus"), || {
            format!("stderr should name the bus address: {}", out.describe())
        })?;
    }
    let state = ctx.root.join(&c.c.id);
    ensure(!state.exists(), || {
        format!("state directory left: {}", state.display())
    })?;
    ensure(unit_gone(&c.unit), || format!("unit {} exists", c.unit))?;
    ensure(!c.dir().exists(), || {
        format!("cgroup {} made", c.dir().display())
    })
}
