//! The plain lifecycle bench: for every runtime given as `--runtime NAME=PATH`, `N` sequential
//! `RUNTIME --root DIR run --bundle BUNDLE ID` of `/bin/true` (create + start + wait + delete)
//! in the minimal bundle, the wall time of each run and the peak RSS of the runtime's process
//! tree (from `wait4`); median/p90 and ratios relative to the first runtime and to the floor
//! (`cella-floor`, the first row).

use std::path::{Path, PathBuf};

use crate::bundle::WorkDir;
use crate::measure::{Sample, Subject};
use crate::{configs, report};

const USAGE: &str = "\
usage: cella-benches [--rootfs DIR] [--runtime NAME=PATH]... [-n RUNS] [--warmup N]
                     [--json FILE] [--keep]
       cella-benches suite --help       (every lifecycle measure on a minimal and a realistic
                                         bundle, and the targets of issue [13])
       cella-benches seccomp --help     (seccomp compile time and syscall cost)

  --rootfs DIR          busybox rootfs to copy into the bundle
                        (default: fixtures/cache/rootfs, built by fixtures/build-rootfs.sh)
  --runtime NAME=PATH   a runc-compatible runtime binary, repeatable; ratios are relative to the
                        first. Run directly, in the driver's private mount namespace.
                        default: cella=target/x86_64-unknown-linux-gnu/release/cella (from
                        scripts/build-release.sh, under $CARGO_TARGET_DIR if set), crun and runc
                        from $PATH (those that exist)
  -n, --runs N          measured runs per runtime (default 20)
  --warmup N            unmeasured runs per runtime first (default 2)
  --json FILE           also write every sample as JSON to FILE
  --keep                keep the work directory (bundle, state roots) for inspection
";

/// Parsed command line.
struct Options {
    rootfs: PathBuf,
    runtimes: Vec<(String, PathBuf)>,
    runs: usize,
    warmup: usize,
    json: Option<PathBuf>,
    keep: bool,
}

pub fn run(args: impl Iterator<Item = String>) -> Result<(), String> {
    let opts = parse_options(args)?;
    let namespace = crate::prepare_host()?;
    let floor = crate::floor_binary()?;
    let work = WorkDir::create(&opts.rootfs, opts.keep)?;
    let bundle = work.write_bundle("minimal", &configs::minimal())?;

    let mut subjects = vec![Subject::floor(&floor, work.rootfs())];
    for (name, path) in &opts.runtimes {
        let root = work.state_root(name)?;
        subjects.push(Subject::runtime(name, path, root));
    }
    report::print_header(opts.runs, opts.warmup, &bundle, &namespace);

    warm_up(&mut subjects, opts.warmup, &bundle)?;
    let samples = measure_rounds(&subjects, opts.runs, &bundle);

    report::print_table(&subjects, &samples);
    if let Some(path) = &opts.json {
        report::write_json(path, &namespace, &subjects, &samples)?;
    }
    let failed: usize = samples.iter().flatten().filter(|s| !s.ok).count();
    if failed > 0 {
        return Err(format!(
            "{failed} measured run(s) failed; see the messages above"
        ));
    }
    Ok(())
}

/// Unmeasured runs first (page cache, binary loading, cgroup creation paths). A runtime that
/// cannot run the bundle at all is dropped here with its error, so the others still get
/// measured.
fn warm_up(subjects: &mut Vec<Subject>, warmup: usize, bundle: &Path) -> Result<(), String> {
    let mut dropped = Vec::new();
    for (i, subject) in subjects.iter().enumerate() {
        for round in 0..warmup.max(1) {
            let sample = subject.run_once(bundle, &format!("warm{round}"));
            if !sample.ok {
                eprintln!("cella-benches: dropping {}: {}", subject.name, sample.error);
                dropped.push(i);
                break;
            }
        }
    }
    if dropped.contains(&0) {
        return Err("the floor (cella-floor) fails: cannot measure".into());
    }
    for i in dropped.into_iter().rev() {
        subjects.remove(i);
    }
    if subjects.len() < 2 {
        return Err("no runtime left to measure".into());
    }
    Ok(())
}

/// Round-robin over the subjects rather than one subject after another, so that slow drifts of
/// the machine (other load, thermal, page cache) spread over every runtime alike.
fn measure_rounds(subjects: &[Subject], runs: usize, bundle: &Path) -> Vec<Vec<Sample>> {
    let mut samples: Vec<Vec<Sample>> = subjects.iter().map(|_| Vec::new()).collect();
    for round in 0..runs {
        for (subject, out) in subjects.iter().zip(samples.iter_mut()) {
            let sample = subject.run_once(bundle, &round.to_string());
            if !sample.ok {
                eprintln!(
                    "cella-benches: {} run {round} failed: {}",
                    subject.name, sample.error
                );
            }
            out.push(sample);
        }
    }
    samples
}

fn parse_options(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        rootfs: PathBuf::from(crate::REPO).join("fixtures/cache/rootfs"),
        runtimes: Vec::new(),
        runs: 20,
        warmup: 2,
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
            "-n" | "--runs" => opts.runs = crate::parse_count(&name, &value()?)?,
            "--warmup" => opts.warmup = crate::parse_count(&name, &value()?)?,
            "--json" => opts.json = Some(PathBuf::from(value()?)),
            "--keep" => opts.keep = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {name:?}\n{USAGE}")),
        }
    }
    if opts.runs == 0 {
        return Err("-n must be at least 1".into());
    }
    if opts.runtimes.is_empty() {
        opts.runtimes = crate::default_runtimes();
    }
    check_rootfs(&opts.rootfs)?;
    Ok(opts)
}

/// The rootfs must be a busybox one: the bundles run `/bin/true` and `sleep` from it.
pub fn check_rootfs(rootfs: &Path) -> Result<(), String> {
    if rootfs.join("bin/busybox").is_file() {
        Ok(())
    } else {
        Err(format!(
            "{} is not a busybox rootfs: build one with fixtures/build-rootfs.sh",
            rootfs.display()
        ))
    }
}
