//! runtime-spec 1.2's scheduling fields beyond the single-value checks of `coverage.rs`:
//! `process.scheduler`, `process.ioPriority`, `process.execCPUAffinity`, `linux.personality`
//! and `linux.memoryPolicy`. runc (1.2+) is the reference where the spec is silent: an exec'd
//! process that names none of the process fields gets the container's, the container-wide
//! ones apply to it too, and values outside what the kernel takes are refused at create.
//!
//! A runtime may refuse a field it does not support (the test then passes, printing why);
//! accepting one and dropping it fails.

use serde_json::{json, Value};

use crate::bundle::{base_config, sh};
use crate::harness::{ensure, ensure_eq, Ctn, Ctx, Output, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = Test::new;
    vec![
        t("scheduling", "exec_inherits", exec_inherits),
        t("scheduling", "exec_own_wins", exec_own_wins),
        t("scheduling", "out_of_range_refused", out_of_range_refused),
    ]
}

/// What the probe prints: `uname -m`, `ionice`, nice and policy from `/proc/self/stat`, the
/// allowed CPUs.
const PROBE: &str = "uname -m; ionice; cut -d' ' -f19,41 /proc/self/stat; \
                     grep Cpus_allowed_list /proc/self/status | cut -f2";

/// A container asking for SCHED_BATCH nice 5, best-effort I/O level 4, LINUX32 and (on a
/// machine with two CPUs or more) exec'd processes on CPU 1.
fn tuned() -> Value {
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5});
    cfg["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 4});
    cfg["linux"]["personality"] = json!({"domain": "LINUX32"});
    if two_cpus() {
        cfg["process"]["execCPUAffinity"] = json!({"final": "1"});
    }
    cfg
}

fn two_cpus() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
}

/// The container running, or `None` when the runtime refused the config at create.
fn started<'a>(ctx: &'a Ctx, tag: &str, cfg: &Value) -> Result<Option<Ctn<'a>>, String> {
    let c = Ctn::new(ctx, tag)?;
    c.write_config(cfg)?;
    let out = c.create(&[])?;
    if out.code != 0 {
        println!("# refused: {}", out.stderr.trim().replace('\n', " "));
        return Ok(None);
    }
    c.start_ok()?;
    Ok(Some(c))
}

/// `exec` of the probe, with a process.json when `process` is given.
fn probe(c: &Ctn, process: Option<Value>) -> Result<Vec<String>, String> {
    let out = match process {
        None => c.ctx.rt(&["exec", &c.id, "sh", "-c", PROBE])?,
        Some(mut p) => {
            p["args"] = json!(["sh", "-c", PROBE]);
            let file = c.bundle.join("process.json");
            std::fs::write(&file, p.to_string()).map_err(|e| format!("process.json: {e}"))?;
            c.ctx
                .rt(&["exec", "--process", &file.to_string_lossy(), &c.id])?
        }
    };
    ensure_eq(out.code, 0, &format!("exec ({})", out.describe()))?;
    Ok(out.stdout.lines().map(|l| l.trim().to_string()).collect())
}

/// The first `n` lines of `got`.
fn head(got: &[String], n: usize) -> Vec<&str> {
    got.iter().take(n).map(String::as_str).collect()
}

/// A process.json naming none of the fields.
fn bare_process() -> Value {
    json!({"cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/bin:/usr/bin"]})
}

/// An exec'd process gets the container's scheduler, I/O priority, personality and exec
/// affinity, whether its process is the config's (a plain `exec`) or a process.json that
/// names none of them.
fn exec_inherits(ctx: &Ctx) -> TestResult {
    let Some(c) = started(ctx, "", &tuned())? else {
        return Ok(());
    };
    let cpus = if two_cpus() { "1" } else { "" };
    for (what, process) in [("exec", None), ("exec --process", Some(bare_process()))] {
        let got = probe(&c, process)?;
        ensure_eq(
            head(&got, 3),
            vec!["i686", "best-effort: prio 4", "5 3"],
            what,
        )?;
        if !cpus.is_empty() {
            ensure_eq(got.get(3).map(String::as_str), Some(cpus), what)?;
        }
    }
    Ok(())
}

/// A process.json's own scheduler, I/O priority and exec affinity win over the container's.
fn exec_own_wins(ctx: &Ctx) -> TestResult {
    let Some(c) = started(ctx, "", &tuned())? else {
        return Ok(());
    };
    let mut p = bare_process();
    p["scheduler"] = json!({"policy": "SCHED_OTHER", "nice": 2});
    p["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    if two_cpus() {
        p["execCPUAffinity"] = json!({"final": "0"});
    }
    let got = probe(&c, Some(p))?;
    ensure_eq(
        head(&got, 3),
        vec!["i686", "idle", "2 0"],
        "exec --process with its own",
    )?;
    if two_cpus() {
        ensure_eq(
            got.get(3).map(String::as_str),
            Some("0"),
            "its own final CPU",
        )?;
    }
    Ok(())
}

/// Values the kernel does not take are refused at create, naming the field, and leave no
/// state directory (runc's validator refuses the same).
fn out_of_range_refused(ctx: &Ctx) -> TestResult {
    let cases: [(&str, &str, Value); 5] = [
        (
            "nice",
            "process.scheduler",
            json!({"policy": "SCHED_OTHER", "nice": 30}),
        ),
        (
            "prio",
            "process.scheduler",
            json!({"policy": "SCHED_BATCH", "priority": 3}),
        ),
        (
            "io",
            "process.ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 8}),
        ),
        ("mpol", "linux.memoryPolicy", json!({"mode": "MPOL_BIND"})),
        ("aff", "process.execCPUAffinity", json!({"final": "3-1"})),
    ];
    for (tag, field, value) in cases {
        let mut cfg = sh("true");
        let (section, key) = field.split_once('.').unwrap_or((field, ""));
        cfg[section][key] = value;
        let c = Ctn::new(ctx, tag)?;
        c.write_config(&cfg)?;
        let out: Output = c.create(&[])?;
        ensure(out.code != 0, || {
            format!(
                "{field} out of range: create should fail: {}",
                out.describe()
            )
        })?;
        ensure(!ctx.check_messages || out.stderr.contains(field), || {
            format!("stderr should name {field}: {}", out.describe())
        })?;
        let state_dir = ctx.root.join(&c.id);
        ensure(!state_dir.exists(), || {
            format!("state directory left: {}", state_dir.display())
        })?;
    }
    Ok(())
}
