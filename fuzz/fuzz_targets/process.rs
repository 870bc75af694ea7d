//! `exec --process process.json`: parse and plan the process as `exec` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::Process;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = serde_json::from_slice::<Process>(data) else {
        return;
    };
    let _ = cella::plan::plan_exec_process(&p, 0, None, true);
    let _ = cella::plan::plan_exec_process(&p, 3, Some("x"), false);
});
