//! `update --resources FILE|-`: parse the resources and turn them into
//! cgroup writes and device rules, for both cgroup versions, as `update`
//! does before it touches the cgroup.
#![no_main]

use cella::cgroups::Version;
use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxResources;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = serde_json::from_slice::<LinuxResources>(data) else {
        return;
    };
    for version in [Version::V1, Version::V2] {
        let _ = cella::plan::cgroup_writes(&r, version);
    }
    if let Some(rules) = r.devices() {
        let _ = cella::plan::device_rules_for_update(rules, &[]);
    }
});
