//! Hooks (config.md "POSIX-platform Hooks", runtime-spec 1.2): each hook records its name,
//! its mount, network and pid namespaces and its stdin (the state JSON), which the test checks
//! against the spec's table — order prestart, createRuntime, createContainer, startContainer,
//! poststart, poststop; createContainer and startContainer in the container's namespaces, the
//! others in the runtime's; the state's status at each moment and its pid as seen from the
//! hook's pid namespace (1 inside the container's). Also: a failing createRuntime
//! hook aborts create, failing poststart and poststop hooks are only warnings, `timeout` kills
//! a hook and fails create, `env` is exactly the config's and `args[0]` is argv[0].

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bundle::{add_mount, base_config, sh, DEFAULT_PATH};
use crate::harness::{
    ensure, ensure_eq, find_cgroup_dirs, find_processes, ns_link, proc_alive, wait_until, Ctn, Ctx,
    Output, TestResult,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("hooks", name, f);
    vec![
        t("order_namespaces_state", order_namespaces_state),
        t("create_runtime_failure", create_runtime_failure),
        t("prestart_failure", prestart_failure),
        t("poststart_failure_stops", poststart_failure_stops),
        t("poststop_failure_warns", poststop_failure_warns),
        t(
            "failed_create_poststop_failure_warns",
            failed_create_poststop_failure_warns,
        ),
        t(
            "start_container_failure_poststop",
            start_container_failure_poststop,
        ),
        t("timeout", timeout),
        t("env_and_args", env_and_args),
    ]
}

/// The recording hook: `hook.sh NAME LOGDIR` appends `BEGIN NAME`, `mnt|net|pid LINK`
/// lines, `STATE`, its stdin, and `END` to LOGDIR/log.
/// The record is appended with one write: the user process and the poststart hook run at the
/// same time and append to the same log, and records written line by line interleave.
const HOOK_SCRIPT: &str = r#"#!/bin/sh
log="$2/log"
ns=""
for n in mnt net pid; do ns="$ns$n $(readlink /proc/self/ns/$n)
"; done
state=$(cat)
printf 'BEGIN %s\n%sSTATE\n%s\nEND\n' "$1" "$ns" "$state" >> "$log"
"#;

const HOOK_ENV: &str = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

/// The six hook kinds in the order runtime-spec 1.2 runs them.
const ORDER: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// One record of the log.
#[derive(Debug, Default)]
struct Record {
    name: String,
    ns: Vec<(String, String)>,
    state: String,
}

fn parse_log(text: &str) -> Vec<Record> {
    let mut v = Vec::new();
    let mut cur: Option<Record> = None;
    let mut in_state = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("BEGIN ") {
            cur = Some(Record {
                name: name.to_string(),
                ..Record::default()
            });
            in_state = false;
        } else if line == "END" {
            v.extend(cur.take());
        } else if let Some(r) = cur.as_mut() {
            if in_state {
                r.state.push_str(line);
                r.state.push('\n');
            } else if line == "STATE" {
                in_state = true;
            } else if let Some((k, l)) = line.split_once(' ') {
                r.ns.push((k.to_string(), l.to_string()));
            }
        }
    }
    v
}

/// Writes the recording hook at `<bundle>/hook.sh` and a copy at the same absolute path
/// inside the rootfs, so that the path resolves in the runtime's and in the container's mount
/// namespace; returns the path.
fn install_hook(c: &Ctn) -> Result<String, String> {
    let host = c.bundle.join("hook.sh");
    let inside = c
        .rootfs()
        .join(c.bundle.strip_prefix("/").unwrap_or(&c.bundle))
        .join("hook.sh");
    for p in [&host, &inside] {
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        }
        fs::write(p, HOOK_SCRIPT).map_err(|e| format!("{}: {e}", p.display()))?;
        fs::set_permissions(p, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", p.display()))?;
    }
    Ok(host.to_string_lossy().into_owned())
}

/// Whatever `create` left of container `c`: a working `state`, the state dir, processes,
/// cgroup directories named after the id.
pub fn leftovers_of(ctx: &Ctx, c: &Ctn) -> Result<Vec<String>, String> {
    let mut left = Vec::new();
    let st = ctx.rt(&["state", &c.id])?;
    if st.code == 0 {
        left.push(format!("state works: {}", st.stdout.trim()));
    }
    let dir = ctx.root.join(&c.id);
    if dir.exists() {
        left.push(format!("state dir {}", dir.display()));
    }
    let ids: BTreeSet<String> = [c.id.clone()].into_iter().collect();
    let none = BTreeSet::new();
    let gone = wait_until(Duration::from_secs(2), || {
        find_processes(&ids, &none, &c.bundle).is_empty()
    });
    if !gone {
        left.push(format!(
            "processes {:?}",
            find_processes(&ids, &none, &c.bundle)
        ));
    }
    let cgroups = find_cgroup_dirs(&ids);
    if !cgroups.is_empty() {
        left.push(format!("cgroups {cgroups:?}"));
    }
    Ok(left)
}

/// The full table: every kind of hook records itself; the user process records itself too.
fn order_namespaces_state(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let hook = install_hook(&c)?;
    let logdir = c.bundle.join("hooklog");
    fs::create_dir(&logdir).map_err(|e| format!("mkdir {}: {e}", logdir.display()))?;
    let logdir = logdir.to_string_lossy().into_owned();
    let mut cfg = sh(&format!(
        "printf 'BEGIN process\\nEND\\n' >> {logdir}/log; exec sleep 1000"
    ));
    // The log's directory at the same path inside, for the hooks run in the container.
    add_mount(
        &mut cfg,
        json!({"destination": logdir, "type": "bind", "source": logdir,
               "options": ["rbind", "rw"]}),
    );
    let mut hooks = json!({});
    for name in ORDER {
        hooks[*name] = json!([{
            "path": hook, "args": ["hook.sh", name, logdir], "env": [HOOK_ENV]
        }]);
    }
    cfg["hooks"] = hooks;
    c.write_config(&cfg)?;
    c.start_new()?;
    let init = c.pid()?;
    let init_s = init.to_string();
    let mut container_ns = Vec::new();
    let mut runtime_ns = Vec::new();
    for n in ["mnt", "net", "pid"] {
        container_ns.push((n.to_string(), ns_link(&init_s, n)?));
        runtime_ns.push((n.to_string(), ns_link("self", n)?));
    }
    ensure(container_ns != runtime_ns, || {
        "the container shares the runtime's namespaces".to_string()
    })?;
    ctx.rt_ok(&["kill", &c.id, "KILL"])?;
    c.wait_status("stopped")?;
    ctx.rt_ok(&["delete", &c.id])?;

    let log_path = Path::new(&logdir).join("log");
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    let records = parse_log(&text);
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    let hooks_run: Vec<&str> = names.iter().copied().filter(|n| *n != "process").collect();
    // Every difference is reported, not only the first.
    let mut errors = Vec::new();
    if hooks_run != ORDER {
        errors.push(format!("hooks run: {hooks_run:?}, want {ORDER:?}"));
    }
    let pos = |n: &str| names.iter().position(|x| *x == n);
    if pos("process").is_none() || pos("startContainer") > pos("process") {
        errors.push(format!(
            "the user process did not run after the startContainer hook: {names:?}"
        ));
    }
    for r in records.iter().filter(|r| r.name != "process") {
        let in_container = matches!(r.name.as_str(), "createContainer" | "startContainer");
        let (want_ns, whose) = if in_container {
            (&container_ns, "the container's")
        } else {
            (&runtime_ns, "the runtime's")
        };
        if &r.ns != want_ns {
            errors.push(format!(
                "{}: namespaces {:?}, want {whose} {:?}",
                r.name, r.ns, want_ns
            ));
        }
        let st: Value = match serde_json::from_str(r.state.trim()) {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!(
                    "{}: stdin is not JSON ({e}): {:?}",
                    r.name, r.state
                ));
                continue;
            }
        };
        let want_status = match r.name.as_str() {
            "createRuntime" | "createContainer" => Some("creating"),
            "startContainer" => Some("created"),
            "poststart" => Some("running"),
            "poststop" => Some("stopped"),
            _ => None, // prestart: deprecated, its state is not specified
        };
        if st["id"].as_str() != Some(c.id.as_str()) {
            errors.push(format!("{}: state id {}", r.name, st["id"]));
        }
        if st["bundle"].as_str() != Some(c.bundle_str().as_str()) {
            errors.push(format!("{}: state bundle {}", r.name, st["bundle"]));
        }
        if let Some(w) = want_status {
            if st["status"].as_str() != Some(w) {
                errors.push(format!(
                    "{}: state status {}, want {w:?}",
                    r.name, st["status"]
                ));
            }
        }
        // The pid as seen where the hook runs: 1 in the container's new pid namespace.
        let want_pid = if in_container { 1 } else { i64::from(init) };
        if r.name != "poststop" && st["pid"].as_i64() != Some(want_pid) {
            errors.push(format!(
                "{}: state pid {}, want {want_pid} (the init as seen from {whose} pid namespace)",
                r.name, st["pid"]
            ));
        }
    }
    ensure(errors.is_empty(), || errors.join("\n"))
}

/// A hook entry running `sh -c script` from the host's /bin/sh.
fn sh_hook(script: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", script], "env": [HOOK_ENV]})
}

/// A createRuntime hook that exits 3 makes create fail with exit code 1, and nothing of the
/// container is left.
fn create_runtime_failure(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["hooks"] = json!({"createRuntime": [sh_hook("exit 3")]});
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    ensure_eq(
        out.code,
        1,
        &format!(
            "create with a failing createRuntime hook ({})",
            out.describe()
        ),
    )?;
    let left = leftovers_of(ctx, &c)?;
    ensure(left.is_empty(), || {
        format!("left after the failed create: {}", left.join("; "))
    })
}

/// A prestart hook that exits 3 makes create fail with exit code 1, nothing of the container
/// is left, and the lifecycle goes on at step 12: the poststop hooks run (step 13), with the
/// state of a stopped container.
fn prestart_failure(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mark = c.bundle.join("poststop.ran");
    create_with_failing_prestart(
        ctx,
        &c,
        json!([sh_hook(&format!("cat > '{}'", mark.display()))]),
    )?;
    let state = std::fs::read_to_string(&mark).map_err(|e| {
        format!("the poststop hook did not run after the failed prestart hook ({e})")
    })?;
    let v: serde_json::Value = serde_json::from_str(&state)
        .map_err(|e| format!("poststop hook state is not JSON ({e}): {state}"))?;
    ensure_eq(
        v["id"].as_str(),
        Some(c.id.as_str()),
        "id in the poststop state",
    )
}

/// Creates `c` with a prestart hook that exits 3 and the given poststop hooks: create must
/// exit 1 and leave nothing of the container. Returns create's output.
fn create_with_failing_prestart(ctx: &Ctx, c: &Ctn, poststop: Value) -> Result<Output, String> {
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["hooks"] = json!({"prestart": [sh_hook("exit 3")], "poststop": poststop});
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    ensure_eq(
        out.code,
        1,
        &format!("create with a failing prestart hook ({})", out.describe()),
    )?;
    let left = leftovers_of(ctx, c)?;
    ensure(left.is_empty(), || {
        format!("left after the failed create: {}", left.join("; "))
    })?;
    Ok(out)
}

/// The state a poststop hook wrote to `mark` (its stdin): a stopped container `c`.
fn poststop_state(c: &Ctn, mark: &Path, after: &str) -> TestResult {
    let state = fs::read_to_string(mark)
        .map_err(|e| format!("the poststop hook did not run after {after} ({e})"))?;
    let v: Value = serde_json::from_str(&state)
        .map_err(|e| format!("poststop hook state is not JSON ({e}): {state}"))?;
    ensure_eq(
        v["id"].as_str(),
        Some(c.id.as_str()),
        "id in the poststop state",
    )?;
    ensure_eq(
        v["status"].as_str(),
        Some("stopped"),
        "status in the poststop state",
    )
}

/// A failed create (its prestart hook exits 3) runs its poststop hooks; the first fails (exit
/// 4), which is a warning: the second still runs, create fails with the prestart error and
/// leaves nothing. Under `--check-messages` the warning must name `hooks.poststop[0]` on
/// stderr (cella's form, as `delete` logs it).
fn failed_create_poststop_failure_warns(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mark = c.bundle.join("poststop.ran");
    let out = create_with_failing_prestart(
        ctx,
        &c,
        json!([
            sh_hook("exit 4"),
            sh_hook(&format!("cat > '{}'", mark.display()))
        ]),
    )?;
    poststop_state(&c, &mark, "a failing poststop hook of a failed create")?;
    if ctx.check_messages {
        ensure(out.stderr.contains("hooks.poststop[0]"), || {
            format!(
                "no warning naming hooks.poststop[0] on stderr: {}",
                out.stderr.trim()
            )
        })?;
    }
    Ok(())
}

/// A failing startContainer hook fails `start` and stops the container (step 7 goes on at
/// step 12); the poststop hooks run (step 13) by the time the container is deleted (by the
/// failed start itself, or by the `delete` that follows), with the state of a stopped
/// container.
fn start_container_failure_poststop(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mark = c.bundle.join("poststop.ran");
    let mut cfg = sh("touch /ran; sleep 1000");
    cfg["hooks"] = json!({
        "startContainer": [sh_hook("exit 3")],
        "poststop": [sh_hook(&format!("cat > '{}'", mark.display()))],
    });
    c.write_config(&cfg)?;
    c.create_ok()?;
    let out = ctx.rt(&["start", &c.id])?;
    ensure(out.code != 0, || {
        format!(
            "start succeeded despite a failing startContainer hook: {}",
            out.describe()
        )
    })?;
    if c.state().is_ok() {
        c.wait_status("stopped")?;
        ctx.rt_ok(&["delete", &c.id])?;
    }
    ensure(!c.rootfs().join("ran").exists(), || {
        "the user program ran".to_string()
    })?;
    poststop_state(&c, &mark, "a failed startContainer hook and delete")?;
    let left = leftovers_of(ctx, &c)?;
    ensure(left.is_empty(), || {
        format!("left after delete: {}", left.join("; "))
    })
}

/// runtime-spec 1.3 (runtime.md step 9): a failing poststart hook fails `start`, the container
/// is stopped, and the lifecycle continues at delete, which runs the poststop hooks (runc main
/// kills the container the same way).
fn poststart_failure_stops(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = base_config(&["sleep", "1000"]);
    let marker = c.bundle.join("poststop-ran");
    cfg["hooks"] = json!({
        "poststart": [sh_hook("exit 3"), sh_hook("echo second > /dev/null")],
        "poststop": [sh_hook(&format!("touch {}", marker.display()))],
    });
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    ensure_eq(out.code, 0, &format!("create ({})", out.describe()))?;
    let out = ctx.rt(&["start", &c.id])?;
    ensure(out.code != 0, || {
        format!(
            "start with a failing poststart hook should fail: {}",
            out.describe()
        )
    })?;
    ensure(
        !ctx.check_messages || out.stderr.contains("poststart"),
        || {
            format!(
                "start: stderr should name the poststart hook: {}",
                out.describe()
            )
        },
    )?;
    ensure_eq(
        c.status()?,
        "stopped".to_string(),
        "status after the failed start",
    )?;
    let out = ctx.rt(&["delete", &c.id])?;
    ensure_eq(out.code, 0, &format!("delete ({})", out.describe()))?;
    ensure(marker.exists(), || {
        "delete did not run the poststop hook".to_string()
    })?;
    let left = leftovers_of(ctx, &c)?;
    ensure(left.is_empty(), || {
        format!("left after delete: {}", left.join("; "))
    })
}

/// A failing poststop hook is a warning: delete succeeds and removes the container.
fn poststop_failure_warns(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = base_config(&["true"]);
    cfg["hooks"] = json!({"poststop": [sh_hook("exit 3")]});
    c.write_config(&cfg)?;
    c.start_new()?;
    c.wait_status("stopped")?;
    let out = ctx.rt(&["delete", &c.id])?;
    ensure_eq(
        out.code,
        0,
        &format!("delete with a failing poststop hook ({})", out.describe()),
    )?;
    let left = leftovers_of(ctx, &c)?;
    ensure(left.is_empty(), || {
        format!("left after delete: {}", left.join("; "))
    })
}

/// A createRuntime hook that outlives its `timeout` (1 s) is killed and create fails, well
/// before the hook would have ended, leaving nothing.
fn timeout(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let pidfile = c.bundle.join("hook.pid");
    let mut hook = sh_hook(&format!("echo $$ > {}; exec sleep 30", pidfile.display()));
    hook["timeout"] = json!(1);
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["hooks"] = json!({"createRuntime": [hook]});
    c.write_config(&cfg)?;
    let t0 = Instant::now();
    let out = c.create(&[])?;
    let took = t0.elapsed();
    ensure(out.code != 0, || {
        "create succeeded although its hook timed out".to_string()
    })?;
    ensure(took < Duration::from_secs(15), || {
        format!("create took {took:?} with a hook timeout of 1 s")
    })?;
    let pid: i32 = fs::read_to_string(&pidfile)
        .map_err(|e| format!("the hook did not run: {}: {e}", pidfile.display()))?
        .trim()
        .parse()
        .map_err(|_| "bad hook pid file".to_string())?;
    let dead = wait_until(Duration::from_secs(3), || !proc_alive(pid));
    ensure(dead, || format!("the timed-out hook {pid} is still alive"))?;
    let left = leftovers_of(ctx, &c)?;
    ensure(left.is_empty(), || {
        format!("left after the failed create: {}", left.join("; "))
    })
}

/// A hook's environment is exactly its `env` (the kernel's copy in /proc/<pid>/environ) and
/// its argv is exactly `args`, `args[0]` included (not the path).
fn env_and_args(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let dir = c.bundle_str();
    // `exit 0` last: a shell may exec its last command in place, which would change the
    // cmdline of `$$`.
    let script =
        format!("cat /proc/$$/environ > {dir}/env; cat /proc/$$/cmdline > {dir}/argv; exit 0");
    let env = [DEFAULT_PATH, "ST_A=1", "ST_B=two words"];
    // argv[0] "ash", not the path's "sh": a shell under either name (busybox, whose /bin/sh
    // picks the applet by argv[0], as well as dash or bash).
    let args = ["ash", "-c", script.as_str(), "x", "y z"];
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": args, "env": env}]});
    c.write_config(&cfg)?;
    c.create_ok()?;
    let read = |f: &str| {
        let p = c.bundle.join(f);
        fs::read_to_string(&p).map_err(|e| format!("the hook did not run: {}: {e}", p.display()))
    };
    // NUL-terminated strings.
    let split = |t: &str| -> Vec<String> {
        t.strip_suffix('\0')
            .unwrap_or(t)
            .split('\0')
            .map(String::from)
            .collect()
    };
    let mut got_env = split(&read("env")?);
    got_env.sort();
    let mut want_env: Vec<String> = env.iter().map(|s| s.to_string()).collect();
    want_env.sort();
    ensure_eq(got_env, want_env, "the hook's environment")?;
    ensure_eq(
        split(&read("argv")?),
        args.iter().map(|s| s.to_string()).collect(),
        "the hook's argv",
    )
}
