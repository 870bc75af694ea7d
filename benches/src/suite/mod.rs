//! `cella-benches suite`: every lifecycle measure, on a minimal and a realistic bundle, side by
//! side, and the targets of issue [13].
//!
//! On each bundle:
//! 1. `run` of `/bin/true` (create + start + wait + delete), sequential; on the minimal bundle
//!    also the floor (`cella-floor`, the least work such a run needs);
//! 2. `create`, `start`, `delete` as separate commands, as containerd calls them (the driver
//!    waits for the container's exit between `start` and `delete`, unmeasured);
//! 3. `exec` of `/bin/true` into a running container;
//! 4. N containers (default 50) started in parallel with `run --detach`, then all deleted with
//!    `delete --force` in parallel (wall time of each phase);
//! 5. peak RSS of `run` (`/usr/bin/time -v`, "Maximum resident set size").
//!
//! Then, once, the syscall cost under podman's seccomp profile (the `seccomp` subcommand).
//!
//! Every binary runs directly in the driver's private mount namespace (`hostns`). Measures 1-3
//! are interleaved round-robin (the floor, then run, split, exec of every runtime in each
//! round) so that load drifts hit every runtime alike; 4 and 5 are interleaved by round.

mod options;
mod parallel;
mod rss;
mod series;
mod steps;
mod table;
mod targets;

use std::path::PathBuf;

use serde_json::json;

use crate::bundle::WorkDir;
use crate::configs;
use crate::measure::Subject;
use series::{Series, RUN};

/// A bundle under test and its sleeping twin (for `exec` and the parallel runs).
pub struct Bundle {
    name: &'static str,
    path: PathBuf,
    sleeper: PathBuf,
}

/// What was measured on one bundle: a series per runtime (in the subjects' order), and the
/// floor's on the minimal bundle.
pub struct Measured {
    bundle: &'static str,
    runtimes: Vec<Series>,
    floor: Option<Series>,
}

pub fn run(args: impl Iterator<Item = String>) -> Result<(), String> {
    let opts = options::parse(args)?;
    let namespace = crate::prepare_host()?;
    let floor_binary = crate::floor_binary()?;
    let work = WorkDir::create(&opts.rootfs, opts.keep)?;
    let bundles = write_bundles(&work, &opts.bundles)?;
    let mut subjects = Vec::new();
    for (name, path) in &opts.runtimes {
        subjects.push(Subject::runtime(name, path, work.state_root(name)?));
    }
    let floor = Subject::floor(&floor_binary, work.rootfs());
    print_header(&opts, &subjects, &namespace);
    preflight(&subjects, &floor, &bundles)?;

    let mut results = Vec::new();
    for bundle in &bundles {
        let floor = (bundle.name == "minimal").then_some(&floor);
        results.push(measure_bundle(&opts, &work, bundle, &subjects, floor)?);
    }
    for m in &results {
        table::print(&subjects, m, opts.parallel);
    }
    targets::print(&subjects, &results);
    if let Some(path) = &opts.json {
        write_json(path, &namespace, &subjects, &results)?;
    }
    drop(work);

    if let Some(rounds) = opts.seccomp_rounds {
        run_seccomp(&opts, rounds)?;
    }
    let failures: usize = results
        .iter()
        .flat_map(|m| m.runtimes.iter().chain(&m.floor))
        .map(|s| s.failures)
        .sum();
    if failures > 0 {
        return Err(format!("{failures} measured command(s) failed; see above"));
    }
    Ok(())
}

fn write_bundles(work: &WorkDir, names: &[&'static str]) -> Result<Vec<Bundle>, String> {
    let mut bundles = Vec::new();
    for &name in names {
        let config = match name {
            "minimal" => configs::minimal(),
            _ => configs::realistic(configs::podman_profile()?),
        };
        bundles.push(Bundle {
            name,
            path: work.write_bundle(name, &config)?,
            sleeper: work.write_bundle(&format!("{name}-sleep"), &configs::sleeping(&config))?,
        });
    }
    Ok(bundles)
}

fn print_header(opts: &options::Options, subjects: &[Subject], namespace: &str) {
    let names: Vec<&str> = subjects.iter().map(|s| s.name.as_str()).collect();
    println!(
        "cella-benches suite: bundles {}; {} rounds of run / create+start+delete / exec, \
         round-robin over {} (and the floor on the minimal bundle); {} x {} parallel; {} RSS runs",
        opts.bundles.join(", "),
        opts.rounds,
        names.join(", "),
        opts.parallel_rounds,
        opts.parallel,
        opts.rss_runs,
    );
    println!("every binary run directly; {namespace}");
    for s in subjects {
        println!("  {}: {}", s.name, s.binary().display());
    }
}

/// Before measuring anything: every runtime must `run` every bundle (and the floor its
/// rootfs) with exit status 0; otherwise the suite stops with the runtime's error, because
/// every figure is a comparison.
fn preflight(subjects: &[Subject], floor: &Subject, bundles: &[Bundle]) -> Result<(), String> {
    let sample = floor.run_once(std::path::Path::new(""), "check");
    if !sample.ok {
        return Err(format!("the floor (cella-floor) fails: {}", sample.error));
    }
    for bundle in bundles {
        for s in subjects {
            let sample = s.run_once(&bundle.path, &format!("{}-check", bundle.name));
            if !sample.ok {
                return Err(format!(
                    "{} cannot run the {} bundle ({}): {}",
                    s.name,
                    bundle.name,
                    bundle.path.join("config.json").display(),
                    sample.error
                ));
            }
        }
    }
    Ok(())
}

/// Every measure on one bundle, after `--warmup` unmeasured runs of each subject.
fn measure_bundle(
    opts: &options::Options,
    work: &WorkDir,
    bundle: &Bundle,
    subjects: &[Subject],
    floor: Option<&Subject>,
) -> Result<Measured, String> {
    for s in subjects.iter().chain(floor) {
        for i in 0..opts.warmup {
            let sample = s.run_once(&bundle.path, &format!("{}-w{i}", bundle.name));
            if !sample.ok {
                return Err(format!("{}: warm-up run failed: {}", s.name, sample.error));
            }
        }
    }
    let mut runtimes: Vec<Series> = subjects.iter().map(|_| Series::default()).collect();
    let mut floor_series = floor.map(|_| Series::default());
    let exec_ids = steps::start_sleepers(subjects, work, bundle)?;
    // Each round starts one place further along the list (the floor, then the runtimes), so
    // that every subject follows every other equally often: what a command runs beside (the
    // kernel still tearing down the previous container's namespaces on the other core, an RCU
    // grace period still running) then falls on each alike, not always on the same one.
    let slots = subjects.len() + usize::from(floor.is_some());
    for n in 0..opts.rounds {
        for slot in rotated(slots, n) {
            match (slot.checked_sub(usize::from(floor.is_some())), floor) {
                (None, Some(f)) => {
                    if let Some(out) = floor_series.as_mut() {
                        steps::record(f, RUN, &f.run_once(&bundle.path, ""), out);
                    }
                }
                (Some(i), _) => steps::round(
                    &subjects[i],
                    work,
                    bundle,
                    &exec_ids[i],
                    n,
                    &mut runtimes[i],
                ),
                (None, None) => {}
            }
        }
    }
    steps::delete_all(subjects, &exec_ids);
    // The kernel tears down the namespaces of 50 containers for a while after their delete
    // returned (network namespaces go one by one in a kernel worker): without a pause, the
    // runtime measured next would pay for the one before. Rotated as above.
    for r in 0..opts.parallel_rounds {
        for i in rotated(subjects.len(), r) {
            std::thread::sleep(std::time::Duration::from_millis(PARALLEL_SETTLE_MS));
            parallel::round(
                &subjects[i],
                work,
                bundle,
                opts.parallel,
                r,
                &mut runtimes[i],
            );
        }
    }
    for r in 0..opts.rss_runs {
        for i in rotated(subjects.len(), r) {
            rss::round(&subjects[i], work, bundle, r, &mut runtimes[i]);
        }
    }
    Ok(Measured {
        bundle: bundle.name,
        runtimes,
        floor: floor_series,
    })
}

/// The pause before each parallel round, in which the previous round's namespaces go.
const PARALLEL_SETTLE_MS: u64 = 1000;

/// `0..len` starting at `round % len` and wrapping around.
fn rotated(len: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..len).map(move |k| (k + round) % len.max(1))
}

/// Every sample of every bundle, runtime and measure.
fn write_json(
    path: &std::path::Path,
    namespace: &str,
    subjects: &[Subject],
    results: &[Measured],
) -> Result<(), String> {
    let bundles: Vec<_> = results
        .iter()
        .map(|m| {
            json!({
                "bundle": m.bundle,
                "floor": m.floor.as_ref().map(Series::samples),
                "runtimes": subjects.iter().zip(&m.runtimes).map(|(s, series)| json!({
                    "name": s.name,
                    "binary": s.binary(),
                    "samples": series.samples(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({ "namespace": namespace, "bundles": bundles });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The seccomp subcommand with the suite's runtimes, in the same namespace.
fn run_seccomp(opts: &options::Options, rounds: usize) -> Result<(), String> {
    println!();
    println!("## syscall cost under podman's seccomp profile (cella-benches seccomp)");
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
    crate::seccomp::run(args.into_iter())
}
