//! The systemd cgroup driver of a rootless runtime (`--systemd-cgroup` as
//! an unprivileged user): the container's scope is made by the user's
//! systemd manager (`user@UID.service`), reached over the user's session
//! bus, as runc does. On a host with systemd the test user gets a manager
//! of its own (`loginctl enable-linger`, undone at the end); elsewhere
//! there is no session bus, and the runtime must say so and leave nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use super::idmaps::nothing_left;
use crate::config;
use crate::harness::{
    cgroup_mounts, ensure, proc_cgroup, wait_until, Ctn, Ctx, Output, TestResult,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    vec![Test::new(
        "systemd",
        "user_manager_scope",
        user_manager_scope,
    )]
}

/// Whether systemd is PID 1 (it is what can give the user a manager).
fn systemd_host() -> bool {
    std::fs::read_to_string("/proc/1/comm").is_ok_and(|c| c.trim() == "systemd")
}

/// The driver through the user's manager where the host has systemd, the
/// error naming the missing session bus where it has not.
fn user_manager_scope(ctx: &Ctx) -> TestResult {
    if !systemd_host() {
        return no_session_bus(ctx);
    }
    let session = Session::start(ctx)?;
    let result = scope_lifecycle(ctx, &session)
        .and_then(|()| undelegated_limit(ctx, &session))
        .and_then(|()| no_session_bus(ctx));
    let stopped = session.stop();
    result.and(stopped)
}

/// No session bus (none at `$XDG_RUNTIME_DIR/bus`, no
/// `DBUS_SESSION_BUS_ADDRESS`): create fails, naming where it looked (or,
/// on a host with cgroup v1 controllers, that the driver needs v2), and
/// leaves nothing.
fn no_session_bus(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "nobus", &config::base(ctx, &["sleep", "1000"]))?;
    let out = c.create_with(&["--systemd-cgroup"])?;
    ensure(out.code != 0, || {
        format!("create without a session bus succeeded: {}", out.describe())
    })?;
    if ctx.is_cella {
        // A host with cgroup v1 controllers is refused first (as runc
        // does: no rootless systemd driver on cgroup v1).
        let v1 = cgroup_mounts().iter().any(|(n, _)| !n.is_empty());
        let want = match v1 {
            true => "cgroup v2 hosts only".to_string(),
            false => format!("{} does not exist", ctx.xdg.join("bus").display()),
        };
        ensure(out.stderr.contains(&want), || {
            format!("the error does not say {want:?}: {}", out.describe())
        })?;
    }
    nothing_left(ctx, &c)
}

/// The user's manager, started for the test user and stopped at the end.
struct Session<'a> {
    ctx: &'a Ctx,
    /// `unix:path=/run/user/UID/bus`.
    bus: String,
    /// The manager's cgroup directory.
    manager_dir: PathBuf,
}

impl<'a> Session<'a> {
    fn start(ctx: &'a Ctx) -> Result<Session<'a>, String> {
        let uid = ctx.user.uid;
        root_cmd("loginctl", &["enable-linger", &ctx.user.name])?;
        let session = Session {
            ctx,
            bus: format!("unix:path=/run/user/{uid}/bus"),
            manager_dir: PathBuf::from(format!(
                "/sys/fs/cgroup/user.slice/user-{uid}.slice/user@{uid}.service"
            )),
        };
        let unit = format!("user@{uid}.service");
        let socket = PathBuf::from(format!("/run/user/{uid}/bus"));
        let up = wait_until(Duration::from_secs(60), || {
            root_cmd("systemctl", &["is-active", "-q", &unit]).is_ok() && socket.exists()
        });
        if !up {
            let _ = session.stop();
            return Err(format!(
                "{unit} or its session bus {} did not come up in 60 s (is dbus-user-session \
                 installed?)",
                socket.display()
            ));
        }
        Ok(session)
    }

    /// The runtime as the user, with the session bus in its environment.
    fn rt(&self, args: &[&str]) -> Result<Output, String> {
        let mut c = self.ctx.rt_cmd(&[&["--systemd-cgroup"], args].concat());
        c.env("DBUS_SESSION_BUS_ADDRESS", &self.bus);
        self.ctx.exec(c, None, Duration::from_secs(30))
    }

    fn rt_ok(&self, args: &[&str]) -> Result<Output, String> {
        self.rt(args)?
            .ok(&format!("`--systemd-cgroup {}`", args.join(" ")))
    }

    /// `systemctl --user show UNIT -p ...` as the user: `Name=value` lines.
    fn show(&self, unit: &str, props: &[&str]) -> Result<String, String> {
        let mut c = self.ctx.user_cmd("systemctl");
        c.args(["--user", "show", unit]);
        for p in props {
            c.args(["-p", p]);
        }
        c.env("DBUS_SESSION_BUS_ADDRESS", &self.bus);
        Ok(self
            .ctx
            .exec(c, None, Duration::from_secs(30))?
            .ok("systemctl --user show")?
            .stdout)
    }

    /// Stops the manager (and every process of its user there) and forgets
    /// the linger.
    fn stop(&self) -> TestResult {
        let uid = self.ctx.user.uid;
        root_cmd("loginctl", &["disable-linger", &self.ctx.user.name])?;
        let _ = root_cmd("systemctl", &["stop", &format!("user@{uid}.service")]);
        // A wait, not a timing check: under CI's load the TCG guest's logind once took over
        // 30 s to remove the slice (2026-12-07; 12-18 s unloaded).
        let gone = wait_until(Duration::from_secs(90), || {
            !Path::new(&format!("/sys/fs/cgroup/user.slice/user-{uid}.slice")).exists()
        });
        ensure(gone, || {
            format!("user-{uid}.slice still there 90 s after its manager stopped")
        })
    }
}

fn root_cmd(program: &str, args: &[&str]) -> TestResult {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    ensure(out.status.success(), || {
        format!(
            "{program} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn push(list: &mut serde_json::Value, item: serde_json::Value) {
    if let Some(l) = list.as_array_mut() {
        l.push(item);
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `want` lines (`Name=value`) are all in systemctl's output.
fn expect_props(shown: &str, want: &[&str]) -> TestResult {
    for w in want {
        ensure(shown.lines().any(|l| l == *w), || {
            format!("systemctl --user show lacks {w}:\n{shown}")
        })?;
    }
    Ok(())
}

/// create (limits in the unit and the files, the init in the scope of the
/// manager's `user.slice`, delegated), update, pause/resume, ps, events,
/// kill --all, delete (the unit and its directory gone).
fn scope_lifecycle(ctx: &Ctx, s: &Session<'_>) -> TestResult {
    let mut cfg = config::base(ctx, &["sleep", "1000"]);
    let c = Ctn::without_config(ctx, "")?;
    cfg["linux"]["cgroupsPath"] = json!(format!(":rlt:{}", c.id));
    cfg["linux"]["resources"] = json!({"memory": {"limit": 104857600}, "pids": {"limit": 50}});
    // As `runc spec --rootless` has them: a cgroup namespace (made in the
    // scope, once systemd has moved stage 1 there) and a cgroup2 mount.
    push(&mut cfg["linux"]["namespaces"], json!({"type": "cgroup"}));
    push(
        &mut cfg["mounts"],
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
    );
    c.write_config(&cfg)?;
    let unit = format!("rlt-{}.scope", c.id);
    let b = c.bundle_str();
    s.rt_ok(&["create", "--bundle", &b, &c.id])?;
    let dir = s.manager_dir.join("user.slice").join(&unit);
    let result = check_scope(s, &c, &unit, &dir);
    let deleted = s.rt_ok(&["delete", "--force", &c.id]).map(|_| ());
    result?;
    deleted?;
    let load = s.show(&unit, &["LoadState"])?;
    ensure(load.trim() == "LoadState=not-found", || {
        format!("{unit} is still known after delete: {load}")
    })?;
    ensure(!dir.exists(), || {
        format!("{} left after delete", dir.display())
    })
}

/// Inside the container, from an `exec`'d process: the cgroup mount, and
/// its cgroup, which is the root of the container's cgroup namespace (the
/// scope) when the process got into the scope. runc's is shown, not judged:
/// 1.1.5 leaves a rootless `exec`'d process in the caller's cgroup when it
/// may not write the scope's `cgroup.procs`.
fn check_inside(s: &Session<'_>, c: &Ctn<'_>) -> TestResult {
    let args = [
        "exec",
        &c.id,
        "cat",
        "/sys/fs/cgroup/pids.max",
        "/proc/self/cgroup",
    ];
    let inside = s.rt_ok(&args)?.stdout;
    let mut words = inside.split_whitespace();
    ensure(words.next() == Some("50"), || {
        format!("in the container, /sys/fs/cgroup/pids.max and its cgroup: {inside}")
    })?;
    let own = words.next().unwrap_or_default();
    if !s.ctx.is_cella {
        println!("# runc: the container's /proc/self/cgroup: {own}");
        return Ok(());
    }
    ensure(own == "0::/", || {
        format!("the container's cgroup namespace is not rooted at its scope: {own}")
    })
}

fn check_scope(s: &Session<'_>, c: &Ctn<'_>, unit: &str, dir: &Path) -> TestResult {
    let st = s.rt_ok(&["state", &c.id])?.stdout;
    let pid = serde_json::from_str::<serde_json::Value>(&st)
        .ok()
        .and_then(|v| v["pid"].as_i64())
        .ok_or_else(|| format!("state has no pid: {st}"))? as i32;
    let rel = dir.strip_prefix("/sys/fs/cgroup").unwrap_or(dir);
    let want = format!("0::/{}", rel.display());
    let got = proc_cgroup(pid);
    ensure(got.trim() == want, || {
        format!("the init is in {}, not {want}", got.trim())
    })?;
    let shown = s.show(
        unit,
        &["Delegate", "MemoryMax", "TasksMax", "ActiveState", "Slice"],
    )?;
    expect_props(
        &shown,
        &[
            "Delegate=yes",
            "MemoryMax=104857600",
            "TasksMax=50",
            "ActiveState=active",
            "Slice=user.slice",
        ],
    )?;
    ensure(
        read(&dir.join("memory.max")) == "104857600" && read(&dir.join("pids.max")) == "50",
        || {
            format!(
                "limits in {}: memory.max {}, pids.max {}",
                dir.display(),
                read(&dir.join("memory.max")),
                read(&dir.join("pids.max"))
            )
        },
    )?;
    s.rt_ok(&["start", &c.id])?;
    check_inside(s, c)?;
    s.rt_ok(&[
        "update",
        "--memory",
        "209715200",
        "--pids-limit",
        "60",
        &c.id,
    ])?;
    let shown = s.show(unit, &["MemoryMax", "TasksMax"])?;
    expect_props(&shown, &["MemoryMax=209715200", "TasksMax=60"])?;
    ensure(
        read(&dir.join("memory.max")) == "209715200" && read(&dir.join("pids.max")) == "60",
        || format!("update did not reach the files of {}", dir.display()),
    )?;
    s.rt_ok(&["pause", &c.id])?;
    let frozen = read(&dir.join("cgroup.freeze"));
    s.rt_ok(&["resume", &c.id])?;
    ensure(
        frozen == "1" && read(&dir.join("cgroup.freeze")) == "0",
        || {
            format!(
                "pause/resume: cgroup.freeze was {frozen}, then {}",
                read(&dir.join("cgroup.freeze"))
            )
        },
    )?;
    let ps = s.rt_ok(&["ps", &c.id])?.stdout;
    ensure(
        ps.lines()
            .any(|l| l.split_whitespace().any(|f| f == pid.to_string())),
        || format!("ps does not list the init {pid}:\n{ps}"),
    )?;
    let stats = s.rt_ok(&["events", "--stats", &c.id])?.stdout;
    ensure(
        stats.contains("\"type\":\"stats\"") && stats.contains("\"pids\""),
        || format!("events --stats: {stats}"),
    )?;
    s.rt_ok(&["kill", "--all", &c.id, "KILL"])?;
    let stopped = wait_until(Duration::from_secs(10), || {
        s.rt(&["state", &c.id])
            .is_ok_and(|o| o.stdout.contains("\"stopped\""))
    });
    ensure(stopped, || {
        format!("{} did not stop after kill --all", c.id)
    })
}

/// A limit whose controller the manager was not delegated: cella refuses
/// it naming the field; runc's outcome is shown, not judged. Nothing is
/// left either way.
fn undelegated_limit(ctx: &Ctx, s: &Session<'_>) -> TestResult {
    let delegated = read(&s.manager_dir.join("cgroup.controllers"));
    let (resource, field) = match ["cpu", "io", "cpuset"]
        .into_iter()
        .find(|c| !delegated.split_whitespace().any(|d| d == *c))
    {
        Some("cpu") => (
            json!({"cpu": {"quota": 50000, "period": 100000}}),
            "linux.resources.cpu.quota",
        ),
        Some("io") => (
            json!({"blockIO": {"weight": 500}}),
            "linux.resources.blockIO.weight",
        ),
        Some(_) => (json!({"cpu": {"cpus": "0"}}), "linux.resources.cpu.cpus"),
        None => return Ok(()),
    };
    let mut cfg = config::base(ctx, &["sleep", "1000"]);
    cfg["linux"]["resources"] = resource;
    let c = Ctn::new(ctx, "undelegated", &cfg)?;
    let b = c.bundle_str();
    let out = s.rt(&["create", "--bundle", &b, &c.id])?;
    if ctx.is_cella {
        ensure(
            out.code != 0 && out.stderr.contains(field) && out.stderr.contains("not delegated"),
            || {
                format!(
                    "a limit of a controller the manager lacks ({delegated} delegated): {}",
                    out.describe()
                )
            },
        )?;
    } else {
        println!(
            "# runc, a {field} limit with {delegated} delegated: {}",
            out.describe()
        );
    }
    let _ = s.rt(&["delete", "--force", &c.id]);
    nothing_left(ctx, &c)
}
