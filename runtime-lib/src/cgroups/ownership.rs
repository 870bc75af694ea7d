//! Whose cgroup it is: what is at the container's cgroup before `create`
//! makes anything (processes, a freezer, directories that exist, whether
//! the caller may use it), read for the plan to decide with; and the walk
//! of a cgroup's subtree that finds its processes.
//!
//! runc 1.2+ (libcontainer `Create`) refuses a cgroup that has processes
//! ("container's cgroup is not empty") or is frozen ("container's cgroup
//! unexpectedly frozen"); runc 1.1 only warned of the first. runc checks one
//! v1 hierarchy (devices); the plan checks every hierarchy the container
//! uses, and the whole subtree of each, as runc's `GetAllPids` does.

use std::path::{Path, PathBuf};

use nix::unistd::Pid;

use super::delegation::{deepest_existing, refusal_below, v2_refusal};
use super::{io_err, CgroupError, ContainerCgroup, Found};

impl ContainerCgroup {
    /// Looks at each directory of the cgroup, reading only: what exists of
    /// it, what is in it, whether it is frozen, and whether the caller may
    /// make it its cgroup; `current` is the caller's own cgroup (a move
    /// into a v2 cgroup needs its common ancestor with it writable). What
    /// is below a directory the caller may not use need not be readable.
    pub fn survey(&self, current: &ContainerCgroup) -> Result<Vec<Found>, CgroupError> {
        let mut all = Vec::new();
        for (name, leaf) in self.hierarchies() {
            // Looked up once: every question below is about this level.
            let existing = deepest_existing(leaf);
            let mut found = Found {
                dir: leaf.to_path_buf(),
                unusable: match (self, current) {
                    (ContainerCgroup::V2 { .. }, ContainerCgroup::V2 { dir: own }) => {
                        v2_refusal(leaf, own, existing)
                    }
                    _ => refusal_below(leaf, existing),
                },
                ..Found::default()
            };
            found.missing = leaf
                .ancestors()
                .take_while(|p| Some(*p) != existing)
                .map(Path::to_path_buf)
                .collect();
            found.missing.reverse();
            if existing == Some(leaf) && leaf.is_dir() {
                let walked = walk(leaf, &mut |dir, pids| {
                    if dir != leaf {
                        found.descendants.push(dir.to_path_buf());
                    }
                    if !pids.is_empty() && found.busy.is_none() {
                        found.busy = Some((dir.to_path_buf(), pids.len()));
                    }
                });
                if found.unusable.is_none() {
                    walked?;
                }
            }
            let v2 = matches!(self, ContainerCgroup::V2 { .. });
            if v2 || name == "freezer" {
                found.frozen = existing.and_then(|dir| frozen_level(dir, v2));
            }
            if v2 {
                found.controllers = existing.map(controllers).unwrap_or_default();
            }
            all.push(found);
        }
        Ok(all)
    }
}

/// The deepest existing level of `dir` (itself or an ancestor) if it is
/// frozen or freezing: v1 `freezer.state` shows a parent's freeze too; v2
/// `cgroup.events` does, `cgroup.freeze` is the level's own.
fn frozen_level(dir: &Path, v2: bool) -> Option<PathBuf> {
    let dir = dir.ancestors().find(|p| p.is_dir())?.to_path_buf();
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let frozen = if v2 {
        let own = read(dir.join("cgroup.freeze")).trim() == "1";
        own || read(dir.join("cgroup.events"))
            .lines()
            .any(|l| l.trim() == "frozen 1")
    } else {
        matches!(
            read(dir.join("freezer.state")).trim(),
            "FROZEN" | "FREEZING"
        )
    };
    frozen.then_some(dir)
}

/// The controllers a new cgroup below `existing` (the deepest existing
/// level of its directory) may have: its `cgroup.controllers` (a delegated
/// subtree may have only some, systemd's default being memory and pids).
fn controllers(existing: &Path) -> Vec<String> {
    std::fs::read_to_string(existing.join("cgroup.controllers"))
        .map(|list| list.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
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
    use crate::cgroup_types::Ownership;

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

    /// The caller's own cgroup for `v1`'s hierarchies: the roots.
    fn own(base: &Path) -> ContainerCgroup {
        v1(base, "")
    }

    #[test]
    fn a_new_cgroup_is_missing_level_by_level() {
        let base = root("new");
        std::fs::create_dir_all(base.join("pids/a")).unwrap();
        std::fs::create_dir_all(base.join("freezer")).unwrap();
        let found = v1(&base, "a/ctr").survey(&own(&base)).unwrap();
        assert_eq!(found[0].missing, [base.join("pids/a/ctr")]);
        assert_eq!(
            found[1].missing,
            [base.join("freezer/a"), base.join("freezer/a/ctr")]
        );
        assert!(found.iter().all(|f| f.descendants.is_empty()
            && f.busy.is_none()
            && f.frozen.is_none()
            && f.controllers.is_empty()));
        assert_eq!(found[1].dir, base.join("freezer/a/ctr"));
        std::fs::remove_dir_all(base).unwrap();
    }

    /// A process anywhere below a hierarchy's directory is found, and so
    /// are the child cgroups that exist.
    #[test]
    fn processes_and_children_anywhere_below_are_found() {
        let base = root("busy");
        let cg = v1(&base, "ctr");
        for h in ["pids/ctr/empty", "freezer/ctr/child/deeper"] {
            std::fs::create_dir_all(base.join(h)).unwrap();
        }
        let found = cg.survey(&own(&base)).unwrap();
        assert!(found
            .iter()
            .all(|f| f.missing.is_empty() && f.busy.is_none()));
        assert_eq!(found[0].descendants, [base.join("pids/ctr/empty")]);
        assert_eq!(
            found[1].descendants,
            [
                base.join("freezer/ctr/child"),
                base.join("freezer/ctr/child/deeper")
            ]
        );
        let deeper = base.join("freezer/ctr/child/deeper");
        std::fs::write(deeper.join("cgroup.procs"), "41\n42\n").unwrap();
        let found = cg.survey(&own(&base)).unwrap();
        assert_eq!(found[0].busy, None);
        assert_eq!(found[1].busy, Some((deeper, 2)));
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn a_frozen_cgroup_or_parent_is_found() {
        let base = root("frozen");
        let cg = v1(&base, "a/ctr");
        std::fs::create_dir_all(base.join("pids/a/ctr")).unwrap();
        std::fs::create_dir_all(base.join("freezer/a")).unwrap();
        std::fs::write(base.join("freezer/a/freezer.state"), "THAWED\n").unwrap();
        let frozen = |cg: &ContainerCgroup| -> Vec<Option<PathBuf>> {
            let current = match cg {
                ContainerCgroup::V1 { .. } => own(&base),
                ContainerCgroup::V2 { .. } => ContainerCgroup::V2 { dir: base.clone() },
            };
            cg.survey(&current)
                .unwrap()
                .into_iter()
                .map(|f| f.frozen)
                .collect()
        };
        assert_eq!(frozen(&cg), [None, None]);
        for state in ["FROZEN\n", "FREEZING\n"] {
            std::fs::write(base.join("freezer/a/freezer.state"), state).unwrap();
            // Only the freezer hierarchy says.
            assert_eq!(frozen(&cg), [None, Some(base.join("freezer/a"))], "{state}");
        }
        let v2 = ContainerCgroup::V2 {
            dir: base.join("u/ctr"),
        };
        std::fs::create_dir_all(base.join("u/ctr")).unwrap();
        std::fs::write(base.join("u/ctr/cgroup.freeze"), "0\n").unwrap();
        std::fs::write(base.join("u/ctr/cgroup.events"), "populated 0\nfrozen 0\n").unwrap();
        assert_eq!(frozen(&v2), [None]);
        std::fs::write(base.join("u/ctr/cgroup.events"), "populated 0\nfrozen 1\n").unwrap();
        assert_eq!(frozen(&v2), [Some(base.join("u/ctr"))]);
        std::fs::write(base.join("u/ctr/cgroup.events"), "populated 0\nfrozen 0\n").unwrap();
        std::fs::write(base.join("u/ctr/cgroup.freeze"), "1\n").unwrap();
        assert_eq!(frozen(&v2), [Some(base.join("u/ctr"))]);
        std::fs::remove_dir_all(base).unwrap();
    }

    /// On v2 the controllers a new cgroup may have are those its deepest
    /// existing level offers.
    #[test]
    fn v2_controllers_of_the_deepest_existing_level() {
        let base = root("v2can");
        std::fs::create_dir_all(base.join("deleg")).unwrap();
        std::fs::write(base.join("deleg/cgroup.controllers"), "memory pids\n").unwrap();
        let cg = ContainerCgroup::V2 {
            dir: base.join("deleg/ctr"),
        };
        let found = cg
            .survey(&ContainerCgroup::V2 { dir: base.clone() })
            .unwrap();
        assert_eq!(found[0].controllers, ["memory", "pids"]);
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
