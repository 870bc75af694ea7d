//! `linux.netDevices`: which host network devices move into the container's
//! network namespace, and under which names. The checks are runc's
//! validator's (a network namespace of the container's own, not rootless,
//! names the kernel accepts) plus what the kernel would only say later and
//! less clearly: a `%d` template is well formed, a host name is not a
//! template, and two devices do not get the same name.

use oci_spec::runtime::Spec;
use serde::Serialize;

use super::namespaces::{NamespaceKind, NamespacePlan};
use crate::error::FieldError;
use crate::rootless::Caller;

/// One device to move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetDeviceMove {
    /// Its name on the host (the entry's key).
    pub host_name: String,
    /// Its name in the container: the entry's `name`, else the host name;
    /// with a `%d`, a template the kernel numbers.
    pub name: String,
    /// The entry's field, for errors: `linux.netDevices["eth1"]`.
    pub field: String,
}

impl NetDeviceMove {
    /// Whether the kernel picks the number of the name.
    pub fn is_template(&self) -> bool {
        self.name.contains('%')
    }
}

/// `IFNAMSIZ` less the NUL.
const MAX_NAME: usize = 15;

/// The moves `linux.netDevices` asks for, sorted by host name (the map's
/// order is not the file's: a sorted plan prints the same every time).
pub fn plan(
    spec: &Spec,
    namespaces: &NamespacePlan,
    caller: &Caller,
) -> Result<Vec<NetDeviceMove>, FieldError> {
    let Some(map) = spec.linux().as_ref().and_then(|l| l.net_devices().as_ref()) else {
        return Ok(Vec::new());
    };
    if map.is_empty() {
        return Ok(Vec::new());
    }
    if caller.is_rootless() {
        return Err(FieldError::unsupported(
            "linux.netDevices",
            "moving network devices needs root of the host (as in runc)",
        ));
    }
    let own_netns = namespaces.creates(NamespaceKind::Network)
        || namespaces
            .join
            .iter()
            .any(|(k, _)| *k == NamespaceKind::Network);
    if !own_netns {
        return Err(FieldError::invalid(
            "linux.netDevices",
            "the container has no network namespace of its own (linux.namespaces has no \
             \"network\"): the devices would stay on the host",
        ));
    }
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let mut moves: Vec<NetDeviceMove> = Vec::with_capacity(keys.len());
    for host in keys {
        let field = format!("linux.netDevices[{host:?}]");
        check_name(&field, host)?;
        if host.contains('%') {
            return Err(FieldError::invalid(
                field,
                "a host device name cannot be a template",
            ));
        }
        let wanted = map[host].name().as_deref().filter(|n| !n.is_empty());
        let name = wanted.unwrap_or(host).to_string();
        let name_field = format!("{field}.name");
        check_name(&name_field, &name)?;
        check_template(&name_field, &name)?;
        if let Some(other) = moves.iter().find(|m| !m.is_template() && m.name == name) {
            return Err(FieldError::invalid(
                name_field,
                format!("{name:?} is also the name {} gets", other.field),
            ));
        }
        moves.push(NetDeviceMove {
            host_name: host.clone(),
            name,
            field,
        });
    }
    Ok(moves)
}

/// The kernel's `dev_valid_name`: 1 to 15 bytes, not `.` or `..`, no `/`,
/// `:` or white space (NUL ends a name, so it cannot be in one either).
fn check_name(field: &str, name: &str) -> Result<(), FieldError> {
    let bad = |why: &str| Err(FieldError::invalid(field, format!("{name:?}: {why}")));
    if name.is_empty() || name.len() > MAX_NAME {
        return bad("a network device name has 1 to 15 bytes");
    }
    if name == "." || name == ".." {
        return bad("is not a network device name");
    }
    if name
        .bytes()
        .any(|c| matches!(c, b'/' | b':' | b'\0') || c.is_ascii_whitespace() || c == 0x0b)
    {
        return bad("a network device name has no '/', ':', NUL or white space");
    }
    Ok(())
}

/// The kernel numbers a name with one `%d` and refuses any other `%`.
fn check_template(field: &str, name: &str) -> Result<(), FieldError> {
    match name.split_once('%') {
        None => Ok(()),
        Some((_, rest)) if rest.starts_with('d') && !rest.contains('%') => Ok(()),
        Some(_) => Err(FieldError::invalid(
            field,
            format!("{name:?}: a template has one \"%d\" and no other '%'"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn spec(devices: Value, namespaces: Value) -> Spec {
        serde_json::from_value(json!({
            "ociVersion": "1.2.0",
            "root": {"path": "rootfs"},
            "linux": {"namespaces": namespaces, "netDevices": devices}
        }))
        .unwrap()
    }

    fn run(
        devices: Value,
        namespaces: Value,
        caller: &Caller,
    ) -> Result<Vec<NetDeviceMove>, FieldError> {
        let s = spec(devices, namespaces);
        let ns = super::super::namespaces::plan(&s, caller).unwrap();
        plan(&s, &ns, caller)
    }

    fn with_netns(devices: Value) -> Result<Vec<NetDeviceMove>, FieldError> {
        run(
            devices,
            json!([{"type": "network"}, {"type": "mount"}]),
            &Caller::ROOT,
        )
    }

    fn refused(devices: Value, field: &str, reason: &str) {
        let e = with_netns(devices.clone()).expect_err(&devices.to_string());
        assert_eq!(e.field, field, "{devices}");
        assert!(e.reason.contains(reason), "{devices}: {}", e.reason);
    }

    #[test]
    fn moves_sorted_with_the_new_name_or_the_host_one() {
        let m =
            with_netns(json!({"eth2": {}, "eth1": {"name": "ctr0"}, "d0": {"name": ""}})).unwrap();
        let got: Vec<(&str, &str, &str)> = m
            .iter()
            .map(|m| (m.host_name.as_str(), m.name.as_str(), m.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("d0", "d0", "linux.netDevices[\"d0\"]"),
                ("eth1", "ctr0", "linux.netDevices[\"eth1\"]"),
                ("eth2", "eth2", "linux.netDevices[\"eth2\"]"),
            ]
        );
        assert!(with_netns(json!({})).unwrap().is_empty());
    }

    #[test]
    fn templates_are_numbered_by_the_kernel_and_may_repeat() {
        let m = with_netns(json!({"a": {"name": "net%d"}, "b": {"name": "net%d"}})).unwrap();
        assert!(m.iter().all(NetDeviceMove::is_template));
        refused(
            json!({"a": {"name": "n%d%d"}}),
            "linux.netDevices[\"a\"].name",
            "template",
        );
        refused(
            json!({"a": {"name": "n%s"}}),
            "linux.netDevices[\"a\"].name",
            "template",
        );
        refused(json!({"a%d": {}}), "linux.netDevices[\"a%d\"]", "template");
    }

    #[test]
    fn names_the_kernel_refuses_are_refused() {
        let name = "linux.netDevices[\"e\"].name";
        refused(json!({"e": {"name": "a/b"}}), name, "'/'");
        refused(json!({"e": {"name": "a:b"}}), name, "':'");
        refused(json!({"e": {"name": "a b"}}), name, "white space");
        refused(
            json!({"e": {"name": ".."}}),
            name,
            "not a network device name",
        );
        refused(json!({"e": {"name": "a23456789012345x"}}), name, "1 to 15");
        assert!(with_netns(json!({"e": {"name": "a23456789012345"}})).is_ok());
        refused(json!({"a/b": {}}), "linux.netDevices[\"a/b\"]", "'/'");
    }

    #[test]
    fn the_same_name_twice_is_refused() {
        refused(
            json!({"a": {"name": "eth0"}, "b": {"name": "eth0"}}),
            "linux.netDevices[\"b\"].name",
            "linux.netDevices[\"a\"]",
        );
        refused(
            json!({"a": {}, "b": {"name": "a"}}),
            "linux.netDevices[\"b\"].name",
            "linux.netDevices[\"a\"]",
        );
    }

    #[test]
    fn needs_a_network_namespace_and_root() {
        let host_net = run(json!({"e": {}}), json!([{"type": "mount"}]), &Caller::ROOT);
        assert_eq!(host_net.unwrap_err().field, "linux.netDevices");
        let joined = run(
            json!({"e": {}}),
            json!([{"type": "network", "path": "/run/netns/x"}, {"type": "mount"}]),
            &Caller::ROOT,
        );
        assert_eq!(joined.unwrap().len(), 1);
        let rootless = Caller {
            euid: 1000,
            ..Caller::ROOT
        };
        let s = spec(
            json!({"e": {}}),
            json!([{"type": "network"}, {"type": "mount"}]),
        );
        let ns = super::super::namespaces::plan(&s, &Caller::ROOT).unwrap();
        let e = plan(&s, &ns, &rootless).unwrap_err();
        assert_eq!(e.field, "linux.netDevices");
        assert!(e.reason.contains("root"));
    }
}
