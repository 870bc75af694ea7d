//! Whole configs checked from inside by the static checker (`checker/`): it compares the live
//! environment of the container's process with the config.json it is given — namespaces,
//! mounts and their options, devices, masked and read-only paths, hostname, sysctls, uid/gid
//! maps, user and groups, capabilities, rlimits, no_new_privs, oom score, seccomp, cgroup
//! limits — and each check shows as a `# check:` line of the test.

use serde_json::{json, Value};

use crate::bundle::{add_mount, add_userns, base_config, put_namespace, set_caps};
use crate::checker::{install_hook_binary, install_with, parse, run_checker, run_in};
use crate::harness::{ensure, Ctn, Ctx, TestResult};
use crate::rootfs::chown_tree;
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("checker", name, f);
    vec![
        t("baseline", baseline),
        t("full_config", full_config),
        t("non_root_user", non_root_user),
        t("user_namespace", user_namespace),
        t("readonly_root", readonly_root),
        t("seccomp_errno", seccomp_errno),
        t("cgroup_limits", cgroup_limits),
        t("joined_namespaces", joined_namespaces),
        t("detects_mismatch", detects_mismatch),
        t("hooks_state", hooks_state),
    ]
}

fn cfg() -> Value {
    base_config(&["true"])
}

/// The baseline config (runc spec's defaults): every group.
fn baseline(ctx: &Ctx) -> TestResult {
    run_checker(ctx, &cfg(), &[])?.verdict()
}

/// A config using most process and Linux fields at once.
fn full_config(ctx: &Ctx) -> TestResult {
    let mut c = cfg();
    c["hostname"] = json!("st-checker");
    c["process"]["cwd"] = json!("/tmp");
    c["process"]["env"]
        .as_array_mut()
        .expect("env")
        .push(json!("ST_CHECK=a b=c"));
    c["process"]["user"] = json!({"uid": 0, "gid": 0, "umask": 0o027, "additionalGids": [10, 20]});
    c["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_MSGQUEUE", "soft": 4096, "hard": 8192}
    ]);
    c["process"]["oomScoreAdj"] = json!(300);
    set_caps(
        &mut c,
        &[
            "CAP_CHOWN",
            "CAP_KILL",
            "CAP_NET_BIND_SERVICE",
            "CAP_SETUID",
        ],
    );
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.msgmax": "4096"});
    c["linux"]["maskedPaths"] = json!([
        "/proc/kcore",
        "/proc/keys",
        "/sys/firmware",
        "/proc/no-such"
    ]);
    c["linux"]["readonlyPaths"] = json!(["/proc/sys", "/proc/bus"]);
    c["linux"]["devices"] = json!([
        {"path": "/dev/st-char", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 7, "gid": 8},
        {"path": "/dev/st-fifo", "type": "p", "fileMode": 0o600}
    ]);
    add_mount(
        &mut c,
        json!({"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "noexec", "nodev", "size=1024k", "mode=0750"]}),
    );
    run_checker(ctx, &c, &[])?.verdict()
}

/// uid/gid 1000 with additional groups, an ambient capability and noNewPrivileges false.
fn non_root_user(ctx: &Ctx) -> TestResult {
    let mut c = cfg();
    c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 100]});
    let all = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    c["process"]["capabilities"] = json!({
        "bounding": all, "effective": all, "permitted": all, "inheritable": all,
        "ambient": ["CAP_NET_BIND_SERVICE"]
    });
    c["process"]["noNewPrivileges"] = json!(false);
    run_checker(ctx, &c, &["user", "caps", "nnp", "process"])?.verdict()
}

/// A user namespace mapping 0..65536 to 100000..165536: maps, root inside, new namespace.
fn user_namespace(ctx: &Ctx) -> TestResult {
    let ctn = Ctn::new(ctx, "")?;
    chown_tree(&ctn.rootfs(), 100000, 100000)?;
    let mut c = cfg();
    add_userns(&mut c, &[(0, 100000, 65536)]);
    run_in(
        &ctn,
        &c,
        &["namespaces", "idmaps", "user", "caps", "mounts", "devices"],
    )?
    .verdict()
}

/// `root.readonly`.
fn readonly_root(ctx: &Ctx) -> TestResult {
    let mut c = cfg();
    c["root"]["readonly"] = json!(true);
    run_checker(ctx, &c, &["root", "mounts"])?.verdict()
}

/// Errno rules on mkdir (errnoRet 13) and symlink (EPERM by default) under an allow-all default.
fn seccomp_errno(ctx: &Ctx) -> TestResult {
    let mut c = cfg();
    c["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["symlink", "symlinkat"], "action": "SCMP_ACT_ERRNO"}
        ]
    });
    let r = run_checker(ctx, &c, &["seccomp", "nnp"])?;
    ensure(r.passed("seccomp mkdir gets errno"), || {
        format!("the checker made no mkdir probe: {:?}", r.checks)
    })?;
    r.verdict()
}

/// pids, memory and cpu limits read from inside through a cgroup namespace and mount.
fn cgroup_limits(ctx: &Ctx) -> TestResult {
    let mut c = cfg();
    put_namespace(&mut c, json!({"type": "cgroup"}));
    c["linux"]["cgroupsPath"] = json!(ctx.new_cgroup_path(""));
    c["linux"]["resources"] = json!({
        "pids": {"limit": 50},
        "memory": {"limit": 67108864},
        "cpu": {"quota": 50000, "period": 100000}
    });
    add_mount(
        &mut c,
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
    );
    let r = run_checker(ctx, &c, &["cgroup", "namespaces"])?;
    ensure(r.passed("cgroup pids.limit"), || {
        format!("pids.limit was not checked: {:?}", r.checks)
    })?;
    r.verdict()
}

/// Container B joins A's network, ipc and uts namespaces by path (`/proc/<pid>/ns/*`).
fn joined_namespaces(ctx: &Ctx) -> TestResult {
    let a = Ctn::new(ctx, "a")?;
    let mut ca = base_config(&["sleep", "1000"]);
    ca["hostname"] = json!("st-a");
    a.write_config(&ca)?;
    a.start_new()?;
    let pid = a.pid()?;
    let mut c = cfg();
    for (t, f) in [("network", "net"), ("ipc", "ipc"), ("uts", "uts")] {
        put_namespace(
            &mut c,
            json!({"type": t, "path": format!("/proc/{pid}/ns/{f}")}),
        );
    }
    c["hostname"] = Value::Null;
    if let Some(o) = c.as_object_mut() {
        o.remove("hostname");
    }
    let b = Ctn::new(ctx, "b")?;
    run_in(&b, &c, &["namespaces"])?.verdict()
}

/// The checker itself: told a config that differs from the one the runtime ran (hostname,
/// an rlimit, a capability, oomScoreAdj, a mount option, a namespace), it reports each
/// difference as a failed check.
fn detects_mismatch(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut real = cfg();
    real["hostname"] = json!("st-real");
    real["process"]["oomScoreAdj"] = json!(100);
    let mut told = real.clone();
    told["hostname"] = json!("st-told");
    told["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 999, "hard": 1024}]);
    told["process"]["oomScoreAdj"] = json!(200);
    set_caps(&mut told, &["CAP_CHOWN"]);
    told["mounts"][1]["options"]
        .as_array_mut()
        .expect("/dev options")
        .push(json!("noexec"));
    put_namespace(&mut told, json!({"type": "time"}));
    install_with(&c, &mut real, &told, &[])?;
    let out = c.run()?;
    ensure(out.code == 0, || {
        format!("the container failed: {}", out.describe())
    })?;
    let r = parse(&out.stdout)?;
    let failed: Vec<String> = r.failures().iter().map(|c| c.text.clone()).collect();
    let mut missing = Vec::new();
    for want in [
        "hostname hostname",
        "rlimits RLIMIT_NOFILE",
        "oom oom_score_adj",
        "caps CapBnd",
        "mounts /dev noexec",
        "namespaces time new",
    ] {
        if !failed.iter().any(|f| f.starts_with(want)) {
            missing.push(want);
        }
    }
    let time_ns = std::path::Path::new("/proc/self/ns/time").exists();
    missing.retain(|m| time_ns || !m.starts_with("namespaces time"));
    ensure(missing.is_empty(), || {
        format!("the checker did not report {missing:?}; it failed only {failed:?}")
    })
}

/// The checker as each of the six hooks: every hook runs once, in lifecycle order, and the
/// state on its stdin follows runtime.md "State" (ociVersion, id, status, pid when created or
/// running, absolute bundle, annotations a map) with the status of its step.
fn hooks_state(ctx: &Ctx) -> TestResult {
    const ORDER: [&str; 6] = [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ];
    let c = Ctn::new(ctx, "")?;
    let bin = install_hook_binary(&c)?;
    let logdir = c.bundle.join("hooklog");
    std::fs::create_dir(&logdir).map_err(|e| format!("mkdir {}: {e}", logdir.display()))?;
    let logdir = logdir.to_string_lossy().into_owned();
    let log = format!("{logdir}/log");
    let mut cfg = base_config(&["true"]);
    cfg["annotations"] = json!({"org.spec-tests.hooks": "yes"});
    add_mount(
        &mut cfg,
        json!({"destination": logdir, "type": "bind", "source": logdir,
               "options": ["rbind", "rw"]}),
    );
    let mut hooks = json!({});
    for name in ORDER {
        hooks[name] = json!([{"path": bin, "args": ["check", "--hook", name, log]}]);
    }
    cfg["hooks"] = hooks;
    c.write_config(&cfg)?;
    c.start_new()?;
    c.wait_status("stopped")?;
    c.ctx.rt_ok(&["delete", &c.id])?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    println!("{}", text.trim_end().replace('\n', "\n# "));
    let mut errors = Vec::new();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    if names != ORDER {
        errors.push(format!("hooks ran {names:?}, want {ORDER:?}"));
    }
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let want = match f.first().copied() {
            Some("createRuntime" | "createContainer") => Some("creating"),
            Some("startContainer") => Some("created"),
            Some("poststart") => Some("running"),
            Some("poststop") => Some("stopped"),
            _ => None,
        };
        if f.get(1) != Some(&"ok") {
            errors.push(line.to_string());
        } else if want.is_some() && f.get(2).copied() != want {
            errors.push(format!("{line}: want status {want:?}"));
        }
    }
    ensure(errors.is_empty(), || errors.join("\n"))
}
