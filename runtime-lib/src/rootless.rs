//! Running without root: who the caller is, and the defaults that follow
//! from it (runc's `--rootless`, the state directory under
//! `$XDG_RUNTIME_DIR`).
//!
//! A "rootless" runtime is either an unprivileged user (euid ≠ 0) or root
//! of a user namespace that is not the host's initial one (rootless podman
//! runs its runtime there): in both cases the host's cgroups, device rules
//! and most id maps are out of reach.

use std::ffi::OsStr;
use std::path::PathBuf;

use caps::{CapSet, Capability};
use serde::Serialize;

/// The runtime's identity and privileges, as far as they shape a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    /// Effective uid, in the runtime's own user namespace.
    pub euid: u32,
    /// Effective gid, in the runtime's own user namespace.
    pub egid: u32,
    /// Whether the runtime runs in a user namespace other than the initial
    /// one (its `/proc/self/uid_map` is not the identity of all ids).
    pub in_user_namespace: bool,
    /// `CAP_SETUID` is effective: the runtime may write any uid map over
    /// the ids its own namespace has (the kernel's rule for
    /// `/proc/<pid>/uid_map`); without it only its own euid, once.
    pub can_map_uids: bool,
    /// `CAP_SETGID` is effective: the same for gid maps.
    pub can_map_gids: bool,
    /// `CAP_SYS_ADMIN` in the initial user namespace: needed for device
    /// cgroup rules (v1 `devices.allow`, v2 BPF device programs) and, in
    /// practice, for the host's cgroups.
    pub privileged: bool,
    /// The runtime's own bounding set, bit N for capability N: a capability
    /// outside it can never be granted to a process the runtime starts
    /// (capset(2) and execve(2) keep every set within it).
    pub bounding_set: u64,
    /// The highest capability number the kernel has
    /// (`/proc/sys/kernel/cap_last_cap`).
    pub cap_last_cap: u8,
}

impl Caller {
    /// Root of the host with every capability: what the runtime is when
    /// run by containerd or rootful podman.
    pub const ROOT: Caller = Caller {
        euid: 0,
        egid: 0,
        in_user_namespace: false,
        can_map_uids: true,
        can_map_gids: true,
        privileged: true,
        bounding_set: (1 << 41) - 1,
        cap_last_cap: 40,
    };

    /// Reads the facts of this process (`/proc/self/uid_map`, capabilities).
    pub fn detect() -> Caller {
        let in_user_namespace = std::fs::read_to_string("/proc/self/uid_map")
            .map(|m| !is_initial_uid_map(&m))
            .unwrap_or(false);
        let has = |c| caps::has_cap(None, CapSet::Effective, c).unwrap_or(false);
        Caller {
            euid: nix::unistd::geteuid().as_raw(),
            egid: nix::unistd::getegid().as_raw(),
            in_user_namespace,
            can_map_uids: has(Capability::CAP_SETUID),
            can_map_gids: has(Capability::CAP_SETGID),
            privileged: !in_user_namespace && has(Capability::CAP_SYS_ADMIN),
            bounding_set: caps::read(None, CapSet::Bounding)
                .map(|set| set.iter().fold(0, |mask, c| mask | c.bitmask()))
                .unwrap_or(0),
            cap_last_cap: std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(Capability::CAP_CHECKPOINT_RESTORE.index()),
        }
    }

    /// Whether the caller is "rootless" in runc's sense: not root, or root
    /// of a user namespace other than the host's.
    pub fn is_rootless(&self) -> bool {
        self.euid != 0 || self.in_user_namespace
    }
}

/// The initial user namespace maps every id to itself:
/// `0 0 4294967295`. Anything else is a user namespace made by someone.
pub fn is_initial_uid_map(text: &str) -> bool {
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|f: &Vec<&str>| !f.is_empty())
        .collect();
    lines.len() == 1 && lines[0] == ["0", "0", "4294967295"]
}

/// What `id` (of this process's user namespace) is on the host side of
/// the uid map `text` (`/proc/self/uid_map`).
pub fn outer_id(text: &str, id: u32) -> Option<u32> {
    text.lines().find_map(|l| {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        match f.as_slice() {
            [inner, outer, size] if (*inner..inner + size).contains(&u64::from(id)) => {
                u32::try_from(outer + (u64::from(id) - inner)).ok()
            }
            _ => None,
        }
    })
}

/// `uid N` for messages, with the host's uid when the runtime runs in a
/// user namespace (rootless podman's runtime is uid 0 there).
pub fn describe_uid(euid: u32) -> String {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    match outer_id(&map, euid) {
        Some(host) if !is_initial_uid_map(&map) => format!("uid {euid} ({host} on the host)"),
        _ => format!("uid {euid}"),
    }
}

/// runc's global `--rootless true|false|auto`: whether cgroups the caller
/// cannot write are skipped (`true`) or an error (`false`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RootlessMode {
    /// Rootless when [`Caller::is_rootless`].
    #[default]
    Auto,
    /// Always rootless.
    On,
    /// Never rootless: a cgroup that cannot be created is an error.
    Off,
}

impl std::str::FromStr for RootlessMode {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, crate::Error> {
        match s {
            "auto" => Ok(RootlessMode::Auto),
            "true" => Ok(RootlessMode::On),
            "false" => Ok(RootlessMode::Off),
            _ => Err(crate::Error::Usage(format!(
                "--rootless {s:?}: expected \"true\", \"false\" or \"auto\""
            ))),
        }
    }
}

impl RootlessMode {
    /// Whether the runtime runs rootless, for this caller.
    pub fn resolve(self, caller: &Caller) -> bool {
        match self {
            RootlessMode::Auto => caller.is_rootless(),
            RootlessMode::On => true,
            RootlessMode::Off => false,
        }
    }
}

/// The state directory when `--root` is not given, from the environment
/// of this process (see [`state_root_for`]).
pub fn default_state_root(caller: &Caller) -> Result<PathBuf, crate::Error> {
    state_root_for(
        caller,
        std::env::var_os("XDG_RUNTIME_DIR").as_deref(),
        std::env::var_os("USER").as_deref(),
    )
}

/// The state directory when `--root` is not given, by runc's rules:
/// `$XDG_RUNTIME_DIR/cella` for an unprivileged user, and for root of a
/// user namespace whose `USER` is not `root` (rootless podman runs its
/// runtime so, with its own `XDG_RUNTIME_DIR`); [`DEFAULT_ROOT`] for the
/// host's root, whose `XDG_RUNTIME_DIR` (`/run/user/0`) is ignored as runc
/// does. An unprivileged user without `XDG_RUNTIME_DIR` gets an error:
/// `/run/cella` is root's and would only fail later, less clearly.
///
/// [`DEFAULT_ROOT`]: crate::container::DEFAULT_ROOT
pub fn state_root_for(
    caller: &Caller,
    xdg_runtime_dir: Option<&OsStr>,
    user: Option<&OsStr>,
) -> Result<PathBuf, crate::Error> {
    let xdg = xdg_runtime_dir.filter(|d| !d.is_empty());
    let honour_xdg =
        caller.euid != 0 || (caller.in_user_namespace && user != Some("root".as_ref()));
    match xdg {
        Some(dir) if honour_xdg => Ok(PathBuf::from(dir).join("cella")),
        None if caller.euid != 0 => Err(crate::Error::NoStateDirectory { uid: caller.euid }),
        _ => Ok(PathBuf::from(crate::container::DEFAULT_ROOT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(euid: u32, in_user_namespace: bool) -> Caller {
        Caller {
            euid,
            egid: euid,
            in_user_namespace,
            can_map_uids: euid == 0,
            can_map_gids: euid == 0,
            privileged: false,
            ..Caller::ROOT
        }
    }

    #[test]
    fn initial_uid_map() {
        assert!(is_initial_uid_map("         0          0 4294967295\n"));
        assert!(!is_initial_uid_map("         0       1001          1\n"));
        assert!(!is_initial_uid_map("0 0 4294967295\n0 0 1\n"));
        assert!(!is_initial_uid_map(""));
    }

    #[test]
    fn ids_seen_from_the_host() {
        let podman = "         0       1001          1\n         1     100000      65536\n";
        assert_eq!(outer_id(podman, 0), Some(1001));
        assert_eq!(outer_id(podman, 1), Some(100000));
        assert_eq!(outer_id(podman, 65536), Some(165535));
        assert_eq!(outer_id(podman, 65537), None);
        assert_eq!(outer_id("0 0 4294967295\n", 7), Some(7));
    }

    #[test]
    fn rootless_flag() {
        assert_eq!("auto".parse().ok(), Some(RootlessMode::Auto));
        assert_eq!("true".parse().ok(), Some(RootlessMode::On));
        assert_eq!("false".parse().ok(), Some(RootlessMode::Off));
        assert!("yes"
            .parse::<RootlessMode>()
            .unwrap_err()
            .to_string()
            .contains("\"auto\""));
        assert!(!RootlessMode::Auto.resolve(&Caller::ROOT));
        assert!(RootlessMode::Auto.resolve(&user(1001, false)));
        assert!(
            RootlessMode::Auto.resolve(&user(0, true)),
            "root of a user namespace"
        );
        assert!(RootlessMode::On.resolve(&Caller::ROOT));
        assert!(!RootlessMode::Off.resolve(&user(1001, false)));
    }

    #[test]
    fn state_root_follows_runc() {
        let xdg = Some(OsStr::new("/run/user/1001"));
        let root = |c: &Caller, x, u| state_root_for(c, x, u).map_err(|e| e.to_string());
        assert_eq!(
            root(&user(1001, false), xdg, None),
            Ok(PathBuf::from("/run/user/1001/cella"))
        );
        assert_eq!(
            root(
                &Caller::ROOT,
                Some(OsStr::new("/run/user/0")),
                Some(OsStr::new("root"))
            ),
            Ok(PathBuf::from("/run/cella")),
            "the host's root ignores XDG_RUNTIME_DIR"
        );
        assert_eq!(
            root(&user(0, true), xdg, None),
            Ok(PathBuf::from("/run/user/1001/cella")),
            "rootless podman: root of its user namespace, USER unset"
        );
        assert_eq!(
            root(&user(0, true), xdg, Some(OsStr::new("root"))),
            Ok(PathBuf::from("/run/cella"))
        );
        assert_eq!(
            root(&Caller::ROOT, None, None),
            Ok(PathBuf::from("/run/cella"))
        );
        let err = root(&user(1001, false), None, None).unwrap_err();
        assert!(
            err.contains("uid 1001") && err.contains("XDG_RUNTIME_DIR"),
            "{err}"
        );
        assert!(root(&user(1001, false), Some(OsStr::new("")), None).is_err());
    }
}
