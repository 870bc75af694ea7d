//! engine-tests: the real engines — containerd (`ctr`, the runc shim), its CRI
//! plugin, podman and dockerd, from Debian's packages, unmodified — running
//! containers through a runc-compatible runtime, checked from the engine's
//! side and from the host's. Point it at cella or at runc: a test that fails
//! with runc too is the harness's fault, not the runtime's.
//!
//! Usage: `engine-tests --runtime PATH [--rootfs DIR] [--filter REGEX] [--systemd-cgroup]
//! [--scripts DIR] [--list]`

mod cmd;
mod containerd;
mod cri;
mod docker;
mod env;
mod image;
mod leftovers;
mod podman;
mod sdnotify;
mod systemd;
mod tmux;

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use regex::Regex;

use env::{skip_reason, Env, TestResult};

/// End-to-end tests of a runc-compatible runtime under containerd, the CRI
/// plugin, podman and dockerd.
#[derive(Parser)]
#[command(name = "engine-tests")]
struct Args {
    /// The runtime binary to plug into the engines (e.g. target/release/cella, /usr/sbin/runc).
    #[arg(long, required_unless_present = "list")]
    runtime: Option<PathBuf>,
    /// The busybox rootfs the test images are made from (fixtures/build-rootfs.sh builds it).
    #[arg(long, default_value = "fixtures/cache/rootfs")]
    rootfs: PathBuf,
    /// Run only the tests whose name (`engine.test`) matches this regex.
    #[arg(long)]
    filter: Option<String>,
    /// Print the test names and exit.
    #[arg(long)]
    list: bool,
    /// Every engine on the systemd cgroup driver (containerd's CRI plugin
    /// with `SystemdCgroup = true`, `ctr --runc-systemd-cgroup`, podman's
    /// `cgroup_manager = "systemd"`, dockerd's `native.cgroupdriver=systemd`),
    /// with slices as cgroup parents; the tests also check the containers'
    /// scope units. Needs systemd as PID 1 on a pure cgroup v2 host.
    #[arg(long)]
    systemd_cgroup: bool,
    /// The directory of the helper scripts (`cri_client.py`); default: the
    /// source directory this binary was built from.
    #[arg(long)]
    scripts: Option<PathBuf>,
    /// Known failures of the runtime (a peer's deviations, for the harness
    /// check): lines `TEST TEXT`, where TEXT must be part of the failure
    /// message; `#` starts a comment. Such a failure is reported as TODO and
    /// not counted; a listed test that passes fails.
    #[arg(long)]
    expected_failures: Option<PathBuf>,
}

/// Reads an `--expected-failures` file: (test, text of its failure).
fn read_expected(path: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split_once('#').map_or(l, |(a, _)| a).trim())
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, want)) => (name.to_string(), want.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect())
}

/// One test of a group: its short name and function.
pub type Test<E> = (&'static str, fn(&E) -> TestResult);

/// TAP output and the totals.
pub struct Tap {
    filter: Option<Regex>,
    expected: Vec<(String, String)>,
    n: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    /// Expected failures that failed as listed.
    todo: Vec<String>,
}

impl Tap {
    fn selected(&self, name: &str) -> bool {
        self.filter.as_ref().is_none_or(|re| re.is_match(name))
    }

    fn report(&mut self, name: &str, result: TestResult, took: std::time::Duration) {
        self.n += 1;
        let n = self.n;
        let expected = self
            .expected
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, want)| want.clone());
        match (result, expected) {
            (Ok(()), Some(_)) => {
                self.failed += 1;
                println!("not ok {n} - {name} # listed as an expected failure, but it passed");
            }
            (Err(e), Some(want)) if skip_reason(&e).is_none() && e.contains(&want) => {
                self.todo.push(name.to_string());
                println!("not ok {n} - {name} # TODO expected failure");
                for line in e.lines() {
                    println!("# {line}");
                }
            }
            (result, _) => self.report_result(n, name, result),
        }
        println!("# {name} took {:.1}s", took.as_secs_f64());
    }

    fn report_result(&mut self, n: usize, name: &str, result: TestResult) {
        match result {
            Ok(()) => {
                self.passed += 1;
                println!("ok {n} - {name}");
            }
            Err(e) => match skip_reason(&e) {
                Some(why) => {
                    self.skipped += 1;
                    println!("ok {n} - {name} # SKIP {why}");
                }
                None => {
                    self.failed += 1;
                    println!("not ok {n} - {name}");
                    for line in e.lines() {
                        println!("# {line}");
                    }
                }
            },
        }
    }

    /// Runs the selected tests of group `area`: `setup` once (only if a test
    /// is selected), each test, then the engine's teardown (its `Drop`).
    pub fn group<E>(
        &mut self,
        area: &str,
        tests: &[Test<E>],
        setup: impl FnOnce() -> Result<E, String>,
    ) {
        let chosen: Vec<&Test<E>> = tests
            .iter()
            .filter(|(name, _)| self.selected(&format!("{area}.{name}")))
            .collect();
        if chosen.is_empty() {
            return;
        }
        let t0 = Instant::now();
        let engine = match panic::catch_unwind(AssertUnwindSafe(setup)) {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                for (name, _) in chosen {
                    let why = match skip_reason(&e) {
                        Some(s) => env::skip(s),
                        None => format!("setup of {area} failed: {e}"),
                    };
                    self.report(&format!("{area}.{name}"), Err(why), t0.elapsed());
                }
                return;
            }
            Err(_) => {
                for (name, _) in chosen {
                    self.report(
                        &format!("{area}.{name}"),
                        Err(format!("setup of {area} panicked")),
                        t0.elapsed(),
                    );
                }
                return;
            }
        };
        println!(
            "# {area}: engine ready in {:.1}s",
            t0.elapsed().as_secs_f64()
        );
        for (name, f) in chosen {
            let full = format!("{area}.{name}");
            let t = Instant::now();
            let r = panic::catch_unwind(AssertUnwindSafe(|| f(&engine)))
                .unwrap_or_else(|_| Err("the test panicked".into()));
            self.report(&full, r, t.elapsed());
        }
        drop(engine);
    }
}

fn main() -> ExitCode {
    // First: podman.sdnotify_container's container runs this binary as its sd_notify client.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(sdnotify::HELPER_FLAG) {
        return sdnotify::helper_main(&argv[2..]);
    }
    let args = Args::parse();
    let filter = match args.filter.as_deref().map(Regex::new).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("engine-tests: --filter: {e}");
            return ExitCode::from(2);
        }
    };
    if args.list {
        for name in all_names() {
            if filter.as_ref().is_none_or(|re| re.is_match(&name)) {
                println!("{name}");
            }
        }
        return ExitCode::SUCCESS;
    }
    let runtime = args
        .runtime
        .expect("clap requires --runtime without --list");
    let runtime = match resolve(&runtime) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("engine-tests: --runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let rootfs = match args.rootfs.canonicalize() {
        Ok(p) if p.join("bin/busybox").exists() => p,
        _ => {
            eprintln!(
                "engine-tests: --rootfs {}: not a busybox rootfs (build one with fixtures/build-rootfs.sh)",
                args.rootfs.display()
            );
            return ExitCode::from(2);
        }
    };
    if !nix::unistd::geteuid().is_root() {
        eprintln!("engine-tests: must run as root (the engines run containers as root)");
        return ExitCode::from(2);
    }
    if args.systemd_cgroup {
        if !std::path::Path::new("/run/systemd/system").exists() {
            eprintln!("engine-tests: --systemd-cgroup: systemd is not running here (no /run/systemd/system)");
            return ExitCode::from(2);
        }
        if !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            eprintln!(
                "engine-tests: --systemd-cgroup: /sys/fs/cgroup is not a pure cgroup v2 tree"
            );
            return ExitCode::from(2);
        }
    }
    let scripts = args
        .scripts
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if !scripts.join("cri_client.py").is_file() {
        eprintln!(
            "engine-tests: --scripts {}: no cri_client.py there",
            scripts.display()
        );
        return ExitCode::from(2);
    }
    let env = match Env::new(runtime, rootfs, scripts, args.systemd_cgroup) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("engine-tests: {e}");
            return ExitCode::from(2);
        }
    };
    let before = leftovers::Before::take(&env);
    let expected = match args.expected_failures.as_deref().map(read_expected) {
        None => Vec::new(),
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            eprintln!("engine-tests: --expected-failures: {e}");
            return ExitCode::from(2);
        }
    };
    let mut tap = Tap {
        filter,
        expected,
        n: 0,
        passed: 0,
        failed: 0,
        skipped: 0,
        todo: Vec::new(),
    };
    let planned = all_names().iter().filter(|n| tap.selected(n)).count() + 1;
    println!("1..{planned}");
    println!(
        "# runtime {} work {} cgroup driver {}{}",
        env.runtime.display(),
        env.work.display(),
        if env.systemd { "systemd" } else { "cgroupfs" },
        if env.apparmor {
            " (AppArmor on: engines' default profiles)"
        } else {
            ""
        }
    );
    let t0 = Instant::now();
    containerd::run(&env, &mut tap);
    cri::run(&env, &mut tap);
    podman::run(&env, &mut tap);
    docker::run(&env, &mut tap);
    tmux::kill_server(&env);
    let t = Instant::now();
    let r = leftovers::check_and_clean(&env, &before, tap.failed > 0);
    tap.report("suite.no_leftovers", r, t.elapsed());
    println!("# suite took {:.1}s", t0.elapsed().as_secs_f64());
    if !tap.todo.is_empty() {
        println!(
            "# {} expected failures (TODO, not counted): {}",
            tap.todo.len(),
            tap.todo.join(", ")
        );
    }
    println!(
        "{} passed, {} failed, {} skipped",
        tap.passed, tap.failed, tap.skipped
    );
    if tap.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn all_names() -> Vec<String> {
    let mut v = Vec::new();
    for (area, names) in [
        ("containerd", containerd::names()),
        ("cri", cri::names()),
        ("podman", podman::names()),
        ("docker", docker::names()),
    ] {
        v.extend(names.into_iter().map(|n| format!("{area}.{n}")));
    }
    v
}

/// An absolute path for `p`, looked up in `PATH` when it is a bare name.
fn resolve(p: &std::path::Path) -> Result<PathBuf, String> {
    let found = if p.components().count() == 1 {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(p))
                .find(|c| c.is_file())
        })
    } else {
        Some(p.to_path_buf())
    };
    found
        .and_then(|f| f.canonicalize().ok())
        .ok_or_else(|| format!("{}: not found", p.display()))
}
