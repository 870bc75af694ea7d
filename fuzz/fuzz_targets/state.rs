//! A container's `state.json`, as `state`, `list`, `delete` and the other
//! commands read it: parse it and compute what they print.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cella::container::parse_state(data);
});
