//! `config.json`: parse, validate and plan as `create` does (for both cgroup
//! versions). No input may panic or hang; errors are fine.
#![no_main]

use std::path::{Path, PathBuf};

use cella::cgroups::{Hierarchy, HostCgroups, Mode};
use cella::plan::{CgroupFacts, CreateOptions, HostFacts};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("/fuzz-bundle/config.json");
    let Ok(spec) = cella::spec::parse_spec(data, file) else {
        return;
    };
    // The bundle directory does not exist: checks of the rootfs on disk fail
    // like any other rule, the rest is planned.
    let dir = Path::new("/fuzz-bundle");
    if cella::spec::validate(&spec, dir, file).is_err() {
        return;
    }
    let bundle = cella::spec::Bundle {
        dir: dir.to_path_buf(),
        config_path: file.to_path_buf(),
        spec,
        warnings: Vec::new(),
    };
    // A v1 host with one hierarchy and a v2 host; nothing of the
    // container's cgroup exists on either.
    let memory = Hierarchy {
        name: "memory".into(),
        mountpoint: "/sys/fs/cgroup/memory".into(),
        root: "/".into(),
    };
    let hosts = [
        HostCgroups {
            mode: Mode::Legacy,
            v1: vec![memory],
            unified: None,
        },
        HostCgroups {
            mode: Mode::Unified,
            v1: Vec::new(),
            unified: Some("/sys/fs/cgroup".into()),
        },
    ];
    for mounts in hosts {
        let _ = cella::plan::compile(
            &bundle,
            "fuzz",
            &CreateOptions::default(),
            &HostFacts {
                caller: cella::rootless::Caller::ROOT,
                proc_kcore: true,
                // Both on: the label and profile checks run too.
                lsm: cella::plan::LsmHost {
                    apparmor: true,
                    selinux: true,
                },
                cgroups: CgroupFacts {
                    mounts,
                    own: vec![(String::new(), PathBuf::from("/"))],
                    found: Vec::new(),
                    user: "uid 0".into(),
                    systemd_user: None,
                },
                state_dir: None,
            },
        );
    }
});
