//! spec-tests: an OCI runtime conformance suite that drives any runc-compatible runtime binary
//! through its command line and prints TAP.
//!
//! Usage: `spec-tests --runtime PATH [--rootfs DIR] [--filter SUBSTR] [--bad-configs DIR]
//! [--check-messages] [--list]`

mod bundle;
mod harness;
mod rootfs;
mod tests;

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use harness::{skip_reason, Ctx, TestResult};

/// One registered test: a name `area.short_name` and the function.
pub struct Test {
    pub name: String,
    pub run: Box<dyn Fn(&Ctx) -> TestResult>,
}

impl Test {
    pub fn new(area: &str, short: &str, f: fn(&Ctx) -> TestResult) -> Test {
        Test {
            name: format!("{area}.{short}"),
            run: Box::new(f),
        }
    }

    /// The part after the area: used in container ids.
    pub fn short(&self) -> &str {
        self.name
            .split_once('.')
            .map(|(_, s)| s)
            .unwrap_or(&self.name)
    }
}

struct Args {
    runtime: Option<PathBuf>,
    rootfs: Option<PathBuf>,
    /// Tests whose name contains any of these (all when empty).
    filter: Vec<String>,
    bad_configs: Option<PathBuf>,
    check_messages: bool,
    list: bool,
}

const USAGE: &str = "usage: spec-tests --runtime PATH [--rootfs DIR] [--filter SUBSTR]... \
[--bad-configs DIR] [--check-messages] [--lifecycles N] [--list]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        runtime: None,
        rootfs: None,
        filter: Vec::new(),
        bad_configs: None,
        check_messages: false,
        list: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--runtime" => a.runtime = Some(PathBuf::from(value("--runtime")?)),
            "--rootfs" => a.rootfs = Some(PathBuf::from(value("--rootfs")?)),
            "--filter" => a.filter.push(value("--filter")?),
            "--bad-configs" => a.bad_configs = Some(PathBuf::from(value("--bad-configs")?)),
            "--check-messages" => a.check_messages = true,
            // Read by security.lifecycles_leak_nothing (default 1000).
            "--lifecycles" => std::env::set_var("SPEC_TESTS_LIFECYCLES", value("--lifecycles")?),
            "--list" => a.list = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

/// Resolves a runtime given as a bare name (`runc`) through PATH, so that the suite can
/// report the binary it ran.
fn resolve_runtime(p: PathBuf) -> PathBuf {
    if p.components().count() > 1 {
        return std::fs::canonicalize(&p).unwrap_or(p);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let cand = dir.join(&p);
            if cand.is_file() {
                return cand;
            }
        }
    }
    p
}

fn all_tests(bad_configs: Option<&PathBuf>) -> Vec<Test> {
    let mut v = Vec::new();
    v.extend(tests::lifecycle::tests());
    v.extend(tests::namespaces::tests());
    v.extend(tests::mounts::tests());
    v.extend(tests::devices::tests());
    v.extend(tests::process::tests());
    v.extend(tests::cgroups::tests());
    v.extend(tests::resources::tests());
    v.extend(tests::exec::tests());
    v.extend(tests::terminal::tests());
    v.extend(tests::hooks::tests());
    v.extend(tests::features::tests());
    v.extend(tests::seccomp::tests());
    v.extend(tests::security::tests());
    v.extend(tests::bad_configs::tests(bad_configs));
    v
}

/// Prints a (possibly multi-line) diagnostic as TAP comment lines.
fn diag(text: &str) {
    for line in text.lines() {
        println!("# {line}");
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut tests = all_tests(args.bad_configs.as_ref());
    if !args.filter.is_empty() {
        tests.retain(|t| args.filter.iter().any(|f| t.name.contains(f.as_str())));
    }
    if args.list {
        for t in &tests {
            println!("{}", t.name);
        }
        return ExitCode::SUCCESS;
    }
    let Some(runtime) = args.runtime else {
        eprintln!("--runtime is required\n{USAGE}");
        return ExitCode::from(2);
    };
    let runtime = resolve_runtime(runtime);
    let rootfs = match args.rootfs {
        Some(r) => match std::fs::canonicalize(&r) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("--rootfs {}: {e}", r.display());
                return ExitCode::from(2);
            }
        },
        None => match rootfs::default_rootfs() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("cannot build the default rootfs: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let ctx = match Ctx::new(runtime, rootfs, args.check_messages) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };

    let started = Instant::now();
    // The last test is the leak check over everything the others did.
    println!("1..{}", tests.len() + 1);
    diag(&format!(
        "runtime {} rootfs {} root {}",
        ctx.runtime.display(),
        ctx.rootfs.display(),
        ctx.root.display()
    ));
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut report = |n: usize, name: &str, res: TestResult| match res {
        Ok(()) => {
            passed += 1;
            println!("ok {n} - {name}");
        }
        Err(e) => match skip_reason(&e) {
            Some(reason) => {
                skipped += 1;
                println!("ok {n} - {name} # SKIP {}", reason.replace('\n', " "));
            }
            None => {
                failed += 1;
                println!("not ok {n} - {name}");
                diag(&e);
            }
        },
    };
    for (i, t) in tests.iter().enumerate() {
        ctx.set_current(t.short());
        let t0 = Instant::now();
        let res = panic::catch_unwind(AssertUnwindSafe(|| (t.run)(&ctx)))
            .unwrap_or_else(|p| Err(format!("test panicked: {}", panic_text(&p))));
        report(i + 1, &t.name, res);
        let dt = t0.elapsed();
        if dt.as_secs() >= 5 {
            diag(&format!("{} took {:.1}s", t.name, dt.as_secs_f64()));
        }
    }
    let leak = tests::leftovers::check(&ctx);
    report(tests.len() + 1, "suite.no_leftovers", leak);
    diag(&format!(
        "suite took {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
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
