//! difftest: runs each config of a corpus under a reference runtime (Debian's runc) and under
//! the runtime under test, and compares what the container observes of itself (the probe:
//! `spec-checker --observe`) or, for configs run with their own args, its exit status and
//! stdout. A difference not listed in the expected-differences file fails the run, and so does
//! a listed one that no longer occurs.
//!
//! Usage: `difftest --runtime PATH --reference PATH [--rootfs DIR] [--corpus DIR]...
//! [--seccomp FILE]... [--expected FILE] [--filter REGEX]... [--dump DIR] [--list]`
//!
//! See spec-tests/README.md ("difftest") for the corpus and the expected-differences file.

#[allow(dead_code)]
#[path = "../../harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../../rootfs.rs"]
mod rootfs;

mod compare;
mod corpus;
mod expected;
mod observe;
mod prepare;
mod variants;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use regex::Regex;

use corpus::Case;
use observe::Obs;

const USAGE: &str = "usage: difftest --runtime PATH --reference PATH [--rootfs DIR] \
[--corpus DIR]... [--seccomp FILE]... [--expected FILE] [--filter REGEX]... [--dump DIR] [--list]";

struct Args {
    runtime: Option<PathBuf>,
    reference: Option<PathBuf>,
    rootfs: Option<PathBuf>,
    corpus: Vec<PathBuf>,
    seccomp: Vec<PathBuf>,
    expected: Option<PathBuf>,
    filter: Vec<Regex>,
    dump: Option<PathBuf>,
    list: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        runtime: None,
        reference: None,
        rootfs: None,
        corpus: Vec::new(),
        seccomp: Vec::new(),
        expected: None,
        filter: Vec::new(),
        dump: None,
        list: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--runtime" => a.runtime = Some(PathBuf::from(value()?)),
            "--reference" => a.reference = Some(PathBuf::from(value()?)),
            "--rootfs" => a.rootfs = Some(PathBuf::from(value()?)),
            "--corpus" => a.corpus.push(PathBuf::from(value()?)),
            "--seccomp" => a.seccomp.push(PathBuf::from(value()?)),
            "--expected" => a.expected = Some(PathBuf::from(value()?)),
            "--dump" => a.dump = Some(PathBuf::from(value()?)),
            "--filter" => {
                let v = value()?;
                a.filter
                    .push(Regex::new(&v).map_err(|e| format!("--filter {v:?}: {e}"))?);
            }
            "--list" => a.list = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

fn absolute(p: PathBuf, what: &str) -> Result<PathBuf, String> {
    std::fs::canonicalize(&p).map_err(|e| format!("{what} {}: {e}", p.display()))
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("difftest: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let a = parse_args()?;
    let (Some(runtime), Some(reference)) = (a.runtime, a.reference) else {
        return Err(format!("--runtime and --reference are required\n{USAGE}"));
    };
    let runtime = absolute(runtime, "--runtime")?;
    let reference = absolute(reference, "--reference")?;
    let rootfs = match a.rootfs {
        Some(r) => absolute(r, "--rootfs")?,
        None => rootfs::default_rootfs()?,
    };
    let expected = match &a.expected {
        Some(p) => expected::read(p)?,
        None => Vec::new(),
    };
    let mut cases = corpus::gather(&reference, &runtime, &a.corpus, &a.seccomp)?;
    if !a.filter.is_empty() {
        cases.retain(|c| a.filter.iter().any(|f| f.is_match(&c.name)));
    }
    if a.list {
        for c in &cases {
            println!("{}", c.name);
        }
        return Ok(true);
    }
    let started = Instant::now();
    println!("1..{}", cases.len());
    println!("# reference: {}", reference.display());
    println!("# runtime: {}", runtime.display());
    println!("# rootfs: {}", rootfs.display());
    let cases = Arc::new(cases);
    let scratch = Scratch::mount()?;
    let (ref_rx, ref_worker) = spawn_worker("ref", reference, &scratch, rootfs.clone(), &cases);
    let (rt_rx, rt_worker) = spawn_worker("rt", runtime, &scratch, rootfs, &cases);
    let mut tally = compare::Tally::new(expected);
    for (i, case) in cases.iter().enumerate() {
        let r = ref_rx
            .recv()
            .map_err(|_| "the reference's worker died".to_string())?;
        let t = rt_rx
            .recv()
            .map_err(|_| "the runtime's worker died".to_string())?;
        if let Some(d) = &a.dump {
            dump(d, case, &r, &t)?;
        }
        tally.case(i + 1, case, &r, &t);
    }
    let left = [ref_worker.join(), rt_worker.join()]
        .into_iter()
        .flat_map(|j| j.unwrap_or_else(|_| vec!["a worker panicked".into()]))
        .collect::<Vec<_>>();
    for l in &left {
        println!("# leftover: {l}");
    }
    drop(scratch);
    let ok = tally.finish(&cases) && left.is_empty();
    println!("# took {} s", started.elapsed().as_secs());
    Ok(ok)
}

/// A thread that runs every case in order under one runtime and sends each observation;
/// it returns what it could not clean up. The two runtimes run side by side.
fn spawn_worker(
    tag: &'static str,
    runtime: PathBuf,
    scratch: &Scratch,
    rootfs: PathBuf,
    cases: &Arc<Vec<Case>>,
) -> (mpsc::Receiver<Obs>, std::thread::JoinHandle<Vec<String>>) {
    let (tx, rx) = mpsc::channel();
    let root = scratch.dir.join(format!("{tag}-root"));
    let work = scratch.dir.join(tag);
    let cases = cases.clone();
    let h = std::thread::spawn(move || {
        let ctx = match harness::Ctx::with_dirs(runtime, rootfs, root, work, false) {
            Ok(c) => c,
            Err(e) => {
                for _ in cases.iter() {
                    let _ = tx.send(observe::failed(&e));
                }
                return vec![e];
            }
        };
        for (i, case) in cases.iter().enumerate() {
            let o = observe::observe(&ctx, case, &format!("{tag}{}", i + 1));
            if tx.send(o).is_err() {
                break;
            }
        }
        observe::clean_up(&ctx)
    });
    (rx, h)
}

/// `--dump DIR`: the case's config and both observations, in `DIR/<case>/`.
fn dump(dir: &std::path::Path, case: &Case, r: &Obs, t: &Obs) -> Result<(), String> {
    let d = dir.join(case.name.replace('/', "__"));
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    let files = [
        ("config.json", serde_json::to_string_pretty(&case.config)),
        ("reference.json", serde_json::to_string_pretty(r)),
        ("runtime.json", serde_json::to_string_pretty(t)),
    ];
    for (f, text) in files {
        let text = text.map_err(|e| e.to_string())?;
        std::fs::write(d.join(f), text).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    Ok(())
}

/// A tmpfs of this run's own at `/tmp/difftest-<pid>`, holding the bundles and state roots:
/// copying a rootfs per run onto a disk that other jobs keep busy took up to a second; in
/// memory it takes milliseconds. Unmounted when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn mount() -> Result<Scratch, String> {
        let dir = PathBuf::from(format!("/tmp/difftest-{}", std::process::id()));
        harness::mkdir_mode(&dir, 0o755)?;
        let d = dir.to_string_lossy().into_owned();
        harness::run_host(&["mount", "-t", "tmpfs", "-o", "mode=755", "difftest", &d])?;
        Ok(Scratch { dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let d = self.dir.to_string_lossy().into_owned();
        // Only when nothing of a container is still mounted below it.
        if harness::mounts_under(&self.dir).len() == 1 {
            let _ = harness::run_host(&["umount", &d]);
            let _ = std::fs::remove_dir(&self.dir);
        } else {
            println!("# left mounted (something below it is still mounted): {d}");
        }
    }
}
