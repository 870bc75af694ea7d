//! The command line: any argument vector (split on NUL bytes, each argument
//! taken as raw bytes, UTF-8 or not, as the kernel hands them over) parsed
//! as `cella` parses it. Parse errors are fine, panics are not.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let args = std::iter::once(OsString::from("cella")).chain(
        data.split(|b| *b == 0)
            .map(|a| OsString::from_vec(a.to_vec())),
    );
    let _ = cella_bin::parse_args(args);
});
