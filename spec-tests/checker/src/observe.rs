//! `spec-checker --observe`: prints what the process sees of itself as one JSON object of
//! `key: string` or `key: [string]` members, for difftest (`spec-tests/src/bin/difftest/`) to
//! compare between two runtimes running the same config. Nothing is compared here; what
//! legitimately differs between two runs (pids, inode numbers, the container id and paths of
//! the bundle) is either left out or normalised by difftest.
//!
//! Only reads, and opens for writing without writing (the `write.*` keys), so it is safe as the
//! process of any config, including a privileged one.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// One observation: a string or a list of strings.
enum Val {
    One(String),
    Many(Vec<String>),
}

type Obs = BTreeMap<String, Val>;

fn put(o: &mut Obs, k: impl Into<String>, v: impl Into<String>) {
    o.insert(k.into(), Val::One(v.into()));
}

fn put_list(o: &mut Obs, k: impl Into<String>, v: Vec<String>) {
    o.insert(k.into(), Val::Many(v));
}

/// A file's contents without the trailing newline, or `<errno name>` when it cannot be read.
fn read_or_err(p: &str) -> String {
    match fs::read_to_string(p) {
        Ok(t) => t.trim_end_matches('\n').to_string(),
        Err(e) => format!("<{}>", err_name(&e)),
    }
}

/// A short stable name of an I/O error (the errno's, not its localised text).
fn err_name(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(1) => "EPERM".into(),
        Some(2) => "ENOENT".into(),
        Some(5) => "EIO".into(),
        Some(6) => "ENXIO".into(),
        Some(13) => "EACCES".into(),
        Some(16) => "EBUSY".into(),
        Some(17) => "EEXIST".into(),
        Some(19) => "ENODEV".into(),
        Some(20) => "ENOTDIR".into(),
        Some(21) => "EISDIR".into(),
        Some(22) => "EINVAL".into(),
        Some(30) => "EROFS".into(),
        Some(38) => "ENOSYS".into(),
        Some(95) => "EOPNOTSUPP".into(),
        Some(n) => format!("errno {n}"),
        None if e.kind() == ErrorKind::InvalidData => "not UTF-8".into(),
        None => "error".into(),
    }
}

/// The fields of /proc/self/status that a runtime sets.
const STATUS_FIELDS: &[&str] = &[
    "Umask",
    "Uid",
    "Gid",
    "Groups",
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
    "Seccomp",
    "Seccomp_filters",
    "Cpus_allowed_list",
    "Mems_allowed_list",
];

fn status(o: &mut Obs) {
    let text = fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if STATUS_FIELDS.contains(&k) {
            put(
                o,
                format!("status.{k}"),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            );
        }
    }
}

/// /proc/self/stat after the command name: (state, ppid, pgrp, session, tty_nr, ..).
fn stat_fields() -> Vec<String> {
    let text = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    match text.rfind(')') {
        Some(i) => text[i + 1..].split_whitespace().map(String::from).collect(),
        None => Vec::new(),
    }
}

/// The process's place: pid 1 or not, its process group and session, its controlling
/// terminal, nice value and scheduling policy (pids themselves differ between runs).
fn process(o: &mut Obs) {
    let pid = std::process::id().to_string();
    put(o, "proc.pid_is_1", (pid == "1").to_string());
    let f = stat_fields();
    let field = |i: usize| f.get(i).cloned().unwrap_or_default();
    put(o, "proc.ppid_is_0", (field(1) == "0").to_string());
    put(o, "proc.pgrp_is_pid", (field(2) == pid).to_string());
    put(o, "proc.session_is_pid", (field(3) == pid).to_string());
    put(o, "proc.has_ctty", (field(4) != "0").to_string());
    put(o, "proc.nice", field(16));
    put(o, "proc.rt_priority", field(37));
    put(o, "proc.policy", field(38));
    put(
        o,
        "proc.oom_score_adj",
        read_or_err("/proc/self/oom_score_adj"),
    );
    put(o, "proc.personality", read_or_err("/proc/self/personality"));
    put(
        o,
        "proc.timens_offsets",
        read_or_err("/proc/self/timens_offsets").replace('\n', "; "),
    );
    put(o, "proc.ioprio", ioprio());
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|e| format!("<{}>", err_name(&e)));
    put(o, "proc.cwd", cwd);
    let mut env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    env.sort();
    put_list(o, "proc.env", env);
    let args: Vec<String> = std::env::args().skip(2).collect();
    put_list(o, "proc.extra_args", args);
}

extern "C" {
    fn syscall(n: i64, ...) -> i64;
}

/// `__NR_ioprio_get` where the checker is built: x86_64's table, and
/// asm-generic's for arm64 and riscv64 (as in Cella's generated seccomp
/// tables); unknown elsewhere.
const IOPRIO_GET: Option<i64> = if cfg!(target_arch = "x86_64") {
    Some(252)
} else if cfg!(any(target_arch = "aarch64", target_arch = "riscv64")) {
    Some(31)
} else {
    None
};

/// ioprio_get(IOPRIO_WHO_PROCESS, 0): no file shows it.
fn ioprio() -> String {
    match IOPRIO_GET {
        // SAFETY: ioprio_get takes two integers and returns an integer; no memory is passed.
        Some(nr) => unsafe { syscall(nr, 1i64, 0i64) }.to_string(),
        None => "unknown".to_string(),
    }
}

/// Every rlimit, `soft hard` as /proc/self/limits shows them.
fn rlimits(o: &mut Obs) {
    let text = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    for line in text.lines().skip(1) {
        // The name is the text before the first run of two spaces.
        let Some((name, rest)) = line.split_once("  ") else {
            continue;
        };
        let v: Vec<&str> = rest.split_whitespace().collect();
        if v.len() >= 2 {
            let name = name.trim().replace(' ', "_");
            put(o, format!("rlimit.{name}"), format!("{} {}", v[0], v[1]));
        }
    }
}

/// Hostname, domain name, id maps, setgroups, namespaces (inodes: difftest replaces them by
/// `host` or `new`) and a few namespaced sysctls the generated variants set.
fn identity(o: &mut Obs) {
    put(o, "uts.hostname", read_or_err("/proc/sys/kernel/hostname"));
    put(
        o,
        "uts.domainname",
        read_or_err("/proc/sys/kernel/domainname"),
    );
    for m in ["uid_map", "gid_map"] {
        let t = read_or_err(&format!("/proc/self/{m}"));
        let lines = t
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        put_list(o, format!("idmap.{m}"), lines);
    }
    put(o, "idmap.setgroups", read_or_err("/proc/self/setgroups"));
    for ns in ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"] {
        let v = match fs::read_link(format!("/proc/self/ns/{ns}")) {
            Ok(l) => l.to_string_lossy().into_owned(),
            Err(e) => format!("<{}>", err_name(&e)),
        };
        put(o, format!("ns.{ns}"), v);
    }
    for s in SYSCTLS {
        put(
            o,
            format!("sysctl.{s}"),
            read_or_err(&format!("/proc/sys/{}", s.replace('.', "/"))),
        );
    }
}

const SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "kernel.msgmax",
    "kernel.sem",
    "net.ipv4.ip_forward",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];

/// One line of mountinfo reduced to what two runs of one config share: mount point, type,
/// per-mount flags, propagation kind, and the superblock options of the pseudo file systems
/// a config describes (tmpfs sizes and modes, devpts' modes and gid).
fn mount_line(line: &str) -> Option<String> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let sep = f.iter().position(|x| *x == "-")?;
    if sep < 6 || f.len() < sep + 3 {
        return None;
    }
    let mut prop: Vec<&str> = f[6..sep]
        .iter()
        .map(|t| t.split(':').next().unwrap_or(""))
        .collect();
    if prop.is_empty() {
        prop.push("private");
    }
    let fstype = f[sep + 1];
    if let Some(mask) = mask_kind(f[4], fstype, f[5]) {
        return Some(format!("{} {mask}", f[4]));
    }
    let mut s = format!("{} {} {} {}", f[4], fstype, f[5], prop.join("+"));
    if matches!(fstype, "tmpfs" | "devpts" | "mqueue" | "proc" | "sysfs") {
        // Inode counts and the default size follow the host's memory: the same in both runs.
        s.push(' ');
        s.push_str(f.get(sep + 3).copied().unwrap_or(""));
    }
    Some(s)
}

/// A mask (`linux.maskedPaths`) as the container meets it: a bind of a null device (runtimes
/// bind the host's or the container's `/dev/null`: the file system and flags of that mount
/// differ, the device does not) or an empty read-only tmpfs on a directory (whatever its
/// superblock options).
fn mask_kind(point: &str, fstype: &str, opts: &str) -> Option<String> {
    let m = fs::metadata(point).ok()?;
    let ro = if opts.split(',').any(|o| o == "ro") {
        "ro"
    } else {
        "rw"
    };
    if m.file_type().is_char_device() && dev_numbers(m.rdev()) == (1, 3) {
        return Some(format!("null-device {ro}"));
    }
    let empty = fs::read_dir(point).map(|mut d| d.next().is_none());
    if fstype == "tmpfs" && ro == "ro" && m.is_dir() && empty.unwrap_or(false) {
        return Some("empty read-only tmpfs".into());
    }
    None
}

fn mounts(o: &mut Obs) {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    put_list(o, "mounts", text.lines().filter_map(mount_line).collect());
}

fn dev_numbers(rdev: u64) -> (u64, u64) {
    (
        ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff),
        (rdev & 0xff) | ((rdev >> 12) & !0xff),
    )
}

/// `/dev` two levels deep: name, type, mode, device numbers, owner.
fn dev_listing(dir: &str, depth: u32, v: &mut Vec<String>) {
    let Ok(rd) = fs::read_dir(dir) else {
        v.push(format!("{dir} <unreadable>"));
        return;
    };
    let mut names: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let p = format!("{dir}/{n}");
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        let t = m.file_type();
        let kind = if t.is_dir() {
            "d"
        } else if t.is_symlink() {
            "l"
        } else if t.is_char_device() {
            "c"
        } else if t.is_block_device() {
            "b"
        } else if t.is_fifo() {
            "p"
        } else if t.is_socket() {
            "s"
        } else {
            "f"
        };
        let mut line = format!("{p} {kind} {:o} {}:{}", m.mode() & 0o7777, m.uid(), m.gid());
        if t.is_char_device() || t.is_block_device() {
            let (ma, mi) = dev_numbers(m.rdev());
            line.push_str(&format!(" {ma}:{mi}"));
        }
        if t.is_symlink() {
            let target = fs::read_link(&p).map(|l| l.to_string_lossy().into_owned());
            line.push_str(&format!(" -> {}", target.unwrap_or_default()));
        }
        v.push(line);
        if t.is_dir() && depth > 0 {
            dev_listing(&p, depth - 1, v);
        }
    }
}

/// What the process may open for writing (never written) or create (removed at once).
const WRITE_PROBES: &[&str] = &[
    "/",
    "/tmp",
    "/etc",
    "/dev",
    "/dev/shm",
    "/dev/mqueue",
    "/dev/null",
    "/dev/full",
    "/dev/kmsg",
    "/dev/pts/ptmx",
    "/proc/sys/kernel/hostname",
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/vm/overcommit_memory",
    "/proc/sysrq-trigger",
    "/proc/self/oom_score_adj",
    "/sys/kernel/uevent_helper",
    "/sys/fs/cgroup",
];

/// Opening a directory for writing is not possible: a new file in it tells instead.
fn write_probe(p: &str) -> String {
    let is_dir = fs::metadata(p).map(|m| m.is_dir());
    let res = match is_dir {
        Err(e) => Err(e),
        Ok(true) => {
            let f = format!(
                "{}/.difftest-probe-{}",
                p.trim_end_matches('/'),
                std::process::id()
            );
            let r = fs::OpenOptions::new().write(true).create_new(true).open(&f);
            if r.is_ok() {
                let _ = fs::remove_file(&f);
            }
            r.map(|_| ())
        }
        Ok(false) => fs::OpenOptions::new().write(true).open(p).map(|_| ()),
    };
    match res {
        Ok(()) => "ok".into(),
        Err(e) => err_name(&e),
    }
}

/// The open file descriptors: what the runtime passed on (0-2, and any other it leaked).
/// Pipe and socket inode numbers are dropped; the directory read for this is left out.
fn fds(o: &mut Obs) {
    let Ok(rd) = fs::read_dir("/proc/self/fd") else {
        put_list(o, "fds", vec!["<unreadable>".into()]);
        return;
    };
    let mut v: Vec<(u32, String)> = Vec::new();
    for e in rd.flatten() {
        let n: u32 = e.file_name().to_string_lossy().parse().unwrap_or(u32::MAX);
        let t = fs::read_link(e.path())
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default();
        if t.starts_with("/proc/") && t.ends_with("/fd") {
            continue;
        }
        let t = match t.split_once(":[") {
            Some((kind, _)) => kind.to_string(),
            None => t,
        };
        v.push((n, t));
    }
    v.sort();
    put_list(
        o,
        "fds",
        v.into_iter().map(|(n, t)| format!("{n} {t}")).collect(),
    );
}

/// Cgroup files a `linux.resources` entry sets, as seen through a `/sys/fs/cgroup` mount (if
/// the config has one).
const CGROUP_FILES: &[&str] = &[
    "memory/memory.limit_in_bytes",
    "memory/memory.soft_limit_in_bytes",
    "memory/memory.memsw.limit_in_bytes",
    "memory/memory.kmem.limit_in_bytes",
    "memory/memory.kmem.tcp.limit_in_bytes",
    "memory/memory.swappiness",
    "memory/memory.oom_control",
    "memory/memory.use_hierarchy",
    "cpu/cpu.shares",
    "cpu/cpu.cfs_quota_us",
    "cpu/cpu.cfs_period_us",
    "cpu/cpu.rt_runtime_us",
    "cpu/cpu.rt_period_us",
    "cpuset/cpuset.cpus",
    "cpuset/cpuset.mems",
    "pids/pids.max",
    "blkio/blkio.weight",
    "blkio/blkio.throttle.read_bps_device",
    "blkio/blkio.throttle.write_iops_device",
    "net_cls/net_cls.classid",
    "net_prio/net_prio.ifpriomap",
    "devices/devices.list",
    "freezer/freezer.state",
    "hugetlb/hugetlb.2MB.limit_in_bytes",
    "unified/hugetlb.2MB.max",
    "unified/cgroup.type",
];

fn cgroup(o: &mut Obs) {
    let lines = read_or_err("/proc/self/cgroup");
    let mut v: Vec<String> = lines.lines().map(String::from).collect();
    v.sort();
    put_list(o, "cgroup.self", v);
    for f in CGROUP_FILES {
        let t = read_or_err(&format!("/sys/fs/cgroup/{f}"));
        let mut v: Vec<String> = t.lines().map(|l| l.trim().to_string()).collect();
        v.sort();
        put_list(o, format!("cgroup.{f}"), v);
    }
}

fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn to_json(o: &Obs) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in o.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str("\n  ");
        quote(k, &mut s);
        s.push_str(": ");
        match v {
            Val::One(x) => quote(x, &mut s),
            Val::Many(xs) => {
                s.push('[');
                for (j, x) in xs.iter().enumerate() {
                    if j > 0 {
                        s.push_str(", ");
                    }
                    quote(x, &mut s);
                }
                s.push(']');
            }
        }
    }
    s.push_str("\n}");
    s
}

/// Prints the observation between marker lines (so that difftest finds it whatever else
/// reaches stdout).
pub fn run() {
    let mut o = Obs::new();
    status(&mut o);
    process(&mut o);
    rlimits(&mut o);
    identity(&mut o);
    mounts(&mut o);
    fds(&mut o);
    let mut dev = Vec::new();
    dev_listing("/dev", 1, &mut dev);
    put_list(&mut o, "dev", dev);
    for p in WRITE_PROBES {
        put(&mut o, format!("write.{p}"), write_probe(p));
    }
    cgroup(&mut o);
    println!("--- difftest observation ---\n{}\n--- end ---", to_json(&o));
}
