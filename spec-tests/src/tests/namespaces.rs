//! Namespaces (config-linux.md "Namespaces", "User namespace mappings", "Offset for Time
//! Namespace"), hostname and domainname, observed from inside the container.

use std::path::Path;

use serde_json::json;

use crate::bundle::{
    add_userns, base_config, put_namespace, set_namespaces, sh, DEFAULT_NAMESPACES,
};
use crate::harness::{ensure, ensure_eq, ns_link, run_ok, skip, Ctn, Ctx, TestResult};
use crate::rootfs::chown_tree;
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("namespaces", name, f);
    vec![
        t("pid_ns_init_is_1", pid_ns_init_is_1),
        t("new_namespaces_differ", new_namespaces_differ),
        t("absent_namespaces_shared", absent_namespaces_shared),
        t("hostname_domainname", hostname_domainname),
        t("join_netns_by_path", join_netns_by_path),
        t("userns_single_mapping", userns_single_mapping),
        t("userns_multiple_mappings", userns_multiple_mappings),
        t("time_ns_offsets", time_ns_offsets),
        t("cgroup_ns_root", cgroup_ns_root),
        t("join_ipc_uts_pid_by_path", join_ipc_uts_pid_by_path),
        t("join_user_by_path", join_user_by_path),
    ]
}

/// The namespace names under /proc/self/ns for each OCI type.
const NS_FILES: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("mount", "mnt"),
    ("network", "net"),
    ("cgroup", "cgroup"),
    ("user", "user"),
    ("time", "time"),
];

/// Whether the host kernel has a namespace type (time namespaces are Linux 5.6+).
fn host_has(f: &str) -> bool {
    Path::new(&format!("/proc/self/ns/{f}")).exists()
}

/// A script printing `file=link` for every namespace file.
fn ns_script() -> String {
    NS_FILES
        .iter()
        .filter(|(_, f)| host_has(f))
        .map(|(_, f)| format!("echo {f}=$(readlink /proc/self/ns/{f});"))
        .collect()
}

fn parse_kv(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn pid_ns_init_is_1(ctx: &Ctx) -> TestResult {
    let out = run_ok(ctx, &sh("echo $$"))?;
    ensure_eq(out.trim(), "1", "pid of the init in a new pid namespace")
}

/// Every namespace in the config is new: its inode differs from the caller's; the others
/// (user, time) are the caller's.
fn new_namespaces_differ(ctx: &Ctx) -> TestResult {
    let mut cfg = sh(&ns_script());
    let mut types: Vec<&str> = DEFAULT_NAMESPACES.to_vec();
    types.push("cgroup");
    set_namespaces(&mut cfg, &types);
    let out = run_ok(ctx, &cfg)?;
    let got = parse_kv(&out);
    for (t, f) in NS_FILES.iter().filter(|(_, f)| host_has(f)) {
        let host = ns_link("self", f)?;
        let inside = got
            .iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("no {f} line in output: {out}"))?;
        if types.contains(t) {
            ensure(!inside.is_empty() && inside != host, || {
                format!("{f}: inside {inside:?}, host {host:?}: want a new namespace")
            })?;
        } else {
            ensure_eq(
                inside.as_str(),
                host.as_str(),
                &format!("{f} namespace (not in config)"),
            )?;
        }
    }
    Ok(())
}

/// A namespace not in the config is the caller's.
fn absent_namespaces_shared(ctx: &Ctx) -> TestResult {
    let mut cfg = sh(&ns_script());
    set_namespaces(&mut cfg, &["mount"]);
    let out = run_ok(ctx, &cfg)?;
    let got = parse_kv(&out);
    for (t, f) in NS_FILES.iter().filter(|(_, f)| host_has(f)) {
        let host = ns_link("self", f)?;
        let inside = got
            .iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if *t == "mount" {
            ensure(inside != host, || {
                format!("mnt: not a new namespace ({inside})")
            })?;
        } else {
            ensure_eq(inside.as_str(), host.as_str(), &format!("{f} namespace"))?;
        }
    }
    Ok(())
}

fn hostname_domainname(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("hostname; cat /proc/sys/kernel/domainname");
    cfg["hostname"] = json!("st-host");
    cfg["domainname"] = json!("st-domain.example");
    let out = run_ok(ctx, &cfg)?;
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    ensure_eq(
        lines,
        vec!["st-host", "st-domain.example"],
        "hostname and domainname",
    )
}

/// A namespace given by path is joined: container B joins container A's network namespace.
fn join_netns_by_path(ctx: &Ctx) -> TestResult {
    let a = Ctn::new(ctx, "a")?;
    a.write_config(&sh("sleep 1000"))?;
    a.create_ok()?;
    let a_pid = a.pid()?;
    let a_net = ns_link(&a_pid.to_string(), "net")?;
    ensure(a_net != ns_link("self", "net")?, || {
        "container A has the host's netns".into()
    })?;
    let b = Ctn::new(ctx, "b")?;
    let mut cfg = sh("readlink /proc/self/ns/net");
    put_namespace(
        &mut cfg,
        json!({"type": "network", "path": format!("/proc/{a_pid}/ns/net")}),
    );
    b.write_config(&cfg)?;
    let out = b.run()?;
    ensure_eq(out.code, 0, &format!("run B ({})", out.describe()))?;
    ensure_eq(out.stdout.trim(), a_net.as_str(), "B's netns vs A's")
}

/// Parses /proc/self/{uid,gid}_map text into (inside, outside, count) triples.
fn parse_map(text: &str) -> Vec<(u64, u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (f.len() == 3).then(|| (f[0], f[1], f[2]))
        })
        .collect()
}

fn userns_case(ctx: &Ctx, maps: &[(u64, u64, u64)]) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    // The container's root owns its rootfs (as podman arranges); the host's files stay
    // root-owned.
    let root_host = maps
        .iter()
        .find(|m| m.0 == 0)
        .map(|m| m.1 as u32)
        .unwrap_or(0);
    chown_tree(&c.rootfs(), root_host, root_host)?;
    let mut cfg = sh("cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; id -u");
    add_userns(&mut cfg, maps);
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    let parts: Vec<&str> = out.stdout.split("--\n").collect();
    ensure(parts.len() == 3, || {
        format!("unexpected output: {}", out.stdout)
    })?;
    let mut want = maps.to_vec();
    want.sort();
    for (i, what) in [(0, "uid_map"), (1, "gid_map")] {
        let mut got = parse_map(parts[i]);
        got.sort();
        ensure_eq(&got, &want, what)?;
    }
    ensure_eq(parts[2].trim(), "0", "id -u inside")
}

fn userns_single_mapping(ctx: &Ctx) -> TestResult {
    userns_case(ctx, &[(0, 100000, 65536)])
}

fn userns_multiple_mappings(ctx: &Ctx) -> TestResult {
    userns_case(
        ctx,
        &[(0, 200000, 1000), (1000, 1000, 1), (1001, 201001, 64535)],
    )
}

/// A time namespace with offsets: /proc/self/timens_offsets shows them.
fn time_ns_offsets(ctx: &Ctx) -> TestResult {
    if !host_has("time") {
        return Err(skip("the host kernel has no time namespaces"));
    }
    let mut cfg = sh("cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime");
    let types: Vec<&str> = DEFAULT_NAMESPACES.iter().copied().chain(["time"]).collect();
    set_namespaces(&mut cfg, &types);
    cfg["linux"]["timeOffsets"] = json!({
        "monotonic": {"secs": 86400, "nanosecs": 0},
        "boottime": {"secs": 172800, "nanosecs": 0}
    });
    let out = run_ok(ctx, &cfg)?;
    let norm: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for want in ["monotonic 86400 0", "boottime 172800 0"] {
        ensure(norm.iter().any(|l| l == want), || {
            format!("timens_offsets lacks {want:?}: {out}")
        })?;
    }
    let uptime: u64 = norm.last().and_then(|l| l.parse().ok()).unwrap_or(0);
    ensure(uptime >= 172800, || {
        format!("uptime inside is {uptime}s, want >= the boottime offset 172800")
    })
}

/// In a new cgroup namespace the container sees its cgroups as the root.
fn cgroup_ns_root(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("cat /proc/self/cgroup");
    let types: Vec<&str> = DEFAULT_NAMESPACES
        .iter()
        .copied()
        .chain(["cgroup"])
        .collect();
    set_namespaces(&mut cfg, &types);
    let out = run_ok(ctx, &cfg)?;
    let bad: Vec<&str> = out
        .lines()
        .filter(|l| l.splitn(3, ':').nth(2) != Some("/"))
        .collect();
    ensure(!out.trim().is_empty() && bad.is_empty(), || {
        format!("cgroup lines not at \"/\": {bad:?} (all: {out})")
    })
}

/// Container B joins container A's ipc, uts and pid namespaces by path: B sees A's hostname,
/// has A's namespace inodes, and in A's pid namespace B's shell is not pid 1 (A's `sleep`
/// is).
fn join_ipc_uts_pid_by_path(ctx: &Ctx) -> TestResult {
    let a = Ctn::new(ctx, "a")?;
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["hostname"] = json!("st-joined");
    a.write_config(&cfg)?;
    a.start_new()?;
    let a_pid = a.pid()?.to_string();
    let b = Ctn::new(ctx, "b")?;
    let mut cfg = sh(
        "hostname; for n in ipc uts pid; do readlink /proc/self/ns/$n; done; \
         echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo",
    );
    for (t, f) in [("ipc", "ipc"), ("uts", "uts"), ("pid", "pid")] {
        put_namespace(
            &mut cfg,
            json!({"type": t, "path": format!("/proc/{a_pid}/ns/{f}")}),
        );
    }
    b.write_config(&cfg)?;
    let out = b.run()?;
    ensure_eq(out.code, 0, &format!("run B ({})", out.describe()))?;
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    ensure(lines.len() == 6, || {
        format!("unexpected output of B: {}", out.stdout)
    })?;
    ensure_eq(lines[0], "st-joined", "B's hostname (A's uts namespace)")?;
    for (i, f) in [(1, "ipc"), (2, "uts"), (3, "pid")] {
        let want = ns_link(&a_pid, f)?;
        ensure_eq(
            lines[i],
            want.as_str(),
            &format!("B's {f} namespace vs A's"),
        )?;
    }
    ensure(lines[4] != "1", || {
        "B's shell is pid 1 in A's pid namespace".into()
    })?;
    ensure_eq(lines[5], "sleep 1000", "pid 1 seen by B (A's init)")
}

/// Container B joins the user namespace (and the network namespace) of container A by path:
/// B has A's user namespace and sees A's uid and gid maps.
fn join_user_by_path(ctx: &Ctx) -> TestResult {
    let maps = [(0, 100000, 65536)];
    let a = Ctn::new(ctx, "a")?;
    chown_tree(&a.rootfs(), 100000, 100000)?;
    let mut cfg = base_config(&["sleep", "1000"]);
    add_userns(&mut cfg, &maps);
    a.write_config(&cfg)?;
    a.start_new()?;
    let a_pid = a.pid()?.to_string();
    let read = |f: &str| {
        std::fs::read_to_string(format!("/proc/{a_pid}/{f}"))
            .map_err(|e| format!("/proc/{a_pid}/{f}: {e}"))
    };
    let (a_uid, a_gid) = (parse_map(&read("uid_map")?), parse_map(&read("gid_map")?));

    let b = Ctn::new(ctx, "b")?;
    chown_tree(&b.rootfs(), 100000, 100000)?;
    let mut cfg = sh(
        "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; \
         readlink /proc/self/ns/user; readlink /proc/self/ns/net; id -u",
    );
    // The mappings stay in B's config (podman sends them with the path); a runtime must not
    // try to write them into a namespace it joins.
    add_userns(&mut cfg, &maps);
    for (t, f) in [("user", "user"), ("network", "net")] {
        put_namespace(
            &mut cfg,
            json!({"type": t, "path": format!("/proc/{a_pid}/ns/{f}")}),
        );
    }
    b.write_config(&cfg)?;
    let out = b.run()?;
    ensure_eq(out.code, 0, &format!("run B ({})", out.describe()))?;
    let parts: Vec<&str> = out.stdout.split("--\n").collect();
    ensure(parts.len() == 3, || {
        format!("unexpected output of B: {}", out.stdout)
    })?;
    ensure_eq(parse_map(parts[0]), a_uid, "B's uid_map vs A's")?;
    ensure_eq(parse_map(parts[1]), a_gid, "B's gid_map vs A's")?;
    let rest: Vec<&str> = parts[2].lines().map(str::trim).collect();
    let want = [
        ns_link(&a_pid, "user")?,
        ns_link(&a_pid, "net")?,
        "0".to_string(),
    ];
    ensure_eq(
        rest,
        want.iter().map(String::as_str).collect(),
        "B's user and net namespaces and uid",
    )
}
