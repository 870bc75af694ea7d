//! Somebody else's cgroup: a cgroupsPath naming a cgroup that has processes, or is frozen, is
//! refused at create (runc 1.2+ does so: libcontainer's `Create`); and what the container did
//! not make, a process put in its cgroup by someone else among them, is left alone by
//! `kill --all` and `delete`.
//!
//! The "someone else" is the test: a host process (a `sh` answering each line it reads, so
//! that the test can tell it is alive without a timed wait: a killed process cannot answer)
//! that it puts in cgroups it makes itself, in every hierarchy a container uses.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::json;

use crate::bundle::sh;
use crate::harness::skip;
use crate::harness::{
    cgroup_mounts, cgroup_path_dirs, ensure, ensure_eq, host_cgroup_v2, read_pids, wait_until, Ctn,
    Ctx, Output, TestResult,
};

/// Why the tests of a cgroup made by hand before create skip under `--systemd-cgroup`.
const SYSTEMD_MADE_BY_HAND: &str = "--systemd-cgroup: the container's cgroup is its scope unit's, \
    made by systemd when the runtime starts the unit; a directory made by hand at a unit's path \
    is not a case runc's systemd driver defines";

/// The roots of the hierarchies a container's cgroup is in: every v1 hierarchy, or the
/// cgroup2 tree of a v2 host (a hybrid host's cgroup2 tree holds no controller a container
/// needs).
fn hierarchy_roots() -> Vec<PathBuf> {
    if host_cgroup_v2() {
        return vec![PathBuf::from("/sys/fs/cgroup")];
    }
    cgroup_mounts()
        .into_iter()
        .filter(|m| !m.join("cgroup.controllers").exists())
        .collect()
}

/// `rel` (a cgroupsPath without its leading `/`) in each hierarchy.
fn dirs_of(rel: &str) -> Vec<PathBuf> {
    hierarchy_roots().iter().map(|r| r.join(rel)).collect()
}

/// A host process in cgroups the test made. On drop: the cgroups it froze are thawed, the
/// process is killed, the container `id` (if any) is force-deleted, then the directories the
/// test made and any left at `path` are removed, deepest first.
struct Foreign<'a> {
    ctx: &'a Ctx,
    path: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    made: Vec<PathBuf>,
    frozen: Vec<PathBuf>,
    id: Option<String>,
}

impl<'a> Foreign<'a> {
    /// Starts the process (in the suite's own cgroups until [`Foreign::enter`]).
    fn start(ctx: &'a Ctx, path: &str) -> Result<Foreign<'a>, String> {
        let mut child = Command::new("sh")
            .args(["-c", "while read x; do echo \"$x\"; done"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn sh: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Foreign {
            ctx,
            path: path.to_string(),
            child,
            stdin,
            lines,
            made: Vec::new(),
            frozen: Vec::new(),
            id: None,
        })
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Makes cgroup `rel` in every hierarchy, each missing level (a new v1 cpuset level gets
    /// its parent's cpus and mems, or it could take no process).
    fn make(&mut self, rel: &str) -> Result<(), String> {
        for root in hierarchy_roots() {
            let mut dir = root.clone();
            for part in rel.split('/').filter(|p| !p.is_empty()) {
                dir.push(part);
                if dir.is_dir() {
                    continue;
                }
                fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
                self.made.push(dir.clone());
                if root.ends_with("cpuset") {
                    for f in ["cpuset.cpus", "cpuset.mems"] {
                        let parent = dir.parent().unwrap_or(&dir).join(f);
                        let v = fs::read_to_string(&parent).unwrap_or_default();
                        fs::write(dir.join(f), v.trim())
                            .map_err(|e| format!("write {}: {e}", dir.join(f).display()))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Moves the process into cgroup `rel` of every hierarchy.
    fn enter(&self, rel: &str) -> Result<(), String> {
        for dir in dirs_of(rel) {
            let procs = dir.join("cgroup.procs");
            fs::write(&procs, self.pid().to_string())
                .map_err(|e| format!("move {} to {}: {e}", self.pid(), procs.display()))?;
        }
        Ok(())
    }

    /// Whether the process is still in cgroup `rel` of every hierarchy.
    fn is_in(&self, rel: &str) -> TestResult {
        let outside: Vec<_> = dirs_of(rel)
            .into_iter()
            .filter(|d| !read_pids(&d.join("cgroup.procs")).contains(&self.pid()))
            .collect();
        ensure(outside.is_empty(), || {
            format!("process {} is no longer in {outside:?}", self.pid())
        })
    }

    /// Freezes cgroup `rel` (v1 freezer.state, v2 cgroup.freeze) and waits until it is.
    fn freeze(&mut self, rel: &str) -> Result<(), String> {
        let (dir, file, value) = if host_cgroup_v2() {
            (Path::new("/sys/fs/cgroup").join(rel), "cgroup.freeze", "1")
        } else {
            (
                Path::new("/sys/fs/cgroup/freezer").join(rel),
                "freezer.state",
                "FROZEN",
            )
        };
        fs::write(dir.join(file), value).map_err(|e| format!("freeze {}: {e}", dir.display()))?;
        self.frozen.push(dir);
        ensure(
            wait_until(Duration::from_secs(5), || self.still_frozen().is_ok()),
            || format!("{rel} did not freeze"),
        )
    }

    /// Whether every cgroup the test froze still is.
    fn still_frozen(&self) -> TestResult {
        for dir in &self.frozen {
            let frozen = if host_cgroup_v2() {
                fs::read_to_string(dir.join("cgroup.events"))
                    .unwrap_or_default()
                    .lines()
                    .any(|l| l == "frozen 1")
            } else {
                fs::read_to_string(dir.join("freezer.state"))
                    .unwrap_or_default()
                    .trim()
                    == "FROZEN"
            };
            ensure(frozen, || format!("{} is no longer frozen", dir.display()))?;
        }
        Ok(())
    }

    /// Asks the process to echo a line: it answers unless it was killed (end of file) or
    /// stopped (no answer in 10 s, which only bounds a failure).
    fn answers(&mut self, when: &str) -> TestResult {
        let pid = self.pid();
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        if writeln!(stdin, "ping")
            .and_then(|()| stdin.flush())
            .is_err()
        {
            return Err(format!(
                "{when}: process {pid} is gone (its stdin is closed)"
            ));
        }
        match self.lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line == "ping" => Ok(()),
            Ok(line) => Err(format!("{when}: process {pid} answered {line:?}")),
            Err(RecvTimeoutError::Disconnected) => Err(format!(
                "{when}: process {pid} was killed (its stdout ended)"
            )),
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "{when}: process {pid} did not answer in 10 s (stopped?)"
            )),
        }
    }
}

impl Drop for Foreign<'_> {
    fn drop(&mut self) {
        for dir in &self.frozen {
            let (file, value) = match host_cgroup_v2() {
                true => ("cgroup.freeze", "0"),
                false => ("freezer.state", "THAWED"),
            };
            let _ = fs::write(dir.join(file), value);
        }
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(id) = &self.id {
            let _ = self.ctx.rt(&["delete", "--force", id]);
        }
        let mut dirs = self.made.clone();
        dirs.extend(cgroup_path_dirs(&self.path));
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            wait_until(Duration::from_secs(3), || {
                fs::remove_dir(&d).is_ok() || !d.exists()
            });
        }
    }
}

/// A container with cgroupsPath `path` running `script`, with `resources` when not null.
fn container<'a>(
    ctx: &'a Ctx,
    path: &str,
    script: &str,
    resources: serde_json::Value,
) -> Result<Ctn<'a>, String> {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh(script);
    cfg["linux"]["cgroupsPath"] = json!(path);
    if !resources.is_null() {
        cfg["linux"]["resources"] = resources;
    }
    c.write_config(&cfg)?;
    Ok(c)
}

/// A refused create: exit 1, stderr naming linux.cgroupsPath (under --check-messages), no
/// state directory.
fn refused(ctx: &Ctx, c: &Ctn, out: &Output) -> TestResult {
    ensure_eq(out.code, 1, &format!("create ({})", out.describe()))?;
    if ctx.check_messages {
        ensure(out.stderr.contains("linux.cgroupsPath"), || {
            format!("stderr should name linux.cgroupsPath: {}", out.describe())
        })?;
    }
    let state_dir = ctx.root.join(&c.id);
    ensure(!state_dir.exists(), || {
        format!("state directory left: {}", state_dir.display())
    })
}

/// A cgroupsPath naming an existing cgroup with a process in a child cgroup (in every
/// hierarchy) is refused, naming linux.cgroupsPath; the process, the cgroup, its child and its
/// limits are as they were.
pub fn refuses_cgroup_with_processes(ctx: &Ctx) -> TestResult {
    if ctx.systemd {
        return Err(skip(SYSTEMD_MADE_BY_HAND));
    }
    let path = ctx.new_cgroup_path("");
    let rel = path.trim_start_matches('/').to_string();
    let mut other = Foreign::start(ctx, &path)?;
    other.make(&format!("{rel}/child"))?;
    other.enter(&format!("{rel}/child"))?;
    let pids_max = hierarchy_roots()
        .into_iter()
        .map(|r| r.join(&rel).join("pids.max"))
        .find(|p| p.exists())
        .ok_or("no pids.max in the test's cgroup")?;
    let before = fs::read_to_string(&pids_max).map_err(|e| e.to_string())?;
    let c = container(ctx, &path, "true", json!({"pids": {"limit": 7}}))?;
    other.id = Some(c.id.clone());
    let out = c.create(&[])?;
    // The cgroup first: a runtime may fail later for another reason (v1 refuses device rules
    // for a cgroup with children) after it rewrote the limits.
    let after = fs::read_to_string(&pids_max).map_err(|e| e.to_string())?;
    ensure_eq(
        after,
        before,
        &format!("{} after create ({})", pids_max.display(), out.describe()),
    )?;
    other.answers("after create")?;
    other.is_in(&format!("{rel}/child"))?;
    refused(ctx, &c, &out)
}

/// A cgroupsPath naming a frozen cgroup is refused (a process put there would stop, and
/// create with it), naming linux.cgroupsPath; the cgroup stays as it was, frozen.
pub fn refuses_frozen_cgroup(ctx: &Ctx) -> TestResult {
    if ctx.systemd {
        return Err(skip(SYSTEMD_MADE_BY_HAND));
    }
    let path = ctx.new_cgroup_path("");
    let rel = path.trim_start_matches('/').to_string();
    let mut other = Foreign::start(ctx, &path)?;
    other.make(&rel)?;
    other.freeze(&rel)?;
    let c = container(ctx, &path, "true", serde_json::Value::Null)?;
    other.id = Some(c.id.clone());
    let out = c.create(&[])?;
    refused(ctx, &c, &out)?;
    ensure(dirs_of(&rel).iter().all(|d| d.is_dir()), || {
        format!("the test's cgroup {rel} was removed")
    })?;
    other.still_frozen()
}

/// A process that someone else put in a child cgroup of a running container's cgroup is not
/// the container's (it is not in the container's pid namespace): `kill --all KILL` kills the
/// container but not it, and `delete` removes the container (exit 0; what it could not remove
/// is a warning) leaving that process and its cgroup alone. runc 1.2+ does the same for the
/// process (kill only reaches the init; delete only kills without a pid namespace of its own)
/// but fails the delete while the cgroup cannot be removed.
pub fn foreign_process_in_child_cgroup_survives(ctx: &Ctx) -> TestResult {
    if ctx.systemd {
        return Err(skip(
            "--systemd-cgroup: delete stops the container's scope, and systemd kills every \
             process in a scope's cgroup tree when it stops it (KillMode=control-group), so a \
             foreign process in a child cgroup cannot survive by design",
        ));
    }
    let path = ctx.new_cgroup_path("");
    let rel = path.trim_start_matches('/').to_string();
    let sub = format!("{rel}/foreign");
    let c = container(ctx, &path, "sleep 1000", serde_json::Value::Null)?;
    let mut other = Foreign::start(ctx, &path)?;
    other.id = Some(c.id.clone());
    c.start_new()?;
    other.make(&sub)?;
    other.enter(&sub)?;
    ctx.rt_ok(&["kill", "--all", &c.id, "KILL"])?;
    c.wait_status("stopped")?;
    other.answers("after kill --all")?;
    let out = ctx.rt(&["delete", &c.id])?;
    ensure_eq(out.code, 0, &format!("delete ({})", out.describe()))?;
    other.answers("after delete")?;
    other.is_in(&sub)?;
    ensure(ctx.rt(&["state", &c.id])?.code != 0, || {
        "state still works after delete".to_string()
    })?;
    if ctx.check_messages {
        ensure(out.stderr.contains(&sub), || {
            format!("delete should warn that {sub} was left: {}", out.describe())
        })?;
    }
    Ok(())
}

/// `kill --all ID KILL` on a stopped container succeeds and signals nothing, as in runc 1.2+
/// (runc 1.1 signalled whatever was in the cgroup): a process someone put in its cgroup
/// afterwards lives on. Once it is gone, delete removes the cgroup.
pub fn kill_all_stopped_leaves_foreign_process(ctx: &Ctx) -> TestResult {
    if ctx.systemd {
        return Err(skip(
            "--systemd-cgroup: systemd stops a scope, and removes its cgroup, once its last \
             process exits, so there is no cgroup of the stopped container to put a process in",
        ));
    }
    let path = ctx.new_cgroup_path("");
    let rel = path.trim_start_matches('/').to_string();
    let c = container(ctx, &path, "true", serde_json::Value::Null)?;
    let mut other = Foreign::start(ctx, &path)?;
    other.id = Some(c.id.clone());
    c.start_new()?;
    c.wait_status("stopped")?;
    other.enter(&rel)?;
    ctx.rt_ok(&["kill", "--all", &c.id, "KILL"])?;
    other.answers("after kill --all on the stopped container")?;
    other.is_in(&rel)?;
    let _ = other.child.kill();
    let _ = other.child.wait();
    ctx.rt_ok(&["delete", &c.id])?;
    let gone = wait_until(Duration::from_secs(3), || {
        cgroup_path_dirs(&path).is_empty()
    });
    ensure(gone, || {
        format!(
            "cgroup directories left after delete: {:?}",
            cgroup_path_dirs(&path)
        )
    })
}
