//! One table per bundle: a measure's median per runtime, and the first runtime's median over
//! each other runtime's.

use super::series::{
    Series, CREATE, DELETE, EXEC, PAR_DELETE, PAR_RUN, PAR_TOTAL, RSS, RUN, SPLIT, START,
};
use super::Measured;
use crate::measure::Subject;

/// One row: a label, a unit and a value per runtime (None: no successful sample).
struct Row {
    label: String,
    unit: &'static str,
    values: Vec<Option<f64>>,
}

/// The header lines (floor, sample counts) and the table of one bundle.
pub fn print(subjects: &[Subject], m: &Measured, parallel: usize) {
    println!();
    println!("## {} bundle", m.bundle);
    if let Some(floor) = &m.floor {
        match floor.median(RUN) {
            Some(f) => println!(
                "floor (cella-floor): run median {f:.2} ms ({})",
                floor.counts()
            ),
            None => println!("floor (cella-floor): no successful run"),
        }
    }
    for (s, series) in subjects.iter().zip(&m.runtimes) {
        println!("{}: samples: {}", s.name, series.counts());
    }
    println!();
    let rows = rows(subjects, m, parallel);
    print_rows(subjects, &rows);
}

fn rows(subjects: &[Subject], m: &Measured, parallel: usize) -> Vec<Row> {
    let medians = |key: &str| -> Vec<Option<f64>> {
        m.runtimes.iter().map(|s: &Series| s.median(key)).collect()
    };
    let row = |label: &str, unit, key: &str| Row {
        label: label.to_string(),
        unit,
        values: medians(key),
    };
    let mut rows = vec![row(RUN, "ms", RUN)];
    if let Some(f) = m.floor.as_ref().and_then(|f| f.median(RUN)) {
        rows.push(Row {
            label: "  run / floor".into(),
            unit: "x",
            values: medians(RUN).iter().map(|v| v.map(|v| v / f)).collect(),
        });
    }
    for key in [CREATE, START, DELETE, SPLIT, EXEC] {
        rows.push(row(key, "ms", key));
    }
    rows.push(row(
        &format!("{parallel} x run -d, parallel"),
        "ms",
        PAR_RUN,
    ));
    rows.push(row(
        &format!("{parallel} x delete -f, parallel"),
        "ms",
        PAR_DELETE,
    ));
    rows.push(row(&format!("{parallel} parallel, total"), "ms", PAR_TOTAL));
    rows.push(row(RSS, "MiB", RSS));
    rows.push(Row {
        label: "binary size".into(),
        unit: "MiB",
        values: subjects
            .iter()
            .map(|s| {
                std::fs::metadata(s.binary())
                    .ok()
                    .map(|m| m.len() as f64 / (1024.0 * 1024.0))
            })
            .collect(),
    });
    rows
}

fn print_rows(subjects: &[Subject], rows: &[Row]) {
    let first = subjects.first().map_or("-", |s| s.name.as_str());
    let mut header = format!("| {:<28} | {:>4} |", "median", "unit");
    for s in subjects {
        header.push_str(&format!(" {:>8} |", s.name));
    }
    for s in subjects.iter().skip(1) {
        header.push_str(&format!(" {:>12} |", format!("{first}/{}", s.name)));
    }
    println!("{header}");
    let mut rule = String::from("|---|---|");
    for _ in subjects.iter().chain(subjects.iter().skip(1)) {
        rule.push_str("---|");
    }
    println!("{rule}");
    for row in rows {
        let mut line = format!("| {:<28} | {:>4} |", row.label, row.unit);
        for v in &row.values {
            line.push_str(&match v {
                Some(v) => format!(" {v:>8.2} |"),
                None => format!(" {:>8} |", "-"),
            });
        }
        let reference = row.values.first().copied().flatten();
        for v in row.values.iter().skip(1) {
            let ratio = match (reference, v) {
                (Some(a), Some(b)) if *b > 0.0 => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            line.push_str(&format!(" {ratio:>12} |"));
        }
        println!("{line}");
    }
}
