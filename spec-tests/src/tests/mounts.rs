//! The root filesystem and mounts (config.md "Root", "Mounts"; config-linux.md
//! "rootfsPropagation", "maskedPaths", "readonlyPaths", "Sysctl"), observed from inside through
//! /proc/self/mountinfo and from the host.

use std::fs;
use std::os::unix::fs::symlink;
use std::time::Duration;

use serde_json::json;

use crate::bundle::{add_mount, base_config, put_namespace, sh};
use crate::checker::run_in;
use crate::harness::{
    ensure, ensure_eq, host_cgroup_v2, mkdir_mode, mount_at, parse_mountinfo, run_host, run_ok,
    wait_until, write_file, Ctn, Ctx, TestResult,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("mounts", name, f);
    vec![
        t("root_readonly", root_readonly),
        t("tmpfs_size_mode", tmpfs_size_mode),
        t("bind_readonly", bind_readonly),
        t("mount_flags", mount_flags),
        t("standard_filesystems", standard_filesystems),
        t(
            "symlink_destination_stays_inside",
            symlink_destination_stays_inside,
        ),
        t("rootfs_propagation_private", rootfs_propagation_private),
        t("rootfs_propagation_slave", rootfs_propagation_slave),
        t(
            "rootfs_propagation_unbindable",
            rootfs_propagation_unbindable,
        ),
        t("no_pivot", no_pivot),
        t("masked_paths", masked_paths),
        t("readonly_paths", readonly_paths),
        t("sysctl", sysctl),
        t("rootfs_propagation_shared", rootfs_propagation_shared),
        t(
            "rootfs_propagation_shared_path_with_space",
            rootfs_propagation_shared_path_with_space,
        ),
        t("cgroup_mount", cgroup_mount),
        t("bind_file", bind_file),
        t("tmpfs_at_nested_missing_dir", tmpfs_at_nested_missing_dir),
        t("tmpfs_copyup", tmpfs_copyup),
        t("option_strings", option_strings),
        t("recursive_option_strings", recursive_option_strings),
        t("propagation_option_strings", propagation_option_strings),
    ]
}

fn root_readonly(ctx: &Ctx) -> TestResult {
    let mut cfg = sh(
        "touch /x 2>/dev/null && echo WRITABLE || echo RO; touch /dev/shm/y && echo SHM-OK; \
         cat /proc/self/mountinfo",
    );
    cfg["root"]["readonly"] = json!(true);
    let out = run_ok(ctx, &cfg)?;
    let mut lines = out.lines();
    ensure_eq(lines.next(), Some("RO"), "touch /x on a read-only root")?;
    ensure_eq(
        lines.next(),
        Some("SHM-OK"),
        "write to /dev/shm under a read-only root",
    )?;
    let root = mount_at(&out, "/")?;
    ensure(root.has_opt("ro"), || format!("/ is not ro: {}", root.line))
}

fn tmpfs_size_mode(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("stat -c %a /mnt/t; cat /proc/self/mountinfo");
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
               "options": ["size=2m", "mode=1750"]}),
    );
    let out = run_ok(ctx, &cfg)?;
    ensure_eq(out.lines().next(), Some("1750"), "stat -c %a /mnt/t")?;
    let m = mount_at(&out, "/mnt/t")?;
    ensure_eq(m.fstype.as_str(), "tmpfs", "fstype of /mnt/t")?;
    ensure(m.has_super_opt("size=2048k"), || {
        format!("no size=2048k: {}", m.line)
    })?;
    ensure(m.has_super_opt("mode=1750"), || {
        format!("no mode=1750: {}", m.line)
    })
}

/// Makes `<bundle>/hostdir` with a file `data`, returns its path.
fn host_dir(c: &Ctn) -> Result<String, String> {
    let dir = c.bundle.join("hostdir");
    mkdir_mode(&dir, 0o755)?;
    write_file(&dir.join("data"), "hello-bind\n")?;
    Ok(dir.to_string_lossy().into_owned())
}

fn bind_readonly(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let src = host_dir(&c)?;
    let mut cfg = sh(
        "cat /mnt/ro/data; touch /mnt/ro/new 2>/dev/null && echo WRITABLE || echo RO; \
         cat /proc/self/mountinfo",
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/ro", "type": "bind", "source": src,
               "options": ["rbind", "ro"]}),
    );
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    let lines: Vec<&str> = out.stdout.lines().take(2).collect();
    ensure_eq(
        lines,
        vec!["hello-bind", "RO"],
        "read and write through the ro bind",
    )?;
    let m = mount_at(&out.stdout, "/mnt/ro")?;
    ensure(m.has_opt("ro"), || format!("/mnt/ro not ro: {}", m.line))?;
    ensure(!c.bundle.join("hostdir/new").exists(), || {
        "the container wrote into the read-only host directory".into()
    })
}

/// nosuid, nodev and noexec show in the per-mount options, for a tmpfs and for a bind mount
/// (which needs a remount to apply them).
fn mount_flags(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let src = host_dir(&c)?;
    let mut cfg = sh("cat /proc/self/mountinfo");
    let flags = ["nosuid", "nodev", "noexec"];
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/flags", "type": "tmpfs", "source": "tmpfs",
               "options": flags}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/bflags", "type": "bind", "source": src,
               "options": ["bind", "nosuid", "nodev", "noexec"]}),
    );
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    for mp in ["/mnt/flags", "/mnt/bflags"] {
        let m = mount_at(&out.stdout, mp)?;
        for f in flags {
            ensure(m.has_opt(f), || format!("{mp} lacks {f}: {}", m.line))?;
        }
    }
    Ok(())
}

/// /proc, /sys, /dev, /dev/pts, /dev/shm and /dev/mqueue are the configured filesystems.
fn standard_filesystems(ctx: &Ctx) -> TestResult {
    let out = run_ok(ctx, &sh("cat /proc/self/mountinfo"))?;
    for (mp, fs) in [
        ("/proc", "proc"),
        ("/sys", "sysfs"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
    ] {
        let m = mount_at(&out, mp)?;
        ensure_eq(m.fstype.as_str(), fs, &format!("fstype at {mp}"))?;
    }
    let sys = mount_at(&out, "/sys")?;
    ensure(sys.has_opt("ro"), || format!("/sys not ro: {}", sys.line))
}

/// A mount destination that is a symlink in the rootfs pointing far above `/` is resolved
/// inside the rootfs (runc CVE-2021-30465): the host path stays untouched.
fn symlink_destination_stays_inside(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let src = host_dir(&c)?;
    let name = format!("spec-tests-escape-{}", ctx.pid);
    let host_target = std::path::PathBuf::from("/tmp").join(&name);
    ensure(!host_target.exists(), || {
        format!("{} exists before the test", host_target.display())
    })?;
    symlink(format!("/../../../../tmp/{name}"), c.rootfs().join("evil"))
        .map_err(|e| format!("symlink: {e}"))?;
    let mut cfg = sh(&format!("cat /tmp/{name}/data; cat /evil/data"));
    add_mount(
        &mut cfg,
        json!({"destination": "/evil", "type": "bind", "source": src, "options": ["rbind"]}),
    );
    c.write_config(&cfg)?;
    let out = c.run();
    let escaped = host_target.exists();
    if escaped {
        // Created by the runtime under test on behalf of this test: remove it (never a mount
        // in this namespace, the container had its own).
        let _ = fs::remove_dir_all(&host_target);
    }
    let out = out?;
    ensure(!escaped, || {
        format!("the runtime created {} on the host", host_target.display())
    })?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    ensure_eq(
        out.stdout.lines().collect::<Vec<_>>(),
        vec!["hello-bind", "hello-bind"],
        "the bind mount seen through its resolved path and the symlink",
    )
}

/// Runs a container with `rootfsPropagation: prop` on a rootfs that is a shared mount on the
/// host, then mounts a tmpfs under the rootfs on the host. Returns the optional fields of the
/// container's `/` and whether the host's mount appeared in the container.
fn propagation_case(ctx: &Ctx, prop: &str) -> Result<(String, bool), String> {
    let c = Ctn::new(ctx, "")?;
    c.make_rootfs_shared_mount()?;
    let mut cfg = sh("sleep 1000");
    cfg["linux"]["rootfsPropagation"] = json!(prop);
    c.write_config(&cfg)?;
    c.start_new()?;
    let pid = c.pid()?;
    let read = || fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
    let root = mount_at(&read(), "/")?;
    c.host_mount_tmpfs("mnt/st-probe")?;
    let seen = wait_until(Duration::from_millis(500), || {
        parse_mountinfo(&read())
            .iter()
            .any(|m| m.mount_point == "/mnt/st-probe")
    });
    Ok((root.optional.join(" "), seen))
}

/// With the rootfs on a shared mount, `private` leaves `/` with no peer group or master, and
/// a mount made on the host later does not reach the container.
fn rootfs_propagation_private(ctx: &Ctx) -> TestResult {
    let (opt, seen) = propagation_case(ctx, "private")?;
    ensure(!opt.contains("shared:") && !opt.contains("master:"), || {
        format!("/ has propagation fields {opt:?}, want none")
    })?;
    ensure(!seen, || {
        "a host mount propagated into a private rootfs".into()
    })
}

/// With the rootfs on a shared mount, `slave` makes `/` a slave (`master:N`, not shared): a
/// mount made on the host later appears in the container.
fn rootfs_propagation_slave(ctx: &Ctx) -> TestResult {
    let (opt, seen) = propagation_case(ctx, "slave")?;
    ensure(opt.contains("master:") && !opt.contains("shared:"), || {
        format!("/ has propagation fields {opt:?}, want master:N only")
    })?;
    ensure(seen, || {
        "a host mount did not propagate into a slave rootfs".into()
    })
}

/// With the rootfs on a shared mount, `unbindable` makes `/` unbindable (no peer group, no
/// master): the container gets created at all (the rootfs is bound before `/` becomes
/// unbindable), and a mount made on the host later does not reach it.
fn rootfs_propagation_unbindable(ctx: &Ctx) -> TestResult {
    let (opt, seen) = propagation_case(ctx, "unbindable")?;
    ensure(
        opt.contains("unbindable") && !opt.contains("shared:") && !opt.contains("master:"),
        || format!("/ has propagation fields {opt:?}, want unbindable only"),
    )?;
    ensure(!seen, || {
        "a host mount propagated into an unbindable rootfs".into()
    })
}

/// `run --no-pivot` works and the container still sees only its rootfs.
fn no_pivot(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let work = ctx.work.to_string_lossy();
    c.write_config(&sh(&format!(
        "test -x /bin/busybox && test ! -e {work} && echo INSIDE"
    )))?;
    let out = c.run_with(&["--no-pivot"], None)?;
    ensure_eq(out.code, 0, &format!("run --no-pivot ({})", out.describe()))?;
    ensure_eq(out.stdout.trim(), "INSIDE", "root seen with --no-pivot")
}

/// Masked files read as empty and masked directories are empty. The list is Docker's kind:
/// some entries do not exist on every kernel (here /proc/kcore, /proc/sched_debug), and a
/// runtime must pass over those as runc does. Only the existing ones are checked;
/// /proc/timer_list is the witness: normally readable by root and never empty.
fn masked_paths(ctx: &Ctx) -> TestResult {
    let files = [
        "/proc/kcore",
        "/proc/timer_list",
        "/proc/sched_debug",
        "/proc/keys",
    ];
    let existing: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| std::path::Path::new(f).exists())
        .collect();
    let mut script = String::new();
    for f in &existing {
        script.push_str(&format!(
            "if cat {f} > /tmp/m; then echo {f}=$(wc -c < /tmp/m); else echo {f}=unreadable; fi; "
        ));
    }
    script.push_str("echo /sys/firmware=$(ls -A /sys/firmware | wc -l)");
    let mut cfg = sh(&script);
    let mut masked = files.to_vec();
    masked.push("/sys/firmware");
    cfg["linux"]["maskedPaths"] = json!(masked);
    let out = run_ok(ctx, &cfg)?;
    let got: Vec<&str> = out.lines().map(str::trim).collect();
    let want: Vec<String> = existing
        .iter()
        .chain(&["/sys/firmware"])
        .map(|p| format!("{p}=0"))
        .collect();
    ensure_eq(
        got,
        want.iter().map(String::as_str).collect(),
        "masked paths",
    )
}

fn readonly_paths(ctx: &Ctx) -> TestResult {
    let mut cfg = sh(
        "echo changed > /proc/sys/kernel/hostname 2>/dev/null && echo WRITABLE || echo RO; \
         cat /proc/self/mountinfo",
    );
    cfg["linux"]["readonlyPaths"] = json!(["/proc/sys"]);
    let out = run_ok(ctx, &cfg)?;
    ensure_eq(out.lines().next(), Some("RO"), "write to /proc/sys")?;
    let m = mount_at(&out, "/proc/sys")?;
    ensure(m.has_opt("ro"), || format!("/proc/sys not ro: {}", m.line))
}

/// linux.sysctl is applied in the container's namespaces (and not to the host).
fn sysctl(ctx: &Ctx) -> TestResult {
    let host_before = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
    let mut cfg = sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax");
    cfg["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.msgmax": "4096"});
    let out = run_ok(ctx, &cfg)?;
    let got: Vec<&str> = out.lines().map(str::trim).collect();
    ensure_eq(got, vec!["1", "4096"], "sysctl values inside")?;
    let host_after = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
    ensure_eq(host_after, host_before, "the host's ip_forward")
}

/// `rootfsPropagation` `shared` and `rshared` make the container's `/` a shared mount in a new
/// peer group (config-linux.md: "the rootfs mount belongs to a new peer group ... this does
/// not mean that it's shared with the host"): its mountinfo line has a `shared:N` field, and
/// N is no peer group of the host's mounts.
fn rootfs_propagation_shared(ctx: &Ctx) -> TestResult {
    let host = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let host_groups: Vec<String> = parse_mountinfo(&host)
        .into_iter()
        .flat_map(|m| m.optional)
        .filter(|o| o.starts_with("shared:"))
        .collect();
    for prop in ["shared", "rshared"] {
        let mut cfg = sh("cat /proc/self/mountinfo");
        cfg["linux"]["rootfsPropagation"] = json!(prop);
        let out = run_ok(ctx, &cfg)?;
        let root = mount_at(&out, "/")?;
        let group = root.optional.iter().find(|o| o.starts_with("shared:"));
        let Some(group) = group else {
            return Err(format!(
                "rootfsPropagation {prop}: / is not shared: {}",
                root.line
            ));
        };
        ensure(!host_groups.contains(group), || {
            format!(
                "rootfsPropagation {prop}: / is in the host's peer group {group}: {}",
                root.line
            )
        })?;
    }
    Ok(())
}

/// With `rootfsPropagation: shared` the mount the rootfs is on is made private before
/// `pivot_root` (which refuses a shared parent), found in `/proc/self/mountinfo`, which writes a
/// space in a path as `\040`. The rootfs here is `root fs`, a shared mount of its own on the
/// host: a runtime that compares the escaped text with the real path (cella before this test)
/// makes the mount above it private instead and `pivot_root` fails with EINVAL; runc runs it.
fn rootfs_propagation_shared_path_with_space(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let spaced = c.bundle.join("root fs");
    fs::rename(c.rootfs(), &spaced).map_err(|e| format!("rename the rootfs: {e}"))?;
    c.host_shared_bind(&spaced)?;
    let mut cfg = sh("echo ran");
    cfg["root"]["path"] = json!("root fs");
    cfg["linux"]["rootfsPropagation"] = json!("shared");
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure(out.code == 0 && out.stdout.trim() == "ran", || {
        format!("the container did not run: {}", out.describe())
    })
}

/// A `cgroup` mount at /sys/fs/cgroup (ro, nosuid, nodev, noexec) in a new cgroup namespace
/// shows the container's own cgroup: its `cgroup.procs` (in the `pids` hierarchy on a v1 or
/// hybrid host, at the top on a v2 host) lists exactly the container's processes, and it is
/// read-only.
fn cgroup_mount(ctx: &Ctx) -> TestResult {
    let (dir, mp) = if host_cgroup_v2() {
        ("/sys/fs/cgroup", "/sys/fs/cgroup")
    } else {
        ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/pids")
    };
    let path = ctx.new_cgroup_path("");
    let c = Ctn::new(ctx, "")?;
    // `read` is a shell builtin: while the list is read, the only processes are the shell
    // (pid 1) and the background sleep.
    let mut cfg = sh(&format!(
        "sleep 1000 & s=$!; while read p; do echo pid=$p; done < {dir}/cgroup.procs; \
         echo pid=sleep=$s; \
         (echo $$ > {dir}/cgroup.procs) 2>/dev/null && echo WRITABLE || echo RO; \
         kill $s; cat /proc/self/mountinfo"
    ));
    put_namespace(&mut cfg, json!({"type": "cgroup"}));
    cfg["linux"]["cgroupsPath"] = json!(path);
    add_mount(
        &mut cfg,
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["ro", "nosuid", "nodev", "noexec"]}),
    );
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    let mut pids: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("pid="))
        .collect();
    let sleep = pids
        .iter()
        .find_map(|p| p.strip_prefix("sleep="))
        .ok_or_else(|| format!("unexpected output: {}", out.stdout))?;
    let mut want = vec!["1", sleep];
    pids.retain(|p| !p.starts_with("sleep="));
    pids.sort();
    want.sort();
    ensure_eq(pids, want, &format!("{dir}/cgroup.procs inside"))?;
    ensure(out.stdout.lines().any(|l| l == "RO"), || {
        format!("{dir}/cgroup.procs is writable")
    })?;
    let m = mount_at(&out.stdout, mp)?;
    ensure(m.fstype == "cgroup" || m.fstype == "cgroup2", || {
        format!("{mp} is not a cgroup mount: {}", m.line)
    })?;
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        ensure(m.has_opt(o), || format!("{mp} lacks {o}: {}", m.line))?;
    }
    Ok(())
}

/// A bind mount of a single host file onto paths missing from the rootfs (one in an existing
/// directory, one under missing directories): the runtime creates an empty file (and the
/// directories) as the mount point, and the container reads the host file's content.
fn bind_file(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let src = c.bundle.join("host-file");
    write_file(&src, "hello-file\n")?;
    let src = src.to_string_lossy().into_owned();
    let dests = ["/etc/st-bound.conf", "/st-missing/sub/bound.conf"];
    for d in dests {
        ensure(!c.rootfs().join(&d[1..]).exists(), || {
            format!("{d} exists in the rootfs")
        })?;
    }
    let mut cfg = sh(&format!(
        "for f in {0} {1}; do stat -c %F $f; cat $f; done",
        dests[0], dests[1]
    ));
    for d in dests {
        add_mount(
            &mut cfg,
            json!({"destination": d, "type": "bind", "source": src, "options": ["bind"]}),
        );
    }
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    ensure_eq(
        out.stdout.lines().collect::<Vec<_>>(),
        vec!["regular file", "hello-file", "regular file", "hello-file"],
        "type and content of the bound files",
    )?;
    ensure_eq(
        fs::read_to_string(&src).unwrap_or_default().as_str(),
        "hello-file\n",
        "the host file afterwards",
    )
}

/// A tmpfs on /a/b/c where /a does not exist in the rootfs: the runtime makes the directories.
fn tmpfs_at_nested_missing_dir(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    ensure(!c.rootfs().join("a").exists(), || {
        "/a exists in the rootfs".into()
    })?;
    let mut cfg = sh("touch /a/b/c/x && echo WRITABLE; cat /proc/self/mountinfo");
    add_mount(
        &mut cfg,
        json!({"destination": "/a/b/c", "type": "tmpfs", "source": "tmpfs",
               "options": ["size=1m"]}),
    );
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    ensure_eq(
        out.stdout.lines().next(),
        Some("WRITABLE"),
        "touch /a/b/c/x",
    )?;
    let m = mount_at(&out.stdout, "/a/b/c")?;
    ensure_eq(m.fstype.as_str(), "tmpfs", "fstype at /a/b/c")
}

/// `tmpcopyup` (runc's and crun's extension, used by podman's `--read-only` for `/tmp`, `/run`,
/// `/var/tmp`): the tmpfs starts with a copy of the image's directory (files, directories,
/// symlinks, fifos, with modes and owners), writes go to the tmpfs only, and `ro` applies after
/// the copy.
fn tmpfs_copyup(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let seed = c.rootfs().join("srv/seed");
    mkdir_mode(&seed.join("sub"), 0o750)?;
    write_file(&seed.join("file"), "seeded\n")?;
    write_file(&seed.join("sub/inner"), "inner\n")?;
    symlink("/etc/passwd", seed.join("link")).map_err(|e| e.to_string())?;
    run_host(&["mkfifo", "-m", "0620", &seed.join("fifo").to_string_lossy()])?;
    run_host(&["chown", "1000:1000", &seed.join("file").to_string_lossy()])?;
    run_host(&["chmod", "0640", &seed.join("file").to_string_lossy()])?;
    run_host(&[
        "cp",
        "-a",
        &seed.to_string_lossy(),
        &c.rootfs().join("srv/ro").to_string_lossy(),
    ])?;
    let mut cfg = sh(
        "cd /srv/seed && stat -c '%n %a %u:%g %F' file sub sub/inner link fifo; readlink link; \
         cat file sub/inner; echo new > added && echo WROTE; \
         touch /srv/ro/x 2>/dev/null && echo RO-WRITABLE || echo RO; cat /srv/ro/sub/inner; \
         cat /proc/self/mountinfo",
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/srv/seed", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "tmpcopyup", "mode=755"]}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/srv/ro", "type": "tmpfs", "source": "tmpfs",
               "options": ["ro", "tmpcopyup"]}),
    );
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    let lines: Vec<&str> = out.stdout.lines().take(11).collect();
    ensure_eq(
        lines,
        vec![
            "file 640 1000:1000 regular file",
            "sub 750 0:0 directory",
            "sub/inner 644 0:0 regular file",
            "link 777 0:0 symbolic link",
            "fifo 620 0:0 fifo",
            "/etc/passwd",
            "seeded",
            "inner",
            "WROTE",
            "RO",
            "inner",
        ],
        "the copied-up tmpfs seen from inside",
    )?;
    for mp in ["/srv/seed", "/srv/ro"] {
        let m = mount_at(&out.stdout, mp)?;
        ensure_eq(m.fstype.as_str(), "tmpfs", &format!("fstype of {mp}"))?;
    }
    ensure(mount_at(&out.stdout, "/srv/ro")?.has_opt("ro"), || {
        "/srv/ro is not read-only after the copy".into()
    })?;
    ensure(!seed.join("added").exists(), || {
        "a write into the tmpfs reached the image's directory".into()
    })
}

/// Runs the checker's `mounts` group on the baseline config plus `mounts` (in container `c`).
fn check_mounts(c: &Ctn, mounts: Vec<serde_json::Value>) -> TestResult {
    let mut cfg = base_config(&["true"]);
    for m in mounts {
        add_mount(&mut cfg, m);
    }
    run_in(c, &cfg, &["mounts"])?.verdict()
}

/// More option strings of config.md's table, one tmpfs each, checked from inside by the
/// checker in /proc/self/mountinfo: `atime` (no `noatime`), `noatime`, `relatime`,
/// `strictatime` (neither), `nodiratime`, `nosymfollow` (per-mount flags), and `sync`,
/// `dirsync`, `lazytime` (superblock flags, in the filesystem options).
fn option_strings(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let opts = [
        "atime",
        "noatime",
        "relatime",
        "strictatime",
        "nodiratime",
        "nosymfollow",
        "sync",
        "dirsync",
        "lazytime",
    ];
    let mounts = opts
        .iter()
        .map(|o| {
            json!({"destination": format!("/mnt/st-{o}"), "type": "tmpfs", "source": "tmpfs",
                   "options": ["nosuid", "nodev", o]})
        })
        .collect();
    check_mounts(&c, mounts)
}

/// The recursive forms on an rbind of a host tree with a submount (a tmpfs at `sub`): `rro`,
/// `rnosuid`, `rnodev`, `rnoexec` on one bind and `rnoatime`, `rnodiratime`, `rnosymfollow`
/// on another; the checker requires each flag on the bind and on its submount.
fn recursive_option_strings(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let tree = c.bundle.join("st-tree");
    c.host_mount_tmpfs_at(&tree.join("sub"))?;
    let bind = |dest: &str, opts: &[&str]| {
        let mut o = vec!["rbind"];
        o.extend_from_slice(opts);
        json!({"destination": dest, "type": "bind", "source": tree, "options": o})
    };
    check_mounts(
        &c,
        vec![
            bind("/mnt/st-rflags", &["rro", "rnosuid", "rnodev", "rnoexec"]),
            bind(
                "/mnt/st-ratime",
                &["rnoatime", "rnodiratime", "rnosymfollow"],
            ),
        ],
    )
}

/// Per-mount propagation strings on bind mounts of a host directory that is a shared mount
/// with a submount: `private`, `shared`, `slave`, `unbindable` on a bind, and `rprivate`,
/// `rshared`, `rslave`, `runbindable` on an rbind (the checker requires the r-forms on the
/// submount too). `slave` needs a source in a peer group, hence the shared host mount.
fn propagation_option_strings(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let src = c.bundle.join("st-psrc");
    c.host_shared_bind(&src)?;
    c.host_mount_tmpfs_at(&src.join("sub"))?;
    let mut mounts = Vec::new();
    for p in ["private", "shared", "slave", "unbindable"] {
        mounts.push(
            json!({"destination": format!("/mnt/st-{p}"), "type": "bind",
                           "source": src, "options": ["bind", p]}),
        );
        mounts.push(
            json!({"destination": format!("/mnt/st-r{p}"), "type": "bind",
                           "source": src, "options": ["rbind", format!("r{p}")]}),
        );
    }
    check_mounts(&c, mounts)
}
