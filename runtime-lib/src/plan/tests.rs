//! Planning is pure: these tests compile configs and compare plans.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::*;
use crate::cgroup_types::{Found, HostCgroups, Mode};

/// A v1 host with no hierarchy mounted: limits are v1 files, and the
/// container's cgroup has no directory.
const V1: HostFacts = HostFacts {
    caller: crate::rootless::Caller::ROOT,
    proc_kcore: true,
    lsm: LsmHost {
        apparmor: false,
        selinux: false,
    },
    cgroups: CgroupFacts {
        mounts: HostCgroups {
            mode: Mode::Legacy,
            v1: Vec::new(),
            unified: None,
        },
        own: Vec::new(),
        found: Vec::new(),
        user: String::new(),
        systemd_user: None,
    },
    state_dir: None,
};

fn bundle(config: Value) -> Bundle {
    Bundle {
        dir: PathBuf::from("/bundles/b"),
        config_path: PathBuf::from("/bundles/b/config.json"),
        spec: serde_json::from_value(config).expect("config parses"),
        warnings: Vec::new(),
    }
}

fn base() -> Value {
    json!({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs", "readonly": true},
        "process": {
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 18},
            "args": ["sh"], "cwd": "/work", "env": ["PATH=/bin"],
            "capabilities": {
                "bounding": ["CAP_KILL", "CAP_CHOWN"],
                "effective": ["CAP_KILL"],
                "permitted": ["CAP_KILL", "CAP_CHOWN"],
                "inheritable": ["CAP_CHOWN"],
                "ambient": ["CAP_CHOWN", "CAP_KILL"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}],
            "noNewPrivileges": true,
            "oomScoreAdj": 500
        },
        "hostname": "h",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "data", "source": "vol", "options": ["rbind", "ro", "nosuid", "rprivate"]},
            {"destination": "/deep", "type": "none", "source": "/srv", "options": ["bind", "rro", "rnoatime"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"},
                           {"type": "user"}, {"type": "uts"}],
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 10}, {"containerID": 10, "hostID": 300000, "size": 5}],
            "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 7}],
            "resources": {"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}]},
            "maskedPaths": ["/proc/kcore"],
            "readonlyPaths": ["/proc/sys"],
            "sysctl": {"net.ipv4.ip_forward": "1"},
            "cgroupsPath": "/pods/ctr"
        }
    })
}

fn compile_ok(v: Value) -> Plan {
    compile(&bundle(v), "ctr", &CreateOptions::default(), &V1).expect("plans")
}

fn compile_err(v: Value) -> String {
    compile(&bundle(v), "ctr", &CreateOptions::default(), &V1)
        .unwrap_err()
        .to_string()
}

#[test]
fn namespaces_created_and_joined() {
    let p = compile_ok(base());
    assert_eq!(
        p.namespaces.new,
        [
            NamespaceKind::User,
            NamespaceKind::Mount,
            NamespaceKind::Uts,
            NamespaceKind::Pid
        ]
    );
    assert_eq!(
        p.namespaces.clone_flags,
        (libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWPID) as u64
    );
    assert_eq!(
        p.namespaces.join,
        [(NamespaceKind::Network, PathBuf::from("/proc/1/ns/net"))]
    );
    assert_eq!(
        p.namespaces.uid_map,
        [IdRange {
            container_id: 0,
            host_id: 100000,
            size: 65536
        }]
    );
    assert_eq!(p.namespaces.gid_map.len(), 2);
    assert!(p.namespaces.in_user_namespace());
}

#[test]
fn mount_options_become_flags_data_and_remounts() {
    let p = compile_ok(base());
    let ops = &p.mounts.ops;
    assert_eq!(p.mounts.root_propagation.0, libc::MS_SLAVE | libc::MS_REC);
    assert!(p.mounts.pivot_root);
    assert_eq!(
        ops[0].kind,
        MountKind::Filesystem {
            fstype: "proc".into()
        }
    );
    assert_eq!(ops[1].flags.0, libc::MS_NOSUID | libc::MS_STRICTATIME);
    assert_eq!(ops[1].data, "mode=755,size=65536k");
    // A relative destination is relative to "/", a relative bind source to the bundle.
    assert_eq!(ops[2].destination, Path::new("/data"));
    assert_eq!(ops[2].source, Path::new("/bundles/b/vol"));
    assert_eq!(ops[2].kind, MountKind::Bind { recursive: true });
    assert_eq!(ops[2].flags.0, libc::MS_BIND | libc::MS_REC);
    assert_eq!(
        ops[2].bind_remount,
        Some(MsFlags(libc::MS_RDONLY | libc::MS_NOSUID))
    );
    assert_eq!(
        ops[2].propagation,
        [MsFlags(libc::MS_PRIVATE | libc::MS_REC)]
    );
    let rec = ops[3].recursive.expect("recursive attrs");
    assert_eq!(rec.set, attr::RDONLY | attr::NOATIME);
    assert_eq!(rec.clear, attr::ATIME_MASK);
    assert_eq!(ops[3].bind_remount, None);
}

#[test]
fn plan_json_names_flags() {
    let p = compile_ok(base());
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(
        v["mounts"]["ops"][2]["bind_remount"],
        json!(["MS_RDONLY", "MS_NOSUID"])
    );
    assert_eq!(
        v["mounts"]["root_propagation"],
        json!(["MS_REC", "MS_SLAVE"])
    );
}

#[test]
fn unsupported_mount_option_is_refused_by_name() {
    let mut v = base();
    v["mounts"][1]["options"] = json!(["nosuid", "src-nofollow"]);
    let e = compile_err(v);
    assert!(
        e.contains("mounts[1].options[1]") && e.contains("src-nofollow"),
        "{e}"
    );
}

#[test]
fn idmapped_binds_take_their_mappings_or_the_container_user_namespace() {
    let mut v = base();
    v["mounts"][2]["options"] = json!(["rbind", "ridmap"]);
    v["mounts"][3]["options"] = json!(["bind", "idmap"]);
    v["mounts"][3]["uidMappings"] = json!([{"containerID": 0, "hostID": 5000, "size": 10}]);
    v["mounts"][3]["gidMappings"] = json!([{"containerID": 0, "hostID": 6000, "size": 10}]);
    let p = compile_ok(v.clone());
    let rbind = p.mounts.ops[2].idmap.as_ref().expect("ridmap");
    assert!(rbind.recursive);
    assert_eq!(rbind.mapping, IdmapSource::ContainerUserNamespace);
    let bind = p.mounts.ops[3].idmap.as_ref().expect("idmap");
    assert!(!bind.recursive);
    assert!(matches!(&bind.mapping, IdmapSource::Mappings { uid, gid }
        if uid[0].host_id == 5000 && gid[0].host_id == 6000));
    assert_eq!(p.mounts.ops[0].idmap, None);
    // Without a user namespace only the mount with mappings can be made.
    let namespaces = json!([{"type": "pid"}, {"type": "mount"}]);
    v["linux"]["namespaces"] = namespaces;
    v["linux"]["uidMappings"] = json!(null);
    v["linux"]["gidMappings"] = json!(null);
    let e = compile_err(v);
    assert!(e.contains("mounts[2].options[1]"), "{e}");
}

#[test]
fn tmpcopyup_is_planned_for_tmpfs_only() {
    let mut v = base();
    v["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/run", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "tmpcopyup", "mode=755"]
    }));
    let p = compile_ok(v.clone());
    let op = p.mounts.ops.last().unwrap();
    assert!(op.copy_up);
    assert_eq!(op.data, "mode=755", "tmpcopyup is not filesystem data");
    assert!(!p.mounts.ops[0].copy_up);

    let last = v["mounts"].as_array().unwrap().len() - 1;
    v["mounts"][last]["type"] = json!("proc");
    let e = compile_err(v);
    assert!(
        e.contains(&format!("mounts[{last}].options[1]")) && e.contains("only to tmpfs"),
        "{e}"
    );
}

#[test]
fn mount_without_type_or_bind_is_refused() {
    let mut v = base();
    v["mounts"][0] = json!({"destination": "/x", "source": "y"});
    assert!(compile_err(v).contains("mounts[0].type"));
}

#[test]
fn no_pivot_and_keyring_options() {
    let opts = CreateOptions {
        no_pivot: true,
        no_new_keyring: true,
        preserve_fds: 2,
        ..Default::default()
    };
    let p = compile(&bundle(base()), "ctr", &opts, &V1).unwrap();
    assert!(!p.mounts.pivot_root);
    assert!(!p.process.new_session_keyring);
    assert_eq!(p.process.preserve_fds, 2);
}

#[test]
fn process_settings() {
    let p = compile_ok(base());
    let pr = &p.process;
    assert_eq!(
        (pr.uid, pr.gid, pr.additional_gids.as_slice(), pr.umask),
        (1000, 1000, &[5, 6][..], Some(18))
    );
    assert_eq!(pr.cwd, Path::new("/work"));
    assert_eq!(
        pr.rlimits,
        [Rlimit {
            name: "RLIMIT_NOFILE",
            resource: libc::RLIMIT_NOFILE,
            soft: 100,
            hard: 200
        }]
    );
    assert_eq!(pr.capabilities.bounding, ["CAP_CHOWN", "CAP_KILL"]);
    // Ambient keeps only what is both permitted and inheritable.
    assert_eq!(pr.capabilities.ambient, ["CAP_CHOWN"]);
    assert!(pr.no_new_privileges);
    assert_eq!(pr.oom_score_adj, Some(500));
    assert!(pr.new_session_keyring);
}

/// runtime-spec config.md: a capability that "cannot be granted otherwise MUST be logged as a
/// warning" and "Runtimes SHOULD NOT fail": one outside the runtime's own bounding set is left
/// out of every set, with a warning per set naming the field and the capability.
#[test]
fn capability_outside_the_runtime_bounding_set_is_left_out_with_a_warning() {
    let chown = 1u64 << 0;
    let host = HostFacts {
        caller: crate::rootless::Caller {
            bounding_set: chown,
            ..crate::rootless::Caller::ROOT
        },
        ..V1
    };
    let p = compile(&bundle(base()), "ctr", &CreateOptions::default(), &host).expect("plans");
    let c = &p.process.capabilities;
    assert_eq!(c.bounding, ["CAP_CHOWN"]);
    assert!(c.effective.is_empty());
    assert_eq!(c.permitted, ["CAP_CHOWN"]);
    assert_eq!(c.ambient, ["CAP_CHOWN"]);
    let why = "it is not in the runtime's own bounding set, so no process it starts can have it";
    assert_eq!(
        p.warnings,
        ["bounding", "effective", "permitted"].map(|set| format!(
            "process.capabilities.{set}: CAP_KILL cannot be granted: {why}; left out"
        ))
    );
}

/// A capability this build names but the running kernel lacks (a number above its
/// `cap_last_cap`) is left out with a warning saying so.
#[test]
fn capability_the_kernel_lacks_is_left_out_with_a_warning() {
    let host = HostFacts {
        caller: crate::rootless::Caller {
            cap_last_cap: 39,
            ..crate::rootless::Caller::ROOT
        },
        ..V1
    };
    let mut v = base();
    v["process"]["capabilities"] = json!({"bounding": ["CAP_KILL", "CAP_CHECKPOINT_RESTORE"]});
    let p = compile(&bundle(v), "ctr", &CreateOptions::default(), &host).expect("plans");
    assert_eq!(p.process.capabilities.bounding, ["CAP_KILL"]);
    assert_eq!(
        p.warnings,
        [
            "process.capabilities.bounding: CAP_CHECKPOINT_RESTORE cannot be granted: the kernel \
          has no capability 40 (its last is 39, /proc/sys/kernel/cap_last_cap); left out"
        ]
    );
}

/// The warnings of loading (unknown capability names) come first in the plan's.
#[test]
fn load_warnings_reach_the_plan() {
    let mut b = bundle(base());
    b.warnings = vec!["process.capabilities.bounding[2]: CAP_X ...".into()];
    let p = compile(&b, "ctr", &CreateOptions::default(), &V1).expect("plans");
    assert_eq!(p.warnings, b.warnings);
}

#[test]
fn absent_capabilities_mean_none() {
    let mut v = base();
    v["process"].as_object_mut().unwrap().remove("capabilities");
    assert_eq!(
        compile_ok(v).process.capabilities,
        CapabilitySets::default()
    );
}

#[test]
fn devices_and_device_rules() {
    let p = compile_ok(base());
    let d = &p.devices;
    assert!(d.bind_from_host, "a user namespace cannot mknod");
    let paths: Vec<_> = d.nodes.iter().map(|n| n.path.to_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
            "/dev/fuse"
        ]
    );
    let fuse = &d.nodes[6];
    assert_eq!(
        (fuse.major, fuse.minor, fuse.mode, fuse.uid),
        (10, 229, 0o600, 7)
    );
    assert!(d
        .symlinks
        .contains(&(PathBuf::from("/dev/ptmx"), PathBuf::from("pts/ptmx"))));
    let rules: Vec<String> = p
        .cgroup
        .device_rules
        .iter()
        .map(|r| format!("{} {}", r.allow, r.to_kernel()))
        .collect();
    assert_eq!(rules[0], "false a");
    assert!(rules.contains(&"true c 1:3 rwm".to_string()));
    assert!(rules.contains(&"true c 10:229 rw".to_string()));
    assert!(rules.contains(&"true c 136:* rwm".to_string()));
}

#[test]
fn cgroup_path() {
    assert_eq!(compile_ok(base()).cgroup.path, Path::new("/pods/ctr"));
    let mut v = base();
    v["linux"].as_object_mut().unwrap().remove("cgroupsPath");
    assert_eq!(compile_ok(v).cgroup.path, Path::new("ctr"));
    let mut v = base();
    v["linux"]["cgroupsPath"] = json!("system.slice:cella:ctr");
    assert!(compile_err(v).contains("systemd"));
    let mut v = base();
    v["linux"]["cgroupsPath"] = json!("/");
    assert!(compile_err(v).contains("linux.cgroupsPath"));
}

#[test]
fn a_mount_namespace_is_required_and_cannot_be_joined() {
    let mut v = base();
    v["linux"]["namespaces"] = json!([{"type": "pid"}]);
    assert!(compile_err(v).contains("a new mount namespace is required"));
    let mut v = base();
    v["linux"]["namespaces"][1] = json!({"type": "mount", "path": "/proc/1/ns/mnt"});
    assert!(compile_err(v).contains("linux.namespaces[1]"));
}

#[test]
fn other_parts() {
    let p = compile_ok(base());
    assert_eq!(p.rootfs, Path::new("/bundles/b/rootfs"));
    assert!(p.root_readonly);
    assert_eq!(p.hostname.as_deref(), Some("h"));
    assert_eq!(p.masked_paths, [PathBuf::from("/proc/kcore")]);
    assert_eq!(p.readonly_paths, [PathBuf::from("/proc/sys")]);
    assert_eq!(
        p.sysctl.get("net.ipv4.ip_forward").map(String::as_str),
        Some("1")
    );
}

#[test]
fn time_offsets() {
    let mut v = base();
    v["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "time"}]);
    v["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 100, "nanosecs": 5}});
    let p = compile_ok(v);
    assert!(p.namespaces.creates(NamespaceKind::Time));
    assert_eq!(
        p.namespaces.monotonic_offset,
        Some(ClockOffset {
            secs: 100,
            nanos: 5
        })
    );
    assert_eq!(p.namespaces.boottime_offset, None);
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn resources_become_writes_for_the_host_version() {
    let mut v = base();
    v["linux"]["resources"]["pids"] = json!({"limit": 20});
    v["linux"]["resources"]["cpu"] = json!({"shares": 1024});
    let p = compile_ok(v.clone());
    let files = |p: &Plan| -> Vec<(String, String)> {
        let all = p.cgroup.writes.iter().chain(&p.cgroup.after_init);
        all.map(|w| (w.file.clone(), w.value.clone())).collect()
    };
    assert_eq!(
        files(&p),
        pairs(&[("cpu.shares", "1024"), ("pids.max", "20")])
    );
    // pids.max counts stage 1 too: written once the init is forked.
    assert_eq!(p.cgroup.after_init.len(), 1);
    let v2 = HostFacts {
        cgroups: v2_host(Vec::new()),
        ..V1
    };
    let p = compile(&bundle(v.clone()), "ctr", &CreateOptions::default(), &v2).unwrap();
    assert_eq!(
        files(&p),
        pairs(&[("cpu.weight", "39"), ("pids.max", "20")])
    );
    v["linux"]["resources"]["unified"] = json!({"memory.max": "1G"});
    let e = compile_err(v);
    assert!(
        e.contains("linux.resources.unified.\"memory.max\"") && e.contains("v1"),
        "{e}"
    );
}

#[test]
fn socket_activation_fds_come_first_and_are_announced() {
    let opts = CreateOptions {
        listen_fds: 2,
        preserve_fds: 1,
        ..Default::default()
    };
    let p = compile(&bundle(base()), "ctr", &opts, &V1).unwrap();
    assert_eq!(p.process.preserve_fds, 3);
    assert!(p
        .process
        .env
        .ends_with(&["LISTEN_FDS=2".to_string(), "LISTEN_PID=1".to_string()]));
}

/// An unprivileged user (uid 1001, no capabilities) on a v1 host.
const USER: HostFacts = HostFacts {
    cgroups: CgroupFacts {
        mounts: HostCgroups {
            mode: Mode::Legacy,
            v1: Vec::new(),
            unified: None,
        },
        own: Vec::new(),
        found: Vec::new(),
        user: String::new(),
        systemd_user: None,
    },
    caller: crate::rootless::Caller {
        euid: 1001,
        egid: 1001,
        in_user_namespace: false,
        can_map_uids: false,
        can_map_gids: false,
        privileged: false,
        ..crate::rootless::Caller::ROOT
    },
    proc_kcore: false,
    lsm: LsmHost {
        apparmor: false,
        selinux: false,
    },
    state_dir: None,
};

fn rootless_config(uid_maps: Value, gid_maps: Value) -> Value {
    let mut v = base();
    v["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}, {"type": "user"}]);
    v["linux"]["uidMappings"] = uid_maps;
    v["linux"]["gidMappings"] = gid_maps;
    v["linux"].as_object_mut().unwrap().remove("resources");
    v["process"]["user"] = json!({"uid": 0, "gid": 0});
    v
}

fn compile_as(v: Value, host: &HostFacts) -> Result<Plan, String> {
    let opts = CreateOptions {
        rootless: true,
        ..Default::default()
    };
    compile(&bundle(v), "ctr", &opts, host).map_err(|e| e.to_string())
}

/// The kernel lets an unprivileged runtime map its own id once; anything
/// more goes through newuidmap/newgidmap; root writes every map itself.
#[test]
fn id_maps_are_written_by_whoever_may() {
    let own = json!([{"containerID": 0, "hostID": 1001, "size": 1}]);
    let ranges = json!([{"containerID": 0, "hostID": 1001, "size": 1},
                        {"containerID": 1, "hostID": 100000, "size": 65536}]);
    let p = compile_as(rootless_config(own.clone(), own.clone()), &USER).unwrap();
    assert_eq!(p.namespaces.uid_map_writer, Some(MapWriter::SelfOnly));
    assert_eq!(p.namespaces.gid_map_writer, Some(MapWriter::SelfOnly));
    assert_eq!(p.cgroup.mode, CgroupMode::WhereDelegated);
    let p = compile_as(rootless_config(ranges.clone(), own.clone()), &USER).unwrap();
    assert_eq!(p.namespaces.uid_map_writer, Some(MapWriter::Helper));
    assert_eq!(p.namespaces.gid_map_writer, Some(MapWriter::SelfOnly));
    let other = json!([{"containerID": 0, "hostID": 1002, "size": 1}]);
    let p = compile_as(rootless_config(own.clone(), other), &USER).unwrap();
    assert_eq!(
        p.namespaces.gid_map_writer,
        Some(MapWriter::Helper),
        "another user's gid needs /etc/subgid"
    );
    let p = compile_as(rootless_config(ranges.clone(), ranges.clone()), &V1).unwrap();
    assert_eq!(p.namespaces.uid_map_writer, Some(MapWriter::Runtime));
    assert_eq!(p.namespaces.gid_map_writer, Some(MapWriter::Runtime));
    assert_eq!(
        compile_ok(base()).cgroup.mode,
        CgroupMode::Required,
        "not rootless by default"
    );
    let mut no_userns = base();
    no_userns["linux"]["namespaces"] = json!([{"type": "mount"}]);
    no_userns["linux"]
        .as_object_mut()
        .unwrap()
        .remove("uidMappings");
    no_userns["linux"]
        .as_object_mut()
        .unwrap()
        .remove("gidMappings");
    assert_eq!(compile_ok(no_userns).namespaces.uid_map_writer, None);

    // setgroups is denied when the gid map is written without newgidmap.
    let mut v = rootless_config(own.clone(), own.clone());
    v["process"]["user"]["additionalGids"] = json!([5]);
    let e = compile_as(v.clone(), &USER).unwrap_err();
    assert!(
        e.contains("process.user.additionalGids") && e.contains("newgidmap"),
        "{e}"
    );
    v["linux"]["gidMappings"] = ranges;
    assert!(
        compile_as(v, &USER).is_ok(),
        "newgidmap leaves setgroups allowed"
    );
}

/// Device cgroup rules need CAP_SYS_ADMIN of the initial namespace: an
/// unprivileged runtime writes none, and refuses configured ones.
#[test]
fn unprivileged_runtime_has_no_device_rules() {
    let own = json!([{"containerID": 0, "hostID": 1001, "size": 1}]);
    let p = compile_as(rootless_config(own.clone(), own.clone()), &USER).unwrap();
    assert!(p.cgroup.device_rules.is_empty());
    assert!(p.devices.bind_from_host);
    let mut v = rootless_config(own.clone(), own);
    v["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    let e = compile_as(v, &USER).unwrap_err();
    assert!(
        e.contains("linux.resources.devices") && e.contains("CAP_SYS_ADMIN"),
        "{e}"
    );
    assert!(!compile_ok(base()).cgroup.device_rules.is_empty());
}

/// Rootless podman runs its runtime as root of a user namespace: the
/// container is in it without a namespace of its own, so no mknod.
#[test]
fn runtime_in_a_user_namespace_binds_devices() {
    let podman = HostFacts {
        caller: crate::rootless::Caller {
            euid: 0,
            egid: 0,
            in_user_namespace: true,
            can_map_uids: true,
            can_map_gids: true,
            privileged: false,
            ..crate::rootless::Caller::ROOT
        },
        ..V1
    };
    let mut v = base();
    v["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}]);
    for k in ["uidMappings", "gidMappings", "resources"] {
        v["linux"].as_object_mut().unwrap().remove(k);
    }
    let p = compile_as(v, &podman).unwrap();
    assert!(p.namespaces.in_user_namespace());
    assert!(p.devices.bind_from_host);
    assert!(p.cgroup.device_rules.is_empty());
}

/// A hybrid host with the pids and freezer hierarchies and a cgroup2 tree,
/// the caller in `/user` of each; `found` says what is at the container's
/// directories.
fn hybrid(found: Vec<Found>) -> CgroupFacts {
    let h = |name: &str| crate::cgroup_types::Hierarchy {
        name: name.to_string(),
        mountpoint: PathBuf::from("/sys/fs/cgroup").join(name),
        root: PathBuf::from("/"),
    };
    CgroupFacts {
        mounts: HostCgroups {
            mode: Mode::Hybrid,
            v1: vec![h("pids"), h("freezer")],
            unified: Some(PathBuf::from("/sys/fs/cgroup/unified")),
        },
        own: ["pids", "freezer", ""]
            .iter()
            .map(|n| (n.to_string(), PathBuf::from("/user")))
            .collect(),
        found,
        user: "uid 1001".to_string(),
        systemd_user: None,
    }
}

/// A v2 host, the caller in `/user`.
fn v2_host(found: Vec<Found>) -> CgroupFacts {
    CgroupFacts {
        mounts: HostCgroups {
            mode: Mode::Unified,
            v1: Vec::new(),
            unified: Some(PathBuf::from("/sys/fs/cgroup")),
        },
        own: vec![(String::new(), PathBuf::from("/user"))],
        found,
        user: "uid 1001".to_string(),
        systemd_user: None,
    }
}

/// `/pods/ctr` (the base config's cgroupsPath) in hierarchy `h`.
fn ctr_dir(h: &str) -> PathBuf {
    PathBuf::from("/sys/fs/cgroup").join(h).join("pods/ctr")
}

fn place_in(facts: CgroupFacts, v: Value, opts: &CreateOptions) -> Result<Plan, Error> {
    let host = HostFacts {
        cgroups: facts,
        ..V1
    };
    compile(&bundle(v), "ctr", opts, &host)
}

fn uses(p: &Plan) -> Vec<(&str, &Path, CgroupUse)> {
    p.cgroup
        .placement
        .dirs
        .iter()
        .map(|d| (d.hierarchy.as_str(), d.dir.as_path(), d.how))
        .collect()
}

/// The plan says which directory of each hierarchy the container gets,
/// and whether `create` makes it (the levels that are missing, which the
/// container then owns) or adopts it (it exists, empty: what is below it
/// stays someone else's).
#[test]
fn cgroup_placement_creates_or_adopts_each_directory() {
    let adopted = Found {
        dir: ctr_dir("freezer"),
        descendants: vec![ctr_dir("freezer").join("theirs")],
        ..Found::default()
    };
    let made = Found {
        dir: ctr_dir("pids"),
        missing: vec![PathBuf::from("/sys/fs/cgroup/pids/pods"), ctr_dir("pids")],
        ..Found::default()
    };
    let p = place_in(
        hybrid(vec![made, adopted]),
        base(),
        &CreateOptions::default(),
    )
    .unwrap();
    assert_eq!(p.cgroup.mode, CgroupMode::Required);
    assert_eq!(
        uses(&p),
        [
            ("pids", ctr_dir("pids").as_path(), CgroupUse::Create),
            ("freezer", ctr_dir("freezer").as_path(), CgroupUse::Adopt),
            // Nothing known of it: missing.
            ("", ctr_dir("unified").as_path(), CgroupUse::Create),
        ]
    );
    let placement = &p.cgroup.placement;
    assert_eq!(
        placement.ownership.created,
        [
            PathBuf::from("/sys/fs/cgroup/pids/pods"),
            ctr_dir("pids"),
            ctr_dir("unified")
        ]
    );
    assert_eq!(
        placement.ownership.foreign,
        [ctr_dir("freezer").join("theirs")]
    );
    assert_eq!(placement.cgroup(), Some(placement.view()));
    assert!(placement.notes.is_empty());
    let json = serde_json::to_value(&p.cgroup).unwrap();
    assert_eq!(json["mode"], "required");
    assert_eq!(json["placement"]["dirs"][1]["use"], "adopt");
}

/// A cgroup someone else's processes are in, anywhere below it in any
/// hierarchy, or a frozen one, is refused by the plan (as `create` refuses
/// it), naming the field that chose it.
#[test]
fn cgroup_with_processes_or_frozen_is_refused() {
    let busy = Found {
        dir: ctr_dir("freezer"),
        busy: Some((ctr_dir("freezer").join("child"), 2)),
        ..Found::default()
    };
    let e = place_in(hybrid(vec![busy]), base(), &CreateOptions::default()).unwrap_err();
    let Error::CgroupInUse { file, field, cause } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        (file.as_path(), field.as_str()),
        (Path::new("/bundles/b/config.json"), "linux.cgroupsPath")
    );
    assert_eq!(
        *cause,
        InUse::Processes {
            dir: ctr_dir("freezer").join("child"),
            count: 2
        }
    );
    assert!(
        e.to_string().starts_with(
            "/bundles/b/config.json: linux.cgroupsPath: the cgroup already has 2 process(es) in"
        ),
        "{e}"
    );
    let frozen = Found {
        dir: ctr_dir("freezer"),
        frozen: Some(PathBuf::from("/sys/fs/cgroup/freezer/pods")),
        ..Found::default()
    };
    let opts = CreateOptions {
        cgroups: CgroupSetting::Path("/pods/ctr".into()),
        ..Default::default()
    };
    match place_in(hybrid(vec![frozen]), base(), &opts) {
        Err(Error::CgroupInUse { field, cause, .. }) => {
            assert_eq!(field, "cgroups (CgroupSetting::Path)");
            assert_eq!(
                cause,
                InUse::Frozen {
                    dir: PathBuf::from("/sys/fs/cgroup/freezer/pods")
                }
            );
        }
        other => panic!("{other:?}"),
    }
}

/// Rootless: where the caller may not write, the container stays in the
/// caller's cgroup (and what is there is not its business); a limit for a
/// controller it did not get is refused; without any cgroup it needs a pid
/// namespace of its own.
#[test]
fn rootless_placement_uses_what_was_delegated() {
    let own = json!([{"containerID": 0, "hostID": 1001, "size": 1}]);
    let mut v = rootless_config(own.clone(), own);
    v["linux"]["cgroupsPath"] = json!("/pods/ctr");
    let not_delegated = |h: &str| Found {
        dir: ctr_dir(h),
        missing: vec![ctr_dir(h)],
        // Busy, but not the container's: no refusal.
        busy: Some((ctr_dir(h), 1)),
        unusable: Some(format!("{} is not writable", ctr_dir(h).display())),
        ..Found::default()
    };
    let facts = || hybrid(vec![not_delegated("freezer"), not_delegated("unified")]);
    let opts = CreateOptions {
        rootless: true,
        ..Default::default()
    };
    let host = |cgroups| HostFacts { cgroups, ..USER };
    let p = compile(&bundle(v.clone()), "ctr", &opts, &host(facts())).unwrap();
    assert_eq!(p.cgroup.mode, CgroupMode::WhereDelegated);
    assert_eq!(
        uses(&p),
        [
            ("pids", ctr_dir("pids").as_path(), CgroupUse::Create),
            (
                "freezer",
                Path::new("/sys/fs/cgroup/freezer/user"),
                CgroupUse::Caller
            ),
            (
                "",
                Path::new("/sys/fs/cgroup/unified/user"),
                CgroupUse::Caller
            ),
        ]
    );
    let notes = &p.cgroup.placement.notes;
    assert_eq!(notes.len(), 2);
    assert!(
        notes[0].contains("not delegated to uid 1001") && notes[0].contains("freezer/pods/ctr"),
        "{notes:?}"
    );
    assert_eq!(
        p.cgroup.placement.cgroup(),
        Some(crate::cgroup_types::ContainerCgroup::V1 {
            dirs: vec![("pids".into(), ctr_dir("pids"))]
        })
    );
    assert_eq!(p.cgroup.placement.ownership.created, [ctr_dir("pids")]);

    let mut limited = v.clone();
    limited["linux"]["resources"] = json!({"pids": {"limit": 10}});
    assert!(compile(&bundle(limited), "ctr", &opts, &host(facts())).is_ok());
    let mut limited = v.clone();
    limited["linux"]["resources"] = json!({"cpu": {"shares": 10}});
    match compile(&bundle(limited), "ctr", &opts, &host(facts())) {
        Err(Error::Unsupported(e)) => {
            assert_eq!(e.field, "linux.resources.cpu.shares");
            assert!(e.reason.contains("no cpu cgroup was delegated"), "{e}");
        }
        other => panic!("{other:?}"),
    }

    let nothing = hybrid(vec![
        not_delegated("pids"),
        not_delegated("freezer"),
        not_delegated("unified"),
    ]);
    let p = compile(&bundle(v.clone()), "ctr", &opts, &host(nothing.clone())).unwrap();
    assert_eq!(p.cgroup.placement.cgroup(), None);
    let mut no_pidns = v;
    no_pidns["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "user"}]);
    match compile(&bundle(no_pidns), "ctr", &opts, &host(nothing)) {
        Err(Error::Unsupported(e)) => {
            assert_eq!(e.field, "linux.namespaces");
            assert!(
                e.reason.contains("no cgroup was delegated to uid 1001"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// On cgroup v2 a rootless limit needs its controller offered where the
/// container's cgroup is made.
#[test]
fn rootless_v2_limits_need_a_delegated_controller() {
    let own = json!([{"containerID": 0, "hostID": 1001, "size": 1}]);
    let mut v = rootless_config(own.clone(), own);
    v["linux"]["cgroupsPath"] = json!("/pods/ctr");
    v["linux"]["resources"] = json!({"memory": {"limit": 1048576}});
    let opts = CreateOptions {
        rootless: true,
        ..Default::default()
    };
    let found = |controllers: &[&str]| Found {
        dir: PathBuf::from("/sys/fs/cgroup/pods/ctr"),
        missing: vec![PathBuf::from("/sys/fs/cgroup/pods/ctr")],
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        ..Found::default()
    };
    let host = |f| HostFacts {
        cgroups: v2_host(vec![f]),
        ..USER
    };
    let p = compile(
        &bundle(v.clone()),
        "ctr",
        &opts,
        &host(found(&["memory", "pids"])),
    )
    .unwrap();
    assert!(p.cgroup.placement.unified);
    assert_eq!(
        p.cgroup.placement.view(),
        crate::cgroup_types::ContainerCgroup::V2 {
            dir: PathBuf::from("/sys/fs/cgroup/pods/ctr")
        }
    );
    let e = compile(&bundle(v), "ctr", &opts, &host(found(&["pids"]))).unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported(f) if f.field == "linux.resources.memory.limit"),
        "{e:?}"
    );
}

/// Without a cgroup the container stays in the caller's, in every
/// hierarchy, and needs a pid namespace of its own.
#[test]
fn disabled_cgroups_stay_in_the_callers() {
    let opts = CreateOptions {
        cgroups: CgroupSetting::Disabled,
        ..Default::default()
    };
    let mut v = base();
    v["linux"].as_object_mut().unwrap().remove("resources");
    let p = place_in(hybrid(Vec::new()), v.clone(), &opts).unwrap();
    assert_eq!(p.cgroup.mode, CgroupMode::Disabled);
    assert!(uses(&p)
        .iter()
        .all(|(_, d, how)| *how == CgroupUse::Caller && d.ends_with("user")));
    assert_eq!(p.cgroup.placement.cgroup(), None);
    v["linux"]["namespaces"] = json!([{"type": "mount"}]);
    for k in ["uidMappings", "gidMappings"] {
        v["linux"].as_object_mut().unwrap().remove(k);
    }
    match place_in(hybrid(Vec::new()), v, &opts) {
        Err(Error::Unsupported(e)) => assert_eq!(e.field, "linux.namespaces"),
        other => panic!("{other:?}"),
    }
}

/// The systemd driver: the unit is `prefix-name.scope` in its slice, its
/// directory systemd's to make (the slices above too), the limits also
/// unit properties; refused on a v1 or hybrid host, rootless, and without
/// a cgroup, naming why.
#[test]
fn systemd_driver_plans_a_scope() {
    let opts = CreateOptions {
        cgroup_driver: crate::plan::CgroupDriver::Systemd,
        ..Default::default()
    };
    let mut v = base();
    v["linux"]["cgroupsPath"] = json!("machine-pods.slice:cri:ctr");
    v["linux"]["resources"]["memory"] = json!({"limit": 1 << 30});
    v["linux"]["resources"]["pids"] = json!({"limit": 100});
    let p = place_in(v2_host(Vec::new()), v.clone(), &opts).unwrap();
    let dir = PathBuf::from("/sys/fs/cgroup/machine.slice/machine-pods.slice/cri-ctr.scope");
    assert_eq!(uses(&p), vec![("", dir.as_path(), CgroupUse::Systemd)]);
    assert_eq!(p.cgroup.placement.ownership.created, vec![dir.clone()]);
    let unit = p.cgroup.systemd.as_ref().unwrap();
    assert_eq!(unit.name, "cri-ctr.scope");
    assert_eq!(
        unit.resources
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        p.cgroup
            .writes
            .iter()
            .filter_map(|w| match w.file.as_str() {
                "memory.max" => Some("MemoryMax"),
                "pids.max" => Some("TasksMax"),
                _ => None,
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(unit.resources.len(), 1);
    // TasksMax counts stage 1 too: set once the init is forked, with its file.
    assert_eq!(unit.after_init.len(), 1);
    assert_eq!(unit.after_init[0].name, "TasksMax");
    assert_eq!(p.cgroup.after_init.len(), 1);
    assert_eq!(p.cgroup.after_init[0].file, "pids.max");
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["cgroup"]["systemd"]["name"], "cri-ctr.scope");

    let refused =
        |facts: CgroupFacts, v: Value, opts: &CreateOptions| match place_in(facts, v, opts) {
            Err(Error::Unsupported(e) | Error::InvalidConfig(crate::spec::SpecError::Field(e))) => {
                e
            }
            other => panic!("{other:?}"),
        };
    let e = refused(hybrid(Vec::new()), v.clone(), &opts);
    assert!(e.reason.contains("cgroup v2 hosts only"), "{e}");
    let rootless = CreateOptions {
        rootless: true,
        ..opts.clone()
    };
    assert!(refused(v2_host(Vec::new()), v.clone(), &rootless)
        .reason
        .contains("rootless"));
    let none = CreateOptions {
        cgroups: CgroupSetting::Disabled,
        ..opts.clone()
    };
    assert!(refused(v2_host(Vec::new()), v.clone(), &none)
        .reason
        .contains("no cgroup"));
    v["linux"]["cgroupsPath"] = json!("/pods/ctr");
    assert_eq!(
        refused(v2_host(Vec::new()), v.clone(), &opts).field,
        "linux.cgroupsPath"
    );
    // And the other way round: a systemd path without the driver.
    v["linux"]["cgroupsPath"] = json!("system.slice:cri:ctr");
    let e = refused(v2_host(Vec::new()), v, &CreateOptions::default());
    assert!(e.reason.contains("--systemd-cgroup"), "{e}");
}

/// Rootless, the systemd driver asks the user's manager: its scope in the
/// manager's `user.slice` by default, below the manager's cgroup; limits
/// of the controllers delegated to it; refused, naming the bus or the
/// field, when the manager cannot be reached or a controller was not
/// delegated; device rules as any rootless runtime (the defaults dropped,
/// configured ones refused).
#[test]
fn rootless_systemd_driver_asks_the_users_manager() {
    let manager = crate::cgroup_types::UserManager {
        address: "unix:path=/run/user/1000/bus".into(),
        uid: 1000,
        control_group: "/user.slice/user-1000.slice/user@1000.service".into(),
    };
    let facts = |user| HostFacts {
        caller: crate::rootless::Caller {
            euid: 1000,
            privileged: false,
            ..crate::rootless::Caller::ROOT
        },
        cgroups: CgroupFacts {
            systemd_user: Some(user),
            ..v2_host(Vec::new())
        },
        ..V1
    };
    let delegated = facts(Ok(SystemdUserFacts {
        manager: manager.clone(),
        controllers: vec!["memory".into(), "pids".into()],
    }));
    let opts = CreateOptions {
        cgroup_driver: crate::plan::CgroupDriver::Systemd,
        rootless: true,
        ..Default::default()
    };
    let mut v = base();
    v["linux"].as_object_mut().unwrap().remove("cgroupsPath");
    v["linux"]["resources"] = json!({"memory": {"limit": 1 << 30}, "pids": {"limit": 100}});
    let p = compile(&bundle(v.clone()), "ctr", &opts, &delegated).unwrap();
    let dir = PathBuf::from(
        "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/user.slice/cella-ctr.scope",
    );
    assert_eq!(uses(&p), vec![("", dir.as_path(), CgroupUse::Systemd)]);
    let unit = p.cgroup.systemd.as_ref().unwrap();
    assert_eq!(
        (unit.slice.as_str(), unit.user.as_ref()),
        ("user.slice", Some(&manager))
    );
    assert_eq!((unit.resources.len(), unit.after_init.len()), (1, 1));
    assert!(p.cgroup.device_rules.is_empty());

    let refused = |v: Value, host: &HostFacts| match compile(&bundle(v), "ctr", &opts, host) {
        Err(Error::Unsupported(e)) => e,
        other => panic!("{other:?}"),
    };
    let mut cpu = v.clone();
    cpu["linux"]["resources"]["cpu"] = json!({"quota": 50000, "period": 100000});
    let e = refused(cpu, &delegated);
    assert_eq!(e.field, "linux.resources.cpu.quota");
    assert!(e.reason.contains("cpu controller was not delegated"), "{e}");
    assert!(e.reason.contains("offers: memory pids"), "{e}");
    let mut devices = v.clone();
    devices["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
    assert_eq!(
        refused(devices, &delegated).field,
        "linux.resources.devices"
    );
    let why = "cannot connect to the D-Bus bus at unix:path=/run/user/1000/bus".to_string();
    let e = refused(v.clone(), &facts(Err(why.clone())));
    assert!(e.reason.contains(&why), "{e}");
    // A config's own fault comes first, whatever the host.
    v["linux"]["cgroupsPath"] = json!("a:b");
    match compile(&bundle(v), "ctr", &opts, &facts(Err(why))) {
        Err(Error::InvalidConfig(e)) => assert!(e.to_string().contains("slice:prefix:name")),
        other => panic!("{other:?}"),
    }
}

/// The host's AppArmor decides: the profile goes into the process plan
/// where it is enabled, and the config is refused, naming the field,
/// where it is not (as runc, whose write of the profile the kernel refuses).
#[test]
fn apparmor_profile_follows_the_host() {
    let mut config = base();
    config["process"]["apparmorProfile"] = json!("docker-default");
    let aa = HostFacts {
        lsm: LsmHost {
            apparmor: true,
            selinux: false,
        },
        ..V1
    };
    let p = compile(
        &bundle(config.clone()),
        "ctr",
        &CreateOptions::default(),
        &aa,
    )
    .expect("plans");
    assert_eq!(
        p.process.apparmor_profile.as_deref(),
        Some("docker-default")
    );
    let e = compile_err(config);
    assert!(
        e.contains("config.json: process.apparmorProfile: AppArmor is not enabled"),
        "{e}"
    );
    assert_eq!(compile_ok(base()).process.apparmor_profile, None);
}

/// SELinux, as runc applies it: the process label goes into the process
/// plan; the mount label into the data of each new filesystem but proc,
/// sysfs and mqueue (whose root is labelled instead), and into the plan for
/// the masks; binds keep theirs. Without SELinux both fields are refused.
#[test]
fn selinux_labels_follow_the_host() {
    let label = "system_u:system_r:container_t:s0:c1,c2";
    let file = "system_u:object_r:container_file_t:s0:c1,c2";
    let mut config = base();
    config["process"]["selinuxLabel"] = json!(label);
    config["linux"]["mountLabel"] = json!(file);
    config["mounts"] = json!([
        { "destination": "/proc", "type": "proc", "source": "proc" },
        { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"] },
        { "destination": "/dev/pts", "type": "devpts", "source": "devpts" },
        { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue" },
        { "destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["rbind"] },
    ]);
    let se = HostFacts {
        lsm: LsmHost {
            apparmor: false,
            selinux: true,
        },
        ..V1
    };
    let p = compile(
        &bundle(config.clone()),
        "ctr",
        &CreateOptions::default(),
        &se,
    )
    .expect("plans");
    assert_eq!(p.process.selinux_label.as_deref(), Some(label));
    assert_eq!(p.mounts.label.as_deref(), Some(file));
    let data: Vec<_> = p
        .mounts
        .ops
        .iter()
        .map(|o| (o.data.as_str(), o.root_label.as_deref()))
        .collect();
    let context = format!("context=\"{file}\"");
    assert_eq!(
        data,
        [
            ("", None),
            (format!("mode=755,{context}").as_str(), None),
            (context.as_str(), None),
            ("", Some(file)),
            ("", None),
        ]
    );
    let e = compile_err(config.clone());
    assert!(
        e.contains("config.json: linux.mountLabel: SELinux is not enabled"),
        "{e}"
    );
    config["linux"]["mountLabel"] = json!("");
    let e = compile_err(config);
    assert!(
        e.contains("config.json: process.selinuxLabel: SELinux is not enabled"),
        "{e}"
    );
    let p = compile_ok(base());
    assert_eq!((p.process.selinux_label, p.mounts.label), (None, None));
}

#[test]
fn notify_socket_adds_runcs_mount_and_variable() {
    let opts = CreateOptions {
        notify_socket: true,
        ..Default::default()
    };
    let host = HostFacts {
        state_dir: Some(PathBuf::from("/run/cella/c1")),
        ..V1
    };
    let mut config = base();
    config["process"]["env"] = json!(["PATH=/bin", "NOTIFY_SOCKET=/config/own"]);
    let p = compile(&bundle(config), "c1", &opts, &host).expect("plans");
    assert_eq!(
        p.notify.as_ref().map(|n| n.socket()),
        Some(PathBuf::from("/run/cella/c1/notify/notify.sock"))
    );
    let op = p.mounts.ops.last().expect("a mount");
    // After the config's four, as runc appends it.
    assert_eq!(op.index, 4);
    assert_eq!(op.source, Path::new("/run/cella/c1/notify"));
    assert_eq!(op.destination, Path::new("/run/notify"));
    assert_eq!(op.kind, MountKind::Bind { recursive: false });
    assert_eq!(
        op.bind_remount,
        Some(MsFlags(
            libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC
        ))
    );
    // Last: it wins over the config's own (runc appends it too).
    assert_eq!(
        p.process.env.last().map(String::as_str),
        Some("NOTIFY_SOCKET=/run/notify/notify.sock")
    );
    // Without it, nothing of the kind.
    let p = compile(&bundle(base()), "c1", &CreateOptions::default(), &host).expect("plans");
    assert!(p.notify.is_none());
    assert_eq!(p.mounts.ops.len(), 4);
    // Without a state directory (a plan made without a runtime), refused by name.
    let e = compile(&bundle(base()), "c1", &opts, &V1).expect_err("refused");
    assert!(e.to_string().contains("NOTIFY_SOCKET"), "{e}");
}
