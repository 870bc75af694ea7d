//! The last steps before `execve`: limits, identity, privileges. Their order
//! matters and each step says why it is where it is.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{Gid, Uid};

use crate::error::ChildError;
use crate::plan::{CapabilitySets, ProcessPlan};
use crate::sys;

type Result<T> = std::result::Result<T, ChildError>;

/// The program to run, resolved with the container's `PATH` inside the
/// container's root (after `pivot_root`), so that a missing binary fails
/// `create`, not `start`.
pub(crate) fn resolve_program(p: &ProcessPlan) -> Result<PathBuf> {
    let arg0 = p
        .args
        .first()
        .ok_or_else(|| ChildError::other("exec", None, "process.args is empty"))?;
    if arg0.contains('/') {
        let path = PathBuf::from(arg0);
        let full = if path.is_relative() {
            p.cwd.join(&path)
        } else {
            path.clone()
        };
        // The errno's words matter: podman maps "no such file or directory"
        // to exit status 127 and "permission denied" to 126, as with runc.
        return match nix::unistd::access(&full, nix::unistd::AccessFlags::X_OK) {
            Ok(()) if !full.is_dir() => Ok(path),
            Ok(()) => Err(ChildError::other(
                "exec",
                arg0.clone(),
                "is a directory: permission denied",
            )),
            Err(e) => Err(ChildError::other(
                "exec",
                arg0.clone(),
                format!("{} in the container", e.desc().to_lowercase()),
            )),
        };
    }
    let path_var = p
        .env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path_var
        .split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(arg0))
        .find(|c| is_executable(c))
        .ok_or_else(|| {
            ChildError::other("exec", arg0.clone(), "executable file not found in $PATH")
        })
}

fn is_executable(p: &Path) -> bool {
    nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok() && !p.is_dir()
}

/// oom_score_adj, set by the first child while it still has the host's
/// `/proc` and the runtime's privileges (lowering it needs
/// CAP_SYS_RESOURCE); forks inherit it, so the container's process gets it.
/// Written through the checked procfs, never a path of the container.
pub(crate) fn set_oom_score_adj(p: &ProcessPlan) -> Result<()> {
    if let Some(v) = p.oom_score_adj {
        crate::apply::procfs::ProcFs::at_proc()?
            .write("self/oom_score_adj", &v.to_string())
            .map_err(|e| ChildError::sys("set oom_score_adj", v.to_string(), e))?;
    }
    Ok(())
}

/// rlimits before dropping privileges: raising a hard limit needs
/// CAP_SYS_RESOURCE in the container's user namespace.
pub(crate) fn set_rlimits(p: &ProcessPlan) -> Result<()> {
    for r in &p.rlimits {
        sys::setrlimit(r.resource, r.soft, r.hard).map_err(|e| {
            let mut err = ChildError::sys(
                "set rlimit",
                format!("{} (soft {}, hard {})", r.name, r.soft, r.hard),
                e,
            );
            if e == nix::errno::Errno::EPERM {
                err.detail =
                    "raising a hard limit needs CAP_SYS_RESOURCE, which the runtime lacks".into();
            }
            err
        })?;
    }
    Ok(())
}

fn to_set(names: &[String]) -> CapsHashSet {
    names
        .iter()
        .filter_map(|n| Capability::from_str(n).ok())
        .collect()
}

/// The bounding set is dropped while still root with CAP_SETPCAP; caps
/// unknown to the running kernel are skipped.
fn drop_bounding(c: &CapabilitySets) -> Result<()> {
    // Every capability asked for in any set must be one we still have: a
    // capability missing from our own bounding set can never be granted.
    let sets = [
        &c.bounding,
        &c.effective,
        &c.permitted,
        &c.inheritable,
        &c.ambient,
    ];
    for name in sets.into_iter().flatten() {
        let cap = Capability::from_str(name)
            .map_err(|e| ChildError::other("capability", name.clone(), e.to_string()))?;
        if !caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            return Err(ChildError::other(
                "process.capabilities",
                name.clone(),
                "not in the runtime's own bounding set, so the container cannot have it",
            ));
        }
    }
    let keep = to_set(&c.bounding);
    for cap in caps::runtime::thread_all_supported() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap).map_err(|e| {
                ChildError::other("drop bounding capability", cap.to_string(), e.to_string())
            })?;
        }
    }
    Ok(())
}

/// Switches to the process user. `PR_SET_KEEPCAPS` keeps the permitted set
/// across setuid so the sets can then be set exactly.
pub(crate) fn switch_user_and_caps(p: &ProcessPlan) -> Result<()> {
    drop_bounding(&p.capabilities)?;
    nix::sys::prctl::set_keepcaps(true)
        .map_err(|e| ChildError::sys("prctl PR_SET_KEEPCAPS", None, e))?;
    let gids: Vec<Gid> = p
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    // In a user namespace whose gid map an unprivileged runtime wrote,
    // setgroups(2) is denied even to clear the list; there the only groups
    // are the ones already held, so an empty list needs no call.
    let denied = std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if !(denied && gids.is_empty()) {
        nix::unistd::setgroups(&gids)
            .map_err(|e| ChildError::sys("setgroups", format!("{:?}", p.additional_gids), e))?;
    }
    let gid = Gid::from_raw(p.gid);
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|e| ChildError::sys("setresgid", p.gid.to_string(), e))?;
    let uid = Uid::from_raw(p.uid);
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|e| ChildError::sys("setresuid", p.uid.to_string(), e))?;
    let c = &p.capabilities;
    // capset(2) checks every call against the current sets: inheritable
    // first, while the permitted set still covers it; effective next, while
    // permitted is still full; permitted last, which must then contain the
    // effective set.
    for (set, names, label) in [
        (CapSet::Inheritable, &c.inheritable, "inheritable"),
        (CapSet::Effective, &c.effective, "effective"),
        (CapSet::Permitted, &c.permitted, "permitted"),
    ] {
        caps::set(None, set, &to_set(names)).map_err(|e| {
            ChildError::other(
                "set capabilities",
                format!("{label} {names:?}"),
                e.to_string(),
            )
        })?;
    }
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| ChildError::other("clear ambient capabilities", None, e.to_string()))?;
    for cap in to_set(&c.ambient) {
        caps::raise(None, CapSet::Ambient, cap).map_err(|e| {
            ChildError::other("raise ambient capability", cap.to_string(), e.to_string())
        })?;
    }
    Ok(())
}

/// `no_new_privs` after the identity switch (setuid itself is unaffected)
/// and before exec, where it takes effect.
pub(crate) fn set_no_new_privs(p: &ProcessPlan) -> Result<()> {
    if p.no_new_privileges {
        nix::sys::prctl::set_no_new_privs()
            .map_err(|e| ChildError::sys("prctl PR_SET_NO_NEW_PRIVS", None, e))?;
    }
    Ok(())
}

/// Replaces this process with the container's program. Every fd above
/// stdio and the preserved ones is closed on exec, signal handling is reset.
pub(crate) fn exec(p: &ProcessPlan, program: &Path) -> Result<std::convert::Infallible> {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        p.umask.unwrap_or(0o022),
    ));
    nix::unistd::chdir(&p.cwd)
        .map_err(|e| ChildError::sys("chdir", p.cwd.display().to_string(), e))?;
    // A cwd outside the container's root (reached through a leaked fd or a
    // magic link) makes getcwd(2) fail: refuse to run there.
    nix::unistd::getcwd().map_err(|_| {
        ChildError::other(
            "process.cwd",
            p.cwd.display().to_string(),
            "resolves outside the container's root",
        )
    })?;
    let cstr = |s: &str| {
        CString::new(s).map_err(|_| ChildError::other("exec", s.to_string(), "contains a NUL byte"))
    };
    let args = p.args.iter().map(|a| cstr(a)).collect::<Result<Vec<_>>>()?;
    let env = p.env.iter().map(|a| cstr(a)).collect::<Result<Vec<_>>>()?;
    let prog = CString::new(program.as_os_str().as_bytes()).map_err(|_| {
        ChildError::other("exec", program.display().to_string(), "contains a NUL byte")
    })?;
    sys::cloexec_from(3 + p.preserve_fds).map_err(|e| ChildError::sys("close_range", None, e))?;
    sys::reset_signals();
    nix::unistd::execve(&prog, &args, &env)
        .map_err(|e| ChildError::sys("exec", program.display().to_string(), e))
}
