//! `config.json`: parse, validate and plan as `create` does (for both cgroup
//! versions). No input may panic or hang; errors are fine.
#![no_main]

use std::path::Path;

use cella::cgroups::Version;
use cella::plan::{CreateOptions, HostFacts};
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
    for version in [Version::V1, Version::V2] {
        let _ = cella::plan::compile(
            &bundle,
            "fuzz",
            &CreateOptions::default(),
            &HostFacts {
                cgroup_version: version,
                caller: cella::rootless::Caller::ROOT,
                proc_kcore: true,
            },
        );
    }
});
