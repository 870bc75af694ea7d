//! `cella-benches suite`: every lifecycle measure of issue [9] in one run, side by side.
//!
//! 1. `run` of `/bin/true` (create + start + wait + delete), sequential;
//! 2. `create`, `start`, `delete` as separate commands, as containerd calls them (the driver
//!    waits for the container's exit between `start` and `delete`, unmeasured);
//! 3. `exec` of `/bin/true` into a running container;
//! 4. N containers (default 50) started in parallel with `run --detach`, then all deleted with
//!    `delete --force` in parallel (wall time of each phase);
//! 5. peak RSS of the runtime's process (`/usr/bin/time -v`, "Maximum resident set size") for
//!    `run`, and the binary's size;
//! 6. the syscall cost under podman's seccomp profile: the `seccomp` subcommand, run at the end.
//!
//! Every runtime goes through the same wrapper (`benches/unshare-wrap.sh`; `crun-hybrid.sh` is
//! its twin), measures 1–3 are interleaved round-robin (run, split, exec of every runtime in
//! each round) so that load drifts hit every runtime alike, and a baseline (the wrapper around
//! `/bin/true`) gives the "net" figures: a median minus the wrapper's median.

use std::ffi::OsString;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::bundle::WorkDir;
use crate::measure::{self, Sample, Subject};
use crate::report::median;

const USAGE: &str = "\
usage: cella-benches suite [--rootfs DIR] [--runtime NAME=PATH]... [-n ROUNDS] [--warmup N]
                           [--parallel N] [--parallel-rounds R] [--rss-runs K]
                           [--seccomp-rounds S | --no-seccomp] [--json FILE] [--keep]

  --runtime NAME=PATH   as for the lifecycle bench (default cella, crun, runc); the first is
                        compared with each other one (columns FIRST/OTHER)
  -n, --rounds N        rounds of measures 1-3 (default 20)
  --parallel N          containers per parallel round (default 50)
  --parallel-rounds R   rounds of measure 4 (default 5)
  --rss-runs K          runs under /usr/bin/time per runtime (default 5)
  --seccomp-rounds S    rounds of the seccomp syscall-cost bench (default 5)
  --no-seccomp          leave measure 6 out
";

struct Options {
    rootfs: PathBuf,
    runtimes: Vec<(String, PathBuf)>,
    rounds: usize,
    warmup: usize,
    parallel: usize,
    parallel_rounds: usize,
    rss_runs: usize,
    seccomp_rounds: Option<usize>,
    json: Option<PathBuf>,
    keep: bool,
}

/// One row of the summary: a measure's median per runtime (None: no successful sample).
struct Row {
    measure: String,
    unit: &'static str,
    values: Vec<Option<f64>>,
}

/// Samples of one runtime in measures 1-3, by name of the measure.
#[derive(Default)]
struct Series {
    by_measure: Vec<(String, Vec<f64>)>,
    failures: usize,
}

impl Series {
    fn push(&mut self, measure: &str, value: f64) {
        match self.by_measure.iter_mut().find(|(m, _)| m == measure) {
            Some((_, v)) => v.push(value),
            None => self.by_measure.push((measure.to_string(), vec![value])),
        }
    }

    fn median(&self, measure: &str) -> Option<f64> {
        let (_, v) = self.by_measure.iter().find(|(m, _)| m == measure)?;
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| median(&v))
    }

    fn samples(&self) -> serde_json::Value {
        self.by_measure
            .iter()
            .map(|(m, v)| (m.clone(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

pub fn run(args: impl Iterator<Item = String>) -> Result<(), String> {
    let opts = parse(args)?;
    if !crate::is_root() {
        return Err("must run as root (runtimes create namespaces and mounts)".into());
    }
    let work = WorkDir::create(&opts.rootfs, opts.keep)?;
    let sleeper = work.sleep_bundle()?;
    let wrapper = std::fs::canonicalize(PathBuf::from(crate::REPO).join("benches/unshare-wrap.sh"))
        .map_err(|e| format!("benches/unshare-wrap.sh: {e}"))?;
    let baseline = Subject::baseline(Some(&wrapper));
    let mut subjects = Vec::new();
    for (name, path) in &opts.runtimes {
        let root = work.state_root(name)?;
        subjects.push(Subject::runtime(name, path, Some(&wrapper), root));
    }
    println!(
        "cella-benches suite: {} rounds of run / create+start+delete / exec, round-robin over {}; \
         {} x {} parallel; wrapper {}",
        opts.rounds,
        subjects
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        opts.parallel_rounds,
        opts.parallel,
        wrapper.display()
    );

    // Warm-up: page cache, binaries, cgroup paths. A runtime that cannot run the bundle stops
    // the suite: every figure is a comparison.
    for s in &subjects {
        for i in 0..opts.warmup.max(1) {
            let sample = s.run_once(work.bundle(), &format!("w{i}"));
            if !sample.ok {
                return Err(format!("{}: warm-up run failed: {}", s.name, sample.error));
            }
        }
    }

    // Measure 3 needs a running container per runtime.
    let exec_ids: Vec<String> = subjects.iter().map(|s| id(s, "exec")).collect();
    for (s, cid) in subjects.iter().zip(&exec_ids) {
        let argv = runtime(s, &["run", "--detach", "--bundle"], Some(&sleeper), cid);
        let log = work.path().join(format!("{cid}.log"));
        let started = measure::spawn(&argv, &log)
            .map_err(|e| e.to_string())
            .and_then(measure::reap);
        if let Err(e) = started {
            cleanup_exec(&subjects, &exec_ids);
            return Err(format!("{}: run --detach failed: {e}", s.name));
        }
    }

    let mut base = Vec::new();
    let mut series: Vec<Series> = subjects.iter().map(|_| Series::default()).collect();
    for round in 0..opts.rounds {
        let b = baseline.run_once(work.bundle(), "");
        if b.ok {
            base.push(ms(b.wall));
        }
        for (i, s) in subjects.iter().enumerate() {
            sequential_round(s, &work, &exec_ids[i], round, &mut series[i]);
        }
    }
    cleanup_exec(&subjects, &exec_ids);

    let mut parallel: Vec<Series> = subjects.iter().map(|_| Series::default()).collect();
    for round in 0..opts.parallel_rounds {
        for (i, s) in subjects.iter().enumerate() {
            parallel_round(s, &work, &sleeper, opts.parallel, round, &mut parallel[i]);
        }
    }

    let mut rss: Vec<Vec<f64>> = subjects.iter().map(|_| Vec::new()).collect();
    for round in 0..opts.rss_runs {
        for (i, s) in subjects.iter().enumerate() {
            match peak_rss_kib(s, &wrapper, &work, round) {
                Ok(kib) => rss[i].push(kib as f64 / 1024.0),
                Err(e) => eprintln!("cella-benches: {} RSS run {round}: {e}", s.name),
            }
        }
    }

    let base_ms = {
        let mut b = base.clone();
        b.sort_by(f64::total_cmp);
        (!b.is_empty()).then(|| median(&b))
    };
    let rows = summary_rows(&subjects, &series, &parallel, &rss, base_ms);
    print_summary(&subjects, &rows, base_ms, &series, &parallel);
    if let Some(path) = &opts.json {
        let doc = json!({
            "baseline_ms": base,
            "runtimes": subjects.iter().enumerate().map(|(i, s)| json!({
                "name": s.name,
                "sequential": series[i].samples(),
                "parallel": parallel[i].samples(),
                "peak_rss_mib": rss[i],
            })).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    drop(work);

    if let Some(rounds) = opts.seccomp_rounds {
        println!();
        println!("6. syscall cost under podman's seccomp profile (cella-benches seccomp):");
        let mut args = vec![
            "--rootfs".to_string(),
            opts.rootfs.display().to_string(),
            "-n".into(),
            rounds.to_string(),
        ];
        for (name, path) in &opts.runtimes {
            args.push("--runtime".into());
            args.push(format!("{name}={}", path.display()));
        }
        crate::seccomp::run(args.into_iter())?;
    }
    let failures: usize = series.iter().chain(&parallel).map(|s| s.failures).sum();
    if failures > 0 {
        return Err(format!("{failures} measured command(s) failed; see above"));
    }
    Ok(())
}

/// One round of measures 1-3 for one runtime.
fn sequential_round(s: &Subject, work: &WorkDir, exec_id: &str, round: usize, out: &mut Series) {
    // 1. run
    let sample = s.run_once(work.bundle(), &format!("r{round}"));
    record(s, "run", &sample, out);

    // 2. create, start, (wait), delete
    let failures_before = out.failures;
    let cid = id(s, &format!("s{round}"));
    let pid_file = work.path().join(format!("{cid}.pid"));
    let mut create = vec![OsString::from("create"), "--pid-file".into()];
    create.push(pid_file.clone().into());
    create.extend([
        "--bundle".into(),
        work.bundle().into(),
        OsString::from(&cid),
    ]);
    // Not measure::measure: its stderr pipe would stay open in the created init until it exits.
    let created = timed(
        &s.argv(&create).expect("a runtime"),
        &work.path().join(format!("{cid}.log")),
    );
    let ok = record(s, "create", &created, out);
    if ok {
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<libc::pid_t>().ok());
        // Opened before start: the pidfd then names the init even if it has exited and its
        // pid been reused by the time start returns.
        let pidfd = pid.and_then(pidfd_open);
        let started = measure::measure(&runtime(s, &["start"], None, &cid));
        if record(s, "start", &started, out) {
            if let Some(fd) = &pidfd {
                wait_exit(fd, Duration::from_secs(10));
            }
            let deleted = measure::measure(&runtime(s, &["delete"], None, &cid));
            if record(s, "delete", &deleted, out) {
                out.push(
                    "create+start+delete",
                    ms(created.wall) + ms(started.wall) + ms(deleted.wall),
                );
            }
        }
    }
    let _ = std::fs::remove_file(&pid_file);
    // Whatever failed, nothing is left behind for the next round.
    if out.failures > failures_before {
        let _ = measure::measure(&runtime(s, &["delete", "--force"], None, &cid));
    }

    // 3. exec
    let exec = measure::measure(&runtime(
        s,
        &["exec"],
        None,
        &format!("{exec_id}\0/bin/true"),
    ));
    record(s, "exec", &exec, out);
}

/// Measure 4: `n` `run --detach` at once, then `n` `delete --force` at once.
fn parallel_round(
    s: &Subject,
    work: &WorkDir,
    bundle: &Path,
    n: usize,
    round: usize,
    out: &mut Series,
) {
    let log = |cid: &str| work.path().join(format!("{cid}.log"));
    let ids: Vec<String> = (0..n).map(|i| id(s, &format!("p{round}-{i}"))).collect();
    let start = Instant::now();
    let children: Vec<_> = ids
        .iter()
        .map(|cid| {
            measure::spawn(
                &runtime(s, &["run", "--detach", "--bundle"], Some(bundle), cid),
                &log(cid),
            )
        })
        .collect();
    let mut failed = 0;
    for child in children {
        match child.map_err(|e| e.to_string()).and_then(measure::reap) {
            Ok(()) => {}
            Err(e) => {
                failed += 1;
                eprintln!("cella-benches: {} parallel run: {e}", s.name);
            }
        }
    }
    let started = ms(start.elapsed());
    let start = Instant::now();
    let children: Vec<_> = ids
        .iter()
        .map(|cid| measure::spawn(&runtime(s, &["delete", "--force"], None, cid), &log(cid)))
        .collect();
    for child in children {
        if let Err(e) = child.map_err(|e| e.to_string()).and_then(measure::reap) {
            failed += 1;
            eprintln!("cella-benches: {} parallel delete: {e}", s.name);
        }
    }
    let deleted = ms(start.elapsed());
    if failed == 0 {
        out.push(&format!("{n} x run -d, parallel"), started);
        out.push(&format!("{n} x delete -f, parallel"), deleted);
        out.push(&format!("{n} parallel, total"), started + deleted);
    } else {
        out.failures += failed;
    }
}

/// Measure 5: `wrapper /usr/bin/time -v -o FILE BINARY --root ROOT run ...`; the peak RSS of
/// the runtime's process (and the children it waited for), without the wrapper's.
fn peak_rss_kib(s: &Subject, wrapper: &Path, work: &WorkDir, round: usize) -> Result<u64, String> {
    let binary = s
        .binary()
        .ok_or_else(|| format!("{}: binary not found", s.name))?;
    let out = work.path().join(format!("{}-time-{round}.txt", s.name));
    let root = work.state_root(&format!("{}-rss", s.name))?;
    let cid = id(s, &format!("m{round}"));
    let argv: Vec<OsString> = vec![
        wrapper.into(),
        "/usr/bin/time".into(),
        "-v".into(),
        "-o".into(),
        out.clone().into(),
        binary.into(),
        "--root".into(),
        root.into(),
        "run".into(),
        "--bundle".into(),
        work.bundle().into(),
        cid.into(),
    ];
    let sample = measure::measure(&argv);
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    if !sample.ok {
        return Err(sample.error);
    }
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "no \"Maximum resident set size\" in /usr/bin/time's output".into())
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

fn record(s: &Subject, measure: &str, sample: &Sample, out: &mut Series) -> bool {
    if sample.ok {
        out.push(measure, ms(sample.wall));
    } else {
        out.failures += 1;
        eprintln!(
            "cella-benches: {} {measure} failed: {}",
            s.name, sample.error
        );
    }
    sample.ok
}

fn cleanup_exec(subjects: &[Subject], ids: &[String]) {
    for (s, cid) in subjects.iter().zip(ids) {
        let _ = measure::measure(&runtime(s, &["delete", "--force"], None, cid));
    }
}

/// A container id unique to this driver, runtime and purpose.
fn id(s: &Subject, tag: &str) -> String {
    format!("cs{}-{}-{tag}", std::process::id(), s.name)
}

/// `[wrapper] runtime --root ROOT VERB... [BUNDLE] ID...` (a NUL in `ids` separates arguments
/// after the id: `exec ID /bin/true`).
fn runtime(s: &Subject, verb: &[&str], bundle: Option<&Path>, ids: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = verb.iter().map(OsString::from).collect();
    if let Some(b) = bundle {
        args.push(b.into());
    }
    args.extend(ids.split('\0').map(OsString::from));
    s.argv(&args).expect("a runtime subject")
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
    use nix_free_poll::poll_in;
    poll_in(pidfd.as_fd(), limit);
}

/// poll(2) on one fd without pulling nix into the benches.
mod nix_free_poll {
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::time::Duration;

    pub fn poll_in(fd: BorrowedFd<'_>, limit: Duration) {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let timeout = i32::try_from(limit.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd on the stack, count 1, for the call's duration.
        let _ = unsafe { libc::poll(&mut pfd, 1, timeout) };
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary_rows(
    subjects: &[Subject],
    series: &[Series],
    parallel: &[Series],
    rss: &[Vec<f64>],
    base_ms: Option<f64>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut add = |measure: String, unit, values: Vec<Option<f64>>| {
        rows.push(Row {
            measure,
            unit,
            values,
        })
    };
    for m in [
        "run",
        "create",
        "start",
        "delete",
        "create+start+delete",
        "exec",
    ] {
        add(
            m.to_string(),
            "ms",
            series.iter().map(|s| s.median(m)).collect(),
        );
        // The sum of three commands paid the wrapper three times.
        let (label, wrappers) = match m {
            "create+start+delete" => ("  net of 3 wrappers", 3.0),
            _ => ("  net of the wrapper", 1.0),
        };
        if let Some(b) = base_ms {
            let net = series
                .iter()
                .map(|s| s.median(m).map(|v| v - wrappers * b))
                .collect();
            add(label.to_string(), "ms", net);
        }
    }
    let names: Vec<String> = parallel
        .first()
        .map(|p| p.by_measure.iter().map(|(m, _)| m.clone()).collect())
        .unwrap_or_default();
    for m in names {
        add(
            m.clone(),
            "ms",
            parallel.iter().map(|s| s.median(&m)).collect(),
        );
    }
    add(
        "peak RSS (time -v), run".into(),
        "MiB",
        rss.iter()
            .map(|v| {
                let mut v = v.clone();
                v.sort_by(f64::total_cmp);
                (!v.is_empty()).then(|| median(&v))
            })
            .collect(),
    );
    add(
        "binary size".into(),
        "MiB",
        subjects
            .iter()
            .map(|s| {
                s.binary()
                    .and_then(|b| std::fs::metadata(b).ok())
                    .map(|m| m.len() as f64 / (1024.0 * 1024.0))
            })
            .collect(),
    );
    rows
}

fn print_summary(
    subjects: &[Subject],
    rows: &[Row],
    base_ms: Option<f64>,
    series: &[Series],
    parallel: &[Series],
) {
    println!();
    if let Some(b) = base_ms {
        println!("wrapper alone (unshare-wrap.sh /bin/true): median {b:.2} ms");
    }
    for (s, (a, b)) in subjects.iter().zip(series.iter().zip(parallel)) {
        let counts: Vec<String> = a
            .by_measure
            .iter()
            .chain(&b.by_measure)
            .map(|(m, v)| format!("{m} {}", v.len()))
            .collect();
        println!("{}: samples: {}", s.name, counts.join(", "));
    }
    println!();
    let first = subjects.first().map_or("-", |s| s.name.as_str());
    let mut header = format!("| {:<28} | {:>4} |", "median", "unit");
    for s in subjects {
        header.push_str(&format!(" {:>8} |", s.name));
    }
    for s in subjects.iter().skip(1) {
        header.push_str(&format!(" {:>12} |", format!("{first}/{}", s.name)));
    }
    println!("{header}");
    let mut rule = String::from("|---|---|");
    for _ in subjects.iter().chain(subjects.iter().skip(1)) {
        rule.push_str("---|");
    }
    println!("{rule}");
    for row in rows {
        let mut line = format!("| {:<28} | {:>4} |", row.measure, row.unit);
        for v in &row.values {
            line.push_str(&match v {
                Some(v) => format!(" {v:>8.2} |"),
                None => format!(" {:>8} |", "-"),
            });
        }
        let reference = row.values.first().copied().flatten();
        for v in row.values.iter().skip(1) {
            let ratio = match (reference, v) {
                (Some(a), Some(b)) if *b > 0.0 => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            line.push_str(&format!(" {ratio:>12} |"));
        }
        println!("{line}");
    }
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        rootfs: PathBuf::from(crate::REPO).join("fixtures/cache/rootfs"),
        runtimes: Vec::new(),
        rounds: 20,
        warmup: 2,
        parallel: 50,
        parallel_rounds: 5,
        rss_runs: 5,
        seccomp_rounds: Some(5),
        json: None,
        keep: false,
    };
    let mut flags = crate::flags::Flags::new(args, USAGE);
    while let Some(flag) = flags.next_flag() {
        let name = flag.name.clone();
        let mut value = || flags.value(&flag);
        match name.as_str() {
            "--rootfs" => opts.rootfs = PathBuf::from(value()?),
            "--runtime" => opts.runtimes.push(crate::parse_runtime(&value()?)?),
            "-n" | "--rounds" => opts.rounds = crate::parse_count(&name, &value()?)?,
            "--warmup" => opts.warmup = crate::parse_count(&name, &value()?)?,
            "--parallel" => opts.parallel = crate::parse_count(&name, &value()?)?,
            "--parallel-rounds" => opts.parallel_rounds = crate::parse_count(&name, &value()?)?,
            "--rss-runs" => opts.rss_runs = crate::parse_count(&name, &value()?)?,
            "--seccomp-rounds" => opts.seccomp_rounds = Some(crate::parse_count(&name, &value()?)?),
            "--no-seccomp" => opts.seccomp_rounds = None,
            "--json" => opts.json = Some(PathBuf::from(value()?)),
            "--keep" => opts.keep = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {name:?}\n{USAGE}")),
        }
    }
    if opts.rounds == 0 {
        return Err("-n must be at least 1".into());
    }
    if opts.runtimes.is_empty() {
        opts.runtimes = crate::default_runtimes();
    }
    if opts.runtimes.is_empty() {
        return Err("no runtime to measure".into());
    }
    Ok(opts)
}
