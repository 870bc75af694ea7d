//! The lifecycle as an unprivileged user: `spec --rootless`, the state
//! directory under `$XDG_RUNTIME_DIR`, create/start/state/kill/delete,
//! `run`, `exec`, `ps`, and killing every process without a cgroup.

use std::time::Duration;

use serde_json::{json, Value};

use crate::config;
use crate::harness::{alive, ensure, ns_link, proc_uid, wait_until, Ctn, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    vec![
        Test::new("lifecycle", "spec_rootless_runs", spec_rootless_runs),
        Test::new(
            "lifecycle",
            "state_under_xdg_runtime_dir",
            state_under_xdg_runtime_dir,
        ),
        Test::new(
            "lifecycle",
            "no_xdg_runtime_dir_is_an_error",
            no_xdg_runtime_dir_is_an_error,
        ),
        Test::new(
            "lifecycle",
            "run_passes_the_exit_code",
            run_passes_the_exit_code,
        ),
        Test::new(
            "lifecycle",
            "detached_run_with_a_preserved_fd",
            detached_run_with_a_preserved_fd,
        ),
        Test::new("lifecycle", "rootless_flag", rootless_flag),
        Test::new(
            "lifecycle",
            "exec_joins_the_container",
            exec_joins_the_container,
        ),
        Test::new(
            "lifecycle",
            "kill_all_without_a_cgroup",
            kill_all_without_a_cgroup,
        ),
        Test::new(
            "lifecycle",
            "delete_force_kills_everything",
            delete_force_kills_everything,
        ),
        Test::new(
            "lifecycle",
            "recycled_pid_not_signalled",
            recycled_pid_not_signalled,
        ),
    ]
}

/// The config `spec --rootless` writes is a rootless one, and it runs
/// as it is (but for the terminal and the command).
fn spec_rootless_runs(ctx: &Ctx) -> TestResult {
    let c = Ctn::without_config(ctx, "")?;
    ctx.rt_ok(&["spec", "--rootless", "--bundle", &c.bundle_str()])?;
    let path = c.bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut cfg: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let linux = &cfg["linux"];
    let kinds: Vec<&str> = linux["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["type"].as_str())
        .collect();
    ensure(
        kinds.contains(&"user") && !kinds.contains(&"network"),
        || format!("namespaces {kinds:?}: want user, no network"),
    )?;
    ensure(
        linux["uidMappings"][0]["hostID"] == ctx.user.uid
            && linux["gidMappings"][0]["hostID"] == ctx.user.gid
            && linux["uidMappings"][0]["size"] == 1,
        || format!("mappings {} {}", linux["uidMappings"], linux["gidMappings"]),
    )?;
    ensure(linux.get("resources").is_none_or(|r| r.is_null()), || {
        format!("resources {}", linux["resources"])
    })?;
    for m in cfg["mounts"].as_array().into_iter().flatten() {
        let opts: Vec<&str> = m["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_str())
            .collect();
        ensure(
            !opts
                .iter()
                .any(|o| o.starts_with("gid=") || o.starts_with("uid=")),
            || format!("mount {m}: uid=/gid= options cannot be mapped"),
        )?;
        if m["destination"] == "/sys" {
            ensure(opts.contains(&"rbind"), || {
                format!("/sys must be bound: {m}")
            })?;
        }
    }
    cfg["process"]["terminal"] = json!(false);
    cfg["process"]["args"] = json!(["sh", "-c", "id -u; cat /proc/self/uid_map"]);
    c.write_config(&cfg)?;
    let out = c.run()?.ok("run")?;
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    ensure(words == ["0", "0", &ctx.user.uid.to_string(), "1"], || {
        format!("want uid 0 mapped to {}: {}", ctx.user.uid, out.stdout)
    })
}

/// Without `--root` the state goes to `$XDG_RUNTIME_DIR/<runtime>/<id>`,
/// owned by the user; the init runs as the user outside, as root inside.
fn state_under_xdg_runtime_dir(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "", &config::base(ctx, &["sleep", "1000"]))?;
    c.create_ok()?;
    let dir = ctx.state_root().join(&c.id);
    let meta = std::fs::metadata(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    ensure(
        std::os::unix::fs::MetadataExt::uid(&meta) == ctx.user.uid,
        || format!("{} is not the user's", dir.display()),
    )?;
    let st = c.state()?;
    ensure(st["status"] == "created", || format!("state {st}"))?;
    if ctx.is_cella {
        ensure(st["owner"] == ctx.user.name.as_str(), || {
            format!("owner in {st}")
        })?;
    }
    let pid = c.pid()?;
    ensure(proc_uid(pid) == Some(ctx.user.uid), || {
        format!("init {pid} runs as uid {:?} outside", proc_uid(pid))
    })?;
    ensure(
        ns_link(pid, "user") != ns_link(std::process::id() as i32, "user"),
        || "the init shares the host's user namespace".into(),
    )?;
    ctx.rt_ok(&["start", &c.id])?;
    c.wait_status("running")?;
    ctx.rt_ok(&["kill", &c.id, "KILL"])?;
    c.wait_status("stopped")?;
    ctx.rt_ok(&["delete", &c.id])?;
    ensure(!dir.exists(), || {
        format!("{} left after delete", dir.display())
    })
}

/// An unprivileged user without `XDG_RUNTIME_DIR` has no state directory:
/// cella says so instead of failing on `/run/cella`.
fn no_xdg_runtime_dir_is_an_error(ctx: &Ctx) -> TestResult {
    if !ctx.is_cella {
        return Err(crate::harness::skip("checks cella's message"));
    }
    let mut cmd = ctx.rt_cmd(&["list"]);
    cmd.env_remove("XDG_RUNTIME_DIR");
    let out = ctx.exec(cmd, None, crate::harness::RUNTIME_TIMEOUT)?;
    ensure(
        out.code == 1 && out.stderr.contains("XDG_RUNTIME_DIR"),
        || format!("want exit 1 naming XDG_RUNTIME_DIR: {}", out.describe()),
    )?;
    let mut cmd = ctx.rt_cmd(&["list"]);
    cmd.env_remove("XDG_RUNTIME_DIR")
        .arg("--root")
        .arg(ctx.xdg.join("explicit"));
    ctx.exec(cmd, None, crate::harness::RUNTIME_TIMEOUT)?
        .ok("list with --root")
        .map(|_| ())
}

fn run_passes_the_exit_code(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(
        ctx,
        "",
        &config::base(ctx, &["sh", "-c", "echo out; exit 7"]),
    )?;
    let out = c.run()?;
    ensure(out.code == 7 && out.stdout.trim() == "out", || {
        format!("want exit 7 and \"out\": {}", out.describe())
    })
}

/// `run --detach --pid-file --preserve-fds 1`: the container writes to
/// the fd the user's shell opened, and outlives the runtime.
fn detached_run_with_a_preserved_fd(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(
        ctx,
        "",
        &config::base(ctx, &["sh", "-c", "echo through-fd3 >&3; exec sleep 1000"]),
    )?;
    let dir = ctx.user_dir("preserve")?;
    let (out, pid_file) = (dir.join("fd3"), dir.join("pid"));
    let line = format!(
        "exec 3>>{}; exec {} run --detach --preserve-fds 1 --pid-file {} --bundle {} {}",
        crate::harness::shell_quote(&out.to_string_lossy()),
        crate::harness::shell_quote(&ctx.runtime.to_string_lossy()),
        crate::harness::shell_quote(&pid_file.to_string_lossy()),
        crate::harness::shell_quote(&c.bundle_str()),
        c.id
    );
    let mut cmd = ctx.user_cmd("sh");
    cmd.args(["-c", &line]);
    ctx.exec(cmd, None, crate::harness::RUNTIME_TIMEOUT)?
        .ok("run --detach")?;
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .map_err(|e| format!("pid file: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("pid file: {e}"))?;
    ensure(pid == c.pid()? && alive(pid), || {
        format!("pid file {pid} is not the live init")
    })?;
    let mut text = String::new();
    wait_until(Duration::from_secs(5), || {
        text = std::fs::read_to_string(&out).unwrap_or_default();
        !text.is_empty()
    });
    ensure(text == "through-fd3\n", || format!("fd 3 got {text:?}"))
}

/// `--rootless true` is what auto means for an unprivileged user; a
/// value other than true, false or auto is refused.
fn rootless_flag(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "", &config::base(ctx, &["true"]))?;
    let b = c.bundle_str();
    ctx.rt_ok(&["--rootless", "true", "run", "--bundle", &b, &c.id])?;
    let out = ctx.rt(&["--rootless", "maybe", "list"])?;
    ensure(out.code != 0, || {
        format!("--rootless maybe accepted: {}", out.describe())
    })?;
    if ctx.is_cella {
        ensure(out.stderr.contains("auto"), || {
            format!("want the choices named: {}", out.describe())
        })?;
    }
    Ok(())
}

/// An exec'd process is in the container's namespaces, root inside and
/// the user outside; `ps` finds it with the init (by the pid namespace:
/// there is no cgroup of the container's own here).
fn exec_joins_the_container(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "", &config::base(ctx, &["sleep", "1000"]))?;
    c.start_new()?;
    let init = c.pid()?;
    let out = ctx.rt_ok(&[
        "exec",
        &c.id,
        "sh",
        "-c",
        "id -u; readlink /proc/self/ns/user; hostname",
    ])?;
    let lines: Vec<&str> = out.stdout.lines().collect();
    let want_ns = ns_link(init, "user").unwrap_or_default();
    ensure(lines == ["0", want_ns.as_str(), "rootless"], || {
        format!("want 0, {want_ns}, rootless: {:?}", lines)
    })?;
    let pid_file = ctx.user_dir("exec")?.join("pid");
    ctx.rt_ok(&[
        "exec",
        "--detach",
        "--pid-file",
        &pid_file.to_string_lossy(),
        &c.id,
        "sleep",
        "999",
    ])?;
    let text = std::fs::read_to_string(&pid_file).map_err(|e| e.to_string())?;
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("pid file: {text:?}"))?;
    ensure(proc_uid(pid) == Some(ctx.user.uid), || {
        format!("exec'd {pid} uid {:?}", proc_uid(pid))
    })?;
    ensure(ns_link(pid, "pid") == ns_link(init, "pid"), || {
        "not in the container's pid namespace".into()
    })?;
    let ps = ctx.rt(&["ps", "--format", "json", &c.id])?;
    if ctx.is_cella || ps.code == 0 {
        let ps = ps.ok("ps")?;
        let pids: Vec<i64> =
            serde_json::from_str(&ps.stdout).map_err(|e| format!("ps: {e}: {}", ps.stdout))?;
        ensure(
            pids.contains(&i64::from(init)) && pids.contains(&i64::from(pid)),
            || format!("ps {pids:?} lacks {init} or {pid}"),
        )?;
    }
    Ok(())
}

/// `kill --all` reaches exec'd processes too, without a cgroup.
fn kill_all_without_a_cgroup(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(
        ctx,
        "",
        &config::base(ctx, &["sh", "-c", "trap '' TERM; sleep 1000 & wait"]),
    )?;
    c.start_new()?;
    let init = c.pid()?;
    ctx.rt_ok(&[
        "exec",
        "--detach",
        &c.id,
        "sh",
        "-c",
        "trap '' TERM; sleep 998",
    ])?;
    let members = |ns: &Option<String>| -> Vec<i32> {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|p| ns.is_some() && ns_link(*p, "pid") == *ns)
            .collect()
    };
    let ns = ns_link(init, "pid");
    // sh and its sleep, and the exec'd sleep (sh execs its last command).
    ensure(
        wait_until(Duration::from_secs(5), || members(&ns).len() >= 3),
        || format!("want 3 processes in the container: {:?}", members(&ns)),
    )?;
    let all = members(&ns);
    ctx.rt_ok(&["kill", "--all", &c.id, "USR1"])?;
    ensure(
        wait_until(Duration::from_secs(5), || all.iter().all(|p| !alive(*p))),
        || {
            format!(
                "SIGUSR1 left {:?} alive",
                all.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
            )
        },
    )?;
    c.wait_status("stopped")?;
    ctx.rt_ok(&["delete", &c.id]).map(|_| ())
}

/// `delete --force` of a running container kills its exec'd processes.
fn delete_force_kills_everything(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "", &config::base(ctx, &["sleep", "1000"]))?;
    c.start_new()?;
    let init = c.pid()?;
    let pid_file = ctx.user_dir("delete")?.join("pid");
    ctx.rt_ok(&[
        "exec",
        "-d",
        "--pid-file",
        &pid_file.to_string_lossy(),
        &c.id,
        "sleep",
        "997",
    ])?;
    let text = std::fs::read_to_string(&pid_file).map_err(|e| e.to_string())?;
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("pid file: {text:?}"))?;
    ctx.rt_ok(&["delete", "--force", &c.id])?;
    ensure(!alive(init) && !alive(pid), || {
        format!(
            "alive after delete: init {} exec {}",
            alive(init),
            alive(pid)
        )
    })?;
    let dir = ctx.state_root().join(&c.id);
    ensure(!dir.exists(), || format!("{} left", dir.display()))
}

/// A pid in the state file that now names another process of the user
/// (the init died and its number was reused) is never signalled, neither
/// itself nor, for `kill --all` of a container without a cgroup of its own,
/// the processes of its pid namespace (here the host's: a runtime that took
/// the recycled pid's namespace for the container's signalled every process
/// of the user). The test kills the init behind the runtime's back, starts a
/// process of the user's and writes its pid into the state file in place of
/// the init's, leaving the recorded start time as it was.
fn recycled_pid_not_signalled(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "", &config::base(ctx, &["sleep", "1000"]))?;
    c.create_ok()?;
    let init = c.pid()?;
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &init.to_string()])
        .status();
    wait_until(Duration::from_secs(5), || !alive(init));
    let mut other = ctx
        .user_cmd("sleep")
        .arg("1000")
        .spawn()
        .map_err(|e| format!("spawn sleep as the user: {e}"))?;
    let result = (|| {
        let file = ctx.state_root().join(&c.id).join("state.json");
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut state: Value =
            serde_json::from_str(&text).map_err(|e| format!("state.json: {e}"))?;
        let key = ["pid", "init_process_pid"]
            .into_iter()
            .find(|k| state.get(*k).is_some_and(Value::is_number))
            .ok_or("state.json has no pid field this test knows (pid, init_process_pid)")?;
        state[key] = json!(other.id());
        // Written in place: the file keeps its owner, the user.
        std::fs::write(&file, state.to_string()).map_err(|e| format!("{}: {e}", file.display()))?;
        let _ = ctx.rt(&["kill", "--all", &c.id, "KILL"])?;
        let _ = ctx.rt(&["kill", &c.id, "KILL"])?;
        let _ = ctx.rt(&["delete", "--force", &c.id])?;
        ensure(matches!(other.try_wait(), Ok(None)), || {
            format!(
                "the user's process {} (the recycled pid) was killed",
                other.id()
            )
        })
    })();
    let _ = other.kill();
    let _ = other.wait();
    result
}
