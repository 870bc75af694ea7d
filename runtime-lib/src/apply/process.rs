//! The last steps before `execve`: limits, identity, privileges. Their order
//! matters and each step says why it is where it is.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{Gid, Uid};

use crate::error::{ChildError, Step};
use crate::plan::{CapabilitySets, ProcessPlan};
use crate::sys;

type Result<T> = std::result::Result<T, ChildError>;

/// The program to run, resolved with the container's `PATH` inside the
/// container's root (after `pivot_root`), so that a missing binary fails
/// `create`, not `start`. `env` is the environment the program gets.
///
/// As runc (Go's `exec.LookPath`): a name without `/` is looked up only in
/// the `PATH` of `env` (none there: not found, runc's init has no `PATH` of
/// its own), and a match in a relative directory (an empty or relative
/// `PATH` element) is refused rather than run from wherever the cwd is.
pub(crate) fn resolve_program(p: &ProcessPlan, env: &[String]) -> Result<PathBuf> {
    let arg0 = p
        .args
        .first()
        .ok_or_else(|| ChildError::other(Step::Exec, None, "process.args is empty"))?;
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
                Step::Exec,
                arg0.clone(),
                "is a directory: permission denied",
            )),
            Err(e) => Err(ChildError::other(
                Step::Exec,
                arg0.clone(),
                format!("{} in the container", e.desc().to_lowercase()),
            )),
        };
    }
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or_default();
    // An empty PATH names no directory (not the cwd), as in Go.
    let found = std::env::split_paths(path_var)
        .filter(|_| !path_var.is_empty())
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            }
        })
        .map(|dir| dir.join(arg0))
        .find(|c| is_executable(c));
    match found {
        Some(path) if path.is_absolute() => Ok(path),
        Some(path) => Err(ChildError::other(
            Step::Exec,
            arg0.clone(),
            format!(
                "found as {} relative to the working directory: refusing to run it ($PATH has a relative entry)",
                path.display()
            ),
        )),
        None => Err(ChildError::other(
            Step::Exec,
            arg0.clone(),
            "executable file not found in $PATH",
        )),
    }
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
            .map_err(|e| ChildError::sys(Step::SetOomScoreAdj, v.to_string(), e))?;
    }
    Ok(())
}

/// rlimits before dropping privileges: raising a hard limit needs
/// CAP_SYS_RESOURCE in the container's user namespace.
pub(crate) fn set_rlimits(p: &ProcessPlan) -> Result<()> {
    for r in &p.rlimits {
        sys::setrlimit(r.resource, r.soft, r.hard).map_err(|e| {
            let mut err = ChildError::sys(
                Step::SetRlimit,
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
            .map_err(|e| ChildError::other(Step::Capability, name.clone(), e.to_string()))?;
        if !caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            return Err(ChildError::other(
                Step::ProcessCapabilities,
                name.clone(),
                "not in the runtime's own bounding set, so the container cannot have it",
            ));
        }
    }
    let keep = to_set(&c.bounding);
    for cap in caps::runtime::thread_all_supported() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap).map_err(|e| {
                ChildError::other(Step::DropBoundingCap, cap.to_string(), e.to_string())
            })?;
        }
    }
    Ok(())
}

/// The capability sets to end with, held back while the seccomp filter
/// still has to be loaded (see [`switch_user_and_caps`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeldCaps {
    effective: u64,
    permitted: u64,
    inheritable: u64,
}

fn mask(names: &[String]) -> u64 {
    names
        .iter()
        .filter_map(|n| Capability::from_str(n).ok())
        .fold(0, |m, c| m | c.bitmask())
}

/// Switches to the process user. `PR_SET_KEEPCAPS` keeps the permitted set
/// across setuid so the sets can then be set exactly.
///
/// `hold_admin`: a seccomp filter is still to be loaded without
/// `no_new_privs`, which the kernel allows only with CAP_SYS_ADMIN. Rather
/// than loading it here, before the identity switch (as runc does, which
/// puts setgroups, setuid, capset, chdir and the start wait under the
/// profile), CAP_SYS_ADMIN is kept in the effective and permitted sets
/// until the filter is in; the returned [`HeldCaps`] are then set with one
/// `capset` ([`release_held_caps`]): the only call the runtime makes
/// between the filter and `execve`.
pub(crate) fn switch_user_and_caps(p: &ProcessPlan, hold_admin: bool) -> Result<Option<HeldCaps>> {
    drop_bounding(&p.capabilities)?;
    nix::sys::prctl::set_keepcaps(true).map_err(|e| ChildError::sys(Step::SetKeepCaps, None, e))?;
    fix_stdio_owner(p.uid)?;
    set_groups(p)?;
    let gid = Gid::from_raw(p.gid);
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|e| ChildError::sys(Step::Setresgid, p.gid.to_string(), e))?;
    let uid = Uid::from_raw(p.uid);
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|e| ChildError::sys(Step::Setresuid, p.uid.to_string(), e))?;
    let c = &p.capabilities;
    let admin = Capability::CAP_SYS_ADMIN.to_string();
    let held = (hold_admin && !c.effective.contains(&admin)).then(|| HeldCaps {
        effective: mask(&c.effective),
        permitted: mask(&c.permitted),
        inheritable: mask(&c.inheritable),
    });
    let with_admin = |names: &Vec<String>| {
        let mut names = names.clone();
        if held.is_some() {
            names.push(admin.clone());
        }
        names
    };
    // capset(2) checks every call against the current sets: inheritable
    // first, while the permitted set still covers it; effective next, while
    // permitted is still full; permitted last, which must then contain the
    // effective set.
    for (set, names, label) in [
        (CapSet::Inheritable, c.inheritable.clone(), "inheritable"),
        (CapSet::Effective, with_admin(&c.effective), "effective"),
        (CapSet::Permitted, with_admin(&c.permitted), "permitted"),
    ] {
        caps::set(None, set, &to_set(&names)).map_err(|e| {
            ChildError::other(
                Step::SetCapabilities,
                format!("{label} {names:?}"),
                e.to_string(),
            )
        })?;
    }
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| ChildError::other(Step::ClearAmbientCaps, None, e.to_string()))?;
    for cap in to_set(&c.ambient) {
        caps::raise(None, CapSet::Ambient, cap).map_err(|e| {
            ChildError::other(Step::RaiseAmbientCap, cap.to_string(), e.to_string())
        })?;
    }
    Ok(held)
}

/// Drops what [`switch_user_and_caps`] held for loading the filter. Failing
/// here must fail the container: it would otherwise run with CAP_SYS_ADMIN.
pub(crate) fn release_held_caps(held: Option<HeldCaps>) -> Result<()> {
    let Some(h) = held else { return Ok(()) };
    sys::capset(h.effective, h.permitted, h.inheritable)
        .map_err(|e| ChildError::sys(Step::Capset, "process.capabilities".to_string(), e))
}

/// Supplementary groups. In a user namespace whose gid map an unprivileged
/// runtime wrote, setgroups(2) is denied even to clear the list (EPERM:
/// `/proc/self/setgroups` says "deny"); there the only groups are the ones
/// already held, so an empty list is no loss. Deciding from the error, not
/// from reading that file, keeps the container's `/proc` out of it.
fn set_groups(p: &ProcessPlan) -> Result<()> {
    let gids: Vec<Gid> = p
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    match nix::unistd::setgroups(&gids) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EPERM) if gids.is_empty() => Ok(()),
        Err(e) => Err(ChildError::sys(
            Step::Setgroups,
            format!("{:?}", p.additional_gids),
            e,
        )),
    }
}

/// Gives stdio to the process's user, as runc does: a non-root process
/// must be able to reopen its own stdout (`/dev/stdout`, `/proc/self/fd/1`),
/// and its terminal is its to control. Only the owner changes (the group is
/// the caller's, or `tty` from devpts's `gid=`); `/dev/null` and fds already
/// owned by the uid are left alone; an fd whose owner is not mapped in the
/// user namespace (EPERM) or on a read-only mount (EROFS) is left as it is.
fn fix_stdio_owner(uid: u32) -> Result<()> {
    use std::os::fd::AsFd;
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    for (fd, borrowed) in [(0, stdin.as_fd()), (1, stdout.as_fd()), (2, stderr.as_fd())] {
        let Ok(st) = nix::sys::stat::fstat(borrowed) else {
            continue;
        };
        let is_null =
            st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == libc::makedev(1, 3);
        if st.st_uid == uid || is_null {
            continue;
        }
        match nix::unistd::fchown(borrowed, Some(Uid::from_raw(uid)), None) {
            Ok(()) | Err(nix::errno::Errno::EPERM) | Err(nix::errno::Errno::EROFS) => {}
            Err(e) => {
                return Err(ChildError::sys(
                    Step::Fchown,
                    format!("fd {fd} to uid {uid}"),
                    e,
                ))
            }
        }
    }
    Ok(())
}

/// `no_new_privs` after the identity switch (setuid itself is unaffected)
/// and before exec, where it takes effect.
pub(crate) fn set_no_new_privs(p: &ProcessPlan) -> Result<()> {
    if p.no_new_privileges {
        nix::sys::prctl::set_no_new_privs()
            .map_err(|e| ChildError::sys(Step::SetNoNewPrivs, None, e))?;
    }
    Ok(())
}

/// Whether the process's cwd was entered already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cwd {
    Entered,
    /// Root could not enter it (EACCES, EPERM: a directory only its owner
    /// may search, owned by an unmapped or squashed user): try again as the
    /// process's user.
    AsUser,
}

/// Enters `process.cwd` while still root, as runc does: a directory the
/// runtime can search but the process's user cannot is still the
/// process's working directory.
pub(crate) fn enter_cwd(p: &ProcessPlan) -> Result<Cwd> {
    match nix::unistd::chdir(&p.cwd) {
        Ok(()) => Ok(Cwd::Entered),
        Err(nix::errno::Errno::EACCES) | Err(nix::errno::Errno::EPERM) => Ok(Cwd::AsUser),
        Err(e) => Err(cwd_err(p, e)),
    }
}

/// The second try of [`enter_cwd`], as the process's user; then the check
/// that the cwd is inside the container's root: a cwd reached through a
/// leaked fd or a magic link makes getcwd(2) fail (runc CVE-2024-21626).
pub(crate) fn finish_cwd(p: &ProcessPlan, cwd: Cwd) -> Result<()> {
    if cwd == Cwd::AsUser {
        nix::unistd::chdir(&p.cwd).map_err(|e| cwd_err(p, e))?;
    }
    match nix::unistd::getcwd() {
        Ok(dir) if dir.is_absolute() => Ok(()),
        _ => Err(ChildError::other(
            Step::ProcessCwd,
            p.cwd.display().to_string(),
            "resolves outside the container's root",
        )),
    }
}

fn cwd_err(p: &ProcessPlan, e: nix::errno::Errno) -> ChildError {
    ChildError::sys(Step::Chdir, format!("process.cwd {}", p.cwd.display()), e)
}

/// The environment the program gets: the planned one with runc's defaults
/// (see [`crate::plan::exec_env`]); `HOME` from the container's
/// `/etc/passwd` when it is missing. Read after the switch of root, as the
/// runtime (the file may be readable by root only).
pub(crate) fn exec_env(p: &ProcessPlan) -> Vec<String> {
    let (mut env, needs_home) = crate::plan::exec_env(&p.env);
    if needs_home {
        env.push(format!("HOME={}", container_home(p.uid)));
    }
    env
}

/// The largest `/etc/passwd` read: a container's file is not trusted to be
/// small (or to end).
const PASSWD_LIMIT: u64 = 4 << 20;

/// The home of `uid` in the container's `/etc/passwd`, `/` when the file or
/// the entry is missing or unreadable (runc's default). Opened without
/// blocking and read only if it is a regular file: the container's image
/// chose what it is (a FIFO, `/dev/zero`).
fn container_home(uid: u32) -> String {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let text = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open("/etc/passwd")
        .ok()
        .filter(|f| f.metadata().is_ok_and(|m| m.is_file()))
        .and_then(|f| {
            let mut text = String::new();
            f.take(PASSWD_LIMIT)
                .read_to_string(&mut text)
                .ok()
                .map(|_| text)
        })
        .unwrap_or_default();
    crate::plan::home_of(&text, uid)
}

/// What `execve` takes, made before the seccomp filter is loaded (no
/// allocation, no syscall but `execve` itself after it).
pub(crate) struct Execve {
    program: CString,
    args: Vec<CString>,
    env: Vec<CString>,
}

/// Prepares the last steps: the umask, every fd above stdio and the
/// preserved ones close-on-exec, default signal handling, and the C strings
/// of the program, its arguments and environment.
pub(crate) fn prepare_exec(p: &ProcessPlan, program: &Path, env: &[String]) -> Result<Execve> {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        p.umask.unwrap_or(0o022),
    ));
    let cstr = |s: &str| {
        CString::new(s)
            .map_err(|_| ChildError::other(Step::Exec, s.to_string(), "contains a NUL byte"))
    };
    let args = p.args.iter().map(|a| cstr(a)).collect::<Result<Vec<_>>>()?;
    let env = env.iter().map(|a| cstr(a)).collect::<Result<Vec<_>>>()?;
    let program = CString::new(program.as_os_str().as_bytes()).map_err(|_| {
        ChildError::other(
            Step::Exec,
            program.display().to_string(),
            "contains a NUL byte",
        )
    })?;
    Ok(Execve { program, args, env })
}

/// Replaces this process with the container's program.
pub(crate) fn exec(e: &Execve) -> Result<std::convert::Infallible> {
    nix::unistd::execve(&e.program, &e.args, &e.env)
        .map_err(|err| ChildError::sys(Step::Exec, e.program.to_string_lossy().into_owned(), err))
}
