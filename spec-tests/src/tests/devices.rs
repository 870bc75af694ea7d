//! Devices (config-linux.md "Default Devices", "Devices"; runtime-linux.md "Dev symbolic
//! links"), observed from inside with busybox `stat` and `readlink`.

use std::fs;

use serde_json::{json, Value};

use crate::bundle::{add_mount, add_userns, base_config, sh};
use crate::harness::{ensure, ensure_eq, run_ok, Ctn, Ctx, TestResult};
use crate::rootfs::chown_tree;
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("devices", name, f);
    vec![
        t("default_devices", default_devices),
        t("default_devices_work", default_devices_work),
        t("ptmx_and_symlinks", ptmx_and_symlinks),
        t("pts_and_shm_dirs", pts_and_shm_dirs),
        t("linux_devices", linux_devices),
        t("userns_devices", userns_devices),
        t("existing_file_mismatch", existing_file_mismatch),
    ]
}

/// null, zero, full, random, urandom and tty are character devices with their numbers
/// (`stat %t:%T` prints major:minor in hex).
fn default_devices(ctx: &Ctx) -> TestResult {
    let want = [
        ("/dev/null", "1:3"),
        ("/dev/zero", "1:5"),
        ("/dev/full", "1:7"),
        ("/dev/random", "1:8"),
        ("/dev/urandom", "1:9"),
        ("/dev/tty", "5:0"),
    ];
    let paths: Vec<&str> = want.iter().map(|w| w.0).collect();
    let out = run_ok(
        ctx,
        &sh(&format!("stat -c '%n|%F|%t:%T' {}", paths.join(" "))),
    )?;
    for (path, mm) in want {
        let line = out
            .lines()
            .find(|l| l.split('|').next() == Some(path))
            .ok_or_else(|| format!("{path} missing: {out}"))?;
        let f: Vec<&str> = line.split('|').collect();
        ensure_eq(f.get(1).copied(), Some("character special file"), path)?;
        ensure_eq(f.get(2).copied(), Some(mm), &format!("{path} major:minor"))?;
    }
    Ok(())
}

/// The default devices behave: /dev/null swallows, /dev/zero gives zeros, /dev/full is full.
fn default_devices_work(ctx: &Ctx) -> TestResult {
    let out = run_ok(
        ctx,
        &sh(
            "echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | od -An -tx1; \
             (echo x > /dev/full) 2>/dev/null && echo full-writable || echo full-ok; \
             head -c 8 /dev/urandom | wc -c",
        ),
    )?;
    let got: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    ensure_eq(
        got,
        vec![
            "null-ok".to_string(),
            "00 00 00 00".to_string(),
            "full-ok".to_string(),
            "8".to_string(),
        ],
        "device behaviour",
    )
}

/// /dev/ptmx is a symlink to pts/ptmx (or a bind of it), and the fd symlinks exist.
fn ptmx_and_symlinks(ctx: &Ctx) -> TestResult {
    let out = run_ok(
        ctx,
        &sh("for f in ptmx fd stdin stdout stderr; do \
             echo $f=$(readlink /dev/$f); done"),
    )?;
    let get = |name: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or("")
            .to_string()
    };
    let ptmx = get("ptmx");
    if ptmx.is_empty() {
        // Not a symlink: then it must be the pts instance's ptmx (5:2) bound over /dev/ptmx.
        let o = run_ok(ctx, &sh("stat -c %t:%T /dev/ptmx"))?;
        ensure_eq(o.trim(), "5:2", "/dev/ptmx (not a symlink) major:minor")?;
    } else {
        ensure(ptmx == "pts/ptmx" || ptmx == "/dev/pts/ptmx", || {
            format!("/dev/ptmx -> {ptmx:?}, want pts/ptmx")
        })?;
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        ensure_eq(get(name).as_str(), target, &format!("/dev/{name} symlink"))?;
    }
    Ok(())
}

fn pts_and_shm_dirs(ctx: &Ctx) -> TestResult {
    let out = run_ok(
        ctx,
        &sh(
            "test -d /dev/pts && echo pts; test -d /dev/shm && echo shm; \
             test -d /dev/mqueue && echo mqueue",
        ),
    )?;
    ensure_eq(
        out.lines().collect::<Vec<_>>(),
        vec!["pts", "shm", "mqueue"],
        "directories in /dev",
    )
}

/// linux.devices entries appear with their type, numbers, mode and owner.
fn linux_devices(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("stat -c '%n|%F|%t:%T|%a|%u|%g' /dev/fuse /dev/mydev");
    cfg["linux"]["devices"] = json!([
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
         "fileMode": 0o666, "uid": 0, "gid": 0},
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 3,
         "fileMode": 0o600, "uid": 1000, "gid": 1000}
    ]);
    let out = run_ok(ctx, &cfg)?;
    let lines: Vec<&str> = out.lines().collect();
    ensure_eq(
        lines,
        vec![
            "/dev/fuse|character special file|a:e5|666|0|0",
            "/dev/mydev|character special file|1:3|600|1000|1000",
        ],
        "stat of the configured devices",
    )
}

/// In a user namespace (where mknod is not allowed, so runtimes bind the host's nodes) the
/// default devices exist and work.
fn userns_devices(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    chown_tree(&c.rootfs(), 100000, 100000)?;
    let mut cfg = sh(
        "for d in null zero full random urandom tty; do test -c /dev/$d && echo $d; done; \
         echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; \
         head -c 8 /dev/urandom | wc -c",
    );
    add_userns(&mut cfg, &[(0, 100000, 65536)]);
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    let got: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    ensure_eq(
        got,
        vec![
            "null", "zero", "full", "random", "urandom", "tty", "null-ok", "4", "8",
        ],
        "devices in a user namespace",
    )
}

/// A `linux.devices` entry (char 1:3) at a path where a regular file already is: the run fails,
/// the file keeps its content, and nothing of the container is left. Two cases: a host file
/// bind-mounted at the path in the tmpfs `/dev`, and a file of the image's `/dev` (a config
/// without a `/dev` mount).
fn existing_file_mismatch(ctx: &Ctx) -> TestResult {
    let device = json!([{"path": "/dev/st-dev", "type": "c", "major": 1, "minor": 3,
                         "fileMode": 0o666, "uid": 0, "gid": 0}]);
    let check = |c: &Ctn, cfg: &Value, file: &std::path::Path, case: &str| -> TestResult {
        fs::write(file, "keep\n").map_err(|e| format!("write {}: {e}", file.display()))?;
        c.write_config(cfg)?;
        let out = c.run()?;
        ensure(out.code != 0, || {
            format!(
                "{case}: a device over a regular file was accepted ({})",
                out.describe()
            )
        })?;
        let now = fs::read_to_string(file).unwrap_or_default();
        ensure_eq(
            now.as_str(),
            "keep\n",
            &format!("{case}: the file's content"),
        )?;
        let left = super::hooks::leftovers_of(c.ctx, c)?;
        ensure(left.is_empty(), || {
            format!("{case}: left after the failed run: {}", left.join("; "))
        })
    };
    let c = Ctn::new(ctx, "bind")?;
    let file = c.bundle.join("st-file");
    let mut cfg = base_config(&["true"]);
    add_mount(
        &mut cfg,
        json!({"destination": "/dev/st-dev", "type": "bind", "source": file,
               "options": ["bind"]}),
    );
    cfg["linux"]["devices"] = device.clone();
    check(&c, &cfg, &file, "a bind-mounted host file")?;

    let c = Ctn::new(ctx, "image")?;
    let mut cfg = base_config(&["true"]);
    if let Some(ms) = cfg["mounts"].as_array_mut() {
        ms.retain(|m| m["destination"] != "/dev");
    }
    cfg["linux"]["devices"] = device;
    check(
        &c,
        &cfg,
        &c.rootfs().join("dev/st-dev"),
        "a file of the image's /dev",
    )
}
