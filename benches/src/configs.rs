//! The bundles' `config.json`s: the minimal one and a realistic one (what an engine asks for
//! by default), and their sleeping twins for `exec` and the parallel runs. `ociVersion` 1.0.2
//! everywhere because crun 1.8.1 rejects versions newer than it knows. `root.path` is set by
//! [`crate::bundle::WorkDir::write_bundle`].

use std::path::PathBuf;

use serde_json::{json, Value};

/// The minimal container: `/bin/true` with the pid, ipc, uts, mount and network namespaces,
/// `/proc` and a `/dev` tmpfs (so runtimes create device nodes in a tmpfs, not in the rootfs),
/// a read-only root, no terminal, no capabilities, no seccomp, no resources.
pub fn minimal() -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["/bin/true"],
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/"
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "bench",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            dev_tmpfs()
        ],
        "linux": { "namespaces": namespaces() }
    })
}

/// What an engine asks for by default: podman's default seccomp profile (`profile`, a
/// `linux.seccomp` object), docker's 14 default capabilities, `noNewPrivileges` false, the
/// masked and read-only paths and the mounts `runc spec` writes, a memory limit (256 MiB) and a
/// pids limit (1024), the minimal bundle's namespaces.
pub fn realistic(profile: Value) -> Value {
    let mut config = minimal();
    let caps = json!(DOCKER_CAPS
        .iter()
        .map(|c| format!("CAP_{c}"))
        .collect::<Vec<_>>());
    config["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps
    });
    config["process"]["noNewPrivileges"] = json!(false);
    config["mounts"] = runc_spec_mounts();
    config["linux"] = json!({
        "namespaces": namespaces(),
        "maskedPaths": [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
            "/proc/scsi"
        ],
        "readonlyPaths": [
            "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
        ],
        "resources": {
            "memory": { "limit": 256 * 1024 * 1024 },
            "pids": { "limit": 1024 }
        },
        "seccomp": profile
    });
    config
}

/// `config` with `sleep` as its process: a container that runs until it is killed.
pub fn sleeping(config: &Value) -> Value {
    let mut config = config.clone();
    config["process"]["args"] = json!(["sleep", "1000000"]);
    config
}

/// podman's default seccomp profile as a `linux.seccomp` object (see fixtures/seccomp/README.md).
pub fn podman_profile() -> Result<Value, String> {
    let path = PathBuf::from(crate::REPO).join("fixtures/seccomp/podman-default.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Docker's default capability set (moby's `oci/caps/defaults.go`), without the `CAP_` prefix.
const DOCKER_CAPS: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

fn namespaces() -> Vec<Value> {
    ["pid", "ipc", "uts", "mount", "network"]
        .iter()
        .map(|t| json!({ "type": t }))
        .collect()
}

fn dev_tmpfs() -> Value {
    json!({
        "destination": "/dev",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
    })
}

/// The mounts of runc 1.1's `runc spec`.
fn runc_spec_mounts() -> Value {
    let nosuid_noexec_nodev = ["nosuid", "noexec", "nodev"];
    json!([
        { "destination": "/proc", "type": "proc", "source": "proc" },
        dev_tmpfs(),
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
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
            "options": nosuid_noexec_nodev
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"]
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
        }
    ])
}
