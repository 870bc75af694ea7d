//! What every engine's tests share: the runtime under test, the work
//! directory, the unique prefix that names everything the suite creates, the
//! images, and reading the host's view of a container (`/proc`, cgroups).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{Cmd, Out};

/// A test's outcome: `Err` with a reason, or a skip (see [`skip`]).
pub type TestResult = Result<(), String>;

const SKIP: &str = "SKIP: ";

/// A skip: the host cannot run the test (the reason says why).
pub fn skip(reason: impl AsRef<str>) -> String {
    format!("{SKIP}{}", reason.as_ref())
}

/// The reason of a skip, or `None` for a failure.
pub fn skip_reason(e: &str) -> Option<&str> {
    e.strip_prefix(SKIP)
}

pub struct Env {
    /// The runtime binary under test (absolute).
    pub runtime: PathBuf,
    /// A short label of it for ids (`cella`, `runc`).
    pub runtime_name: String,
    /// The busybox rootfs the images are made from.
    pub rootfs: PathBuf,
    /// `/tmp/engine-tests-<pid>`: everything the suite makes lives here,
    /// except what an engine insists on putting elsewhere (listed in
    /// `leftovers.rs`).
    pub work: PathBuf,
    /// `engine-tests-<pid>`: names cgroups, namespaces and the network
    /// namespace, so that clean-up never has to guess.
    pub prefix: String,
    /// Directory of this binary's helper scripts (`cri_client.py`).
    pub scripts: PathBuf,
    /// Every engine on the systemd cgroup driver (`--systemd-cgroup`): the
    /// containers' cgroups are transient scopes in slices of the suite's.
    pub systemd: bool,
    /// `engine_tests_<pid>`: names the suite's slices under the systemd
    /// driver (`engine_tests_<pid>.slice` and, one per engine, nested in it,
    /// `engine_tests_<pid>-<engine>.slice`: a `-` nests slices, so the
    /// prefix has none).
    pub unit_prefix: String,
    /// The host has AppArmor enabled: the engines give their containers
    /// their default profiles (docker-default, cri-containerd.apparmor.d,
    /// containers-default-*), and tests check that the processes run under
    /// them ([`Env::expect_apparmor`]).
    pub apparmor: bool,
    /// Command output scratch directory.
    out_dir: PathBuf,
}

/// Where an engine puts its containers' cgroups.
pub struct CgroupParent {
    /// What the engine is given: a cgroup path (cgroupfs driver) or a slice
    /// name (systemd driver).
    pub arg: String,
    /// The cgroup path, as `/proc/<pid>/cgroup` shows it, that the
    /// containers' cgroups are under.
    pub path: String,
    /// The slice unit (systemd driver only).
    pub slice: Option<String>,
}

impl Env {
    pub fn new(
        runtime: PathBuf,
        rootfs: PathBuf,
        scripts: PathBuf,
        systemd: bool,
    ) -> Result<Env, String> {
        let pid = std::process::id();
        let work = PathBuf::from(format!("/tmp/engine-tests-{pid}"));
        let out_dir = work.join("out");
        std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
        let runtime_name = runtime
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "runtime".into())
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        Ok(Env {
            runtime,
            runtime_name,
            rootfs,
            work,
            prefix: format!("engine-tests-{pid}"),
            scripts,
            systemd,
            unit_prefix: format!("engine_tests_{pid}"),
            apparmor: std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                .is_ok_and(|s| s.trim() == "Y"),
            out_dir,
        })
    }

    /// The cgroup parent of `engine`'s containers: `/engine-tests-<pid>-<engine>`
    /// (cgroupfs), or the slice `engine_tests_<pid>-<engine>.slice`, at
    /// `/engine_tests_<pid>.slice/engine_tests_<pid>-<engine>.slice` (systemd).
    pub fn cgroup_parent(&self, engine: &str) -> CgroupParent {
        if self.systemd {
            let top = format!("{}.slice", self.unit_prefix);
            let slice = format!("{}-{engine}.slice", self.unit_prefix);
            CgroupParent {
                arg: slice.clone(),
                path: format!("/{top}/{slice}"),
                slice: Some(slice),
            }
        } else {
            let path = format!("/{}-{engine}", self.prefix);
            CgroupParent {
                arg: path.clone(),
                path,
                slice: None,
            }
        }
    }

    /// Removes an engine's cgroup parent once its containers are gone: the
    /// directory (cgroupfs; `extra` are directories the engine made in it,
    /// removed first) or the slice, stopped (systemd). One that still holds
    /// something stays, for `suite.no_leftovers` to report.
    pub fn remove_cgroup_parent(&self, parent: &CgroupParent, extra: &[&str]) {
        match &parent.slice {
            None => {
                for e in extra {
                    remove_cgroup_parent(&format!("{}/{e}", parent.path));
                }
                remove_cgroup_parent(&parent.path);
            }
            Some(slice) => {
                let dir = PathBuf::from(format!("/sys/fs/cgroup{}", parent.path));
                let empty = crate::cmd::wait_until(Duration::from_secs(10), || !has_children(&dir));
                if empty {
                    let _ = self.run(Cmd::new("systemctl").args(["stop", slice]));
                }
            }
        }
    }

    /// Where AppArmor is on, that `label` (a process's
    /// `/proc/PID/attr/current`) is the engine's default profile `profile`
    /// (its name, or the start of it), enforced; nothing elsewhere.
    pub fn expect_apparmor(&self, label: &str, profile: &str, what: &str) -> TestResult {
        if !self.apparmor {
            return Ok(());
        }
        let label = label.trim_end_matches(['\0', '\n']).trim();
        ensure(
            label.starts_with(profile) && label.ends_with(" (enforce)"),
            || format!("{what}: AppArmor label {label:?}, expected {profile}* (enforce)"),
        )
    }

    /// [`Env::expect_apparmor`] for process `pid`, read from the host.
    pub fn expect_apparmor_of(&self, pid: i32, profile: &str, what: &str) -> TestResult {
        if !self.apparmor {
            return Ok(());
        }
        let path = format!("/proc/{pid}/attr/current");
        let label = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        self.expect_apparmor(&label, profile, what)
    }

    /// A directory under the work dir, created.
    pub fn dir(&self, rel: &str) -> Result<PathBuf, String> {
        let d = self.work.join(rel);
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        Ok(d)
    }

    /// Runs `cmd`, capturing its output.
    pub fn run(&self, cmd: Cmd) -> Result<Out, String> {
        cmd.run_in(&self.out_dir)
    }

    /// Runs `cmd`; it must exit 0.
    pub fn run_ok(&self, cmd: Cmd) -> Result<Out, String> {
        self.run(cmd)?.ok()
    }

    /// The runtime's own view: `RUNTIME --root ROOT ARGS...`.
    pub fn runtime_cmd(&self, root: &Path) -> Cmd {
        Cmd::new(&self.runtime).arg("--root").arg(root)
    }

    /// Ids the runtime lists under `root` (none if the root is absent).
    pub fn runtime_ids(&self, root: &Path) -> Result<Vec<String>, String> {
        if !root.exists() {
            return Ok(Vec::new());
        }
        let out = self.run_ok(self.runtime_cmd(root).args(["list", "-q"]))?;
        Ok(out.stdout.lines().map(str::to_string).collect())
    }

    /// The image tarball of the busybox rootfs, made once.
    pub fn rootfs_tar(&self) -> Result<PathBuf, String> {
        let tar = self.work.join("rootfs.tar");
        if !tar.exists() {
            self.run_ok(
                Cmd::new("tar")
                    .arg("-C")
                    .arg(&self.rootfs)
                    .args(["-cf"])
                    .arg(&tar)
                    .arg("."),
            )?;
        }
        Ok(tar)
    }
}

/// The directories of cgroup `name` in every hierarchy that has it.
fn cgroup_parent_dirs(name: &str) -> Vec<PathBuf> {
    let Ok(top) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Vec::new();
    };
    let mut roots: Vec<PathBuf> = top.flatten().map(|e| e.path()).collect();
    roots.push(PathBuf::from("/sys/fs/cgroup"));
    roots
        .into_iter()
        .filter(|r| r.join("cgroup.procs").exists())
        .map(|r| r.join(name.trim_start_matches('/')))
        .filter(|d| d.is_dir())
        .collect()
}

/// Whether cgroup directory `d` has child cgroups or processes.
fn has_children(d: &Path) -> bool {
    std::fs::read_dir(d)
        .map(|es| {
            es.flatten()
                .any(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        })
        .unwrap_or(false)
        || std::fs::read_to_string(d.join("cgroup.procs")).is_ok_and(|p| !p.trim().is_empty())
}

/// Removes the cgroup `name` (a parent an engine or the runtime made for the
/// suite's containers) from every hierarchy, once its children and processes
/// are gone: an engine may still be deleting them (podman's conmon lives in
/// it until its cleanup, which runs after the container exits), so wait a
/// little.
pub fn remove_cgroup_parent(name: &str) {
    crate::cmd::wait_until(Duration::from_secs(10), || {
        !cgroup_parent_dirs(name).iter().any(|d| has_children(d))
    });
    for d in cgroup_parent_dirs(name) {
        let _ = std::fs::remove_dir(&d);
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> TestResult {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

pub fn ensure_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> TestResult {
    ensure(got == want, || {
        format!("{what}: got {got:?}, want {want:?}")
    })
}

pub fn contains(haystack: &str, needle: &str, what: &str) -> TestResult {
    ensure(haystack.contains(needle), || {
        format!("{what}: {needle:?} not found in {haystack:?}")
    })
}

// ---------------------------------------------------------------------------------------------
// The host's view of a container process

/// The cgroup path of `pid` in the v1 hierarchy `controller` (or the v2
/// path when there is no such v1 hierarchy).
pub fn cgroup_of(pid: i32, controller: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| format!("/proc/{pid}/cgroup: {e}"))?;
    let mut v2 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next(), parts.next(), parts.next());
        let (Some(ctrls), Some(path)) = (ctrls, path) else {
            continue;
        };
        if ctrls.split(',').any(|c| c == controller) {
            return Ok(path.to_string());
        }
        if ctrls.is_empty() {
            v2 = Some(path.to_string());
        }
    }
    v2.ok_or_else(|| format!("pid {pid} has no {controller} cgroup: {text}"))
}

/// Whether the host has a v1 hierarchy for `controller`.
pub fn has_v1(controller: &str) -> bool {
    Path::new("/sys/fs/cgroup")
        .join(controller)
        .join("cgroup.procs")
        .exists()
        && !Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Reads a cgroup file of `pid`'s cgroup: v1 `<controller>/<path>/<file>`
/// or v2 `<path>/<v2_file>`.
pub fn cgroup_file(
    pid: i32,
    controller: &str,
    v1_file: &str,
    v2_file: &str,
) -> Result<String, String> {
    let path = cgroup_of(pid, controller)?;
    let name = if has_v1(controller) { v1_file } else { v2_file };
    let file = cgroup_dir(&path, controller).join(name);
    std::fs::read_to_string(&file)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{}: {e}", file.display()))
}

/// `pid`'s CPU quota is `quota_us` per the default 100 ms period: v1
/// `cpu.cfs_quota_us` holds the quota alone, v2 `cpu.max` "quota period".
pub fn expect_cpu_quota(pid: i32, quota_us: u32, what: &str) -> TestResult {
    let quota = cgroup_file(pid, "cpu", "cpu.cfs_quota_us", "cpu.max")?;
    ensure(
        quota == quota_us.to_string() || quota == format!("{quota_us} 100000"),
        || format!("cpu quota {what}: {quota:?}, want {quota_us} per 100000"),
    )
}

/// The directory of cgroup `path` (as `/proc/<pid>/cgroup` shows it) in the
/// hierarchy of `controller`: its v1 hierarchy, or the v2 tree.
pub fn cgroup_dir(path: &str, controller: &str) -> PathBuf {
    if has_v1(controller) {
        PathBuf::from(format!("/sys/fs/cgroup/{controller}{path}"))
    } else {
        PathBuf::from(format!("/sys/fs/cgroup{path}"))
    }
}

/// FROZEN / THAWED from the host's side.
pub fn freezer_state(pid: i32) -> Result<String, String> {
    let s = cgroup_file(pid, "freezer", "freezer.state", "cgroup.freeze")?;
    Ok(match s.as_str() {
        "1" => "FROZEN".into(),
        "0" => "THAWED".into(),
        _ => s,
    })
}

/// A field of `/proc/<pid>/status` (`Uid`, `CapEff`, ...).
pub fn proc_status(pid: i32, field: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| format!("/proc/{pid}/status has no {field}"))
}

pub fn proc_alive(pid: i32) -> bool {
    // A zombie is gone for our purposes: it runs nothing.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| !r.starts_with('Z')))
        .unwrap_or(false)
}

/// Waits until `pid` is gone.
pub fn wait_gone(pid: i32, timeout: Duration) -> TestResult {
    ensure(crate::cmd::wait_until(timeout, || !proc_alive(pid)), || {
        format!("process {pid} still runs")
    })
}

/// Every cgroup directory in every hierarchy whose path contains `needle`
/// (searching a few levels down, where engines put theirs).
pub fn cgroup_dirs_with(needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(top) = std::fs::read_dir("/sys/fs/cgroup") else {
        return found;
    };
    let mut roots: Vec<PathBuf> = top.flatten().map(|e| e.path()).collect();
    roots.push(PathBuf::from("/sys/fs/cgroup"));
    for root in roots {
        if !root.join("cgroup.procs").exists() {
            continue;
        }
        walk(&root, 0, needle, &mut found);
    }
    found.sort();
    found.dedup();
    found
}

fn walk(dir: &Path, depth: usize, needle: &str, found: &mut Vec<PathBuf>) {
    if depth > 4 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let p = e.path();
        if e.file_name().to_string_lossy().contains(needle) {
            found.push(p.clone());
        }
        walk(&p, depth + 1, needle, found);
    }
}

/// Mount points at or under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let d = dir.to_string_lossy();
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|mp| *mp == d || mp.starts_with(&format!("{d}/")))
        .map(str::to_string)
        .collect();
    v.sort_by_key(|m| std::cmp::Reverse(m.len()));
    v.dedup();
    v
}
