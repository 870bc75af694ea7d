//! The generated variants: the base config (`runc spec` with the terminal off) with one field
//! of runtime-spec's config (config.md, config-linux.md; 1.0 to 1.2) changed to a value this
//! host supports, or to an invalid one where the refusal is worth comparing. Each field is
//! exercised at least once; a variant is a list of edits applied in order.
//!
//! `@DIR@name`/`@FILE@name` bind sources, `@CGROUP@` and `@BLOCK_MAJOR@`/`@BLOCK_MINOR@` (the
//! block device holding the rootfs, for the blockIO device rules) are made per run
//! (`prepare.rs`). `fixtures/difftest/schema-fields.txt` lists the schema's fields; a unit test
//! checks that the variants change every one.

use serde_json::{json, Value};

use crate::corpus::{Case, Mode};

/// One edit of the base config at a JSON pointer.
#[derive(Clone, Copy)]
enum Op {
    /// Set the value (creating missing objects on the way).
    Set,
    /// Append the value to the array.
    Push,
    /// Remove the member or element.
    Del,
    /// Remove the elements of the array whose `type` is the given string.
    DelType,
}
use Op::*;

type Edit = (Op, &'static str, &'static str);

/// (name, edits): the config fields in the order of config.md, then config-linux.md.
#[rustfmt::skip]
const PROBE_VARIANTS: &[(&str, &[Edit])] = &[
    ("ociVersion.1.0.0", &[(Set, "/ociVersion", r#""1.0.0""#)]),
    ("ociVersion.1.2.0", &[(Set, "/ociVersion", r#""1.2.0""#)]),
    ("ociVersion.invalid", &[(Set, "/ociVersion", r#""not-a-version""#)]),
    ("root.readonly.false", &[(Set, "/root/readonly", "false")]),
    ("root.readonly.absent", &[(Del, "/root/readonly", "")]),
    // Mounts (config.md "Mounts").
    ("mounts.tmpfs", &[(Push, "/mounts", r#"{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "uid=1000", "gid=1000"]}"#)]),
    ("mounts.tmpfs-ro", &[(Push, "/mounts", r#"{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]}"#)]),
    ("mounts.tmpfs-flags", &[(Push, "/mounts", r#"{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "noatime", "nodiratime"]}"#)]),
    ("mounts.tmpfs-strictatime-sync", &[(Push, "/mounts", r#"{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["strictatime", "sync", "dirsync"]}"#)]),
    ("mounts.tmpfs-relative-destination", &[(Push, "/mounts", r#"{"destination": "mnt/rel", "type": "tmpfs", "source": "tmpfs"}"#)]),
    ("mounts.tmpfs-dotdot-destination", &[(Push, "/mounts", r#"{"destination": "/mnt/../tmp/dd", "type": "tmpfs", "source": "tmpfs"}"#)]),
    ("mounts.tmpfs-over-file", &[(Push, "/mounts", r#"{"destination": "/etc/passwd", "type": "tmpfs", "source": "tmpfs"}"#)]),
    ("mounts.bind-dir", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "type": "bind", "source": "@DIR@b", "options": ["bind"]}"#)]),
    ("mounts.bind-no-type", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "source": "@DIR@b", "options": ["bind"]}"#)]),
    ("mounts.bind-none-type", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "type": "none", "source": "@DIR@b", "options": ["rbind"]}"#)]),
    ("mounts.bind-ro", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "type": "bind", "source": "@DIR@b", "options": ["rbind", "ro"]}"#)]),
    ("mounts.bind-flags", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "type": "bind", "source": "@DIR@b", "options": ["bind", "nosuid", "nodev", "noexec"]}"#)]),
    ("mounts.bind-file", &[(Push, "/mounts", r#"{"destination": "/mnt/f", "type": "bind", "source": "@FILE@f", "options": ["bind"]}"#)]),
    ("mounts.bind-file-over-existing", &[(Push, "/mounts", r#"{"destination": "/etc/hostname", "type": "bind", "source": "@FILE@hostname", "options": ["bind", "ro"]}"#)]),
    ("mounts.bind-rprivate", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "type": "bind", "source": "@DIR@b", "options": ["rbind", "rprivate"]}"#)]),
    ("mounts.bind-rslave", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "type": "bind", "source": "@DIR@b", "options": ["rbind", "rslave"]}"#)]),
    ("mounts.bind-unbindable", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "type": "bind", "source": "@DIR@b", "options": ["bind", "unbindable"]}"#)]),
    ("mounts.bind-missing-source", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "type": "bind", "source": "/nonexistent-difftest", "options": ["bind"]}"#)]),
    ("mounts.bind-idmap", &[(Push, "/mounts", r#"{"destination": "/mnt/b", "type": "bind", "source": "@DIR@b", "options": ["bind", "idmap"], "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}], "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}"#)]),
    ("mounts.proc-second", &[(Push, "/mounts", r#"{"destination": "/mnt/proc", "type": "proc", "source": "proc"}"#)]),
    ("mounts.sysfs-rw", &[(Set, "/mounts/5/options", r#"["nosuid", "noexec", "nodev"]"#)]),
    ("mounts.cgroup-rw", &[(Set, "/mounts/6/options", r#"["nosuid", "noexec", "nodev", "relatime"]"#)]),
    ("mounts.cgroup-absent", &[(Del, "/mounts/6", "")]),
    ("mounts.dev-ro", &[(Set, "/mounts/1/options", r#"["nosuid", "strictatime", "mode=755", "size=65536k", "ro"]"#)]),
    ("mounts.dev-absent", &[(Del, "/mounts/1", "")]),
    ("mounts.unknown-type", &[(Push, "/mounts", r#"{"destination": "/mnt/x", "type": "nosuchfs", "source": "x"}"#)]),
    ("mounts.unknown-option", &[(Push, "/mounts", r#"{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["no-such-option"]}"#)]),
    // Process (config.md "Process").
    ("process.consoleSize", &[(Set, "/process/consoleSize", r#"{"height": 24, "width": 80}"#)]),
    ("process.cwd.tmp", &[(Set, "/process/cwd", r#""/tmp""#)]),
    ("process.cwd.missing", &[(Set, "/process/cwd", r#""/nonexistent/dir""#)]),
    ("process.cwd.missing-nonroot", &[(Set, "/process/cwd", r#""/home/dt""#), (Set, "/process/user", r#"{"uid": 1000, "gid": 1000}"#)]),
    ("process.cwd.unreadable-nonroot", &[(Set, "/process/cwd", r#""/root""#), (Set, "/process/user", r#"{"uid": 1000, "gid": 1000}"#)]),
    ("process.cwd.relative", &[(Set, "/process/cwd", r#""tmp""#)]),
    ("process.cwd.file", &[(Set, "/process/cwd", r#""/bin/busybox""#)]),
    ("process.env.empty", &[(Set, "/process/env", "[]")]),
    ("process.env.home", &[(Push, "/process/env", r#""HOME=/tmp""#)]),
    ("process.env.duplicate", &[(Push, "/process/env", r#""A=1""#), (Push, "/process/env", r#""A=2""#)]),
    ("process.env.empty-value", &[(Push, "/process/env", r#""EMPTY=""#)]),
    ("process.env.no-equals", &[(Push, "/process/env", r#""NOEQUALS""#)]),
    ("process.user.uid-gid", &[(Set, "/process/user", r#"{"uid": 1000, "gid": 1000}"#)]),
    ("process.user.uid-only", &[(Set, "/process/user", r#"{"uid": 1000, "gid": 0}"#)]),
    ("process.user.nobody", &[(Set, "/process/user", r#"{"uid": 65534, "gid": 65534}"#)]),
    ("process.user.not-in-passwd", &[(Set, "/process/user", r#"{"uid": 4242, "gid": 4242}"#)]),
    ("process.user.umask", &[(Set, "/process/user/umask", "63")]),
    ("process.user.umask-zero", &[(Set, "/process/user/umask", "0")]),
    ("process.user.additionalGids", &[(Set, "/process/user/additionalGids", "[10, 20, 1000]")]),
    ("process.user.additionalGids-nonroot", &[(Set, "/process/user", r#"{"uid": 1000, "gid": 1000, "additionalGids": [5, 1000]}"#)]),
    ("process.user.username", &[(Set, "/process/user/username", r#""root""#)]),
    ("process.commandLine", &[(Set, "/process/commandLine", r#""sh""#)]),
    ("process.capabilities.absent", &[(Del, "/process/capabilities", "")]),
    ("process.capabilities.none", &[(Set, "/process/capabilities", r#"{"bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []}"#)]),
    ("process.capabilities.effective-empty", &[(Set, "/process/capabilities/effective", "[]")]),
    ("process.capabilities.ambient-absent", &[(Del, "/process/capabilities/ambient", "")]),
    ("process.capabilities.inheritable", &[(Set, "/process/capabilities/inheritable", r#"["CAP_KILL"]"#)]),
    ("process.capabilities.docker", &[(Set, "/process/capabilities", DOCKER_CAPS)]),
    ("process.capabilities.all", &[(Set, "/process/capabilities", ALL_CAPS)]),
    ("process.capabilities.unknown", &[(Push, "/process/capabilities/bounding", r#""CAP_NO_SUCH""#)]),
    ("process.capabilities.nonroot", &[(Set, "/process/user", r#"{"uid": 1000, "gid": 1000}"#), (Set, "/process/capabilities", DOCKER_CAPS)]),
    ("process.capabilities.nonroot-ambient", &[(Set, "/process/user", r#"{"uid": 1000, "gid": 1000}"#), (Set, "/process/capabilities", r#"{"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"], "permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}"#)]),
    ("process.rlimits.absent", &[(Del, "/process/rlimits", "")]),
    ("process.rlimits.cpu", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_CPU", "soft": 100, "hard": 200}"#)]),
    ("process.rlimits.fsize", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_FSIZE", "soft": 1048576, "hard": 2097152}"#)]),
    ("process.rlimits.data", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_DATA", "soft": 4294967296, "hard": 4294967296}"#)]),
    ("process.rlimits.stack", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_STACK", "soft": 4194304, "hard": 16777216}"#)]),
    ("process.rlimits.core", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_CORE", "soft": 0, "hard": 0}"#)]),
    ("process.rlimits.rss", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_RSS", "soft": 1073741824, "hard": 1073741824}"#)]),
    ("process.rlimits.nproc", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_NPROC", "soft": 1000, "hard": 2000}"#)]),
    ("process.rlimits.nofile", &[(Set, "/process/rlimits/0", r#"{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 4096}"#)]),
    ("process.rlimits.memlock", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_MEMLOCK", "soft": 65536, "hard": 65536}"#)]),
    ("process.rlimits.as", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_AS", "soft": 4294967296, "hard": 8589934592}"#)]),
    ("process.rlimits.locks", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_LOCKS", "soft": 100, "hard": 100}"#)]),
    ("process.rlimits.sigpending", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_SIGPENDING", "soft": 100, "hard": 200}"#)]),
    ("process.rlimits.msgqueue", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_MSGQUEUE", "soft": 819200, "hard": 819200}"#)]),
    ("process.rlimits.nice", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_NICE", "soft": 10, "hard": 20}"#)]),
    ("process.rlimits.rtprio", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_RTPRIO", "soft": 5, "hard": 10}"#)]),
    ("process.rlimits.rttime", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_RTTIME", "soft": 1000000, "hard": 2000000}"#)]),
    ("process.rlimits.unlimited", &[(Set, "/process/rlimits/0", r#"{"type": "RLIMIT_NOFILE", "soft": 18446744073709551615, "hard": 18446744073709551615}"#)]),
    ("process.rlimits.soft-above-hard", &[(Set, "/process/rlimits/0", r#"{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}"#)]),
    ("process.rlimits.unknown", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_NO_SUCH", "soft": 1, "hard": 1}"#)]),
    ("process.rlimits.duplicate", &[(Push, "/process/rlimits", r#"{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512}"#)]),
    ("process.noNewPrivileges.false", &[(Set, "/process/noNewPrivileges", "false")]),
    ("process.noNewPrivileges.absent", &[(Del, "/process/noNewPrivileges", "")]),
    ("process.apparmorProfile", &[(Set, "/process/apparmorProfile", r#""difftest-profile""#)]),
    ("process.selinuxLabel", &[(Set, "/process/selinuxLabel", r#""system_u:system_r:container_t:s0:c1,c2""#)]),
    ("process.oomScoreAdj.raise", &[(Set, "/process/oomScoreAdj", "100")]),
    ("process.oomScoreAdj.lower", &[(Set, "/process/oomScoreAdj", "-100")]),
    ("process.oomScoreAdj.out-of-range", &[(Set, "/process/oomScoreAdj", "1001")]),
    ("process.scheduler.batch", &[(Set, "/process/scheduler", r#"{"policy": "SCHED_BATCH", "nice": 5}"#)]),
    ("process.scheduler.fifo", &[(Set, "/process/scheduler", r#"{"policy": "SCHED_FIFO", "priority": 1}"#)]),
    ("process.scheduler.invalid", &[(Set, "/process/scheduler", r#"{"policy": "SCHED_NO_SUCH"}"#)]),
    ("process.ioPriority", &[(Set, "/process/ioPriority", r#"{"class": "IOPRIO_CLASS_BE", "priority": 4}"#)]),
    ("process.ioPriority.invalid", &[(Set, "/process/ioPriority", r#"{"class": "IOPRIO_CLASS_NO_SUCH", "priority": 4}"#)]),
    ("process.execCPUAffinity", &[(Set, "/process/execCPUAffinity", r#"{"initial": "0", "final": "0"}"#)]),
    ("hostname.custom", &[(Set, "/hostname", r#""difftest""#)]),
    ("hostname.absent", &[(Del, "/hostname", "")]),
    ("hostname.without-uts", &[(DelType, "/linux/namespaces", "uts")]),
    ("domainname", &[(Set, "/domainname", r#""example.org""#)]),
    // Hooks (config.md "POSIX-platform Hooks"): /bin/true and /bin/false exist on the host
    // and in the busybox rootfs (createContainer and startContainer run in the container).
    ("hooks.prestart", &[(Set, "/hooks/prestart", r#"[{"path": "/bin/true", "args": ["true", "prestart"], "env": ["DIFFTEST=1"], "timeout": 10}]"#)]),
    ("hooks.createRuntime", &[(Set, "/hooks/createRuntime", r#"[{"path": "/bin/true", "args": ["true", "createRuntime"], "env": ["DIFFTEST=1"], "timeout": 10}]"#)]),
    ("hooks.createContainer", &[(Set, "/hooks/createContainer", r#"[{"path": "/bin/true", "args": ["true", "createContainer"], "env": ["DIFFTEST=1"], "timeout": 10}]"#)]),
    ("hooks.startContainer", &[(Set, "/hooks/startContainer", r#"[{"path": "/bin/true", "args": ["true", "startContainer"], "env": ["DIFFTEST=1"], "timeout": 10}]"#)]),
    ("hooks.poststart", &[(Set, "/hooks/poststart", r#"[{"path": "/bin/true", "args": ["true", "poststart"], "env": ["DIFFTEST=1"], "timeout": 10}]"#)]),
    ("hooks.poststop", &[(Set, "/hooks/poststop", r#"[{"path": "/bin/true", "args": ["true", "poststop"], "env": ["DIFFTEST=1"], "timeout": 10}]"#)]),
    ("hooks.prestart-fails", &[(Set, "/hooks/prestart", r#"[{"path": "/bin/false"}]"#)]),
    ("hooks.createRuntime-missing", &[(Set, "/hooks/createRuntime", r#"[{"path": "/nonexistent-difftest-hook"}]"#)]),
    // The hook fails only after the program surely wrote its observations: runc 1.1.5 runs
    // poststart during create, cella (runtime-spec 1.3) after start, so a quick failure would
    // race the program.
    ("hooks.poststart-fails", &[(Set, "/hooks/poststart", r#"[{"path": "/bin/sh", "args": ["sh", "-c", "sleep 2; exit 1"]}]"#)]),
    ("hooks.poststop-fails", &[(Set, "/hooks/poststop", r#"[{"path": "/bin/false"}]"#)]),
    ("annotations", &[(Set, "/annotations", r#"{"org.opencontainers.difftest": "1"}"#)]),
    // Linux namespaces and id mappings (config-linux.md).
    ("linux.namespaces.cgroup", &[(Push, "/linux/namespaces", r#"{"type": "cgroup"}"#)]),
    ("linux.namespaces.time", &[(Push, "/linux/namespaces", r#"{"type": "time"}"#)]),
    ("linux.namespaces.user", &[(Push, "/linux/namespaces", r#"{"type": "user"}"#), (Set, "/linux/uidMappings", r#"[{"containerID": 0, "hostID": 100000, "size": 65536}]"#), (Set, "/linux/gidMappings", r#"[{"containerID": 0, "hostID": 100000, "size": 65536}]"#)]),
    ("linux.namespaces.user-identity", &[(Push, "/linux/namespaces", r#"{"type": "user"}"#), (Set, "/linux/uidMappings", r#"[{"containerID": 0, "hostID": 0, "size": 65536}]"#), (Set, "/linux/gidMappings", r#"[{"containerID": 0, "hostID": 0, "size": 65536}]"#)]),
    ("linux.namespaces.user-without-mappings", &[(Push, "/linux/namespaces", r#"{"type": "user"}"#)]),
    ("linux.namespaces.no-network", &[(DelType, "/linux/namespaces", "network")]),
    ("linux.namespaces.no-pid", &[(DelType, "/linux/namespaces", "pid")]),
    ("linux.namespaces.no-ipc", &[(DelType, "/linux/namespaces", "ipc")]),
    ("linux.namespaces.no-uts", &[(DelType, "/linux/namespaces", "uts"), (Del, "/hostname", "")]),
    ("linux.namespaces.no-mount", &[(DelType, "/linux/namespaces", "mount")]),
    ("linux.namespaces.network-path", &[(DelType, "/linux/namespaces", "network"), (Push, "/linux/namespaces", r#"{"type": "network", "path": "/proc/self/ns/net"}"#)]),
    ("linux.namespaces.missing-path", &[(DelType, "/linux/namespaces", "network"), (Push, "/linux/namespaces", r#"{"type": "network", "path": "/nonexistent-difftest-ns"}"#)]),
    ("linux.namespaces.duplicate", &[(Push, "/linux/namespaces", r#"{"type": "pid"}"#)]),
    ("linux.namespaces.unknown", &[(Push, "/linux/namespaces", r#"{"type": "no-such"}"#)]),
    ("linux.uidMappings.without-userns", &[(Set, "/linux/uidMappings", r#"[{"containerID": 0, "hostID": 100000, "size": 65536}]"#), (Set, "/linux/gidMappings", r#"[{"containerID": 0, "hostID": 100000, "size": 65536}]"#)]),
    ("linux.timeOffsets", &[(Push, "/linux/namespaces", r#"{"type": "time"}"#), (Set, "/linux/timeOffsets", r#"{"monotonic": {"secs": 3600, "nanosecs": 0}, "boottime": {"secs": 7200, "nanosecs": 0}}"#)]),
    // Devices.
    ("linux.devices.char", &[(Set, "/linux/devices", r#"[{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}]"#)]),
    ("linux.devices.char-allowed", &[(Set, "/linux/devices", r#"[{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]"#), (Push, "/linux/resources/devices", r#"{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}"#)]),
    ("linux.devices.block", &[(Set, "/linux/devices", r#"[{"path": "/dev/loop-dt", "type": "b", "major": 7, "minor": 200, "fileMode": 384}]"#)]),
    ("linux.devices.fifo", &[(Set, "/linux/devices", r#"[{"path": "/dev/dt-fifo", "type": "p"}]"#)]),
    ("linux.devices.owner", &[(Set, "/linux/devices", r#"[{"path": "/dev/dt-null", "type": "c", "major": 1, "minor": 3, "fileMode": 416, "uid": 1000, "gid": 5}]"#)]),
    ("linux.devices.subdir", &[(Set, "/linux/devices", r#"[{"path": "/dev/dt/sub/null", "type": "c", "major": 1, "minor": 3}]"#)]),
    ("linux.devices.default-listed", &[(Set, "/linux/devices", r#"[{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 438}]"#)]),
    ("linux.devices.over-default-different", &[(Set, "/linux/devices", r#"[{"path": "/dev/null", "type": "c", "major": 1, "minor": 5}]"#)]),
    ("linux.devices.outside-dev", &[(Set, "/linux/devices", r#"[{"path": "/tmp/dt-null", "type": "c", "major": 1, "minor": 3}]"#)]),
    ("linux.devices.unknown-type", &[(Set, "/linux/devices", r#"[{"path": "/dev/dt-x", "type": "x", "major": 1, "minor": 3}]"#)]),
    // Control groups.
    ("linux.cgroupsPath.absolute", &[(Set, "/linux/cgroupsPath", r#""@CGROUP@""#)]),
    ("linux.cgroupsPath.nested", &[(Set, "/linux/cgroupsPath", r#""@CGROUP@/sub""#)]),
    ("linux.resources.absent", &[(Del, "/linux/resources", "")]),
    ("linux.resources.devices.absent", &[(Del, "/linux/resources/devices", "")]),
    ("linux.resources.devices.allow-all", &[(Set, "/linux/resources/devices", r#"[{"allow": true, "access": "rwm"}]"#)]),
    ("linux.resources.devices.deny-null", &[(Push, "/linux/resources/devices", r#"{"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}"#)]),
    ("linux.resources.devices.allow-read-zero", &[(Push, "/linux/resources/devices", r#"{"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"}"#)]),
    ("linux.resources.devices.bad-access", &[(Push, "/linux/resources/devices", r#"{"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwx"}"#)]),
    ("linux.resources.memory.limit", &[(Set, "/linux/resources/memory", r#"{"limit": 268435456}"#)]),
    ("linux.resources.memory.reservation", &[(Set, "/linux/resources/memory", r#"{"reservation": 134217728}"#)]),
    ("linux.resources.memory.swap", &[(Set, "/linux/resources/memory", r#"{"limit": 268435456, "swap": 536870912}"#)]),
    ("linux.resources.memory.swap-below-limit", &[(Set, "/linux/resources/memory", r#"{"limit": 536870912, "swap": 268435456}"#)]),
    ("linux.resources.memory.kernel", &[(Set, "/linux/resources/memory", r#"{"kernel": 268435456}"#)]),
    ("linux.resources.memory.kernelTCP", &[(Set, "/linux/resources/memory", r#"{"kernelTCP": 268435456}"#)]),
    ("linux.resources.memory.swappiness", &[(Set, "/linux/resources/memory", r#"{"swappiness": 10}"#)]),
    ("linux.resources.memory.swappiness-invalid", &[(Set, "/linux/resources/memory", r#"{"swappiness": 101}"#)]),
    ("linux.resources.memory.disableOOMKiller", &[(Set, "/linux/resources/memory", r#"{"disableOOMKiller": true}"#)]),
    ("linux.resources.memory.useHierarchy", &[(Set, "/linux/resources/memory", r#"{"useHierarchy": true}"#)]),
    ("linux.resources.memory.checkBeforeUpdate", &[(Set, "/linux/resources/memory", r#"{"limit": 268435456, "checkBeforeUpdate": true}"#)]),
    ("linux.resources.cpu.shares", &[(Set, "/linux/resources/cpu", r#"{"shares": 512}"#)]),
    ("linux.resources.cpu.quota", &[(Set, "/linux/resources/cpu", r#"{"quota": 50000, "period": 100000}"#)]),
    ("linux.resources.cpu.burst", &[(Set, "/linux/resources/cpu", r#"{"quota": 50000, "period": 100000, "burst": 10000}"#)]),
    ("linux.resources.cpu.realtime", &[(Set, "/linux/resources/cpu", r#"{"realtimeRuntime": 1000, "realtimePeriod": 1000000}"#)]),
    ("linux.resources.cpu.cpus", &[(Set, "/linux/resources/cpu", r#"{"cpus": "0"}"#)]),
    ("linux.resources.cpu.mems", &[(Set, "/linux/resources/cpu", r#"{"mems": "0"}"#)]),
    ("linux.resources.cpu.idle", &[(Set, "/linux/resources/cpu", r#"{"idle": 1}"#)]),
    ("linux.resources.pids", &[(Set, "/linux/resources/pids", r#"{"limit": 100}"#)]),
    ("linux.resources.blockIO.weight", &[(Set, "/linux/resources/blockIO", r#"{"weight": 500}"#)]),
    ("linux.resources.blockIO.leafWeight", &[(Set, "/linux/resources/blockIO", r#"{"leafWeight": 300}"#)]),
    ("linux.resources.blockIO.weightDevice", &[(Set, "/linux/resources/blockIO", r#"{"weightDevice": [{"major": "@BLOCK_MAJOR@", "minor": "@BLOCK_MINOR@", "weight": 500, "leafWeight": 300}]}"#)]),
    ("linux.resources.blockIO.throttle", &[(Set, "/linux/resources/blockIO", r#"{"throttleReadBpsDevice": [{"major": "@BLOCK_MAJOR@", "minor": "@BLOCK_MINOR@", "rate": 10485760}], "throttleWriteBpsDevice": [{"major": "@BLOCK_MAJOR@", "minor": "@BLOCK_MINOR@", "rate": 10485760}], "throttleReadIOPSDevice": [{"major": "@BLOCK_MAJOR@", "minor": "@BLOCK_MINOR@", "rate": 1000}], "throttleWriteIOPSDevice": [{"major": "@BLOCK_MAJOR@", "minor": "@BLOCK_MINOR@", "rate": 1000}]}"#)]),
    ("linux.resources.blockIO.zero", &[(Set, "/linux/resources/blockIO", r#"{"weight": 0}"#)]),
    ("linux.resources.hugepageLimits", &[(Set, "/linux/resources/hugepageLimits", r#"[{"pageSize": "2MB", "limit": 0}]"#)]),
    ("linux.resources.network", &[(Set, "/linux/resources/network", r#"{"classID": 1048577, "priorities": [{"name": "lo", "priority": 1}]}"#)]),
    ("linux.resources.rdma", &[(Set, "/linux/resources/rdma", r#"{"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}"#)]),
    ("linux.resources.unified", &[(Set, "/linux/resources/unified", r#"{"pids.max": "100"}"#)]),
    // Other Linux fields.
    ("linux.sysctl.kernel", &[(Set, "/linux/sysctl", r#"{"kernel.shm_rmid_forced": "1", "kernel.msgmax": "16384"}"#)]),
    ("linux.sysctl.net", &[(Set, "/linux/sysctl", r#"{"net.ipv4.ip_forward": "1", "net.ipv4.ping_group_range": "0 0"}"#)]),
    ("linux.sysctl.net-without-netns", &[(DelType, "/linux/namespaces", "network"), (Set, "/linux/sysctl", r#"{"net.ipv4.ip_forward": "1"}"#)]),
    ("linux.sysctl.not-namespaced", &[(Set, "/linux/sysctl", r#"{"kernel.panic": "1"}"#)]),
    ("linux.sysctl.unknown", &[(Set, "/linux/sysctl", r#"{"kernel.no_such_sysctl": "1"}"#)]),
    ("linux.seccomp.allow", &[(Set, "/linux/seccomp", r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#)]),
    ("linux.seccomp.errno-getppid", &[(Set, "/linux/seccomp", r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]}"#)]),
    ("linux.seccomp.flags", &[(Set, "/linux/seccomp", r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"], "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}"#)]),
    ("linux.seccomp.args", &[(Set, "/linux/seccomp", r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42, "args": [{"index": 0, "value": 255, "valueTwo": 7, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#)]),
    ("linux.seccomp.listener", &[(Set, "/linux/seccomp", r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/nonexistent-difftest.sock", "listenerMetadata": "difftest", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}"#)]),
    ("linux.seccomp.unknown-action", &[(Set, "/linux/seccomp", r#"{"defaultAction": "SCMP_ACT_NO_SUCH"}"#)]),
    ("linux.seccomp.unknown-syscall", &[(Set, "/linux/seccomp", r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]}"#)]),
    ("linux.rootfsPropagation.private", &[(Set, "/linux/rootfsPropagation", r#""private""#)]),
    ("linux.rootfsPropagation.rprivate", &[(Set, "/linux/rootfsPropagation", r#""rprivate""#)]),
    ("linux.rootfsPropagation.slave", &[(Set, "/linux/rootfsPropagation", r#""slave""#)]),
    ("linux.rootfsPropagation.shared", &[(Set, "/linux/rootfsPropagation", r#""shared""#)]),
    ("linux.rootfsPropagation.unbindable", &[(Set, "/linux/rootfsPropagation", r#""unbindable""#)]),
    ("linux.rootfsPropagation.invalid", &[(Set, "/linux/rootfsPropagation", r#""sideways""#)]),
    ("linux.maskedPaths.empty", &[(Set, "/linux/maskedPaths", "[]")]),
    ("linux.maskedPaths.file", &[(Push, "/linux/maskedPaths", r#""/etc/passwd""#)]),
    ("linux.maskedPaths.dir", &[(Push, "/linux/maskedPaths", r#""/tmp""#)]),
    ("linux.maskedPaths.missing", &[(Push, "/linux/maskedPaths", r#""/nonexistent""#)]),
    ("linux.readonlyPaths.empty", &[(Set, "/linux/readonlyPaths", "[]")]),
    ("linux.readonlyPaths.dir", &[(Set, "/root/readonly", "false"), (Push, "/linux/readonlyPaths", r#""/etc""#)]),
    ("linux.readonlyPaths.missing", &[(Push, "/linux/readonlyPaths", r#""/nonexistent""#)]),
    ("linux.mountLabel", &[(Set, "/linux/mountLabel", r#""system_u:object_r:container_file_t:s0:c1,c2""#)]),
    ("linux.intelRdt", &[(Set, "/linux/intelRdt", r#"{"closID": "difftest", "l3CacheSchema": "L3:0=f"}"#)]),
    ("linux.intelRdt.memBwSchema", &[(Set, "/linux/intelRdt", r#"{"closID": "difftest", "memBwSchema": "MB:0=50"}"#)]),
    ("linux.intelRdt.monitoring", &[(Set, "/linux/intelRdt", r#"{"enableCMT": true, "enableMBM": true}"#)]),
    ("linux.personality.linux32", &[(Set, "/linux/personality", r#"{"domain": "LINUX32"}"#)]),
    ("linux.personality.linux", &[(Set, "/linux/personality", r#"{"domain": "LINUX"}"#)]),
    ("linux.personality.flags", &[(Set, "/linux/personality", r#"{"domain": "LINUX", "flags": []}"#)]),
    ("linux.personality.invalid", &[(Set, "/linux/personality", r#"{"domain": "NO_SUCH"}"#)]),
    ("linux.memoryPolicy", &[(Set, "/linux/memoryPolicy", r#"{"mode": "MPOL_PREFERRED", "nodes": "0"}"#)]),
];

/// Variants run with their own args: exit status and stdout are compared.
#[rustfmt::skip]
const ARGS_VARIANTS: &[(&str, &[Edit])] = &[
    ("process.args.echo", &[(Set, "/process/args", r#"["echo", "hello", "world"]"#)]),
    ("process.args.exit-3", &[(Set, "/process/args", r#"["sh", "-c", "echo out; exit 3"]"#)]),
    ("process.args.killed", &[(Set, "/process/args", r#"["sh", "-c", "kill -9 $$"]"#)]),
    ("process.args.path-lookup", &[(Set, "/process/args", r#"["busybox", "echo", "found"]"#)]),
    ("process.args.path-from-env", &[(Set, "/process/env", r#"["PATH=/bin"]"#), (Set, "/process/args", r#"["echo", "found"]"#)]),
    ("process.args.missing", &[(Set, "/process/args", r#"["/nonexistent-difftest"]"#)]),
    ("process.args.missing-in-path", &[(Set, "/process/args", r#"["nonexistent-difftest"]"#)]),
    ("process.args.not-executable", &[(Set, "/process/args", r#"["/etc/passwd"]"#)]),
    ("process.args.directory", &[(Set, "/process/args", r#"["/tmp"]"#)]),
    ("process.args.empty", &[(Set, "/process/args", "[]")]),
    ("process.args.stdin-eof", &[(Set, "/process/args", r#"["sh", "-c", "cat; echo done"]"#)]),
    ("process.args.nonroot-id", &[(Set, "/process/user", r#"{"uid": 1000, "gid": 1000}"#), (Set, "/process/args", r#"["id"]"#)]),
    ("process.args.home", &[(Set, "/process/user", r#"{"uid": 1000, "gid": 1000}"#), (Set, "/process/args", r#"["sh", "-c", "echo $HOME"]"#)]),
];

/// Docker's default capabilities.
const DOCKER_CAPS: &str = r#"{"bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"], "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"], "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]}"#;

/// Every capability Linux 6.x knows, CAP_SYS_RESOURCE included (outside this host's bounding
/// set: runtime-spec says such a capability is left out with a warning).
const ALL_CAPS: &str = r#"{"bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"], "effective": ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"], "permitted": ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"]}"#;

/// Every variant of `base` (the reference's `spec`, terminal off).
pub fn cases(base: &Value) -> Vec<Case> {
    let mut base = base.clone();
    base["process"]["terminal"] = json!(false);
    let mut v = Vec::new();
    for (table, mode) in [
        (PROBE_VARIANTS, Mode::Probe),
        (ARGS_VARIANTS, Mode::OwnArgs),
    ] {
        for (name, edits) in table {
            let mut cfg = base.clone();
            for e in edits.iter() {
                apply(&mut cfg, *e);
            }
            v.push(Case {
                name: format!("field/{name}"),
                config: cfg,
                mode,
            });
        }
    }
    v
}

fn apply(cfg: &mut Value, (op, pointer, text): Edit) {
    let (parent_ptr, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let Some(parent) = make_path(cfg, parent_ptr) else {
        return;
    };
    if let DelType = op {
        if let Value::Array(a) = &mut parent[last] {
            a.retain(|e| e["type"] != text);
        }
        return;
    }
    let value: Value = match text {
        "" => Value::Null,
        t => serde_json::from_str(t).unwrap_or_else(|e| panic!("variant value {t}: {e}")),
    };
    match (op, parent) {
        (Set, Value::Object(m)) => {
            m.insert(last.to_string(), value);
        }
        (Set, Value::Array(a)) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *slot = value;
            }
        }
        (Push, p) => {
            let slot = &mut p[last];
            if !slot.is_array() {
                *slot = json!([]);
            }
            if let Value::Array(a) = slot {
                a.push(value);
            }
        }
        (Del, Value::Object(m)) => {
            m.remove(last);
        }
        (Del, Value::Array(a)) => {
            if let Some(i) = last.parse::<usize>().ok().filter(|&i| i < a.len()) {
                a.remove(i);
            }
        }
        _ => {}
    }
}

/// The value at `pointer`, creating objects for missing members on the way (`None` for a
/// missing array element).
fn make_path<'a>(cfg: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    let mut cur = cfg;
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        if let Value::Array(a) = cur {
            cur = a.get_mut(part.parse::<usize>().ok()?)?;
            continue;
        }
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()?
            .entry(part.to_string())
            .or_insert_with(|| json!({}));
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schema fields no variant changes, and why.
    const NOT_VARIED: &[(&str, &str)] = &[
        (
            "/process/terminal",
            "difftest has no console: it runs every config without one",
        ),
        (
            "/root/path",
            "difftest points every config at its bundle's rootfs copy",
        ),
        (
            "/linux/seccomp/defaultErrnoRet",
            "the seccomp/*-enxio cases change it",
        ),
    ];

    /// The JSON pointers (array elements as `*`) an edit changes: its own and every one
    /// inside the value it sets.
    fn touched(e: &Edit, out: &mut std::collections::BTreeSet<String>) {
        let (op, pointer, text) = *e;
        let mut base: String = pointer
            .split('/')
            .map(|p| if p.parse::<usize>().is_ok() { "*" } else { p })
            .collect::<Vec<_>>()
            .join("/");
        if let Push = op {
            base.push_str("/*");
        }
        let mut prefix = String::new();
        for part in base.split('/').filter(|p| !p.is_empty()) {
            prefix = format!("{prefix}/{part}");
            out.insert(prefix.clone());
        }
        if matches!(op, Set | Push) {
            walk(&serde_json::from_str(text).expect("valid JSON"), &base, out);
        }
    }

    fn walk(v: &Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{path}/{k}");
                    out.insert(p.clone());
                    walk(x, &p, out);
                }
            }
            Value::Array(a) => {
                for x in a {
                    walk(x, &format!("{path}/*"), out);
                }
            }
            _ => {}
        }
    }

    /// Every field of the runtime-spec schema Debian ships (fixtures/difftest/schema-fields.txt)
    /// is changed by some variant, or listed in NOT_VARIED with the reason.
    #[test]
    fn every_schema_field_is_varied() {
        let mut seen = std::collections::BTreeSet::new();
        for (_, edits) in PROBE_VARIANTS.iter().chain(ARGS_VARIANTS) {
            for e in edits.iter() {
                touched(e, &mut seen);
            }
        }
        let list = include_str!("../../../../fixtures/difftest/schema-fields.txt");
        let missing: Vec<&str> = list
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter(|f| !seen.contains(*f) && !NOT_VARIED.iter().any(|(n, _)| n == f))
            .collect();
        assert!(
            missing.is_empty(),
            "schema fields no variant changes: {missing:?}"
        );
    }

    const RUNC_SPEC: &str = r#"{"ociVersion": "1.0.2-dev", "process": {"terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"], "cwd": "/", "capabilities": {"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]}, "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": true}, "root": {"path": "rootfs", "readonly": true}, "hostname": "runc", "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}, {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}, {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}, {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}, {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}, {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}, {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}], "linux": {"resources": {"devices": [{"allow": false, "access": "rwm"}]}, "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}], "maskedPaths": ["/proc/acpi", "/proc/kcore"], "readonlyPaths": ["/proc/bus", "/proc/sys"]}}"#;

    #[test]
    fn every_variant_parses_and_changes_the_base() {
        // What `runc spec` (1.1.5) writes, shortened.
        let base: Value = serde_json::from_str(RUNC_SPEC).expect("valid JSON");
        let mut b = base.clone();
        b["process"]["terminal"] = json!(false);
        let all = cases(&base);
        let names: std::collections::BTreeSet<&str> = all.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), all.len(), "two variants share a name");
        for c in all {
            assert_ne!(c.config, b, "{} changes nothing", c.name);
        }
    }
}
