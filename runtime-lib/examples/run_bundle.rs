//! Embedding Cella: plan a bundle, create the container, start it, wait for
//! it and clean up — what `cella run` does, from Rust.
//!
//! ```text
//! cargo run -p cella-runtime --example run_bundle -- /path/to/bundle my-container
//! ```
//! (as root; the bundle holds `config.json` and its rootfs). Exits with the
//! container's exit code. The container inherits this program's stdio;
//! signals are not forwarded (see `Container::wait_forwarding_signals` for
//! a foreground command line that does).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cella::container::Runtime;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(bundle), Some(id)) = (
        args.next().map(PathBuf::from),
        args.next().and_then(|a| a.into_string().ok()),
    ) else {
        eprintln!("usage: run_bundle BUNDLE ID");
        return ExitCode::from(2);
    };
    match run(&bundle, &id) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("run_bundle: {}", cella::error::Chain(&e));
            ExitCode::from(1)
        }
    }
}

fn run(bundle: &Path, id: &str) -> Result<i32, cella::Error> {
    let root = std::env::temp_dir().join(format!("cella-example-{}", std::process::id()));
    let rt = Runtime::new(&root);
    // The plan is plain data: inspect it before anything is created.
    let plan = rt.builder(id, bundle).plan()?;
    eprintln!(
        "{} mounts, namespaces {:?}, cgroup {}",
        plan.mounts.ops.len(),
        plan.namespaces.new,
        plan.cgroup.path.display()
    );
    let mut container = rt.builder(id, bundle).create_and_start()?;
    let status = container.wait();
    container.delete(true)?;
    let _ = std::fs::remove_dir(&root);
    let status = status?;
    // As a shell reports it: the code, or 128 + the signal.
    Ok(status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
    }))
}
