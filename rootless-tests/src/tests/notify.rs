//! `NOTIFY_SOCKET` (runc's sd_notify proxying, docs/as-runc.md) as an unprivileged user: the
//! notify directory is in the rootless state directory (`$XDG_RUNTIME_DIR/cella`), bound into a
//! container in a user namespace of its own, and `start` passes the container's `READY=1` on to
//! the user's socket with the init as `MAINPID`.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use serde_json::json;

use crate::config;
use crate::harness::{ensure, Ctn, Ctx, TestResult, RUNTIME_TIMEOUT};
use crate::sdnotify;
use crate::Test;

pub fn tests() -> Vec<Test> {
    vec![Test::new("notify", "socket_ready", socket_ready)]
}

/// create and start with `NOTIFY_SOCKET`: the host's socket gets `READY=1`, `MAINPID=<init>`
/// and `BARRIER=1` (whose fd, not taken, the kernel closes: the barrier's answer).
fn socket_ready(ctx: &Ctx) -> TestResult {
    let exe = ctx.work.join("helper").join("rootless-tests");
    if !exe.exists() {
        crate::harness::mkdir_mode(&ctx.work.join("helper"), 0o755)?;
        std::fs::copy("/proc/self/exe", &exe)
            .map_err(|e| format!("copy to {}: {e}", exe.display()))?;
    }
    let helper = sdnotify::helper("READY=1", &exe)?;
    let mut args = vec!["sh", "-c", "\"$@\" && exec sleep 1000", "sh"];
    args.extend(helper.command.iter().map(String::as_str));
    let mut cfg = config::base(ctx, &args);
    for d in &helper.dirs {
        let d = d.display().to_string();
        cfg["mounts"].as_array_mut().ok_or("mounts")?.push(json!({
            "destination": d, "type": "bind", "source": d,
            "options": ["rbind", "ro", "nosuid", "nodev"]
        }));
    }
    let c = Ctn::new(ctx, "", &cfg)?;
    let host = c.bundle.join("host-notify.sock");
    let socket = UnixDatagram::bind(&host).map_err(|e| format!("bind {}: {e}", host.display()))?;
    std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o666))
        .map_err(|e| format!("chmod {}: {e}", host.display()))?;
    let with_notify = |args: &[&str]| {
        let mut cmd = ctx.rt_cmd(args);
        cmd.env("NOTIFY_SOCKET", &host);
        let out = ctx.exec(cmd, None, RUNTIME_TIMEOUT)?;
        out.ok(&format!("{} with NOTIFY_SOCKET", args[0])).map(drop)
    };
    with_notify(&["create", "--bundle", &c.bundle_str(), &c.id])?;
    let pid = c.pid()?;
    let got = std::thread::scope(|s| {
        let receiving = s.spawn(|| sdnotify::receive(&socket, Duration::from_secs(30), 3));
        let started = with_notify(&["start", &c.id]);
        (started, receiving.join())
    });
    got.0?;
    let got = got.1.map_err(|_| "the receiving thread panicked")?;
    let want = vec![
        "READY=1\n".to_string(),
        format!("MAINPID={pid}\n"),
        "BARRIER=1".to_string(),
    ];
    ensure(got == want, || {
        format!("the host's NOTIFY_SOCKET received {got:?}, want {want:?}")
    })
}
