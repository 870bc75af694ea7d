//! The test harness: the context every test gets, running runtime commands with a timeout,
//! container guards that always clean up, and the host observations (mountinfo, /proc,
//! cgroup trees) that tests and the final leak check share.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one runtime invocation may take before it is killed and the test fails.
pub const RUNTIME_TIMEOUT: Duration = Duration::from_secs(30);

/// Marker that turns an `Err` returned by a test into a TAP `# SKIP`.
const SKIP_MARKER: &str = "\u{1}SKIP\u{1}";

/// The result type of every test.
pub type TestResult = Result<(), String>;

/// Builds the error value a test returns when the host cannot run it. The runner prints it as
/// `ok N - name # SKIP reason`.
pub fn skip(reason: impl AsRef<str>) -> String {
    format!("{SKIP_MARKER}{}", reason.as_ref())
}

/// If `err` was made by [`skip`], the reason.
pub fn skip_reason(err: &str) -> Option<&str> {
    err.strip_prefix(SKIP_MARKER)
}

/// Everything a test needs: the runtime under test, the rootfs to copy, and the records of
/// what the suite created (for the final leak check).
pub struct Ctx {
    /// The runtime binary (or wrapper script) under test.
    pub runtime: PathBuf,
    /// The busybox rootfs copied into every bundle.
    pub rootfs: PathBuf,
    /// The private state root passed as `--root`.
    pub root: PathBuf,
    /// The directory holding every bundle of this run (`/tmp/spec-tests-<pid>`).
    pub work: PathBuf,
    /// This suite's pid; part of every id and path the suite creates.
    pub pid: u32,
    /// Whether error messages are checked (one line, containing the expected text).
    pub check_messages: bool,
    /// `--systemd-cgroup` mode: every runtime invocation gets the global flag
    /// `--systemd-cgroup`, and [`Ctx::new_cgroup_path`] hands out `slice:prefix:name` paths.
    pub systemd: bool,
    /// The prefix of the runtime's default unit under `--systemd-cgroup` when a config has no
    /// cgroupsPath (`:runc:<id>` for runc, `:cella:<id>` for cella): see
    /// [`Ctx::default_cgroup`].
    pub default_unit_prefix: String,
    /// The short name of the running test (used in container ids).
    current: RefCell<String>,
    /// Every container id handed out (valid ones only).
    ids: RefCell<BTreeSet<String>>,
    /// Every absolute cgroupsPath a test asked for.
    cgroup_paths: RefCell<BTreeSet<String>>,
    /// Container init pids seen, with their start times (to tell them from a reused pid).
    pids: RefCell<Vec<(i32, u64)>>,
    /// Counter for unique scratch file names.
    counter: Cell<u64>,
    /// Where every id, cgroupsPath and pid recorded above is also appended, one per line, so
    /// that the runner (the parent of the process a test runs in) learns what a test created
    /// even when the test is killed.
    records: PathBuf,
}

/// What a finished command gave.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code; 128+N when killed by signal N; -1 after a timeout.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Output {
    /// A one-line summary for failure diagnostics.
    pub fn describe(&self) -> String {
        let mut s = if self.timed_out {
            format!("timed out after {}s", RUNTIME_TIMEOUT.as_secs())
        } else {
            format!("exit code {}", self.code)
        };
        let err = self.stderr.trim();
        if !err.is_empty() {
            s.push_str(&format!("; stderr: {err}"));
        }
        let out = self.stdout.trim();
        if !out.is_empty() {
            let out: String = out.chars().take(2000).collect();
            s.push_str(&format!("; stdout: {out}"));
        }
        s
    }
}

/// Converts an exit status into a shell-style code (128+signal for a signalled process).
pub fn status_code(st: ExitStatus) -> i32 {
    match (st.code(), st.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => -1,
    }
}

impl Ctx {
    pub fn new(runtime: PathBuf, rootfs: PathBuf, check_messages: bool) -> Result<Ctx, String> {
        let pid = std::process::id();
        let root = PathBuf::from(format!("/tmp/spec-tests-root-{pid}"));
        let work = PathBuf::from(format!("/tmp/spec-tests-{pid}"));
        Ctx::with_dirs(runtime, rootfs, root, work, check_messages)
    }

    /// A context with the given state root and work directory (difftest runs two runtimes
    /// side by side, each with its own).
    pub fn with_dirs(
        runtime: PathBuf,
        rootfs: PathBuf,
        root: PathBuf,
        work: PathBuf,
        check_messages: bool,
    ) -> Result<Ctx, String> {
        let pid = std::process::id();
        mkdir_mode(&work, 0o755)?;
        let records = work.join(".records");
        File::create(&records).map_err(|e| format!("create {}: {e}", records.display()))?;
        Ok(Ctx {
            runtime,
            rootfs,
            root,
            work,
            pid,
            check_messages,
            systemd: false,
            default_unit_prefix: "cella".to_string(),
            current: RefCell::new(String::new()),
            ids: RefCell::new(BTreeSet::new()),
            cgroup_paths: RefCell::new(BTreeSet::new()),
            pids: RefCell::new(Vec::new()),
            counter: Cell::new(0),
            records,
        })
    }

    /// Appends one record line (`id ID`, `cgroup PATH`, `pid PID START`) to the records file.
    fn record(&self, line: &str) {
        if let Ok(mut f) = fs::OpenOptions::new().append(true).open(&self.records) {
            let _ = writeln!(f, "{line}");
        }
    }

    /// Merges the records file into this context: what tests run in other processes created.
    pub fn reload_records(&self) {
        let text = fs::read_to_string(&self.records).unwrap_or_default();
        for line in text.lines() {
            let mut f = line.split(' ');
            match (f.next(), f.next(), f.next()) {
                (Some("id"), Some(id), None) => {
                    self.ids.borrow_mut().insert(id.to_string());
                }
                (Some("cgroup"), Some(p), None) => {
                    self.cgroup_paths.borrow_mut().insert(p.to_string());
                }
                (Some("pid"), Some(p), Some(s)) => {
                    if let (Ok(p), Ok(s)) = (p.parse(), s.parse()) {
                        let mut pids = self.pids.borrow_mut();
                        if !pids.contains(&(p, s)) {
                            pids.push((p, s));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    pub fn set_current(&self, short: &str) {
        *self.current.borrow_mut() = short.to_string();
    }

    pub fn current(&self) -> String {
        self.current.borrow().clone()
    }

    pub fn ids(&self) -> BTreeSet<String> {
        self.ids.borrow().clone()
    }

    pub fn cgroup_paths(&self) -> BTreeSet<String> {
        self.cgroup_paths.borrow().clone()
    }

    pub fn tracked_pids(&self) -> Vec<(i32, u64)> {
        self.pids.borrow().clone()
    }

    /// A container id unique to this test and run: `st-<test>[-<tag>]-<pid>`.
    pub fn new_id(&self, tag: &str) -> String {
        let cur = self.current();
        let id = if tag.is_empty() {
            format!("st-{cur}-{}", self.pid)
        } else {
            format!("st-{cur}-{tag}-{}", self.pid)
        };
        if self.ids.borrow_mut().insert(id.clone()) {
            self.record(&format!("id {id}"));
        }
        id
    }

    /// A cgroupsPath unique to this test and run, recorded for the leak check: absolute
    /// (`/spec-tests-<pid>-<test><tag>`), or under `--systemd-cgroup` the scope
    /// `system.slice:spec-tests:<pid>-<test><tag>` (unit `spec-tests-<pid>-<test><tag>.scope`;
    /// the `-`s are in the name, where they do not nest slices). [`cgroup_rel`] gives the
    /// directory either names.
    pub fn new_cgroup_path(&self, tag: &str) -> String {
        if self.systemd {
            return self.systemd_cgroup_path(tag);
        }
        let p = format!("/spec-tests-{}-{}{}", self.pid, self.current(), tag);
        self.record_cgroup_path(&p);
        p
    }

    /// A systemd cgroupsPath `system.slice:spec-tests:<pid>-<test><tag>` whatever the mode
    /// (for the tests that pass `--systemd-cgroup` themselves), recorded for the leak check.
    pub fn systemd_cgroup_path(&self, tag: &str) -> String {
        let p = format!(
            "system.slice:spec-tests:{}-{}{}",
            self.pid,
            self.current(),
            tag
        );
        self.record_cgroup_path(&p);
        p
    }

    /// Records a cgroupsPath for the leak check.
    pub fn record_cgroup_path(&self, p: &str) {
        if self.cgroup_paths.borrow_mut().insert(p.to_string()) {
            self.record(&format!("cgroup {p}"));
        }
    }

    /// Records a container init pid so that the final check can tell if it outlived its test.
    pub fn track_pid(&self, pid: i32) {
        if let Some(start) = proc_start_time(pid) {
            let mut pids = self.pids.borrow_mut();
            if !pids.iter().any(|&(p, s)| p == pid && s == start) {
                pids.push((pid, start));
                self.record(&format!("pid {pid} {start}"));
            }
        }
    }

    fn scratch_name(&self, what: &str) -> PathBuf {
        let n = self.counter.get();
        self.counter.set(n + 1);
        self.work.join(format!(".{what}-{n}"))
    }

    /// The cgroup (relative to the cgroup root, with a leading `/`) a container with no
    /// cgroupsPath gets under `--systemd-cgroup`: `system.slice:<prefix>:<id>`, the prefix
    /// being the runtime's (`runc` or `cella`, from `--version`).
    pub fn default_cgroup(&self, id: &str) -> String {
        cgroup_rel(&format!(":{}:{id}", self.default_unit_prefix))
    }

    /// The global flags every runtime invocation gets: `[--systemd-cgroup] --root R`.
    pub fn global_args(&self) -> Vec<std::ffi::OsString> {
        let mut v = Vec::new();
        if self.systemd {
            v.push("--systemd-cgroup".into());
        }
        v.push("--root".into());
        v.push(self.root.clone().into_os_string());
        v
    }

    /// A command for the runtime with the private state root: `RUNTIME [--systemd-cgroup]
    /// --root R <args>`.
    pub fn runtime_cmd<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.runtime);
        cmd.args(self.global_args()).args(args);
        cmd
    }

    /// Runs the runtime with `args` (after `--root R`), stdin from /dev/null.
    pub fn rt<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<Output, String> {
        self.exec(self.runtime_cmd(args), None)
    }

    /// Like [`Ctx::rt`] but an exit code other than 0 is an error carrying the output.
    pub fn rt_ok<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<Output, String> {
        let out = self.rt(args)?;
        if out.code != 0 {
            return Err(format!("`{}` failed: {}", join_args(args), out.describe()));
        }
        Ok(out)
    }

    /// Runs `cmd` with a timeout, capturing stdout and stderr through files (not pipes: a
    /// container started by the command may keep its stdio open long after the runtime exits).
    pub fn exec(&self, mut cmd: Command, stdin: Option<&[u8]>) -> Result<Output, String> {
        let out_path = self.scratch_name("out");
        let err_path = self.scratch_name("err");
        let out_file = File::create(&out_path).map_err(|e| format!("scratch file: {e}"))?;
        let err_file = File::create(&err_path).map_err(|e| format!("scratch file: {e}"))?;
        cmd.stdout(out_file).stderr(err_file);
        let mut in_path = None;
        match stdin {
            Some(data) => {
                let p = self.scratch_name("in");
                fs::write(&p, data).map_err(|e| format!("scratch file: {e}"))?;
                let f = File::open(&p).map_err(|e| format!("scratch file: {e}"))?;
                cmd.stdin(f);
                in_path = Some(p);
            }
            None => {
                cmd.stdin(Stdio::null());
            }
        }
        let res = wait_with_timeout(&mut cmd, RUNTIME_TIMEOUT);
        let stdout = fs::read(&out_path).unwrap_or_default();
        let stderr = fs::read(&err_path).unwrap_or_default();
        let _ = fs::remove_file(&out_path);
        let _ = fs::remove_file(&err_path);
        if let Some(p) = in_path {
            let _ = fs::remove_file(p);
        }
        let (code, timed_out) = res.map_err(|e| format!("spawn {:?}: {e}", cmd.get_program()))?;
        Ok(Output {
            code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            timed_out,
        })
    }
}

/// Spawns `cmd` and waits for it at most `timeout`; on timeout the process is killed.
/// Returns (exit code, timed out).
pub fn wait_with_timeout(cmd: &mut Command, timeout: Duration) -> std::io::Result<(i32, bool)> {
    let mut child = cmd.spawn()?;
    let start = Instant::now();
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok((status_code(st), false));
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Ok((-1, true));
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

fn join_args<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    args.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `mkdir -p` with a mode on the last component (not subject to the umask).
pub fn mkdir_mode(p: &Path, mode: u32) -> Result<(), String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(p)
        .map_err(|e| format!("mkdir {}: {e}", p.display()))?;
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", p.display()))
}

/// Polls `f` until it returns true or `timeout` passes; returns the last answer.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------------
// Containers

/// One container of a test: its id and bundle. Dropping it force-deletes the container, undoes
/// the host mounts the test made for it, and removes the bundle — even when the test failed.
pub struct Ctn<'a> {
    pub ctx: &'a Ctx,
    pub id: String,
    pub bundle: PathBuf,
    host_mounts: RefCell<Vec<PathBuf>>,
}

impl<'a> Ctn<'a> {
    /// A new bundle with a copy of the rootfs and an id unique to the test (`tag` tells the
    /// containers of one test apart).
    pub fn new(ctx: &'a Ctx, tag: &str) -> Result<Ctn<'a>, String> {
        let id = ctx.new_id(tag);
        let bundle = ctx.work.join(&id);
        let c = Ctn {
            ctx,
            id,
            bundle,
            host_mounts: RefCell::new(Vec::new()),
        };
        mkdir_mode(&c.bundle, 0o755)?;
        crate::rootfs::copy_tree(&ctx.rootfs, &c.rootfs())?;
        Ok(c)
    }

    pub fn rootfs(&self) -> PathBuf {
        self.bundle.join("rootfs")
    }

    pub fn bundle_str(&self) -> String {
        self.bundle.to_string_lossy().into_owned()
    }

    pub fn write_config(&self, cfg: &Value) -> Result<(), String> {
        let text = serde_json::to_string_pretty(cfg).map_err(|e| e.to_string())?;
        fs::write(self.bundle.join("config.json"), text).map_err(|e| format!("config.json: {e}"))
    }

    /// `RUNTIME create --bundle B [extra...] ID`.
    pub fn create(&self, extra: &[&str]) -> Result<Output, String> {
        let mut args = vec!["create", "--bundle", &self.bundle_str()]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(self.id.clone());
        let out = self.ctx.rt(&args)?;
        if out.code == 0 {
            if let Ok(pid) = self.pid() {
                self.ctx.track_pid(pid);
            }
        }
        Ok(out)
    }

    pub fn create_ok(&self) -> Result<(), String> {
        let out = self.create(&[])?;
        if out.code != 0 {
            return Err(format!("create {} failed: {}", self.id, out.describe()));
        }
        Ok(())
    }

    pub fn start_ok(&self) -> Result<(), String> {
        self.ctx.rt_ok(&["start", &self.id]).map(|_| ())
    }

    /// create + start.
    pub fn start_new(&self) -> Result<(), String> {
        self.create_ok()?;
        self.start_ok()
    }

    /// `RUNTIME state ID`, parsed.
    pub fn state(&self) -> Result<Value, String> {
        let out = self.ctx.rt(&["state", &self.id])?;
        if out.code != 0 {
            return Err(format!("state {} failed: {}", self.id, out.describe()));
        }
        serde_json::from_str(&out.stdout)
            .map_err(|e| format!("state output is not JSON ({e}): {}", out.stdout))
    }

    pub fn status(&self) -> Result<String, String> {
        let st = self.state()?;
        st["status"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| format!("state has no status: {st}"))
    }

    pub fn pid(&self) -> Result<i32, String> {
        let st = self.state()?;
        match st["pid"].as_i64() {
            Some(p) if p > 0 => Ok(p as i32),
            _ => Err(format!("state has no pid > 0: {st}")),
        }
    }

    /// Waits up to 10 s for the container to reach `want`.
    pub fn wait_status(&self, want: &str) -> Result<(), String> {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(10), || {
            last = self.status().unwrap_or_else(|e| e);
            last == want
        });
        if ok {
            Ok(())
        } else {
            Err(format!("container did not become {want:?}; last: {last}"))
        }
    }

    /// `RUNTIME run --bundle B [extra...] ID` in the foreground, with `stdin`.
    pub fn run_with(&self, extra: &[&str], stdin: Option<&[u8]>) -> Result<Output, String> {
        let mut cmd = self
            .ctx
            .runtime_cmd(&["run", "--bundle", &self.bundle_str()]);
        cmd.args(extra).arg(&self.id);
        self.ctx.exec(cmd, stdin)
    }

    pub fn run(&self) -> Result<Output, String> {
        self.run_with(&[], None)
    }

    /// Bind-mounts the bundle's rootfs onto itself on the host and makes it shared, so that
    /// `rootfsPropagation` has something to act on. Undone when the container is dropped.
    pub fn make_rootfs_shared_mount(&self) -> Result<(), String> {
        let r = self.rootfs();
        let r = r.to_string_lossy();
        run_host(&["mount", "--bind", &r, &r])?;
        self.host_mounts.borrow_mut().push(self.rootfs());
        run_host(&["mount", "--make-shared", &r])?;
        Ok(())
    }

    /// Mounts a tmpfs on the host at `<rootfs>/<rel>` (to watch propagation into the
    /// container). Undone when the container is dropped.
    pub fn host_mount_tmpfs(&self, rel: &str) -> Result<(), String> {
        self.host_mount_tmpfs_at(&self.rootfs().join(rel))
    }

    /// Mounts a tmpfs on the host at `p` (a path in the bundle: a submount for a bind mount's
    /// source). Undone when the container is dropped.
    pub fn host_mount_tmpfs_at(&self, p: &Path) -> Result<(), String> {
        fs::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
        let ps = p.to_string_lossy().into_owned();
        run_host(&["mount", "-t", "tmpfs", "st-probe", &ps])?;
        self.host_mounts.borrow_mut().push(p.to_path_buf());
        Ok(())
    }

    /// Makes the bundle directory `p` a shared mount of its own on the host (a bind onto
    /// itself), for a bind mount's propagation to act on. Undone when the container is dropped.
    pub fn host_shared_bind(&self, p: &Path) -> Result<(), String> {
        fs::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
        let ps = p.to_string_lossy().into_owned();
        run_host(&["mount", "--bind", &ps, &ps])?;
        self.host_mounts.borrow_mut().push(p.to_path_buf());
        run_host(&["mount", "--make-shared", &ps])?;
        Ok(())
    }
}

impl Drop for Ctn<'_> {
    fn drop(&mut self) {
        let _ = self.ctx.rt(&["delete", "--force", &self.id]);
        for m in self.host_mounts.borrow().iter().rev() {
            let _ = run_host(&["umount", "-l", &m.to_string_lossy()]);
        }
        remove_bundle(&self.bundle);
    }
}

/// Removes a bundle directory unless something is still mounted under it (removing then would
/// descend into the mount and could delete host files). The leak check reports such mounts.
pub fn remove_bundle(dir: &Path) {
    if mounts_under(dir).is_empty() {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Runs a host helper command (mount, umount, ip) with a timeout; non-zero exit is an error.
pub fn run_host(args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------------------------------------
// Running a config to completion

/// Makes a container for `cfg`, runs it in the foreground and returns its output.
pub fn run_config(ctx: &Ctx, cfg: &Value) -> Result<Output, String> {
    let c = Ctn::new(ctx, "")?;
    c.write_config(cfg)?;
    c.run()
}

/// Like [`run_config`] but the container must exit 0; returns its stdout.
pub fn run_ok(ctx: &Ctx, cfg: &Value) -> Result<String, String> {
    let out = run_config(ctx, cfg)?;
    if out.code != 0 {
        return Err(format!("container run failed: {}", out.describe()));
    }
    Ok(out.stdout)
}

// ---------------------------------------------------------------------------------------------
// Assertions

pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> TestResult {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

pub fn ensure_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> TestResult {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Host observations

/// One line of /proc/<pid>/mountinfo.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub mount_point: String,
    /// Per-mount options (field 6), e.g. `rw,nosuid,nodev`.
    pub mount_opts: Vec<String>,
    /// Optional fields (`shared:N`, `master:N`, ...).
    pub optional: Vec<String>,
    pub fstype: String,
    /// Per-superblock options, e.g. `size=2048k,mode=1750`.
    pub super_opts: Vec<String>,
    pub line: String,
}

impl MountInfo {
    pub fn has_opt(&self, o: &str) -> bool {
        self.mount_opts.iter().any(|x| x == o)
    }
    pub fn has_super_opt(&self, o: &str) -> bool {
        self.super_opts.iter().any(|x| x == o)
    }
}

/// Undoes the octal escapes mountinfo uses for spaces, tabs, newlines and backslashes.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let digits = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(digits, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    let mut v = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.len() < 6 || sep < 6 || f.len() < sep + 3 {
            continue;
        }
        v.push(MountInfo {
            mount_point: unescape_mountinfo(f[4]),
            mount_opts: f[5].split(',').map(String::from).collect(),
            optional: f[6..sep].iter().map(|s| s.to_string()).collect(),
            fstype: f[sep + 1].to_string(),
            super_opts: f
                .get(sep + 3)
                .map(|s| s.split(',').map(String::from).collect())
                .unwrap_or_default(),
            line: line.to_string(),
        });
    }
    v
}

/// The mount visible at `mp` (the last one mounted there) in a mountinfo text.
pub fn mount_at(text: &str, mp: &str) -> Result<MountInfo, String> {
    parse_mountinfo(text)
        .into_iter()
        .rev()
        .find(|m| m.mount_point == mp)
        .ok_or_else(|| format!("no mount at {mp} in mountinfo:\n{text}"))
}

/// Lines of this process's mountinfo whose mount point is `dir` or below it.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let d = dir.to_string_lossy().trim_end_matches('/').to_string();
    parse_mountinfo(&text)
        .into_iter()
        .filter(|m| m.mount_point == d || m.mount_point.starts_with(&format!("{d}/")))
        .map(|m| m.line)
        .collect()
}

/// Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    // rest starts at field 3 (state); starttime is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The state letter (R, S, Z, ...) of /proc/<pid>/stat.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// The parent pid from /proc/<pid>/stat.
pub fn proc_ppid(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// True while `pid` exists and is not a zombie.
pub fn proc_alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(s) if s != 'Z' && s != 'X')
}

/// All pids in /proc.
pub fn all_pids() -> Vec<i32> {
    let mut v = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|s| s.parse().ok()) {
                v.push(p);
            }
        }
    }
    v
}

/// `readlink /proc/<pid>/ns/<ns>`, e.g. `net:[4026531833]`.
pub fn ns_link(pid: &str, ns: &str) -> Result<String, String> {
    fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| format!("readlink /proc/{pid}/ns/{ns}: {e}"))
}

/// The mounted v1 hierarchies and the cgroup2 mount: directories directly under /sys/fs/cgroup.
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    parse_mountinfo(&text)
        .into_iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
        .map(|m| PathBuf::from(m.mount_point))
        .collect()
}

/// The container id a cgroup directory's name stands for: `<id>`, or a systemd driver's
/// default scope `runc-<id>.scope` / `cella-<id>.scope`.
pub fn id_of_cgroup_name(name: &str) -> &str {
    name.strip_suffix(".scope")
        .and_then(|n| n.strip_prefix("runc-").or_else(|| n.strip_prefix("cella-")))
        .unwrap_or(name)
}

/// Every directory under the cgroup mounts whose own name is one of `names` (or a systemd
/// driver's default scope for one of them: see [`id_of_cgroup_name`]).
pub fn find_cgroup_dirs(names: &BTreeSet<String>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = cgroup_mounts();
    while let Some(dir) = stack.pop() {
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let p = e.path();
            if e.file_name()
                .to_str()
                .is_some_and(|n| names.contains(id_of_cgroup_name(n)))
            {
                found.push(p.clone());
            }
            stack.push(p);
        }
    }
    found
}

/// Expands a systemd slice name into its cgroup path: `a-b.slice` is `/a.slice/a-b.slice`,
/// `-.slice` (or nothing) the root, as systemd nests slices at each `-`.
pub fn expand_slice(slice: &str) -> String {
    let base = slice.strip_suffix(".slice").unwrap_or(slice);
    if base.is_empty() || base == "-" {
        return String::new();
    }
    let mut out = String::new();
    let mut acc = String::new();
    for part in base.split('-') {
        if !acc.is_empty() {
            acc.push('-');
        }
        acc.push_str(part);
        out.push_str(&format!("/{acc}.slice"));
    }
    out
}

/// Whether a cgroupsPath is in the systemd driver's `slice:prefix:name` form.
pub fn is_systemd_path(path: &str) -> bool {
    !path.starts_with('/') && path.split(':').count() == 3
}

/// The cgroup directory (relative to a hierarchy's root, with a leading `/`) a cgroupsPath
/// names: an absolute path as is; a systemd `slice:prefix:name` the scope
/// `<expanded slice>/<unit>` (slice `system.slice` when empty; unit: [`systemd_unit`]), as
/// runc's systemd driver places it.
pub fn cgroup_rel(path: &str) -> String {
    if !is_systemd_path(path) {
        return format!("/{}", path.trim_start_matches('/'));
    }
    let slice = path.split(':').next().unwrap_or("");
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    format!("{}/{}", expand_slice(slice), systemd_unit(path))
}

/// The unit of a systemd cgroupsPath `slice:prefix:name`: `<prefix>-<name>.scope` (`name` when
/// it ends in `.slice`).
pub fn systemd_unit(path: &str) -> String {
    let mut f = path.splitn(3, ':').skip(1);
    let (prefix, name) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
    if name.ends_with(".slice") {
        name.to_string()
    } else {
        format!("{prefix}-{name}.scope")
    }
}

/// Existing directories `<mount>/<dir>` in every hierarchy for a cgroupsPath (absolute, or a
/// systemd path: see [`cgroup_rel`]).
pub fn cgroup_path_dirs(path: &str) -> Vec<PathBuf> {
    let rel = cgroup_rel(path);
    cgroup_mounts()
        .into_iter()
        .map(|m| m.join(rel.trim_start_matches('/')))
        .filter(|p| p.is_dir())
        .collect()
}

/// Processes that belong to the suite's containers: in a cgroup whose path has one of `ids`
/// as a component or is one of `cgroup_paths` (or below), or whose cwd is under `dir`.
pub fn find_processes(
    ids: &BTreeSet<String>,
    cgroup_paths: &BTreeSet<String>,
    dir: &Path,
) -> Vec<(i32, String)> {
    find_processes_in(ids, cgroup_paths, &[dir.to_path_buf()])
}

/// [`find_processes`] with the cwd test over several directories (none: cgroups only).
pub fn find_processes_in(
    ids: &BTreeSet<String>,
    cgroup_paths: &BTreeSet<String>,
    dirs: &[PathBuf],
) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    let cgroup_paths: BTreeSet<String> = cgroup_paths.iter().map(|p| cgroup_rel(p)).collect();
    let dirs: Vec<String> = dirs
        .iter()
        .map(|d| d.to_string_lossy().trim_end_matches('/').to_string())
        .collect();
    for pid in all_pids() {
        if pid == me || !proc_alive(pid) {
            continue;
        }
        let mut why = None;
        if let Ok(cg) = fs::read_to_string(format!("/proc/{pid}/cgroup")) {
            for line in cg.lines() {
                let path = line.splitn(3, ':').nth(2).unwrap_or("");
                let hit_id = path.split('/').any(|c| ids.contains(id_of_cgroup_name(c)));
                let hit_path = cgroup_paths
                    .iter()
                    .any(|p| path == p || path.starts_with(&format!("{p}/")));
                if hit_id || hit_path {
                    why = Some(format!("cgroup {line}"));
                    break;
                }
            }
        }
        if why.is_none() {
            if let Ok(cwd) = fs::read_link(format!("/proc/{pid}/cwd")) {
                let cwd = cwd.to_string_lossy();
                if dirs
                    .iter()
                    .any(|d| cwd == d.as_str() || cwd.starts_with(&format!("{d}/")))
                {
                    why = Some(format!("cwd {cwd}"));
                }
            }
        }
        if let Some(w) = why {
            let cmd = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd: String = String::from_utf8_lossy(&cmd).replace('\0', " ");
            found.push((pid, format!("{} ({w})", cmd.trim())));
        }
    }
    found
}

/// Writes `text` to `path`, creating parent directories.
pub fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    let mut f = File::create(path).map_err(|e| format!("create {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("write {}: {e}", path.display()))
}

/// Whether the host's `/sys/fs/cgroup` is itself a cgroup2 mount (unified mode). Otherwise the
/// v1 hierarchies are mounted below it (legacy or hybrid mode).
pub fn host_cgroup_v2() -> bool {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    parse_mountinfo(&text)
        .into_iter()
        .rev()
        .find(|m| m.mount_point == "/sys/fs/cgroup")
        .is_some_and(|m| m.fstype == "cgroup2")
}

/// The host's `cgroup.procs` for an absolute cgroupsPath: in the unified tree on a v2 host,
/// in the `pids` hierarchy on a v1 or hybrid one.
pub fn cgroup_procs_file(path: &str) -> PathBuf {
    let base = if host_cgroup_v2() {
        PathBuf::from("/sys/fs/cgroup")
    } else {
        PathBuf::from("/sys/fs/cgroup/pids")
    };
    base.join(cgroup_rel(path).trim_start_matches('/'))
        .join("cgroup.procs")
}

/// The pids listed in a `cgroup.procs` file (none if it cannot be read).
pub fn read_pids(p: &Path) -> Vec<i32> {
    fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The runtime started through `sh`, which first opens fds 3, 4, ... for writing on `paths`:
/// the runtime inherits them without `CLOEXEC`, as from a caller that passes extra files.
pub fn runtime_with_fds(ctx: &Ctx, paths: &[&Path], args: &[&str]) -> Command {
    let mut script = String::from("exec");
    for i in 0..paths.len() {
        script.push_str(&format!(" {}>\"${}\"", i + 3, i + 1));
    }
    script.push_str(&format!("; shift {}; exec \"$@\"", paths.len()));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg("sh")
        .args(paths)
        .arg(&ctx.runtime)
        .args(ctx.global_args())
        .args(args);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_paths_map_to_their_scope() {
        assert_eq!(expand_slice("system.slice"), "/system.slice");
        assert_eq!(expand_slice("a-b.slice"), "/a.slice/a-b.slice");
        assert_eq!(expand_slice("-.slice"), "");
        assert_eq!(
            cgroup_rel("system.slice:spec:x"),
            "/system.slice/spec-x.scope"
        );
        assert_eq!(
            cgroup_rel("a-b.slice:p:n-1"),
            "/a.slice/a-b.slice/p-n-1.scope"
        );
        assert_eq!(cgroup_rel(":cella:id"), "/system.slice/cella-id.scope");
        assert_eq!(cgroup_rel("/abs/path"), "/abs/path");
        assert_eq!(cgroup_rel("rel/path"), "/rel/path");
        assert_eq!(systemd_unit("system.slice:runc:id"), "runc-id.scope");
        assert!(!is_systemd_path("/a:b:c"));
        assert!(!is_systemd_path("a:b"));
        assert_eq!(id_of_cgroup_name("runc-st-x-1.scope"), "st-x-1");
        assert_eq!(id_of_cgroup_name("st-x-1"), "st-x-1");
    }
}
