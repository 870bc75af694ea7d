//! Comparing the two observations of each case, and the tally: which differences are listed
//! in the expected-differences file, which are not, and which listed ones no longer occur.

use std::collections::BTreeSet;

use crate::corpus::Case;
use crate::expected::Entry;
use crate::observe::{Obs, NOTE_STDERR};

pub struct Tally {
    expected: Vec<Entry>,
    used: Vec<bool>,
    same: usize,
    different: usize,
    expected_only: usize,
    unexpected: usize,
}

/// The keys whose values differ; when the outcome itself differs (one side ran, the other
/// refused), the outcome alone: the rest follows from it.
pub fn differing_keys(r: &Obs, t: &Obs) -> Vec<String> {
    if r.get("outcome") != t.get("outcome") {
        return vec!["outcome".into()];
    }
    let keys: BTreeSet<&String> = r.keys().chain(t.keys()).collect();
    keys.into_iter()
        .filter(|k| *k != NOTE_STDERR && r.get(*k) != t.get(*k))
        .cloned()
        .collect()
}

/// How two values differ, in a few comment lines.
fn describe(r: Option<&String>, t: Option<&String>) -> Vec<String> {
    let none = String::from("<absent>");
    let (r, t) = (r.unwrap_or(&none), t.unwrap_or(&none));
    if !r.contains('\n') && !t.contains('\n') {
        return vec![
            format!("  reference: {}", clip(r)),
            format!("  runtime:   {}", clip(t)),
        ];
    }
    let rl: Vec<&str> = r.lines().collect();
    let tl: Vec<&str> = t.lines().collect();
    let mut v: Vec<String> = Vec::new();
    v.extend(
        rl.iter()
            .filter(|l| !tl.contains(l))
            .map(|l| format!("  - {}", clip(l))),
    );
    v.extend(
        tl.iter()
            .filter(|l| !rl.contains(l))
            .map(|l| format!("  + {}", clip(l))),
    );
    if v.is_empty() {
        v.push("  (same lines, in another order)".into());
    }
    v.truncate(12);
    v
}

fn clip(s: &str) -> String {
    let c: String = s.chars().take(300).collect();
    if c.len() < s.len() {
        format!("{c}...")
    } else {
        c
    }
}

impl Tally {
    pub fn new(expected: Vec<Entry>) -> Tally {
        let used = vec![false; expected.len()];
        Tally {
            expected,
            used,
            same: 0,
            different: 0,
            expected_only: 0,
            unexpected: 0,
        }
    }

    /// Prints the case's TAP line (and the differences as comments) and counts it.
    pub fn case(&mut self, n: usize, case: &Case, r: &Obs, t: &Obs) {
        let keys = differing_keys(r, t);
        if keys.is_empty() {
            self.same += 1;
            println!("ok {n} - {}", case.name);
            return;
        }
        self.different += 1;
        let mut lines = Vec::new();
        let mut unexpected = 0;
        for k in &keys {
            let hit = self.expected.iter().position(|e| e.matches(&case.name, k));
            match hit {
                Some(i) => {
                    self.used[i] = true;
                    lines.push(format!("# {k}: expected ({})", self.expected[i].reason));
                }
                None => {
                    unexpected += 1;
                    lines.push(format!("# {k}: differs"));
                }
            }
            lines.extend(
                describe(r.get(k), t.get(k))
                    .into_iter()
                    .map(|l| format!("#{l}")),
            );
            if k == "outcome" {
                for (side, o) in [("reference", r), ("runtime", t)] {
                    if let Some(e) = o.get(NOTE_STDERR).filter(|e| !e.is_empty()) {
                        lines.push(format!(
                            "#   {side} said: {}",
                            clip(&e.replace('\n', " / "))
                        ));
                    }
                }
            }
        }
        if unexpected == 0 {
            self.expected_only += 1;
            println!("ok {n} - {} # TODO expected difference", case.name);
        } else {
            self.unexpected += 1;
            println!("not ok {n} - {}", case.name);
        }
        for l in lines {
            println!("{l}");
        }
    }

    /// Reports the stale entries (listed, matching a case that ran, but no longer differing)
    /// and the closing line; true when nothing unexpected happened.
    pub fn finish(&self, cases: &[Case]) -> bool {
        let mut stale = 0;
        for (e, used) in self.expected.iter().zip(&self.used) {
            let ran = cases
                .iter()
                .any(|c| crate::expected::glob(&e.case, &c.name));
            if ran && !used {
                stale += 1;
                println!(
                    "not ok - stale expected difference {} {} ({}): it no longer occurs; remove it",
                    e.case, e.key, e.at
                );
            }
        }
        println!(
            "{} same, {} different ({} expected), {} unexpected, {} stale",
            self.same, self.different, self.expected_only, self.unexpected, stale
        );
        self.unexpected == 0 && stale == 0
    }
}
