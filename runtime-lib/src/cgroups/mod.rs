//! Cgroups: the host's mode (v1, hybrid, v2) detected from mountinfo, and
//! the container's cgroup behind one type whatever the mode.
//!
//! Every function takes its paths from a [`HostCgroups`], so tests can point
//! it at a temporary directory instead of `/sys/fs/cgroup`.

mod delegation;
mod devices_bpf;
mod oom;
mod ownership;
mod stats;
pub mod systemd;
mod v1;
mod v2;

use std::path::{Path, PathBuf};

use nix::unistd::Pid;

use crate::error::{ChildError, Step};
use crate::mountinfo::unescape;

pub use crate::cgroup_types::{
    CgroupWrite, ContainerCgroup, DeviceRule, Found, Hierarchy, HostCgroups, Mode, Ownership,
    Version,
};
pub use oom::OomWatcher;
pub use stats::Stats;

/// A cgroup operation that failed, with the file or directory it touched.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A cgroup file or directory could not be used.
    #[error("cgroup: {op} {path}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The eBPF device filter (cgroup v2) could not be loaded or attached.
    #[error(
        "cgroup: {step} device filter for {path}{}",
        if .log.is_empty() { String::new() } else { format!(" (verifier log:\n{})", .log) }
    )]
    DeviceProgram {
        /// `load`, `query`, `open` (an old filter), `attach` or `detach`.
        step: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// Why it failed.
        #[source]
        errno: nix::errno::Errno,
        /// The verifier's explanation of a refused load (else empty).
        log: String,
    },
    /// The host has no cgroup hierarchy we can use.
    #[error("cgroup: {0}")]
    Unsupported(String),
}

/// Moves the calling process, which must be single-threaded (a fresh
/// fork), into a v1 cgroup by writing `0` to each of
/// [`ContainerCgroup::self_join_files`]. Where a `tasks` file refuses the
/// write (a delegation that grants `cgroup.procs` only), the process's pid
/// goes to that directory's `cgroup.procs` instead, as the runtime would
/// have written it. The error names the file that failed.
pub fn join_self(tasks_files: &[PathBuf]) -> Result<(), ChildError> {
    use nix::errno::Errno;
    let write = |path: &Path, text: &[u8]| -> Result<(), Errno> {
        // No O_CREAT or O_TRUNC: a missing file is an error, never made.
        let fd = nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        nix::unistd::write(&fd, text).map(drop)
    };
    let failed = |path: &Path, errno| {
        ChildError::sys(Step::JoinCgroup, Some(path.display().to_string()), errno)
    };
    for tasks in tasks_files {
        match write(tasks, b"0") {
            Ok(()) => {}
            Err(Errno::EACCES | Errno::EPERM) => {
                let procs = tasks.with_file_name("cgroup.procs");
                let pid = nix::unistd::getpid().as_raw().to_string();
                write(&procs, pid.as_bytes()).map_err(|e| failed(&procs, e))?;
            }
            Err(e) => return Err(failed(tasks, e)),
        }
    }
    Ok(())
}

pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

impl HostCgroups {
    /// Reads `/proc/self/mountinfo`.
    pub fn detect() -> Result<Self, CgroupError> {
        let path = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(path).map_err(io_err("read", path))?;
        Self::from_mountinfo(&text)
    }

    /// Parses mountinfo text.
    pub fn from_mountinfo(text: &str) -> Result<Self, CgroupError> {
        let mut v1 = Vec::new();
        let mut unified = None;
        for line in text.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            if l.len() < 5 || r.len() < 3 {
                continue;
            }
            let mountpoint = unescape(l[4]);
            match r[0] {
                "cgroup2" => unified = Some(mountpoint),
                "cgroup" => {
                    let name = r[2]
                        .split(',')
                        .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("clone_children"))
                        .filter(|o| !matches!(*o, "noprefix" | "xattr" | "cpuset_v2_mode"))
                        .filter(|o| !o.starts_with("release_agent="))
                        .collect::<Vec<_>>()
                        .join(",");
                    // A hierarchy mounted twice (bind mounts) is used once.
                    if !v1.iter().any(|h: &Hierarchy| h.name == name) {
                        v1.push(Hierarchy {
                            name,
                            mountpoint,
                            root: unescape(l[3]),
                        });
                    }
                }
                _ => {}
            }
        }
        let mode = match (v1.is_empty(), &unified) {
            (true, Some(_)) => Mode::Unified,
            (false, Some(_)) => Mode::Hybrid,
            (false, None) => Mode::Legacy,
            (true, None) => {
                return Err(CgroupError::Unsupported(
                    "no cgroup filesystem is mounted".into(),
                ))
            }
        };
        Ok(HostCgroups { mode, v1, unified })
    }
}

/// The caller's own cgroups, from `/proc/self/cgroup`: `(hierarchy, path)`;
/// the v2 entry has an empty name.
pub fn own_cgroups(text: &str) -> Vec<(String, PathBuf)> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let name = parts.next()?;
            let path = parts.next()?;
            Some((name.to_string(), PathBuf::from(path)))
        })
        .collect()
}

impl ContainerCgroup {
    /// Creates the missing directories, adding each one it made to `made`
    /// (parents first) as it goes: a failure half-way leaves `made` naming
    /// what to undo. Whether an existing cgroup may be used is the plan's
    /// to say, before.
    pub fn create(&self, made: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
        match self {
            ContainerCgroup::V1 { dirs } => v1::create(dirs, made),
            ContainerCgroup::V2 { dir } => v2::create(dir, made),
        }
    }

    /// On cgroup v2, enables every available controller above the
    /// container's directory when someone else (systemd) made it.
    pub fn enable_controllers_above(&self) {
        if let ContainerCgroup::V2 { dir } = self {
            v2::enable_above(dir);
        }
    }

    /// Writes resource limits (from `plan::cgroup_writes`). A file the host
    /// lacks is an error naming the config field: the kernel cannot
    /// enforce it.
    pub fn apply_writes(&self, list: &[CgroupWrite]) -> Result<(), CgroupError> {
        match self {
            ContainerCgroup::V1 { dirs } => v1::apply_writes(dirs, list),
            ContainerCgroup::V2 { dir } => list.iter().try_for_each(|w| write_one(dir, w)),
        }
    }

    /// Moves a process into the cgroup.
    pub fn add_process(&self, pid: Pid) -> Result<(), CgroupError> {
        let each = |dir: &Path| {
            let f = dir.join("cgroup.procs");
            std::fs::write(&f, pid.as_raw().to_string()).map_err(io_err("write", &f))
        };
        match self {
            ContainerCgroup::V1 { dirs } => dirs.iter().try_for_each(|(_, d)| each(d)),
            ContainerCgroup::V2 { dir } => each(dir),
        }
    }

    /// Applies device access rules.
    pub fn apply_device_rules(&self, rules: &[DeviceRule]) -> Result<(), CgroupError> {
        match self {
            ContainerCgroup::V1 { dirs } => v1::apply_device_rules(dirs, rules),
            ContainerCgroup::V2 { dir } => v2::apply_device_rules(dir, rules),
        }
    }

    /// The pids in the cgroup (for v1, in the freezer hierarchy, else the first).
    pub fn pids(&self) -> Result<Vec<Pid>, CgroupError> {
        let dir = self.main_dir();
        let f = dir.join("cgroup.procs");
        let text = match std::fs::read_to_string(&f) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            r => r.map_err(io_err("read", &f))?,
        };
        Ok(text
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .map(Pid::from_raw)
            .collect())
    }

    /// Resource usage, in runc's stats format.
    pub fn stats(&self) -> Stats {
        match self {
            ContainerCgroup::V1 { dirs } => stats::v1(dirs),
            ContainerCgroup::V2 { dir } => stats::v2(dir),
        }
    }

    /// The memory usage and its limit now, for `checkBeforeUpdate`.
    pub fn memory_usage(&self) -> Option<u64> {
        let (dir, file) = match self {
            ContainerCgroup::V1 { dirs } => (
                dirs.iter()
                    .find(|(n, _)| n.split(',').any(|c| c == "memory"))?
                    .1
                    .clone(),
                "memory.usage_in_bytes",
            ),
            ContainerCgroup::V2 { dir } => (dir.clone(), "memory.current"),
        };
        std::fs::read_to_string(dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Freezes (`true`) or thaws the cgroup and waits until the kernel says so.
    pub fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        match self {
            ContainerCgroup::V1 { dirs } => v1::set_frozen(dirs, frozen),
            ContainerCgroup::V2 { dir } => v2::set_frozen(dir, frozen),
        }
    }

    /// Whether the cgroup is frozen (paused).
    pub fn is_frozen(&self) -> bool {
        match self {
            ContainerCgroup::V1 { dirs } => v1::is_frozen(dirs),
            ContainerCgroup::V2 { dir } => v2::is_frozen(dir),
        }
    }

    /// Sends `signal` to every process in the cgroup's subtree but those in
    /// directories that are not the container's (`own.foreign`), freezing
    /// it first so that none can fork away from the kill. Returns the
    /// processes it failed to signal (one that exited meanwhile is no
    /// failure).
    pub fn signal_all(
        &self,
        signal: nix::sys::signal::Signal,
        own: &Ownership,
    ) -> Result<Vec<String>, CgroupError> {
        if !self.main_dir().is_dir() {
            return Ok(Vec::new());
        }
        // v2 kills a whole subtree atomically, forks included: only where
        // all of it is the container's.
        if let ContainerCgroup::V2 { dir } = self {
            let kill = dir.join("cgroup.kill");
            if signal == nix::sys::signal::Signal::SIGKILL
                && own.foreign.is_empty()
                && kill.exists()
            {
                return match std::fs::write(&kill, "1") {
                    // Removed since it was looked at (systemd removes an emptied scope's
                    // cgroup at once): the kernel removes only an empty cgroup, so nothing
                    // is left to kill.
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV | libc::ENOENT)) => {
                        Ok(Vec::new())
                    }
                    written => written.map(|()| Vec::new()).map_err(io_err("write", &kill)),
                };
            }
        }
        self.while_frozen(|| {
            let mut failed = Vec::new();
            for pid in self.subtree_pids(own)? {
                match nix::sys::signal::kill(pid, signal) {
                    Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                    Err(e) => failed.push(format!("kill {pid} {signal}: {e}")),
                }
            }
            Ok(failed)
        })?
    }

    /// Runs `f` with the cgroup frozen where it can be, so that no process
    /// in it forks meanwhile; a paused cgroup stays paused (its processes
    /// get a signal when it is resumed).
    pub fn while_frozen<T>(&self, f: impl FnOnce() -> T) -> Result<T, CgroupError> {
        let freeze = self.can_freeze() && !self.is_frozen();
        if freeze {
            self.set_frozen(true)?;
        }
        let out = f();
        if freeze {
            self.set_frozen(false)?;
        }
        Ok(out)
    }

    /// The processes of the cgroup's subtree (v1: in the freezer hierarchy,
    /// else the first), but those in directories that are not the
    /// container's (`own.foreign`).
    pub fn subtree_pids(&self, own: &Ownership) -> Result<Vec<Pid>, CgroupError> {
        let mut pids = Vec::new();
        ownership::walk(self.main_dir(), &mut |dir, found| {
            if !own.is_foreign(dir) {
                pids.extend_from_slice(found);
            }
        })?;
        Ok(pids)
    }

    fn can_freeze(&self) -> bool {
        match self {
            ContainerCgroup::V1 { dirs } => dirs.iter().any(|(n, _)| n == "freezer"),
            ContainerCgroup::V2 { dir } => dir.join("cgroup.freeze").exists(),
        }
    }

    fn main_dir(&self) -> &Path {
        match self {
            ContainerCgroup::V1 { dirs } => dirs
                .iter()
                .find(|(n, _)| n == "freezer")
                .or_else(|| dirs.first())
                .map(|(_, d)| d.as_path())
                .unwrap_or(Path::new("/nonexistent")),
            ContainerCgroup::V2 { dir } => dir,
        }
    }

    /// Removes what of the cgroup the container made (`own.created`): in
    /// each hierarchy the directories below its cgroup (but those that are
    /// not its, `own.foreign`), the cgroup itself if it made it, then the
    /// levels above that it made, once no one else has a cgroup there.
    /// Missing directories are fine (delete is idempotent after a crash).
    /// Returns what could not be removed, and why.
    pub fn remove(&self, own: &Ownership) -> Vec<String> {
        let mut warnings = Vec::new();
        let leaves = self.leaves();
        // One wait for processes that are dying, not one per directory: a
        // directory someone else's process keeps busy stays busy.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
        for leaf in &leaves {
            remove_tree(leaf, own, own.made(leaf), until, &mut warnings);
        }
        let mut above: Vec<&PathBuf> = own
            .created
            .iter()
            .filter(|d| !leaves.contains(&d.as_path()))
            .collect();
        above.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in above {
            match std::fs::remove_dir(dir) {
                Err(e)
                    if !matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT | libc::EBUSY | libc::ENOTEMPTY)
                    ) =>
                {
                    warnings.push(format!("cgroup {} not removed: {e}", dir.display()))
                }
                // Gone, or in use by another cgroup: not ours to wait for.
                _ => {}
            }
        }
        warnings
    }
}

/// One write; ENOENT means the host's kernel has no such knob.
pub(crate) fn write_one(dir: &Path, w: &CgroupWrite) -> Result<(), CgroupError> {
    let path = dir.join(&w.file);
    let res = std::fs::write(&path, &w.value);
    if w.optional
        && res
            .as_ref()
            .is_err_and(|e| e.raw_os_error() == Some(libc::ENOENT))
    {
        return Ok(());
    }
    res.map_err(|e| {
        let reason = match e.raw_os_error() {
            Some(libc::ENOENT) => format!(
                "{} does not exist on this host: the kernel cannot enforce it",
                path.display()
            ),
            _ => format!("writing {:?} to {}: {e}", w.value, path.display()),
        };
        CgroupError::Unsupported(format!("{}: {reason}", w.field))
    })
}

/// Removes the directories below `dir` bottom-up, but those that are not
/// the container's, then `dir` itself if `and_self` (cgroup directories can
/// only be rmdir'ed, and only once their children are gone). Retries
/// briefly on EBUSY: a process that just died may take a moment to leave
/// the cgroup (until `until`). Returns whether nothing is left below `dir`;
/// what stays is said in `warnings`.
fn remove_tree(
    dir: &Path,
    own: &Ownership,
    and_self: bool,
    until: std::time::Instant,
    warnings: &mut Vec<String>,
) -> bool {
    // Nearly always nothing is below and no process is left: then one rmdir
    // does it (the kernel refuses it while a child cgroup or a process is
    // there), sparing a listing of every control file. Otherwise it fails,
    // and the walk below does what it says.
    if and_self {
        match std::fs::remove_dir(dir) {
            Ok(()) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            Err(_) => {}
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
        Err(e) => {
            warnings.push(format!("cgroup {} not removed: read: {e}", dir.display()));
            return false;
        }
        Ok(entries) => entries,
    };
    let mut emptied = true;
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let child = e.path();
        // A child that is not the container's stays, and so its parent.
        if own.is_foreign(&child) || !remove_tree(&child, own, true, until, warnings) {
            emptied = false;
        }
    }
    if !and_self {
        return emptied;
    }
    if !emptied {
        warnings.push(format!(
            "cgroup {} not removed: a cgroup below it is not the container's or could not be \
             removed",
            dir.display()
        ));
        return false;
    }
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY) && std::time::Instant::now() < until =>
            {
                // Why a sleep: a retry of rmdir, not a wait for one event.
                // The EBUSY comes from processes killed just before that
                // are still exiting; v1 has nothing that notifies their
                // going, and this loop serves both versions (on v2 a wait
                // for "populated 0" in cgroup.events could replace it).
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => {
                let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                let pids: Vec<&str> = procs.split_whitespace().collect();
                let held = if pids.is_empty() {
                    String::new()
                } else {
                    format!(" (processes {} are in it)", pids.join(" "))
                };
                warnings.push(format!("cgroup {} not removed: {e}{held}", dir.display()));
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:28 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
36 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
37 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
33 31 0:29 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
";

    #[test]
    fn detects_hybrid_and_resolves_paths() {
        let host = HostCgroups::from_mountinfo(HYBRID).unwrap();
        assert_eq!(host.mode, Mode::Hybrid);
        let names: Vec<_> = host.v1.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["memory", "cpu,cpuacct", "name=systemd"]);
        let own = own_cgroups("4:memory:/user/shell\n2:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n");
        let rel = ContainerCgroup::resolve(&host, &own, Path::new("ctr"));
        let abs = ContainerCgroup::resolve(&host, &own, Path::new("/a/b"));
        let ContainerCgroup::V1 { dirs } = rel else {
            panic!()
        };
        assert_eq!(
            dirs[0].1,
            PathBuf::from("/sys/fs/cgroup/memory/user/shell/ctr")
        );
        assert_eq!(dirs[1].1, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/ctr"));
        // The cgroup2 tree last, named "" as in /proc/self/cgroup, joined through
        // cgroup.procs (it has no tasks file).
        assert_eq!(
            dirs[3],
            (String::new(), PathBuf::from("/sys/fs/cgroup/unified/ctr"))
        );
        let joins = ContainerCgroup::V1 { dirs: dirs.clone() }
            .self_join_files()
            .unwrap();
        assert_eq!(
            joins[3],
            PathBuf::from("/sys/fs/cgroup/unified/ctr/cgroup.procs")
        );
        assert_eq!(
            joins[0],
            PathBuf::from("/sys/fs/cgroup/memory/user/shell/ctr/tasks")
        );
        let ContainerCgroup::V1 { dirs } = abs else {
            panic!()
        };
        assert_eq!(dirs[0].1, PathBuf::from("/sys/fs/cgroup/memory/a/b"));
        assert_eq!(dirs[3].1, PathBuf::from("/sys/fs/cgroup/unified/a/b"));
    }

    #[test]
    fn self_join_writes_zero_to_every_v1_tasks_file_and_names_a_missing_one() {
        let root = std::env::temp_dir().join(format!("cella-selfjoin-{}", std::process::id()));
        let dirs: Vec<(String, PathBuf)> = ["cpu", "memory"]
            .iter()
            .map(|c| (c.to_string(), root.join(c).join("ctr")))
            .collect();
        for (_, d) in &dirs {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("tasks"), "").unwrap();
        }
        let cg = ContainerCgroup::V1 { dirs: dirs.clone() };
        let files = cg.self_join_files().unwrap();
        assert_eq!(files, [dirs[0].1.join("tasks"), dirs[1].1.join("tasks")]);
        join_self(&files).unwrap();
        for f in &files {
            assert_eq!(std::fs::read_to_string(f).unwrap(), "0");
        }
        std::fs::remove_file(&files[1]).unwrap();
        let e = join_self(&files).unwrap_err();
        assert_eq!(
            (e.target, e.errno),
            (
                Some(files[1].display().to_string()),
                Some(nix::errno::Errno::ENOENT as i32)
            )
        );
        std::fs::remove_dir_all(&root).unwrap();
        let v2 = ContainerCgroup::V2 {
            dir: PathBuf::from("/sys/fs/cgroup/x"),
        };
        assert_eq!(v2.self_join_files(), None);
    }

    #[test]
    fn detects_unified() {
        let host = HostCgroups::from_mountinfo(
            "32 31 0:28 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
        )
        .unwrap();
        assert_eq!(host.mode, Mode::Unified);
        // A relative path is below the caller's cgroup's parent, as in runc
        // (the caller's own has processes): a sibling of the caller's.
        let own = own_cgroups("0::/system.slice/x.service\n");
        let cg = ContainerCgroup::resolve(&host, &own, Path::new("x/y"));
        assert_eq!(
            cg,
            ContainerCgroup::V2 {
                dir: PathBuf::from("/sys/fs/cgroup/system.slice/x/y")
            }
        );
        // The caller's own cgroup is the empty path; at the root, the root.
        assert_eq!(
            ContainerCgroup::current(&host, &own),
            ContainerCgroup::V2 {
                dir: PathBuf::from("/sys/fs/cgroup/system.slice/x.service")
            }
        );
        let cg = ContainerCgroup::resolve(&host, &own_cgroups("0::/\n"), Path::new("id"));
        assert_eq!(
            cg,
            ContainerCgroup::V2 {
                dir: PathBuf::from("/sys/fs/cgroup/id")
            }
        );
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cella-cg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// A temporary directory stands in for the v1 hierarchies: the files
    /// the kernel would provide are plain files here.
    #[test]
    fn v1_files_against_a_temp_dir() {
        let base = temp("v1");
        let dirs = vec![
            ("devices".to_string(), base.join("devices/a/ctr")),
            ("freezer".to_string(), base.join("freezer/a/ctr")),
        ];
        let cg = ContainerCgroup::V1 { dirs: dirs.clone() };
        std::fs::create_dir_all(base.join("devices/a")).unwrap();
        std::fs::create_dir_all(base.join("freezer")).unwrap();
        let mut made = Vec::new();
        cg.create(&mut made).unwrap();
        assert!(dirs.iter().all(|(_, d)| d.is_dir()));
        assert_eq!(
            made,
            [
                base.join("devices/a/ctr"),
                base.join("freezer/a"),
                base.join("freezer/a/ctr")
            ]
        );
        let own = Ownership {
            created: made,
            foreign: Vec::new(),
        };
        let rule = DeviceRule {
            allow: true,
            kind: 'c',
            major: Some(1),
            minor: None,
            access: "rw".into(),
        };
        cg.apply_device_rules(std::slice::from_ref(&rule)).unwrap();
        assert_eq!(
            std::fs::read_to_string(dirs[0].1.join("devices.allow")).unwrap(),
            "c 1:* rw"
        );
        std::fs::write(dirs[1].1.join("cgroup.procs"), "12\n34\n").unwrap();
        assert_eq!(cg.pids().unwrap(), [Pid::from_raw(12), Pid::from_raw(34)]);
        assert!(!cg.is_frozen());
        std::fs::write(dirs[1].1.join("freezer.state"), "FROZEN\n").unwrap();
        assert!(cg.is_frozen());
        // Plain files are not removable by rmdir as cgroup files are: clear them first.
        for (_, d) in &dirs {
            for f in std::fs::read_dir(d).unwrap().flatten() {
                std::fs::remove_file(f.path()).unwrap();
            }
        }
        std::fs::create_dir(dirs[0].1.join("nested")).unwrap();
        assert_eq!(cg.remove(&own), Vec::<String>::new());
        assert!(dirs.iter().all(|(_, d)| !d.exists()));
        assert!(!base.join("freezer/a").exists(), "a level it made goes too");
        assert!(
            base.join("devices/a").is_dir(),
            "only what the container made goes"
        );
        assert_eq!(cg.remove(&own), Vec::<String>::new(), "idempotent");
        std::fs::remove_dir_all(base).unwrap();
    }

    /// An adopted cgroup (it existed, empty) stays, and so do the child
    /// cgroups it had; a child made after create goes.
    #[test]
    fn removing_an_adopted_cgroup_keeps_what_was_there() {
        let base = temp("adopted");
        let leaf = base.join("ctr");
        std::fs::create_dir_all(leaf.join("theirs/deeper")).unwrap();
        let cg = ContainerCgroup::V2 { dir: leaf.clone() };
        let found = cg
            .survey(&ContainerCgroup::V2 { dir: base.clone() })
            .unwrap();
        assert_eq!(found[0].busy, None);
        let mut made = Vec::new();
        cg.create(&mut made).unwrap();
        assert!(made.is_empty());
        let own = Ownership {
            created: found[0].missing.clone(),
            foreign: found[0].descendants.clone(),
        };
        std::fs::create_dir(leaf.join("later")).unwrap();
        assert_eq!(cg.remove(&own), Vec::<String>::new());
        assert!(!leaf.join("later").exists());
        assert!(leaf.join("theirs/deeper").is_dir());
        // The same child in a cgroup the container made blocks its removal,
        // which is said.
        let own = Ownership {
            created: vec![leaf.clone()],
            foreign: vec![leaf.join("theirs"), leaf.join("theirs/deeper")],
        };
        let warnings = cg.remove(&own);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("not the container's"), "{warnings:?}");
        assert!(leaf.join("theirs/deeper").is_dir());
        std::fs::remove_dir_all(base).unwrap();
    }

    /// Device rules on v2 are enforced or the call fails naming the step:
    /// a plain directory cannot take a filter (without privileges the load
    /// is refused; with them, the cgroup-only steps are).
    #[test]
    fn v2_device_rules_fail_loudly_outside_a_cgroup() {
        let dir = temp("v2");
        let cg = ContainerCgroup::V2 { dir: dir.clone() };
        let rule = DeviceRule {
            allow: false,
            kind: 'a',
            major: None,
            minor: None,
            access: "rwm".into(),
        };
        let rules = std::slice::from_ref(&rule);
        match cg.apply_device_rules(rules) {
            Err(CgroupError::Io {
                op: "open", path, ..
            }) => assert_eq!(path, dir),
            other => panic!("a missing directory: {other:?}"),
        }
        std::fs::create_dir_all(&dir).unwrap();
        match cg.apply_device_rules(rules) {
            Err(e @ CgroupError::DeviceProgram { .. }) => {
                let CgroupError::DeviceProgram { step, ref path, .. } = e else {
                    unreachable!()
                };
                assert!(matches!(step, "load" | "query"), "{e}");
                assert_eq!(*path, dir);
                assert!(e.to_string().contains("device filter"), "{e}");
            }
            other => panic!("a plain directory: {other:?}"),
        }
        assert!(
            cg.apply_device_rules(&[]).is_ok(),
            "no rules, nothing to do"
        );
        std::fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn v2_create_enables_controllers_level_by_level() {
        let base = temp("v2create");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("cgroup.controllers"), "cpu memory\n").unwrap();
        std::fs::write(base.join("cgroup.subtree_control"), "cpu\n").unwrap();
        let cg = ContainerCgroup::V2 {
            dir: base.join("a/b"),
        };
        let mut made = Vec::new();
        cg.create(&mut made).unwrap();
        assert!(base.join("a/b").is_dir());
        assert_eq!(made, [base.join("a"), base.join("a/b")]);
        // cpu was enabled already; only memory is written (a plain file
        // keeps the last write).
        assert_eq!(
            std::fs::read_to_string(base.join("cgroup.subtree_control")).unwrap(),
            "+memory"
        );
        std::fs::remove_dir_all(base).unwrap();
    }
}
