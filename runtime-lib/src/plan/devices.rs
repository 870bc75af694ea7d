//! The container's `/dev`: runc's default device nodes, symlinks, and the
//! nodes of `linux.devices`; and the device cgroup rules that allow them.

use std::path::PathBuf;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, Spec};
use serde::Serialize;

use crate::cgroup_types::DeviceRule;
use crate::error::FieldError;

/// The type of a device node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Character device.
    Char,
    /// Block device.
    Block,
    /// FIFO.
    Fifo,
}

impl NodeKind {
    /// The `S_IF*` bits for mknod.
    pub fn mode_bits(self) -> u32 {
        match self {
            NodeKind::Char => libc::S_IFCHR,
            NodeKind::Block => libc::S_IFBLK,
            NodeKind::Fifo => libc::S_IFIFO,
        }
    }
}

/// A device node to create in the container's `/dev`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeviceNode {
    /// Absolute path in the container.
    pub path: PathBuf,
    /// Node type.
    pub kind: NodeKind,
    /// Major number.
    pub major: i64,
    /// Minor number.
    pub minor: i64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Whether `linux.devices` asked for it. Such a node takes the place of
    /// a default node of the same path, and of that default's cgroup rule.
    #[serde(default)]
    pub from_config: bool,
}

/// The device part of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DevicePlan {
    /// Nodes to create (defaults first, then `linux.devices`).
    pub nodes: Vec<DeviceNode>,
    /// Symlinks `(link, target)` in `/dev`.
    pub symlinks: Vec<(PathBuf, PathBuf)>,
    /// Directories to make sure exist (`/dev/pts`, `/dev/shm`).
    pub dirs: Vec<PathBuf>,
    /// In a user namespace `mknod` is not allowed: bind-mount the host's
    /// node instead.
    pub bind_from_host: bool,
    /// Device cgroup rules, in order (the first denies everything).
    pub cgroup_rules: Vec<DeviceRule>,
}

fn node(path: &str, major: i64, minor: i64) -> DeviceNode {
    DeviceNode {
        path: PathBuf::from(path),
        kind: NodeKind::Char,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
        from_config: false,
    }
}

fn default_nodes() -> Vec<DeviceNode> {
    vec![
        node("/dev/null", 1, 3),
        node("/dev/zero", 1, 5),
        node("/dev/full", 1, 7),
        node("/dev/random", 1, 8),
        node("/dev/urandom", 1, 9),
        node("/dev/tty", 5, 0),
    ]
}

fn allow(kind: char, major: Option<i64>, minor: Option<i64>, access: &str) -> DeviceRule {
    DeviceRule {
        allow: true,
        kind,
        major,
        minor,
        access: access.to_string(),
    }
}

/// The rules runc always appends after the config's (specconv's
/// `AllowedDevices`): `mknod` of anything (creating a node is harmless as
/// long as opening it is denied), the default nodes but those `nodes` from
/// `linux.devices` replace, `/dev/pts/*`, `/dev/ptmx` and `/dev/net/tun`.
fn default_rules(nodes: &[DeviceNode]) -> Vec<DeviceRule> {
    let replaced = |d: &DeviceNode| nodes.iter().any(|n| n.from_config && n.path == d.path);
    let mut rules = vec![allow('c', None, None, "m"), allow('b', None, None, "m")];
    rules.extend(
        default_nodes()
            .iter()
            .filter(|d| !replaced(d))
            .map(|n| allow('c', Some(n.major), Some(n.minor), "rwm")),
    );
    rules.push(allow('c', Some(136), None, "rwm")); // /dev/pts/*
    rules.push(allow('c', Some(5), Some(2), "rwm")); // /dev/ptmx
    rules.push(allow('c', Some(10), Some(200), "rwm")); // /dev/net/tun
    rules
}

/// The device cgroup rules, as runc orders them: deny everything, the
/// config's rules in order, then runc's defaults. The config's rules come
/// first, so they cannot take a default away; a "deny all" among them drops
/// the rules before it. The nodes of `linux.devices` get no rule of their
/// own: a config that denies everything and lists a device in
/// `linux.devices` has the node but may not open it, as under runc (engines
/// add a `resources.devices` rule for each device they pass).
pub(crate) fn cgroup_rules(
    config: &[LinuxDeviceCgroup],
    nodes: &[DeviceNode],
) -> Result<Vec<DeviceRule>, FieldError> {
    let deny_all = DeviceRule {
        allow: false,
        kind: 'a',
        major: None,
        minor: None,
        access: "rwm".to_string(),
    };
    let mut rules = vec![deny_all.clone()];
    for (i, r) in config.iter().enumerate() {
        let kind = match r.typ() {
            None | Some(LinuxDeviceType::A) => 'a',
            Some(LinuxDeviceType::C) => 'c',
            Some(LinuxDeviceType::B) => 'b',
            Some(other) => {
                return Err(FieldError::invalid(
                    format!("linux.resources.devices[{i}].type"),
                    format!("{other:?} is not a device cgroup type (a, b or c)"),
                ))
            }
        };
        let access = r.access().clone().unwrap_or_else(|| "rwm".to_string());
        let rule = DeviceRule {
            allow: r.allow(),
            kind,
            major: r.major(),
            minor: r.minor(),
            access,
        };
        // "deny all" in the config resets the list: the same as our first rule.
        if kind == 'a' && !rule.allow {
            rules = vec![deny_all.clone()];
            continue;
        }
        rules.push(rule);
    }
    rules.extend(default_rules(nodes));
    Ok(rules)
}

pub(super) fn plan(
    spec: &Spec,
    in_user_namespace: bool,
    proc_kcore: bool,
) -> Result<DevicePlan, FieldError> {
    let linux = spec.linux().as_ref();
    let mut nodes = default_nodes();
    for (i, d) in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = format!("linux.devices[{i}]");
        let path = super::mounts::container_path(&format!("{field}.path"), d.path())?;
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => NodeKind::Char,
            LinuxDeviceType::B => NodeKind::Block,
            LinuxDeviceType::P => NodeKind::Fifo,
            LinuxDeviceType::A => {
                return Err(FieldError::invalid(
                    format!("{field}.type"),
                    "\"a\" is not a device type",
                ))
            }
        };
        let new = DeviceNode {
            path,
            kind,
            major: d.major(),
            minor: d.minor(),
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
            from_config: true,
        };
        // A configured device replaces a default one of the same path.
        nodes.retain(|n| n.path != new.path);
        nodes.push(new);
    }

    let config_rules = linux
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.devices().as_deref())
        .unwrap_or_default();
    let cgroup_rules = cgroup_rules(config_rules, &nodes)?;

    Ok(DevicePlan {
        nodes,
        symlinks: [
            ("/dev/fd", "/proc/self/fd"),
            ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"),
            ("/dev/stderr", "/proc/self/fd/2"),
            ("/dev/ptmx", "pts/ptmx"),
            ("/dev/core", "/proc/kcore"),
        ]
        .iter()
        .filter(|(l, _)| proc_kcore || *l != "/dev/core")
        .map(|(l, t)| (PathBuf::from(l), PathBuf::from(t)))
        .collect(),
        dirs: vec![PathBuf::from("/dev/pts"), PathBuf::from("/dev/shm")],
        bind_from_host: in_user_namespace,
        cgroup_rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> LinuxDeviceCgroup {
        serde_json::from_value(json).unwrap()
    }

    fn kernel(rules: &[DeviceRule]) -> Vec<String> {
        rules
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    if r.allow { "allow" } else { "deny" },
                    r.to_kernel()
                )
            })
            .collect()
    }

    /// runc's order: deny all, the config's rules, then the defaults, which the config cannot
    /// take away; a node of linux.devices gets no rule of its own but drops the default rule
    /// of the path it replaces.
    #[test]
    fn config_rules_before_runc_defaults() {
        let config = [
            rule(serde_json::json!({"allow": false, "access": "rwm"})),
            rule(
                serde_json::json!({"allow": false, "type": "c", "major": 1, "minor": 5, "access": "rwm"}),
            ),
        ];
        let mut nodes = default_nodes();
        let mut fuse = node("/dev/fuse", 10, 229);
        fuse.from_config = true;
        let mut null = node("/dev/null", 1, 3);
        null.from_config = true;
        nodes.retain(|n| n.path != null.path);
        nodes.extend([fuse, null]);
        let rules = kernel(&cgroup_rules(&config, &nodes).unwrap());
        assert_eq!(rules[0], "deny a");
        assert_eq!(rules[1], "deny c 1:5 rwm");
        // The default for /dev/zero comes after the config's deny, so it wins.
        assert!(rules[2..].contains(&"allow c 1:5 rwm".to_string()));
        assert!(!rules.contains(&"allow c 1:3 rwm".to_string()), "{rules:?}");
        assert!(!rules.iter().any(|r| r.contains("10:229")), "{rules:?}");
        assert!(rules.contains(&"allow c 10:200 rwm".to_string()));
        assert!(!rules.contains(&"allow c 5:1 rwm".to_string()));
    }
}
