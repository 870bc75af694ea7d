//! `exec --process process.json`: parse and plan the process as `exec` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::Process;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = serde_json::from_slice::<Process>(data) else {
        return;
    };
    use cella::plan::{plan_exec_process, ContainerDefaults, LsmHost};
    let on = LsmHost {
        apparmor: true,
        selinux: true,
    };
    let _ = plan_exec_process(&p, 0, ContainerDefaults::default(), on);
    // The process as the container's own too: what an exec'd process inherits.
    let container = ContainerDefaults {
        process: Some(&p),
        ..ContainerDefaults::default()
    };
    let _ = plan_exec_process(&p, 3, container, LsmHost::default());
    let _ = plan_exec_process(&p, 3, container, on);
});
