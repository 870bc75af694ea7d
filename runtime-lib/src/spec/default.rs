//! The starter `config.json` written by `cella spec`.
//!
//! It is the one `runc spec` writes (runc 1.1), so that tutorials and
//! scripts written for runc work unchanged, except for `ociVersion` (the
//! spec version cella implements) and the hostname.

use nix::unistd::{getegid, geteuid};
use serde_json::{json, Value};

/// The runtime-spec version cella implements and writes.
const OCI_VERSION: &str = "1.2.0";

/// The `config.json` for a shell in `rootfs`; with `rootless`, the variant
/// an unprivileged user can run: a user namespace that maps root in the
/// container to the caller's effective uid and gid, no network namespace
/// (an unprivileged user could not configure it), `/sys` bind-mounted
/// (sysfs cannot be mounted without a network namespace of one's own) and
/// no cgroup rules (an unprivileged user usually cannot write them).
pub fn default_spec(rootless: bool) -> Value {
    default_json(rootless)
}

/// [`default_spec`] as a typed [`oci_spec::runtime::Spec`], the start of
/// an in-memory configuration: set `root.path` (absolute), `process.args`
/// and `process.terminal`, and give it to
/// [`Runtime::builder_from_spec`](crate::container::Runtime::builder_from_spec).
pub fn default_config(rootless: bool) -> oci_spec::runtime::Spec {
    // The document is built here and matches oci-spec's types (a unit test
    // checks it), so this cannot fail; the fallback is the empty spec.
    serde_json::from_value(default_json(rootless)).unwrap_or_default()
}

fn default_json(rootless: bool) -> Value {
    json!({
        "ociVersion": OCI_VERSION,
        "process": process(),
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "cella",
        "mounts": mounts(rootless),
        "linux": linux(rootless),
    })
}

fn process() -> Value {
    let capabilities = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "terminal": true,
        "user": { "uid": 0, "gid": 0 },
        "args": ["sh"],
        "env": [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm"
        ],
        "cwd": "/",
        "capabilities": {
            "bounding": capabilities,
            "effective": capabilities,
            "permitted": capabilities,
            "ambient": capabilities
        },
        "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
        "noNewPrivileges": true
    })
}

fn mounts(rootless: bool) -> Value {
    let mut devpts_options = vec![
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
    ];
    if !rootless {
        // Group 5 (tty) owns the ptys; a rootless user namespace maps a
        // single id, so there the group would not exist.
        devpts_options.push("gid=5");
    }
    let sys = if rootless {
        json!({
            "destination": "/sys",
            "type": "none",
            "source": "/sys",
            "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]
        })
    } else {
        json!({
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"]
        })
    };
    json!([
        { "destination": "/proc", "type": "proc", "source": "proc" },
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": devpts_options
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"]
        },
        sys,
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
        }
    ])
}

fn linux(rootless: bool) -> Value {
    let mut linux = json!({
        "namespaces": namespaces(rootless),
        "maskedPaths": [
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi"
        ],
        "readonlyPaths": [
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger"
        ]
    });
    if rootless {
        let map = |id: u32| json!([{ "containerID": 0, "hostID": id, "size": 1 }]);
        linux["uidMappings"] = map(geteuid().as_raw());
        linux["gidMappings"] = map(getegid().as_raw());
    } else {
        // Deny every device; the runtime then allows the default ones it
        // creates (/dev/null, /dev/zero, ...), as runc does.
        linux["resources"] = json!({ "devices": [ { "allow": false, "access": "rwm" } ] });
    }
    linux
}

fn namespaces(rootless: bool) -> Value {
    let types: &[&str] = if rootless {
        &["pid", "ipc", "uts", "mount", "user"]
    } else {
        &["pid", "network", "ipc", "uts", "mount"]
    };
    types.iter().map(|t| json!({ "type": t })).collect()
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::Spec;

    use super::*;
    use crate::spec::validate::tests::TempBundle;
    use crate::spec::{validate, SpecError};

    fn validate_default(rootless: bool, terminal: bool) -> Result<(), SpecError> {
        let mut value = default_spec(rootless);
        value["process"]["terminal"] = json!(terminal);
        let spec: Spec = serde_json::from_value(value).expect("default spec deserializes");
        let bundle = TempBundle::new();
        validate(&spec, &bundle.dir, &bundle.dir.join("config.json"))
    }

    #[test]
    fn default_config_is_the_default_spec() {
        for rootless in [false, true] {
            let typed = default_config(rootless);
            let expected: Spec = serde_json::from_value(default_spec(rootless)).unwrap();
            // Compared as values: capability sets are hash sets.
            assert_eq!(typed, expected);
            assert_eq!(typed.hostname().as_deref(), Some("cella"));
        }
    }

    #[test]
    fn default_spec_is_valid() {
        for rootless in [false, true] {
            for terminal in [false, true] {
                validate_default(rootless, terminal).expect("default spec validates");
            }
        }
    }

    #[test]
    fn default_spec_matches_runc_spec_shape() {
        let spec = default_spec(false);
        assert_eq!(spec["ociVersion"], "1.2.0");
        assert_eq!(spec["hostname"], "cella");
        assert_eq!(spec["process"]["terminal"], true);
        assert_eq!(spec["process"]["args"], json!(["sh"]));
        assert_eq!(spec["mounts"].as_array().unwrap().len(), 7);
        assert_eq!(spec["linux"]["namespaces"].as_array().unwrap().len(), 5);
        assert_eq!(
            spec["linux"]["resources"]["devices"],
            json!([{ "allow": false, "access": "rwm" }])
        );
        assert!(spec["linux"].get("uidMappings").is_none());
    }

    #[test]
    fn rootless_spec_maps_the_caller() {
        let spec = default_spec(true);
        let linux = &spec["linux"];
        assert_eq!(linux["uidMappings"][0]["hostID"], geteuid().as_raw());
        assert_eq!(linux["gidMappings"][0]["hostID"], getegid().as_raw());
        assert!(linux.get("resources").is_none());
        let types: Vec<&str> = linux["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ns| ns["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["pid", "ipc", "uts", "mount", "user"]);
        assert_eq!(spec["mounts"][5]["options"][0], "rbind");
        assert!(!spec["mounts"][2]["options"]
            .as_array()
            .unwrap()
            .contains(&json!("gid=5")));
    }
}
