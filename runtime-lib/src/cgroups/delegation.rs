//! Rootless cgroups: which parts of the container's cgroup the caller may
//! use. A cgroup is usable when it was delegated: the caller can create
//! the directory (or write `cgroup.procs` of an existing one) and, on v2,
//! move its own processes there, which the kernel allows only with write
//! access to `cgroup.procs` of the common ancestor (cgroup-v2.rst,
//! "Delegation Containment").

use std::path::{Path, PathBuf};

use nix::unistd::{access, AccessFlags};

use super::ContainerCgroup;

/// What a rootless container gets of the cgroup it asked for.
#[derive(Debug)]
pub struct Delegated {
    /// The part the caller may use (`None`: nothing was delegated).
    pub cgroup: Option<ContainerCgroup>,
    /// What the container's `cgroup` mount shows: its own directory where
    /// it has one, else the caller's, where its processes stay.
    pub view: ContainerCgroup,
    /// One line per directory skipped, for `--debug`.
    pub notes: Vec<String>,
}

/// Splits `wanted` into what the caller may use; `current` is the caller's
/// own cgroup, resolved the same way (one entry per hierarchy, same order).
pub fn delegated_part(wanted: &ContainerCgroup, current: &ContainerCgroup) -> Delegated {
    let uid = crate::rootless::describe_uid(nix::unistd::geteuid().as_raw());
    let note = |dir: &Path, why: String| {
        format!(
            "rootless: cgroup {} not used ({why}, not delegated to {uid}): the container stays in the caller's cgroup there",
            dir.display()
        )
    };
    match (wanted, current) {
        (ContainerCgroup::V2 { dir }, ContainerCgroup::V2 { dir: own }) => {
            match v2_refusal(dir, own) {
                None => Delegated {
                    cgroup: Some(wanted.clone()),
                    view: wanted.clone(),
                    notes: Vec::new(),
                },
                Some(why) => Delegated {
                    cgroup: None,
                    view: current.clone(),
                    notes: vec![note(dir, why)],
                },
            }
        }
        (ContainerCgroup::V1 { dirs }, ContainerCgroup::V1 { dirs: own }) => {
            let mut usable = Vec::new();
            let mut view = Vec::new();
            let mut notes = Vec::new();
            for ((name, dir), (_, own_dir)) in dirs.iter().zip(own) {
                match creatable_refusal(dir) {
                    None => {
                        usable.push((name.clone(), dir.clone()));
                        view.push((name.clone(), dir.clone()));
                    }
                    Some(why) => {
                        notes.push(note(dir, why));
                        view.push((name.clone(), own_dir.clone()));
                    }
                }
            }
            Delegated {
                cgroup: (!usable.is_empty()).then_some(ContainerCgroup::V1 { dirs: usable }),
                view: ContainerCgroup::V1 { dirs: view },
                notes,
            }
        }
        // Both come from one host: the versions cannot differ.
        _ => Delegated {
            cgroup: None,
            view: current.clone(),
            notes: vec!["rootless: cgroup versions differ; no cgroup used".to_string()],
        },
    }
}

/// Why the caller cannot make `dir` its cgroup, or `None` if it can: the
/// deepest existing level must be writable (to create the rest), or, when
/// `dir` exists, its `cgroup.procs`.
fn creatable_refusal(dir: &Path) -> Option<String> {
    let Some(existing) = dir.ancestors().find(|p| p.exists()) else {
        return Some("no level of it exists".to_string());
    };
    let (path, flags) = if existing == dir {
        (dir.join("cgroup.procs"), AccessFlags::W_OK)
    } else {
        (
            existing.to_path_buf(),
            AccessFlags::W_OK | AccessFlags::X_OK,
        )
    };
    access(&path, flags)
        .err()
        .map(|e| format!("{} is not writable: {}", path.display(), e.desc()))
}

/// v2 also needs the move from the caller's cgroup to be allowed.
fn v2_refusal(dir: &Path, own: &Path) -> Option<String> {
    if let Some(why) = creatable_refusal(dir) {
        return Some(why);
    }
    let common = common_ancestor(dir, own);
    let procs = common.join("cgroup.procs");
    access(&procs, AccessFlags::W_OK).err().map(|e| {
        format!(
            "moving a process there needs {} writable: {}",
            procs.display(),
            e.desc()
        )
    })
}

fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    a.ancestors()
        .find(|p| b.starts_with(p))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn common_ancestor_of_cgroups() {
        let a = Path::new("/sys/fs/cgroup/user/ctr");
        assert_eq!(
            common_ancestor(a, Path::new("/sys/fs/cgroup/user/shell")),
            PathBuf::from("/sys/fs/cgroup/user")
        );
        assert_eq!(
            common_ancestor(a, Path::new("/sys/fs/cgroup")),
            PathBuf::from("/sys/fs/cgroup")
        );
    }

    /// A temporary tree stands in for one v1 hierarchy per directory:
    /// a writable level can take the container, a read-only one cannot
    /// (as root, `access` ignores modes, so only the first part is checked
    /// there).
    #[test]
    fn v1_hierarchies_split_by_writability() {
        let base = std::env::temp_dir().join(format!("cella-delegation-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        for h in ["memory", "cpu"] {
            std::fs::create_dir_all(base.join(h).join("deleg")).unwrap();
        }
        std::fs::set_permissions(
            base.join("cpu/deleg"),
            std::fs::Permissions::from_mode(0o555),
        )
        .unwrap();
        let wanted = ContainerCgroup::V1 {
            dirs: vec![
                ("memory".into(), base.join("memory/deleg/ctr")),
                ("cpu".into(), base.join("cpu/deleg/ctr")),
            ],
        };
        let current = ContainerCgroup::V1 {
            dirs: vec![
                ("memory".into(), base.join("memory")),
                ("cpu".into(), base.join("cpu")),
            ],
        };
        let d = delegated_part(&wanted, &current);
        let root = nix::unistd::geteuid().is_root();
        let ContainerCgroup::V1 { dirs } = d.cgroup.expect("memory is usable") else {
            panic!("v1 stays v1")
        };
        assert_eq!(dirs[0].1, base.join("memory/deleg/ctr"));
        if !root {
            assert_eq!(dirs.len(), 1, "cpu/deleg is read-only");
            assert_eq!(d.notes.len(), 1);
            assert!(
                d.notes[0].contains("cpu/deleg is not writable"),
                "{:?}",
                d.notes
            );
            let ContainerCgroup::V1 { dirs: view } = d.view else {
                panic!()
            };
            assert_eq!(view[1].1, base.join("cpu"), "the view shows where it stays");
        }
        let missing = ContainerCgroup::V2 {
            dir: PathBuf::from("/nonexistent-cella/ctr"),
        };
        let own = ContainerCgroup::V2 {
            dir: PathBuf::from("/nonexistent-cella"),
        };
        let d = delegated_part(&missing, &own);
        assert!(d.cgroup.is_none());
        assert_eq!(d.view, own);
        std::fs::set_permissions(
            base.join("cpu/deleg"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }
}
