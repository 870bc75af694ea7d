//! Entering namespaces: joining by path, creating, and the id maps and clock
//! offsets that must be written before anything else happens in them.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::sched::{setns, unshare, CloneFlags};
use nix::unistd::Pid;

use crate::error::{ChildError, Error, Step};
use crate::plan::{IdRange, MapWriter, NamespaceKind, NamespacePlan};

/// A namespace file opened by the runtime before forking, so that a bad path
/// fails `create` early and the children need no access to the host's paths.
pub(crate) struct JoinFd {
    pub(crate) kind: NamespaceKind,
    pub(crate) fd: OwnedFd,
    pub(crate) path: String,
}

/// Opens the namespaces to join (runtime side).
pub(crate) fn open_joins(plan: &NamespacePlan) -> Result<Vec<JoinFd>, Error> {
    plan.join
        .iter()
        .map(|(kind, path)| {
            let fd = nix::fcntl::open(
                path.as_path(),
                nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| Error::Sys {
                op: "open namespace",
                path: Some(path.clone()),
                source: e,
            })?;
            Ok(JoinFd {
                kind: *kind,
                fd,
                path: path.display().to_string(),
            })
        })
        .collect()
}

/// A sysctl of the plan whose namespace is joined by path but is the
/// runtime's own: setting it would change the host (or whatever runs the
/// runtime). Returns the key and the path.
pub(crate) fn sysctl_in_own_namespace<'a>(
    sysctl: impl IntoIterator<Item = &'a String>,
    joins: &'a [JoinFd],
) -> Option<(&'a str, &'a str)> {
    use oci_spec::runtime::LinuxNamespaceType as T;
    let same = |j: &JoinFd| {
        let ours = nix::sys::stat::stat(format!("/proc/self/ns/{}", j.kind.proc_name()).as_str());
        let theirs = nix::sys::stat::fstat(j.fd.as_fd());
        matches!((ours, theirs), (Ok(a), Ok(b)) if a.st_dev == b.st_dev && a.st_ino == b.st_ino)
    };
    sysctl.into_iter().find_map(|key| {
        let kind = match crate::spec::sysctl_namespace(&key.replace('/', "."))? {
            T::Ipc => NamespaceKind::Ipc,
            T::Network => NamespaceKind::Network,
            _ => NamespaceKind::Uts,
        };
        joins
            .iter()
            .find(|j| j.kind == kind && same(j))
            .map(|j| (key.as_str(), j.path.as_str()))
    })
}

/// Joins the namespaces given by path, user first: the others may belong to
/// it, and joining needs its capabilities.
pub(crate) fn join_all(joins: &[JoinFd]) -> Result<(), ChildError> {
    for j in joins {
        setns(
            j.fd.as_fd(),
            CloneFlags::from_bits_retain(j.kind.clone_flag() as i32),
        )
        .map_err(|e| {
            ChildError::sys(
                Step::JoinNamespace(j.kind.proc_name().to_string()),
                j.path.clone(),
                e,
            )
        })?;
    }
    Ok(())
}

/// Creates a new user namespace for this process (the runtime then writes
/// its maps from outside: only a process outside may map arbitrary ids).
pub(crate) fn unshare_user() -> Result<(), ChildError> {
    unshare(CloneFlags::CLONE_NEWUSER)
        .map_err(|e| ChildError::sys(Step::CreateUserNamespace, None, e))
}

/// Creates every other new namespace at once. Pid and time namespaces apply
/// to children only: the caller forks the container init afterwards.
pub(crate) fn unshare_rest(plan: &NamespacePlan) -> Result<(), ChildError> {
    let flags = plan.clone_flags & !(libc::CLONE_NEWUSER as u64);
    if flags == 0 {
        return Ok(());
    }
    unshare(CloneFlags::from_bits_retain(flags as i32))
        .map_err(|e| ChildError::sys(Step::CreateNamespaces, format!("{:?}", plan.new), e))
}

/// Clock offsets of a new time namespace: they can only be written before
/// the first process enters it, i.e. between unshare and fork.
pub(crate) fn write_time_offsets(plan: &NamespacePlan) -> Result<(), ChildError> {
    if !plan.creates(NamespaceKind::Time) {
        return Ok(());
    }
    let mut text = String::new();
    for (name, off) in [
        ("monotonic", plan.monotonic_offset),
        ("boottime", plan.boottime_offset),
    ] {
        if let Some(o) = off {
            text.push_str(&format!("{name} {} {}\n", o.secs, o.nanos));
        }
    }
    if text.is_empty() {
        return Ok(());
    }
    std::fs::write("/proc/self/timens_offsets", text).map_err(|e| {
        ChildError::other(
            Step::Write,
            "/proc/self/timens_offsets".to_string(),
            e.to_string(),
        )
    })
}

/// Becomes root of a new user namespace when root is mapped, so that the
/// setup that follows (mounts, mknod, hostname) runs as the namespace's root.
pub(crate) fn become_namespace_root(plan: &NamespacePlan) -> Result<(), ChildError> {
    let joined = plan.join.iter().any(|(k, _)| *k == NamespaceKind::User);
    if !plan.creates(NamespaceKind::User) && !joined {
        return Ok(());
    }
    let root = nix::unistd::Uid::from_raw(0);
    let groot = nix::unistd::Gid::from_raw(0);
    if joined {
        return become_joined_root();
    }
    if plan.gid_map.iter().any(|r| r.container_id == 0) {
        nix::unistd::setresgid(groot, groot, groot)
            .map_err(|e| ChildError::sys(Step::Setresgid, "0".to_string(), e))?;
    }
    if plan.uid_map.iter().any(|r| r.container_id == 0) {
        nix::unistd::setresuid(root, root, root)
            .map_err(|e| ChildError::sys(Step::Setresuid, "0".to_string(), e))?;
    }
    Ok(())
}

/// Becomes root of a user namespace joined by path. Its root must be
/// mapped (as runc requires), or nothing could be set up in it.
pub(crate) fn become_joined_root() -> Result<(), ChildError> {
    let root = nix::unistd::Uid::from_raw(0);
    let groot = nix::unistd::Gid::from_raw(0);
    nix::unistd::setresgid(groot, groot, groot)
        .map_err(|e| ChildError::sys(Step::SetresgidJoinedUserns, "0".to_string(), e))?;
    nix::unistd::setresuid(root, root, root)
        .map_err(|e| ChildError::sys(Step::SetresuidJoinedUserns, "0".to_string(), e))
}

fn map_text(ranges: &[IdRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{} {} {}\n", r.container_id, r.host_id, r.size))
        .collect()
}

/// Writes the uid and gid maps of `pid`'s new user namespace (runtime
/// side), each the way the plan chose. A gid map written by an
/// unprivileged runtime needs `setgroups` denied first: otherwise a
/// process could drop a group it was denied by (user_namespaces(7)).
pub(crate) fn write_id_maps(pid: Pid, plan: &NamespacePlan) -> Result<(), Error> {
    let base = Path::new("/proc").join(pid.as_raw().to_string());
    for (file, ranges, writer, helper) in [
        ("uid_map", &plan.uid_map, plan.uid_map_writer, "newuidmap"),
        ("gid_map", &plan.gid_map, plan.gid_map_writer, "newgidmap"),
    ] {
        let path = base.join(file);
        match writer.unwrap_or(MapWriter::Runtime) {
            MapWriter::Runtime => {
                std::fs::write(&path, map_text(ranges)).map_err(Error::io("write", path))?
            }
            MapWriter::SelfOnly => {
                if file == "gid_map" {
                    let setgroups = base.join("setgroups");
                    std::fs::write(&setgroups, "deny").map_err(Error::io("write", setgroups))?;
                }
                std::fs::write(&path, map_text(ranges)).map_err(Error::io("write", path))?
            }
            MapWriter::Helper => run_map_helper(helper, pid, ranges)?,
        }
    }
    Ok(())
}

/// Runs `newuidmap`/`newgidmap PID ID HOST-ID SIZE...`; they check the
/// ranges against `/etc/subuid`/`/etc/subgid` and say why they refuse.
fn run_map_helper(helper: &'static str, pid: Pid, ranges: &[IdRange]) -> Result<(), Error> {
    let mut args = vec![pid.as_raw().to_string()];
    for r in ranges {
        args.extend([
            r.container_id.to_string(),
            r.host_id.to_string(),
            r.size.to_string(),
        ]);
    }
    let fail = |reason: String| Error::IdMapHelper {
        helper,
        args: args.join(" "),
        reason,
    };
    let out = std::process::Command::new(helper)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            fail(if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "{helper} is not installed (Debian package uidmap): an unprivileged runtime \
                     needs it to map more than its own id"
                )
            } else {
                e.to_string()
            })
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = stderr.trim().lines().last().unwrap_or("").trim();
    Err(fail(format!(
        "{} ({said}); the ranges must be granted to this user in /etc/sub{}",
        out.status,
        if helper == "newuidmap" { "uid" } else { "gid" }
    )))
}
