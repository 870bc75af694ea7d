//! rootless-tests: runs a runc-compatible runtime (and rootless podman with
//! it) as a dedicated unprivileged user, and prints TAP.
//!
//! Usage (as root): `rootless-tests --runtime PATH --rootfs DIR
//! [--filter SUBSTR]... [--list]`
//!
//! It creates a user `cellart<pid>` with `useradd` (home and everything
//! else under `/tmp/cella-rootless-<pid>/`), runs every test's runtime
//! and podman commands as that user, checks the containers from inside
//! (their output) and outside (`/proc`, cgroup files), then removes the
//! user, its subordinate ids, its processes and the work directory.

mod config;
mod harness;
mod sdnotify;
mod tests;
mod user;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use harness::{mkdir_mode, skip_reason, Ctx, TestResult};
use user::TestUser;

/// One test: `area.name` and its function.
pub struct Test {
    /// `area.name`.
    pub name: String,
    /// The test.
    pub run: fn(&Ctx) -> TestResult,
}

impl Test {
    /// A test named `area.short`.
    pub fn new(area: &str, short: &str, run: fn(&Ctx) -> TestResult) -> Test {
        Test {
            name: format!("{area}.{short}"),
            run,
        }
    }

    fn short(&self) -> &str {
        self.name.split_once('.').map_or(&self.name, |(_, s)| s)
    }
}

const USAGE: &str =
    "usage: rootless-tests --runtime PATH --rootfs DIR [--filter SUBSTR]... [--list]";

struct Args {
    runtime: Option<PathBuf>,
    rootfs: Option<PathBuf>,
    filter: Vec<String>,
    list: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        runtime: None,
        rootfs: None,
        filter: Vec::new(),
        list: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--runtime" => a.runtime = Some(PathBuf::from(value("--runtime")?)),
            "--rootfs" => a.rootfs = Some(PathBuf::from(value("--rootfs")?)),
            "--filter" => a.filter.push(value("--filter")?),
            "--list" => a.list = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

/// A bare name (`runc`) is looked up in PATH.
fn find_program(p: &Path) -> Option<PathBuf> {
    if p.components().count() > 1 {
        return std::fs::canonicalize(p).ok();
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(p))
        .find(|c| c.is_file())
}

fn diag(text: &str) {
    for line in text.lines() {
        println!("# {line}");
    }
}

/// Everything made before the tests, in an order [`teardown`] undoes.
fn setup(runtime: &Path, rootfs: &Path, work: &Path) -> Result<Ctx, String> {
    mkdir_mode(work, 0o755)?;
    let pid = std::process::id();
    let user = TestUser::create(&format!("cellart{pid}"), &work.join("home"))?;
    let fail = |e: String| {
        let _ = user.remove();
        e
    };
    // The user must reach the runtime: copy it next to its work.
    let bin = work.join("bin");
    mkdir_mode(&bin, 0o755).map_err(fail)?;
    let name = runtime.file_name().ok_or("--runtime has no file name")?;
    let copy = bin.join(name);
    std::fs::copy(runtime, &copy).map_err(|e| fail(format!("copy {}: {e}", runtime.display())))?;
    let podman = find_program(Path::new("podman"));
    let is_cella = name.to_string_lossy().starts_with("cella");
    Ctx::new(
        copy,
        is_cella,
        work.to_path_buf(),
        rootfs.to_path_buf(),
        user.clone(),
        podman,
    )
    .map_err(fail)
}

/// Removes the user (and every process of it and its subordinate ids),
/// the delegated cgroups and the work directory; returns what failed.
fn teardown(ctx: &Ctx) -> TestResult {
    let mut problems = ctx.remove_delegated();
    let killed = ctx.user.kill_processes();
    if !killed.is_empty() {
        problems.push(format!("had to kill leftover processes {killed:?}"));
    }
    if let Err(e) = ctx.user.remove() {
        problems.push(e);
    }
    // Never recurse into a mount (whatever it shows would go too).
    let work = ctx.work.to_string_lossy().into_owned();
    let mounted = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|mp| mp.starts_with(&work)));
    if mounted {
        problems.push(format!(
            "something is mounted under {work}: not removing it"
        ));
    } else if let Err(e) = std::fs::remove_dir_all(&ctx.work) {
        problems.push(format!("could not remove {work}: {e}"));
    }
    let name = &ctx.user.name;
    if std::fs::read_to_string("/etc/passwd")
        .is_ok_and(|t| t.lines().any(|l| l.starts_with(&format!("{name}:"))))
    {
        problems.push(format!("user {name} is still in /etc/passwd"));
    }
    for f in ["/etc/subuid", "/etc/subgid"] {
        if !user::sub_ranges(f, name).is_empty() {
            problems.push(format!("{f} still lists {name}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGTERM (from `timeout`), SIGINT and SIGHUP stop the suite between two
/// tests, so that the user and everything else is still removed.
fn catch_termination() {
    let action = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(on_signal),
        nix::sys::signal::SaFlags::SA_RESTART,
        nix::sys::signal::SigSet::empty(),
    );
    for sig in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGHUP,
    ] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; no other handler is installed for these.
        let _ = unsafe { nix::sys::signal::sigaction(sig, &action) };
    }
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn main() -> ExitCode {
    // First: notify.socket_ready's container runs this binary as its sd_notify client.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(sdnotify::HELPER_FLAG) {
        return sdnotify::helper_main(&argv[2..]);
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut list = tests::all();
    if !args.filter.is_empty() {
        list.retain(|t| args.filter.iter().any(|f| t.name.contains(f.as_str())));
    }
    if args.list {
        for t in &list {
            println!("{}", t.name);
        }
        return ExitCode::SUCCESS;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("rootless-tests must run as root: it creates and removes the user it runs as");
        return ExitCode::from(2);
    }
    let (Some(runtime), Some(rootfs)) = (args.runtime, args.rootfs) else {
        eprintln!("--runtime and --rootfs are required\n{USAGE}");
        return ExitCode::from(2);
    };
    let Some(runtime) = find_program(&runtime) else {
        eprintln!("--runtime {}: not found", runtime.display());
        return ExitCode::from(2);
    };
    let Ok(rootfs) = std::fs::canonicalize(&rootfs) else {
        eprintln!("--rootfs {}: not found", rootfs.display());
        return ExitCode::from(2);
    };
    catch_termination();
    let work = PathBuf::from(format!("/tmp/cella-rootless-{}", std::process::id()));
    let started = Instant::now();
    println!("1..{}", list.len() + 2);
    let ctx = match setup(&runtime, &rootfs, &work) {
        Ok(c) => c,
        Err(e) => {
            println!("Bail out! setup: {e}");
            let _ = std::fs::remove_dir_all(&work);
            return ExitCode::FAILURE;
        }
    };
    diag(&format!(
        "runtime {} (copied to {}), user {} uid {} gid {}, subuid {:?}, subgid {:?}, XDG_RUNTIME_DIR {}",
        runtime.display(),
        ctx.runtime.display(),
        ctx.user.name,
        ctx.user.uid,
        ctx.user.gid,
        ctx.user.subuid,
        ctx.user.subgid,
        ctx.xdg.display()
    ));
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut report = |n: usize, name: &str, res: TestResult| match res {
        Ok(()) => {
            passed += 1;
            println!("ok {n} - {name}");
        }
        Err(e) => match skip_reason(&e) {
            Some(why) => {
                skipped += 1;
                println!("ok {n} - {name} # SKIP {}", why.replace('\n', " "));
            }
            None => {
                failed += 1;
                println!("not ok {n} - {name}");
                diag(&e);
            }
        },
    };
    for (i, t) in list.iter().enumerate() {
        if interrupted() {
            report(i + 1, &t.name, Err("interrupted: not run".to_string()));
            continue;
        }
        ctx.set_current(t.short());
        let t0 = Instant::now();
        let res = panic::catch_unwind(AssertUnwindSafe(|| (t.run)(&ctx)))
            .unwrap_or_else(|_| Err("test panicked".to_string()));
        report(i + 1, &t.name, res);
        if t0.elapsed().as_secs() >= 5 {
            diag(&format!(
                "{} took {:.1}s",
                t.name,
                t0.elapsed().as_secs_f64()
            ));
        }
    }
    report(list.len() + 1, "suite.no_leftovers", tests::leftovers(&ctx));
    report(list.len() + 2, "suite.user_removed", teardown(&ctx));
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
