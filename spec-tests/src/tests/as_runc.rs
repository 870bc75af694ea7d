//! Where runtime-spec is silent, the container should find what it finds under runc, the
//! runtime every engine was written against: the environment runc completes (`HOME` from the
//! container's `/etc/passwd`, one value per name, no `PATH` of the runtime's own), the working
//! directory (made when missing, entered before the switch of user), stdio handed to the
//! process's user, an `exec`'d process in a session of its own, and seccomp profiles that do
//! not list the runtime's own syscalls (allow-lists recorded from an application, the classic
//! Docker profile that predates `close_range`). Each case is observed from inside the
//! container, and each passes against runc 1.1.5.

use serde_json::{json, Value};

use crate::bundle::{add_mount, add_userns, base_config, set_caps, sh, DEFAULT_PATH};
use crate::harness::{
    cgroup_rel, ensure, ensure_eq, mkdir_mode, mount_at, run_config, run_ok, skip, Ctn, Ctx,
    TestResult,
};
use crate::Test;

/// The `linux.seccomp` object podman derives from containers-common's profile on x86_64.
const PODMAN_DEFAULT: &str = include_str!("../../../fixtures/seccomp/podman-default.json");

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("as_runc", name, f);
    vec![
        t("home_from_passwd", home_from_passwd),
        t("run_is_subreaper", run_is_subreaper),
        t("home_default_without_entry", home_default_without_entry),
        t("env_last_value_wins", env_last_value_wins),
        t("env_empty_name_refused", env_empty_name_refused),
        t("no_path_no_lookup", no_path_no_lookup),
        t("exec_home_from_passwd", exec_home_from_passwd),
        t("exec_own_session", exec_own_session),
        t("exec_process_without_user", exec_process_without_user),
        t("config_without_user", config_without_user),
        t("device_listed_but_denied", device_listed_but_denied),
        t("readonly_dev", readonly_dev),
        t(
            "readonly_tmpfs_with_mounts_inside",
            readonly_tmpfs_with_mounts_inside,
        ),
        t("dev_core_only_with_kcore", dev_core_only_with_kcore),
        t("cgroup2_tree_joined", cgroup2_tree_joined),
        t("cwd_created", cwd_created),
        t(
            "userns_bind_source_only_host_root_reaches",
            userns_bind_source_only_host_root_reaches,
        ),
        t(
            "cwd_entered_before_user_switch",
            cwd_entered_before_user_switch,
        ),
        t("stdio_owned_by_user", stdio_owned_by_user),
        t("seccomp_without_close_range", seccomp_without_close_range),
        t(
            "seccomp_without_runtime_syscalls",
            seccomp_without_runtime_syscalls,
        ),
        t(
            "seccomp_without_identity_syscalls",
            seccomp_without_identity_syscalls,
        ),
    ]
}

/// The environment lines of `env` output.
fn env_lines(out: &str) -> Vec<&str> {
    out.lines()
        .map(str::trim)
        .filter(|l| l.contains('='))
        .collect()
}

/// Without `HOME` in `process.env` (or with an empty one), runc adds the home directory of the
/// process's uid from the container's `/etc/passwd`: `/root` for root in the test rootfs,
/// `/home/user` for uid 1000.
fn home_from_passwd(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("env");
    cfg["process"]["env"] = json!([DEFAULT_PATH]);
    let out = run_ok(ctx, &cfg)?;
    ensure(env_lines(&out).contains(&"HOME=/root"), || {
        format!("no HOME=/root without HOME in process.env: {out:?}")
    })?;
    cfg["process"]["env"] = json!([DEFAULT_PATH, "HOME="]);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let out = run_ok(ctx, &cfg)?;
    ensure(env_lines(&out).contains(&"HOME=/home/user"), || {
        format!("an empty HOME is not replaced by uid 1000's /home/user: {out:?}")
    })
}

/// A uid without a passwd entry gets `HOME=/`; a `HOME` that is set stays.
fn home_default_without_entry(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("env");
    cfg["process"]["env"] = json!([DEFAULT_PATH]);
    cfg["process"]["user"] = json!({"uid": 4321, "gid": 4321});
    let out = run_ok(ctx, &cfg)?;
    ensure(env_lines(&out).contains(&"HOME=/"), || {
        format!("uid 4321 (no passwd entry) did not get HOME=/: {out:?}")
    })?;
    cfg["process"]["env"] = json!([DEFAULT_PATH, "HOME=/here"]);
    let out = run_ok(ctx, &cfg)?;
    let homes: Vec<&str> = env_lines(&out)
        .into_iter()
        .filter(|l| l.starts_with("HOME="))
        .collect();
    ensure_eq(homes, vec!["HOME=/here"], "HOME given in process.env")
}

/// A name given twice reaches the program once, with its last value (runc, like Go's os/exec,
/// de-duplicates; `execve` itself would pass both and programs disagree on which wins). The
/// program is `cat` itself, so its environment is exactly what the runtime passed.
fn env_last_value_wins(ctx: &Ctx) -> TestResult {
    let mut cfg = base_config(&["cat", "/proc/self/environ"]);
    cfg["process"]["env"] = json!([DEFAULT_PATH, "HOME=/", "A=1", "B=2", "A=3"]);
    let out = run_ok(ctx, &cfg)?;
    let a: Vec<&str> = out.split('\0').filter(|l| l.starts_with("A=")).collect();
    ensure_eq(a, vec!["A=3"], "A given as A=1 then A=3")
}

/// An entry with an empty name is refused at create, as runc refuses it.
fn env_empty_name_refused(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("true");
    cfg["process"]["env"] = json!([DEFAULT_PATH, "=x"]);
    let out = run_config(ctx, &cfg)?;
    ensure(out.code != 0, || {
        format!("process.env with \"=x\" was run: {}", out.describe())
    })
}

/// With no `PATH` in `process.env`, a program named without `/` is not found: runc looks it up
/// only in the container's `PATH` (its own init has none), so the config fails as it would
/// under runc instead of running whatever a default `PATH` finds.
fn no_path_no_lookup(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("true");
    cfg["process"]["env"] = json!(["HOME=/"]);
    let out = run_config(ctx, &cfg)?;
    ensure(out.code != 0, || {
        format!(
            "`sh` was found without PATH in process.env: {}",
            out.describe()
        )
    })?;
    // The same program by its path runs.
    cfg["process"]["args"] = json!(["/bin/sh", "-c", "true"]);
    run_ok(ctx, &cfg).map(drop)
}

/// An exec'd process without `HOME` gets the user's home too.
fn exec_home_from_passwd(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["sleep", "1000"]))?;
    c.start_new()?;
    let process = json!({
        "args": ["sh", "-c", "env"], "cwd": "/", "env": [DEFAULT_PATH],
        "user": {"uid": 1000, "gid": 1000},
    });
    let path = c.bundle.join("process.json");
    std::fs::write(&path, process.to_string()).map_err(|e| format!("process.json: {e}"))?;
    let p = path.to_string_lossy().into_owned();
    let out = ctx.rt_ok(&["exec", "--process", &p, &c.id])?;
    ensure(env_lines(&out.stdout).contains(&"HOME=/home/user"), || {
        format!(
            "exec'd process as uid 1000 lacks HOME=/home/user: {:?}",
            out.stdout
        )
    })
}

/// An exec'd process leads a session of its own (runc's setsid for every process it starts),
/// with or without a terminal: the caller's job control does not reach into the container.
fn exec_own_session(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["sleep", "1000"]))?;
    c.start_new()?;
    let out = ctx.rt_ok(&["exec", &c.id, "cat", "/proc/self/stat"])?;
    // pid (comm) state ppid pgrp session: comm has no spaces here (`cat`).
    let f: Vec<&str> = out.stdout.split_whitespace().collect();
    ensure(f.len() > 5, || format!("/proc/self/stat: {:?}", out.stdout))?;
    ensure(f[0] == f[4] && f[0] == f[5], || {
        format!(
            "exec'd process {} has process group {} and session {}: not its own session",
            f[0], f[4], f[5]
        )
    })
}

/// A `process.json` without `user` runs as uid 0, gid 0 (runc's process user is a plain
/// struct; engines and scripts write such files).
fn exec_process_without_user(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["sleep", "1000"]))?;
    c.start_new()?;
    let process = json!({"args": ["id"], "cwd": "/", "env": [DEFAULT_PATH]});
    let path = c.bundle.join("process.json");
    std::fs::write(&path, process.to_string()).map_err(|e| format!("process.json: {e}"))?;
    let p = path.to_string_lossy().into_owned();
    let out = ctx.rt_ok(&["exec", "--process", &p, &c.id])?;
    ensure(out.stdout.starts_with("uid=0(root) gid=0(root)"), || {
        format!("`id` of a process.json without user: {:?}", out.stdout)
    })
}

/// The same for `config.json`: `process.user` left out means root.
fn config_without_user(ctx: &Ctx) -> TestResult {
    let mut cfg = base_config(&["id", "-u"]);
    cfg["process"]
        .as_object_mut()
        .ok_or("base config without process")?
        .remove("user");
    let out = run_ok(ctx, &cfg)?;
    ensure_eq(out.trim(), "0", "id -u without process.user")
}

/// A device in `linux.devices` gets its node, but no device cgroup rule of its own: with
/// `resources.devices` denying everything it cannot be opened (runc's specconv appends only
/// its fixed defaults; engines add a rule for each device they pass). The device is
/// `/dev/fuse` (10:229): opening it is harmless, and where the cgroup allows it the open
/// succeeds or fails with ENODEV, never EPERM.
fn device_listed_but_denied(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("ls -l /dev/fuse; exec 3</dev/fuse && echo opened");
    cfg["linux"]["devices"] = json!([
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}
    ]);
    cfg["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    let out = run_config(ctx, &cfg)?;
    ensure(
        out.stdout.contains("10,") && out.stdout.contains("229"),
        || {
            format!(
                "no /dev/fuse node 10:229 in the container: {}",
                out.describe()
            )
        },
    )?;
    ensure(
        !out.stdout.contains("opened") && out.stderr.contains("Operation not permitted"),
        || {
            format!(
                "/dev/fuse opened although the device cgroup denies everything: {}",
                out.describe()
            )
        },
    )
}

/// A `/dev` tmpfs with `ro` still gets its mount points, nodes and symlinks: runc mounts it
/// read-write, makes what goes inside, and only then makes it read-only.
fn readonly_dev(ctx: &Ctx) -> TestResult {
    let mut cfg = sh(
        "cat /proc/self/mountinfo; echo x > /dev/null && echo null-ok; \
                      touch /dev/new 2>/dev/null || echo dev-ro",
    );
    let mounts = cfg["mounts"]
        .as_array_mut()
        .ok_or("base config without mounts")?;
    for m in mounts.iter_mut().filter(|m| m["destination"] == "/dev") {
        m["options"]
            .as_array_mut()
            .ok_or("/dev without options")?
            .push(json!("ro"));
    }
    let out = run_ok(ctx, &cfg)?;
    let dev = mount_at(&out, "/dev")?;
    ensure(dev.mount_opts.iter().any(|o| o == "ro"), || {
        format!("/dev is not read-only: {}", dev.line)
    })?;
    mount_at(&out, "/dev/pts")?;
    ensure(out.contains("null-ok") && out.contains("dev-ro"), || {
        format!("/dev/null unusable or /dev writable: {out}")
    })
}

/// The same for any tmpfs: a read-only tmpfs with a bind mount below it (a secret in a
/// read-only `/run`, as engines write) gets its mount point made first.
fn readonly_tmpfs_with_mounts_inside(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let secret = c.bundle.join("secret");
    std::fs::write(&secret, "s3cret\n").map_err(|e| format!("{}: {e}", secret.display()))?;
    let mut cfg = sh("cat /run/secrets/token; touch /run/x 2>/dev/null || echo run-ro");
    let mounts = cfg["mounts"]
        .as_array_mut()
        .ok_or("base config without mounts")?;
    mounts.push(
        json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "ro", "mode=755"]}),
    );
    mounts.push(json!({"destination": "/run/secrets/token", "type": "bind",
                       "source": secret.to_string_lossy(), "options": ["rbind", "ro"]}));
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    ensure(
        out.stdout.contains("s3cret") && out.stdout.contains("run-ro"),
        || {
            format!(
                "the secret is missing or /run is writable: {}",
                out.describe()
            )
        },
    )
}

/// `/dev/core` links to `/proc/kcore` only when the kernel has one (`CONFIG_PROC_KCORE`), as
/// runc makes it.
fn dev_core_only_with_kcore(ctx: &Ctx) -> TestResult {
    let out = run_ok(ctx, &sh("ls /dev"))?;
    let has_core = out.split_whitespace().any(|n| n == "core");
    let kcore = std::path::Path::new("/proc/kcore").exists();
    ensure_eq(
        has_core,
        kcore,
        &format!("/dev/core present (the host has /proc/kcore: {kcore})"),
    )
}

/// The container's process is in its cgroup in every hierarchy, the cgroup2 tree of a hybrid
/// host (`/sys/fs/cgroup/unified`) included: its `0::` line of `/proc/self/cgroup` names the
/// container's path, as under runc (which places it there too). Skipped on a host without a
/// cgroup2 tree.
fn cgroup2_tree_joined(ctx: &Ctx) -> TestResult {
    let has_cgroup2 = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("mountinfo: {e}"))?
        .lines()
        .any(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|t| t.starts_with("cgroup2 "))
        });
    if !has_cgroup2 {
        return Err(skip("the host has no cgroup2 tree"));
    }
    let path = ctx.new_cgroup_path("");
    let mut cfg = sh("cat /proc/self/cgroup");
    cfg["linux"]["cgroupsPath"] = json!(path);
    let out = run_ok(ctx, &cfg)?;
    let line = out.lines().find(|l| l.starts_with("0::"));
    ensure_eq(
        line,
        Some(format!("0::{}", cgroup_rel(&path)).as_str()),
        "the 0:: line of /proc/self/cgroup",
    )
}

/// A `process.cwd` missing from the rootfs is created (images' WORKDIRs need not exist), even
/// under a read-only root.
fn cwd_created(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("pwd");
    cfg["process"]["cwd"] = json!("/not/yet/here");
    cfg["root"]["readonly"] = json!(true);
    let out = run_ok(ctx, &cfg)?;
    ensure_eq(out.trim(), "/not/yet/here", "pwd in a missing process.cwd")
}

/// A cwd that only root may search is entered before the switch to the process's user, so
/// the process starts in it (runc: chdir first as root, again as the user only on EACCES).
fn cwd_entered_before_user_switch(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    mkdir_mode(&c.rootfs().join("rootonly"), 0o700)?;
    let mut cfg = sh("pwd");
    cfg["process"]["cwd"] = json!("/rootonly");
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    // No CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH: the user alone may not enter it.
    set_caps(&mut cfg, &[]);
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    ensure_eq(out.stdout.trim(), "/rootonly", "pwd")
}

/// stdio (pipes of the caller here) is handed to the process's user, so a non-root process
/// can reopen its own stdout (`/dev/stdout`, as nginx-style images log).
fn stdio_owned_by_user(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("echo reopened > /dev/stdout");
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let out = run_ok(ctx, &cfg)?;
    ensure_eq(out.trim(), "reopened", "uid 1000 writing to /dev/stdout")
}

/// podman's default profile without `names` in its allow-lists, `default_errno` as its
/// `defaultErrnoRet`.
fn podman_without(names: &[&str], default_errno: Option<u32>) -> Result<Value, String> {
    let mut p: Value =
        serde_json::from_str(PODMAN_DEFAULT).map_err(|e| format!("podman-default.json: {e}"))?;
    for e in p["syscalls"]
        .as_array_mut()
        .ok_or("podman-default.json has no syscalls")?
    {
        if e["action"] == "SCMP_ACT_ALLOW" {
            if let Some(list) = e["names"].as_array_mut() {
                list.retain(|n| !n.as_str().is_some_and(|n| names.contains(&n)));
            }
        }
    }
    if let Some(errno) = default_errno {
        p["defaultErrnoRet"] = json!(errno);
    }
    Ok(p)
}

/// Runs `echo ok` under `profile` with `noNewPrivileges` on and off; both must print `ok`.
fn runs_under(ctx: &Ctx, profile: &Value, nnp: &[bool]) -> TestResult {
    for &no_new_privileges in nnp {
        let mut cfg = sh("echo ok");
        cfg["linux"]["seccomp"] = profile.clone();
        cfg["process"]["noNewPrivileges"] = json!(no_new_privileges);
        let out = run_config(ctx, &cfg)?;
        ensure(out.code == 0 && out.stdout.trim() == "ok", || {
            format!(
                "with noNewPrivileges {no_new_privileges} the container did not run: {}",
                out.describe()
            )
        })?;
    }
    Ok(())
}

/// The classic Docker profile predates `close_range`: a runtime that closes its fds with it
/// after loading the filter kills every container (ENOSYS, or EPERM as the default errno).
fn seccomp_without_close_range(ctx: &Ctx) -> TestResult {
    runs_under(
        ctx,
        &podman_without(&["close_range"], None)?,
        &[true, false],
    )
}

/// A profile recorded from an application lacks what only the runtime calls (close_range,
/// chdir, getcwd, umask, capget), and answers ENXIO by default: with `noNewPrivileges` runc
/// makes them all before the filter, so the container runs.
fn seccomp_without_runtime_syscalls(ctx: &Ctx) -> TestResult {
    let names = [
        "close_range",
        "chdir",
        "fchdir",
        "getcwd",
        "umask",
        "capget",
    ];
    runs_under(ctx, &podman_without(&names, Some(6))?, &[true])
}

/// The same without `noNewPrivileges`: runc loads the filter before the switch of user (the
/// kernel wants CAP_SYS_ADMIN for it) and then fails at its own chdir; Cella keeps
/// CAP_SYS_ADMIN until the filter is in and runs the container. runc 1.1.5 fails this test
/// (spec-tests/expected/runc.txt).
fn seccomp_without_identity_syscalls(ctx: &Ctx) -> TestResult {
    let names = [
        "close_range",
        "chdir",
        "fchdir",
        "getcwd",
        "umask",
        "capget",
        "setgroups",
        "setresuid",
        "setresgid",
        "setuid",
        "setgid",
    ];
    runs_under(ctx, &podman_without(&names, Some(6))?, &[false])
}

/// A bind mount whose source is below a directory only the host's root may search (0700,
/// root's), in a container with a user namespace: the container's root is not the host's, so an
/// init that opens the source itself is denied it (cella before this test: "open bind source
/// ...: Permission denied"). runc opens such sources as the host's root, in the container's mount
/// namespace, and hands them to its init; the container reads the file through a read-only
/// bind, as asked.
fn userns_bind_source_only_host_root_reaches(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    crate::rootfs::chown_tree(&c.rootfs(), 100000, 100000)?;
    let private = c.bundle.join("root-only");
    mkdir_mode(&private, 0o700)?;
    let file = private.join("file");
    std::fs::write(&file, "only-root-reaches\n").map_err(|e| format!("write: {e}"))?;
    let mut cfg = sh("cat /mnt/file; if touch /mnt/file 2>/dev/null; then echo writable; fi");
    add_userns(&mut cfg, &[(0, 100000, 65536)]);
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/file", "type": "bind", "source": file,
               "options": ["bind", "ro"]}),
    );
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure(out.code == 0, || {
        format!("the container did not run: {}", out.describe())
    })?;
    ensure_eq(
        out.stdout.trim(),
        "only-root-reaches",
        "what the container read",
    )
}

/// A foreground `run` is a child subreaper (runc's `run`, unless `--no-subreaper`): a process
/// the container orphans outside a pid namespace of its own is reparented to the runtime (which
/// reaps it), not to the host's init; with `--no-subreaper` it is not.
fn run_is_subreaper(ctx: &Ctx) -> TestResult {
    // The orphan's parent, as the host numbers it (no pid namespace), and that parent's command
    // line.
    let mut cfg = sh(
        "p=$(sh -c 'sleep 2 >/dev/null 2>&1 & echo $!'); sleep 0.3; \
         pp=$(cut -d' ' -f4 /proc/$p/stat); tr '\\0' ' ' < /proc/$pp/cmdline",
    );
    if let Some(list) = cfg["linux"]["namespaces"].as_array_mut() {
        list.retain(|n| n["type"] != "pid");
    }
    for (flags, adopted) in [(&[][..], true), (&["--no-subreaper"][..], false)] {
        let c = Ctn::new(ctx, if adopted { "adopt" } else { "noadopt" })?;
        c.write_config(&cfg)?;
        let out = c.run_with(flags, None)?;
        ensure_eq(out.code, 0, &format!("run {flags:?} ({})", out.describe()))?;
        let parent = out.stdout.trim();
        let is_runtime = parent.contains(" run ") && parent.contains(&c.id);
        ensure(is_runtime == adopted, || {
            format!("run {flags:?}: the orphan's parent is {parent:?}")
        })?;
    }
    Ok(())
}
