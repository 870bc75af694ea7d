//! Starts a long-running container, then runs processes in it with `exec`:
//! one with a command line amending the container's own process (as
//! `runc exec` flags do), its output captured, and one whose exit status
//! is read back.
//!
//! ```text
//! cargo run -p cella-runtime --example exec_into -- ROOTFS
//! ```
//! as root, with `ROOTFS` a root filesystem with a shell.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cella::container::{ExecOptions, ProcessOverrides, Runtime, Stdio};
use cella::oci_spec::runtime::{RootBuilder, Spec};
use cella::Signal;

fn main() -> ExitCode {
    let Some(rootfs) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: exec_into ROOTFS");
        return ExitCode::from(2);
    };
    match run(&rootfs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("exec_into: {}", cella::error::Chain(&*e));
            ExitCode::from(1)
        }
    }
}

fn spec(rootfs: &Path) -> Result<Spec, Box<dyn std::error::Error>> {
    let mut spec = cella::spec::default_config(false);
    spec.set_root(Some(
        RootBuilder::default().path(rootfs).readonly(true).build()?,
    ));
    spec.set_hostname(Some("exec-example".into()));
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_terminal(Some(false));
    process.set_args(Some(vec!["sleep".into(), "600".into()]));
    spec.set_process(Some(process));
    Ok(spec)
}

fn run(rootfs: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::temp_dir().join(format!("cella-example-{}", std::process::id()));
    let rt = Runtime::new(&root);
    let id = format!("exec-{}", std::process::id());
    let mut container = rt
        .builder_from_spec(&id, spec(rootfs)?)
        .stdin(Stdio::Null)
        .stdout(Stdio::Null)
        .create()?;
    container.start()?;

    // The container's process (env, user, capabilities) with another
    // command and one more variable.
    let process = container.process_with(&ProcessOverrides {
        args: vec![
            "sh".into(),
            "-c".into(),
            "echo $GREETING from $(hostname)".into(),
        ],
        env: vec!["GREETING=hello".into()],
        ..Default::default()
    });
    let (stdout, mut output) = Stdio::output_pipe()?;
    let mut opts = ExecOptions::new(process);
    opts.io.stdout = stdout;
    opts.io.stdin = Stdio::Null;
    let mut proc = container.exec(opts)?;
    let mut text = String::new();
    output.read_to_string(&mut text)?;
    let status = proc.wait()?;
    print!("exec output: {text}");
    println!("exec status: {}", status.code().unwrap_or(-1));

    // The pid namespace is the container's: the init is pid 1 there.
    let process = container.process_with(&ProcessOverrides {
        args: vec!["sh".into(), "-c".into(), "kill -0 1 && exit 7".into()],
        ..Default::default()
    });
    let status = container.exec(ExecOptions::new(process))?.wait()?;
    println!("second exec status: {}", status.code().unwrap_or(-1));

    container.kill(Signal::SIGKILL, false)?;
    let init = container.wait()?;
    println!("init killed by signal {}", init.signal().unwrap_or(0));
    container.delete(false)?;
    std::fs::remove_dir(&root)?;
    Ok(())
}
