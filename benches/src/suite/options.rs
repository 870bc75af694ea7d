//! The suite's command line.

use std::path::PathBuf;

const USAGE: &str = "\
usage: cella-benches suite [--rootfs DIR] [--runtime NAME=PATH]... [-n ROUNDS] [--warmup N]
                           [--bundle minimal|realistic]... [--parallel N] [--parallel-rounds R]
                           [--rss-runs K] [--seccomp-rounds S | --no-seccomp] [--json FILE]
                           [--keep]

  --runtime NAME=PATH   a runc-compatible runtime binary, repeatable (default cella, crun, runc);
                        the first is compared with each other one (columns FIRST/OTHER) and,
                        in the targets block, with the one named crun
  -n, --rounds N        rounds of run / create, start, delete / exec (default 20)
  --warmup N            unmeasured runs per runtime and bundle first (default 2)
  --bundle NAME         measure only this bundle (repeatable; default both, minimal first)
  --parallel N          containers per parallel round (default 50)
  --parallel-rounds R   rounds of the parallel measure (default 5)
  --rss-runs K          runs under /usr/bin/time per runtime and bundle (default 5)
  --seccomp-rounds S    rounds of the seccomp syscall-cost bench at the end (default 5)
  --no-seccomp          leave the seccomp bench out
  --json FILE           also write every sample as JSON to FILE
  --keep                keep the work directory (bundles, state roots) for inspection
";

/// The two bundles, in the order they are measured.
pub const BUNDLES: [&str; 2] = ["minimal", "realistic"];

pub struct Options {
    pub rootfs: PathBuf,
    pub runtimes: Vec<(String, PathBuf)>,
    pub bundles: Vec<&'static str>,
    pub rounds: usize,
    pub warmup: usize,
    pub parallel: usize,
    pub parallel_rounds: usize,
    pub rss_runs: usize,
    pub seccomp_rounds: Option<usize>,
    pub json: Option<PathBuf>,
    pub keep: bool,
}

pub fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        rootfs: PathBuf::from(crate::REPO).join("fixtures/cache/rootfs"),
        runtimes: Vec::new(),
        bundles: Vec::new(),
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
        let mut count = || value().and_then(|v| crate::parse_count(&name, &v));
        match name.as_str() {
            "--rootfs" => opts.rootfs = PathBuf::from(value()?),
            "--runtime" => opts.runtimes.push(crate::parse_runtime(&value()?)?),
            "--bundle" => opts.bundles.push(parse_bundle(&value()?)?),
            "-n" | "--rounds" => opts.rounds = count()?,
            "--warmup" => opts.warmup = count()?,
            "--parallel" => opts.parallel = count()?,
            "--parallel-rounds" => opts.parallel_rounds = count()?,
            "--rss-runs" => opts.rss_runs = count()?,
            "--seccomp-rounds" => opts.seccomp_rounds = Some(count()?),
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
    finish(opts)
}

/// Defaults that depend on what was given, and the checks across options.
fn finish(mut opts: Options) -> Result<Options, String> {
    if opts.rounds == 0 {
        return Err("-n must be at least 1".into());
    }
    if opts.bundles.is_empty() {
        opts.bundles = BUNDLES.to_vec();
    }
    opts.bundles
        .sort_by_key(|b| BUNDLES.iter().position(|x| x == b));
    opts.bundles.dedup();
    if opts.runtimes.is_empty() {
        opts.runtimes = crate::default_runtimes();
    }
    if opts.runtimes.is_empty() {
        return Err("no runtime to measure".into());
    }
    crate::lifecycle::check_rootfs(&opts.rootfs)?;
    Ok(opts)
}

fn parse_bundle(name: &str) -> Result<&'static str, String> {
    BUNDLES
        .iter()
        .find(|b| **b == name)
        .copied()
        .ok_or_else(|| format!("--bundle: {name:?} is neither minimal nor realistic"))
}
