//! Rootless cgroups: whether the caller may use a directory of the
//! container's cgroup (the plan decides what to do about it). A cgroup is
//! usable when it was delegated: the caller can create the directory (or
//! write `cgroup.procs` of an existing one) and, on v2, move its own
//! processes there, which the kernel allows only with write access to
//! `cgroup.procs` of the common ancestor (cgroup-v2.rst, "Delegation
//! Containment").

use std::path::{Path, PathBuf};

use nix::unistd::{access, AccessFlags};

/// The deepest level of `dir` that exists (itself or an ancestor).
pub(super) fn deepest_existing(dir: &Path) -> Option<&Path> {
    dir.ancestors().find(|p| p.exists())
}

/// Why the caller cannot make `dir` its cgroup, or `None` if it can: the
/// deepest existing level (`existing`, [`deepest_existing`] of `dir`) must
/// be writable (to create the rest), or, when `dir` exists, its
/// `cgroup.procs`.
pub(super) fn refusal_below(dir: &Path, existing: Option<&Path>) -> Option<String> {
    let Some(existing) = existing else {
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
pub(super) fn v2_refusal(dir: &Path, own: &Path, existing: Option<&Path>) -> Option<String> {
    if let Some(why) = refusal_below(dir, existing) {
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

    /// A temporary tree stands in for one v1 hierarchy per directory: a
    /// writable level can take the container, a read-only one cannot (as
    /// root, `access` ignores modes, so only the first part is checked
    /// there).
    fn creatable_refusal(dir: &Path) -> Option<String> {
        refusal_below(dir, deepest_existing(dir))
    }

    #[test]
    fn usable_where_the_caller_may_write() {
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
        assert_eq!(creatable_refusal(&base.join("memory/deleg/ctr")), None);
        if !nix::unistd::geteuid().is_root() {
            let why = creatable_refusal(&base.join("cpu/deleg/ctr")).expect("read-only");
            assert!(why.contains("cpu/deleg is not writable"), "{why}");
        }
        std::fs::set_permissions(
            base.join("cpu/deleg"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }
}
