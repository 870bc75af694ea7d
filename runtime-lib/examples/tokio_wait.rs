//! Waiting for a container from an async program: the init's and an
//! exec'd process's pidfds are awaited in tokio's event loop (no thread is
//! blocked in `wait`), then `try_wait` reads each exit status.
//!
//! ```text
//! cargo run -p cella --example tokio_wait -- ROOTFS
//! ```
//! as root, with `ROOTFS` a root filesystem with a shell (e.g. the one
//! `fixtures/build-rootfs.sh` prints). The container's init reads a line
//! from its stdin (a pipe of ours) and exits 3; an exec'd process exits 7
//! first. It prints both statuses.
//!
//! A pidfd becomes readable when its process exits, so any reactor can wait
//! on it: tokio's `AsyncFd` here, async-io's `Async` for async-std and smol.
//! The calls that create, start and exec still block for the short while
//! they take (they fork and wait for the new process to be ready); a busy
//! server makes them in `spawn_blocking`.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cella::container::{ExecOptions, ProcessOverrides, Runtime, Stdio};
use cella::oci_spec::runtime::{RootBuilder, Spec};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let Some(rootfs) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: tokio_wait ROOTFS");
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio_wait: tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(&rootfs)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_wait: {}", cella::error::Chain(&*e));
            ExitCode::from(1)
        }
    }
}

fn spec(rootfs: &Path) -> Result<Spec> {
    let mut spec = cella::spec::default_config(false);
    spec.set_root(Some(
        RootBuilder::default().path(rootfs).readonly(true).build()?,
    ));
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_terminal(Some(false));
    process.set_args(Some(vec![
        "sh".into(),
        "-c".into(),
        "read line; exit 3".into(),
    ]));
    spec.set_process(Some(process));
    Ok(spec)
}

/// Resolves when the process of `pidfd` has exited (its pidfd is then
/// readable), or fails after `limit`.
async fn exited(pidfd: BorrowedFd<'_>, limit: Duration) -> Result<()> {
    // SAFETY: a `BorrowedFd` stays open, the same file description, for
    // its whole lifetime, which the `AsyncFd` holding it cannot outlive;
    // and its `as_raw_fd` always returns that one fd.
    let fd = unsafe { AsyncFd::register_with_interest(pidfd, Interest::READABLE) }
        .map_err(|e| e.into_parts().1)?;
    // Readiness is not cleared: a pidfd stays readable once its process
    // exited, and this one is dropped here anyway.
    let _exited = tokio::time::timeout(limit, fd.readable()).await??;
    Ok(())
}

async fn run(rootfs: &Path) -> Result<()> {
    let root = std::env::temp_dir().join(format!("cella-example-{}", std::process::id()));
    let rt = Runtime::new(&root);
    let id = format!("tokio-{}", std::process::id());
    let (stdin, mut input) = Stdio::input_pipe()?;
    let mut container = rt
        .builder_from_spec(&id, spec(rootfs)?)
        .stdin(stdin)
        .stdout(Stdio::Null)
        .create()?;
    container.start()?;

    let process = container.process_with(&ProcessOverrides {
        args: vec!["sh".into(), "-c".into(), "exit 7".into()],
        ..Default::default()
    });
    let mut opts = ExecOptions::new(process);
    opts.io.stdin = Stdio::Null;
    let mut exec = container.exec(opts)?;
    // `ExecProcess` always has its pidfd: it is `AsFd`.
    exited(exec.as_fd(), Duration::from_secs(30)).await?;
    let status = exec.try_wait()?.ok_or("exec: pidfd readable, no status")?;
    println!("exec status: {}", status.code().unwrap_or(-1));

    // The init waits for our line: it cannot have exited yet.
    println!("init running: {}", container.try_wait()?.is_none());
    input.write_all(b"go\n")?;
    // A container's pidfd may be missing (a loaded container whose init
    // is gone): `pidfd()` says so with an error.
    exited(container.pidfd()?, Duration::from_secs(30)).await?;
    let status = container
        .try_wait()?
        .ok_or("init: pidfd readable, no status")?;
    println!("init status: {}", status.code().unwrap_or(-1));
    container.delete(false)?;
    std::fs::remove_dir(&root)?;
    Ok(())
}
