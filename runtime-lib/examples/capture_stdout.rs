//! Runs a container built from an in-memory spec (no `config.json`) and
//! captures its stdout from Rust through a pipe.
//!
//! ```text
//! cargo run -p cella-runtime --example capture_stdout -- ROOTFS
//! ```
//! as root, with `ROOTFS` a root filesystem with a shell (e.g. the one
//! `fixtures/build-rootfs.sh` prints). It prints what the container wrote
//! and its exit status. The container gets no cgroup of its own
//! (`CgroupSetting::Disabled`, as an embedder inside a container or a CI
//! job might need), so its config must ask for no limits.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cella::container::{Runtime, Stdio};
use cella::oci_spec::runtime::{RootBuilder, Spec};
use cella::plan::CgroupSetting;

fn main() -> ExitCode {
    let Some(rootfs) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: capture_stdout ROOTFS");
        return ExitCode::from(2);
    };
    match run(&rootfs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("capture_stdout: {}", cella::error::Chain(&*e));
            ExitCode::from(1)
        }
    }
}

/// runc's default config with our root, command and no resource limits.
fn spec(rootfs: &Path) -> Result<Spec, Box<dyn std::error::Error>> {
    let mut spec = cella::spec::default_config(false);
    spec.set_root(Some(
        RootBuilder::default().path(rootfs).readonly(true).build()?,
    ));
    spec.set_hostname(Some("captured".into()));
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_terminal(Some(false));
    process.set_args(Some(vec![
        "sh".into(),
        "-c".into(),
        "echo hello from $(hostname); echo to stderr >&2; exit 3".into(),
    ]));
    spec.set_process(Some(process));
    // No cgroup: the default config's device rule could not be enforced.
    if let Some(linux) = spec.linux_mut() {
        linux.set_resources(None);
    }
    Ok(spec)
}

fn run(rootfs: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::temp_dir().join(format!("cella-example-{}", std::process::id()));
    let rt = Runtime::new(&root);
    let id = format!("capture-{}", std::process::id());
    let (stdout, mut output) = Stdio::output_pipe()?;
    let mut container = rt
        .builder_from_spec(&id, spec(rootfs)?)
        .cgroups(CgroupSetting::Disabled)
        .stdin(Stdio::Null)
        .stdout(stdout)
        .create()?;
    container.start()?;
    // End-of-file once the container's process is gone: the runtime kept
    // no copy of the pipe's write end.
    let mut text = String::new();
    output.read_to_string(&mut text)?;
    let status = container.wait()?;
    container.delete(false)?;
    std::fs::remove_dir(&root)?;
    print!("captured: {text}");
    println!("exit status: {}", status.code().unwrap_or(-1));
    Ok(())
}
