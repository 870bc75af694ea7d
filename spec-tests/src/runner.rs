//! Runs one test in a child process of its own, so that a test that hangs can be killed and a
//! test that crashes (a panic aborts in release builds) cannot take the suite down, and then
//! sweeps what the test created whatever became of it.
//!
//! The child is forked from the runner, which is single-threaded (tests run only in children),
//! and runs in a process group of its own: on timeout the whole group is killed, the runtime
//! processes the test started included. What the test created is known from the records file
//! the child appends to as it goes ([`Ctx::reload_records`]); after the child is gone the
//! runner force-deletes a killed test's containers and [`sweep`]s its scope: a leftover fails
//! the test and is removed.

use std::fs::{self, File};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{dup2_stderr, dup2_stdout, fork, setpgid, ForkResult, Pid};
use serde_json::{json, Value};

use crate::harness::{Ctx, TestResult};
use crate::tests::leftovers::{delete_all, sweep, Scope};
use crate::Test;

/// What became of one test.
pub struct Outcome {
    /// Ok, a failure reason, or a skip (see [`crate::harness::skip_reason`]).
    pub result: TestResult,
    /// What the test printed (its stdout and stderr).
    pub output: String,
    pub duration: Duration,
}

/// Runs `test` (number `n`) in a child process, killing it after `timeout`.
pub fn run_isolated(ctx: &Ctx, n: usize, test: &Test, timeout: Duration) -> Outcome {
    ctx.reload_records();
    let before = Scope::of_suite(ctx);
    let log_path = ctx.work.join(format!(".test-{n}.log"));
    let result_path = ctx.work.join(format!(".test-{n}.result"));
    let t0 = Instant::now();
    let mut result = run_in_child(ctx, test, &log_path, &result_path, timeout);
    let duration = t0.elapsed();
    let output = fs::read_to_string(&log_path).unwrap_or_default();
    let _ = fs::remove_file(&log_path);
    let _ = fs::remove_file(&result_path);

    ctx.reload_records();
    let scope = Scope::difference(&Scope::of_suite(ctx), &before);
    if !scope.is_empty() {
        if result.as_ref().is_err_and(|e| e.starts_with(KILLED)) {
            // Its guards never ran: delete its containers the ordinary way first.
            delete_all(ctx, &scope);
        }
        let left = sweep(ctx, &scope);
        if !left.is_empty() {
            let text = format!("the test left behind (now removed):\n{}", left.join("\n"));
            result = match result {
                Err(e) if crate::harness::skip_reason(&e).is_none() => Err(format!("{e}\n{text}")),
                _ => Err(text),
            };
        }
    }
    Outcome {
        result,
        output,
        duration,
    }
}

/// The start of the reason given for a test that did not end by itself.
const KILLED: &str = "test killed: ";

fn run_in_child(
    ctx: &Ctx,
    test: &Test,
    log_path: &PathBuf,
    result_path: &PathBuf,
    timeout: Duration,
) -> TestResult {
    let log = File::create(log_path).map_err(|e| format!("create {}: {e}", log_path.display()))?;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: the runner is single-threaded (it never spawns threads; tests, which may, run
    // only in children like this one), so the child may run arbitrary code after fork.
    match unsafe { fork() } {
        Err(e) => Err(format!("fork: {e}")),
        Ok(ForkResult::Child) => {
            let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
            let _ = dup2_stdout(&log);
            let _ = dup2_stderr(&log);
            drop(log);
            ctx.set_current(test.short());
            let res = panic::catch_unwind(AssertUnwindSafe(|| (test.run)(ctx)))
                .unwrap_or_else(|p| Err(format!("test panicked: {}", panic_text(&p))));
            let v = match res {
                Ok(()) => json!({"ok": true}),
                Err(e) => json!({"ok": false, "err": e}),
            };
            let _ = fs::write(result_path, v.to_string());
            let _ = std::io::stdout().flush();
            std::process::exit(0);
        }
        Ok(ForkResult::Parent { child }) => {
            drop(log);
            // Also here, so that a kill right after fork reaches the group.
            let _ = setpgid(child, child);
            let status = wait_child(child, timeout);
            match status {
                None => Err(format!(
                    "{KILLED}still running after {}s (--test-timeout)",
                    timeout.as_secs()
                )),
                Some(WaitStatus::Exited(_, 0)) => read_result(result_path),
                Some(WaitStatus::Exited(_, c)) => Err(format!("{KILLED}exited with {c}")),
                Some(WaitStatus::Signaled(_, sig, _)) => {
                    Err(format!("{KILLED}crashed with {sig:?} (see its output)"))
                }
                Some(other) => Err(format!("{KILLED}{other:?}")),
            }
        }
    }
}

/// Waits for `child` at most `timeout`; on timeout kills its process group and reaps it
/// (returning `None`).
fn wait_child(child: Pid, timeout: Duration) -> Option<WaitStatus> {
    let start = Instant::now();
    let mut nap = Duration::from_millis(1);
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(st) => return Some(st),
            Err(_) => return Some(WaitStatus::Exited(child, 255)),
        }
        if start.elapsed() > timeout {
            let _ = kill(Pid::from_raw(-child.as_raw()), Signal::SIGKILL);
            let _ = kill(child, Signal::SIGKILL);
            reap_killed(child);
            return None;
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(10));
    }
}

/// Reaps a child just sent SIGKILL, waiting at most 30 s: a child stuck in the kernel
/// (uninterruptible sleep) does not die, and the suite must go on to report it rather than
/// hang with it. What it is stuck in goes to stderr (the TAP stream's side channel).
fn reap_killed(child: Pid) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => thread::sleep(Duration::from_millis(10)),
            _ => return,
        }
    }
    let proc_file = |f: &str| fs::read_to_string(format!("/proc/{child}/{f}")).unwrap_or_default();
    let state = proc_file("stat");
    eprintln!(
        "# test process {child} still not reaped 30 s after SIGKILL; stat: {}; wchan: {}; stack:\n{}",
        state.trim(),
        proc_file("wchan"),
        proc_file("stack")
    );
}

fn read_result(path: &PathBuf) -> TestResult {
    let text = fs::read_to_string(path).map_err(|e| format!("{KILLED}no result: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{KILLED}bad result: {e}"))?;
    if v["ok"].as_bool() == Some(true) {
        Ok(())
    } else {
        Err(v["err"].as_str().unwrap_or("no reason given").to_string())
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic".to_string()
    }
}
