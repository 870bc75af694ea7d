//! `cella-benches`: compares OCI runtimes on the cost of container lifecycles.
//!
//! - `cella-benches [OPTIONS]`: N sequential `run` of `/bin/true` per runtime, with the floor
//!   program (`cella-floor`) as the first row: see the `lifecycle` module;
//! - `cella-benches suite`: every lifecycle measure on a minimal and a realistic bundle, with
//!   the targets of issue [13]: see the `suite` module;
//! - `cella-benches seccomp`: seccomp compile time and syscall cost: see the `seccomp` module.
//!
//! Every runtime runs directly, in one private mount namespace of the driver's (`hostns`),
//! so that none pays a cost a host would not make it pay. See `benches/README.md`.

mod bundle;
mod configs;
mod flags;
mod hostns;
mod lifecycle;
mod measure;
mod report;
mod seccomp;
mod suite;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// The repository root, known at compile time: the defaults are paths inside it.
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let result = if args.peek().map(String::as_str) == Some("seccomp") {
        args.next();
        seccomp::run(args)
    } else if args.peek().map(String::as_str) == Some("suite") {
        args.next();
        suite::run(args)
    } else {
        lifecycle::run(args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("cella-benches: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The checks every measuring entry point makes first: root, then the driver's private mount
/// namespace (before any thread exists). Returns what `hostns::enter` did, for the header.
fn prepare_host() -> Result<String, String> {
    if !is_root() {
        return Err("must run as root (runtimes create namespaces and mounts)".into());
    }
    hostns::enter()
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

/// cella as shipped (scripts/build-release.sh's output), crun and runc from `$PATH`, in that
/// order; those missing are left out with a note.
fn default_runtimes() -> Vec<(String, PathBuf)> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(REPO).join("target"));
    let candidates = [
        (
            "cella",
            Some(target.join("x86_64-unknown-linux-gnu/release/cella")),
        ),
        ("crun", which("crun")),
        ("runc", which("runc")),
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

/// `cella-floor`, built with this driver (a `[[bin]]` of the same crate), next to it.
fn floor_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let floor = exe.with_file_name("cella-floor");
    if floor.is_file() {
        Ok(floor)
    } else {
        Err(format!(
            "{} not found: build it with `cargo build --release -p cella-benches`",
            floor.display()
        ))
    }
}

fn which(program: &str) -> Option<PathBuf> {
    let path: OsString = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
