//! The targets of issue [13], evaluated from the measured medians: reports, not assertions
//! (the suite's exit status does not depend on them).

use super::series::{Series, CREATE, DELETE, EXEC, PAR_TOTAL, RSS, RUN, START};
use super::Measured;
use crate::measure::Subject;

/// The runtime the targets compare with.
const REFERENCE: &str = "crun";

/// Prints one line per target and bundle: the first runtime's median, the limit, `met` or
/// `NOT met`; and how many were met.
pub fn print(subjects: &[Subject], results: &[Measured]) {
    println!();
    let Some(first) = subjects.first() else {
        return;
    };
    let reference = subjects
        .iter()
        .skip(1)
        .position(|s| s.name == REFERENCE)
        .map(|i| i + 1);
    println!(
        "targets of issue [13] for {} (medians; reports, not assertions):",
        first.name
    );
    let Some(r) = reference else {
        println!("  not evaluated: no runtime other than the first is named {REFERENCE}");
        return;
    };
    let (mut met, mut total) = (0, 0);
    for m in results {
        let mine = &m.runtimes[0];
        let theirs = &m.runtimes[r];
        let mut check = |what: &str, key: &str, unit: &str, factor: f64, other: Option<&Series>| {
            let line = Target {
                bundle: m.bundle,
                what,
                unit,
                factor,
                reference: if other.is_some() { "floor" } else { REFERENCE },
                value: mine.median(key),
                limit_of: other.unwrap_or(theirs).median(key),
            };
            total += 1;
            met += usize::from(line.print());
        };
        check("run ≤ 0.80 × crun", RUN, "ms", 0.80, None);
        if let Some(floor) = &m.floor {
            check("run ≤ 2 × floor", RUN, "ms", 2.0, Some(floor));
        }
        check("create ≤ 0.80 × crun", CREATE, "ms", 0.80, None);
        check("start ≤ 0.80 × crun", START, "ms", 0.80, None);
        check("delete ≤ 0.80 × crun", DELETE, "ms", 0.80, None);
        check("exec ≤ 0.80 × crun", EXEC, "ms", 0.80, None);
        check("parallel total ≤ 0.80 × crun", PAR_TOTAL, "ms", 0.80, None);
        check("peak RSS ≤ crun's", RSS, "MiB", 1.0, None);
    }
    println!("  {met} of {total} met");
}

/// One target on one bundle: `value ≤ factor × limit_of`.
struct Target<'a> {
    bundle: &'a str,
    what: &'a str,
    unit: &'a str,
    factor: f64,
    reference: &'a str,
    value: Option<f64>,
    limit_of: Option<f64>,
}

impl Target<'_> {
    /// Prints the line; returns whether the target is met.
    fn print(&self) -> bool {
        let label = format!("  {:<10} {:<30}", self.bundle, self.what);
        let (Some(v), Some(of)) = (self.value, self.limit_of) else {
            println!("{label} not measured (a median is missing)  NOT met");
            return false;
        };
        let limit = self.factor * of;
        let met = v <= limit;
        let ratio = if of > 0.0 {
            format!("{:.2}", v / of)
        } else {
            "-".into()
        };
        println!(
            "{label} {v:>9.2} {unit} vs limit {limit:>9.2} {unit} ({ratio} × {} {of:.2}) \
             {}",
            self.reference,
            if met { "met" } else { "NOT met" },
            unit = self.unit,
        );
        met
    }
}
