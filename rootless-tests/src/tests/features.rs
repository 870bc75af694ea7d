//! What issues [1]-[4] give a root caller, as an unprivileged one: the
//! mounts a user namespace allows, devices (bound from the host: no
//! mknod), hooks (run as the user), seccomp, terminals, capabilities and
//! rlimits.

use std::time::Duration;

use serde_json::json;

use crate::config;
use crate::harness::{ensure, write_user_file, Ctn, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    vec![
        Test::new("features", "mounts", mounts),
        Test::new(
            "features",
            "sysfs_with_own_network_namespace",
            sysfs_with_netns,
        ),
        Test::new("features", "cgroup_mount", cgroup_mount),
        Test::new("features", "masked_and_readonly_paths", masked_and_readonly),
        Test::new("features", "devices_bound_from_the_host", devices),
        Test::new("features", "hooks_run_as_the_user", hooks),
        Test::new("features", "seccomp", seccomp),
        Test::new("features", "terminal_of_a_foreground_run", terminal_run),
        Test::new("features", "exec_with_a_terminal", exec_tty),
        Test::new("features", "capabilities_and_rlimits", caps_and_rlimits),
    ]
}

/// tmpfs, bind mounts of the user's directories (read-write and
/// read-only), devpts without gid=5, mqueue, and a read-only root.
fn mounts(ctx: &Ctx) -> TestResult {
    let shared = ctx.user_dir("bind")?;
    write_user_file(&shared.join("from-host"), "hello\n", &ctx.user)?;
    let script = "cat /mnt/rw/from-host; echo new > /mnt/rw/from-container; \
                  echo x > /mnt/ro/x 2>/dev/null && echo ro-writable; \
                  echo y > /scratch/y && cat /scratch/y; touch /rootfile 2>/dev/null && echo root-writable; \
                  grep -E ' /(scratch|mnt/ro|dev/pts|dev/mqueue) ' /proc/self/mounts | cut -d' ' -f2,3,4";
    let mut cfg = config::base(ctx, &["sh", "-c", script]);
    cfg["root"]["readonly"] = json!(true);
    let mounts = cfg["mounts"].as_array_mut().ok_or("mounts")?;
    mounts.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=1777"]}));
    mounts.push(
        json!({"destination": "/mnt/rw", "type": "bind", "source": shared, "options": ["rbind"]}),
    );
    mounts.push(json!({"destination": "/mnt/ro", "type": "bind", "source": shared, "options": ["rbind", "ro", "nosuid", "nodev"]}));
    let c = Ctn::new(ctx, "", &cfg)?;
    let out = c.run()?.ok("run")?;
    let o = &out.stdout;
    ensure(o.starts_with("hello\ny\n"), || {
        format!("bind or tmpfs: {o}")
    })?;
    ensure(
        !o.contains("ro-writable") && !o.contains("root-writable"),
        || format!("read-only mounts were writable: {o}"),
    )?;
    for want in [
        "/scratch tmpfs rw",
        "/mnt/ro ",
        "/dev/pts devpts",
        "/dev/mqueue mqueue",
    ] {
        ensure(o.contains(want), || format!("no {want:?} in {o}"))?;
    }
    ensure(
        o.lines()
            .any(|l| l.starts_with("/mnt/ro ") && l.contains("ro,")),
        || format!("/mnt/ro not read-only: {o}"),
    )?;
    let back = std::fs::read_to_string(shared.join("from-container")).unwrap_or_default();
    ensure(back == "new\n", || {
        format!("write through the bind: {back:?}")
    })
}

/// With a network namespace of its own a user namespace may mount sysfs.
fn sysfs_with_netns(ctx: &Ctx) -> TestResult {
    let mut cfg = config::base(
        ctx,
        &[
            "sh",
            "-c",
            "grep ' /sys ' /proc/self/mounts | cut -d' ' -f3; ls /sys/class/net",
        ],
    );
    cfg["linux"]["namespaces"]
        .as_array_mut()
        .ok_or("namespaces")?
        .push(json!({"type": "network"}));
    for m in cfg["mounts"].as_array_mut().ok_or("mounts")? {
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]});
        }
    }
    let c = Ctn::new(ctx, "", &cfg)?;
    let out = c.run()?.ok("run")?;
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    ensure(words == ["sysfs", "lo"], || {
        format!("want a sysfs showing only lo: {}", out.stdout)
    })
}

/// The `cgroup` mount shows where the container is (the caller's
/// cgroups here, nothing being delegated), read-only.
fn cgroup_mount(ctx: &Ctx) -> TestResult {
    let script = "ls /sys/fs/cgroup; mkdir /sys/fs/cgroup/x 2>/dev/null && echo writable; echo end";
    let mut cfg = config::base(ctx, &["sh", "-c", script]);
    cfg["mounts"].as_array_mut().ok_or("mounts")?.push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
    }));
    let c = Ctn::new(ctx, "", &cfg)?;
    let out = c.run()?.ok("run")?;
    let names: Vec<&str> = out.stdout.split_whitespace().collect();
    let v1 = crate::harness::cgroup_mounts()
        .iter()
        .any(|(n, _)| !n.is_empty());
    let want = if v1 { "memory" } else { "cgroup.procs" };
    ensure(
        names.contains(&want) && !names.contains(&"writable"),
        || format!("want {want} in a read-only /sys/fs/cgroup: {}", out.stdout),
    )
}

fn masked_and_readonly(ctx: &Ctx) -> TestResult {
    // A file and a directory every kernel has (this host lacks kcore and scsi).
    let script = "wc -c < /proc/timer_list; ls /proc/irq | wc -l; \
                  echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable; echo done";
    let mut cfg = config::base(ctx, &["sh", "-c", script]);
    cfg["linux"]["maskedPaths"] = json!(["/proc/timer_list", "/proc/irq"]);
    cfg["linux"]["readonlyPaths"] = json!(["/proc/sys"]);
    let c = Ctn::new(ctx, "", &cfg)?;
    let out = c.run()?.ok("run")?;
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    ensure(words == ["0", "0", "done"], || {
        format!(
            "want masked kcore/scsi and a read-only /proc/sys: {}",
            out.stdout
        )
    })
}

/// A user namespace cannot mknod: the default nodes are the host's,
/// bound in, and work.
fn devices(ctx: &Ctx) -> TestResult {
    let script = "stat -c '%n %t:%T' /dev/null /dev/zero /dev/urandom /dev/tty; echo x > /dev/null && echo null-ok; \
                  head -c 4 /dev/zero | wc -c; mknod /tmp/n c 1 3 2>/dev/null && echo mknod-worked; \
                  grep ' /dev/null ' /proc/self/mounts | wc -l";
    let c = Ctn::new(ctx, "", &config::base(ctx, &["sh", "-c", script]))?;
    let out = c.run()?.ok("run")?;
    let o = &out.stdout;
    for want in [
        "/dev/null 1:3",
        "/dev/zero 1:5",
        "/dev/urandom 1:9",
        "/dev/tty 5:0",
        "null-ok",
    ] {
        ensure(o.contains(want), || format!("no {want:?}: {o}"))?;
    }
    ensure(!o.contains("mknod-worked"), || {
        format!("mknod worked in a user namespace: {o}")
    })?;
    let last = o.lines().last().unwrap_or("");
    ensure(last.trim() == "1", || {
        format!("/dev/null is not a bind mount: {o}")
    })
}

/// The runtime's hooks run as the user on the host; the container's run
/// in its namespaces, as root there.
fn hooks(ctx: &Ctx) -> TestResult {
    let dir = ctx.user_dir("hooks")?;
    let d = dir.to_string_lossy().into_owned();
    let host = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("id -u > {d}/{name}; cat > {d}/{name}.state")]});
    // createContainer runs before pivot_root, so host paths resolve;
    // startContainer after it, in the container's root.
    let inside = |name: &str, dir: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("id -u > {dir}/{name}; hostname >> {dir}/{name}")]});
    let mut cfg = config::base(ctx, &["true"]);
    cfg["hooks"] = json!({
        "prestart": [host("prestart")],
        "createRuntime": [host("createRuntime")],
        "createContainer": [inside("createContainer", &d)],
        "startContainer": [inside("startContainer", "/tmp")],
        "poststart": [host("poststart")],
        "poststop": [host("poststop")]
    });
    let c = Ctn::new(ctx, "", &cfg)?;
    c.run()?.ok("run")?;
    let uid = ctx.user.uid.to_string();
    for name in ["prestart", "createRuntime", "poststart", "poststop"] {
        let got = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        ensure(got.trim() == uid, || {
            format!("{name} ran as {got:?}, want uid {uid}")
        })?;
        let state = std::fs::read_to_string(dir.join(format!("{name}.state"))).unwrap_or_default();
        ensure(state.contains(&c.id), || {
            format!("{name} got no state: {state:?}")
        })?;
    }
    for (name, dir) in [
        ("createContainer", dir.clone()),
        ("startContainer", c.bundle.join("rootfs/tmp")),
    ] {
        let got = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        // runc sets the hostname after createContainer: only cella's is checked.
        let words: Vec<&str> = got.split_whitespace().collect();
        let want: &[&str] = if ctx.is_cella || name == "startContainer" {
            &["0", "rootless"]
        } else {
            &["0"]
        };
        ensure(words.get(..want.len()) == Some(want), || {
            format!("{name} in the container: {got:?}")
        })?;
    }
    Ok(())
}

/// A filter loads with and without noNewPrivileges (root of the user
/// namespace may load one without it).
fn seccomp(ctx: &Ctx) -> TestResult {
    for nnp in [true, false] {
        let mut cfg = config::base(
            ctx,
            &[
                "sh",
                "-c",
                "mkdir /tmp/d 2>&1; ls -d /tmp/d 2>/dev/null; echo end",
            ],
        );
        cfg["process"]["noNewPrivileges"] = json!(nnp);
        cfg["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        });
        let c = Ctn::new(ctx, if nnp { "nnp" } else { "no-nnp" }, &cfg)?;
        let out = c.run()?.ok("run")?;
        ensure(
            out.stdout.contains("Operation not permitted") && !out.stdout.contains("/tmp/d\n"),
            || {
                format!(
                    "noNewPrivileges {nnp}: mkdir was not filtered: {}",
                    out.stdout
                )
            },
        )?;
    }
    Ok(())
}

/// A foreground run relays a pty made in the container's devpts.
fn terminal_run(ctx: &Ctx) -> TestResult {
    let mut cfg = config::base(ctx, &["sh"]);
    cfg["process"]["terminal"] = json!(true);
    let c = Ctn::new(ctx, "", &cfg)?;
    let b = c.bundle_str();
    let cmd = ctx.rt_cmd(&["run", "--bundle", &b, &c.id]);
    let out = ctx.on_tty(
        &cmd,
        "tty; echo sum-$((40+2)); exit 5\n",
        Duration::from_secs(30),
    )?;
    ensure(out.code == 5, || format!("want exit 5: {}", out.describe()))?;
    ensure(
        out.stdout.contains("/dev/pts/0") && out.stdout.contains("sum-42"),
        || format!("terminal output: {}", out.stdout),
    )
}

fn exec_tty(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "", &config::base(ctx, &["sleep", "1000"]))?;
    c.start_new()?;
    let cmd = ctx.rt_cmd(&["exec", "-t", &c.id, "sh"]);
    let out = ctx.on_tty(&cmd, "tty; id -u; exit 4\n", Duration::from_secs(30))?;
    ensure(out.code == 4, || format!("want exit 4: {}", out.describe()))?;
    ensure(
        out.stdout.contains("/dev/pts/") && out.stdout.contains("\n0\r"),
        || format!("exec -t output: {:?}", out.stdout),
    )
}

fn caps_and_rlimits(ctx: &Ctx) -> TestResult {
    let mut cfg = config::base(
        ctx,
        &["sh", "-c", "grep CapEff /proc/self/status; ulimit -n"],
    );
    cfg["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]);
    let c = Ctn::new(ctx, "", &cfg)?;
    let out = c.run()?.ok("run")?;
    // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29).
    let want = format!("{:016x}", (1u64 << 5) | (1 << 10) | (1 << 29));
    ensure(
        out.stdout.contains(&want) && out.stdout.trim_end().ends_with("256"),
        || format!("want CapEff {want} and 256 files: {}", out.stdout),
    )
}
