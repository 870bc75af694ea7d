//! Peak RSS of `run`: `/usr/bin/time -v -o FILE BINARY --root ROOT run --bundle B ID`, run
//! directly; "Maximum resident set size" covers the runtime's process and the children it
//! waited for, not the driver.

use std::ffi::OsString;

use super::series::{Series, RSS};
use super::steps::id;
use super::Bundle;
use crate::bundle::WorkDir;
use crate::measure::{self, Subject};

/// One run under `/usr/bin/time` for one runtime; records MiB, or counts the failure.
pub fn round(s: &Subject, work: &WorkDir, bundle: &Bundle, r: usize, out: &mut Series) {
    match peak_rss_kib(s, work, bundle, r) {
        Ok(kib) => out.push(RSS, kib as f64 / 1024.0),
        Err(e) => {
            out.failures += 1;
            eprintln!(
                "cella-benches: {} RSS run {r} ({}): {e}",
                s.name, bundle.name
            );
        }
    }
}

fn peak_rss_kib(s: &Subject, work: &WorkDir, bundle: &Bundle, r: usize) -> Result<u64, String> {
    let out = work.path().join(format!("{}-time-{r}.txt", s.name));
    let cid = id(s, &format!("{}-m{r}", bundle.name));
    let mut argv: Vec<OsString> = vec![
        "/usr/bin/time".into(),
        "-v".into(),
        "-o".into(),
        out.clone().into(),
    ];
    let run = [
        OsString::from("run"),
        "--bundle".into(),
        bundle.path.clone().into(),
        cid.clone().into(),
    ];
    argv.extend(s.argv(&run).ok_or("not a runtime")?);
    let sample = measure::measure(&argv);
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    if !sample.ok {
        let _ = measure::measure(&super::steps::runtime(
            s,
            &["delete", "--force"],
            None,
            &cid,
        ));
        return Err(sample.error);
    }
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "no \"Maximum resident set size\" in /usr/bin/time's output".into())
}
