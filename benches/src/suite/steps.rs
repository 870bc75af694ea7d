//! The sequential measures of one round for one runtime: `run`; `create`, `start`, `delete` as
//! three commands; `exec` into a running container. And the helpers they share with the
//! parallel and RSS measures: container ids and runtime command lines.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use super::series::{Series, CREATE, DELETE, EXEC, RUN, SPLIT, START};
use super::Bundle;
use crate::bundle::WorkDir;
use crate::measure::{self, Sample, Subject};

/// One round of the sequential measures for one runtime on `bundle`; `exec_id` names the
/// runtime's sleeping container of that bundle.
pub fn round(
    s: &Subject,
    work: &WorkDir,
    bundle: &Bundle,
    exec_id: &str,
    n: usize,
    out: &mut Series,
) {
    let sample = s.run_once(&bundle.path, &format!("{}-r{n}", bundle.name));
    record(s, RUN, &sample, out);
    split(
        s,
        work,
        bundle,
        &id(s, &format!("{}-s{n}", bundle.name)),
        out,
    );
    let exec = measure::measure(&runtime(
        s,
        &["exec"],
        None,
        &format!("{exec_id}\0/bin/true"),
    ));
    record(s, EXEC, &exec, out);
}

/// `create --pid-file`, `start`, (wait for the init's exit, unmeasured), `delete`, each timed
/// alone, as containerd calls them.
fn split(s: &Subject, work: &WorkDir, bundle: &Bundle, cid: &str, out: &mut Series) {
    let failures_before = out.failures;
    let pid_file = work.path().join(format!("{cid}.pid"));
    let mut create = vec![OsString::from("create"), "--pid-file".into()];
    create.push(pid_file.clone().into());
    create.extend(["--bundle".into(), bundle.path.clone().into(), cid.into()]);
    // Not measure::measure: its stderr pipe would stay open in the created init until it exits.
    let created = timed(
        &s.argv(&create).expect("a runtime"),
        &work.path().join(format!("{cid}.log")),
    );
    if record(s, CREATE, &created, out) {
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<libc::pid_t>().ok());
        // Opened before start: the pidfd then names the init even if it has exited and its
        // pid been reused by the time start returns.
        let pidfd = pid.and_then(pidfd_open);
        let started = measure::measure(&runtime(s, &["start"], None, cid));
        if record(s, START, &started, out) {
            if let Some(fd) = &pidfd {
                wait_exit(fd, Duration::from_secs(10));
            }
            let deleted = measure::measure(&runtime(s, &["delete"], None, cid));
            if record(s, DELETE, &deleted, out) {
                out.push(
                    SPLIT,
                    ms(created.wall) + ms(started.wall) + ms(deleted.wall),
                );
            }
        }
    }
    let _ = std::fs::remove_file(&pid_file);
    // Whatever failed, nothing is left behind for the next round.
    if out.failures > failures_before {
        let _ = measure::measure(&runtime(s, &["delete", "--force"], None, cid));
    }
}

/// Starts one sleeping container of `bundle` per runtime (`run --detach`), for `exec`; returns
/// their ids. On failure, deletes those already started.
pub fn start_sleepers(
    subjects: &[Subject],
    work: &WorkDir,
    bundle: &Bundle,
) -> Result<Vec<String>, String> {
    let ids: Vec<String> = subjects
        .iter()
        .map(|s| id(s, &format!("{}-exec", bundle.name)))
        .collect();
    for (i, (s, cid)) in subjects.iter().zip(&ids).enumerate() {
        let argv = runtime(
            s,
            &["run", "--detach", "--bundle"],
            Some(&bundle.sleeper),
            cid,
        );
        let log = work.path().join(format!("{cid}.log"));
        let started = measure::spawn(&argv, &log)
            .map_err(|e| e.to_string())
            .and_then(measure::reap);
        if let Err(e) = started {
            delete_all(&subjects[..=i], &ids[..=i]);
            return Err(format!(
                "{}: run --detach of {} failed: {e}",
                s.name, bundle.name
            ));
        }
    }
    Ok(ids)
}

/// `delete --force` of each runtime's container.
pub fn delete_all(subjects: &[Subject], ids: &[String]) {
    for (s, cid) in subjects.iter().zip(ids) {
        let _ = measure::measure(&runtime(s, &["delete", "--force"], None, cid));
    }
}

/// Runs `argv` with stderr to the file `log` (see [`measure::spawn`]), timing it.
fn timed(argv: &[OsString], log: &Path) -> Sample {
    let start = Instant::now();
    let result = measure::spawn(argv, log)
        .map_err(|e| e.to_string())
        .and_then(measure::reap);
    Sample {
        wall: start.elapsed(),
        maxrss_kib: 0,
        ok: result.is_ok(),
        error: result.err().unwrap_or_default(),
    }
}

/// Records a successful sample in ms, or counts and reports a failure; returns `sample.ok`.
pub fn record(s: &Subject, name: &'static str, sample: &Sample, out: &mut Series) -> bool {
    if sample.ok {
        out.push(name, ms(sample.wall));
    } else {
        out.failures += 1;
        eprintln!("cella-benches: {} {name} failed: {}", s.name, sample.error);
    }
    sample.ok
}

/// A container id unique to this driver, runtime and purpose.
pub fn id(s: &Subject, tag: &str) -> String {
    format!("cs{}-{}-{tag}", std::process::id(), s.name)
}

/// `runtime --root ROOT VERB... [BUNDLE] ID...` (a NUL in `ids` separates arguments after the
/// id: `exec ID /bin/true`).
pub fn runtime(s: &Subject, verb: &[&str], bundle: Option<&Path>, ids: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = verb.iter().map(OsString::from).collect();
    if let Some(b) = bundle {
        args.push(b.into());
    }
    args.extend(ids.split('\0').map(OsString::from));
    s.argv(&args).expect("a runtime subject")
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new fd or -1; it touches no
    // memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative return is a new fd that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits until the process of `pidfd` has exited (the pidfd turns readable), at most `limit`.
fn wait_exit(pidfd: &OwnedFd, limit: Duration) {
    let mut pfd = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let timeout = i32::try_from(limit.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: one valid pollfd on the stack, count 1, for the call's duration.
    let _ = unsafe { libc::poll(&mut pfd, 1, timeout) };
}
