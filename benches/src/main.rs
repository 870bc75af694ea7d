//! `cella-benches`: compares OCI runtimes on the cost of a whole container lifecycle.
//!
//! For every runtime given as `--runtime NAME=PATH` the driver runs `N` sequential
//! `RUNTIME --root DIR run --bundle BUNDLE ID` of `/bin/true` (create + start + wait + delete)
//! in one busybox bundle, measures each run's wall time and the peak RSS of the runtime's
//! process tree (from `wait4`), and prints median/p90 and ratios relative to the first runtime.
//!
//! Every runtime goes through the same wrapper (`benches/unshare-wrap.sh`, or its twin
//! `benches/crun-hybrid.sh` for crun, which cannot run on hybrid-cgroup hosts otherwise), and a
//! baseline row measures the wrapper alone, so the figures compare like with like. See
//! `benches/README.md`.
//!
//! `cella-benches seccomp ...` measures seccomp instead: see the `seccomp` module.

mod bundle;
mod flags;
mod measure;
mod report;
mod seccomp;
mod suite;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bundle::WorkDir;
use measure::{Sample, Subject};

const USAGE: &str = "\
usage: cella-benches [--rootfs DIR] [--runtime NAME=PATH]... [-n RUNS] [--warmup N]
                     [--wrap unshare|none] [--json FILE] [--keep]
       cella-benches seccomp --help     (seccomp compile time and syscall cost)
       cella-benches suite --help       (every measure of issue [9]: run, split lifecycle,
                                         exec, parallel, peak RSS, binary size, seccomp)

  --rootfs DIR          busybox rootfs to copy into the bundle
                        (default: fixtures/cache/rootfs, built by fixtures/build-rootfs.sh)
  --runtime NAME=PATH   a runc-compatible runtime binary, repeatable; ratios are relative to the
                        first. A PATH that is a script (#!) is taken to be its own wrapper (like
                        benches/crun-hybrid.sh) and is not wrapped again.
                        default: cella=target/x86_64-unknown-linux-gnu/release/cella (from
                        scripts/build-release.sh), runc=$(which runc),
                        crun=benches/crun-hybrid.sh (those that exist)
  -n, --runs N          measured runs per runtime (default 20)
  --warmup N            unmeasured runs per runtime first (default 2)
  --wrap unshare|none   run binaries through benches/unshare-wrap.sh (default) or directly
  --json FILE           also write every sample as JSON to FILE
  --keep                keep the work directory (bundle, state roots) for inspection
";

/// The repository root, known at compile time: the defaults are paths inside it.
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Parsed command line.
struct Options {
    rootfs: PathBuf,
    runtimes: Vec<(String, PathBuf)>,
    runs: usize,
    warmup: usize,
    wrap: bool,
    json: Option<PathBuf>,
    keep: bool,
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let result = if args.peek().map(String::as_str) == Some("seccomp") {
        args.next();
        seccomp::run(args)
    } else if args.peek().map(String::as_str) == Some("suite") {
        args.next();
        suite::run(args)
    } else {
        parse_options(args).and_then(|opts| run(&opts))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("cella-benches: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options) -> Result<(), String> {
    if !is_root() {
        return Err("must run as root (runtimes create namespaces and mounts)".into());
    }
    let work = WorkDir::create(&opts.rootfs, opts.keep)?;
    let wrapper = PathBuf::from(REPO).join("benches/unshare-wrap.sh");
    let wrapper = std::fs::canonicalize(&wrapper).unwrap_or(wrapper);
    let wrap_with = opts.wrap.then_some(wrapper.as_path());

    // The baseline is the wrapper (or nothing) around /bin/true: what every row pays before the
    // runtime does any work. It is subtracted in the "net" column.
    let mut subjects = vec![Subject::baseline(wrap_with)];
    for (name, path) in &opts.runtimes {
        let root = work.state_root(name)?;
        subjects.push(Subject::runtime(name, path, wrap_with, root));
    }
    report::print_header(opts.runs, opts.warmup, &work, wrap_with);

    warm_up(&mut subjects, opts.warmup, work.bundle())?;
    let samples = measure_rounds(&subjects, opts.runs, work.bundle());

    report::print_table(&subjects, &samples);
    if let Some(path) = &opts.json {
        report::write_json(path, &subjects, &samples)?;
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
/// measured (cella's binary may not support everything yet).
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
        return Err("the baseline (wrapper around /bin/true) fails: cannot measure".into());
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
        rootfs: PathBuf::from(REPO).join("fixtures/cache/rootfs"),
        runtimes: Vec::new(),
        runs: 20,
        warmup: 2,
        wrap: true,
        json: None,
        keep: false,
    };
    let mut flags = crate::flags::Flags::new(args, USAGE);
    while let Some(flag) = flags.next_flag() {
        let name = flag.name.clone();
        let mut value = || flags.value(&flag);
        match name.as_str() {
            "--rootfs" => opts.rootfs = PathBuf::from(value()?),
            "--runtime" => opts.runtimes.push(parse_runtime(&value()?)?),
            "-n" | "--runs" => opts.runs = parse_count(&name, &value()?)?,
            "--warmup" => opts.warmup = parse_count(&name, &value()?)?,
            "--wrap" => {
                opts.wrap = match value()?.as_str() {
                    "unshare" => true,
                    "none" => false,
                    other => return Err(format!("--wrap: unknown wrapper {other:?}")),
                }
            }
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
        opts.runtimes = default_runtimes();
    }
    if !opts.rootfs.join("bin/busybox").is_file() {
        return Err(format!(
            "{} is not a busybox rootfs: build one with fixtures/build-rootfs.sh",
            opts.rootfs.display()
        ));
    }
    Ok(opts)
}

fn parse_runtime(spec: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = spec
        .split_once('=')
        .filter(|(n, p)| !n.is_empty() && !p.is_empty())
        .ok_or_else(|| format!("--runtime wants NAME=PATH, got {spec:?}"))?;
    // The name becomes part of container ids and of a state directory's path.
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "--runtime {name:?}: use letters, digits, - and _ only"
        ));
    }
    let path = std::fs::canonicalize(path).map_err(|e| format!("--runtime {name}: {path}: {e}"))?;
    Ok((name.to_string(), path))
}

fn parse_count(flag: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: not a count: {value:?}"))
}

/// cella as shipped (scripts/build-release.sh's output), runc and crun from `$PATH`; those missing are
/// left out with a note.
fn default_runtimes() -> Vec<(String, PathBuf)> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(REPO).join("target"));
    let candidates = [
        (
            "cella",
            Some(target.join("x86_64-unknown-linux-gnu/release/cella")),
        ),
        ("runc", which("runc")),
        (
            "crun",
            which("crun").map(|_| PathBuf::from(REPO).join("benches/crun-hybrid.sh")),
        ),
    ];
    let mut found = Vec::new();
    for (name, path) in candidates {
        match path.and_then(|p| std::fs::canonicalize(p).ok()) {
            Some(path) => found.push((name.to_string(), path)),
            None => eprintln!("cella-benches: {name} not found, left out"),
        }
    }
    found
}

pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path: OsString = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
