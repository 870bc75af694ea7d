//! The container process: what it runs, as whom, with which privileges.

use std::path::PathBuf;
use std::str::FromStr;

use oci_spec::runtime::{Capabilities, PosixRlimitType, Process, Spec};
use serde::Serialize;

use super::lsm::{apparmor_profile, selinux_context, LsmHost};
use super::tuning::{self, ExecAffinity, MemoryPolicy, SchedAttr};
use crate::error::FieldError;
use crate::rootless::Caller;

/// A resource limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rlimit {
    /// `RLIMIT_NOFILE`, ...
    pub name: &'static str,
    /// The resource number for setrlimit(2).
    pub resource: u32,
    /// Soft limit.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// The five capability sets, by name (`CAP_CHOWN`, ...), sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CapabilitySets {
    /// Bounding set.
    pub bounding: Vec<String>,
    /// Effective set.
    pub effective: Vec<String>,
    /// Inheritable set.
    pub inheritable: Vec<String>,
    /// Permitted set.
    pub permitted: Vec<String>,
    /// Ambient set.
    pub ambient: Vec<String>,
}

/// The process part of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessPlan {
    /// argv.
    pub args: Vec<String>,
    /// Environment, `KEY=value`.
    pub env: Vec<String>,
    /// Working directory inside the container.
    pub cwd: PathBuf,
    /// uid inside the container.
    pub uid: u32,
    /// gid inside the container.
    pub gid: u32,
    /// Supplementary groups.
    pub additional_gids: Vec<u32>,
    /// umask, when set.
    pub umask: Option<u32>,
    /// Resource limits.
    pub rlimits: Vec<Rlimit>,
    /// Capability sets. Absent in config.json means none at all: a process
    /// that is root in the container still gets no privilege.
    pub capabilities: CapabilitySets,
    /// `PR_SET_NO_NEW_PRIVS`.
    pub no_new_privileges: bool,
    /// `/proc/self/oom_score_adj`.
    pub oom_score_adj: Option<i32>,
    /// Number of fds above stdio passed through (`--preserve-fds`).
    pub preserve_fds: u32,
    /// Join a new session keyring (not with `--no-new-keyring`).
    pub new_session_keyring: bool,
    /// A pty as stdio and controlling terminal.
    pub terminal: bool,
    /// Its initial size, `(rows, columns)`.
    pub console_size: Option<(u16, u16)>,
    /// The AppArmor profile the process changes to at its `execve`
    /// (`unconfined` included: it is a profile the kernel knows).
    pub apparmor_profile: Option<String>,
    /// The SELinux context the process gets at its `execve`; also the label
    /// of the session keyring the init makes.
    pub selinux_label: Option<String>,
    /// `process.scheduler`.
    pub scheduler: Option<SchedAttr>,
    /// `process.ioPriority`, as `ioprio_set(2)` takes it.
    pub io_priority: Option<u32>,
    /// `linux.personality`, as `personality(2)` takes it.
    pub personality: Option<u64>,
    /// `linux.memoryPolicy`.
    pub memory_policy: Option<MemoryPolicy>,
    /// `execCPUAffinity` of an exec'd process; `None` for a container's
    /// init (runtime-spec: not applicable to it).
    pub exec_affinity: Option<ExecAffinity>,
}

// libc's `RLIMIT_*` are `u32` with glibc and `c_int` with musl.
#[allow(clippy::unnecessary_cast)]
fn rlimit_of(t: PosixRlimitType) -> (&'static str, u32) {
    use PosixRlimitType::*;
    let (name, res): (&str, u32) = match t {
        RlimitCpu => ("RLIMIT_CPU", libc::RLIMIT_CPU as u32),
        RlimitFsize => ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as u32),
        RlimitData => ("RLIMIT_DATA", libc::RLIMIT_DATA as u32),
        RlimitStack => ("RLIMIT_STACK", libc::RLIMIT_STACK as u32),
        RlimitCore => ("RLIMIT_CORE", libc::RLIMIT_CORE as u32),
        RlimitRss => ("RLIMIT_RSS", libc::RLIMIT_RSS as u32),
        RlimitNproc => ("RLIMIT_NPROC", libc::RLIMIT_NPROC as u32),
        RlimitNofile => ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as u32),
        RlimitMemlock => ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as u32),
        RlimitAs => ("RLIMIT_AS", libc::RLIMIT_AS as u32),
        RlimitLocks => ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as u32),
        RlimitSigpending => ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as u32),
        RlimitMsgqueue => ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as u32),
        RlimitNice => ("RLIMIT_NICE", libc::RLIMIT_NICE as u32),
        RlimitRtprio => ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as u32),
        RlimitRttime => ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as u32),
    };
    (name, res)
}

fn cap_names(field: &str, set: &Option<Capabilities>) -> Result<Vec<String>, FieldError> {
    let mut names = Vec::new();
    for cap in set.iter().flatten() {
        let name = serde_json::to_value(cap)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if caps::Capability::from_str(&name).is_err() {
            return Err(FieldError::invalid(
                field,
                format!("capability {name} is unknown to this build"),
            ));
        }
        names.push(name);
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Plans the container's process. Capabilities `caller` cannot grant are
/// left out, with a warning each in `warnings` (see [`keep_grantable`]).
pub(super) fn plan(
    spec: &Spec,
    preserve_fds: u32,
    new_session_keyring: bool,
    caller: &Caller,
    lsm: LsmHost,
    warnings: &mut Vec<String>,
) -> Result<ProcessPlan, FieldError> {
    let p = spec
        .process()
        .as_ref()
        .ok_or_else(|| FieldError::invalid("process", "is required to create a container"))?;
    let mut plan = plan_process(p, "process.", preserve_fds, new_session_keyring, lsm)?;
    warnings.extend(keep_grantable(&mut plan.capabilities, "process.", caller));
    Ok(plan)
}

/// Removes from `caps` every capability `caller` cannot hand on, returning
/// one warning per set and capability. runtime-spec config.md ("Linux
/// Process", `capabilities`): "Any value which cannot be mapped to a
/// relevant kernel interface, or cannot be granted otherwise MUST be logged
/// as a warning by the runtime. Runtimes SHOULD NOT fail if the container
/// configuration requests capabilities that cannot be granted, for example,
/// if the runtime operates in a restricted environment with a limited set of
/// capabilities." Two cases: a capability the running kernel does not have
/// (a number above `cap_last_cap`: this build knows a newer kernel's name),
/// and one missing from the runtime's own bounding set (`capsh --drop`, a
/// runtime inside a container): capset(2) can only lower the sets and
/// execve(2) keeps them within the bounding set, so asking for it could
/// only fail. Leaving it out gives the container less privilege, never more.
pub(crate) fn keep_grantable(
    caps: &mut CapabilitySets,
    prefix: &str,
    caller: &Caller,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let CapabilitySets {
        bounding,
        effective,
        inheritable,
        permitted,
        ambient,
    } = caps;
    for (set, names) in [
        ("bounding", bounding),
        ("effective", effective),
        ("inheritable", inheritable),
        ("permitted", permitted),
        ("ambient", ambient),
    ] {
        names.retain(|name| {
            let Some(why) = ungrantable(name, caller) else {
                return true;
            };
            warnings.push(format!(
                "{prefix}capabilities.{set}: {name} cannot be granted: {why}; left out"
            ));
            false
        });
    }
    warnings
}

/// Why `caller` cannot grant the capability `name`, if it cannot.
fn ungrantable(name: &str, caller: &Caller) -> Option<String> {
    // Names were checked by cap_names: every one is known to `caps`.
    let cap = caps::Capability::from_str(name).ok()?;
    if cap.index() > caller.cap_last_cap {
        Some(format!(
            "the kernel has no capability {} (its last is {}, /proc/sys/kernel/cap_last_cap)",
            cap.index(),
            caller.cap_last_cap
        ))
    } else if caller.bounding_set & cap.bitmask() == 0 {
        Some(
            "it is not in the runtime's own bounding set, so no process it starts can have it"
                .into(),
        )
    } else {
        None
    }
}

/// The five capability sets of `p` (`prefix` names its fields).
fn capability_sets(prefix: &str, p: &Process) -> Result<CapabilitySets, FieldError> {
    Ok(match p.capabilities() {
        None => CapabilitySets::default(),
        Some(c) => {
            let inheritable = cap_names(
                &format!("{prefix}capabilities.inheritable"),
                c.inheritable(),
            )?;
            let permitted = cap_names(&format!("{prefix}capabilities.permitted"), c.permitted())?;
            // The kernel raises an ambient capability only if it is both
            // permitted and inheritable; runc's default config lists ambient
            // caps without inheritable ones and runc skips them with a
            // warning. The plan keeps only the ones that can be raised.
            let mut ambient = cap_names(&format!("{prefix}capabilities.ambient"), c.ambient())?;
            ambient.retain(|a| inheritable.contains(a) && permitted.contains(a));
            CapabilitySets {
                bounding: cap_names(&format!("{prefix}capabilities.bounding"), c.bounding())?,
                effective: cap_names(&format!("{prefix}capabilities.effective"), c.effective())?,
                inheritable,
                permitted,
                ambient,
            }
        }
    })
}

/// Plans one process (a container's, or one for `exec`); `prefix` is the
/// JSON path of `p` in its file (`process.` in config.json, empty in a
/// process.json).
pub(crate) fn plan_process(
    p: &Process,
    prefix: &str,
    preserve_fds: u32,
    new_session_keyring: bool,
    lsm: LsmHost,
) -> Result<ProcessPlan, FieldError> {
    let apparmor_profile = apparmor_profile(
        &format!("{prefix}apparmorProfile"),
        p.apparmor_profile().as_deref(),
        lsm,
    )?;
    let selinux_label = selinux_context(
        &format!("{prefix}selinuxLabel"),
        p.selinux_label().as_deref(),
        lsm,
    )?;
    let user = p.user();
    let capabilities = capability_sets(prefix, p)?;
    let rlimits = p
        .rlimits()
        .iter()
        .flatten()
        .map(|r| {
            let (name, resource) = rlimit_of(r.typ());
            Rlimit {
                name,
                resource,
                soft: r.soft(),
                hard: r.hard(),
            }
        })
        .collect();
    Ok(ProcessPlan {
        args: p.args().clone().unwrap_or_default(),
        env: p.env().clone().unwrap_or_default(),
        cwd: super::mounts::container_path(&format!("{prefix}cwd"), p.cwd())?,
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        rlimits,
        capabilities,
        no_new_privileges: p.no_new_privileges().unwrap_or(false),
        oom_score_adj: p.oom_score_adj(),
        preserve_fds,
        new_session_keyring,
        terminal: p.terminal().unwrap_or(false),
        console_size: p
            .console_size()
            .map(|b| (b.height() as u16, b.width() as u16)),
        apparmor_profile,
        selinux_label,
        scheduler: p
            .scheduler()
            .as_ref()
            .map(|s| tuning::scheduler(prefix, s))
            .transpose()?,
        io_priority: tuning::io_priority(prefix, p)?,
        personality: None,
        memory_policy: None,
        exec_affinity: None,
    })
}

/// The environment `execve` gets, from the planned one, as runc prepares it:
/// a name given twice keeps its last value (at the place of that last
/// entry), and an empty `HOME` counts as unset. The second value says
/// whether `HOME` must still be added: runc adds the home directory of the
/// process's uid from the container's `/etc/passwd` (`/` when it has no
/// entry), and shells and programs expect it (`~`, dotfiles).
pub(crate) fn exec_env(env: &[String]) -> (Vec<String>, bool) {
    let name = |entry: &str| entry.split_once('=').map_or(entry, |(n, _)| n).to_string();
    let mut seen = std::collections::HashSet::new();
    let mut home_set = false;
    let mut out: Vec<String> = Vec::with_capacity(env.len());
    for entry in env.iter().rev() {
        let key = name(entry);
        if !seen.insert(key.clone()) {
            continue;
        }
        if key == "HOME" {
            if entry.len() == "HOME=".len() {
                continue;
            }
            home_set = true;
        }
        out.push(entry.clone());
    }
    out.reverse();
    (out, !home_set)
}

/// The home directory of `uid` in a `passwd(5)` file's text: the sixth field
/// of the first line whose third field is `uid`; `/` when no line matches or
/// the match has an empty home (runc's defaults). Malformed lines are
/// skipped, as getpwent(3) does.
pub(crate) fn home_of(passwd: &str, uid: u32) -> String {
    passwd
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[2].trim().parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
        })
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string())
}

#[cfg(test)]
mod env_tests {
    use super::{exec_env, home_of};

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn last_value_wins_at_its_place() {
        let (env, needs_home) = exec_env(&v(&["A=1", "B=2", "A=3", "HOME=/h"]));
        assert_eq!(env, v(&["B=2", "A=3", "HOME=/h"]));
        assert!(!needs_home);
    }

    #[test]
    fn empty_or_missing_home_is_added() {
        assert_eq!(exec_env(&v(&["PATH=/bin"])), (v(&["PATH=/bin"]), true));
        assert_eq!(exec_env(&v(&["HOME=", "X=1"])), (v(&["X=1"]), true));
        // The last HOME decides, even when an earlier one was set.
        assert_eq!(exec_env(&v(&["HOME=/a", "HOME="])), (v(&[]), true));
        assert_eq!(
            exec_env(&v(&["HOME=", "HOME=/a"])),
            (v(&["HOME=/a"]), false)
        );
    }

    #[test]
    fn home_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\n\
                      # comment\n\
                      bad line\n\
                      daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n\
                      nohome:x:7:7:::/bin/sh\n\
                      dup:x:1:1::/second:/bin/sh\n";
        assert_eq!(home_of(passwd, 0), "/root");
        assert_eq!(home_of(passwd, 1), "/usr/sbin");
        assert_eq!(home_of(passwd, 7), "/");
        assert_eq!(home_of(passwd, 1000), "/");
        assert_eq!(home_of("", 0), "/");
    }
}
