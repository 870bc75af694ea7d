//! The baseline `config.json` every test starts from, and small helpers to change it.
//!
//! The baseline follows `runc spec` with the changes the suite needs: `ociVersion` 1.0.2 (old
//! runtimes accept it), no terminal, a writable root, no `linux.resources`, no masked or
//! read-only paths (the tests for those add them), no hostname, and Docker's default
//! capability set (it stays inside this sandbox's bounding set).

use serde_json::{json, Value};

/// The OCI version written into every config.
pub const OCI_VERSION: &str = "1.0.2";

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's default capabilities.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The namespaces of the baseline (cgroup is added by the tests that need it).
pub const DEFAULT_NAMESPACES: &[&str] = &["pid", "ipc", "uts", "mount", "network"];

/// The baseline config running `args`.
pub fn base_config(args: &[&str]) -> Value {
    json!({
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": [DEFAULT_PATH, "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": DEFAULT_CAPS,
                "effective": DEFAULT_CAPS,
                "permitted": DEFAULT_CAPS,
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "mounts": default_mounts(),
        "linux": {
            "namespaces": DEFAULT_NAMESPACES.iter().map(|t| json!({"type": t})).collect::<Vec<_>>(),
        }
    })
}

/// The baseline running `sh -c script`.
pub fn sh(script: &str) -> Value {
    base_config(&["sh", "-c", script])
}

pub fn default_mounts() -> Value {
    json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]}
    ])
}

/// Replaces the namespace list with `types` (new namespaces, no paths).
pub fn set_namespaces(cfg: &mut Value, types: &[&str]) {
    cfg["linux"]["namespaces"] = types.iter().map(|t| json!({"type": t})).collect();
}

/// Appends one namespace entry (e.g. `{"type":"network","path":...}`), replacing any entry
/// of the same type.
pub fn put_namespace(cfg: &mut Value, ns: Value) {
    let t = ns["type"].clone();
    let list = cfg["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces is an array");
    list.retain(|n| n["type"] != t);
    list.push(ns);
}

/// Appends a mount.
pub fn add_mount(cfg: &mut Value, m: Value) {
    cfg["mounts"]
        .as_array_mut()
        .expect("mounts is an array")
        .push(m);
}

/// Sets all of bounding, effective and permitted to `caps`, inheritable and ambient empty.
pub fn set_caps(cfg: &mut Value, caps: &[&str]) {
    cfg["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps,
        "inheritable": [], "ambient": []
    });
}

/// Adds a new user namespace with the same uid and gid mappings, each `(containerID, hostID,
/// size)`. The caller makes the rootfs owned by the container's root (see
/// [`crate::rootfs::chown_tree`]), as podman does.
pub fn add_userns(cfg: &mut Value, maps: &[(u64, u64, u64)]) {
    put_namespace(cfg, json!({"type": "user"}));
    let m: Vec<Value> = maps
        .iter()
        .map(|&(c, h, s)| json!({"containerID": c, "hostID": h, "size": s}))
        .collect();
    cfg["linux"]["uidMappings"] = json!(m);
    cfg["linux"]["gidMappings"] = json!(m);
}
