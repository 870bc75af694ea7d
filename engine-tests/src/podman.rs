//! podman 4.3 (with conmon) with the runtime under test as its default
//! runtime, set in `containers.conf` as an operator would (`[engine] runtime`
//! and `[engine.runtimes]`; `--runtime PATH` does the same): an isolated store,
//! run directory, tmp directory and network config under the work dir,
//! `CONTAINERS_CONF` with the ulimits this host can give (see
//! docs/testing.md), and every podman command run inside a network
//! namespace of the suite's own, so that podman's default network (a bridge,
//! netavark's firewall rules, ip forwarding) never touches the host's.

use std::path::PathBuf;
use std::time::Duration;

use crate::cmd::{wait_until, Cmd, Out};
use crate::env::{
    cgroup_dir, cgroup_file, cgroup_of, contains, ensure, ensure_eq, expect_cpu_quota,
    freezer_state, proc_alive, proc_status, wait_gone, CgroupParent, Env, TestResult,
};
use crate::systemd;
use crate::tmux::{shell_round, Session};
use crate::{Tap, Test};

/// podman's own default seccomp profile (containers-common).
const PODMAN_SECCOMP: &str = "/usr/share/containers/seccomp.json";

pub struct Podman<'a> {
    env: &'a Env,
    dir: PathBuf,
    conf: PathBuf,
    /// The network namespace every podman command runs in.
    netns: String,
    /// The runtime's state directory: its default one. podman passes
    /// `--runtime-flag root=...` to the calls it makes itself but not to
    /// the `delete` of the cleanup process conmon starts when a container
    /// exits, so a private root would leave every container's state behind.
    runtime_root: PathBuf,
    /// Every container id podman made here: none may stay in the runtime's
    /// state (checked by the last test).
    ids: std::cell::RefCell<Vec<String>>,
    /// `--cgroup-parent`: a cgroup path (cgroupfs) or a slice (systemd: the
    /// containers' scopes are `libpod-<id>.scope`, conmon's
    /// `libpod-conmon-<id>.scope`).
    parent: CgroupParent,
    image: String,
}

/// The prefix of podman's scope units (`<slice>:libpod:<id>`).
const SCOPE_PREFIX: &str = "libpod";

fn tests<'a>() -> Vec<Test<Podman<'a>>> {
    vec![
        ("run_rm_env_exit_code", run_rm_env_exit_code),
        ("exit_codes_of_failed_exec", exit_codes_of_failed_exec),
        ("run_detached_logs", run_detached_logs),
        ("exec", exec),
        ("exec_tty", exec_tty),
        ("run_tty_window_size", run_tty_window_size),
        ("pause_unpause", pause_unpause),
        ("stop_sigterm_then_sigkill", stop_sigterm_then_sigkill),
        ("rm_force", rm_force),
        ("init_then_rm", init_then_rm),
        ("limits", limits),
        ("update", update),
        ("bind_volume", bind_volume),
        ("read_only", read_only),
        ("capabilities", capabilities),
        ("seccomp_default_profile", seccomp_default_profile),
        ("user_namespace", user_namespace),
        ("idmapped_volume", idmapped_volume),
        ("network_none", network_none),
        ("network_default", network_default),
        ("sdnotify_container", sdnotify_container),
        ("no_runtime_state_left", no_runtime_state_left),
    ]
}

pub fn names() -> Vec<&'static str> {
    tests().iter().map(|(n, _)| *n).collect()
}

pub fn run(env: &Env, tap: &mut Tap) {
    tap.group("podman", &tests(), || Podman::start(env));
}

impl<'a> Podman<'a> {
    fn start(env: &'a Env) -> Result<Podman<'a>, String> {
        let dir = env.dir("podman")?;
        let tmp = env.dir("podman/tmp")?;
        let conf = dir.join("containers.conf");
        std::fs::write(
            &conf,
            format!(
                "[containers]\ndefault_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]\n\
                 [engine]\ncgroup_manager = \"{}\"\nevents_logger = \"file\"\n\
                 image_copy_tmp_dir = \"{}\"\nruntime = \"under-test\"\n\
                 [engine.runtimes]\nunder-test = [\"{}\"]\n",
                cgroup_manager(env),
                tmp.display(),
                env.runtime.display()
            ),
        )
        .map_err(|e| format!("{}: {e}", conf.display()))?;
        env.run_ok(Cmd::new("ip").args(["netns", "add", &env.prefix]))?;
        env.run_ok(Cmd::new("ip").args(["-n", &env.prefix, "link", "set", "lo", "up"]))?;
        let p = Podman {
            env,
            runtime_root: default_root(&env.runtime),
            ids: Default::default(),
            conf,
            dir,
            netns: env.prefix.clone(),
            parent: env.cgroup_parent("podman"),
            image: "localhost/e2e-busybox:latest".into(),
        };
        let tar = env.rootfs_tar()?;
        env.run_ok(
            p.podman(&["import", "--change", "CMD=sh"])
                .arg(tar)
                .arg(&p.image),
        )?;
        Ok(p)
    }

    /// The podman command line, as a list of words.
    fn words(&self) -> Vec<String> {
        let d = |s: &str| self.dir.join(s).display().to_string();
        vec![
            "nsenter".into(),
            format!("--net=/run/netns/{}", self.netns),
            "podman".into(),
            "--root".into(),
            d("root"),
            "--runroot".into(),
            d("runroot"),
            "--tmpdir".into(),
            d("tmp"),
            "--network-config-dir".into(),
            d("networks"),
            "--volumepath".into(),
            d("volumes"),
            "--storage-driver".into(),
            "overlay".into(),
            "--cgroup-manager".into(),
            cgroup_manager(self.env).into(),
            "--events-backend".into(),
            "file".into(),
        ]
    }

    fn podman(&self, args: &[&str]) -> Cmd {
        let w = self.words();
        Cmd::new(&w[0])
            .args(&w[1..])
            .args(args)
            .env("CONTAINERS_CONF", &self.conf)
    }

    /// The same as one shell line, for tmux.
    fn shell_line(&self, args: &[&str]) -> String {
        let mut words = vec![format!("CONTAINERS_CONF={}", self.conf.display())];
        words.extend(self.words());
        words.extend(args.iter().map(|s| s.to_string()));
        words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `podman run` with the suite's cgroup parent.
    fn run_cmd(&self, opts: &[&str], argv: &[&str]) -> Cmd {
        self.podman(&["run", "--cgroup-parent", &self.parent.arg])
            .args(opts)
            .arg(&self.image)
            .args(argv)
    }

    fn name(&self, n: &str) -> String {
        format!("{n}-{}", self.env.runtime_name)
    }

    /// `podman run -d --name NAME`; removed (forcibly) when dropped.
    fn detached(&self, name: &str, opts: &[&str], script: &str) -> Result<Ctr<'_, 'a>, String> {
        let name = self.name(name);
        let mut o = vec!["-d", "--name", &name];
        o.extend_from_slice(opts);
        let out = self.env.run_ok(self.run_cmd(&o, &["sh", "-c", script]))?;
        let ctr = Ctr {
            p: self,
            name,
            id: out.stdout.trim().to_string(),
        };
        self.ids.borrow_mut().push(ctr.id.clone());
        let pid = ctr.pid()?;
        ensure(proc_alive(pid), || {
            format!("container {} pid {pid} not running", ctr.name)
        })?;
        Ok(ctr)
    }

    fn inspect(&self, name: &str, format: &str) -> Result<String, String> {
        let out = self
            .env
            .run_ok(self.podman(&["inspect", "--format", format, name]))?;
        Ok(out.stdout.trim().to_string())
    }
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        let _ = self
            .env
            .run(self.podman(&["rm", "--all", "--force", "--time", "0"]));
        let _ = self.env.run(self.podman(&["system", "reset", "--force"]));
        let _ = self
            .env
            .run(Cmd::new("ip").args(["netns", "delete", &self.netns]));
        // podman makes the parent for its containers, with a cgroup for
        // conmon in it (cgroupfs), and leaves both.
        self.env.remove_cgroup_parent(&self.parent, &["conmon"]);
    }
}

/// podman's `cgroup_manager` (and `--cgroup-manager`) for the driver.
fn cgroup_manager(env: &Env) -> &'static str {
    if env.systemd {
        "systemd"
    } else {
        "cgroupfs"
    }
}

/// The runtime's default `--root`: runc's is `/run/runc`, cella's
/// `/run/cella`, crun's `/run/crun`.
fn default_root(runtime: &std::path::Path) -> PathBuf {
    let name = runtime
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if name.starts_with("crun") {
        "crun"
    } else if name.starts_with("runc") {
        "runc"
    } else {
        "cella"
    };
    PathBuf::from("/run").join(name)
}

/// Ids of ours that the runtime still has in `root`.
fn ours_in(p: &Podman, root: &std::path::Path) -> Result<Vec<String>, String> {
    let ids = p.env.runtime_ids(root)?;
    Ok(p.ids
        .borrow()
        .iter()
        .filter(|i| ids.contains(i))
        .cloned()
        .collect())
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-_.=:,+@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A named container, removed when dropped.
struct Ctr<'p, 'a> {
    p: &'p Podman<'a>,
    name: String,
    id: String,
}

impl Ctr<'_, '_> {
    fn pid(&self) -> Result<i32, String> {
        let s = self.p.inspect(&self.name, "{{.State.Pid}}")?;
        s.parse()
            .map_err(|_| format!("State.Pid of {}: {s:?}", self.name))
    }

    fn status(&self) -> Result<String, String> {
        self.p.inspect(&self.name, "{{.State.Status}}")
    }

    fn exec(&self, opts: &[&str], argv: &[&str]) -> Result<Out, String> {
        self.p.env.run(
            self.p
                .podman(&["exec"])
                .args(opts)
                .arg(&self.name)
                .args(argv),
        )
    }

    /// The runtime's own state of the container (its status), by the id
    /// podman gave it.
    fn runtime_status(&self) -> Result<String, String> {
        let out = self.p.env.run_ok(
            self.p
                .env
                .runtime_cmd(&self.p.runtime_root)
                .args(["state", &self.id]),
        )?;
        let v: serde_json::Value =
            serde_json::from_str(&out.stdout).map_err(|e| format!("state JSON: {e}"))?;
        Ok(v["status"].as_str().unwrap_or_default().to_string())
    }
}

impl Drop for Ctr<'_, '_> {
    fn drop(&mut self) {
        let _ = self
            .p
            .env
            .run(self.p.podman(&["rm", "--force", "--time", "0", &self.name]));
    }
}

// ---------------------------------------------------------------------------------------------

/// `run --rm -e`: env reaches the process, its output podman's stdout, its
/// exit status podman's, and nothing remains (podman's list, the runtime's).
fn run_rm_env_exit_code(p: &Podman) -> TestResult {
    let name = p.name("rm");
    let cidfile = p.dir.join(format!("{name}.cid"));
    let cid_arg = cidfile.display().to_string();
    let out = p.env.run(p.run_cmd(
        &[
            "--rm",
            "--name",
            &name,
            "-e",
            "FOO=bar",
            "--cidfile",
            &cid_arg,
        ],
        &["sh", "-c", "echo hello-$FOO; exit 7"],
    ))?;
    let id = std::fs::read_to_string(&cidfile).map_err(|e| format!("--cidfile: {e}"))?;
    p.ids.borrow_mut().push(id.trim().to_string());
    ensure_eq(out.code, 7, &format!("exit status ({})", out.describe()))?;
    ensure_eq(out.stdout.trim(), "hello-bar", "stdout")?;
    let ps = p
        .env
        .run_ok(p.podman(&["ps", "-a", "--format", "{{.Names}}"]))?;
    ensure(!ps.stdout.lines().any(|l| l == name), || {
        format!("--rm left {name} in podman ps -a")
    })?;
    let mut left = Vec::new();
    let gone = wait_until(Duration::from_secs(10), || {
        left = ours_in(p, &p.runtime_root).unwrap_or_default();
        left.is_empty()
    });
    ensure(gone, || {
        format!("--rm left the runtime's state of {left:?}")
    })
}

/// podman's exit statuses for a program that cannot run, which it derives
/// from the runtime's error text: 127 for a missing file, 126 for one that
/// is not executable (as docker does).
fn exit_codes_of_failed_exec(p: &Podman) -> TestResult {
    let out = p.env.run(p.run_cmd(&["--rm"], &["/no/such/program"]))?;
    ensure_eq(
        out.code,
        127,
        &format!("missing program ({})", out.describe()),
    )?;
    let out = p.env.run(p.run_cmd(&["--rm"], &["/etc/passwd"]))?;
    ensure_eq(
        out.code,
        126,
        &format!("file that is not executable ({})", out.describe()),
    )
}

/// `run -d`: stdout and stderr reach `podman logs`; the process runs in
/// podman's cgroup parent; the runtime reports it running.
fn run_detached_logs(p: &Podman) -> TestResult {
    let c = p.detached("logs", &[], "echo out-line; echo err-line >&2; sleep 1000")?;
    let mut logs = String::new();
    let seen = wait_until(Duration::from_secs(10), || {
        logs = p
            .env
            .run(p.podman(&["logs", &c.name]))
            .map(|o| format!("{}{}", o.stdout, o.stderr))
            .unwrap_or_default();
        logs.contains("out-line") && logs.contains("err-line")
    });
    ensure(seen, || format!("podman logs: {logs:?}"))?;
    ensure(!logs.contains("warning"), || {
        format!("the runtime's warnings reached the container's log: {logs:?}")
    })?;
    let pid = c.pid()?;
    p.env
        .expect_apparmor_of(pid, "containers-default-", "podman run")?;
    let cg = cgroup_of(pid, "memory")?;
    ensure(cg.starts_with(&format!("{}/", p.parent.path)), || {
        format!("cgroup {cg} not under {}", p.parent.path)
    })?;
    systemd::check_scope(p.env, pid, &p.parent, SCOPE_PREFIX, &c.id)?;
    ensure_eq(c.runtime_status()?, "running".to_string(), "runtime status")
}

/// `podman exec` with env and workdir: output and exit status.
fn exec(p: &Podman) -> TestResult {
    let c = p.detached("exec", &[], "sleep 1000")?;
    let out = c.exec(
        &["-e", "X=42", "-w", "/tmp"],
        &["sh", "-c", "echo $X $PWD; exit 4"],
    )?;
    ensure_eq(out.code, 4, &format!("exec status ({})", out.describe()))?;
    ensure_eq(out.stdout.trim(), "42 /tmp", "exec output")
}

/// `podman exec -it` in a real terminal.
fn exec_tty(p: &Podman) -> TestResult {
    let c = p.detached("exectty", &[], "sleep 1000")?;
    let line = p.shell_line(&["exec", "-it", &c.name, "sh"]);
    shell_round(p.env, "podman-exec", &line, 103, 29, 3)
}

/// `podman run -it`: the console socket carries the pty; its size follows
/// the terminal, also after a resize; the exit status comes back.
fn run_tty_window_size(p: &Podman) -> TestResult {
    let line = p.shell_line(&[
        "run",
        "-it",
        "--rm",
        "--cgroup-parent",
        &p.parent.arg,
        &p.image,
        "sh",
    ]);
    let s = Session::start(p.env, "podman-run", &line, 111, 31)?;
    s.wait_text("# ", Duration::from_secs(30))?;
    s.type_line("stty size")?;
    s.wait_line("31 111", Duration::from_secs(10))?;
    s.resize(80, 20)?;
    // SIGWINCH reaches the shell through the pty; ask again until it shows.
    let resized = wait_until(Duration::from_secs(10), || {
        let _ = s.type_line("stty size");
        std::thread::sleep(Duration::from_millis(300));
        s.screen().lines().any(|l| l.trim() == "20 80")
    });
    ensure(resized, || {
        format!("the size did not follow the resize:\n{}", s.screen())
    })?;
    s.type_line("exit 9")?;
    ensure_eq(
        s.exit_status(Duration::from_secs(30))?,
        9,
        "exit status of run -it",
    )
}

/// pause/unpause: podman's status and the host's freezer.
fn pause_unpause(p: &Podman) -> TestResult {
    let c = p.detached("pause", &[], "sleep 1000")?;
    let pid = c.pid()?;
    p.env.run_ok(p.podman(&["pause", &c.name]))?;
    ensure_eq(c.status()?, "paused".to_string(), "status after pause")?;
    ensure_eq(
        freezer_state(pid)?,
        "FROZEN".to_string(),
        "freezer after pause",
    )?;
    ensure_eq(
        c.runtime_status()?,
        "paused".to_string(),
        "runtime status after pause",
    )?;
    p.env.run_ok(p.podman(&["unpause", &c.name]))?;
    ensure_eq(c.status()?, "running".to_string(), "status after unpause")?;
    ensure_eq(
        freezer_state(pid)?,
        "THAWED".to_string(),
        "freezer after unpause",
    )
}

/// `podman stop`: SIGTERM to a process that handles it (it exits 0), then
/// SIGKILL after the timeout for one that does not (a pid 1 that ignores
/// SIGTERM by default: 137).
fn stop_sigterm_then_sigkill(p: &Podman) -> TestResult {
    let c = p.detached(
        "term",
        &[],
        "trap 'echo got-term; exit 0' TERM; while true; do sleep 0.1; done",
    )?;
    p.env.run_ok(p.podman(&["stop", "--time", "20", &c.name]))?;
    ensure_eq(
        p.inspect(&c.name, "{{.State.ExitCode}}")?,
        "0".to_string(),
        "exit code after SIGTERM",
    )?;
    let logs = p.env.run_ok(p.podman(&["logs", &c.name]))?;
    contains(&logs.stdout, "got-term", "logs of the stopped container")?;

    let k = p.detached("kill", &[], "sleep 1000")?;
    let pid = k.pid()?;
    p.env.run_ok(p.podman(&["stop", "--time", "1", &k.name]))?;
    ensure_eq(
        p.inspect(&k.name, "{{.State.ExitCode}}")?,
        "137".to_string(),
        "exit code after SIGKILL",
    )?;
    wait_gone(pid, Duration::from_secs(10))
}

/// `rm -f` of a running container removes its process, cgroup and the
/// runtime's state.
fn rm_force(p: &Podman) -> TestResult {
    let c = p.detached("rmf", &[], "sleep 1000")?;
    let pid = c.pid()?;
    let cg = cgroup_of(pid, "pids")?;
    let unit = systemd::unit_if_systemd(p.env, pid)?;
    p.env
        .run_ok(p.podman(&["rm", "--force", "--time", "1", &c.name]))?;
    wait_gone(pid, Duration::from_secs(10))?;
    let ps = p
        .env
        .run_ok(p.podman(&["ps", "-a", "--format", "{{.Names}}"]))?;
    ensure(!ps.stdout.lines().any(|l| l == c.name), || {
        "podman still lists it".into()
    })?;
    let left = wait_until(Duration::from_secs(10), || {
        !p.env
            .runtime_ids(&p.runtime_root)
            .unwrap_or_default()
            .contains(&c.id)
    });
    ensure(left, || "the runtime still lists it".into())?;
    let dir = cgroup_dir(&cg, "pids");
    ensure(!dir.exists(), || format!("{} left", dir.display()))?;
    systemd::unit_gone(p.env, unit.as_deref())
}

/// `podman init` runs the runtime's `create` only: the runtime reports the
/// container `created`, its init waiting. A plain `podman rm` (no `--force`)
/// then removes it, runtime state and process included: podman deletes
/// through the runtime with `--force`, which a spec-following runtime needs
/// for a container that is not stopped.
fn init_then_rm(p: &Podman) -> TestResult {
    let name = p.name("init");
    let out = p.env.run_ok(
        p.podman(&["create", "--cgroup-parent", &p.parent.arg, "--name", &name])
            .arg(&p.image)
            .args(["sleep", "1000"]),
    )?;
    let c = Ctr {
        p,
        name,
        id: out.stdout.trim().to_string(),
    };
    p.ids.borrow_mut().push(c.id.clone());
    p.env.run_ok(p.podman(&["init", &c.name]))?;
    ensure_eq(
        c.runtime_status()?.as_str(),
        "created",
        "the runtime's status after podman init",
    )?;
    let pid = c.pid()?;
    ensure(proc_alive(pid), || {
        format!("init {pid} not alive after podman init")
    })?;
    p.env.run_ok(p.podman(&["rm", &c.name]))?;
    wait_gone(pid, Duration::from_secs(10))?;
    let left = wait_until(Duration::from_secs(10), || {
        !p.env
            .runtime_ids(&p.runtime_root)
            .unwrap_or_default()
            .contains(&c.id)
    });
    ensure(left, || "the runtime still lists it".into())
}

/// `--memory`, `--pids-limit`, `--cpus` in the container's cgroup.
fn limits(p: &Podman) -> TestResult {
    let c = p.detached(
        "limits",
        &["--memory", "64m", "--pids-limit", "50", "--cpus", "0.5"],
        "sleep 1000",
    )?;
    let pid = c.pid()?;
    ensure_eq(
        cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")?,
        "67108864".to_string(),
        "memory limit",
    )?;
    ensure_eq(
        cgroup_file(pid, "pids", "pids.max", "pids.max")?,
        "50".to_string(),
        "pids limit",
    )?;
    expect_cpu_quota(pid, 50000, "at create")?;
    systemd::unit_has(
        p.env,
        pid,
        &[
            ("MemoryMax", "67108864"),
            ("TasksMax", "50"),
            ("CPUQuotaPerSecUSec", "500ms"),
        ],
    )
}

/// `podman update` of a running container (the runtime's `update
/// --resources`): the new limits in its cgroup and, under the systemd
/// driver, in its scope's properties.
fn update(p: &Podman) -> TestResult {
    let c = p.detached(
        "update",
        &["--memory", "64m", "--cpus", "0.5"],
        "sleep 1000",
    )?;
    let pid = c.pid()?;
    p.env.run_ok(p.podman(&[
        "update",
        "--memory",
        "128m",
        "--memory-swap",
        "256m",
        "--cpus",
        "0.25",
        &c.name,
    ]))?;
    ensure_eq(
        cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")?,
        "134217728".to_string(),
        "memory limit after update",
    )?;
    expect_cpu_quota(pid, 25000, "after update")?;
    systemd::unit_has(
        p.env,
        pid,
        &[("MemoryMax", "134217728"), ("CPUQuotaPerSecUSec", "250ms")],
    )
}

/// `-v HOST:CTR`: what a container writes stays on the host after it is
/// gone, a later container reads it, `:ro` refuses writes.
fn bind_volume(p: &Podman) -> TestResult {
    let host = p.env.dir("podman/volume-data")?;
    let v = format!("{}:/data", host.display());
    p.env.run_ok(p.run_cmd(
        &["--rm", "-v", &v],
        &["sh", "-c", "echo persisted > /data/file"],
    ))?;
    let on_host =
        std::fs::read_to_string(host.join("file")).map_err(|e| format!("file on the host: {e}"))?;
    ensure_eq(on_host.trim(), "persisted", "the file on the host")?;
    let ro = format!("{v}:ro");
    let out = p.env.run(p.run_cmd(
        &["--rm", "-v", &ro],
        &[
            "sh",
            "-c",
            "cat /data/file; echo x > /data/other 2>/dev/null && echo WROTE || echo RO",
        ],
    ))?;
    let out = out.ok()?;
    ensure_eq(
        out.stdout.lines().collect::<Vec<_>>(),
        vec!["persisted", "RO"],
        "second container",
    )
}

/// `--sdnotify=container` with `NOTIFY_SOCKET` set (Quadlet's `Notify=yes`): the container's
/// `READY=1` reaches the host's socket. podman 4.3 does the proxying with conmon
/// (`--sdnotify-socket`): it mounts its own `<userdata>/notify` at `/run/notify` and sends
/// `MAINPID=<conmon's pid>` itself, and the runtime's environment has no `NOTIFY_SOCKET` (the
/// runtime's own proxying, docs/as-runc.md, is not used): the container sees one `/run/notify`.
fn sdnotify_container(p: &Podman) -> TestResult {
    let host = p.dir.join("notify-host.sock");
    let _ = std::fs::remove_file(&host);
    let socket = std::os::unix::net::UnixDatagram::bind(&host)
        .map_err(|e| format!("bind {}: {e}", host.display()))?;
    let helper = crate::sdnotify::helper("READY=1")?;
    let name = p.name("sdnotify");
    let mut opts = vec!["-d", "--name", &name, "--sdnotify=container"];
    let volumes: Vec<String> = helper
        .dirs
        .iter()
        .map(|d| format!("{0}:{0}:ro", d.display()))
        .collect();
    for v in &volumes {
        opts.extend(["-v", v]);
    }
    let mut argv = vec!["sh", "-c", "\"$@\" && exec sleep 1000", "sh"];
    argv.extend(helper.command.iter().map(String::as_str));
    let out = p
        .env
        .run_ok(p.run_cmd(&opts, &argv).env("NOTIFY_SOCKET", &host))?;
    let ctr = Ctr {
        p,
        name,
        id: out.stdout.trim().to_string(),
    };
    p.ids.borrow_mut().push(ctr.id.clone());
    let mut got = crate::sdnotify::receive(&socket, Duration::from_secs(30), 2);
    got.sort();
    let conmon = p.inspect(&ctr.name, "{{.State.ConmonPid}}")?;
    ensure_eq(
        got,
        vec![format!("MAINPID={conmon}"), "READY=1".to_string()],
        "what the host's NOTIFY_SOCKET received (sorted)",
    )?;
    let mountinfo = std::fs::read_to_string(format!("/proc/{}/mountinfo", ctr.pid()?))
        .map_err(|e| format!("the container's mountinfo: {e}"))?;
    let at = mountinfo
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some("/run/notify"))
        .count();
    ensure_eq(at, 1, "mounts at /run/notify in the container")
}

/// `--read-only`: the root refuses writes; podman's tmpfs on /tmp (made
/// with `tmpcopyup`) takes them.
fn read_only(p: &Podman) -> TestResult {
    let out = p.env.run(p.run_cmd(
        &["--rm", "--read-only"],
        &["sh", "-c", "touch /x 2>/dev/null && echo ROOT-WRITABLE || echo ROOT-RO; touch /tmp/y && echo TMP-OK; \
           grep -c ' /tmp ' /proc/self/mountinfo"],
    ))?;
    let out = out.ok()?;
    ensure_eq(
        out.stdout.lines().collect::<Vec<_>>(),
        vec!["ROOT-RO", "TMP-OK", "1"],
        "output",
    )
}

/// `--cap-drop all --cap-add`: exactly those capabilities, in every set
/// that matters (effective, permitted, bounding), none ambient.
fn capabilities(p: &Podman) -> TestResult {
    let c = p.detached(
        "caps",
        &["--cap-drop", "all", "--cap-add", "CHOWN,NET_RAW"],
        "sleep 1000",
    )?;
    let pid = c.pid()?;
    // CAP_CHOWN = 0, CAP_NET_RAW = 13.
    let want = format!("{:016x}", (1u64 << 0) | (1u64 << 13));
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        ensure_eq(proc_status(pid, set)?, want.clone(), set)?;
    }
    ensure_eq(proc_status(pid, "CapAmb")?, "0".repeat(16), "CapAmb")?;
    let out = c
        .exec(&[], &["grep", "CapEff", "/proc/self/status"])?
        .ok()?;
    contains(&out.stdout, &want, "an exec'd process's CapEff")
}

/// podman's default seccomp profile is loaded (mode 2, one filter), in the
/// init and in exec'd processes, without the runtime printing anything into
/// the container's log; `seccomp=unconfined` loads none.
fn seccomp_default_profile(p: &Podman) -> TestResult {
    let opt = format!("seccomp={PODMAN_SECCOMP}");
    let c = p.detached(
        "seccomp",
        &["--security-opt", &opt],
        "echo ready; sleep 1000",
    )?;
    let pid = c.pid()?;
    ensure_eq(
        proc_status(pid, "Seccomp")?,
        "2".to_string(),
        "Seccomp of the init",
    )?;
    ensure_eq(
        proc_status(pid, "Seccomp_filters")?,
        "1".to_string(),
        "Seccomp_filters of the init",
    )?;
    let ex = c
        .exec(&[], &["grep", "^Seccomp:", "/proc/self/status"])?
        .ok()?;
    contains(&ex.stdout, "2", "Seccomp of an exec'd process")?;
    let logs = p.env.run_ok(p.podman(&["logs", &c.name]))?;
    ensure_eq(
        format!("{}{}", logs.stdout, logs.stderr).trim(),
        "ready",
        "the container's log",
    )?;
    let out = p
        .env
        .run(p.run_cmd(
            &["--rm", "--security-opt", "seccomp=unconfined"],
            &["grep", "^Seccomp:", "/proc/self/status"],
        ))?
        .ok()?;
    contains(&out.stdout, "0", "Seccomp with seccomp=unconfined")
}

/// `--uidmap/--gidmap`: the container's root is host uid 100000.
fn user_namespace(p: &Podman) -> TestResult {
    let c = p.detached(
        "userns",
        &["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"],
        "sleep 1000",
    )?;
    let pid = c.pid()?;
    let uid = proc_status(pid, "Uid")?;
    ensure_eq(
        uid.split_whitespace().next(),
        Some("100000"),
        "host uid of the container's root",
    )?;
    let out = c
        .exec(
            &[],
            &[
                "sh",
                "-c",
                "cat /proc/self/uid_map; id -u; touch /root/f && stat -c %u /root/f",
            ],
        )?
        .ok()?;
    let lines: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    ensure_eq(
        lines,
        vec!["0 100000 65536".to_string(), "0".into(), "0".into()],
        "inside the user namespace",
    )
}

/// `-v SRC:DST:idmap` in a container with a user namespace (root is host 100000): the
/// volume is idmapped with the container's mapping (podman 4.3 passes `idmap` without
/// mappings), so the host root's directory is the container root's, and a file the container's
/// root creates is the host root's. `--uidmap` rather than `--userns=auto`, which needs
/// subordinate ids for the `containers` user in /etc/subuid (this host has none).
fn idmapped_volume(p: &Podman) -> TestResult {
    let host = p.env.dir("podman/idmap-volume")?;
    std::fs::write(host.join("five"), "x").map_err(|e| format!("file on the host: {e}"))?;
    std::os::unix::fs::chown(host.join("five"), Some(5), Some(6))
        .map_err(|e| format!("chown: {e}"))?;
    let v = format!("{}:/data:idmap", host.display());
    let out = p.env.run(p.run_cmd(
        &[
            "--rm",
            "--uidmap",
            "0:100000:65536",
            "--gidmap",
            "0:100000:65536",
            "-v",
            &v,
        ],
        &[
            "sh",
            "-c",
            "cd /data && stat -c '%u %g' . five && touch new && stat -c '%u %g' new && \
             grep ' /data ' /proc/self/mountinfo",
        ],
    ))?;
    let out = out.ok()?;
    let lines: Vec<&str> = out.stdout.lines().collect();
    ensure_eq(
        lines.get(..3),
        Some(&["0 0", "5 6", "0 0"][..]),
        "owners of the volume, a 5:6 file and a new file, seen inside",
    )?;
    contains(&out.stdout, "idmapped", "the volume's mountinfo line")?;
    let meta = std::fs::metadata(host.join("new")).map_err(|e| format!("new on the host: {e}"))?;
    use std::os::unix::fs::MetadataExt;
    ensure_eq(
        (meta.uid(), meta.gid()),
        (0, 0),
        "owner on the host of the file the container's root made",
    )
}

/// `--network none`: only a loopback device.
fn network_none(p: &Podman) -> TestResult {
    let out = p
        .env
        .run(p.run_cmd(
            &["--rm", "--network", "none"],
            &["sh", "-c", "ls /sys/class/net"],
        ))?
        .ok()?;
    ensure_eq(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        vec!["lo"],
        "network devices",
    )
}

/// podman's default network (netavark bridge in the suite's network
/// namespace): an address on eth0 and the bridge's gateway answers.
fn network_default(p: &Podman) -> TestResult {
    let out = p.env.run(p.run_cmd(
        &["--rm"],
        &["sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; ip route | awk '/default/ {print $3}' > /tmp/gw; \
           ping -c 1 -W 5 $(cat /tmp/gw) >/dev/null && echo GATEWAY-OK"],
    ))?;
    let out = out.ok()?;
    let lines: Vec<&str> = out.stdout.lines().collect();
    ensure(
        lines.len() == 2 && lines[0].contains('/') && lines[1] == "GATEWAY-OK",
        || format!("eth0 address and gateway ping: {lines:?}"),
    )
}

/// Last: the runtime's state holds none of the containers podman made here
/// (each `--rm` run and each removed container was deleted).
fn no_runtime_state_left(p: &Podman) -> TestResult {
    p.env
        .run_ok(p.podman(&["rm", "--all", "--force", "--time", "0"]))?;
    let mut left = Vec::new();
    let gone = wait_until(Duration::from_secs(10), || {
        left = ours_in(p, &p.runtime_root).unwrap_or_default();
        left.is_empty()
    });
    ensure(gone, || {
        format!(
            "the runtime still has {left:?} in {}",
            p.runtime_root.display()
        )
    })
}
