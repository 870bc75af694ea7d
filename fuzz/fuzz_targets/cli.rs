//! The command line: any argument vector (split on NUL bytes) parsed as
//! `cella` parses it. Parse errors are fine, panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let args = std::iter::once("cella".to_string()).chain(
        data.split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned()),
    );
    let _ = cella_bin::parse_args(args);
});
