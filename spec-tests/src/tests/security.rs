//! Escape classes that hit runc, crun and youki, each reproduced as an attacker would try it
//! (from inside a container, through a malicious rootfs or config, or by racing the runtime),
//! plus crash consistency, per-id locking, leaks and oversized inputs.
//!
//! Races are made deterministic in two ways, never by timing:
//! - a `createRuntime` hook runs on the host between the runtime's mounts and its later steps
//!   (masked paths, `/dev/console`, sysctl), which is exactly where a second container sharing a
//!   volume with this one would swap a path; this works with any runtime;
//! - a debug build of cella stops itself at a named step (`CELLA_STOP_AT`, see
//!   `docs/security.md`), so the test can act between two steps of `create` or kill it there.
//!   Runtimes without such stop points skip those tests with the reason.
//!
//! Each test names its CVE and says, in its comment, how a vulnerable runtime fails it.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bundle::{add_mount, add_userns, set_caps, sh, DEFAULT_CAPS};
use crate::harness::{
    all_pids, cgroup_path_dirs, ensure, ensure_eq, find_cgroup_dirs, find_processes, mounts_under,
    proc_ppid, proc_state, run_host, skip, wait_until, write_file, Ctn, Ctx, Output, TestResult,
};
use crate::rootfs::chown_tree;
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("security", name, f);
    vec![
        t(
            "cve_2019_5736_host_binary_via_proc_exe",
            host_binary_via_proc_exe,
        ),
        t("cve_2021_30465_mount_target_swapped", mount_target_swapped),
        t(
            "cve_2024_45310_no_files_outside_rootfs",
            no_files_outside_rootfs,
        ),
        t("cve_2024_45310_mkdir_race", mkdir_race),
        t("mount_point_renamed_before_mount", mount_point_renamed),
        t("mount_on_root_refused", mount_on_root_refused),
        t("cve_2019_19921_volume_over_proc", volume_over_proc),
        t("cve_2024_21626_exec_cwd_leaked_fd", exec_cwd_leaked_fd),
        t("cve_2025_31133_masked_path_dev_null", masked_path_dev_null),
        t("cve_2025_52565_dev_console_redirect", dev_console_redirect),
        t(
            "cve_2025_52881_sysctl_write_redirect",
            sysctl_write_redirect,
        ),
        t(
            "cve_2025_52881_exec_proc_write_redirect",
            exec_proc_write_redirect,
        ),
        t("cve_2023_28642_proc_symlink", proc_symlink),
        t(
            "cve_2022_29162_exec_inheritable_caps",
            exec_inheritable_caps,
        ),
        t(
            "cve_2023_25809_sys_fs_cgroup_readonly",
            sys_fs_cgroup_readonly,
        ),
        t("crash_at_each_create_step", crash_at_each_create_step),
        t("init_waits_for_its_pid", init_waits_for_its_pid),
        t("lock_serializes_one_id", lock_serializes_one_id),
        t("runtime_fds_cloexec", runtime_fds_cloexec),
        t("state_dir_private_and_atomic", state_dir_private_and_atomic),
        t("oversized_config", oversized_config),
        t("too_many_mounts", too_many_mounts),
        t("lifecycles_leak_nothing", lifecycles_leak_nothing),
        t("init_non_dumpable_until_exec", init_non_dumpable_until_exec),
        t("recycled_pid_not_signalled", recycled_pid_not_signalled),
        t(
            "exec_setgroups_not_read_from_container",
            exec_setgroups_not_read_from_container,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Stop points

/// The named steps of cella's `create`, in the order it reaches them (`docs/security.md`).
/// `init:*` steps are reached by the container's init, the others by `create` itself.
/// `create:hooks` is reached only when the config has prestart or createRuntime hooks.
const CREATE_STEPS: &[&str] = &[
    "create:state-saved",
    "create:cgroup-made",
    "create:fifo-made",
    "create:forked",
    "create:in-cgroup",
    "create:init-forked",
    "init:mount-0",
    "init:mount-0-target",
    "init:devices",
    "create:hooks",
    "init:pivoted",
    "init:ready",
    "create:ready",
    "create:done",
];

/// The init's steps after `pivot_root`, where it cannot write the report file.
const POST_PIVOT_STEPS: &[&str] = &["init:pivoted", "init:ready"];

/// A `create` started with stop points: the runtime stops itself (SIGSTOP) at each named
/// step it reaches. Dropping it kills the `create` process.
struct Staged {
    child: Child,
    report: PathBuf,
    out: PathBuf,
    err: PathBuf,
}

impl Staged {
    fn spawn(c: &Ctn, steps: &[&str]) -> Result<Staged, String> {
        let report = c.ctx.work.join(format!(".{}.stops", c.id));
        let out = c.ctx.work.join(format!(".{}.out", c.id));
        let err = c.ctx.work.join(format!(".{}.err", c.id));
        let _ = fs::remove_file(&report);
        let bundle = c.bundle_str();
        let mut cmd = c
            .ctx
            .runtime_cmd(&["create", "--bundle", bundle.as_str(), c.id.as_str()]);
        let file = |p: &Path| fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        cmd.env("CELLA_STOP_AT", steps.join(","))
            .env("CELLA_STOP_REPORT", &report)
            .stdin(Stdio::null())
            .stdout(file(&out)?)
            .stderr(file(&err)?);
        let child = cmd.spawn().map_err(|e| format!("spawn create: {e}"))?;
        Ok(Staged {
            child,
            report,
            out,
            err,
        })
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits until `step` is reached and the process that reached it (`create` or one of its
    /// children) is stopped: `Some(pid)`. `None` when `create` ended first: the runtime has no
    /// such stop point.
    fn wait_step(&mut self, step: &str) -> Result<Option<i32>, String> {
        let start = Instant::now();
        loop {
            let reported = fs::read_to_string(&self.report)
                .unwrap_or_default()
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(step));
            // After pivot_root the init cannot reach the report file on the host: it is at
            // its stop point when it waits for SIGCONT (sigtimedwait). Only used for those
            // steps, each asked for alone.
            let waiting = POST_PIVOT_STEPS.contains(&step) && self.child_waits_for_sigcont();
            if reported || waiting {
                if let Some(p) = self.stopped_process()? {
                    return Ok(Some(p));
                }
            }
            if self
                .child
                .try_wait()
                .map_err(|e| format!("wait create: {e}"))?
                .is_some()
            {
                return Ok(None);
            }
            if start.elapsed() > Duration::from_secs(20) {
                return Err(format!(
                    "create did not reach {step} in 20 s; stderr: {}",
                    fs::read_to_string(&self.err).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn child_waits_for_sigcont(&self) -> bool {
        let me = self.pid();
        all_pids().into_iter().any(|p| {
            proc_ppid(p) == Some(me)
                && fs::read_to_string(format!("/proc/{p}/wchan"))
                    .is_ok_and(|w| w.starts_with("do_sigtimedwait"))
        })
    }

    /// The process at the step: `create` itself if it stopped, otherwise its one live child,
    /// the container's init. The init is pid 1 of its pid namespace, which ignores a SIGSTOP
    /// it raises itself: it waits for SIGCONT instead, and the test stops it from outside
    /// (honoured from an ancestor namespace) so that both look the same.
    fn stopped_process(&self) -> Result<Option<i32>, String> {
        let me = self.pid();
        if proc_state(me) == Some('T') {
            return Ok(Some(me));
        }
        let children: Vec<i32> = all_pids()
            .into_iter()
            .filter(|&p| proc_ppid(p) == Some(me) && proc_state(p).is_some_and(|s| s != 'Z'))
            .collect();
        let [init] = children[..] else {
            return Ok(None);
        };
        if proc_state(init) != Some('T') {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(init),
                nix::sys::signal::Signal::SIGSTOP,
            );
        }
        Ok(wait_until(Duration::from_secs(5), || proc_state(init) == Some('T')).then_some(init))
    }

    /// Lets a stopped process go on.
    fn cont(&self, pid: i32) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGCONT,
        );
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for `create` to end (30 s at most): its output.
    fn finish(&mut self) -> Result<Output, String> {
        let start = Instant::now();
        let code = loop {
            if let Some(st) = self
                .child
                .try_wait()
                .map_err(|e| format!("wait create: {e}"))?
            {
                break crate::harness::status_code(st);
            }
            if start.elapsed() > Duration::from_secs(30) {
                self.kill();
                return Err("create did not finish in 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Ok(Output {
            code,
            stdout: fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: fs::read_to_string(&self.err).unwrap_or_default(),
            timed_out: false,
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_file(&self.report);
        let _ = fs::remove_file(&self.out);
        let _ = fs::remove_file(&self.err);
    }
}

const NO_STOP_POINTS: &str =
    "the runtime has no stop points (CELLA_STOP_AT: a debug build of cella has them)";

// ---------------------------------------------------------------------------------------------
// Small helpers

fn run_in(c: &Ctn, cfg: &Value) -> Result<Output, String> {
    c.write_config(cfg)?;
    c.run()
}

/// A hook entry running `script` with the host's `sh`.
fn sh_hook(script: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

/// The config's `/dev` becomes a bind mount of the host directory `dir`, as when a volume
/// shared with another (attacker's) container holds it: what the attacker does there, the
/// runtime sees.
fn dev_from_host_dir(cfg: &mut Value, dir: &Path) {
    let mounts = cfg["mounts"].as_array_mut().expect("mounts is an array");
    for m in mounts.iter_mut() {
        if m["destination"] == "/dev" {
            *m = json!({"destination": "/dev", "type": "bind", "source": dir,
                        "options": ["rbind", "rw"]});
        }
    }
}

/// The capabilities of this process's bounding set, by name.
fn host_caps() -> Vec<&'static str> {
    const NAMES: &[&str] = &[
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let bnd = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| bnd & (1u64 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// The lines of a `/proc/<pid>/mountinfo` (the host reads the container's).
fn mount_points(pid: i32) -> Result<Vec<String>, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .map_err(|e| format!("/proc/{pid}/mountinfo: {e}"))?;
    Ok(crate::harness::parse_mountinfo(&text)
        .into_iter()
        .map(|m| m.mount_point)
        .collect())
}

/// A directory outside every bundle, owned by the test (removed at the end).
struct Outside(PathBuf);

impl Outside {
    fn new(ctx: &Ctx, name: &str, create: bool) -> Result<Outside, String> {
        let p = ctx.work.join(format!("outside-{}-{name}", ctx.current()));
        let _ = fs::remove_dir_all(&p);
        if create {
            fs::create_dir_all(&p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
        }
        Ok(Outside(p))
    }

    fn entries(&self) -> Vec<String> {
        fs::read_dir(&self.0)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        if mounts_under(&self.0).is_empty() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CVE-2019-5736: the host's runtime binary through /proc/<pid>/exe

/// CVE-2019-5736: a process of the container opens `/proc/<pid>/exe` of a runtime process
/// that is in the container's pid namespace — here the init while the container is only
/// created, a fork of the runtime until `start` — keeps the fd, and once the runtime has exited
/// reopens it for writing to overwrite the host's binary. The container has every capability
/// of the host (`CAP_SYS_PTRACE` included), so even a ptrace-capable attacker must find only a
/// sealed copy (or a read-only mount of the binary) there. A vulnerable runtime (one that
/// runs its container-side processes from the binary on disk, as runc before 1.0-rc7 did,
/// and cella before it re-executed itself from a sealed memfd) fails: the attacker's fd has
/// the host binary's device and inode, and opening it for appending (which writes nothing)
/// succeeds once the runtime has exited (measured with cella before the fix).
fn host_binary_via_proc_exe(ctx: &Ctx) -> TestResult {
    let bin = fs::canonicalize(&ctx.runtime).map_err(|e| format!("runtime path: {e}"))?;
    let meta = fs::metadata(&bin).map_err(|e| format!("stat {}: {e}", bin.display()))?;
    let host = format!("{} {}", meta.dev(), meta.ino());
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("sleep 1000");
    set_caps(&mut cfg, &host_caps());
    cfg["process"]["noNewPrivileges"] = json!(false);
    c.write_config(&cfg)?;
    c.create_ok()?;
    // The attacker: take the fd while the init is the runtime's fork, report its identity,
    // then try to open it for writing until the runtime is gone (ETXTBSY until then).
    let attack = "if exec 3</proc/1/exe; then echo open $(stat -L -c '%d %i' /proc/self/fd/3); \
                  else echo denied; fi > /attack.out 2>&1; \
                  i=0; while [ $i -lt 100 ]; do \
                    if (exec 4>>/proc/self/fd/3) 2>/dev/null; then echo WRITABLE >> /attack.out; break; fi; \
                    i=$((i+1)); sleep 0.05; done; echo done >> /attack.out; sleep 1000";
    ctx.rt_ok(&["exec", "-d", &c.id, "sh", "-c", attack])?;
    let out_file = c.rootfs().join("attack.out");
    ensure(
        wait_until(Duration::from_secs(10), || out_file.exists()),
        || "the attacker did not run".to_string(),
    )?;
    c.start_ok()?;
    let done = wait_until(Duration::from_secs(15), || {
        fs::read_to_string(&out_file).is_ok_and(|t| t.contains("done") || t.contains("WRITABLE"))
    });
    let text = fs::read_to_string(&out_file).unwrap_or_default();
    ensure(done, || format!("the attacker did not finish: {text}"))?;
    // The attacker must not be able to write the host's binary: holding it on a read-only
    // mount (runc 1.1's bind of its binary) is a defence, and so is holding only a private
    // copy (cella's sealed memfd, which may be opened for writing but refuses every write).
    let first = text.lines().next().unwrap_or("");
    let host_binary = first == format!("open {host}");
    println!(
        "# {}: the attacker's fd: {first} (the host binary is {host})",
        ctx.current()
    );
    ensure(!(host_binary && text.contains("WRITABLE")), || {
        format!(
            "the container opened the host's runtime binary {} ({host}) for writing: {text}",
            bin.display()
        )
    })
}

// ---------------------------------------------------------------------------------------------
// CVE-2021-30465, CVE-2024-45310: mount destinations and symlinks

/// CVE-2021-30465: the runtime resolves a mount destination inside the rootfs, then an
/// attacker sharing the volume swaps the directory for a symlink to a host path before the
/// mount is made. The stop point after cella opened the mount point plays the attacker's race
/// deterministically. A runtime that mounts by path (runc before 1.0.0-rc95) follows the new
/// symlink and the tmpfs lands on the host path in the container's mount namespace (seen in
/// its mountinfo before `pivot_root`); cella mounts on the directory it opened, which the
/// attacker moved but could not redirect.
fn mount_target_swapped(ctx: &Ctx) -> TestResult {
    let outside = Outside::new(ctx, "target", true)?;
    let c = Ctn::new(ctx, "")?;
    fs::create_dir_all(c.rootfs().join("vol/dst")).map_err(|e| format!("mkdir: {e}"))?;
    let mut cfg = sh("grep -c ' /vol/moved ' /proc/self/mountinfo");
    let index = cfg["mounts"].as_array().map(Vec::len).unwrap_or(0);
    add_mount(
        &mut cfg,
        json!({"destination": "/vol/dst", "type": "tmpfs", "source": "tmpfs"}),
    );
    c.write_config(&cfg)?;
    let target_step = format!("init:mount-{index}-target");
    let mut staged = Staged::spawn(&c, &[&target_step, "init:devices"])?;
    let Some(init) = staged.wait_step(&target_step)? else {
        return Err(skip(NO_STOP_POINTS));
    };
    // The attacker's swap: the directory goes away, a symlink to the host takes its place.
    let dst = c.rootfs().join("vol/dst");
    fs::rename(&dst, c.rootfs().join("vol/moved")).map_err(|e| format!("rename: {e}"))?;
    std::os::unix::fs::symlink(&outside.0, &dst).map_err(|e| format!("symlink: {e}"))?;
    staged.cont(init);
    // cella refuses the swapped destination when it looks the mount up again; a runtime
    // that goes on is checked before its pivot_root hides where the mount went.
    let points = match staged.wait_step("init:devices")? {
        Some(init) => {
            let points = mount_points(init)?;
            staged.cont(init);
            points
        }
        None => Vec::new(),
    };
    let out = staged.finish()?;
    let outside_s = outside.0.to_string_lossy().into_owned();
    ensure(!points.iter().any(|p| p == &outside_s), || {
        format!("the tmpfs was mounted on the host path {outside_s} (mounts: {points:?})")
    })?;
    ensure(outside.entries().is_empty(), || {
        format!("files appeared in {outside_s}: {:?}", outside.entries())
    })?;
    if out.code != 0 {
        // Refusing the swapped destination is a defence too.
        return Ok(());
    }
    c.start_ok()?;
    c.wait_status("stopped")
}

/// CVE-2024-45310: mount points are made through dangling symlinks of a malicious rootfs
/// (`/escape1 -> <host dir>/made`, `/escape2 -> <host dir>/file`) that point at host paths.
/// A runtime that creates missing mount points with host path resolution (runc before 1.1.14,
/// through a shared volume) makes the directory and the file on the host; cella resolves every
/// symlink inside the rootfs, so they appear under the rootfs and the host path stays absent.
fn no_files_outside_rootfs(ctx: &Ctx) -> TestResult {
    let outside = Outside::new(ctx, "made", false)?;
    let c = Ctn::new(ctx, "")?;
    let r = c.rootfs();
    std::os::unix::fs::symlink(outside.0.join("made"), r.join("escape1"))
        .map_err(|e| format!("symlink: {e}"))?;
    std::os::unix::fs::symlink(outside.0.join("file"), r.join("escape2"))
        .map_err(|e| format!("symlink: {e}"))?;
    let src = c.bundle.join("bind-src");
    write_file(&src, "x")?;
    let mut cfg = sh("true");
    add_mount(
        &mut cfg,
        json!({"destination": "/escape1/sub", "type": "tmpfs", "source": "tmpfs"}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/escape2", "type": "bind", "source": src, "options": ["bind"]}),
    );
    let out = run_in(&c, &cfg)?;
    ensure(!outside.0.exists(), || {
        format!(
            "the runtime created {} on the host: {:?} (run: {})",
            outside.0.display(),
            outside.entries(),
            out.describe()
        )
    })
}

/// CVE-2024-45310, the race: while `create` makes the mount point of `/vol/a/b` (a volume the
/// attacker shares), the attacker replaces `/vol` with a symlink to a host directory. The stop
/// point before that mount is the attacker's moment. A runtime that creates the missing
/// directories by host path after its check (runc before 1.1.14) makes `a/b` in the host
/// directory; cella resolves the path again, inside the rootfs, when it creates them.
fn mkdir_race(ctx: &Ctx) -> TestResult {
    let outside = Outside::new(ctx, "race", true)?;
    let c = Ctn::new(ctx, "")?;
    fs::create_dir_all(c.rootfs().join("vol")).map_err(|e| format!("mkdir: {e}"))?;
    let mut cfg = sh("true");
    let index = cfg["mounts"].as_array().map(Vec::len).unwrap_or(0);
    add_mount(
        &mut cfg,
        json!({"destination": "/vol/a/b", "type": "tmpfs", "source": "tmpfs"}),
    );
    c.write_config(&cfg)?;
    let step = format!("init:mount-{index}");
    let mut staged = Staged::spawn(&c, &[&step])?;
    let Some(init) = staged.wait_step(&step)? else {
        return Err(skip(NO_STOP_POINTS));
    };
    let vol = c.rootfs().join("vol");
    fs::remove_dir(&vol).map_err(|e| format!("rmdir: {e}"))?;
    std::os::unix::fs::symlink(&outside.0, &vol).map_err(|e| format!("symlink: {e}"))?;
    staged.cont(init);
    let out = staged.finish()?;
    ensure(outside.entries().is_empty(), || {
        format!(
            "the runtime created {:?} in the host directory {} (create: {})",
            outside.entries(),
            outside.0.display(),
            out.describe()
        )
    })
}

/// The root field (4) of the mountinfo line of the mount whose root ends with `/name`, and its
/// per-mount options: which of the container's mounts a bind of the host directory `name` is.
fn bind_of<'a>(
    lines: &'a [crate::harness::MountInfo],
    name: &str,
) -> Option<&'a crate::harness::MountInfo> {
    let suffix = format!("/{name}");
    lines.iter().find(|m| {
        m.line
            .split(' ')
            .nth(3)
            .is_some_and(|r| r.ends_with(&suffix))
    })
}

/// A check made on a mount point's path holds for what is mounted only if it is made on the
/// fd mounted on, and what is done to the new mount afterwards (the remount that makes a bind
/// read-only, propagation) reaches it only if it is found without trusting that path again. The
/// attacker shares `/vol` (a volume) and, between the runtime's opening of `/vol/b` and its
/// mount there (stop point `init:mount-N-target`), renames `/vol/b` away and the mount point of
/// an earlier mount, `/vol/a`, to `/vol/b`. A runtime that looks `/vol/b` up again after the
/// mount to remount it `ro` (cella before this test, runc's path re-resolution after a mount
/// likewise) makes the earlier mount read-only and leaves the `ro` bind writable. cella finds
/// that the path now leads to a mount that existed before and fails create.
fn mount_point_renamed(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    for d in ["vol/a", "vol/b"] {
        fs::create_dir_all(c.rootfs().join(d)).map_err(|e| format!("mkdir: {e}"))?;
    }
    for d in ["src-a", "src-b"] {
        fs::create_dir_all(c.bundle.join(d)).map_err(|e| format!("mkdir: {e}"))?;
    }
    let mut cfg = sh("true");
    add_mount(
        &mut cfg,
        json!({"destination": "/vol/a", "type": "bind", "source": c.bundle.join("src-a"),
               "options": ["rbind", "rw"]}),
    );
    let index = cfg["mounts"].as_array().map(Vec::len).unwrap_or(0);
    add_mount(
        &mut cfg,
        json!({"destination": "/vol/b", "type": "bind", "source": c.bundle.join("src-b"),
               "options": ["bind", "ro"]}),
    );
    c.write_config(&cfg)?;
    let target_step = format!("init:mount-{index}-target");
    let mut staged = Staged::spawn(&c, &[&target_step, "init:devices"])?;
    let Some(init) = staged.wait_step(&target_step)? else {
        return Err(skip(NO_STOP_POINTS));
    };
    let vol = c.rootfs().join("vol");
    fs::rename(vol.join("b"), vol.join("moved")).map_err(|e| format!("rename: {e}"))?;
    fs::rename(vol.join("a"), vol.join("b")).map_err(|e| format!("rename: {e}"))?;
    staged.cont(init);
    let Some(init) = staged.wait_step("init:devices")? else {
        // create failed: the swap was noticed.
        let out = staged.finish()?;
        return ensure(out.code != 0, || {
            format!("create ended early: {}", out.describe())
        });
    };
    let text = fs::read_to_string(format!("/proc/{init}/mountinfo"))
        .map_err(|e| format!("/proc/{init}/mountinfo: {e}"))?;
    staged.cont(init);
    let _ = staged.finish()?;
    let lines = crate::harness::parse_mountinfo(&text);
    let b = bind_of(&lines, "src-b").ok_or("no bind of src-b in the container's mountinfo")?;
    ensure(b.has_opt("ro"), || {
        format!("the bind asked to be read-only is writable: {}", b.line)
    })?;
    let a = bind_of(&lines, "src-a").ok_or("no bind of src-a in the container's mountinfo")?;
    ensure(a.has_opt("rw"), || {
        format!(
            "the ro meant for another mount made this one read-only: {}",
            a.line
        )
    })
}

/// A mount on the container's root itself, whether the destination is `/` or a symlink of the
/// rootfs leads there (`/x -> /`), is refused naming `mounts[N].destination`, and leaves no
/// container behind (runc: "mountpoint is on the top of rootfs"). The mount is a bind of the
/// rootfs onto itself, which a runtime that allows it makes without any other failure (cella
/// before this test ran the container on it).
fn mount_on_root_refused(ctx: &Ctx) -> TestResult {
    for (tag, dest) in [("lexical", "/"), ("symlink", "/x")] {
        let c = Ctn::new(ctx, tag)?;
        std::os::unix::fs::symlink("/", c.rootfs().join("x"))
            .map_err(|e| format!("symlink: {e}"))?;
        let mut cfg = sh("true");
        let index = cfg["mounts"].as_array().map(Vec::len).unwrap_or(0);
        add_mount(
            &mut cfg,
            json!({"destination": dest, "type": "bind", "source": c.rootfs(),
                   "options": ["rbind"]}),
        );
        c.write_config(&cfg)?;
        let out = c.create(&[])?;
        ensure(out.code != 0, || {
            format!("create with a mount on {dest} (the root) succeeded")
        })?;
        let field = format!("mounts[{index}].destination");
        if ctx.check_messages {
            ensure(out.stderr.contains(&field), || {
                format!("the error does not name {field}: {}", out.stderr.trim())
            })?;
        }
        ensure(ctx.rt(&["state", &c.id])?.code != 0, || {
            format!("a container {} is left after the failed create", c.id)
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// /proc: volumes over it, symlinks, redirected writes

/// The container's `/proc` after create, as its own process sees it: `statfs` type and
/// whether `/proc/self/status` is there.
const PROC_PROBE: &str = "echo type=$(stat -f -c %T /proc); \
                          test -r /proc/self/status && echo status=yes || echo status=no";

fn proc_is_genuine(out: &Output) -> TestResult {
    ensure(
        out.stdout.contains("type=proc") && out.stdout.contains("status=yes"),
        || format!("the container's /proc is not procfs: {}", out.stdout.trim()),
    )
}

/// CVE-2019-19921 (and its regression CVE-2023-27561): a malicious rootfs has
/// `/evilvol -> /proc`, and the config mounts a volume at `/evilvol` (an image's VOLUME).
/// Resolved inside the rootfs the destination is `/proc`, so a runtime that allows it (runc
/// before 1.0.0-rc10, and 1.0.0-rc95 to 1.1.4) mounts the volume over procfs: the runtime's
/// later writes to `/proc` (LSM labels, sysctl, oom_score_adj) land in the volume. The mount
/// must be refused (or at least leave `/proc` procfs).
fn volume_over_proc(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    std::os::unix::fs::symlink("/proc", c.rootfs().join("evilvol"))
        .map_err(|e| format!("symlink: {e}"))?;
    let vol = c.bundle.join("vol");
    fs::create_dir_all(&vol).map_err(|e| format!("mkdir: {e}"))?;
    let mut cfg = sh(PROC_PROBE);
    add_mount(
        &mut cfg,
        json!({"destination": "/evilvol", "type": "bind", "source": vol, "options": ["rbind"]}),
    );
    let out = run_in(&c, &cfg)?;
    if out.code != 0 {
        return Ok(());
    }
    proc_is_genuine(&out)?;
    // The same with the destination spelt out: a volume at /proc itself.
    let c = Ctn::new(ctx, "direct")?;
    let mut cfg = sh(PROC_PROBE);
    add_mount(
        &mut cfg,
        json!({"destination": "/proc", "type": "bind", "source": vol, "options": ["rbind"]}),
    );
    let out = run_in(&c, &cfg)?;
    if out.code != 0 {
        return Ok(());
    }
    proc_is_genuine(&out)
}

/// CVE-2023-28642 (and CVE-2019-16884 before it): the rootfs's `/proc` is a symlink
/// (`/proc -> /evilproc`). A runtime that follows it (runc before 1.1.5) mounts procfs at
/// `/evilproc` and leaves `/proc` a path the image controls, so its writes meant for procfs
/// (AppArmor labels) go nowhere. cella refuses a symlink at a proc mount point.
fn proc_symlink(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let r = c.rootfs();
    let _ = fs::remove_dir(r.join("proc"));
    fs::create_dir_all(r.join("evilproc")).map_err(|e| format!("mkdir: {e}"))?;
    std::os::unix::fs::symlink("/evilproc", r.join("proc")).map_err(|e| format!("symlink: {e}"))?;
    let out = run_in(&c, &sh(PROC_PROBE))?;
    if out.code != 0 {
        return Ok(());
    }
    proc_is_genuine(&out)?;
    let link = fs::symlink_metadata(r.join("proc")).map_err(|e| format!("lstat: {e}"))?;
    ensure(!link.file_type().is_symlink(), || {
        "create succeeded with /proc a symlink: procfs was mounted where it points".to_string()
    })
}

/// CVE-2025-52881: the runtime writes `linux.sysctl` into `/proc/sys`; an attacker who can
/// change the container's mounts before that (here a `createContainer` hook, running in the
/// container's mount namespace, mounts a tmpfs over `<rootfs>/proc/sys` with an empty
/// `kernel/`) makes a path-based write land in the tmpfs. A vulnerable runtime (runc before
/// 1.2.8) creates `kernel/domainname` in the tmpfs and the UTS namespace's domainname stays
/// unset. cella writes through a procfs instance of its own, opened with `fsopen` and checked
/// with `fstatfs`, so the value reaches the kernel (or create fails).
fn sysctl_write_redirect(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let rootfs = c.rootfs().to_string_lossy().into_owned();
    let mut cfg = sh("sleep 1000");
    cfg["linux"]["sysctl"] = json!({"kernel.domainname": "st-sysctl.example"});
    cfg["hooks"] = json!({"createContainer": [sh_hook(&format!(
        "mount -t tmpfs st-fake {rootfs}/proc/sys && mkdir {rootfs}/proc/sys/kernel"
    ))]});
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    if out.code != 0 {
        return Ok(());
    }
    let pid = c.pid()?;
    let fake = fs::read_dir(format!("/proc/{pid}/root/proc/sys/kernel"))
        .map(|rd| rd.count())
        .unwrap_or(0);
    ensure_eq(
        fake,
        0,
        "files written into the tmpfs over /proc/sys/kernel",
    )?;
    let pid_s = pid.to_string();
    let got = run_host(&[
        "nsenter",
        "-t",
        &pid_s,
        "-u",
        "cat",
        "/proc/sys/kernel/domainname",
    ])?;
    ensure_eq(
        got.trim(),
        "st-sysctl.example",
        "the container's kernel.domainname",
    )
}

/// CVE-2025-52881, from a running container: its root (with `CAP_SYS_ADMIN`) mounts a tmpfs
/// over `/proc` holding a fake `self/`. `exec` with `oomScoreAdj` then has the runtime write
/// `/proc/self/oom_score_adj`; a runtime that writes by path inside the container (runc before
/// 1.2.8 wrote LSM labels this way) writes the fake file and the process keeps the default
/// score. cella sets it through the host's procfs before it enters the container.
fn exec_proc_write_redirect(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut caps: Vec<&str> = DEFAULT_CAPS.to_vec();
    caps.push("CAP_SYS_ADMIN");
    let mut cfg = sh(
        "mount -t tmpfs st-fake /proc && mkdir -p /proc/self && touch /proc/ready; \
                      sleep 1000",
    );
    set_caps(&mut cfg, &caps);
    c.write_config(&cfg)?;
    c.start_new()?;
    let init = c.pid()?;
    let ready = PathBuf::from(format!("/proc/{init}/root/proc/ready"));
    ensure(
        wait_until(Duration::from_secs(10), || ready.exists()),
        || "the container did not mount its fake /proc".to_string(),
    )?;
    let process = json!({
        "terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/",
        "args": ["sleep", "1000"], "env": [crate::bundle::DEFAULT_PATH],
        "oomScoreAdj": 321
    });
    let pfile = c.bundle.join("process.json");
    write_file(&pfile, &process.to_string())?;
    let pidfile = c.bundle.join("exec.pid");
    let (pf, pid_s) = (pfile.to_string_lossy(), pidfile.to_string_lossy());
    let out = ctx.rt(&["exec", "-d", "--process", &pf, "--pid-file", &pid_s, &c.id])?;
    let fake = PathBuf::from(format!("/proc/{init}/root/proc/self/oom_score_adj"));
    ensure(!fake.exists(), || {
        "the runtime wrote oom_score_adj into the container's fake /proc".to_string()
    })?;
    if out.code != 0 {
        return Ok(());
    }
    let pid = fs::read_to_string(&pidfile).map_err(|e| format!("pid file: {e}"))?;
    let score = fs::read_to_string(format!("/proc/{}/oom_score_adj", pid.trim()))
        .map_err(|e| format!("oom_score_adj of {}: {e}", pid.trim()))?;
    ensure_eq(score.trim(), "321", "oom_score_adj of the exec'd process")
}

// ---------------------------------------------------------------------------------------------
// CVE-2024-21626: host fds and cwd

/// CVE-2024-21626: `exec --cwd /proc/self/fd/N` (N = 3..9) names an fd the runtime may hold
/// open while it enters the container (runc 1.0.0 to 1.1.11 leaked one to the host's
/// `/sys/fs/cgroup`): the process would start with a host directory as cwd, and `..` walks
/// the host. Each exec must fail or run with a cwd inside the container's root (the same
/// device and inode as `/` after `..` to the top), never see the bundle's `config.json`.
fn exec_cwd_leaked_fd(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("sleep 1000"))?;
    c.start_new()?;
    let script = "r=$(stat -c %d:%i /); \
                  u=$(stat -c %d:%i ../../../../../../../../../../../../../../../../..); \
                  [ \"$r\" = \"$u\" ] && echo INSIDE || echo OUTSIDE $(readlink /proc/self/cwd); \
                  ls ../../../../../../../../../../../../ 2>/dev/null | grep -q config.json && echo BUNDLE";
    for n in 3..=9 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = ctx.rt(&["exec", "--cwd", &cwd, &c.id, "sh", "-c", script])?;
        if out.code == 0 {
            ensure(out.stdout.trim() == "INSIDE", || {
                format!(
                    "exec --cwd {cwd}: the process's cwd is outside its root: {}",
                    out.stdout.trim()
                )
            })?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CVE-2025-31133, CVE-2025-52565: /dev entries swapped for symlinks

/// CVE-2025-31133: `maskedPaths` are masked by bind-mounting `/dev/null` over them. The
/// container's `/dev` is a volume the attacker shares (a host directory); between the
/// runtime's device setup and the masking (here: a createRuntime hook on the host) the
/// attacker replaces `null` with a symlink to `/flag`. A runtime that binds `/dev/null` by
/// path (runc before 1.2.8) binds `/flag` over the masked path instead, so the "masked" file
/// shows the attacker's content (and with `/proc/sys/kernel/core_pattern` as the target it
/// would be writable). The masked path must be the null device, or create must fail.
fn masked_path_dev_null(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let dev = c.bundle.join("shared-dev");
    fs::create_dir_all(&dev).map_err(|e| format!("mkdir: {e}"))?;
    write_file(&c.rootfs().join("flag"), "attacker-controlled\n")?;
    write_file(&c.rootfs().join("secret"), "secret\n")?;
    let mut cfg = sh("echo content=$(cat /secret); stat -c 'dev=%t:%T' /secret");
    dev_from_host_dir(&mut cfg, &dev);
    cfg["linux"]["maskedPaths"] = json!(["/secret"]);
    let d = dev.to_string_lossy();
    cfg["hooks"] = json!({"createRuntime": [sh_hook(&format!(
        "rm -f {d}/null && ln -s /flag {d}/null"
    ))]});
    let out = run_in(&c, &cfg)?;
    if out.code != 0 {
        ensure(!out.stdout.contains("attacker"), || out.describe())?;
        return Ok(());
    }
    ensure(!out.stdout.contains("attacker"), || {
        format!(
            "the masked path shows the symlink's target: {}",
            out.stdout.trim()
        )
    })?;
    ensure(out.stdout.contains("dev=1:3"), || {
        format!(
            "the masked path is not the null device: {}",
            out.stdout.trim()
        )
    })
}

/// CVE-2025-52565: with a terminal, the runtime bind-mounts the pty onto `/dev/console`. The
/// attacker (as above, through a shared `/dev`) replaces `console` with a symlink to `/flag2`
/// before that. A runtime that mounts on `/dev/console` by path (runc before 1.2.8) follows
/// the symlink and mounts over `/flag2` (with `/proc/sysrq-trigger` as the target, the mount
/// would be on a procfs file). `/flag2` must stay a regular file and `/dev/console` be a
/// character device, or create must fail.
fn dev_console_redirect(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let dev = c.bundle.join("shared-dev");
    fs::create_dir_all(&dev).map_err(|e| format!("mkdir: {e}"))?;
    write_file(&c.rootfs().join("flag2"), "file\n")?;
    let mut cfg = sh("echo flag2=$(stat -c %F /flag2 | tr ' ' _) console=$(stat -L -c %F /dev/console | tr ' ' _)");
    dev_from_host_dir(&mut cfg, &dev);
    cfg["process"]["terminal"] = json!(true);
    let d = dev.to_string_lossy();
    cfg["hooks"] = json!({"createRuntime": [sh_hook(&format!(
        "rm -f {d}/console && ln -s /flag2 {d}/console"
    ))]});
    let out = run_in(&c, &cfg)?;
    if out.code != 0 && !out.stdout.contains("flag2=") {
        return Ok(());
    }
    ensure(out.stdout.contains("flag2=regular"), || {
        format!(
            "the terminal was mounted over the symlink's target: {}",
            out.stdout.trim()
        )
    })?;
    ensure(out.stdout.contains("console=character"), || {
        format!("/dev/console is not the terminal: {}", out.stdout.trim())
    })
}

// ---------------------------------------------------------------------------------------------
// CVE-2022-29162, CVE-2023-25809: capabilities and /sys/fs/cgroup

fn cap_line(out: &str, name: &str) -> Option<u64> {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// CVE-2022-29162: `runc exec` (before 1.1.2) gave the exec'd process an inheritable set (the
/// config's bounding set, or the `--cap` it was given), so a program with inheritable file
/// capabilities gained them. `exec --cap CAP_NET_ADMIN` and `exec --process` without
/// inheritable or ambient sets must leave `CapInh` and `CapAmb` empty.
fn exec_inheritable_caps(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("sleep 1000"))?;
    c.start_new()?;
    let out = ctx.rt_ok(&[
        "exec",
        "--cap",
        "CAP_NET_ADMIN",
        &c.id,
        "cat",
        "/proc/self/status",
    ])?;
    for set in ["CapInh", "CapAmb"] {
        ensure_eq(
            cap_line(&out.stdout, set),
            Some(0),
            &format!("exec --cap: {set}"),
        )?;
    }
    let process = json!({
        "terminal": false, "user": {"uid": 1000, "gid": 1000}, "cwd": "/",
        "args": ["cat", "/proc/self/status"], "env": [crate::bundle::DEFAULT_PATH],
        "capabilities": {"bounding": DEFAULT_CAPS, "effective": DEFAULT_CAPS,
                         "permitted": DEFAULT_CAPS}
    });
    let pfile = c.bundle.join("process.json");
    write_file(&pfile, &process.to_string())?;
    let out = ctx.rt_ok(&["exec", "--process", &pfile.to_string_lossy(), &c.id])?;
    for set in ["CapInh", "CapAmb"] {
        ensure_eq(
            cap_line(&out.stdout, set),
            Some(0),
            &format!("exec --process: {set}"),
        )?;
    }
    Ok(())
}

/// CVE-2023-25809: with a user namespace but no cgroup namespace, runc (before 1.1.5) bound
/// the host's `/sys/fs/cgroup` into a read-only `/sys` read-write. Here: a user namespace, a
/// read-only sysfs (which in a user namespace without its own network namespace rights may
/// become a bind of the host's `/sys` and its submounts) and a read-only cgroup mount: every
/// mount at or below `/sys` in the container must be read-only, so the host's cgroup tree
/// cannot be written whatever the uid mapping.
fn sys_fs_cgroup_readonly(ctx: &Ctx) -> TestResult {
    sys_readonly_case(ctx, "", true)?;
    // Without a network namespace of its own, a user namespace may not mount sysfs: runtimes
    // bind the host's /sys instead, and its submounts (the host's cgroup tree) come along.
    sys_readonly_case(ctx, "hostnet", false)
}

fn sys_readonly_case(ctx: &Ctx, tag: &str, own_netns: bool) -> TestResult {
    let c = Ctn::new(ctx, tag)?;
    chown_tree(&c.rootfs(), 100000, 100000)?;
    let mut cfg = sh("cat /proc/self/mountinfo; echo --; \
                      mkdir /sys/fs/cgroup/st-evil 2>&1; touch /sys/fs/cgroup/st-evil-file 2>&1; true");
    add_userns(&mut cfg, &[(0, 100000, 65536)]);
    if !own_netns {
        let ns = cfg["linux"]["namespaces"]
            .as_array_mut()
            .ok_or("namespaces")?;
        ns.retain(|n| n["type"] != "network");
    }
    add_mount(
        &mut cfg,
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
    );
    let out = run_in(&c, &cfg)?;
    ensure_eq(out.code, 0, &format!("run {tag} ({})", out.describe()))?;
    let (info, _) = out.stdout.split_once("--\n").unwrap_or((&out.stdout, ""));
    let writable: Vec<String> = crate::harness::parse_mountinfo(info)
        .into_iter()
        .filter(|m| m.mount_point == "/sys" || m.mount_point.starts_with("/sys/"))
        .filter(|m| !m.has_opt("ro"))
        .map(|m| m.line)
        .collect();
    ensure(writable.is_empty(), || {
        format!("writable mounts under the read-only /sys ({tag}): {writable:?}")
    })
}

// ---------------------------------------------------------------------------------------------
// Crash consistency and locking

/// What must be gone once a container is deleted: its state directory, processes, cgroup
/// directories (by id and at its cgroupsPath) and mounts under its bundle.
fn nothing_left(ctx: &Ctx, c: &Ctn, cgroup_path: &str) -> TestResult {
    let ids: BTreeSet<String> = [c.id.clone()].into();
    let paths: BTreeSet<String> = [cgroup_path.to_string()].into();
    ensure(!ctx.root.join(&c.id).exists(), || {
        format!("state directory {} left", ctx.root.join(&c.id).display())
    })?;
    let mut procs = Vec::new();
    let gone = wait_until(Duration::from_secs(5), || {
        procs = find_processes(&ids, &paths, &c.bundle);
        procs.is_empty()
    });
    ensure(gone, || format!("processes left: {procs:?}"))?;
    let dirs: Vec<PathBuf> = find_cgroup_dirs(&ids)
        .into_iter()
        .chain(cgroup_path_dirs(cgroup_path))
        .collect();
    ensure(dirs.is_empty(), || {
        format!("cgroup directories left: {dirs:?}")
    })?;
    let m = mounts_under(&c.bundle);
    ensure(m.is_empty(), || format!("mounts left: {m:?}"))
}

fn status_of(ctx: &Ctx, id: &str) -> Result<String, String> {
    let out = ctx.rt(&["state", id])?;
    ensure_eq(out.code, 0, &format!("state {id} ({})", out.describe()))?;
    let v: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("state output is not JSON ({e}): {}", out.stdout))?;
    Ok(v["status"].as_str().unwrap_or("").to_string())
}

fn listed_status(ctx: &Ctx, id: &str) -> Result<Option<String>, String> {
    let out = ctx.rt(&["list", "--format", "json"])?;
    ensure_eq(out.code, 0, &format!("list ({})", out.describe()))?;
    let v: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("list output is not JSON ({e}): {}", out.stdout))?;
    Ok(v.as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id))
        .map(|s| s["status"].as_str().unwrap_or("").to_string()))
}

/// Crash consistency: `create` is stopped at each of its steps in turn (a stop point, not a
/// timed kill), `state` and `list` are asked about the half-made container (they must work
/// and say `creating`), then `create` is SIGKILLed: `state` and `list` must still work (the
/// container is `stopped`, or `created` once `create` has finished), and `delete --force` must
/// remove everything (state directory, init, cgroup, mounts). A runtime that writes its state
/// only at the end leaks the cgroup and the init when killed halfway (cella did, before its
/// state was written first).
fn crash_at_each_create_step(ctx: &Ctx) -> TestResult {
    for (i, step) in CREATE_STEPS.iter().enumerate() {
        let c = Ctn::new(ctx, &format!("s{i}"))?;
        let cg = ctx.new_cgroup_path(&format!("-s{i}"));
        let mut cfg = sh("sleep 1000");
        cfg["linux"]["cgroupsPath"] = json!(cg);
        cfg["hooks"] = json!({"createRuntime": [sh_hook("true")]});
        c.write_config(&cfg)?;
        let mut staged = Staged::spawn(&c, &[step])?;
        let Some(stopped) = staged.wait_step(step)? else {
            if i == 0 {
                return Err(skip(NO_STOP_POINTS));
            }
            return Err(format!("create ended without reaching {step}"));
        };
        let done = *step == "create:done";
        let want = if done { "created" } else { "creating" };
        let st = status_of(ctx, &c.id).map_err(|e| format!("{step}: {e}"))?;
        ensure_eq(st.as_str(), want, &format!("{step}: state while stopped"))?;
        let listed = listed_status(ctx, &c.id).map_err(|e| format!("{step}: {e}"))?;
        ensure_eq(
            listed.as_deref(),
            Some(want),
            &format!("{step}: list while stopped"),
        )?;
        staged.kill();
        let want = if done { "created" } else { "stopped" };
        let st = status_of(ctx, &c.id).map_err(|e| format!("{step}: {e}"))?;
        ensure_eq(st.as_str(), want, &format!("{step}: state after SIGKILL"))?;
        let listed = listed_status(ctx, &c.id).map_err(|e| format!("{step}: {e}"))?;
        ensure_eq(
            listed.as_deref(),
            Some(want),
            &format!("{step}: list after SIGKILL"),
        )?;
        let out = ctx.rt(&["delete", "--force", &c.id])?;
        ensure_eq(
            out.code,
            0,
            &format!("{step}: delete --force ({})", out.describe()),
        )?;
        ensure(
            proc_state(stopped).is_none_or(|s| s == 'Z') || stopped == staged.pid(),
            || format!("{step}: the stopped process {stopped} survived delete"),
        )?;
        nothing_left(ctx, &c, &cg).map_err(|e| format!("{step}: {e}"))?;
    }
    Ok(())
}

/// Stage 1 and the init share the channel to `create`: the init must report nothing before
/// stage 1 has sent its pid, or `create` fails without knowing the init and leaves it behind
/// (cella did, once in a few thousand lifecycles on a loaded machine: the init's "ready" came
/// first and it stayed blocked on the deleted exec FIFO in the container's cgroup). Stage 1 is
/// stopped right after forking the init (`stage1:init-forked`); the init must then block
/// reading a pipe, not the exec FIFO (which it reads only after "ready"), and `create` must
/// succeed once stage 1 goes on.
fn init_waits_for_its_pid(ctx: &Ctx) -> TestResult {
    const STEP: &str = "stage1:init-forked";
    let c = Ctn::new(ctx, "")?;
    let cg = ctx.new_cgroup_path("");
    let mut cfg = sh("true");
    cfg["linux"]["cgroupsPath"] = json!(cg);
    c.write_config(&cfg)?;
    let mut staged = Staged::spawn(&c, &[STEP])?;
    let mut stage1 = None;
    let reported = wait_until(Duration::from_secs(20), || {
        stage1 = fs::read_to_string(&staged.report)
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                let pid = w.next()?.parse::<i32>().ok()?;
                (w.next() == Some(STEP)).then_some(pid)
            });
        stage1.is_some_and(|p| proc_state(p) == Some('T'))
            || staged.child.try_wait().ok().flatten().is_some()
    });
    let Some(stage1) = stage1.filter(|_| reported) else {
        ensure(reported, || format!("create did not reach {STEP} in 20 s"))?;
        return Err(skip(NO_STOP_POINTS));
    };
    let me = staged.pid();
    let mut init = None;
    let mut blocked_on = None;
    let blocked = wait_until(Duration::from_secs(20), || {
        init = all_pids().into_iter().find(|&p| {
            p != stage1 && proc_ppid(p) == Some(me) && proc_state(p).is_some_and(|s| s != 'Z')
        });
        blocked_on = init.and_then(blocked_read_fd);
        blocked_on.is_some()
    });
    ensure(blocked, || {
        format!("the init ({init:?}) never blocked in read(2) while stage 1 was stopped")
    })?;
    let target = blocked_on.unwrap_or_default();
    ensure(target.starts_with("pipe:"), || {
        format!(
            "while stage 1 had not yet sent the init's pid, the init read {target}: it was at \
             \"ready\" already"
        )
    })?;
    staged.cont(stage1);
    let out = staged.finish()?;
    ensure_eq(out.code, 0, &format!("create ({})", out.describe()))?;
    let out = ctx.rt(&["delete", "--force", &c.id])?;
    ensure_eq(out.code, 0, &format!("delete --force ({})", out.describe()))?;
    nothing_left(ctx, &c, &cg)
}

/// When `pid` sleeps in read(2) (`/proc/<pid>/syscall`): what its fd is (`/proc/<pid>/fd/N`).
fn blocked_read_fd(pid: i32) -> Option<String> {
    if proc_state(pid) != Some('S') {
        return None;
    }
    let text = fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    let mut f = text.split_whitespace();
    if f.next()?.parse::<i64>().ok()? != libc::SYS_read {
        return None;
    }
    let fd = i64::from_str_radix(f.next()?.trim_start_matches("0x"), 16).ok()?;
    fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .ok()
        .map(|p| p.display().to_string())
}

/// Whether `/proc/locks` shows `pid` blocked waiting for a lock (`->` lines).
fn blocked_on_lock(pid: u32) -> bool {
    fs::read_to_string("/proc/locks")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains("->") && l.split_whitespace().any(|w| w == pid.to_string()))
}

/// Per-id locking: while `create` of A is stopped holding A's lock, `delete --force A` waits
/// for the lock (it shows as a blocked request in `/proc/locks`) and `state A` still answers
/// `creating`; meanwhile a whole lifecycle of B runs to its end (a global lock would hang it).
/// Once create is killed, the waiting delete removes everything A had.
fn lock_serializes_one_id(ctx: &Ctx) -> TestResult {
    let a = Ctn::new(ctx, "a")?;
    let cg = ctx.new_cgroup_path("-a");
    let mut cfg = sh("sleep 1000");
    cfg["linux"]["cgroupsPath"] = json!(cg);
    a.write_config(&cfg)?;
    let mut staged = Staged::spawn(&a, &["create:cgroup-made"])?;
    if staged.wait_step("create:cgroup-made")?.is_none() {
        return Err(skip(NO_STOP_POINTS));
    }
    let del_out = ctx.work.join(format!(".{}.delete", a.id));
    let mut delete = ctx
        .runtime_cmd(&["delete", "--force", &a.id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&del_out).map_err(|e| format!("scratch: {e}"))?)
        .spawn()
        .map_err(|e| format!("spawn delete: {e}"))?;
    let waiting = wait_until(Duration::from_secs(10), || blocked_on_lock(delete.id()));
    let still_running = delete.try_wait().ok().flatten().is_none();
    let result = (|| {
        ensure(waiting && still_running, || {
            format!(
                "delete did not wait for the lock held by create (running: {still_running}, \
                 /proc/locks: {})",
                fs::read_to_string("/proc/locks").unwrap_or_default()
            )
        })?;
        ensure_eq(
            status_of(ctx, &a.id)?.as_str(),
            "creating",
            "state of A meanwhile",
        )?;
        let b = Ctn::new(ctx, "b")?;
        let out = run_in(&b, &sh("echo b-ran"))?;
        ensure(out.code == 0 && out.stdout.contains("b-ran"), || {
            format!(
                "a lifecycle of another id did not complete: {}",
                out.describe()
            )
        })
    })();
    staged.kill();
    let start = Instant::now();
    let code = loop {
        if let Some(st) = delete.try_wait().map_err(|e| format!("wait: {e}"))? {
            break crate::harness::status_code(st);
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = delete.kill();
            let _ = delete.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let err = fs::read_to_string(&del_out).unwrap_or_default();
    let _ = fs::remove_file(&del_out);
    result?;
    ensure_eq(code, 0, &format!("the waiting delete (stderr: {err})"))?;
    nothing_left(ctx, &a, &cg)
}

const O_CLOEXEC: u64 = 0o2000000;

/// The `flags:` of `/proc/<pid>/fdinfo/<fd>` (octal), and the fd's target.
fn fd_flags(pid: &str, fd: u32) -> Option<(u64, String)> {
    let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 8).ok())?;
    let target = fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    Some((flags, target))
}

/// The runtime's own fds are all close-on-exec: at each stop point of `create`, every fd of
/// the stopped `create` above stdio has `O_CLOEXEC` in `/proc/<pid>/fdinfo/N`, but those it
/// inherited from the test (the same fd, target and no `O_CLOEXEC` in the test itself: a
/// caller's fds are the caller's business). The init's steps are left out: its fds are the
/// container's to keep until `execve`, and the runtime's are closed right after fork.
fn runtime_fds_cloexec(ctx: &Ctx) -> TestResult {
    for (i, step) in CREATE_STEPS.iter().enumerate() {
        if step.starts_with("init:") {
            continue;
        }
        let c = Ctn::new(ctx, &format!("s{i}"))?;
        let mut cfg = sh("true");
        cfg["hooks"] = json!({"createRuntime": [sh_hook("true")]});
        c.write_config(&cfg)?;
        let mut staged = Staged::spawn(&c, &[step])?;
        let Some(pid) = staged.wait_step(step)? else {
            if i == 0 {
                return Err(skip(NO_STOP_POINTS));
            }
            return Err(format!("create ended without reaching {step}"));
        };
        let mut bad = Vec::new();
        let dir = format!("/proc/{pid}/fdinfo");
        let pid_s = pid.to_string();
        for e in fs::read_dir(&dir)
            .map_err(|e| format!("{dir}: {e}"))?
            .flatten()
        {
            let n: u32 = e.file_name().to_string_lossy().parse().unwrap_or(0);
            if n < 3 {
                continue;
            }
            let Some((flags, target)) = fd_flags(&pid_s, n) else {
                continue;
            };
            let inherited =
                fd_flags("self", n).is_some_and(|(f, t)| f & O_CLOEXEC == 0 && t == target);
            if flags & O_CLOEXEC == 0 && !inherited {
                bad.push(format!("fd {n} -> {target}"));
            }
        }
        staged.kill();
        ensure(bad.is_empty(), || {
            format!("{step}: fds of the runtime without O_CLOEXEC: {bad:?}")
        })?;
    }
    Ok(())
}

/// The state directory is the runtime's alone (`0700`, so no other user can read the state or
/// open the exec FIFO), and `state.json` is replaced atomically: no temporary file is left
/// beside it and it is never world-readable.
fn state_dir_private_and_atomic(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("sleep 1000"))?;
    c.create_ok()?;
    let dir = ctx.root.join(&c.id);
    let mode = fs::metadata(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .permissions()
        .mode();
    ensure_eq(
        format!("{:o}", mode & 0o777),
        "700".to_string(),
        "state directory mode",
    )?;
    c.start_ok()?;
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    ensure(names.iter().all(|n| !n.contains("tmp")), || {
        format!("temporary files left in the state directory: {names:?}")
    })?;
    for n in &names {
        let m = fs::metadata(dir.join(n)).map_err(|e| format!("{n}: {e}"))?;
        ensure(m.permissions().mode() & 0o004 == 0, || {
            format!("{n} is world-readable ({:o})", m.permissions().mode())
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Oversized inputs

/// `create` with `cfg` written as config.json must fail with exit 1 and leave nothing; the
/// error must mention `what` (under `--check-messages`). Returns how long it took.
fn refused_quickly(ctx: &Ctx, c: &Ctn, text: &str, what: &str) -> Result<Duration, String> {
    fs::write(c.bundle.join("config.json"), text).map_err(|e| format!("config.json: {e}"))?;
    let start = Instant::now();
    let out = c.create(&[])?;
    let took = start.elapsed();
    ensure(out.code != 0, || {
        format!(
            "create succeeded with an oversized config ({})",
            out.describe()
        )
    })?;
    if ctx.check_messages {
        ensure(out.stderr.contains(what), || {
            format!("the error does not mention {what:?}: {}", out.describe())
        })?;
    }
    ensure(!ctx.root.join(&c.id).exists(), || {
        "a state directory was left".to_string()
    })?;
    println!("# {}: refused in {} ms", ctx.current(), took.as_millis());
    Ok(took)
}

/// A 100 MB `config.json` (a valid config with a 100 MB annotation) gets a clear error (the
/// size limit) without being read whole into memory and parsed.
fn oversized_config(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("true");
    cfg["annotations"] = json!({"big": "PAD"});
    let text = serde_json::to_string(&cfg).map_err(|e| e.to_string())?;
    let text = text.replace("PAD", &"x".repeat(100 * 1024 * 1024));
    refused_quickly(ctx, &c, &text, "config.json")?;
    Ok(())
}

/// A config with 100,000 mounts gets a clear error naming `mounts` (the count limit), not a
/// container that takes minutes to set up.
fn too_many_mounts(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("true");
    let list = cfg["mounts"].as_array_mut().ok_or("mounts")?;
    for i in 0..100_000 {
        list.push(json!({"destination": format!("/m/{i}"), "type": "tmpfs", "source": "tmpfs"}));
    }
    let text = serde_json::to_string(&cfg).map_err(|e| e.to_string())?;
    refused_quickly(ctx, &c, &text, "mounts")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Leaks

/// How many lifecycles `lifecycles_leak_nothing` runs: 1000, or `SPEC_TESTS_LIFECYCLES`.
fn lifecycle_count() -> u32 {
    std::env::var("SPEC_TESTS_LIFECYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// 1,000 sequential lifecycles (`create`, `start`, the container exits, `delete`) leave the
/// mount table, the cgroup tree, the caller's fds and the process table as they were. The
/// loop runs in a shell in a private mount namespace (`unshare --mount --propagation
/// private`): the runtime's mounts land there exactly as on the host, while mounts other
/// users of this machine make meanwhile stay out, so its mount table before and after must be
/// equal line for line. The caller's fd count (the shell's, counted by its own glob: `ls
/// /proc/$$/fd | wc -l` would race with the shell closing the pipe it made for `wc`, and saw
/// 7 fds before and 5 after once) must not change, every container
/// sees the same fds (a runtime fd leaking into containers would show as a growing count),
/// and afterwards no process, cgroup directory or mount of the containers is left.
fn lifecycles_leak_nothing(ctx: &Ctx) -> TestResult {
    let n = lifecycle_count();
    let c = Ctn::new(ctx, "")?;
    let cg = ctx.new_cgroup_path("");
    let mut cfg = sh("ls /proc/self/fd | wc -l");
    cfg["linux"]["cgroupsPath"] = json!(cg);
    c.write_config(&cfg)?;
    let before = c.bundle.join("mounts.before");
    let after = c.bundle.join("mounts.after");
    let fds = c.bundle.join("fds");
    let script = format!(
        "set -e; cat /proc/self/mountinfo > '{before}'; set -- /proc/$$/fd/*; echo $# > '{fds}'; \
         i=0; while [ $i -lt {n} ]; do \
           \"$0\" {g}--root '{root}' create --bundle '{bundle}' '{id}'; \
           \"$0\" {g}--root '{root}' start '{id}'; \
           j=0; while [ \"$(\"$0\" {g}--root '{root}' state '{id}' | grep -c stopped)\" = 0 ]; do \
             j=$((j+1)); [ $j -lt 5000 ] || exit 3; done; \
           \"$0\" {g}--root '{root}' delete '{id}'; \
           i=$((i+1)); done; \
         set -- /proc/$$/fd/*; echo $# >> '{fds}'; cat /proc/self/mountinfo > '{after}'",
        g = if ctx.systemd { "--systemd-cgroup " } else { "" },
        before = before.display(),
        after = after.display(),
        fds = fds.display(),
        root = ctx.root.display(),
        bundle = c.bundle.display(),
        id = c.id,
    );
    let log = c.bundle.join("lifecycles.out");
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .arg(&ctx.runtime)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?)
        .stderr(Stdio::piped());
    let start = Instant::now();
    let res = cmd.output().map_err(|e| format!("unshare: {e}"))?;
    let took = start.elapsed();
    println!(
        "# {}: {n} lifecycles in {:.1} s ({:.1} ms each)",
        ctx.current(),
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / f64::from(n.max(1))
    );
    ensure(res.status.success(), || {
        format!(
            "the lifecycle loop failed ({}): {}",
            res.status,
            String::from_utf8_lossy(&res.stderr).trim()
        )
    })?;
    let read = |p: &Path| fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let (b, a) = (read(&before)?, read(&after)?);
    if a != b {
        let bl: BTreeSet<&str> = b.lines().collect();
        let al: BTreeSet<&str> = a.lines().collect();
        return Err(format!(
            "the mount table changed: new {:?}, gone {:?}",
            al.difference(&bl).collect::<Vec<_>>(),
            bl.difference(&al).collect::<Vec<_>>()
        ));
    }
    let counts: Vec<String> = read(&fds)?.lines().map(String::from).collect();
    ensure(counts.len() == 2 && counts[0] == counts[1], || {
        format!("the caller's fd count changed: {counts:?}")
    })?;
    let seen: BTreeSet<String> = read(&log)?.lines().map(|l| l.trim().to_string()).collect();
    ensure(seen.len() == 1, || {
        format!("the containers saw different fd counts: {seen:?}")
    })?;
    nothing_left(ctx, &c, &cg)
}

/// The init of a created container is a copy of the runtime inside the container's pid
/// namespace until `start`: it must be non-dumpable, like runc's `runc init` and like an
/// exec'd process, so that the container cannot ptrace it, read its memory or take its fds
/// and `/proc/<pid>/exe` (runc CVE-2016-9962, CVE-2019-5736). Observed from a process exec'd
/// into the created container as root without CAP_SYS_PTRACE (Docker's default capabilities):
/// `/proc/1/environ` of a dumpable root process is readable, of a non-dumpable one it is not.
/// The init runs as root here: a switch to another uid would make it non-dumpable anyway
/// (`fs.suid_dumpable` 0). After `start` the program is a normal, dumpable process.
fn init_non_dumpable_until_exec(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("sleep 1000"))?;
    c.create_ok()?;
    let probe = "cat /proc/1/environ >/dev/null 2>&1 && echo readable || echo denied";
    let read = |when: &str| -> Result<String, String> {
        let out = ctx.rt_ok(&["exec", &c.id, "sh", "-c", probe])?;
        Ok(format!("{when}: {}", out.stdout.trim()))
    };
    ensure_eq(
        read("before start")?,
        "before start: denied".into(),
        "/proc/1/environ",
    )?;
    c.start_ok()?;
    ensure_eq(
        read("after start")?,
        "after start: readable".into(),
        "/proc/1/environ",
    )
}

/// A pid in the state file that now names another process (the init died and its number was
/// reused) is never signalled: the runtime compares the process's start time with the one it
/// recorded. The test kills a created container's init behind the runtime's back, starts a
/// process of its own and writes its pid into the state file in place of the init's, leaving
/// the recorded start time as it was (cella's `pid`/`start_time`, runc's
/// `init_process_pid`/`init_process_start`). `state` must say stopped, and `kill`, `kill --all`
/// and `delete --force` must leave that process alive.
fn recycled_pid_not_signalled(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("sleep 1000"))?;
    c.create_ok()?;
    let init = c.pid()?;
    run_host(&["kill", "-KILL", &init.to_string()])?;
    wait_until(
        Duration::from_secs(5),
        || !matches!(proc_state(init), Some(s) if s != 'Z'),
    );
    let mut other = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .map_err(|e| format!("spawn sleep: {e}"))?;
    let result = (|| {
        let file = ctx.root.join(&c.id).join("state.json");
        let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut state: Value =
            serde_json::from_str(&text).map_err(|e| format!("state.json: {e}"))?;
        let key = ["pid", "init_process_pid"]
            .into_iter()
            .find(|k| state.get(*k).is_some_and(Value::is_number))
            .ok_or("state.json has no pid field this test knows (pid, init_process_pid)")?;
        state[key] = json!(other.id());
        write_file(&file, &state.to_string())?;
        let status = c.status()?;
        ensure_eq(
            status.as_str(),
            "stopped",
            "status with a recycled init pid",
        )?;
        let _ = ctx.rt(&["kill", &c.id, "KILL"])?;
        let _ = ctx.rt(&["kill", "--all", &c.id, "KILL"])?;
        let _ = ctx.rt(&["delete", "--force", &c.id])?;
        ensure(matches!(other.try_wait(), Ok(None)), || {
            format!(
                "process {} (the recycled pid) was killed by the runtime",
                other.id()
            )
        })
    })();
    let _ = other.kill();
    let _ = other.wait();
    result
}

/// An exec'd process gets exactly its supplementary groups, whatever the container did to its
/// `/proc`: a container with CAP_SYS_ADMIN mounts a tmpfs over `/proc` whose `self/setgroups`
/// says `deny`. A runtime that reads that file from the joined mount namespace believes
/// setgroups(2) is forbidden, skips it, and the process keeps the runtime's own groups (the
/// test gives the runtime group 4242). Read from the host: `Groups:` of the
/// exec'd process must be empty (the process asks for none).
fn exec_setgroups_not_read_from_container(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut caps: Vec<&str> = DEFAULT_CAPS.to_vec();
    caps.push("CAP_SYS_ADMIN");
    let mut cfg = sh("mount -t tmpfs st-fake /proc && mkdir -p /proc/self && \
                      echo deny > /proc/self/setgroups && touch /proc/ready; sleep 1000");
    set_caps(&mut cfg, &caps);
    c.write_config(&cfg)?;
    c.start_new()?;
    let init = c.pid()?;
    let ready = PathBuf::from(format!("/proc/{init}/root/proc/ready"));
    ensure(
        wait_until(Duration::from_secs(10), || ready.exists()),
        || "the container did not mount its fake /proc".to_string(),
    )?;
    let pidfile = c.bundle.join("exec.pid");
    let pid_s = pidfile.to_string_lossy().into_owned();
    let mut cmd = ctx.runtime_cmd(&["exec", "-d", "--pid-file", &pid_s, &c.id, "sleep", "1000"]);
    // SAFETY: the closure runs in the forked child before exec and only makes the
    // setgroups(2) syscall on a slice that lives in its copy of memory: no allocation, no
    // lock.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            nix::unistd::setgroups(&[nix::unistd::Gid::from_raw(4242)])
                .map_err(std::io::Error::from)
        });
    }
    let out = ctx.exec(cmd, None)?;
    ensure_eq(
        out.code,
        0,
        &format!("exec with supplementary group 4242 ({})", out.describe()),
    )?;
    let pid = fs::read_to_string(&pidfile).map_err(|e| format!("pid file: {e}"))?;
    let status = fs::read_to_string(format!("/proc/{}/status", pid.trim()))
        .map_err(|e| format!("status of {}: {e}", pid.trim()))?;
    let groups = status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(str::trim)
        .unwrap_or_default();
    ensure_eq(groups, "", "supplementary groups of the exec'd process")
}
