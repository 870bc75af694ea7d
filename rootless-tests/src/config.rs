//! The baseline rootless `config.json`: what `runc spec --rootless` writes
//! (a user namespace mapping root to the caller, no network namespace,
//! `/sys` bind-mounted, no `gid=5` on devpts, no `linux.resources`), with
//! no terminal, a writable root and the given command.

use serde_json::{json, Value};

use crate::harness::Ctx;

/// The capabilities of `runc spec`.
pub const CAPS: &[&str] = &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// A mapping of container id 0 to `host` (one id).
pub fn own_mapping(host: u32) -> Value {
    json!([{ "containerID": 0, "hostID": host, "size": 1 }])
}

/// Root to the user, 1..65536 to its subordinate ids (needs newuidmap).
pub fn sub_mappings(own: u32, sub_start: u32) -> Value {
    json!([
        { "containerID": 0, "hostID": own, "size": 1 },
        { "containerID": 1, "hostID": sub_start, "size": 65536 }
    ])
}

/// The baseline config running `args`, root mapped to the user.
pub fn base(ctx: &Ctx, args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": { "bounding": CAPS, "effective": CAPS, "permitted": CAPS },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": false },
        "hostname": "rootless",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
              "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
              "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/sys", "type": "none", "source": "/sys",
              "options": ["rbind", "nosuid", "noexec", "nodev", "ro"] }
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}],
            "uidMappings": own_mapping(ctx.user.uid),
            "gidMappings": own_mapping(ctx.user.gid)
        }
    })
}
