//! Rootless podman with the runtime under test (`podman --runtime`): the
//! user's podman runs the runtime as root of its own user namespace
//! (mapping the user and its subordinate ids), on a vfs store of the
//! suite's own, with cgroupfs (nothing is delegated here, so podman asks
//! for no cgroup on v1).

use std::time::Duration;

use crate::harness::{ensure, Ctx, TestResult, PODMAN_TIMEOUT};
use crate::Test;

pub fn tests() -> Vec<Test> {
    vec![
        Test::new("podman", "import_image", import_image),
        Test::new("podman", "run_rm", run_rm),
        Test::new("podman", "run_detached_and_exec", run_detached_and_exec),
        Test::new("podman", "run_interactive", run_interactive),
        Test::new("podman", "network_slirp4netns", network_slirp4netns),
    ]
}

fn image(ctx: &Ctx) -> String {
    format!("localhost/cella-rootless:{}", ctx.pid)
}

/// The pid of rootless podman's pause process (it holds podman's user
/// namespace between commands).
pub fn pause_pid(ctx: &Ctx) -> Option<i32> {
    std::fs::read_to_string(ctx.xdg.join("libpod/tmp/pause.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The busybox rootfs as an image of the user's (no registry needed).
fn import_image(ctx: &Ctx) -> TestResult {
    let tar = ctx.work.join("rootfs.tar");
    let st = std::process::Command::new("tar")
        .arg("-C")
        .arg(&ctx.rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    ensure(st.success(), || "tar of the rootfs failed".into())?;
    crate::harness::chown(&tar, &ctx.user)?;
    let info = ctx
        .podman(&["info", "--format", "{{.Host.Security.Rootless}}"])?
        .ok("podman info")?;
    ensure(info.stdout.trim() == "true", || {
        format!("podman is not rootless: {}", info.stdout)
    })?;
    ctx.podman(&["import", &tar.to_string_lossy(), &image(ctx)])?
        .ok("podman import")
        .map(|_| ())
}

fn run_rm(ctx: &Ctx) -> TestResult {
    let out = ctx
        .podman(&[
            "run",
            "--rm",
            "--network",
            "none",
            &image(ctx),
            "sh",
            "-c",
            "id -u; head -n1 /proc/self/uid_map",
        ])?
        .ok("podman run --rm")?;
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    let uid = ctx.user.uid.to_string();
    ensure(words == ["0", "0", uid.as_str(), "1"], || {
        format!("want root mapped to {uid}: {}", out.describe())
    })
}

/// `run -d`, `exec`, `stop`, `rm`; the runtime's state shows it was the
/// one podman used.
fn run_detached_and_exec(ctx: &Ctx) -> TestResult {
    let name = format!("rl-podman-{}", ctx.pid);
    let out = ctx
        .podman(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "none",
            &image(ctx),
            "sleep",
            "1000",
        ])?
        .ok("podman run -d")?;
    let id = out.stdout.trim().to_string();
    let result = (|| {
        let state = ctx.state_root().join(&id);
        ensure(state.is_dir(), || {
            format!("no {}: podman did not use the runtime", state.display())
        })?;
        let ex = ctx
            .podman(&[
                "exec",
                &name,
                "sh",
                "-c",
                "echo exec-ok; id -u; cat /proc/1/cmdline",
            ])?
            .ok("podman exec")?;
        ensure(ex.stdout.starts_with("exec-ok\n0\nsleep"), || {
            format!("exec: {}", ex.stdout)
        })?;
        let ps = ctx
            .podman(&["ps", "--format", "{{.Names}} {{.Status}}"])?
            .ok("podman ps")?;
        ensure(ps.stdout.contains(&format!("{name} Up")), || {
            format!("ps: {}", ps.stdout)
        })?;
        ctx.podman(&["stop", "-t", "1", &name])?.ok("podman stop")?;
        ctx.podman(&["rm", &name])?.ok("podman rm")?;
        ensure(!state.exists(), || {
            format!("{} left after podman rm", state.display())
        })
    })();
    if result.is_err() {
        let _ = ctx.podman(&["rm", "-f", &name]);
    }
    result
}

/// `run -it` through a pty: podman hands the runtime a console socket.
fn run_interactive(ctx: &Ctx) -> TestResult {
    let img = image(ctx);
    let cmd = ctx.podman_cmd(&["run", "-it", "--rm", "--network", "none", &img, "sh"])?;
    let out = ctx.on_tty(&cmd, "tty; echo in-$((6*7)); exit 3\n", PODMAN_TIMEOUT)?;
    ensure(out.code == 3, || format!("want exit 3: {}", out.describe()))?;
    ensure(
        out.stdout.contains("/dev/pts/0") && out.stdout.contains("in-42"),
        || format!("terminal output: {:?}", out.stdout),
    )
}

/// podman's default rootless network: a network namespace podman makes
/// and slirp4netns serves.
fn network_slirp4netns(ctx: &Ctx) -> TestResult {
    let out = ctx
        .podman(&[
            "run",
            "--rm",
            "--network",
            "slirp4netns",
            &image(ctx),
            "ip",
            "-4",
            "addr",
        ])?
        .ok("podman run --network slirp4netns")?;
    ensure(out.stdout.contains("10.0.2.100"), || {
        format!("no slirp4netns address: {}", out.stdout)
    })?;
    // slirp4netns exits with the container; give it a moment.
    crate::harness::wait_until(Duration::from_secs(5), || {
        !ctx.user.processes().iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "slirp4netns")
        })
    });
    Ok(())
}
