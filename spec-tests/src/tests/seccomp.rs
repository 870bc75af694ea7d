//! `linux.seccomp` (config-linux.md "Seccomp"): every action, `errnoRet` and
//! `defaultErrnoRet`, every argument operator, ANDed conditions and ORed entries, podman's
//! default profile, the filter with `noNewPrivileges` on and off and in `exec`'d processes, the
//! notify action answered by a test agent (`agents/seccomp_agent.py`, run with `python3`), and
//! profiles that must be refused. Each case runs busybox applets whose syscalls busybox makes
//! observably and checks the outcome from inside: the applet's error message (the errno's
//! text), its exit status (SIGSYS: 159), or `/proc/self/status`.
//!
//! The syscalls (busybox as glibc-static x86_64 builds make them): `mkdir` → mkdir,
//! `ln -s` → symlink, `chmod MODE f` → chmod(path, MODE) (argument 1), `uname` → uname (`sh`
//! calls it too when it starts, so `uname` runs as the process itself), `kill -SIG PID` →
//! kill(PID, SIG), `hostname NAME` → sethostname. Each rule also names the `*at` variant
//! (`fchmodat` with the mode as argument 2), so a busybox that uses those is filtered alike.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::bundle::{base_config, set_caps, sh, DEFAULT_CAPS};
use crate::harness::{
    ensure, mkdir_mode, run_config, skip, wait_until, Ctn, Ctx, Output, TestResult,
};
use crate::Test;

/// The test agent, written next to its socket when a test needs it.
const AGENT: &str = include_str!("../../agents/seccomp_agent.py");

/// The `linux.seccomp` object podman derives from containers-common's profile on x86_64
/// (see `fixtures/seccomp/README.md`).
const PODMAN_DEFAULT: &str = include_str!("../../../fixtures/seccomp/podman-default.json");

const EPERM: &str = "Operation not permitted";
const EACCES: &str = "Permission denied";
const ENOSPC: &str = "No space left on device";
const ENOSYS: &str = "Function not implemented";
const ENOMSG: &str = "No message of desired type";
const EIDRM: &str = "Identifier removed";

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("seccomp", name, f);
    vec![
        t("errno_ret", errno_ret),
        t("default_errno_ret", default_errno_ret),
        t("allow_list_errno_default", allow_list_errno_default),
        t("kill", kill),
        t("kill_thread", kill_thread),
        t("kill_process", kill_process),
        t("trap", trap),
        t("trace_without_tracer", trace_without_tracer),
        t("log", log),
        t("flags", flags),
        t("arg_eq", arg_eq),
        t("arg_ne", arg_ne),
        t("arg_lt", arg_lt),
        t("arg_le", arg_le),
        t("arg_ge", arg_ge),
        t("arg_gt", arg_gt),
        t("arg_masked_eq", arg_masked_eq),
        t("args_anded", args_anded),
        t("entries_ored", entries_ored),
        t("podman_default", podman_default),
        t("no_new_privileges_true", no_new_privileges_true),
        t("no_new_privileges_false", no_new_privileges_false),
        t("exec_filtered", exec_filtered),
        t("notify_agent", notify_agent),
        t(
            "notify_agent_no_new_privileges_false",
            notify_agent_no_new_privileges_false,
        ),
        t("notify_exec", notify_exec),
        t(
            "notify_without_listener_refused",
            notify_without_listener_refused,
        ),
        t("notify_sendmsg", notify_sendmsg),
        t("unknown_syscall_skipped", unknown_syscall_skipped),
        t("unknown_syscall_warns", unknown_syscall_warns),
        t("unknown_action_refused", unknown_action_refused),
        t("unknown_arch_refused", unknown_arch_refused),
    ]
}

// ---------------------------------------------------------------------------------------------
// Profiles and containers

/// A profile allowing everything but `syscalls`.
fn allow_but(syscalls: Value) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls})
}

/// `cfg` with `linux.seccomp` set.
fn with_seccomp(mut cfg: Value, seccomp: Value) -> Value {
    cfg["linux"]["seccomp"] = seccomp;
    cfg
}

/// Runs `sh -c script` under `seccomp` in the foreground.
fn run_sh(ctx: &Ctx, script: &str, seccomp: Value) -> Result<Output, String> {
    run_config(ctx, &with_seccomp(sh(script), seccomp))
}

/// Like [`run_sh`] but the container must exit 0; returns its stdout.
fn run_sh_ok(ctx: &Ctx, script: &str, seccomp: Value) -> Result<String, String> {
    let out = run_sh(ctx, script, seccomp)?;
    if out.code != 0 {
        return Err(format!("container run failed: {}", out.describe()));
    }
    Ok(out.stdout)
}

/// Requires `out` to contain every line of `want` (exactly, in any order).
fn has_lines(out: &str, want: &[&str]) -> TestResult {
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let missing: Vec<&&str> = want.iter().filter(|w| !lines.contains(w)).collect();
    ensure(missing.is_empty(), || {
        format!("output lacks the lines {missing:?}; got:\n{out}")
    })
}

/// Requires `out` to contain `text`.
fn has_text(out: &str, text: &str, what: &str) -> TestResult {
    ensure(out.contains(text), || {
        format!("{what}: want {text:?} in the output; got:\n{out}")
    })
}

/// podman's default profile with `names` removed from its allow list.
fn podman_without(names: &[&str]) -> Result<Value, String> {
    let mut p: Value =
        serde_json::from_str(PODMAN_DEFAULT).map_err(|e| format!("podman-default.json: {e}"))?;
    let entries = p["syscalls"]
        .as_array_mut()
        .ok_or("podman-default.json has no syscalls")?;
    for e in entries.iter_mut() {
        if e["action"] == "SCMP_ACT_ALLOW" {
            if let Some(list) = e["names"].as_array_mut() {
                list.retain(|n| !n.as_str().is_some_and(|n| names.contains(&n)));
            }
        }
    }
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// errno

/// `errnoRet` picks the errno of each rule; an ERRNO rule without one gives EPERM.
fn errno_ret(ctx: &Ctx) -> TestResult {
    let prof = allow_but(json!([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["symlink", "symlinkat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
        {"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}
    ]));
    let out = run_sh_ok(
        ctx,
        "cd /tmp; touch f; mkdir d 2>&1; echo mkdir=$?; ln -s f l 2>&1; echo ln=$?; \
         chmod 600 f 2>&1; echo chmod=$?; ls -d d l 2>/dev/null; echo done",
        prof,
    )?;
    has_lines(&out, &["mkdir=1", "ln=1", "chmod=1", "done"])?;
    has_text(&out, EACCES, "mkdir with errnoRet 13")?;
    has_text(&out, ENOSPC, "ln -s with errnoRet 28")?;
    has_text(&out, EPERM, "chmod with no errnoRet")?;
    ensure(!out.lines().any(|l| l == "d" || l == "l"), || {
        format!("a refused call had an effect:\n{out}")
    })
}

/// A default-deny profile (podman's, without mkdir) with `defaultErrnoRet` 28: mkdir gets
/// ENOSPC and everything busybox and the runtime need still works.
fn default_errno_ret(ctx: &Ctx) -> TestResult {
    let mut prof = podman_without(&["mkdir", "mkdirat"])?;
    prof["defaultErrnoRet"] = json!(28);
    let out = run_sh_ok(
        ctx,
        "mkdir /tmp/d 2>&1; echo mkdir=$?; id -u; ls / >/dev/null && echo ls-ok",
        prof,
    )?;
    has_lines(&out, &["mkdir=1", "0", "ls-ok"])?;
    has_text(&out, ENOSPC, "mkdir under defaultErrnoRet 28")
}

/// An allow list with `SCMP_ACT_ERRNO` as the default and no `defaultErrnoRet`: EPERM.
fn allow_list_errno_default(ctx: &Ctx) -> TestResult {
    let mut prof = podman_without(&["mkdir", "mkdirat"])?;
    prof.as_object_mut()
        .map(|o| o.remove("defaultErrnoRet"))
        .ok_or("profile is not an object")?;
    let out = run_sh_ok(ctx, "mkdir /tmp/d 2>&1; echo mkdir=$?; echo ok", prof)?;
    has_lines(&out, &["mkdir=1", "ok"])?;
    has_text(&out, EPERM, "mkdir under an ERRNO default")
}

// ---------------------------------------------------------------------------------------------
// The other actions, on uname

/// Runs `args` as the container process with `action` on `names` (no core dumps).
fn run_action(ctx: &Ctx, args: &[&str], names: &[&str], action: &str) -> Result<Output, String> {
    let mut cfg = with_seccomp(
        base_config(args),
        allow_but(json!([{"names": names, "action": action}])),
    );
    cfg["process"]["rlimits"]
        .as_array_mut()
        .ok_or("rlimits is not an array")?
        .push(json!({"type": "RLIMIT_CORE", "soft": 0, "hard": 0}));
    run_config(ctx, &cfg)
}

/// Runs `uname` as the container process with `action` on uname. (busybox's uname ignores
/// a failing uname(2): it prints an empty line and exits 0.)
fn run_uname(ctx: &Ctx, action: &str) -> Result<Output, String> {
    run_action(ctx, &["uname"], &["uname"], action)
}

/// The process is killed by SIGSYS: `run` exits 128 + 31 and uname printed nothing.
fn killed_by_sigsys(ctx: &Ctx, action: &str) -> TestResult {
    let out = run_uname(ctx, action)?;
    ensure(out.code == 159 && !out.stdout.contains("Linux"), || {
        format!(
            "{action} on uname: want exit 159 (SIGSYS) and no output; got {}",
            out.describe()
        )
    })
}

fn kill(ctx: &Ctx) -> TestResult {
    killed_by_sigsys(ctx, "SCMP_ACT_KILL")
}

fn kill_thread(ctx: &Ctx) -> TestResult {
    killed_by_sigsys(ctx, "SCMP_ACT_KILL_THREAD")
}

fn kill_process(ctx: &Ctx) -> TestResult {
    killed_by_sigsys(ctx, "SCMP_ACT_KILL_PROCESS")
}

/// SIGSYS is delivered; busybox has no handler, so it kills the process.
fn trap(ctx: &Ctx) -> TestResult {
    killed_by_sigsys(ctx, "SCMP_ACT_TRAP")
}

/// `SECCOMP_RET_TRACE` with no tracer attached: the call fails with ENOSYS (on mkdir: uname's
/// failure does not show).
fn trace_without_tracer(ctx: &Ctx) -> TestResult {
    let out = run_action(
        ctx,
        &["mkdir", "/tmp/d"],
        &["mkdir", "mkdirat"],
        "SCMP_ACT_TRACE",
    )?;
    ensure(out.code == 1 && out.stderr.contains(ENOSYS), || {
        format!(
            "mkdir under SCMP_ACT_TRACE without a tracer: want exit 1 and {ENOSYS:?}; got {}",
            out.describe()
        )
    })
}

/// `SCMP_ACT_LOG`: the call succeeds (the kernel may log it to the audit log; not checked).
fn log(ctx: &Ctx) -> TestResult {
    let out = run_uname(ctx, "SCMP_ACT_LOG")?;
    ensure(out.code == 0 && out.stdout.trim() == "Linux", || {
        format!(
            "uname under SCMP_ACT_LOG: want exit 0 and \"Linux\"; got {}",
            out.describe()
        )
    })
}

/// `flags` SECCOMP_FILTER_FLAG_LOG and SECCOMP_FILTER_FLAG_SPEC_ALLOW: the filter loads with
/// them and applies.
fn flags(ctx: &Ctx) -> TestResult {
    let mut prof = allow_but(json!([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
    ]));
    prof["flags"] = json!(["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);
    let out = run_sh_ok(ctx, "mkdir /tmp/d 2>&1; echo mkdir=$?", prof)?;
    has_lines(&out, &["mkdir=1"])?;
    has_text(&out, EACCES, "mkdir")
}

// ---------------------------------------------------------------------------------------------
// Arguments

/// The modes `chmod` is tried with, in order.
const MODES: [u32; 3] = [0o600, 0o644, 0o700];

/// Runs `chmod M f` for each of [`MODES`] under `entries` (rules on the mode) and returns, per
/// mode, `None` if it worked or the error text.
fn chmod_outcomes(ctx: &Ctx, entries: Value) -> Result<Vec<Option<String>>, String> {
    let modes: Vec<String> = MODES.iter().map(|m| format!("{m:o}")).collect();
    let script = format!(
        "cd /tmp; touch f; for m in {}; do if out=$(chmod $m f 2>&1); then echo \"$m ok\"; \
         else echo \"$m $out\"; fi; done",
        modes.join(" ")
    );
    let out = run_sh_ok(ctx, &script, allow_but(entries))?;
    let mut v = Vec::new();
    for m in &modes {
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{m} ")))
            .ok_or_else(|| format!("no line for chmod {m}; got:\n{out}"))?;
        v.push((line != "ok").then(|| line.to_string()));
    }
    Ok(v)
}

/// The two entries of one condition on chmod's mode: `chmod` (argument 1) and `fchmodat`
/// (argument 2), errno `errno`.
fn mode_rule(op: &str, value: u32, value_two: Option<u32>, errno: u32) -> Vec<Value> {
    [("chmod", 1), ("fchmodat", 2)]
        .iter()
        .map(|&(name, index)| {
            let mut arg = json!({"index": index, "value": value, "op": op});
            if let Some(v2) = value_two {
                arg["valueTwo"] = json!(v2);
            }
            json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": errno,
                   "args": [arg]})
        })
        .collect()
}

/// chmod gets ENOMSG where `op` holds against `value` (and `value_two`): `want` says, per mode
/// of [`MODES`], whether it must be refused.
fn operator_case(
    ctx: &Ctx,
    op: &str,
    value: u32,
    value_two: Option<u32>,
    want: [bool; 3],
) -> TestResult {
    let got = chmod_outcomes(ctx, json!(mode_rule(op, value, value_two, 42)))?;
    let mut problems = Vec::new();
    for ((mode, outcome), refused) in MODES.iter().zip(&got).zip(want) {
        match (outcome, refused) {
            (None, false) => {}
            (Some(err), true) if err.contains(ENOMSG) => {}
            (None, true) => problems.push(format!("chmod {mode:o} worked, want {ENOMSG:?}")),
            (Some(err), _) => problems.push(format!(
                "chmod {mode:o}: {err:?}, want {}",
                if refused { ENOMSG } else { "success" }
            )),
        }
    }
    let cond = match value_two {
        Some(v2) => format!("(mode & {value:#o}) == {v2:#o}"),
        None => format!("mode {op} {value:#o}"),
    };
    ensure(problems.is_empty(), || {
        format!("rule `{cond}`: {}", problems.join("; "))
    })
}

fn arg_eq(ctx: &Ctx) -> TestResult {
    operator_case(ctx, "SCMP_CMP_EQ", 0o644, None, [false, true, false])
}

fn arg_ne(ctx: &Ctx) -> TestResult {
    operator_case(ctx, "SCMP_CMP_NE", 0o644, None, [true, false, true])
}

fn arg_lt(ctx: &Ctx) -> TestResult {
    operator_case(ctx, "SCMP_CMP_LT", 0o644, None, [true, false, false])
}

fn arg_le(ctx: &Ctx) -> TestResult {
    operator_case(ctx, "SCMP_CMP_LE", 0o644, None, [true, true, false])
}

fn arg_ge(ctx: &Ctx) -> TestResult {
    operator_case(ctx, "SCMP_CMP_GE", 0o644, None, [false, true, true])
}

fn arg_gt(ctx: &Ctx) -> TestResult {
    operator_case(ctx, "SCMP_CMP_GT", 0o644, None, [false, false, true])
}

/// `value` is the mask, `valueTwo` the datum: the owner bits equal to rw- (0o600 and 0o644,
/// which differ outside the mask), not 0o700.
fn arg_masked_eq(ctx: &Ctx) -> TestResult {
    operator_case(
        ctx,
        "SCMP_CMP_MASKED_EQ",
        0o700,
        Some(0o600),
        [true, true, false],
    )
}

/// Two conditions in one entry are ANDed: kill gets ENOMSG for pid 1 and signal 0 only.
fn args_anded(ctx: &Ctx) -> TestResult {
    let prof = allow_but(json!([{
        "names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42,
        "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}
        ]
    }]));
    let out = run_sh_ok(
        ctx,
        "sleep 100 & p=$!; kill -0 1 2>&1; echo both=$?; kill -0 $p 2>&1; echo pid=$?; \
         kill -CONT 1 2>&1; echo sig=$?; kill $p; wait",
        prof,
    )?;
    has_lines(&out, &["both=1", "pid=0", "sig=0"])?;
    has_text(&out, ENOMSG, "kill -0 1 (both conditions hold)")
}

/// Two entries for one syscall are ORed, each with its own errno: chmod 600 gets ENOMSG,
/// chmod 700 EIDRM, chmod 644 works.
fn entries_ored(ctx: &Ctx) -> TestResult {
    let mut entries = mode_rule("SCMP_CMP_EQ", 0o600, None, 42);
    entries.extend(mode_rule("SCMP_CMP_EQ", 0o700, None, 43));
    let got = chmod_outcomes(ctx, json!(entries))?;
    let ok =
        matches!(&got[..], [Some(a), None, Some(c)] if a.contains(ENOMSG) && c.contains(EIDRM));
    ensure(ok, || {
        format!(
            "chmod 600/644/700 (None = worked): got {got:?}, want [{ENOMSG:?}, None, {EIDRM:?}]"
        )
    })
}

// ---------------------------------------------------------------------------------------------
// podman's default profile

/// A normal container works under podman's default profile, and sethostname (which the profile
/// refuses with EPERM) fails even with CAP_SYS_ADMIN, which lets it work without the profile.
fn podman_default(ctx: &Ctx) -> TestResult {
    let prof: Value =
        serde_json::from_str(PODMAN_DEFAULT).map_err(|e| format!("podman-default.json: {e}"))?;
    let script = "id -u; ls / >/dev/null && echo ls-ok; cat /proc/self/status | \
                  grep -q '^Seccomp:.*2' && echo filtered; hostname st-renamed 2>&1; \
                  echo hostname=$?; hostname";
    let mut caps: Vec<&str> = DEFAULT_CAPS.to_vec();
    caps.push("CAP_SYS_ADMIN");
    let mut cfg = sh(script);
    set_caps(&mut cfg, &caps);

    let control = run_config(ctx, &cfg)?;
    ensure(control.code == 0, || {
        format!("without a profile: {}", control.describe())
    })?;
    has_lines(&control.stdout, &["hostname=0", "st-renamed"])
        .map_err(|e| format!("without a profile, sethostname should work: {e}"))?;

    let out = run_config(ctx, &with_seccomp(cfg, prof))?;
    ensure(out.code == 0, || {
        format!("under podman's profile: {}", out.describe())
    })?;
    has_lines(&out.stdout, &["0", "ls-ok", "filtered", "hostname=1"])?;
    has_text(&out.stdout, EPERM, "sethostname under podman's profile")?;
    ensure(!out.stdout.lines().any(|l| l == "st-renamed"), || {
        format!("the hostname changed:\n{}", out.stdout)
    })
}

// ---------------------------------------------------------------------------------------------
// Where the filter is loaded

/// The `Key:\tvalue` lines of /proc/self/status that tell about seccomp, as "Key value".
const STATUS_SCRIPT: &str = "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status \
                             | tr -s ':\\t' '  '; mkdir /tmp/d 2>&1; echo mkdir=$?";

fn mkdir_eacces() -> Value {
    allow_but(json!([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
    ]))
}

/// One filter in mode 2 whether noNewPrivileges is set or not (the runtime must load it while
/// it still has CAP_SYS_ADMIN when it is not).
fn nnp_case(ctx: &Ctx, nnp: bool) -> TestResult {
    let mut cfg = with_seccomp(sh(STATUS_SCRIPT), mkdir_eacces());
    cfg["process"]["noNewPrivileges"] = json!(nnp);
    let out = run_config(ctx, &cfg)?;
    ensure(out.code == 0, || {
        format!("container run failed: {}", out.describe())
    })?;
    let nnp_line = format!("NoNewPrivs {}", u8::from(nnp));
    has_lines(
        &out.stdout,
        &["Seccomp 2", "Seccomp_filters 1", &nnp_line, "mkdir=1"],
    )?;
    has_text(&out.stdout, EACCES, "mkdir")
}

fn no_new_privileges_true(ctx: &Ctx) -> TestResult {
    nnp_case(ctx, true)
}

fn no_new_privileges_false(ctx: &Ctx) -> TestResult {
    nnp_case(ctx, false)
}

/// A process `exec`'d into a container gets the container's filter.
fn exec_filtered(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&with_seccomp(
        base_config(&["sleep", "1000"]),
        mkdir_eacces(),
    ))?;
    c.start_new()?;
    let out = ctx.rt(&["exec", &c.id, "sh", "-c", STATUS_SCRIPT])?;
    ensure(out.code == 0, || format!("exec failed: {}", out.describe()))?;
    has_lines(
        &out.stdout,
        &["Seccomp 2", "Seccomp_filters 1", "NoNewPrivs 1", "mkdir=1"],
    )?;
    has_text(&out.stdout, EACCES, "mkdir in the exec'd process")
}

// ---------------------------------------------------------------------------------------------
// Notify

/// The test agent: a `python3` process listening on `sock`, logging to `log`. Dropping it kills
/// the process and removes its directory.
struct Agent {
    child: Child,
    dir: PathBuf,
    sock: PathBuf,
    log: PathBuf,
}

impl Agent {
    /// Starts an agent answering notifications with `answers` (see the script) and waits until
    /// it listens.
    fn start(ctx: &Ctx, answers: &str) -> Result<Agent, String> {
        let dir = ctx.work.join(format!("seccomp-agent-{}", ctx.current()));
        mkdir_mode(&dir, 0o700)?;
        let child = Self::spawn(&dir, answers).inspect_err(|_| {
            let _ = fs::remove_dir_all(&dir);
        })?;
        let sock = dir.join("agent.sock");
        let log = dir.join("agent.log");
        let mut agent = Agent {
            child,
            dir,
            sock,
            log,
        };
        let mut exited = false;
        let ready = wait_until(Duration::from_secs(10), || {
            exited = matches!(agent.child.try_wait(), Ok(Some(_)));
            exited || !agent.events("listening").is_empty()
        });
        if !ready || exited {
            let said = fs::read_to_string(agent.dir.join("agent.out")).unwrap_or_default();
            return Err(format!("the seccomp agent did not start: {}", said.trim()));
        }
        Ok(agent)
    }

    /// Writes the script into `dir` and runs it there (output in `agent.out`).
    fn spawn(dir: &Path, answers: &str) -> Result<Child, String> {
        let script = dir.join("agent.py");
        fs::write(&script, AGENT).map_err(|e| format!("{}: {e}", script.display()))?;
        let out = fs::File::create(dir.join("agent.out")).map_err(|e| format!("agent.out: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("agent.out: {e}"))?;
        Command::new("python3")
            .arg(&script)
            .arg(dir.join("agent.sock"))
            .arg(dir.join("agent.log"))
            .arg(answers)
            .arg("60")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    skip("no python3 on this host to run the seccomp agent")
                }
                _ => format!("python3 (the seccomp agent): {e}"),
            })
    }

    fn sock_str(&self) -> String {
        self.sock.to_string_lossy().into_owned()
    }

    /// The logged events of kind `event`.
    fn events(&self, event: &str) -> Vec<Value> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event"] == event)
            .collect()
    }

    /// The runtime's message, waiting up to 5 s for it.
    fn message(&self) -> Result<Value, String> {
        let mut m = Vec::new();
        wait_until(Duration::from_secs(5), || {
            m = self.events("message");
            !m.is_empty()
        });
        m.into_iter()
            .next()
            .ok_or_else(|| format!("the agent got no message; its log:\n{}", self.log_text()))
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A profile notifying on `names`, with the agent's socket and metadata "test-meta".
fn notify_profile(names: &[&str], agent: &Agent) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": agent.sock_str(),
        "listenerMetadata": "test-meta",
        "syscalls": [{"names": names, "action": "SCMP_ACT_NOTIFY"}]
    })
}

/// Checks the runtime's message: runc's `ContainerProcessState` naming the container.
fn check_message(ev: &Value, id: &str, pid: Option<i32>) -> Vec<String> {
    let m = &ev["message"];
    let mut problems = Vec::new();
    if ev["fds"] != json!(1) {
        problems.push(format!("{} fds in SCM_RIGHTS, want 1", ev["fds"]));
    }
    if !m.is_object() {
        problems.push(format!("the data is not a JSON object: {:?}", ev["raw"]));
        return problems;
    }
    if m["fds"] != json!(["seccompFd"]) {
        problems.push(format!("fds {}, want [\"seccompFd\"]", m["fds"]));
    }
    if m["metadata"] != json!("test-meta") {
        problems.push(format!("metadata {}, want \"test-meta\"", m["metadata"]));
    }
    if !m["ociVersion"].is_string() {
        problems.push(format!("ociVersion {}, want a string", m["ociVersion"]));
    }
    if m["state"]["id"] != json!(id) {
        problems.push(format!("state.id {}, want {id:?}", m["state"]["id"]));
    }
    let msg_pid = m["pid"].as_i64().unwrap_or(0);
    if msg_pid <= 0 {
        problems.push(format!("pid {}, want > 0", m["pid"]));
    }
    if let Some(p) = pid {
        if msg_pid != i64::from(p) || m["state"]["pid"] != json!(p) {
            problems.push(format!(
                "pid {} and state.pid {}, want the container's pid {p}",
                m["pid"], m["state"]["pid"]
            ));
        }
    }
    problems
}

/// The agent gets the container state and the listener fd, and its answers reach the
/// container: the first mkdir fails with EPERM, the second returns 0 without making the
/// directory, the third runs (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`).
fn notify_agent(ctx: &Ctx) -> TestResult {
    notify_case(ctx, true)
}

/// The same with noNewPrivileges false (podman's default), where the filter is loaded before
/// the runtime drops capabilities.
fn notify_agent_no_new_privileges_false(ctx: &Ctx) -> TestResult {
    notify_case(ctx, false)
}

fn notify_case(ctx: &Ctx, nnp: bool) -> TestResult {
    let agent = Agent::start(ctx, "errno:1,fake,continue")?;
    let c = Ctn::new(ctx, "")?;
    let script = "{ mkdir /a; echo a=$?; test -d /a && echo a-made; mkdir /b; echo b=$?; \
                  test -d /b && echo b-made; mkdir /c; echo c=$?; test -d /c && echo c-made; \
                  } >/out 2>&1";
    let mut cfg = with_seccomp(sh(script), notify_profile(&["mkdir", "mkdirat"], &agent));
    cfg["process"]["noNewPrivileges"] = json!(nnp);
    c.write_config(&cfg)?;
    c.create_ok()?;
    let pid = c.pid()?;
    // With noNewPrivileges the filter may be loaded right before execve, i.e. after `start`.
    c.start_ok()?;
    let msg = agent.message()?;
    c.wait_status("stopped")?;
    let out = fs::read_to_string(c.rootfs().join("out")).unwrap_or_default();

    let mut problems = check_message(&msg, &c.id, Some(pid));
    let want = ["a=1", "b=0", "c=0", "c-made"];
    let lines: Vec<&str> = out.lines().collect();
    if !want.iter().all(|w| lines.contains(w))
        || lines.contains(&"a-made")
        || lines.contains(&"b-made")
        || !out.contains(EPERM)
    {
        problems.push(format!(
            "want mkdir /a to fail with {EPERM:?} (a=1), mkdir /b to return 0 without a \
             directory (b=0, no b-made), mkdir /c to work (c=0, c-made); got:\n{out}"
        ));
    }
    let notes = agent.events("notification");
    if notes.len() != 3 {
        problems.push(format!(
            "{} notifications, want 3; agent log:\n{}",
            notes.len(),
            agent.log_text()
        ));
    }
    ensure(problems.is_empty(), || problems.join("\n"))
}

/// A process `exec`'d into a container with a notify profile gets a filter of its own, whose
/// listener fd the runtime sends to the agent too: the agent's EPERM reaches it.
fn notify_exec(ctx: &Ctx) -> TestResult {
    let agent = Agent::start(ctx, "errno:1")?;
    let c = Ctn::new(ctx, "")?;
    c.write_config(&with_seccomp(
        base_config(&["sleep", "1000"]),
        notify_profile(&["mkdir", "mkdirat"], &agent),
    ))?;
    c.start_new()?;
    agent.message()?;
    let out = ctx.rt(&[
        "exec",
        &c.id,
        "sh",
        "-c",
        "mkdir /tmp/d 2>&1; echo mkdir=$?",
    ])?;
    let msgs = agent.events("message");
    let mut problems = Vec::new();
    if out.code != 0 || !out.stdout.contains("mkdir=1") || !out.stdout.contains(EPERM) {
        problems.push(format!(
            "exec'd mkdir: want {EPERM:?} and mkdir=1; got {}",
            out.describe()
        ));
    }
    match msgs.get(1) {
        Some(m) => problems.extend(check_message(m, &c.id, None)),
        None => problems.push(format!(
            "the agent got {} message(s), want 2 (create and exec); its log:\n{}",
            msgs.len(),
            agent.log_text()
        )),
    }
    ensure(problems.is_empty(), || problems.join("\n"))
}

/// Requires `create` of `cfg` to fail, leave no state, and (with `--check-messages`) name
/// `field` in a one-line error with exit code 1.
fn refused(ctx: &Ctx, cfg: &Value, field: &str) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(cfg)?;
    let out = c.create(&[])?;
    check_refusal(ctx, &c, &out, field)
}

fn check_refusal(ctx: &Ctx, c: &Ctn, out: &Output, field: &str) -> TestResult {
    if out.code == 0 || out.timed_out {
        return Err(format!("create: want a refusal; got {}", out.describe()));
    }
    let mut problems = Vec::new();
    if ctx.root.join(&c.id).exists() {
        problems.push("state directory left".to_string());
    }
    if ctx.check_messages {
        let lines = out.stderr.lines().filter(|l| !l.trim().is_empty()).count();
        if out.code != 1 || lines != 1 || !out.stderr.contains(field) {
            problems.push(format!(
                "want exit code 1 and one line on stderr naming {field}; got {}",
                out.describe()
            ));
        }
    }
    ensure(problems.is_empty(), || problems.join("\n"))
}

/// SCMP_ACT_NOTIFY needs `listenerPath`.
fn notify_without_listener_refused(ctx: &Ctx) -> TestResult {
    let prof = allow_but(json!([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]));
    refused(
        ctx,
        &with_seccomp(base_config(&["true"]), prof),
        "linux.seccomp.listenerPath",
    )
}

/// Notify on sendmsg: a runtime that hands the listener its fd with sendmsg after loading the
/// filter would wait for an agent that never gets the fd. It must either refuse the profile
/// (naming `linux.seccomp.syscalls[0]`) or run it without hanging, the agent getting the fd.
fn notify_sendmsg(ctx: &Ctx) -> TestResult {
    let agent = Agent::start(ctx, "")?;
    let c = Ctn::new(ctx, "")?;
    c.write_config(&with_seccomp(
        base_config(&["true"]),
        notify_profile(&["sendmsg"], &agent),
    ))?;
    let out = c.create(&[])?;
    if out.code != 0 {
        return check_refusal(ctx, &c, &out, "linux.seccomp.syscalls[0]");
    }
    c.start_ok()?;
    let msg = agent.message()?;
    c.wait_status("stopped")?;
    let problems = check_message(&msg, &c.id, None);
    ensure(problems.is_empty(), || {
        format!("accepted, but: {}", problems.join("\n"))
    })
}

// ---------------------------------------------------------------------------------------------
// Unknown names

/// A profile naming an unknown syscall beside mkdir, whose rule must still apply.
fn unknown_syscall_run(ctx: &Ctx) -> Result<Output, String> {
    let prof = allow_but(json!([{
        "names": ["st_no_such_syscall", "mkdir", "mkdirat"],
        "action": "SCMP_ACT_ERRNO", "errnoRet": 13
    }]));
    let out = run_sh(ctx, "mkdir /tmp/d; echo mkdir=$?", prof)?;
    ensure(out.code == 0, || {
        format!("container run failed: {}", out.describe())
    })?;
    Ok(out)
}

/// An unknown syscall name is skipped: create succeeds and the rest of the entry applies.
fn unknown_syscall_skipped(ctx: &Ctx) -> TestResult {
    let out = unknown_syscall_run(ctx)?;
    has_lines(&out.stdout, &["mkdir=1"])?;
    has_text(&out.stderr, EACCES, "mkdir")
}

/// ... with a warning on stderr naming it.
fn unknown_syscall_warns(ctx: &Ctx) -> TestResult {
    let out = unknown_syscall_run(ctx)?;
    has_text(&out.stderr, "st_no_such_syscall", "stderr of run")
}

fn unknown_action_refused(ctx: &Ctx) -> TestResult {
    let prof = allow_but(json!([
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["uname"], "action": "SCMP_ACT_MAYBE"}
    ]));
    refused(
        ctx,
        &with_seccomp(base_config(&["true"]), prof),
        "linux.seccomp.syscalls[1].action",
    )
}

fn unknown_arch_refused(ctx: &Ctx) -> TestResult {
    let mut prof = allow_but(json!([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]));
    prof["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]);
    refused(
        ctx,
        &with_seccomp(base_config(&["true"]), prof),
        "linux.seccomp.architectures[1]",
    )
}
