//! The command line: any argument vector (split on NUL bytes, each argument
//! taken as raw bytes, UTF-8 or not, as the kernel hands them over) parsed
//! as `cella` parses it. Parse errors are fine, panics are not, and the fast
//! path `cella` tries before clap must make of a line what clap makes of it.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let args: Vec<OsString> = std::iter::once(OsString::from("cella"))
        .chain(
            data.split(|b| *b == 0)
                .map(|a| OsString::from_vec(a.to_vec())),
        )
        .collect();
    let _ = cella_bin::parse_args(args.iter().cloned());
    assert!(cella_bin::fast_path_agrees(&args), "{args:?}");
});
