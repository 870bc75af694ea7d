//! Embedding Cella: plan a bundle, create the container, start it, wait for
//! it and clean up — what `cella run` does, from Rust.
//!
//! ```text
//! cargo run --example run_bundle -- /path/to/bundle my-container
//! ```
//! (as root; the bundle holds `config.json` and its rootfs).

use std::path::PathBuf;
use std::process::ExitCode;

use cella::container::{block_forwarded_signals, plan_bundle, Runtime};
use cella::plan::CreateOptions;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(bundle), Some(id)) = (args.next().map(PathBuf::from), args.next()) else {
        eprintln!("usage: run_bundle BUNDLE ID");
        return ExitCode::from(2);
    };
    match run(&bundle, &id) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("run_bundle: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(bundle: &std::path::Path, id: &str) -> Result<i32, cella::Error> {
    let opts = CreateOptions::default();
    // The plan is plain data: inspect it before anything is created.
    let plan = plan_bundle(bundle, id, &opts)?;
    eprintln!(
        "{} mounts, namespaces {:?}, cgroup {}",
        plan.mounts.ops.len(),
        plan.namespaces.new,
        plan.cgroup.path.display()
    );
    let rt = Runtime::new(std::env::temp_dir().join("cella-example"));
    block_forwarded_signals()?;
    let mut container = rt.create(id, bundle, &opts)?;
    container.start()?;
    let code = container.wait_forwarding_signals();
    container.delete(true)?;
    code
}
