//! Runs a container with resource limits, reads its stats, changes a limit
//! with `update`, and pauses and resumes it.
//!
//! ```text
//! cargo run -p cella-runtime --example limits_stats -- ROOTFS
//! ```
//! as root, with `ROOTFS` a root filesystem with a shell. The container's
//! cgroup is made under this process's own (`CgroupSetting::Path` with a
//! relative path), then removed with it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cella::container::{Runtime, Stdio};
use cella::oci_spec::runtime::{
    LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder, RootBuilder, Spec,
};
use cella::plan::CgroupSetting;
use cella::Signal;

const MIB: i64 = 1 << 20;

fn main() -> ExitCode {
    let Some(rootfs) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: limits_stats ROOTFS");
        return ExitCode::from(2);
    };
    match run(&rootfs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("limits_stats: {}", cella::error::Chain(&*e));
            ExitCode::from(1)
        }
    }
}

fn spec(rootfs: &Path) -> Result<Spec, Box<dyn std::error::Error>> {
    let mut spec = cella::spec::default_config(false);
    spec.set_root(Some(
        RootBuilder::default().path(rootfs).readonly(true).build()?,
    ));
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_terminal(Some(false));
    // A few processes that stay: pids.current counts them.
    process.set_args(Some(vec![
        "sh".into(),
        "-c".into(),
        "sleep 600 & sleep 600 & exec sleep 600".into(),
    ]));
    spec.set_process(Some(process));
    let resources: LinuxResources = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().limit(64 * MIB).build()?)
        .pids(LinuxPidsBuilder::default().limit(32).build()?)
        .devices(
            spec.linux()
                .as_ref()
                .and_then(|l| l.resources().clone())
                .and_then(|r| r.devices().clone())
                .unwrap_or_default(),
        )
        .build()?;
    if let Some(linux) = spec.linux_mut() {
        linux.set_resources(Some(resources));
    }
    Ok(spec)
}

fn run(rootfs: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let pid = std::process::id();
    let root = std::env::temp_dir().join(format!("cella-example-{pid}"));
    let rt = Runtime::new(&root);
    let id = format!("limits-{pid}");
    let mut container = rt
        .builder_from_spec(&id, spec(rootfs)?)
        .cgroups(CgroupSetting::Path(format!("cella-example-{pid}").into()))
        .stdin(Stdio::Null)
        .create()?;
    container.start()?;
    // The two background sleeps are forked by the shell after start.
    let mut stats = container.stats()?;
    for _ in 0..100 {
        if stats.pids.current >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        stats = container.stats()?;
    }
    println!("memory limit: {} MiB", stats.memory.usage.limit >> 20);
    println!("memory usage: {} KiB", stats.memory.usage.usage >> 10);
    println!("pids: {} of {}", stats.pids.current, stats.pids.limit);

    let more = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(8).build()?)
        .build()?;
    container.update(&more)?;
    println!("pids limit after update: {}", container.stats()?.pids.limit);

    container.pause()?;
    println!("status after pause: {}", container.status());
    container.resume()?;
    println!("status after resume: {}", container.status());

    container.kill(Signal::SIGKILL, true)?;
    container.wait()?;
    container.delete(false)?;
    std::fs::remove_dir(&root)?;
    Ok(())
}
