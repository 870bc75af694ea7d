//! The parallel measure: `n` `run --detach` of the sleeping bundle at once, then `n`
//! `delete --force` at once; the wall time of each phase and their sum.

use std::time::Instant;

use super::series::{Series, PAR_DELETE, PAR_RUN, PAR_TOTAL};
use super::steps::{id, ms, runtime};
use super::Bundle;
use crate::bundle::WorkDir;
use crate::measure::{self, Subject};

/// One round for one runtime. A round with a failed command is not recorded (its failures
/// are counted), but every container it started is deleted.
pub fn round(s: &Subject, work: &WorkDir, bundle: &Bundle, n: usize, r: usize, out: &mut Series) {
    let ids: Vec<String> = (0..n)
        .map(|i| id(s, &format!("{}-p{r}-{i}", bundle.name)))
        .collect();
    let start = Instant::now();
    let mut failed = all_at_once(
        s,
        work,
        &ids,
        &["run", "--detach", "--bundle"],
        &bundle.sleeper,
    );
    let started = ms(start.elapsed());
    let start = Instant::now();
    failed += all_at_once(
        s,
        work,
        &ids,
        &["delete", "--force"],
        std::path::Path::new(""),
    );
    let deleted = ms(start.elapsed());
    if failed == 0 {
        out.push(PAR_RUN, started);
        out.push(PAR_DELETE, deleted);
        out.push(PAR_TOTAL, started + deleted);
    } else {
        out.failures += failed;
    }
}

/// Spawns `VERB... [BUNDLE] ID` for every id, then reaps them all; returns how many failed.
fn all_at_once(
    s: &Subject,
    work: &WorkDir,
    ids: &[String],
    verb: &[&str],
    bundle: &std::path::Path,
) -> usize {
    let bundle = (!bundle.as_os_str().is_empty()).then_some(bundle);
    let children: Vec<_> = ids
        .iter()
        .map(|cid| {
            let log = work.path().join(format!("{cid}.log"));
            measure::spawn(&runtime(s, verb, bundle, cid), &log)
        })
        .collect();
    let mut failed = 0;
    for child in children {
        if let Err(e) = child.map_err(|e| e.to_string()).and_then(measure::reap) {
            failed += 1;
            eprintln!("cella-benches: {} parallel {}: {e}", s.name, verb[0]);
        }
    }
    failed
}
