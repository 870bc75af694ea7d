//! dockerd 20.10 (Debian's docker.io) with the runtime under test as its
//! default runtime (`runtimes` and `default-runtime` in its daemon.json), on a
//! containerd of its own: data root, exec root,
//! socket, pid file and daemon config under the work dir; no iptables, no
//! bridge (the host's network stays as it is). dockerd reaches the runtime
//! through containerd's runc shim, so this also covers `update` (`docker
//! update` → the shim's `update --resources -`).

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

/// The prefix of dockerd's scope units (`<slice>:docker:<id>`).
const SCOPE_PREFIX: &str = "docker";

/// Debian's client: the one that matches the daemon's API.
const DOCKER: &str = "/usr/bin/docker";

pub struct Docker<'a> {
    env: &'a Env,
    dir: PathBuf,
    socket: PathBuf,
    /// The runtime's `--root`: dockerd's exec root, `runtime-runc` (for every runtime), and the
    /// containerd namespace `moby`, which the shim appends.
    runtime_root: PathBuf,
    /// dockerd's `--cgroup-parent`: a cgroup path (cgroupfs) or a slice
    /// (systemd: the containers' scopes are `docker-<id>.scope`).
    parent: CgroupParent,
    image: String,
    // Field order is drop order: dockerd stops before its containerd.
    _dockerd: Daemon,
    _containerd: Daemon,
}

fn tests<'a>() -> Vec<Test<Docker<'a>>> {
    vec![
        ("run_rm_exit_code", run_rm_exit_code),
        ("missing_program", missing_program),
        ("run_detached_exec_logs", run_detached_exec_logs),
        ("exec_tty", exec_tty),
        ("run_tty", run_tty),
        ("pause_unpause", pause_unpause),
        ("stop_rm", stop_rm),
        ("limits_and_update", limits_and_update),
    ]
}

pub fn names() -> Vec<&'static str> {
    tests().iter().map(|(n, _)| *n).collect()
}

pub fn run(env: &Env, tap: &mut Tap) {
    tap.group("docker", &tests(), || Docker::start(env));
}

impl<'a> Docker<'a> {
    fn start(env: &'a Env) -> Result<Docker<'a>, String> {
        let dir = env.dir("docker")?;
        let ctrd_dir = env.dir("docker/containerd")?;
        let (containerd, ctrd_socket) = crate::containerd::start_daemon(env, &ctrd_dir, None)?;
        let socket = dir.join("docker.sock");
        let daemon_json = dir.join("daemon.json");
        // The runtime as an operator would add it: daemon.json's `runtimes`
        // and `default-runtime` (the same as `--add-runtime`).
        let config = serde_json::json!({
            "runtimes": {"rt": {"path": env.runtime}},
            "default-runtime": "rt",
        });
        std::fs::write(&daemon_json, config.to_string()).map_err(|e| e.to_string())?;
        let parent = env.cgroup_parent("docker");
        let driver = if env.systemd { "systemd" } else { "cgroupfs" };
        let mut cmd = Command::new("dockerd");
        cmd.arg("--config-file")
            .arg(&daemon_json)
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .arg("--containerd")
            .arg(&ctrd_socket)
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--ip-forward=false",
                "--ip-masq=false",
            ])
            .args(["--default-ulimit", "nofile=4096:4096"])
            .arg("--exec-opt")
            .arg(format!("native.cgroupdriver={driver}"))
            .arg("--cgroup-parent")
            .arg(&parent.arg);
        let mut dockerd = Daemon::start("dockerd", cmd, dir.join("dockerd.log"))?;
        let version = || {
            Cmd::new(DOCKER)
                .arg("-H")
                .arg(format!("unix://{}", socket.display()))
                .arg("version")
                .env("DOCKER_CONFIG", dir.join("cli"))
        };
        let ready = wait_until(Duration::from_secs(60), || {
            socket.exists() && env.run(version()).map(|o| o.code == 0).unwrap_or(false)
        });
        dockerd.check_alive()?;
        if !ready {
            return Err(format!("dockerd did not answer:\n{}", dockerd.log_tail(20)));
        }
        let d = Docker {
            env,
            runtime_root: dir.join("exec/runtime-runc/moby"),
            dir,
            socket,
            parent,
            image: image::reference(image::BUSYBOX.name),
            _dockerd: dockerd,
            _containerd: containerd,
        };
        let tar = image::archive(env, &image::BUSYBOX)?;
        env.run_ok(d.docker(&["load", "-i"]).arg(tar))?;
        Ok(d)
    }

    fn docker(&self, args: &[&str]) -> Cmd {
        Cmd::new(DOCKER)
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .env("DOCKER_CONFIG", self.dir.join("cli"))
    }

    fn shell_line(&self, args: &[&str]) -> String {
        format!(
            "DOCKER_CONFIG={} {DOCKER} -H unix://{} {}",
            self.dir.join("cli").display(),
            self.socket.display(),
            args.join(" ")
        )
    }

    /// `docker run OPTS...`: engine defaults (docker-default where
    /// AppArmor is on).
    fn run(&self, opts: &[&str]) -> Cmd {
        self.docker(&["run"]).args(opts)
    }

    fn name(&self, n: &str) -> String {
        format!("{n}-{}", self.env.runtime_name)
    }

    fn detached(&self, name: &str, opts: &[&str], script: &str) -> Result<Ctr<'_, 'a>, String> {
        let name = self.name(name);
        let out = self.env.run_ok(
            self.run(&["-d", "--name", &name])
                .args(opts)
                .arg(&self.image)
                .args(["sh", "-c", script]),
        )?;
        let c = Ctr {
            d: self,
            name,
            id: out.stdout.trim().to_string(),
        };
        let pid = c.pid()?;
        ensure(proc_alive(pid), || {
            format!("{} pid {pid} is not running", c.name)
        })?;
        Ok(c)
    }

    fn inspect(&self, name: &str, format: &str) -> Result<String, String> {
        Ok(self
            .env
            .run_ok(self.docker(&["inspect", "--format", format, name]))?
            .stdout
            .trim()
            .to_string())
    }
}

impl Drop for Docker<'_> {
    fn drop(&mut self) {
        if let Ok(out) = self.env.run(self.docker(&["ps", "-a", "-q"])) {
            for id in out.stdout.split_whitespace() {
                let _ = self.env.run(self.docker(&["rm", "-f", id]));
            }
        }
        self.env.remove_cgroup_parent(&self.parent, &[]);
    }
}

struct Ctr<'d, 'a> {
    d: &'d Docker<'a>,
    name: String,
    id: String,
}

impl Ctr<'_, '_> {
    fn pid(&self) -> Result<i32, String> {
        let s = self.d.inspect(&self.name, "{{.State.Pid}}")?;
        s.parse().map_err(|_| format!("State.Pid {s:?}"))
    }

    fn exec(&self, argv: &[&str]) -> Result<Out, String> {
        self.d
            .env
            .run(self.d.docker(&["exec", &self.name]).args(argv))
    }
}

impl Drop for Ctr<'_, '_> {
    fn drop(&mut self) {
        let _ = self.d.env.run(self.d.docker(&["rm", "-f", &self.name]));
    }
}

// ---------------------------------------------------------------------------------------------

/// `docker run --rm`: output and exit status through dockerd.
fn run_rm_exit_code(d: &Docker) -> TestResult {
    let out = d
        .env
        .run(d.run(&["--rm", "-e", "V=docker"]).arg(&d.image).args([
            "sh",
            "-c",
            "echo hi-$V; exit 4",
        ]))?;
    ensure_eq(out.code, 4, &format!("exit status ({})", out.describe()))?;
    ensure_eq(out.stdout.trim(), "hi-docker", "stdout")
}

/// A program that is not there: docker's 127, and the runtime's message
/// (from its JSON log, through the shim and dockerd).
fn missing_program(d: &Docker) -> TestResult {
    let out = d
        .env
        .run(d.run(&["--rm"]).arg(&d.image).arg("/no/such/program"))?;
    ensure_eq(out.code, 127, &format!("exit status ({})", out.describe()))?;
    contains(&out.stderr, "/no/such/program", "docker's error")?;
    contains(&out.stderr, "no such file or directory", "docker's error")
}

/// `run -d`, `exec`, `logs`, the runtime's state, the cgroup parent.
fn run_detached_exec_logs(d: &Docker) -> TestResult {
    let c = d.detached("det", &[], "echo to-logs; sleep 1000")?;
    let ex = c.exec(&[
        "sh",
        "-c",
        "echo from-exec; cat /proc/self/attr/current >&2; exit 6",
    ])?;
    ensure_eq(ex.code, 6, &format!("exec status ({})", ex.describe()))?;
    ensure_eq(ex.stdout.trim(), "from-exec", "exec output")?;
    d.env
        .expect_apparmor(&ex.stderr, "docker-default", "docker exec")?;
    let mut logs = String::new();
    ensure(
        wait_until(Duration::from_secs(10), || {
            logs = d
                .env
                .run(d.docker(&["logs", &c.name]))
                .map(|o| o.stdout)
                .unwrap_or_default();
            logs.contains("to-logs")
        }),
        || format!("docker logs: {logs:?}"),
    )?;
    let pid = c.pid()?;
    d.env
        .expect_apparmor_of(pid, "docker-default", "docker run")?;
    let cg = cgroup_of(pid, "memory")?;
    ensure(cg.starts_with(&format!("{}/", d.parent.path)), || {
        format!("cgroup {cg}")
    })?;
    systemd::check_scope(d.env, pid, &d.parent, SCOPE_PREFIX, &c.id)?;
    let state = d
        .env
        .run_ok(d.env.runtime_cmd(&d.runtime_root).args(["state", &c.id]))?;
    contains(&state.stdout, "\"running\"", "the runtime's state")
}

/// `docker exec -it` in a real terminal.
fn exec_tty(d: &Docker) -> TestResult {
    let c = d.detached("exectty", &[], "sleep 1000")?;
    let line = d.shell_line(&["exec", "-it", &c.name, "sh"]);
    shell_round(d.env, "docker-exec", &line, 89, 21, 2)
}

/// `docker run -it --rm` in a real terminal.
fn run_tty(d: &Docker) -> TestResult {
    let args = ["run", "-it", "--rm", d.image.as_str(), "sh"];
    let line = d.shell_line(&args);
    shell_round(d.env, "docker-run", &line, 93, 25, 8)
}

fn pause_unpause(d: &Docker) -> TestResult {
    let c = d.detached("pause", &[], "sleep 1000")?;
    let pid = c.pid()?;
    d.env.run_ok(d.docker(&["pause", &c.name]))?;
    ensure_eq(
        d.inspect(&c.name, "{{.State.Status}}")?,
        "paused".to_string(),
        "status",
    )?;
    ensure_eq(freezer_state(pid)?, "FROZEN".to_string(), "freezer")?;
    d.env.run_ok(d.docker(&["unpause", &c.name]))?;
    ensure_eq(
        d.inspect(&c.name, "{{.State.Status}}")?,
        "running".to_string(),
        "status",
    )?;
    ensure_eq(freezer_state(pid)?, "THAWED".to_string(), "freezer")
}

/// `stop -t 1` on a pid 1 that ignores SIGTERM: SIGKILL, 137; `rm` removes
/// the runtime's state and the cgroup.
fn stop_rm(d: &Docker) -> TestResult {
    let c = d.detached("stop", &[], "sleep 1000")?;
    let pid = c.pid()?;
    let cg = cgroup_of(pid, "pids")?;
    let unit = systemd::unit_if_systemd(d.env, pid)?;
    d.env.run_ok(d.docker(&["stop", "-t", "1", &c.name]))?;
    ensure_eq(
        d.inspect(&c.name, "{{.State.ExitCode}}")?,
        "137".to_string(),
        "exit code",
    )?;
    wait_gone(pid, Duration::from_secs(10))?;
    d.env.run_ok(d.docker(&["rm", &c.name]))?;
    ensure(!d.env.runtime_ids(&d.runtime_root)?.contains(&c.id), || {
        "the runtime still lists it".into()
    })?;
    let dir = cgroup_dir(&cg, "pids");
    ensure(!dir.exists(), || format!("{} left", dir.display()))?;
    systemd::unit_gone(d.env, unit.as_deref())
}

/// Limits at create, then `docker update` of a running container.
fn limits_and_update(d: &Docker) -> TestResult {
    let c = d.detached(
        "limits",
        &["--memory", "64m", "--cpus", "0.5", "--pids-limit", "50"],
        "sleep 1000",
    )?;
    let pid = c.pid()?;
    let mem = || cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max");
    ensure_eq(mem()?, "67108864".to_string(), "memory limit")?;
    ensure_eq(
        cgroup_file(pid, "pids", "pids.max", "pids.max")?,
        "50".to_string(),
        "pids limit",
    )?;
    expect_cpu_quota(pid, 50000, "at create")?;
    systemd::unit_has(
        d.env,
        pid,
        &[
            ("MemoryMax", "67108864"),
            ("TasksMax", "50"),
            ("CPUQuotaPerSecUSec", "500ms"),
        ],
    )?;
    d.env.run_ok(d.docker(&[
        "update",
        "--memory",
        "128m",
        "--memory-swap",
        "256m",
        "--cpus",
        "0.25",
        &c.name,
    ]))?;
    ensure_eq(mem()?, "134217728".to_string(), "memory limit after update")?;
    expect_cpu_quota(pid, 25000, "after update")?;
    systemd::unit_has(
        d.env,
        pid,
        &[("MemoryMax", "134217728"), ("CPUQuotaPerSecUSec", "250ms")],
    )
}
