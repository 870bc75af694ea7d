//! Whose cgroup it is: what `create` finds at the container's cgroup before
//! it makes anything (processes, a freezer, directories that exist), and
//! which directories the container made and so may remove.
//!
//! runc 1.2+ (libcontainer `Create`) refuses a cgroup that has processes
//! ("container's cgroup is not empty") or is frozen ("container's cgroup
//! unexpectedly frozen"); runc 1.1 only warned of the first. runc checks one
//! v1 hierarchy (devices); this checks every hierarchy the container uses,
//! and the whole subtree of each, as runc's `GetAllPids` does.

use std::path::{Path, PathBuf};

use nix::unistd::Pid;

use super::{io_err, CgroupError, ContainerCgroup, Ownership};

/// What exists at the container's cgroup before `create` makes anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Existing {
    /// The levels that do not exist yet (parents first): `create` makes them.
    pub missing: Vec<PathBuf>,
    /// Directories strictly below the container's cgroup that exist already
    /// (an adopted cgroup's children): not the container's.
    pub descendants: Vec<PathBuf>,
    /// A directory of the subtree that has processes, and how many.
    pub busy: Option<(PathBuf, usize)>,
    /// The cgroup, or the deepest existing level above it, when frozen: a
    /// process put there would stop at once and `create` would wait for ever.
    pub frozen: Option<PathBuf>,
}

impl Existing {
    /// Why the container may not have this cgroup, if it may not: it is
    /// someone else's while processes live in it, and a frozen one would
    /// hang the container's setup.
    pub fn refusal(&self) -> Option<String> {
        if let Some((dir, n)) = &self.busy {
            return Some(format!(
                "the cgroup already has {n} process(es) in {}: a container's cgroup must be \
                 its own (runc 1.2+ refuses a non-empty cgroup too); choose another path or \
                 empty it",
                dir.display()
            ));
        }
        self.frozen.as_ref().map(|dir| {
            format!(
                "the cgroup is frozen ({}): the container's processes would stop as they \
                 entered it; thaw it or choose another path",
                dir.display()
            )
        })
    }

    /// What the container may call its own once `create` made the missing
    /// levels: those levels, and nothing of what was there.
    pub fn ownership(&self) -> Ownership {
        Ownership {
            created: self.missing.clone(),
            foreign: self.descendants.clone(),
        }
    }
}

impl ContainerCgroup {
    /// Looks at what exists of the cgroup, in every hierarchy, reading only.
    pub fn inspect(&self) -> Result<Existing, CgroupError> {
        let mut found = Existing::default();
        for leaf in self.leaves() {
            let mut missing: Vec<PathBuf> = leaf
                .ancestors()
                .take_while(|p| !p.exists())
                .map(Path::to_path_buf)
                .collect();
            missing.reverse();
            found.missing.extend(missing);
            if leaf.is_dir() {
                walk(leaf, &mut |dir, pids| {
                    if dir != leaf {
                        found.descendants.push(dir.to_path_buf());
                    }
                    if !pids.is_empty() && found.busy.is_none() {
                        found.busy = Some((dir.to_path_buf(), pids.len()));
                    }
                })?;
            }
        }
        found.frozen = self.frozen_level();
        Ok(found)
    }

    /// The deepest existing level of the cgroup (itself or an ancestor) if
    /// it is frozen or freezing: v1 `freezer.state` shows a parent's freeze
    /// too; v2 `cgroup.events` does, `cgroup.freeze` is the level's own.
    fn frozen_level(&self) -> Option<PathBuf> {
        let deepest = |dir: &Path| dir.ancestors().find(|p| p.is_dir()).map(Path::to_path_buf);
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        match self {
            ContainerCgroup::V1 { dirs } => {
                let dir = deepest(&dirs.iter().find(|(n, _)| n == "freezer")?.1)?;
                let state = read(dir.join("freezer.state"));
                matches!(state.trim(), "FROZEN" | "FREEZING").then_some(dir)
            }
            ContainerCgroup::V2 { dir } => {
                let dir = deepest(dir)?;
                let own = read(dir.join("cgroup.freeze")).trim() == "1";
                let events = read(dir.join("cgroup.events"));
                (own || events.lines().any(|l| l.trim() == "frozen 1")).then_some(dir)
            }
        }
    }
}

/// Calls `each(dir, its processes)` for `top` and every directory below
/// it, parents first. Symlinks are not followed (a cgroup tree has none); a
/// directory that vanished meanwhile is skipped.
pub(super) fn walk(top: &Path, each: &mut dyn FnMut(&Path, &[Pid])) -> Result<(), CgroupError> {
    let procs = top.join("cgroup.procs");
    let pids: Vec<Pid> = match std::fs::read_to_string(&procs) {
        Ok(text) => text
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .map(Pid::from_raw)
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_err("read", &procs)(e)),
    };
    each(top, &pids);
    let entries = match std::fs::read_dir(top) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        r => r.map_err(io_err("read", top))?,
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&e.path(), each)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary directory standing in for `/sys/fs/cgroup`.
    fn root(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cella-own-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn v1(base: &Path, path: &str) -> ContainerCgroup {
        ContainerCgroup::V1 {
            dirs: ["pids", "freezer"]
                .iter()
                .map(|h| (h.to_string(), base.join(h).join(path)))
                .collect(),
        }
    }

    #[test]
    fn a_new_cgroup_is_all_ours() {
        let base = root("new");
        std::fs::create_dir_all(base.join("pids/a")).unwrap();
        std::fs::create_dir_all(base.join("freezer")).unwrap();
        let found = v1(&base, "a/ctr").inspect().unwrap();
        assert_eq!(found.refusal(), None);
        assert_eq!(
            found.missing,
            [
                base.join("pids/a/ctr"),
                base.join("freezer/a"),
                base.join("freezer/a/ctr")
            ]
        );
        assert!(found.descendants.is_empty());
        std::fs::remove_dir_all(base).unwrap();
    }

    /// A process in a child cgroup of any hierarchy makes the cgroup
    /// someone else's; empty children are noted as not ours.
    #[test]
    fn processes_anywhere_below_refuse_it() {
        let base = root("busy");
        let cg = v1(&base, "ctr");
        for h in ["pids/ctr/empty", "freezer/ctr/child/deeper"] {
            std::fs::create_dir_all(base.join(h)).unwrap();
        }
        let found = cg.inspect().unwrap();
        assert_eq!(found.refusal(), None, "empty: adopted, as runc does");
        assert!(found.missing.is_empty());
        assert_eq!(
            found.ownership().foreign,
            [
                base.join("pids/ctr/empty"),
                base.join("freezer/ctr/child"),
                base.join("freezer/ctr/child/deeper")
            ]
        );
        let deeper = base.join("freezer/ctr/child/deeper");
        std::fs::write(deeper.join("cgroup.procs"), "41\n42\n").unwrap();
        let found = cg.inspect().unwrap();
        assert_eq!(found.busy, Some((deeper.clone(), 2)));
        let why = found.refusal().unwrap();
        assert!(why.contains(&deeper.display().to_string()), "{why}");
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn a_frozen_cgroup_or_parent_is_refused() {
        let base = root("frozen");
        let cg = v1(&base, "a/ctr");
        std::fs::create_dir_all(base.join("pids/a/ctr")).unwrap();
        std::fs::create_dir_all(base.join("freezer/a")).unwrap();
        std::fs::write(base.join("freezer/a/freezer.state"), "THAWED\n").unwrap();
        assert_eq!(cg.inspect().unwrap().refusal(), None);
        for state in ["FROZEN\n", "FREEZING\n"] {
            std::fs::write(base.join("freezer/a/freezer.state"), state).unwrap();
            let found = cg.inspect().unwrap();
            assert_eq!(found.frozen, Some(base.join("freezer/a")), "{state}");
            assert!(found.refusal().unwrap().contains("frozen"));
        }
        let v2 = ContainerCgroup::V2 {
            dir: base.join("u/ctr"),
        };
        std::fs::create_dir_all(base.join("u/ctr")).unwrap();
        std::fs::write(base.join("u/ctr/cgroup.freeze"), "0\n").unwrap();
        std::fs::write(base.join("u/ctr/cgroup.events"), "populated 0\nfrozen 0\n").unwrap();
        assert_eq!(v2.inspect().unwrap().refusal(), None);
        std::fs::write(base.join("u/ctr/cgroup.events"), "populated 0\nfrozen 1\n").unwrap();
        assert_eq!(v2.inspect().unwrap().frozen, Some(base.join("u/ctr")));
        std::fs::write(base.join("u/ctr/cgroup.events"), "populated 0\nfrozen 0\n").unwrap();
        std::fs::write(base.join("u/ctr/cgroup.freeze"), "1\n").unwrap();
        assert!(v2.inspect().unwrap().refusal().is_some());
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn ownership_of_an_old_state_is_the_cgroup_itself() {
        let cg = ContainerCgroup::V2 {
            dir: PathBuf::from("/sys/fs/cgroup/a/ctr"),
        };
        let own = Ownership::assumed(&cg);
        assert!(own.made(Path::new("/sys/fs/cgroup/a/ctr")));
        assert!(!own.made(Path::new("/sys/fs/cgroup/a")));
        let own = Ownership {
            created: Vec::new(),
            foreign: vec![PathBuf::from("/x/ctr/sub")],
        };
        assert!(own.is_foreign(Path::new("/x/ctr/sub/deeper")));
        assert!(!own.is_foreign(Path::new("/x/ctr")));
        assert!(!own.is_foreign(Path::new("/x/ctr/subway")));
    }
}
