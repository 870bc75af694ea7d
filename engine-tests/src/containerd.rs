//! containerd 1.6 with its runc shim (`io.containerd.runc.v2`), driven by
//! `ctr` with `--runc-binary <runtime>`: a private instance (own root, state
//! and sockets, CRI disabled), started here and stopped by pid.
//!
//! The shim calls the runtime as containerd always does:
//! `--root <runc-root> --log <bundle>/log.json --log-format json create ...`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::cmd::{wait_until, Cmd, Daemon, Out};
use crate::env::{
    cgroup_dir, cgroup_file, cgroup_of, contains, ensure, ensure_eq, expect_cpu_quota,
    freezer_state, proc_alive, wait_gone, CgroupParent, Env, TestResult,
};
use crate::image;
use crate::systemd;
use crate::tmux::shell_round;
use crate::{Tap, Test};

pub struct Containerd<'a> {
    pub env: &'a Env,
    dir: PathBuf,
    socket: PathBuf,
    /// The containerd namespace, which also names the cgroups (`/<ns>/<id>`).
    ns: String,
    /// Where the runtime keeps its state for the shim: `--runc-root` plus
    /// the namespace, which the shim appends.
    runc_root: PathBuf,
    /// cgroupfs: `/<ns>`, where the cgroups `/<ns>/<id>` of containerd's
    /// default go; systemd: the slice ctr's `--cgroup <slice>:ctr:<id>`
    /// names (the scope `ctr-<id>.scope`).
    parent: CgroupParent,
    _daemon: Daemon,
}

/// The prefix of ctr's scope units (`--cgroup <slice>:ctr:<id>`).
const SCOPE_PREFIX: &str = "ctr";

fn tests<'a>() -> Vec<Test<Containerd<'a>>> {
    vec![
        ("run_rm_exit_code", run_rm_exit_code),
        ("run_detached", run_detached),
        ("exec", exec),
        ("exec_tty", exec_tty),
        ("ps", ps),
        ("pause_resume", pause_resume),
        ("kill_delete", kill_delete),
        ("run_tty", run_tty),
        ("limits", limits),
        (
            "create_failure_shows_runtime_error",
            create_failure_shows_runtime_error,
        ),
    ]
}

pub fn names() -> Vec<&'static str> {
    tests().iter().map(|(n, _)| *n).collect()
}

pub fn run(env: &Env, tap: &mut Tap) {
    tap.group("containerd", &tests(), || Containerd::start(env));
}

/// A private containerd: `dir` holds its root, state, sockets and log;
/// `cri` adds the CRI plugin's section (or disables the plugin when `None`).
pub fn start_daemon(
    env: &Env,
    dir: &std::path::Path,
    cri: Option<&str>,
) -> Result<(Daemon, PathBuf), String> {
    let socket = dir.join("containerd.sock");
    let mut config = format!(
        "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
         [grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n\
         [debug]\n  address = \"{d}/debug.sock\"\n",
        d = dir.display(),
        s = socket.display()
    );
    match cri {
        None => config = format!("disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n{config}"),
        Some(section) => config.push_str(section),
    }
    let conf = dir.join("config.toml");
    std::fs::write(&conf, config).map_err(|e| format!("{}: {e}", conf.display()))?;
    let mut cmd = Command::new("containerd");
    cmd.arg("--config").arg(&conf);
    let mut daemon = Daemon::start("containerd", cmd, dir.join("containerd.log"))?;
    let ready = wait_until(Duration::from_secs(30), || {
        socket.exists()
            && env
                .run(Cmd::new("ctr").arg("--address").arg(&socket).arg("version"))
                .map(|o| o.code == 0)
                .unwrap_or(false)
    });
    daemon.check_alive()?;
    if !ready {
        return Err(format!(
            "containerd did not answer on {}:\n{}",
            socket.display(),
            daemon.log_tail(20)
        ));
    }
    Ok((daemon, socket))
}

impl<'a> Containerd<'a> {
    fn start(env: &'a Env) -> Result<Containerd<'a>, String> {
        let dir = env.dir("containerd")?;
        let (daemon, socket) = start_daemon(env, &dir, None)?;
        let c = Containerd {
            env,
            runc_root: dir.join("runc-root").join(&env.prefix),
            dir,
            socket,
            ns: env.prefix.clone(),
            parent: if env.systemd {
                env.cgroup_parent("ctr")
            } else {
                CgroupParent {
                    arg: env.prefix.clone(),
                    path: format!("/{}", env.prefix),
                    slice: None,
                }
            },
            _daemon: daemon,
        };
        let tar = image::archive(env, &image::BUSYBOX)?;
        env.run_ok(c.ctr().args(["image", "import"]).arg(tar))?;
        Ok(c)
    }

    fn ctr(&self) -> Cmd {
        Cmd::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .arg("--namespace")
            .arg(&self.ns)
    }

    /// `ctr run` through the runtime under test.
    fn run_cmd(&self, extra: &[&str], id: &str, argv: &[&str]) -> Cmd {
        self.ctr()
            .arg("run")
            .args(self.run_opts(id))
            .args(extra)
            .arg(image::reference(image::BUSYBOX.name))
            .arg(id)
            .args(argv)
    }

    /// The options of every `ctr run`: the runtime, its root, the fifo
    /// directory and, under the systemd driver, `--runc-systemd-cgroup`
    /// (the shim passes `--systemd-cgroup` to the runtime) with a
    /// `slice:prefix:name` cgroup (containerd's default `/<ns>/<id>` is a
    /// cgroupfs path).
    fn run_opts(&self, id: &str) -> Vec<String> {
        let mut v = vec![
            "--runc-binary".to_string(),
            self.env.runtime.display().to_string(),
            "--runc-root".into(),
            self.runc_root
                .parent()
                .unwrap_or(&self.runc_root)
                .display()
                .to_string(),
            "--fifo-dir".into(),
            self.dir.join("fifo").display().to_string(),
        ];
        if let Some(slice) = &self.parent.slice {
            v.push("--runc-systemd-cgroup".into());
            v.push("--cgroup".into());
            v.push(format!("{slice}:{SCOPE_PREFIX}:{id}"));
        }
        v
    }

    /// Starts a detached container running `script`; returns its host pid.
    fn detached(&self, id: &str, extra: &[&str], script: &str) -> Result<Task<'_, 'a>, String> {
        let mut args = vec!["-d"];
        args.extend_from_slice(extra);
        self.env
            .run_ok(self.run_cmd(&args, id, &["sh", "-c", script]))?;
        let task = Task {
            c: self,
            id: id.to_string(),
        };
        let pid = task.pid()?;
        ensure(proc_alive(pid), || {
            format!("task {id} pid {pid} is not running")
        })?;
        Ok(task)
    }

    fn status(&self, id: &str) -> Result<(i32, String), String> {
        let out = self.env.run_ok(self.ctr().args(["task", "ls"]))?;
        out.stdout
            .lines()
            .skip(1)
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.first() == Some(&id)).then(|| (f[1].parse().unwrap_or(0), f[2].to_string()))
            })
            .ok_or_else(|| format!("task {id} not listed:\n{}", out.stdout))
    }

    fn wait_status(&self, id: &str, want: &str) -> TestResult {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(15), || {
            last = self.status(id).map(|(_, s)| s).unwrap_or_else(|e| e);
            last == want
        });
        ensure(ok, || format!("task {id}: status {last:?}, want {want}"))
    }

    fn id(&self, name: &str) -> String {
        format!("{name}-{}", self.env.runtime_name)
    }
}

impl Drop for Containerd<'_> {
    /// The runtime makes the namespace's parent cgroup (`/<ns>`) for the
    /// first container and, like runc, removes only each container's own.
    fn drop(&mut self) {
        self.env.remove_cgroup_parent(&self.parent, &[]);
    }
}

/// A detached task, deleted (killed first) when dropped.
struct Task<'c, 'a> {
    c: &'c Containerd<'a>,
    id: String,
}

impl Task<'_, '_> {
    fn pid(&self) -> Result<i32, String> {
        self.c.status(&self.id).map(|(p, _)| p)
    }

    fn exec(&self, exec_id: &str, extra: &[&str], argv: &[&str]) -> Result<Out, String> {
        self.c.env.run(
            self.c
                .ctr()
                .args(["task", "exec", "--exec-id", exec_id, "--fifo-dir"])
                .arg(self.c.dir.join("fifo"))
                .args(extra)
                .arg(&self.id)
                .args(argv),
        )
    }
}

impl Drop for Task<'_, '_> {
    fn drop(&mut self) {
        let env = self.c.env;
        if self.c.status(&self.id).is_err() {
            // Already deleted by the test.
            let _ = env.run(self.c.ctr().args(["container", "delete", &self.id]));
            return;
        }
        let _ = env.run(
            self.c
                .ctr()
                .args(["task", "kill", "-s", "SIGKILL", &self.id]),
        );
        let _ = self.c.wait_status(&self.id, "STOPPED");
        let _ = env.run(self.c.ctr().args(["task", "delete", &self.id]));
        let _ = env.run(self.c.ctr().args(["container", "delete", &self.id]));
    }
}

// ---------------------------------------------------------------------------------------------

/// `ctr run --rm`: the container's output reaches ctr's stdout, its exit
/// status is ctr's, and nothing is left in the runtime's state.
fn run_rm_exit_code(c: &Containerd) -> TestResult {
    let id = c.id("rm");
    let out = c
        .env
        .run(c.run_cmd(&["--rm"], &id, &["sh", "-c", "echo hello-ctr; exit 3"]))?;
    ensure_eq(out.code, 3, &format!("exit status ({})", out.describe()))?;
    contains(&out.stdout, "hello-ctr", "stdout")?;
    ensure_eq(
        c.env.runtime_ids(&c.runc_root)?.contains(&id),
        false,
        "runtime state after --rm",
    )
}

/// `ctr run -d`: the task runs, in the cgroup containerd asked for, and the
/// runtime reports it running.
fn run_detached(c: &Containerd) -> TestResult {
    let id = c.id("detached");
    let t = c.detached(&id, &[], "sleep 1000")?;
    let pid = t.pid()?;
    let cg = cgroup_of(pid, "memory")?;
    if c.env.systemd {
        systemd::check_scope(c.env, pid, &c.parent, SCOPE_PREFIX, &id)?;
    } else {
        ensure_eq(cg, format!("/{}/{id}", c.ns), "memory cgroup of the task")?;
    }
    let state = c
        .env
        .run_ok(c.env.runtime_cmd(&c.runc_root).args(["state", &id]))?;
    let v: serde_json::Value =
        serde_json::from_str(&state.stdout).map_err(|e| format!("state JSON: {e}"))?;
    ensure_eq(
        v["status"].as_str(),
        Some("running"),
        "runtime state status",
    )?;
    ensure_eq(v["pid"].as_i64(), Some(i64::from(pid)), "runtime state pid")
}

/// `ctr task exec`: output and exit status come back, the process runs in
/// the container's namespaces.
fn exec(c: &Containerd) -> TestResult {
    let t = c.detached(&c.id("exec"), &[], "echo $$ > /tmp/init-pid; sleep 1000")?;
    let out = t.exec(
        "e1",
        &[],
        &["sh", "-c", "echo in-exec; cat /tmp/init-pid; exit 5"],
    )?;
    ensure_eq(
        out.code,
        5,
        &format!("exec exit status ({})", out.describe()),
    )?;
    let lines: Vec<&str> = out.stdout.lines().collect();
    ensure_eq(
        lines,
        vec!["in-exec", "1"],
        "exec output (the init is pid 1 of the container)",
    )
}

/// `ctr task exec -t` in a real terminal: a pty of the terminal's size.
fn exec_tty(c: &Containerd) -> TestResult {
    let t = c.detached(&c.id("exectty"), &[], "sleep 1000")?;
    let cmd = format!(
        "ctr --address {} --namespace {} task exec -t --exec-id tty1 --fifo-dir {} {} sh",
        c.socket.display(),
        c.ns,
        c.dir.join("fifo").display(),
        t.id
    );
    shell_round(c.env, "ctr-exec", &cmd, 101, 27, 4)
}

/// `ctr task ps`: the init and an exec'd process, by host pid.
fn ps(c: &Containerd) -> TestResult {
    let t = c.detached(&c.id("ps"), &[], "sleep 1000")?;
    let init = t.pid()?;
    let out = t.exec("bg", &["--detach"], &["sleep", "999"])?;
    out.ok()?;
    let mut pids = Vec::new();
    let seen = wait_until(Duration::from_secs(10), || {
        pids = c
            .env
            .run(c.ctr().args(["task", "ps", &t.id]))
            .map(|o| {
                o.stdout
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_whitespace().next()?.parse::<i32>().ok())
                    .collect()
            })
            .unwrap_or_default();
        pids.len() == 2
    });
    ensure(seen && pids.contains(&init), || {
        format!("task ps: {pids:?}, want the init {init} and one more")
    })?;
    let other = pids.iter().find(|p| **p != init).copied().unwrap_or(0);
    let cmdline = std::fs::read_to_string(format!("/proc/{other}/cmdline")).unwrap_or_default();
    ensure_eq(
        cmdline.replace('\0', " ").trim(),
        "sleep 999",
        "the exec'd process",
    )
}

/// `ctr task pause/resume`: containerd's status and the host's freezer.
fn pause_resume(c: &Containerd) -> TestResult {
    let t = c.detached(&c.id("pause"), &[], "sleep 1000")?;
    let pid = t.pid()?;
    c.env.run_ok(c.ctr().args(["task", "pause", &t.id]))?;
    c.wait_status(&t.id, "PAUSED")?;
    ensure_eq(
        freezer_state(pid)?,
        "FROZEN".to_string(),
        "freezer state when paused",
    )?;
    c.env.run_ok(c.ctr().args(["task", "resume", &t.id]))?;
    c.wait_status(&t.id, "RUNNING")?;
    ensure_eq(
        freezer_state(pid)?,
        "THAWED".to_string(),
        "freezer state when resumed",
    )
}

/// `ctr task kill` delivers SIGTERM to a container that handles it; SIGKILL
/// ends one that does not; `task delete` reports the status and removes the
/// runtime's state, the cgroup and the process.
fn kill_delete(c: &Containerd) -> TestResult {
    let id = c.id("kill");
    let t = c.detached(
        &id,
        &[],
        "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    )?;
    let pid = t.pid()?;
    let cg = cgroup_of(pid, "pids")?;
    let unit = systemd::unit_if_systemd(c.env, pid)?;
    c.env.run_ok(c.ctr().args(["task", "kill", &id]))?;
    c.wait_status(&id, "STOPPED")?;
    let del = c.env.run_ok(c.ctr().args(["task", "delete", &id]))?;
    ensure(!del.stderr.contains("exit code"), || {
        format!("a clean SIGTERM exit reported: {}", del.stderr)
    })?;

    let id2 = c.id("kill9");
    let t2 = c.detached(&id2, &[], "sleep 1000")?;
    let pid2 = t2.pid()?;
    c.env
        .run_ok(c.ctr().args(["task", "kill", "-s", "SIGKILL", &id2]))?;
    c.wait_status(&id2, "STOPPED")?;
    let del = c.env.run_ok(c.ctr().args(["task", "delete", &id2]))?;
    contains(&del.stderr, "exit code 137", "task delete after SIGKILL")?;
    for (p, i) in [(pid, &id), (pid2, &id2)] {
        wait_gone(p, Duration::from_secs(10))?;
        ensure(!c.env.runtime_ids(&c.runc_root)?.contains(i), || {
            format!("runtime still lists {i}")
        })?;
    }
    let dir = cgroup_dir(&cg, "pids");
    ensure(!dir.exists(), || {
        format!("{} is left after delete", dir.display())
    })?;
    systemd::unit_gone(c.env, unit.as_deref())
}

/// `ctr run -t` in a real terminal: the size follows the terminal, the exit
/// status comes back.
fn run_tty(c: &Containerd) -> TestResult {
    let id = c.id("tty");
    let cmd = format!(
        "ctr --address {} --namespace {} run -t --rm {} {} {id} sh",
        c.socket.display(),
        c.ns,
        c.run_opts(&id).join(" "),
        image::reference(image::BUSYBOX.name)
    );
    shell_round(c.env, "ctr-run", &cmd, 97, 23, 6)
}

/// Limits given to `ctr run` land in the container's cgroup.
fn limits(c: &Containerd) -> TestResult {
    let t = c.detached(
        &c.id("limits"),
        &["--memory-limit", "67108864", "--cpus", "0.5"],
        "sleep 1000",
    )?;
    let pid = t.pid()?;
    ensure_eq(
        cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")?,
        "67108864".to_string(),
        "memory limit",
    )?;
    expect_cpu_quota(pid, 50000, "at create")?;
    systemd::unit_has(
        c.env,
        pid,
        &[("MemoryMax", "67108864"), ("CPUQuotaPerSecUSec", "500ms")],
    )
}

/// A create that fails: containerd shows the runtime's own error message,
/// which its shim reads from `<bundle>/log.json` (the runtime's JSON log).
fn create_failure_shows_runtime_error(c: &Containerd) -> TestResult {
    let id = c.id("fail");
    let out = c
        .env
        .run(c.run_cmd(&["--rm"], &id, &["/no/such/program"]))?;
    ensure(out.code != 0, || {
        format!("a missing program ran: {}", out.describe())
    })?;
    contains(&out.stderr, "OCI runtime create failed", "ctr's error")?;
    contains(
        &out.stderr,
        "/no/such/program",
        "ctr's error (from the runtime's log.json)",
    )?;
    contains(
        &out.stderr,
        "no such file or directory",
        "ctr's error (the errno)",
    )?;
    let _ = c.env.run(c.ctr().args(["container", "delete", &id]));
    ensure(!c.env.runtime_ids(&c.runc_root)?.contains(&id), || {
        "a failed create left runtime state".into()
    })?;
    let leftover = crate::env::cgroup_dirs_with(&id);
    ensure(leftover.is_empty(), || {
        format!("a failed create left cgroups {leftover:?}")
    })?;
    if c.env.systemd {
        systemd::unit_gone(c.env, Some(&format!("{SCOPE_PREFIX}-{id}.scope")))?;
    }
    Ok(())
}
