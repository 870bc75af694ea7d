//! The checks, one function per group. Each reads what the kernel shows this process and
//! compares it with what config.json asks for (runtime-spec 1.2 `config.md`,
//! `config-linux.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use crate::json::Json;
use crate::Out;

/// The config and the host's facts.
pub struct Env<'a> {
    pub cfg: &'a Json,
    pub facts: BTreeMap<String, String>,
}

type Group = fn(&Env, &mut Out);

/// Every group, in the order they run.
pub const GROUPS: &[(&str, Group)] = &[
    ("namespaces", namespaces),
    ("process", process),
    ("user", user),
    ("caps", caps),
    ("rlimits", rlimits),
    ("nnp", nnp),
    ("oom", oom),
    ("seccomp", seccomp),
    ("hostname", hostname),
    ("sysctl", sysctl),
    ("idmaps", idmaps),
    ("root", root),
    ("mounts", mounts),
    ("devices", devices),
    ("masked", masked),
    ("readonly", readonly),
    ("cgroup", cgroup),
];

fn read(p: &str) -> Result<String, String> {
    fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))
}

/// The value of a `Key:\tvalue` line of /proc/self/status.
fn status_field(key: &str) -> Option<String> {
    let text = fs::read_to_string("/proc/self/status").ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim().to_string())
    })
}

// ---------------------------------------------------------------------------------------------
// Namespaces

/// OCI namespace type → the name under /proc/self/ns.
const NS_KINDS: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("network", "net"),
    ("mount", "mnt"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("user", "user"),
    ("cgroup", "cgroup"),
    ("time", "time"),
];

fn ns_inode(kind: &str) -> Option<String> {
    let l = fs::read_link(format!("/proc/self/ns/{kind}")).ok()?;
    let l = l.to_string_lossy();
    Some(l.split_once('[')?.1.trim_end_matches(']').to_string())
}

/// config-linux.md "Namespaces": a listed type without a path is a new namespace; with a path
/// the process is in that namespace; an absent type is inherited from the runtime.
fn namespaces(env: &Env, out: &mut Out) {
    let g = "namespaces";
    let list = env.cfg.get("linux").get("namespaces").items();
    for &(oci, kind) in NS_KINDS {
        let Some(mine) = ns_inode(kind) else {
            out.skip(
                g,
                oci,
                &format!("/proc/self/ns/{kind} does not exist on this kernel"),
            );
            continue;
        };
        let entry = list.iter().find(|n| n.get("type").as_str() == Some(oci));
        let host = env.facts.get(&format!("ns.{kind}"));
        match (entry, host) {
            (_, None) => out.skip(g, oci, "no host inode among the facts"),
            (None, Some(h)) => out.eq(g, &format!("{oci} inherited"), &mine, h),
            (Some(e), Some(h)) => match e.get("path").as_str() {
                Some(_) => match env.facts.get(&format!("nspath.{kind}")) {
                    Some(want) => out.eq(g, &format!("{oci} joined by path"), &mine, want),
                    None => out.skip(g, oci, "no inode of the path among the facts"),
                },
                None if mine != *h => out.ok(g, &format!("{oci} new")),
                None => out.fail(
                    g,
                    &format!("{oci} new"),
                    &format!("same as the host's ({mine})"),
                ),
            },
        }
    }
    let new_pid = list
        .iter()
        .any(|n| n.get("type").as_str() == Some("pid") && n.get("path").is_null());
    if new_pid {
        out.eq(g, "pid 1 in a new pid namespace", std::process::id(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// The process

/// config.md "process": cwd, env and (for the container's init) that args[0] ran.
fn process(env: &Env, out: &mut Out) {
    let g = "process";
    let p = env.cfg.get("process");
    if let Some(cwd) = p.get("cwd").as_str() {
        let got = std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_else(|e| format!("error: {e}"));
        out.eq(g, "cwd", got, clean(cwd));
    }
    for kv in p.get("env").strings() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let got = std::env::var_os(k).map(|s| s.to_string_lossy().into_owned());
        out.eq(g, &format!("env {k}"), got.as_deref(), Some(v));
    }
}

fn id_list(field: &str) -> Vec<u64> {
    status_field(field)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect()
}

/// config.md "User": uid, gid (real, effective, saved, filesystem), additionalGids, umask.
fn user(env: &Env, out: &mut Out) {
    let g = "user";
    let u = env.cfg.get("process").get("user");
    let uid = u.get("uid").as_u64().unwrap_or(0);
    let gid = u.get("gid").as_u64().unwrap_or(0);
    out.eq(
        g,
        "uid (real, effective, saved, fs)",
        id_list("Uid"),
        vec![uid; 4],
    );
    out.eq(
        g,
        "gid (real, effective, saved, fs)",
        id_list("Gid"),
        vec![gid; 4],
    );
    let want: BTreeSet<u64> = u
        .get("additionalGids")
        .items()
        .iter()
        .filter_map(Json::as_u64)
        .collect();
    let got: BTreeSet<u64> = id_list("Groups").into_iter().collect();
    // The primary gid may or may not be among the supplementary groups (runtimes differ);
    // every additionalGid must be, and nothing else.
    let mut got_extra = got.clone();
    got_extra.remove(&gid);
    let mut want_extra = want.clone();
    want_extra.remove(&gid);
    out.eq(g, "additionalGids", got_extra, want_extra);
    if let Some(m) = u.get("umask").as_u64() {
        let got = status_field("Umask").and_then(|s| u64::from_str_radix(&s, 8).ok());
        out.eq(g, "umask", got, Some(m));
    }
}

/// Capability names in bit order (linux/capability.h).
const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn cap_mask(set: &Json) -> u64 {
    set.strings()
        .iter()
        .filter_map(|n| CAPS.iter().position(|c| c == n))
        .fold(0, |m, b| m | (1 << b))
}

fn cap_names(m: u64) -> String {
    let v: Vec<&str> = (0..64)
        .filter(|b| m & (1 << b) != 0)
        .map(|b| CAPS.get(b).copied().unwrap_or("?"))
        .collect();
    format!("{m:#x} [{}]", v.join(" "))
}

/// config.md "capabilities": the five sets, as the kernel leaves them after the execve of this
/// binary (no file capabilities, not setuid): for root permitted = bounding | inheritable (the
/// kernel's "root is all-powerful" rule), limited to the config's permitted set under
/// no_new_privs; effective = permitted for euid 0, the ambient set otherwise.
fn caps(env: &Env, out: &mut Out) {
    let g = "caps";
    let p = env.cfg.get("process");
    let c = p.get("capabilities");
    if c.is_null() {
        out.skip(g, "sets", "the config has no process.capabilities");
        return;
    }
    // Only the capabilities this kernel knows.
    let last: u32 = read("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(CAPS.len() as u32 - 1);
    let known = (1u64 << (last + 1)) - 1;
    let bnd = cap_mask(c.get("bounding")) & known;
    let inh = cap_mask(c.get("inheritable")) & known;
    let prm_cfg = cap_mask(c.get("permitted")) & known;
    let amb = cap_mask(c.get("ambient")) & known & prm_cfg & inh;
    let uid = p.get("user").get("uid").as_u64().unwrap_or(0);
    let nnp = p.get("noNewPrivileges").as_bool().unwrap_or(false);
    let (prm, eff) = if uid == 0 {
        let mut prm = bnd | inh | amb;
        if nnp {
            prm &= prm_cfg;
        }
        (prm, prm)
    } else {
        (amb, amb)
    };
    for (field, want) in [
        ("CapBnd", bnd),
        ("CapInh", inh),
        ("CapPrm", prm),
        ("CapEff", eff),
        ("CapAmb", amb),
    ] {
        let got = status_field(field).and_then(|s| u64::from_str_radix(&s, 16).ok());
        match got {
            Some(m) if m == want => out.ok(g, field),
            Some(m) => out.fail(
                g,
                field,
                &format!("got {}, want {}", cap_names(m), cap_names(want)),
            ),
            None => out.fail(g, field, "no such line in /proc/self/status"),
        }
    }
}

/// RLIMIT_* → the row of /proc/self/limits.
const RLIMITS: &[(&str, &str)] = &[
    ("RLIMIT_CPU", "Max cpu time"),
    ("RLIMIT_FSIZE", "Max file size"),
    ("RLIMIT_DATA", "Max data size"),
    ("RLIMIT_STACK", "Max stack size"),
    ("RLIMIT_CORE", "Max core file size"),
    ("RLIMIT_RSS", "Max resident set"),
    ("RLIMIT_NPROC", "Max processes"),
    ("RLIMIT_NOFILE", "Max open files"),
    ("RLIMIT_MEMLOCK", "Max locked memory"),
    ("RLIMIT_AS", "Max address space"),
    ("RLIMIT_LOCKS", "Max file locks"),
    ("RLIMIT_SIGPENDING", "Max pending signals"),
    ("RLIMIT_MSGQUEUE", "Max msgqueue size"),
    ("RLIMIT_NICE", "Max nice priority"),
    ("RLIMIT_RTPRIO", "Max realtime priority"),
    ("RLIMIT_RTTIME", "Max realtime timeout"),
];

fn limit_value(s: &str) -> Option<u64> {
    if s == "unlimited" {
        Some(u64::MAX)
    } else {
        s.parse().ok()
    }
}

/// config.md "rlimits": each entry's soft and hard values.
fn rlimits(env: &Env, out: &mut Out) {
    let g = "rlimits";
    let text = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    for r in env.cfg.get("process").get("rlimits").items() {
        let Some(t) = r.get("type").as_str() else {
            continue;
        };
        let Some(row) = RLIMITS.iter().find(|(n, _)| *n == t).map(|(_, r)| *r) else {
            out.skip(g, t, "not a limit this checker knows");
            continue;
        };
        let got = text.lines().find(|l| l.starts_with(row)).map(|l| {
            let f: Vec<&str> = l[row.len()..].split_whitespace().collect();
            (
                f.first().and_then(|s| limit_value(s)),
                f.get(1).and_then(|s| limit_value(s)),
            )
        });
        out.eq(
            g,
            t,
            got,
            Some((r.get("soft").as_u64(), r.get("hard").as_u64())),
        );
    }
}

/// config.md "noNewPrivileges".
fn nnp(env: &Env, out: &mut Out) {
    let on = env
        .cfg
        .get("process")
        .get("noNewPrivileges")
        .as_bool()
        .unwrap_or(false);
    out.eq(
        "nnp",
        "NoNewPrivs",
        status_field("NoNewPrivs"),
        Some(if on { "1" } else { "0" }.into()),
    );
}

/// config.md "oomScoreAdj".
fn oom(env: &Env, out: &mut Out) {
    if let Some(v) = env.cfg.get("process").get("oomScoreAdj").as_i64() {
        let got = read("/proc/self/oom_score_adj").map(|s| s.trim().parse::<i64>().ok());
        out.eq("oom", "oom_score_adj", got.ok().flatten(), Some(v));
    }
}

/// config-linux.md "Seccomp": a filter is loaded (`Seccomp: 2`) exactly when the config has
/// one; for each errno rule without arguments on a call this checker can make harmlessly, the
/// call fails with the rule's errnoRet (EPERM without one).
fn seccomp(env: &Env, out: &mut Out) {
    let g = "seccomp";
    let sc = env.cfg.get("linux").get("seccomp");
    let mode = status_field("Seccomp");
    if sc.is_null() {
        out.eq(g, "no filter", mode.as_deref(), Some("0"));
        return;
    }
    out.eq(g, "filter loaded", mode.as_deref(), Some("2"));
    // (syscall names that must all be in one rule, the probe)
    type Probe = fn() -> std::io::Result<()>;
    let probes: &[(&[&str], &str, Probe)] = &[
        (&["mkdir", "mkdirat"], "mkdir", || {
            fs::create_dir("/tmp/.spec-checker-probe")?;
            let _ = fs::remove_dir("/tmp/.spec-checker-probe");
            Ok(())
        }),
        (&["symlink", "symlinkat"], "symlink", || {
            std::os::unix::fs::symlink("x", "/tmp/.spec-checker-link")?;
            let _ = fs::remove_file("/tmp/.spec-checker-link");
            Ok(())
        }),
    ];
    for rule in sc.get("syscalls").items() {
        if rule.get("action").as_str() != Some("SCMP_ACT_ERRNO")
            || !rule.get("args").items().is_empty()
        {
            continue;
        }
        let names = rule.get("names").strings();
        for (need, what, probe) in probes {
            if need.iter().all(|n| names.contains(n)) {
                let want = rule.get("errnoRet").as_i64().unwrap_or(1) as i32;
                let got = probe().err().and_then(|e| e.raw_os_error());
                out.eq(g, &format!("{what} gets errno"), got, Some(want));
            }
        }
    }
}

/// config.md "Hostname", config-linux.md "Sysctl" style: hostname and domainname.
fn hostname(env: &Env, out: &mut Out) {
    let g = "hostname";
    for (field, file) in [("hostname", "hostname"), ("domainname", "domainname")] {
        if let Some(want) = env.cfg.get(field).as_str() {
            let got = read(&format!("/proc/sys/kernel/{file}"))
                .map(|s| s.trim_end_matches('\n').to_string());
            out.eq(g, field, got, Ok(want.to_string()));
        }
    }
}

/// config-linux.md "Sysctl": each value as /proc/sys shows it (whitespace-normalised).
fn sysctl(env: &Env, out: &mut Out) {
    for (k, v) in env.cfg.get("linux").get("sysctl").members() {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let got = read(&path).map(|s| norm(&s));
        out.eq("sysctl", k, got, Ok(norm(v.as_str().unwrap_or(""))));
    }
}

fn map_triples(j: &Json) -> BTreeSet<(u64, u64, u64)> {
    j.items()
        .iter()
        .filter_map(|m| {
            Some((
                m.get("containerID").as_u64()?,
                m.get("hostID").as_u64()?,
                m.get("size").as_u64()?,
            ))
        })
        .collect()
}

/// config-linux.md "User namespace mappings": uid_map and gid_map hold exactly the mappings.
fn idmaps(env: &Env, out: &mut Out) {
    let g = "idmaps";
    let l = env.cfg.get("linux");
    let userns = l
        .get("namespaces")
        .items()
        .iter()
        .any(|n| n.get("type").as_str() == Some("user"));
    if !userns {
        out.skip(g, "maps", "no user namespace in the config");
        return;
    }
    for (field, file) in [("uidMappings", "uid_map"), ("gidMappings", "gid_map")] {
        let want = map_triples(l.get(field));
        if want.is_empty() {
            continue;
        }
        let got: BTreeSet<(u64, u64, u64)> = read(&format!("/proc/self/{file}"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let f: Vec<u64> = line
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                (f.len() == 3).then(|| (f[0], f[1], f[2]))
            })
            .collect();
        out.eq(g, field, got, want);
    }
}

// ---------------------------------------------------------------------------------------------
// Mounts

/// One line of /proc/self/mountinfo.
struct Mnt {
    point: String,
    opts: Vec<String>,
    optional: Vec<String>,
    fstype: String,
    super_opts: Vec<String>,
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut o = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            if let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or(""), 8)
            {
                o.push(v);
                i += 4;
                continue;
            }
        }
        o.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&o).into_owned()
}

fn mountinfo() -> Vec<Mnt> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let sep = f.iter().position(|x| *x == "-")?;
            if sep < 6 || f.len() < sep + 3 {
                return None;
            }
            Some(Mnt {
                point: unescape(f[4]),
                opts: f[5].split(',').map(String::from).collect(),
                optional: f[6..sep].iter().map(|s| s.to_string()).collect(),
                fstype: f[sep + 1].to_string(),
                super_opts: f
                    .get(sep + 3)
                    .map(|s| s.split(',').map(String::from).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The mount visible at `p` (the last one mounted there).
fn mount_at<'a>(ms: &'a [Mnt], p: &str) -> Option<&'a Mnt> {
    ms.iter().rev().find(|m| m.point == p)
}

/// A path without `.`, `..` (lexically) or a trailing slash.
fn clean(p: &str) -> String {
    let mut v: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                v.pop();
            }
            c => v.push(c),
        }
    }
    format!("/{}", v.join("/"))
}

/// Per-mount flags as mountinfo field 6 names them.
const FLAG_OPTS: &[(&str, &str)] = &[
    ("ro", "ro"),
    ("rw", "rw"),
    ("nosuid", "nosuid"),
    ("nodev", "nodev"),
    ("noexec", "noexec"),
    ("noatime", "noatime"),
    ("nodiratime", "nodiratime"),
    ("relatime", "relatime"),
    ("nosymfollow", "nosymfollow"),
];

/// Per-mount options that show as the absence of flags in mountinfo field 6: `atime` and
/// `diratime` clear `noatime` and `nodiratime`, `strictatime` clears both `noatime` and
/// `relatime`, `symfollow` clears `nosymfollow`.
const ABSENT_OPTS: &[(&str, &[&str])] = &[
    ("atime", &["noatime"]),
    ("diratime", &["nodiratime"]),
    ("strictatime", &["noatime", "relatime"]),
    ("symfollow", &["nosymfollow"]),
];

/// Superblock flags, which mountinfo shows in the filesystem options (field 11) of a new
/// filesystem: checked on non-bind mounts only (a bind shares its source's superblock).
const SUPER_OPTS: &[&str] = &["sync", "dirsync", "lazytime"];

/// The per-mount flag option (`FLAG_OPTS` or `ABSENT_OPTS` name) of a recursive option
/// string (`rro`, `rnoatime`, ...), applied to the mount and every mount under it.
fn recursive_flag(o: &str) -> Option<&str> {
    let f = o.strip_prefix('r').filter(|f| f.len() > 1)?;
    let known = FLAG_OPTS.iter().any(|(n, _)| *n == f) || ABSENT_OPTS.iter().any(|(n, _)| *n == f);
    known.then_some(f)
}

/// The mount at `dest` and, for a recursive option, every mount below it.
fn mounts_of<'a>(ms: &'a [Mnt], mi: &'a Mnt, dest: &str, recursive: bool) -> Vec<&'a Mnt> {
    let mut v = vec![mi];
    if recursive {
        let prefix = format!("{}/", dest.trim_end_matches('/'));
        v.extend(ms.iter().filter(|m| m.point.starts_with(&prefix)));
    }
    v
}

/// Whether mount `m` has propagation `want` (`shared`: a peer group; `slave`: a master;
/// `private`: neither and not unbindable; `unbindable`). A bind of a slave mount made shared
/// is both shared and a slave, so each tag is looked at by itself.
fn has_propagation(m: &Mnt, want: &str) -> bool {
    let has = |p: &str| m.optional.iter().any(|o| o.starts_with(p));
    match want {
        "shared" => has("shared:"),
        "slave" => has("master:"),
        "unbindable" => has("unbindable"),
        _ => !has("shared:") && !has("master:") && !has("unbindable"),
    }
}

/// Filesystem options whose value mountinfo shows as given (modes without leading zeros).
const DATA_KEYS: &[&str] = &["size", "mode", "ptmxmode", "gid", "uid", "nr_inodes"];

fn norm_data(k: &str, v: &str) -> String {
    if k.ends_with("mode") {
        let t = v.trim_start_matches('0');
        format!("{k}={}", if t.is_empty() { "0" } else { t })
    } else {
        format!("{k}={v}")
    }
}

/// config.md "Mounts": each destination is a mount of the type given, with its flags
/// (ro/rw, nosuid, nodev, noexec, atime), filesystem data (size, mode, ...) and propagation.
fn mounts(env: &Env, out: &mut Out) {
    let g = "mounts";
    let ms = mountinfo();
    for m in env.cfg.get("mounts").items() {
        let Some(dest) = m.get("destination").as_str() else {
            continue;
        };
        let dest = clean(dest);
        let Some(mi) = mount_at(&ms, &dest) else {
            out.fail(g, &dest, "no mount there in /proc/self/mountinfo");
            continue;
        };
        let opts = m.get("options").strings();
        let bind = opts.iter().any(|o| *o == "bind" || *o == "rbind")
            || m.get("type").as_str() == Some("bind");
        if let (Some(t), false) = (m.get("type").as_str(), bind) {
            let ok = mi.fstype == t || (t == "cgroup" && mi.fstype == "cgroup2");
            if ok {
                out.ok(g, &format!("{dest} type {t}"));
            } else {
                out.fail(
                    g,
                    &format!("{dest} type {t}"),
                    &format!("mounted as {}", mi.fstype),
                );
            }
        }
        for o in &opts {
            let rec = recursive_flag(o);
            let flag = rec.unwrap_or(o);
            let targets = mounts_of(&ms, mi, &dest, rec.is_some());
            if let Some(&(_, shown)) = FLAG_OPTS.iter().find(|(n, _)| *n == flag) {
                for t in &targets {
                    let what = format!("{} {o}", t.point);
                    if t.opts.iter().any(|x| x == shown) {
                        out.ok(g, &what);
                    } else {
                        out.fail(g, &what, &format!("mount options {}", t.opts.join(",")));
                    }
                }
            } else if let Some(&(_, absent)) = ABSENT_OPTS.iter().find(|(n, _)| *n == flag) {
                for t in &targets {
                    let what = format!("{} {o}", t.point);
                    if t.opts.iter().any(|x| absent.contains(&x.as_str())) {
                        out.fail(g, &what, &format!("mount options {}", t.opts.join(",")));
                    } else {
                        out.ok(g, &what);
                    }
                }
            } else if SUPER_OPTS.contains(o) && !bind {
                if mi.super_opts.iter().any(|x| x == o) {
                    out.ok(g, &format!("{dest} {o}"));
                } else {
                    out.fail(
                        g,
                        &format!("{dest} {o}"),
                        &format!("filesystem options {}", mi.super_opts.join(",")),
                    );
                }
            } else if let Some((k, v)) = o.split_once('=') {
                if DATA_KEYS.contains(&k) && !bind {
                    // mountinfo shows uid= and gid= as host ids (init user namespace).
                    let v = match k {
                        "uid" => host_id(env, "uidMappings", v),
                        "gid" => host_id(env, "gidMappings", v),
                        _ => v.to_string(),
                    };
                    let want = norm_data(k, &v);
                    let mut got: Vec<String> = mi
                        .super_opts
                        .iter()
                        .map(|s| match s.split_once('=') {
                            Some((a, b)) => norm_data(a, b),
                            None => s.clone(),
                        })
                        .collect();
                    // tmpfs leaves out the values it has by default.
                    if mi.fstype == "tmpfs" {
                        for (dk, dv) in [("mode", "1777"), ("uid", "0"), ("gid", "0")] {
                            if !got.iter().any(|s| s.starts_with(&format!("{dk}="))) {
                                got.push(norm_data(dk, dv));
                            }
                        }
                    }
                    if got.contains(&want) {
                        out.ok(g, &format!("{dest} {o}"));
                    } else {
                        out.fail(
                            g,
                            &format!("{dest} {o}"),
                            &format!("filesystem options {}", mi.super_opts.join(",")),
                        );
                    }
                }
            } else if let Some(want) = propagation(o) {
                let recursive = o.starts_with('r');
                for t in mounts_of(&ms, mi, &dest, recursive) {
                    let what = format!("{} {o}", t.point);
                    if has_propagation(t, want) {
                        out.ok(g, &what);
                    } else {
                        out.fail(
                            g,
                            &what,
                            &format!(
                                "propagation is {} ({})",
                                propagation_of(t),
                                t.optional.join(" ")
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// The host id of container id `v` through the config's mappings (itself without a user
/// namespace or a matching mapping).
fn host_id(env: &Env, field: &str, v: &str) -> String {
    let Ok(id) = v.parse::<u64>() else {
        return v.to_string();
    };
    map_triples(env.cfg.get("linux").get(field))
        .into_iter()
        .find(|&(c, _, n)| id >= c && id < c + n)
        .map(|(c, h, _)| (h + id - c).to_string())
        .unwrap_or_else(|| v.to_string())
}

fn propagation(o: &str) -> Option<&'static str> {
    Some(match o.trim_start_matches('r') {
        "private" => "private",
        "shared" => "shared",
        "slave" => "slave",
        "unbindable" => "unbindable",
        _ => return None,
    })
}

fn propagation_of(m: &Mnt) -> &'static str {
    let has = |p: &str| m.optional.iter().any(|o| o.starts_with(p));
    if has("unbindable") {
        "unbindable"
    } else if has("master:") {
        "slave"
    } else if has("shared:") {
        "shared"
    } else {
        "private"
    }
}

/// config.md "Root": `readonly` makes `/` read-only; config-linux.md "rootfsPropagation".
fn root(env: &Env, out: &mut Out) {
    let g = "root";
    let ms = mountinfo();
    let Some(r) = mount_at(&ms, "/") else {
        out.fail(g, "/", "no mount at / in mountinfo");
        return;
    };
    let ro = env
        .cfg
        .get("root")
        .get("readonly")
        .as_bool()
        .unwrap_or(false);
    out.eq(g, "readonly", r.opts.iter().any(|o| o == "ro"), ro);
    if let Some(p) = env.cfg.get("linux").get("rootfsPropagation").as_str() {
        if let Some(want) = propagation(p) {
            out.eq(
                g,
                &format!("rootfsPropagation {p}"),
                propagation_of(r),
                want,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Devices, masked and read-only paths

fn dev_numbers(rdev: u64) -> (u64, u64) {
    (
        ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff),
        (rdev & 0xff) | ((rdev >> 12) & !0xff),
    )
}

/// config-linux.md "Default Devices" (MUST be supplied) and "Devices" (each entry with its
/// type, numbers, mode and owner).
fn devices(env: &Env, out: &mut Out) {
    let g = "devices";
    for (p, maj, min) in [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ] {
        match fs::metadata(p) {
            Ok(md) if md.file_type().is_char_device() => {
                out.eq(g, p, dev_numbers(md.rdev()), (maj, min))
            }
            Ok(_) => out.fail(g, p, "not a character device"),
            Err(e) => out.fail(g, p, &e.to_string()),
        }
    }
    for (p, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        let got = fs::read_link(p)
            .map(|t| t.to_string_lossy().into_owned())
            .map_err(|e| e.kind());
        out.eq(g, p, got, Ok(target.to_string()));
    }
    match fs::symlink_metadata("/dev/ptmx") {
        Ok(md) if md.file_type().is_symlink() => {
            let t = fs::read_link("/dev/ptmx")
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.eq(g, "/dev/ptmx", t.as_str(), "pts/ptmx");
        }
        Ok(md) if md.file_type().is_char_device() => {
            out.eq(g, "/dev/ptmx", dev_numbers(md.rdev()), (5, 2))
        }
        Ok(_) => out.fail(g, "/dev/ptmx", "neither a symlink nor a device"),
        Err(e) => out.fail(g, "/dev/ptmx", &e.to_string()),
    }
    for d in env.cfg.get("linux").get("devices").items() {
        let Some(p) = d.get("path").as_str() else {
            continue;
        };
        let md = match fs::metadata(p) {
            Ok(m) => m,
            Err(e) => {
                out.fail(g, p, &e.to_string());
                continue;
            }
        };
        let ft = md.file_type();
        let kind = match d.get("type").as_str() {
            Some("c") | Some("u") => ft.is_char_device(),
            Some("b") => ft.is_block_device(),
            Some("p") => ft.is_fifo(),
            _ => true,
        };
        out.eq(g, &format!("{p} type"), kind, true);
        if let (Some(maj), Some(min)) = (d.get("major").as_u64(), d.get("minor").as_u64()) {
            out.eq(
                g,
                &format!("{p} numbers"),
                dev_numbers(md.rdev()),
                (maj, min),
            );
        }
        if let Some(mode) = d.get("fileMode").as_u64() {
            out.eq(
                g,
                &format!("{p} fileMode"),
                md.permissions().mode() & 0o7777,
                mode as u32 & 0o7777,
            );
        }
        if let Some(uid) = d.get("uid").as_u64() {
            out.eq(g, &format!("{p} uid"), md.uid() as u64, uid);
        }
        if let Some(gid) = d.get("gid").as_u64() {
            out.eq(g, &format!("{p} gid"), md.gid() as u64, gid);
        }
    }
}

/// config-linux.md "Masked Paths": each path that exists can no longer be read (a file reads
/// as empty, a directory lists nothing).
fn masked(env: &Env, out: &mut Out) {
    let g = "masked";
    for p in env.cfg.get("linux").get("maskedPaths").strings() {
        match fs::metadata(p) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                out.skip(g, p, "does not exist in the container")
            }
            Err(e) => out.ok(g, &format!("{p} unreadable ({e})")),
            Ok(md) if md.is_dir() => {
                let n = fs::read_dir(p).map(|r| r.count()).unwrap_or(0);
                out.eq(g, &format!("{p} lists nothing"), n, 0);
            }
            Ok(_) => {
                let got = fs::read(p).map(|b| b.len()).map_err(|e| e.kind());
                match got {
                    Ok(0) => out.ok(g, &format!("{p} reads as empty")),
                    Ok(n) => out.fail(g, p, &format!("{n} bytes readable")),
                    Err(_) => out.ok(g, &format!("{p} unreadable")),
                }
            }
        }
    }
}

/// config-linux.md "Readonly Paths": each path that exists is a read-only mount.
fn readonly(env: &Env, out: &mut Out) {
    let g = "readonly";
    let ms = mountinfo();
    for p in env.cfg.get("linux").get("readonlyPaths").strings() {
        if fs::symlink_metadata(p).is_err() {
            out.skip(g, p, "does not exist in the container");
            continue;
        }
        match mount_at(&ms, &clean(p)) {
            Some(m) if m.opts.iter().any(|o| o == "ro") => out.ok(g, p),
            Some(m) => out.fail(g, p, &format!("mounted {}", m.opts.join(","))),
            None => out.fail(g, p, "not a mount point"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cgroup limits, read through a cgroup mount at /sys/fs/cgroup in the container

/// config-linux.md "Control groups": limits of `linux.resources` as the container's cgroup
/// files show them (needs a `cgroup` mount at /sys/fs/cgroup in the config).
fn cgroup(env: &Env, out: &mut Out) {
    let g = "cgroup";
    let res = env.cfg.get("linux").get("resources");
    if res.is_null() {
        out.skip(g, "limits", "the config has no linux.resources");
        return;
    }
    let ms = mountinfo();
    let v2 = mount_at(&ms, "/sys/fs/cgroup").is_some_and(|m| m.fstype == "cgroup2");
    let v1 = ms
        .iter()
        .any(|m| m.fstype == "cgroup" && m.point.starts_with("/sys/fs/cgroup/"));
    if !v1 && !v2 {
        out.skip(
            g,
            "limits",
            "no cgroup filesystem mounted at /sys/fs/cgroup in the container",
        );
        return;
    }
    let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    // The file in the container's cgroup: the mount root (a cgroup namespace, or runc's bind
    // of the container's directory) or the path /proc/self/cgroup names below it.
    let file = |ctrl: &str, name: &str| -> Option<String> {
        let (base, line) = if v2 {
            (
                "/sys/fs/cgroup".to_string(),
                own.lines().find(|l| l.starts_with("0::")),
            )
        } else {
            let line = own.lines().find(|l| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|c| c.split(',').any(|x| x == ctrl))
            });
            let dir = ms
                .iter()
                .filter(|m| m.fstype == "cgroup" && m.super_opts.iter().any(|o| o == ctrl))
                .map(|m| m.point.clone())
                .next()?;
            (dir, line)
        };
        let rel = line.and_then(|l| l.splitn(3, ':').nth(2)).unwrap_or("/");
        [
            format!("{base}{}/{name}", rel.trim_end_matches('/')),
            format!("{base}/{name}"),
        ]
        .into_iter()
        .find(|p| fs::metadata(p).is_ok())
    };
    let mut check = |what: &str, ctrl: &str, name: &str, want: String| match file(ctrl, name) {
        Some(p) => {
            let got = fs::read_to_string(&p)
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            out.eq(g, &format!("{what} ({p})"), got, want);
        }
        None => out.fail(
            g,
            what,
            &format!("no {name} file in the container's cgroup"),
        ),
    };
    if let Some(n) = res.get("pids").get("limit").as_i64() {
        let want = if n <= 0 {
            "max".to_string()
        } else {
            n.to_string()
        };
        check("pids.limit", "pids", "pids.max", want);
    }
    if let Some(n) = res.get("memory").get("limit").as_i64() {
        if v2 {
            check(
                "memory.limit",
                "memory",
                "memory.max",
                if n < 0 { "max".into() } else { n.to_string() },
            );
        } else if n > 0 {
            check(
                "memory.limit",
                "memory",
                "memory.limit_in_bytes",
                n.to_string(),
            );
        }
    }
    let cpu = res.get("cpu");
    if let Some(q) = cpu.get("quota").as_i64() {
        let period = cpu.get("period").as_u64().unwrap_or(100000);
        if v2 {
            let q = if q <= 0 {
                "max".to_string()
            } else {
                q.to_string()
            };
            check("cpu.quota", "cpu", "cpu.max", format!("{q} {period}"));
        } else {
            check("cpu.quota", "cpu", "cpu.cfs_quota_us", q.to_string());
        }
    }
    if let (Some(s), false) = (cpu.get("shares").as_u64(), v2) {
        check("cpu.shares", "cpu", "cpu.shares", s.to_string());
    }
    if let Some(c) = cpu.get("cpus").as_str() {
        check("cpu.cpus", "cpuset", "cpuset.cpus", c.to_string());
    }
}
