//! The suite's context: the work directory and the user, commands run as
//! that user with a timeout, containers that always clean up, and what the
//! host shows from outside (`/proc/<pid>/status`, namespaces, cgroups).
//!
//! The suite itself runs as root only to create and remove the user, to
//! prepare delegated cgroups and to look at the containers from outside;
//! every runtime and podman command runs as the user, with its own
//! environment (`HOME`, `USER`, `XDG_RUNTIME_DIR`), so the runtime picks
//! its state directory by itself.

use std::cell::{Cell, RefCell};
use std::fs::{self, File};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::user::TestUser;

/// How long one runtime command may take.
pub const RUNTIME_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one podman command may take (the first one sets up its user
/// namespace and storage).
pub const PODMAN_TIMEOUT: Duration = Duration::from_secs(120);

const SKIP_MARKER: &str = "\u{1}SKIP\u{1}";

/// The result of a test: `Err` is a failure, or a skip made by [`skip`].
pub type TestResult = Result<(), String>;

/// The error a test returns when the host cannot run it (printed as
/// `# SKIP reason`).
pub fn skip(reason: impl AsRef<str>) -> String {
    format!("{SKIP_MARKER}{}", reason.as_ref())
}

/// The reason of an error made by [`skip`].
pub fn skip_reason(err: &str) -> Option<&str> {
    err.strip_prefix(SKIP_MARKER)
}

/// Fails with `msg` unless `cond`.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> TestResult {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

/// What a finished command gave.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code; 128+N when killed by signal N; -1 after a timeout.
    pub code: i32,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// Whether it was killed for taking too long.
    pub timed_out: bool,
}

impl Output {
    /// One line for a failure message.
    pub fn describe(&self) -> String {
        let mut s = if self.timed_out {
            "timed out".to_string()
        } else {
            format!("exit code {}", self.code)
        };
        for (name, text) in [("stderr", &self.stderr), ("stdout", &self.stdout)] {
            let t = text.trim();
            if !t.is_empty() {
                s.push_str(&format!(
                    "; {name}: {}",
                    t.chars().take(2000).collect::<String>()
                ));
            }
        }
        s
    }

    /// Fails unless the exit code is 0.
    pub fn ok(self, what: &str) -> Result<Output, String> {
        if self.code == 0 {
            Ok(self)
        } else {
            Err(format!("{what} failed: {}", self.describe()))
        }
    }
}

/// Everything the tests share.
pub struct Ctx {
    /// The runtime under test, copied into the work directory (the user
    /// may not reach the original's directory).
    pub runtime: PathBuf,
    /// Whether the runtime is cella (its messages and `--debug` notes are
    /// checked; other runtimes only for behaviour).
    pub is_cella: bool,
    /// `/tmp/cella-rootless-<pid>`, 0755.
    pub work: PathBuf,
    /// The user's `XDG_RUNTIME_DIR` (0700, its own).
    pub xdg: PathBuf,
    /// The busybox rootfs each bundle copies.
    pub rootfs: PathBuf,
    /// The user.
    pub user: TestUser,
    /// This suite's pid, in every id and path it makes.
    pub pid: u32,
    /// podman, when installed.
    pub podman: Option<PathBuf>,
    current: RefCell<String>,
    /// Cgroup directories made (as root) and delegated to the user.
    delegated: RefCell<Vec<PathBuf>>,
    counter: Cell<u64>,
}

impl Ctx {
    /// Makes the context over an existing work directory and user.
    pub fn new(
        runtime: PathBuf,
        is_cella: bool,
        work: PathBuf,
        rootfs: PathBuf,
        user: TestUser,
        podman: Option<PathBuf>,
    ) -> Result<Ctx, String> {
        let xdg = work.join("run");
        mkdir_mode(&xdg, 0o700)?;
        chown(&xdg, &user)?;
        mkdir_mode(&work.join("bundles"), 0o755)?;
        mkdir_mode(&work.join("scratch"), 0o755)?;
        mkdir_mode(&work.join("podman"), 0o700)?;
        chown(&work.join("podman"), &user)?;
        Ok(Ctx {
            runtime,
            is_cella,
            xdg,
            rootfs,
            user,
            pid: std::process::id(),
            podman,
            work,
            current: RefCell::new(String::new()),
            delegated: RefCell::new(Vec::new()),
            counter: Cell::new(0),
        })
    }

    /// Sets the running test's short name (used in ids).
    pub fn set_current(&self, short: &str) {
        *self.current.borrow_mut() = short.to_string();
    }

    /// A container id for the running test: `rl-<test>[-<tag>]-<pid>`.
    pub fn new_id(&self, tag: &str) -> String {
        let cur = self.current.borrow().replace('_', "-");
        if tag.is_empty() {
            format!("rl-{cur}-{}", self.pid)
        } else {
            format!("rl-{cur}-{tag}-{}", self.pid)
        }
    }

    /// The state directory the runtime should pick by itself.
    pub fn state_root(&self) -> PathBuf {
        let name = self
            .runtime
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.xdg.join(name)
    }

    /// A directory in the work area, made by and for the user.
    pub fn user_dir(&self, name: &str) -> Result<PathBuf, String> {
        let n = self.counter.get();
        self.counter.set(n + 1);
        let d = self.work.join("scratch").join(format!("{name}-{n}"));
        mkdir_mode(&d, 0o755)?;
        chown(&d, &self.user)?;
        Ok(d)
    }

    /// A command run as the user, in a clean environment of its own.
    pub fn user_cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.uid(self.user.uid)
            .gid(self.user.gid)
            .env_clear()
            .env("HOME", &self.user.home)
            .env("USER", &self.user.name)
            .env("LOGNAME", &self.user.name)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("XDG_RUNTIME_DIR", &self.xdg)
            .current_dir(&self.work);
        c
    }

    /// The runtime with `args`, as the user.
    pub fn rt_cmd(&self, args: &[&str]) -> Command {
        let mut c = self.user_cmd(&self.runtime);
        c.args(args);
        c
    }

    /// Runs the runtime with `args` as the user.
    pub fn rt(&self, args: &[&str]) -> Result<Output, String> {
        self.exec(self.rt_cmd(args), None, RUNTIME_TIMEOUT)
    }

    /// Runs the runtime and fails unless it exits 0.
    pub fn rt_ok(&self, args: &[&str]) -> Result<Output, String> {
        self.rt(args)?.ok(&format!("`{}`", args.join(" ")))
    }

    /// podman as the user, on a store of the suite's own, with the runtime
    /// under test.
    pub fn podman_cmd(&self, args: &[&str]) -> Result<Command, String> {
        let podman = self
            .podman
            .as_ref()
            .ok_or_else(|| "podman is not installed".to_string())?;
        let store = self.work.join("podman");
        let mut c = self.user_cmd(podman);
        c.arg("--root")
            .arg(store.join("storage"))
            .arg("--runroot")
            .arg(store.join("run"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--runtime"])
            .arg(&self.runtime)
            .args(args);
        Ok(c)
    }

    /// Runs podman with `args` as the user.
    pub fn podman(&self, args: &[&str]) -> Result<Output, String> {
        self.exec(self.podman_cmd(args)?, None, PODMAN_TIMEOUT)
    }

    /// Runs `cmd` under `script(1)`, which gives it a pty as its terminal
    /// and feeds it `input`; the output is what the terminal showed.
    pub fn on_tty(&self, cmd: &Command, input: &str, timeout: Duration) -> Result<Output, String> {
        let line = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut c = self.user_cmd("script");
        c.args(["--quiet", "--return", "--command", &line, "/dev/null"]);
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        self.exec(c, Some(input.as_bytes()), timeout)
    }

    fn scratch(&self, what: &str) -> PathBuf {
        let n = self.counter.get();
        self.counter.set(n + 1);
        self.work.join("scratch").join(format!(".{what}-{n}"))
    }

    /// Runs `cmd` with a timeout; stdout and stderr go through files, not
    /// pipes, as a container it starts may keep them open.
    pub fn exec(
        &self,
        mut cmd: Command,
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Output, String> {
        let (out_p, err_p) = (self.scratch("out"), self.scratch("err"));
        let file = |p: &Path| File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        cmd.stdout(file(&out_p)?).stderr(file(&err_p)?);
        let in_p = self.scratch("in");
        match stdin {
            Some(data) => {
                fs::write(&in_p, data).map_err(|e| format!("{}: {e}", in_p.display()))?;
                cmd.stdin(File::open(&in_p).map_err(|e| e.to_string())?);
            }
            None => {
                cmd.stdin(Stdio::null());
            }
        }
        let res = wait_with_timeout(&mut cmd, timeout);
        let read =
            |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
        let (stdout, stderr) = (read(&out_p), read(&err_p));
        for p in [&out_p, &err_p, &in_p] {
            let _ = fs::remove_file(p);
        }
        let (code, timed_out) = res.map_err(|e| format!("spawn {:?}: {e}", cmd.get_program()))?;
        Ok(Output {
            code,
            stdout,
            stderr,
            timed_out,
        })
    }

    /// Makes `rel` (e.g. `cella-rootless-<pid>`) in the v1 hierarchies
    /// named (all when `only` is empty), or in the v2 tree, and gives it
    /// to the user: what an administrator (or systemd's `Delegate=`) does.
    /// Removed by [`Ctx::remove_delegated`].
    pub fn delegate_cgroup(&self, rel: &str, only: &[&str]) -> Result<Vec<PathBuf>, String> {
        let mut made = Vec::new();
        for (name, mountpoint) in cgroup_mounts() {
            if name.is_empty() && cgroup_mounts().iter().any(|(n, _)| !n.is_empty()) {
                continue; // hybrid: the v2 tree carries no controllers
            }
            if !only.is_empty() && !name.split(',').any(|c| only.contains(&c)) {
                continue;
            }
            let dir = mountpoint.join(rel);
            self.make_cgroup(&dir, true)?;
            made.push(dir);
        }
        Ok(made)
    }

    /// Makes the cgroup directory `dir` as root (removed at the end) and,
    /// with `delegate`, gives it to the user: the directory and the files
    /// a delegatee writes (`cgroup.procs`, `tasks`,
    /// `cgroup.subtree_control`, `cgroup.threads`). A v1 cpuset gets its
    /// parent's cpus and mems first (it takes no task without them).
    pub fn make_cgroup(&self, dir: &Path, delegate: bool) -> Result<(), String> {
        fs::create_dir(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        self.delegated.borrow_mut().push(dir.to_path_buf());
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let (mine, parent) = (dir.join(f), dir.parent().unwrap_or(dir).join(f));
            if mine.exists() && fs::read_to_string(&mine).is_ok_and(|v| v.trim().is_empty()) {
                let v = fs::read_to_string(&parent).unwrap_or_default();
                fs::write(&mine, v.trim()).map_err(|e| format!("{}: {e}", mine.display()))?;
            }
        }
        if delegate {
            chown(dir, &self.user)?;
            for f in [
                "cgroup.procs",
                "tasks",
                "cgroup.subtree_control",
                "cgroup.threads",
            ] {
                if dir.join(f).exists() {
                    chown(&dir.join(f), &self.user)?;
                }
            }
        }
        Ok(())
    }

    /// Removes the delegated cgroups (children first); what cannot be
    /// removed is reported.
    pub fn remove_delegated(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for dir in self.delegated.borrow_mut().drain(..).rev() {
            if let Err(e) = remove_cgroup_tree(&dir) {
                problems.push(e);
            }
        }
        problems
    }

    /// Cgroup directories below the ones the suite made (left by a
    /// container).
    pub fn delegated_children(&self) -> Vec<PathBuf> {
        let made = self.delegated.borrow();
        made.iter()
            .flat_map(|d| fs::read_dir(d).into_iter().flatten().flatten())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .filter(|p| !made.contains(p))
            .collect()
    }
}

/// The suite itself in a new cgroup until dropped (then back where it
/// was, and the cgroup removed): the user's commands it starts meanwhile
/// begin there.
pub struct EnterCgroup {
    dir: PathBuf,
    back: PathBuf,
}

impl EnterCgroup {
    /// Makes the v2 cgroup directory `dir` and moves this process there.
    pub fn new(dir: &Path) -> Result<EnterCgroup, String> {
        fs::create_dir(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let own = proc_cgroup(std::process::id() as i32);
        let path = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .ok_or("no v2 entry in /proc/self/cgroup")?;
        let (_, mountpoint) = cgroup_mounts()
            .into_iter()
            .find(|(n, _)| n.is_empty())
            .ok_or("no cgroup2 mount")?;
        let back = mountpoint.join(path.trim_start_matches('/'));
        let guard = EnterCgroup {
            dir: dir.to_path_buf(),
            back,
        };
        move_self(dir)?;
        Ok(guard)
    }
}

impl Drop for EnterCgroup {
    fn drop(&mut self) {
        let _ = move_self(&self.back);
        let _ = remove_cgroup_tree(&self.dir);
    }
}

fn move_self(dir: &Path) -> Result<(), String> {
    let procs = dir.join("cgroup.procs");
    fs::write(&procs, std::process::id().to_string())
        .map_err(|e| format!("write {}: {e}", procs.display()))
}

/// The cgroup mounts of the host: `(v1 hierarchy name, mountpoint)`; the
/// v2 tree has an empty name.
pub fn cgroup_mounts() -> Vec<(String, PathBuf)> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 || l[3] != "/" {
            continue;
        }
        let name = match r[0] {
            "cgroup2" => String::new(),
            "cgroup" => r[2]
                .split(',')
                .filter(|o| {
                    !matches!(*o, "rw" | "ro" | "noprefix" | "xattr" | "cpuset_v2_mode")
                        && !o.starts_with("clone_children")
                        && !o.starts_with("release_agent=")
                })
                .collect::<Vec<_>>()
                .join(","),
            _ => continue,
        };
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, PathBuf::from(l[4])));
        }
    }
    out
}

/// Removes a cgroup directory and its children, deepest first.
pub fn remove_cgroup_tree(dir: &Path) -> Result<(), String> {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path())?;
            }
        }
    }
    for _ in 0..100 {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    fs::remove_dir(dir).map_err(|e| format!("rmdir {}: {e}", dir.display()))
}

/// Spawns `cmd`, waits at most `timeout` (then kills it); returns (code,
/// timed out).
pub fn wait_with_timeout(cmd: &mut Command, timeout: Duration) -> std::io::Result<(i32, bool)> {
    let mut child = cmd.spawn()?;
    let start = Instant::now();
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(st) = child.try_wait()? {
            let code = st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
            return Ok((code, false));
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Ok((-1, true));
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// Polls `f` until true or `timeout`.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `sh -c` quoting.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `mkdir -p` with `mode` on the last level (not filtered by the umask).
pub fn mkdir_mode(p: &Path, mode: u32) -> Result<(), String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(p)
        .map_err(|e| format!("mkdir {}: {e}", p.display()))?;
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", p.display()))
}

/// Gives `p` (not following a symlink) to the user.
pub fn chown(p: &Path, user: &TestUser) -> Result<(), String> {
    std::os::unix::fs::lchown(p, Some(user.uid), Some(user.gid))
        .map_err(|e| format!("chown {}: {e}", p.display()))
}

/// Writes `text` to `p` and gives it to the user.
pub fn write_user_file(p: &Path, text: &str, user: &TestUser) -> Result<(), String> {
    fs::write(p, text).map_err(|e| format!("write {}: {e}", p.display()))?;
    chown(p, user)
}

/// A field of `/proc/<pid>/status` (e.g. `Uid`, `Groups`).
pub fn proc_status(pid: i32, field: &str) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
}

/// The real uid of a process, as the host sees it.
pub fn proc_uid(pid: i32) -> Option<u32> {
    proc_status(pid, "Uid")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The inode of `/proc/<pid>/ns/<kind>`, as `user:[4026531837]`.
pub fn ns_link(pid: i32, kind: &str) -> Option<String> {
    fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// `/proc/<pid>/cgroup`.
pub fn proc_cgroup(pid: i32) -> String {
    fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default()
}

/// Whether `pid` is alive (and not a zombie).
pub fn alive(pid: i32) -> bool {
    proc_status(pid, "State").is_some_and(|s| !s.starts_with('Z') && !s.starts_with('X'))
}

// ---------------------------------------------------------------------------------------------

/// A container of a test: a bundle owned by the user and an id. Dropping
/// it force-deletes the container and removes the bundle.
pub struct Ctn<'a> {
    /// The context.
    pub ctx: &'a Ctx,
    /// Container id.
    pub id: String,
    /// Bundle directory.
    pub bundle: PathBuf,
}

impl<'a> Ctn<'a> {
    /// A bundle with a copy of the rootfs (owned by the user) and `config`.
    pub fn new(ctx: &'a Ctx, tag: &str, config: &Value) -> Result<Ctn<'a>, String> {
        let c = Ctn::without_config(ctx, tag)?;
        c.write_config(config)?;
        Ok(c)
    }

    /// A bundle with only the rootfs.
    pub fn without_config(ctx: &'a Ctx, tag: &str) -> Result<Ctn<'a>, String> {
        let id = ctx.new_id(tag);
        let bundle = ctx.work.join("bundles").join(&id);
        mkdir_mode(&bundle, 0o755)?;
        let c = Ctn { ctx, id, bundle };
        let cp = Command::new("cp")
            .arg("-a")
            .arg(&ctx.rootfs)
            .arg(c.bundle.join("rootfs"))
            .status()
            .map_err(|e| format!("cp: {e}"))?;
        let own = Command::new("chown")
            .args(["-R", "-h"])
            .arg(format!("{}:{}", ctx.user.uid, ctx.user.gid))
            .arg(&c.bundle)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        ensure(cp.success() && own.success(), || {
            format!("could not prepare {}", c.bundle.display())
        })?;
        Ok(c)
    }

    /// Bundle path as a string.
    pub fn bundle_str(&self) -> String {
        self.bundle.to_string_lossy().into_owned()
    }

    /// Replaces `config.json`.
    pub fn write_config(&self, config: &Value) -> Result<(), String> {
        let text = serde_json::to_string_pretty(config).map_err(|e| e.to_string())?;
        write_user_file(&self.bundle.join("config.json"), &text, &self.ctx.user)
    }

    /// `RUNTIME [global...] create --bundle B ID` as the user.
    pub fn create_with(&self, global: &[&str]) -> Result<Output, String> {
        let b = self.bundle_str();
        let mut args: Vec<&str> = global.to_vec();
        args.extend(["create", "--bundle", &b, &self.id]);
        self.ctx.rt(&args)
    }

    /// create, which must succeed.
    pub fn create_ok(&self) -> TestResult {
        self.create_with(&[])?
            .ok(&format!("create {}", self.id))
            .map(|_| ())
    }

    /// create + start.
    pub fn start_new(&self) -> TestResult {
        self.create_ok()?;
        self.ctx.rt_ok(&["start", &self.id]).map(|_| ())
    }

    /// Foreground `run` (stdin from /dev/null).
    pub fn run(&self) -> Result<Output, String> {
        let b = self.bundle_str();
        self.ctx.rt(&["run", "--bundle", &b, &self.id])
    }

    /// `state`, parsed.
    pub fn state(&self) -> Result<Value, String> {
        let out = self.ctx.rt(&["state", &self.id])?.ok("state")?;
        serde_json::from_str(&out.stdout)
            .map_err(|e| format!("state is not JSON ({e}): {}", out.stdout))
    }

    /// The init's pid from `state`.
    pub fn pid(&self) -> Result<i32, String> {
        let st = self.state()?;
        match st["pid"].as_i64() {
            Some(p) if p > 0 => Ok(p as i32),
            _ => Err(format!("state has no pid: {st}")),
        }
    }

    /// Waits up to 10 s for `status`.
    pub fn wait_status(&self, want: &str) -> TestResult {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(10), || {
            last = self
                .state()
                .map(|s| s["status"].to_string())
                .unwrap_or_else(|e| e);
            last.trim_matches('"') == want
        });
        ensure(ok, || {
            format!("{} did not become {want}; last: {last}", self.id)
        })
    }
}

impl Drop for Ctn<'_> {
    fn drop(&mut self) {
        let _ = self.ctx.rt(&["delete", "--force", &self.id]);
        let _ = fs::remove_dir_all(&self.bundle);
    }
}
