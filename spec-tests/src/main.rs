//! spec-tests: an OCI runtime conformance suite that drives any runc-compatible runtime binary
//! through its command line and reports, test by test, which spec requirement holds.
//!
//! Usage: `spec-tests --runtime PATH [--rootfs DIR] [--filter REGEX]... [--exclude REGEX]...
//! [--format tap|junit|json] [--test-timeout SECS] [--bad-configs DIR] [--check-messages]
//! [--systemd-cgroup] [--list]`

mod bundle;
mod checker;
mod harness;
mod report;
mod rootfs;
mod runner;
mod spec_refs;
mod tests;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use regex::Regex;

use harness::{skip_reason, Ctx, TestResult};
use report::{Format, Record, Reporter, Status};

/// One registered test: a name `area.short_name` and the function. The spec sentence it
/// checks is found by name in [`spec_refs`].
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

    /// The requirement the test checks, `document#section: sentence`.
    pub fn spec(&self) -> Option<&'static str> {
        spec_refs::lookup(&self.name)
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
    /// Tests whose name matches any of these (all when empty).
    filter: Vec<Regex>,
    /// Tests whose name matches any of these are left out.
    exclude: Vec<Regex>,
    bad_configs: Option<PathBuf>,
    check_messages: bool,
    list: bool,
    /// Run the runner's own tests instead of the suite.
    self_test: bool,
    format: Format,
    test_timeout: Duration,
    /// Tests whose failure is expected (a known deviation of the runtime under test).
    expected_failures: Option<PathBuf>,
    /// Pass `--systemd-cgroup` to every runtime invocation (runc's systemd cgroup driver).
    systemd_cgroup: bool,
}

const USAGE: &str = "usage: spec-tests --runtime PATH [--rootfs DIR] [--filter REGEX]... \
[--exclude REGEX]... [--format tap|junit|json] [--test-timeout SECS] [--bad-configs DIR] \
[--check-messages] [--expected-failures FILE] [--lifecycles N] [--systemd-cgroup] [--list]";

/// How long one test may run before it is killed, unless `--test-timeout` says otherwise.
const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(300);

fn regex_arg(flag: &str, v: &str) -> Result<Regex, String> {
    Regex::new(v).map_err(|e| format!("{flag} {v:?}: not a regular expression: {e}"))
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        runtime: None,
        rootfs: None,
        filter: Vec::new(),
        exclude: Vec::new(),
        bad_configs: None,
        check_messages: false,
        list: false,
        self_test: false,
        format: Format::Tap,
        test_timeout: DEFAULT_TEST_TIMEOUT,
        expected_failures: None,
        systemd_cgroup: false,
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
            "--filter" => a.filter.push(regex_arg("--filter", &value("--filter")?)?),
            "--exclude" => a
                .exclude
                .push(regex_arg("--exclude", &value("--exclude")?)?),
            "--bad-configs" => a.bad_configs = Some(PathBuf::from(value("--bad-configs")?)),
            "--check-messages" => a.check_messages = true,
            "--systemd-cgroup" => a.systemd_cgroup = true,
            // Read by security.lifecycles_leak_nothing (default 1000).
            "--lifecycles" => std::env::set_var("SPEC_TESTS_LIFECYCLES", value("--lifecycles")?),
            "--list" => a.list = true,
            "--self-test" => a.self_test = true,
            "--expected-failures" => {
                a.expected_failures = Some(PathBuf::from(value("--expected-failures")?))
            }
            "--format" => a.format = Format::parse(&value("--format")?)?,
            "--test-timeout" => {
                let v = value("--test-timeout")?;
                let secs: u64 = v.parse().ok().filter(|&s| s > 0).ok_or_else(|| {
                    format!("--test-timeout {v:?}: not a positive number of seconds")
                })?;
                a.test_timeout = Duration::from_secs(secs);
            }
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
    v.extend(tests::idmap::tests());
    v.extend(tests::devices::tests());
    v.extend(tests::process::tests());
    v.extend(tests::cgroups::tests());
    v.extend(tests::resources::tests());
    v.extend(tests::exec::tests());
    v.extend(tests::terminal::tests());
    v.extend(tests::hooks::tests());
    v.extend(tests::real_world::tests());
    v.extend(tests::features::tests());
    v.extend(tests::seccomp::tests());
    v.extend(tests::as_runc::tests());
    v.extend(tests::checker::tests());
    v.extend(tests::coverage::tests());
    v.extend(tests::apparmor::tests());
    v.extend(tests::selinux::tests());
    v.extend(tests::scheduling::tests());
    v.extend(tests::pidfd::tests());
    v.extend(tests::notify::tests());
    v.extend(tests::net_devices::tests());
    v.extend(tests::security::tests());
    v.extend(tests::systemd::tests());
    v.extend(tests::bad_configs::tests(bad_configs));
    v
}

fn main() -> ExitCode {
    // First: the container of `as_runc.notify_*` runs this binary as its sd_notify client.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(tests::notify::HELPER_FLAG) {
        return tests::notify::helper_main(&argv[2..]);
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let expected = match args.expected_failures.as_deref().map(read_expected) {
        None => BTreeSet::new(),
        Some(Ok(e)) => e,
        Some(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut tests = if args.self_test {
        tests::selftest::tests()
    } else {
        all_tests(args.bad_configs.as_ref())
    };
    if !args.filter.is_empty() {
        tests.retain(|t| args.filter.iter().any(|f| f.is_match(&t.name)));
    }
    tests.retain(|t| !args.exclude.iter().any(|f| f.is_match(&t.name)));
    if args.list {
        list(&tests, args.format);
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
    let mut ctx = match Ctx::new(runtime, rootfs, args.check_messages) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };

    let started = Instant::now();
    let mut rep = Reporter::new(args.format);
    // The last test is the leak check over everything the others did.
    rep.plan(tests.len() + 1);
    rep.fact("runtime", &ctx.runtime.to_string_lossy());
    rep.fact("rootfs", &ctx.rootfs.to_string_lossy());
    rep.fact("root", &ctx.root.to_string_lossy());
    let version = runtime_version(&ctx);
    if let Some(v) = &version {
        rep.fact("version", v);
    }
    ctx.systemd = args.systemd_cgroup;
    // The default unit of a config without cgroupsPath is `<prefix>-<id>.scope`: runc's
    // prefix is `runc`, cella's `cella`.
    if version.as_deref().is_some_and(|v| v.starts_with("runc")) {
        ctx.default_unit_prefix = "runc".to_string();
    }
    rep.fact(
        "cgroup-driver",
        if ctx.systemd {
            "systemd (--systemd-cgroup)"
        } else {
            "cgroupfs"
        },
    );
    if let Some(f) = &args.expected_failures {
        rep.fact("expected-failures", &f.to_string_lossy());
    }
    for (i, t) in tests.iter().enumerate() {
        let o = runner::run_isolated(&ctx, i + 1, t, args.test_timeout);
        let mut r = record(&t.name, t.spec(), o.result, o.output, o.duration);
        if expected.contains(&t.name) {
            r = expect_failure(r);
        }
        rep.record(r);
    }
    ctx.reload_records();
    let t0 = Instant::now();
    let leak = tests::leftovers::check(&ctx);
    rep.record(record(
        "suite.no_leftovers",
        spec_refs::lookup("suite.no_leftovers"),
        leak,
        String::new(),
        t0.elapsed(),
    ));
    let failed = rep.counts().1;
    rep.finish(started.elapsed());
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn record(
    name: &str,
    spec: Option<&str>,
    res: TestResult,
    output: String,
    duration: Duration,
) -> Record {
    let (status, reason) = match res {
        Ok(()) => (Status::Pass, String::new()),
        Err(e) => match skip_reason(&e) {
            Some(r) => (Status::Skip, r.to_string()),
            None => (Status::Fail, e),
        },
    };
    Record {
        name: name.to_string(),
        spec: spec.map(String::from),
        status,
        reason,
        output,
        duration,
    }
}

/// Reads an expected-failures file: one test name a line; `#` starts a comment.
fn read_expected(path: &std::path::Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--expected-failures {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// A listed test: its failure is expected; a pass means the list is out of date (a failure,
/// so that the list stays exact).
fn expect_failure(mut r: Record) -> Record {
    match r.status {
        Status::Fail => r.status = Status::ExpectedFail,
        Status::Pass => {
            r.status = Status::Fail;
            r.reason = "listed in --expected-failures but passed: remove it from the list".into();
        }
        _ => {}
    }
    r
}

/// The first line of `RUNTIME --version` (for the report).
fn runtime_version(ctx: &Ctx) -> Option<String> {
    let mut cmd = std::process::Command::new(&ctx.runtime);
    cmd.arg("--version");
    let out = ctx.exec(cmd, None).ok()?;
    let line = out.stdout.lines().next()?.trim().to_string();
    (out.code == 0 && !line.is_empty()).then_some(line)
}

/// `--list`: the names (TAP), or names with their spec sentences (JSON; JUnit gives the same).
fn list(tests: &[Test], format: Format) {
    if format == Format::Tap {
        for t in tests {
            println!("{}", t.name);
        }
        return;
    }
    let v: Vec<serde_json::Value> = tests
        .iter()
        .map(|t| serde_json::json!({"name": t.name, "spec": t.spec()}))
        .collect();
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
}

#[cfg(test)]
mod tests_of_registry {
    use super::*;

    /// Every test names the spec sentence (or runc CLI behaviour) it checks.
    #[test]
    fn every_test_names_its_spec_sentence() {
        let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/bad-configs");
        let mut tests = all_tests(Some(&corpus));
        tests.extend(tests::selftest::tests());
        let missing: Vec<&str> = tests
            .iter()
            .filter(|t| t.spec().is_none())
            .map(|t| t.name.as_str())
            .collect();
        assert!(
            missing.is_empty(),
            "tests without an entry in spec_refs.rs: {missing:?}"
        );
    }
}
