//! Requirements of runtime-spec 1.2 (`runtime.md` operations, lifecycle, errors, state;
//! `config.md` and `config-linux.md` Linux fields) that the area modules did not cover. Each
//! test is named in the area of its requirement; see `spec_refs.rs` for the sentence.
//!
//! A field a runtime may not support is checked as "applied or refused": create (or run) fails
//! with nothing left (the runner's sweep checks that), or the container shows the value. A
//! runtime that accepts the field and drops it fails. Features this host lacks (AppArmor,
//! SELinux, systemd, Intel RDT) are skipped with the reason.

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::bundle::{add_mount, add_userns, base_config, put_namespace, sh};
use crate::harness::{
    ensure, ensure_eq, ns_link, parse_mountinfo, proc_alive, run_config, run_host, skip,
    wait_until, Ctn, Ctx, Output, TestResult,
};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = Test::new;
    vec![
        t(
            "lifecycle",
            "config_changes_after_create_ignored",
            config_changes_after_create_ignored,
        ),
        t("lifecycle", "start_stopped_fails", start_stopped_fails),
        t("lifecycle", "kill_created", kill_created),
        t(
            "lifecycle",
            "delete_keeps_foreign_resources",
            delete_keeps_foreign_resources,
        ),
        t("lifecycle", "missing_id_errors", missing_id_errors),
        t("lifecycle", "no_process_fails", no_process_fails),
        t("lifecycle", "state_annotations", state_annotations),
        t(
            "lifecycle",
            "id_reusable_after_delete",
            id_reusable_after_delete,
        ),
        t("process", "oom_score_adj_unset", oom_score_adj_unset),
        t("process", "scheduler", scheduler),
        t("process", "io_priority", io_priority),
        t("process", "exec_cpu_affinity", exec_cpu_affinity),
        t("process", "personality", personality),
        t("mounts", "idmapped_mount", idmapped_mount),
        t("cgroups", "memory_policy", memory_policy),
        t("process", "apparmor_profile", apparmor_profile),
        t("process", "selinux_label", selinux_label),
        t("mounts", "mount_label", mount_label),
        t("cgroups", "systemd_driver", systemd_driver),
        t("cgroups", "intel_rdt", intel_rdt),
        t("namespaces", "net_devices", net_devices),
        t("hooks", "start_container_failure", start_container_failure),
        t(
            "hooks",
            "create_container_failure",
            create_container_failure,
        ),
        t(
            "lifecycle",
            "unknown_properties_ignored",
            unknown_properties_ignored,
        ),
        t("features", "oci_versions_accepted", oci_versions_accepted),
        t(
            "terminal",
            "console_size_ignored_without_terminal",
            console_size_ignored_without_terminal,
        ),
        t("mounts", "relative_destination", relative_destination),
        t("mounts", "root_path_absolute", root_path_absolute),
        t(
            "mounts",
            "bind_source_relative_to_bundle",
            bind_source_relative_to_bundle,
        ),
        t(
            "seccomp",
            "errno_ret_without_errno_action_refused",
            errno_ret_without_errno_action_refused,
        ),
        t(
            "namespaces",
            "path_of_wrong_type_refused",
            path_of_wrong_type_refused,
        ),
        t("mounts", "listed_order", listed_order),
        t("process", "unknown_rlimit_refused", unknown_rlimit_refused),
        t(
            "namespaces",
            "userns_ownership_unchanged",
            userns_ownership_unchanged,
        ),
    ]
}

/// Rewriting config.json between create and start changes nothing: the original args run.
fn config_changes_after_create_ignored(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("echo original > /out"))?;
    c.create_ok()?;
    let mut changed = sh("echo changed > /out");
    changed["hostname"] = json!("st-changed");
    put_namespace(&mut changed, json!({"type": "uts"}));
    c.write_config(&changed)?;
    c.start_ok()?;
    c.wait_status("stopped")?;
    let out = fs::read_to_string(c.rootfs().join("out")).unwrap_or_default();
    ensure_eq(out.trim(), "original", "what the started process wrote")
}

/// start of a stopped container fails and leaves it stopped.
fn start_stopped_fails(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["true"]))?;
    c.start_new()?;
    c.wait_status("stopped")?;
    let out = ctx.rt(&["start", &c.id])?;
    ensure(out.code != 0, || {
        "start of a stopped container succeeded".to_string()
    })?;
    ensure_eq(c.status()?, "stopped".to_string(), "status after the start")
}

/// kill of a created container delivers the signal: KILL stops it before the program ran.
fn kill_created(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&sh("touch /ran; sleep 1000"))?;
    c.create_ok()?;
    let pid = c.pid()?;
    ctx.rt_ok(&["kill", &c.id, "KILL"])?;
    c.wait_status("stopped")?;
    ensure(
        wait_until(Duration::from_secs(5), || !proc_alive(pid)),
        || format!("init {pid} still alive"),
    )?;
    ensure(!c.rootfs().join("ran").exists(), || {
        "the user process ran".to_string()
    })
}

/// Deleting B, which joined A's network namespace and bind-mounted a host directory, leaves
/// A's namespace (A keeps running in it) and the directory with its file.
fn delete_keeps_foreign_resources(ctx: &Ctx) -> TestResult {
    let a = Ctn::new(ctx, "a")?;
    a.write_config(&base_config(&["sleep", "1000"]))?;
    a.start_new()?;
    let pid = a.pid()?;
    let before = ns_link(&pid.to_string(), "net")?;
    let b = Ctn::new(ctx, "b")?;
    let shared = b.bundle.join("shared");
    fs::create_dir_all(&shared).map_err(|e| format!("mkdir: {e}"))?;
    fs::write(shared.join("keep"), "x").map_err(|e| format!("write: {e}"))?;
    let mut cfg = sh("echo hi > /mnt/shared/new");
    put_namespace(
        &mut cfg,
        json!({"type": "network", "path": format!("/proc/{pid}/ns/net")}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/shared", "type": "bind", "source": shared,
               "options": ["rbind", "rw"]}),
    );
    b.write_config(&cfg)?;
    b.start_new()?;
    b.wait_status("stopped")?;
    ctx.rt_ok(&["delete", &b.id])?;
    ensure_eq(a.status()?, "running".to_string(), "A after B's delete")?;
    ensure_eq(ns_link(&pid.to_string(), "net")?, before, "A's netns")?;
    ensure(
        shared.join("keep").exists() && shared.join("new").exists(),
        || "the bind-mounted host directory lost files".to_string(),
    )
}

/// state, start, kill and delete without an id fail; create without one fails and makes nothing.
fn missing_id_errors(ctx: &Ctx) -> TestResult {
    for verb in ["state", "start", "kill", "delete"] {
        let out = ctx.rt(&[verb])?;
        ensure(out.code != 0, || {
            format!("`{verb}` without an id succeeded")
        })?;
    }
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["true"]))?;
    let out = ctx.rt(&["create", "--bundle", &c.bundle_str()])?;
    ensure(out.code != 0, || {
        "`create` without an id succeeded".to_string()
    })?;
    let entries = fs::read_dir(&ctx.root).map(|r| r.count()).unwrap_or(0);
    let list = ctx.rt_ok(&["list", "-q"])?;
    ensure(list.stdout.trim().is_empty() || entries == 0, || {
        format!("create without an id made a container: {}", list.stdout)
    })
}

/// A config without `process`: create fails, or start does; the container never runs.
fn no_process_fails(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = base_config(&["true"]);
    cfg.as_object_mut().expect("object").remove("process");
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    if out.code != 0 {
        return Ok(());
    }
    let out = ctx.rt(&["start", &c.id])?;
    ensure(out.code != 0, || {
        "start of a container without process succeeded".to_string()
    })
}

/// The state carries the config's annotations.
fn state_annotations(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = base_config(&["sleep", "1000"]);
    let ann = json!({"org.spec-tests.key": "value", "org.spec-tests.empty": ""});
    cfg["annotations"] = ann.clone();
    c.write_config(&cfg)?;
    c.create_ok()?;
    ensure_eq(c.state()?["annotations"].clone(), ann, "state annotations")
}

/// After delete the id can be used again (MAY: a runtime that refuses is skipped).
fn id_reusable_after_delete(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["true"]))?;
    let first = c.run()?;
    ensure_eq(first.code, 0, &format!("first run ({})", first.describe()))?;
    let second = c.run()?;
    if second.code != 0 {
        return Err(skip(format!(
            "the runtime does not reuse a deleted id (allowed: MAY): {}",
            second.describe()
        )));
    }
    Ok(())
}

/// Without oomScoreAdj the container keeps the caller's oom_score_adj (the test raises its own
/// to 123 first, which needs no privilege).
fn oom_score_adj_unset(ctx: &Ctx) -> TestResult {
    let own = fs::read_to_string("/proc/self/oom_score_adj").unwrap_or_default();
    let own: i32 = own.trim().parse().unwrap_or(0);
    let want = own.max(123);
    fs::write("/proc/self/oom_score_adj", want.to_string())
        .map_err(|e| format!("raise the test's own oom_score_adj: {e}"))?;
    let out = crate::harness::run_ok(ctx, &sh("cat /proc/self/oom_score_adj"))?;
    ensure_eq(out.trim(), want.to_string().as_str(), "oom_score_adj")
}

/// A run that either fails as a refusal (exit 1 of the runtime, before the program ran) or
/// gives the program's output. `Ok(None)` is a refusal.
fn applied_or_refused(ctx: &Ctx, cfg: &Value) -> Result<Option<String>, String> {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = cfg.clone();
    // The program marks that it ran, so a refusal is told from a failing program.
    let script = cfg["process"]["args"][2].as_str().unwrap_or("").to_string();
    cfg["process"]["args"] = json!(["sh", "-c", format!("touch /ran; {script}")]);
    c.write_config(&cfg)?;
    let out: Output = c.run()?;
    if out.code == 0 {
        return Ok(Some(out.stdout));
    }
    ensure(!c.rootfs().join("ran").exists(), || {
        format!("the program ran but failed: {}", out.describe())
    })?;
    println!("# refused: {}", out.stderr.trim().replace('\n', " "));
    Ok(None)
}

/// process.scheduler SCHED_BATCH nice 5: applied (policy 3 and nice 5 in /proc/self/stat) or
/// refused.
fn scheduler(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("cat /proc/self/stat");
    cfg["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5});
    let Some(out) = applied_or_refused(ctx, &cfg)? else {
        return Ok(());
    };
    let rest = out.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the comm: field 3 is f[0], so field N is f[N-3].
    ensure_eq(f.get(16).copied(), Some("5"), "nice (stat field 19)")?;
    ensure_eq(
        f.get(38).copied(),
        Some("3"),
        "policy (stat field 41, SCHED_BATCH)",
    )
}

/// process.ioPriority best-effort 4: applied (`ionice` prints it) or refused.
fn io_priority(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("ionice");
    cfg["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 4});
    let Some(out) = applied_or_refused(ctx, &cfg)? else {
        return Ok(());
    };
    ensure_eq(out.trim(), "best-effort: prio 4", "ionice")
}

/// process.execCPUAffinity final "0" (it applies to exec'd processes, not the init): an exec'd
/// process may run on CPU 0 only — or the runtime refuses the config at create.
fn exec_cpu_affinity(ctx: &Ctx) -> TestResult {
    let cpus = fs::read_to_string("/sys/fs/cgroup/cpuset/cpuset.cpus")
        .or_else(|_| fs::read_to_string("/sys/fs/cgroup/cpuset.cpus.effective"))
        .unwrap_or_default();
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return Err(skip(format!(
            "one CPU only: an affinity of CPU 0 shows nothing ({})",
            cpus.trim()
        )));
    }
    let c = Ctn::new(ctx, "")?;
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["process"]["execCPUAffinity"] = json!({"final": "0"});
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    if out.code != 0 {
        println!("# refused: {}", out.stderr.trim().replace('\n', " "));
        return Ok(());
    }
    c.start_ok()?;
    let out = ctx.rt_ok(&[
        "exec",
        &c.id,
        "sh",
        "-c",
        "grep Cpus_allowed_list /proc/self/status",
    ])?;
    let got = out
        .stdout
        .split(':')
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_string();
    ensure_eq(got.as_str(), "0", "Cpus_allowed_list of an exec'd process")
}

/// linux.personality LINUX32: applied (`uname -m` prints i686) or refused.
fn personality(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("uname -m");
    cfg["linux"]["personality"] = json!({"domain": "LINUX32"});
    let Some(out) = applied_or_refused(ctx, &cfg)? else {
        return Ok(());
    };
    ensure_eq(out.trim(), "i686", "uname -m under LINUX32")
}

/// mounts[].uidMappings/gidMappings (an idmapped bind mount): applied (a host file owned by
/// root shows as owned by 100000 through a mount mapping containerID 0 to hostID 100000, in a
/// container without a user namespace: runc's reading, its idmap.bats "simple idmap mount [no
/// userns]") or refused.
fn idmapped_mount(ctx: &Ctx) -> TestResult {
    let src = ctx.work.join("idmap-src");
    fs::create_dir_all(&src).map_err(|e| format!("mkdir {}: {e}", src.display()))?;
    let file = src.join("f");
    fs::write(&file, "x").map_err(|e| e.to_string())?;
    run_host(&["chown", "0:0", &file.to_string_lossy()])?;
    let mut cfg = sh("stat -c '%u %g' /mnt/idmap/f");
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 1}]);
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/idmap", "type": "bind", "source": src,
               "options": ["rbind", "idmap"], "uidMappings": map, "gidMappings": map}),
    );
    let r = applied_or_refused(ctx, &cfg);
    let _ = fs::remove_dir_all(&src);
    let Some(out) = r? else {
        return Ok(());
    };
    ensure_eq(
        out.trim(),
        "100000 100000",
        "owner of a host root's file through the mount mapping 0 to 100000",
    )
}

/// linux.memoryPolicy MPOL_BIND to node 0: applied (the process's mappings show `bind:0` in
/// /proc/self/numa_maps) or refused.
fn memory_policy(ctx: &Ctx) -> TestResult {
    if !Path::new("/proc/self/numa_maps").exists() {
        return Err(skip(
            "the kernel has no NUMA support (/proc/self/numa_maps)",
        ));
    }
    let mut cfg = sh("head -n 1 /proc/self/numa_maps");
    cfg["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"});
    let Some(out) = applied_or_refused(ctx, &cfg)? else {
        return Ok(());
    };
    ensure(out.contains("bind:0"), || {
        format!("numa_maps under MPOL_BIND: {out:?}")
    })
}

fn apparmor_enabled() -> bool {
    fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|s| s.trim() == "Y")
}

/// process.apparmorProfile `unconfined`: the process runs under it, or the config is refused
/// (host with AppArmor enabled only; without it, `apparmor.not_enabled_refused`).
fn apparmor_profile(ctx: &Ctx) -> TestResult {
    if !apparmor_enabled() {
        return Err(skip(
            "the host has no AppArmor (/sys/module/apparmor/parameters/enabled is not Y)",
        ));
    }
    // The kernel may have AppArmor enabled without its filesystem or profiles (the cgroup v2
    // VM): a runtime that cannot apply the profile must refuse the config.
    let mut cfg = sh("cat /proc/self/attr/current");
    cfg["process"]["apparmorProfile"] = json!("unconfined");
    let Some(out) = applied_or_refused(ctx, &cfg)? else {
        return Ok(());
    };
    ensure_eq(out.trim(), "unconfined", "/proc/self/attr/current")
}

/// process.selinuxLabel: the process runs with the label (host with SELinux only).
fn selinux_label(ctx: &Ctx) -> TestResult {
    if !crate::tests::selinux::selinux_enabled() {
        return Err(skip("the host has no SELinux (no /sys/fs/selinux/enforce)"));
    }
    let label = fs::read_to_string("/proc/self/attr/current").unwrap_or_default();
    let label = label.trim_end_matches('\0').trim().to_string();
    let mut cfg = sh("cat /proc/self/attr/current");
    cfg["process"]["selinuxLabel"] = json!(label);
    let out = crate::harness::run_ok(ctx, &cfg)?;
    ensure_eq(
        out.trim_end_matches('\0').trim(),
        label.as_str(),
        "/proc/self/attr/current",
    )
}

/// linux.mountLabel: the tmpfs and devpts mounts of /dev, /dev/shm and /dev/pts carry it as
/// their `context=` option (host with SELinux only). The label is the host's `/`'s, a file
/// context every policy has (Debian 12's has no container_file_t).
fn mount_label(ctx: &Ctx) -> TestResult {
    if !crate::tests::selinux::selinux_enabled() {
        return Err(skip("the host has no SELinux (no /sys/fs/selinux/enforce)"));
    }
    let label = crate::harness::run_host(&["stat", "-c", "%C", "/"])?;
    let label = label.trim();
    let mut cfg = sh("cat /proc/self/mountinfo");
    cfg["linux"]["mountLabel"] = json!(label);
    let out = crate::harness::run_ok(ctx, &cfg)?;
    for mp in ["/dev", "/dev/shm", "/dev/pts"] {
        let line = crate::harness::mount_at(&out, mp)?.line;
        // The kernel quotes a context with a comma (MCS categories) in mountinfo.
        let has = |o: String| line.split([' ', ',']).any(|x| x == o);
        ensure(
            has(format!("context={label}")) || line.contains(&format!("context=\"{label}\"")),
            || format!("{mp}: no context={label} in its mountinfo line: {line}"),
        )?;
    }
    Ok(())
}

/// `--systemd-cgroup` with cgroupsPath `slice:prefix:name`: the init is in `prefix-name.scope`
/// (host with systemd only).
fn systemd_driver(ctx: &Ctx) -> TestResult {
    if !Path::new("/run/systemd/system").is_dir() {
        return Err(skip(
            "the host does not run systemd (no /run/systemd/system): no systemd cgroup driver",
        ));
    }
    let c = Ctn::new(ctx, "")?;
    let mut cfg = base_config(&["sleep", "1000"]);
    let name = format!("{}", ctx.pid);
    cfg["linux"]["cgroupsPath"] = json!(format!("system.slice:spec-tests:{name}"));
    c.write_config(&cfg)?;
    let mut args = vec!["--systemd-cgroup".to_string()];
    args.extend(
        ["create", "--bundle", &c.bundle_str(), &c.id]
            .iter()
            .map(|s| s.to_string()),
    );
    let mut cmd = std::process::Command::new(&ctx.runtime);
    cmd.arg("--root").arg(&ctx.root).args(&args);
    let out = ctx.exec(cmd, None)?;
    ensure_eq(out.code, 0, &format!("create ({})", out.describe()))?;
    let pid = c.pid()?;
    let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    ensure(cg.contains(&format!("spec-tests-{name}.scope")), || {
        format!("init not in spec-tests-{name}.scope: {cg}")
    })
}

/// linux.intelRdt closID: the init is in the resctrl group (host with resctrl mounted only).
fn intel_rdt(ctx: &Ctx) -> TestResult {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let Some(m) = parse_mountinfo(&text)
        .into_iter()
        .find(|m| m.fstype == "resctrl")
    else {
        return Err(skip(
            "the host has no Intel RDT (no resctrl filesystem mounted)",
        ));
    };
    let clos = format!("st-rdt-{}", ctx.pid);
    let c = Ctn::new(ctx, "")?;
    let mut cfg = base_config(&["sleep", "1000"]);
    cfg["linux"]["intelRdt"] = json!({"closID": clos});
    c.write_config(&cfg)?;
    let out = c.create(&[])?;
    let group = Path::new(&m.mount_point).join(&clos);
    let res = (|| {
        ensure_eq(out.code, 0, &format!("create ({})", out.describe()))?;
        let pid = c.pid()?;
        let tasks = fs::read_to_string(group.join("tasks")).unwrap_or_default();
        ensure(tasks.lines().any(|l| l.trim() == pid.to_string()), || {
            format!("init {pid} not in {}/tasks", group.display())
        })
    })();
    drop(c);
    let _ = fs::remove_dir(&group);
    res
}

/// A hook entry running `sh -c script` (/bin/sh exists on the host and in the rootfs).
fn sh_hook(script: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

/// A failing startContainer hook: start fails, the user program never runs, and the container
/// is stopped (or gone).
fn start_container_failure(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("touch /ran; sleep 1000");
    cfg["hooks"] = json!({"startContainer": [sh_hook("exit 3")]});
    c.write_config(&cfg)?;
    c.create_ok()?;
    let out = ctx.rt(&["start", &c.id])?;
    ensure(out.code != 0, || {
        format!(
            "start succeeded despite a failing startContainer hook: {}",
            out.describe()
        )
    })?;
    std::thread::sleep(Duration::from_millis(200));
    ensure(!c.rootfs().join("ran").exists(), || {
        "the user program ran".to_string()
    })?;
    let st = ctx.rt(&["state", &c.id])?;
    let status = serde_json::from_str::<Value>(&st.stdout)
        .ok()
        .and_then(|v| v["status"].as_str().map(String::from));
    ensure(st.code != 0 || status.as_deref() == Some("stopped"), || {
        format!("after the failed start the container is {status:?}, not stopped")
    })
}

/// A failing createContainer hook: create fails (and, checked by the runner, leaves nothing).
fn create_container_failure(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("touch /ran");
    cfg["hooks"] = json!({"createContainer": [sh_hook("exit 3")]});
    let out = run_config(ctx, &cfg)?;
    ensure(out.code != 0, || {
        format!(
            "run succeeded despite a failing createContainer hook: {}",
            out.describe()
        )
    })
}

/// linux.netDevices: one end of a veth pair made on the host for the test is moved into the
/// container's network namespace under its new name (`ip link show st0` inside), up, and is not
/// on the host after delete; or the config is refused. The pair is removed afterwards wherever the end ended up (deleting the end
/// left on the host removes both).
fn net_devices(ctx: &Ctx) -> TestResult {
    let n = ctx.pid % 10_000_000;
    let (dev, peer) = (format!("stnd{n}"), format!("stnp{n}"));
    if let Err(e) = run_host(&[
        "ip", "link", "add", &dev, "type", "veth", "peer", "name", &peer,
    ]) {
        return Err(skip(format!("cannot make a veth pair on this host: {e}")));
    }
    let res = (|| {
        let mut cfg = sh("ip link show st0");
        cfg["linux"]["netDevices"] = json!({ dev.as_str(): {"name": "st0"} });
        let Some(out) = applied_or_refused(ctx, &cfg)? else {
            return Ok(());
        };
        ensure(out.contains("st0"), || {
            format!("ip link show st0 inside: {out}")
        })?;
        // runtime-spec: set up after the move, and not moved back before deletion (a veth end
        // dies with the namespace).
        ensure(out.contains(",UP"), || {
            format!("st0 is not up inside: {out}")
        })?;
        ensure(run_host(&["ip", "link", "show", &dev]).is_err(), || {
            format!("after delete {dev} is back on the host")
        })
    })();
    let _ = run_host(&["ip", "link", "del", &peer]);
    let _ = run_host(&["ip", "link", "del", &dev]);
    res
}

/// A config whose create the spec requires to fail: create must fail and leave no container
/// (the runner's sweep checks the rest: no state directory, cgroup or process).
fn refused(ctx: &Ctx, cfg: &Value, what: &str) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(cfg)?;
    let out = c.create(&[])?;
    ensure(out.code != 0, || format!("{what} was accepted"))?;
    ensure(c.state().is_err(), || {
        format!("{what}: the refused create left a container")
    })
}

/// A config that must run as if nothing were special about it: the container prints `ok`
/// (`echo ok`) and exits 0.
fn runs_ok(ctx: &Ctx, cfg: &Value, what: &str) -> TestResult {
    let out = run_config(ctx, cfg)?;
    ensure(out.code == 0 && out.stdout.trim() == "ok", || {
        format!("{what}: {}", out.describe())
    })
}

/// Unknown properties at the top level, in `process` and in `linux` are ignored: the
/// container runs as if they were absent.
fn unknown_properties_ignored(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("echo ok");
    cfg["org.spec-tests.unknown"] = json!({"nested": [1, 2]});
    cfg["process"]["specTestsUnknown"] = json!(true);
    cfg["linux"]["specTestsUnknown"] = json!("x");
    runs_ok(ctx, &cfg, "a config with unknown properties")
}

/// The `ociVersionMin` and `ociVersionMax` of the runtime's features document are both
/// accepted as a config's `ociVersion`.
fn oci_versions_accepted(ctx: &Ctx) -> TestResult {
    let f = super::features::features_document(ctx)?;
    for key in ["ociVersionMin", "ociVersionMax"] {
        let v = f[key]
            .as_str()
            .ok_or_else(|| format!("features has no {key}: {f}"))?;
        let mut cfg = sh("echo ok");
        cfg["ociVersion"] = json!(v);
        runs_ok(ctx, &cfg, &format!("ociVersion {v:?} ({key})"))?;
    }
    Ok(())
}

/// `consoleSize` with `terminal` false is ignored: no terminal is needed, the container runs
/// with the caller's stdio.
fn console_size_ignored_without_terminal(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("echo ok");
    cfg["process"]["terminal"] = json!(false);
    cfg["process"]["consoleSize"] = json!({"height": 25, "width": 80});
    runs_ok(ctx, &cfg, "consoleSize without a terminal")
}

/// A relative mount destination (deprecated, still allowed) is taken relative to `/`.
fn relative_destination(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("grep ' /st-rel ' /proc/self/mountinfo");
    add_mount(
        &mut cfg,
        json!({"destination": "st-rel", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "nodev"]}),
    );
    let out = run_config(ctx, &cfg)?;
    ensure(out.code == 0 && out.stdout.contains(" - tmpfs "), || {
        format!(
            "a tmpfs with destination \"st-rel\" is not at /st-rel: {}",
            out.describe()
        )
    })
}

/// `root.path` may be absolute: the container runs in that directory.
fn root_path_absolute(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let mut cfg = sh("echo x > /st-abs-root");
    cfg["root"]["path"] = json!(c.rootfs().to_string_lossy());
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    ensure(c.rootfs().join("st-abs-root").exists(), || {
        "the container did not write into the absolute root.path".to_string()
    })
}

/// A bind mount's relative `source` is relative to the bundle.
fn bind_source_relative_to_bundle(ctx: &Ctx) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    let src = c.bundle.join("st-src");
    fs::create_dir_all(&src).map_err(|e| format!("mkdir: {e}"))?;
    fs::write(src.join("f"), "from-bundle\n").map_err(|e| format!("write: {e}"))?;
    let mut cfg = sh("cat /mnt/st/f");
    add_mount(
        &mut cfg,
        json!({"destination": "/mnt/st", "type": "bind", "source": "st-src",
               "options": ["rbind", "ro"]}),
    );
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure(out.code == 0 && out.stdout.trim() == "from-bundle", || {
        format!("bind of the relative source \"st-src\": {}", out.describe())
    })
}

/// `errnoRet` on an action that returns no errno (`SCMP_ACT_KILL`) is refused.
fn errno_ret_without_errno_action_refused(ctx: &Ctx) -> TestResult {
    let mut cfg = base_config(&["true"]);
    cfg["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]
    });
    refused(ctx, &cfg, "errnoRet 1 with SCMP_ACT_KILL")
}

/// A namespace `path` of another type (a uts namespace given as `network`) is refused.
fn path_of_wrong_type_refused(ctx: &Ctx) -> TestResult {
    let mut cfg = base_config(&["true"]);
    put_namespace(
        &mut cfg,
        json!({"type": "network", "path": "/proc/1/ns/uts"}),
    );
    refused(
        ctx,
        &cfg,
        "a network namespace path that is a uts namespace",
    )
}

/// Mounts are made in the listed order: of two tmpfs on one destination the second is on top,
/// and a tmpfs listed under an earlier one is inside it (made after it).
fn listed_order(ctx: &Ctx) -> TestResult {
    let mut cfg = sh("stat -c %a /mnt/ord /mnt/ord/sub");
    for (dest, mode) in [
        ("/mnt/ord", "711"),
        ("/mnt/ord", "755"),
        ("/mnt/ord/sub", "700"),
    ] {
        add_mount(
            &mut cfg,
            json!({"destination": dest, "type": "tmpfs", "source": "tmpfs",
                   "options": ["nosuid", "nodev", format!("mode={mode}")]}),
        );
    }
    let out = run_config(ctx, &cfg)?;
    let got: Vec<&str> = out.stdout.split_whitespace().collect();
    ensure(out.code == 0 && got == ["755", "700"], || {
        format!(
            "modes of /mnt/ord and /mnt/ord/sub: want 755 700 (mounted in the listed order): {}",
            out.describe()
        )
    })
}

/// An rlimit type the kernel has no interface for is refused.
fn unknown_rlimit_refused(ctx: &Ctx) -> TestResult {
    let mut cfg = base_config(&["true"]);
    cfg["process"]["rlimits"] = json!([{"type": "RLIMIT_SPECTESTS", "soft": 1, "hard": 1}]);
    refused(ctx, &cfg, "rlimit type RLIMIT_SPECTESTS")
}

/// A user-namespace container leaves the owners of its rootfs as they were (no chown to
/// realise the mapping).
fn userns_ownership_unchanged(ctx: &Ctx) -> TestResult {
    use std::os::unix::fs::MetadataExt;
    let c = Ctn::new(ctx, "")?;
    let paths = [
        c.rootfs(),
        c.rootfs().join("bin"),
        c.rootfs().join("etc/passwd"),
        c.rootfs().join("tmp"),
    ];
    let owners = |ps: &[std::path::PathBuf]| -> Result<Vec<(u32, u32)>, String> {
        ps.iter()
            .map(|p| {
                fs::symlink_metadata(p)
                    .map(|m| (m.uid(), m.gid()))
                    .map_err(|e| format!("{}: {e}", p.display()))
            })
            .collect()
    };
    let before = owners(&paths)?;
    let mut cfg = sh("ls / > /dev/null");
    add_userns(&mut cfg, &[(0, 100000, 65536)]);
    c.write_config(&cfg)?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    ensure_eq(
        owners(&paths)?,
        before,
        "owners (uid, gid) of rootfs, bin, etc/passwd, tmp",
    )
}
