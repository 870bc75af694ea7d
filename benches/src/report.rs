//! Statistics over the samples and their presentation: a table on stdout, JSON on request.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::measure::{Sample, Subject};

/// Summary of one subject's successful runs.
struct Stats {
    ok: usize,
    total: usize,
    median_ms: f64,
    p90_ms: f64,
    min_ms: f64,
    rss_median_mib: f64,
    rss_max_mib: f64,
}

impl Stats {
    fn of(samples: &[Sample]) -> Option<Stats> {
        let good: Vec<&Sample> = samples.iter().filter(|s| s.ok).collect();
        if good.is_empty() {
            return None;
        }
        let mut ms: Vec<f64> = good.iter().map(|s| millis(s.wall)).collect();
        let mut rss: Vec<f64> = good.iter().map(|s| s.maxrss_kib as f64 / 1024.0).collect();
        ms.sort_by(f64::total_cmp);
        rss.sort_by(f64::total_cmp);
        Some(Stats {
            ok: good.len(),
            total: samples.len(),
            median_ms: median(&ms),
            p90_ms: percentile(&ms, 0.90),
            min_ms: ms[0],
            rss_median_mib: median(&rss),
            rss_max_mib: rss[rss.len() - 1],
        })
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median of sorted values (mean of the middle two for an even count).
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p` of the
/// samples at or below it.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What is being measured, before the runs start.
pub fn print_header(runs: usize, warmup: usize, bundle: &Path, namespace: &str) {
    println!(
        "cella-benches: {runs} sequential `run` of /bin/true per runtime and of the floor (after \
         {} warm-up), round-robin",
        warmup.max(1)
    );
    println!("  bundle: {} (minimal)", bundle.display());
    println!("  every binary run directly; {namespace}");
    println!();
}

/// The results table: ratios relative to the first runtime (the row after the floor) and to
/// the floor (the first row).
pub fn print_table(subjects: &[Subject], samples: &[Vec<Sample>]) {
    let stats: Vec<Option<Stats>> = samples.iter().map(|s| Stats::of(s)).collect();
    let floor = stats[0].as_ref();
    let reference = stats.get(1).and_then(Option::as_ref);
    println!(
        "{:<12} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>8}",
        "runtime", "ok", "median", "p90", "min", "RSS med", "RSS max", "x time", "x RSS", "x floor"
    );
    println!(
        "{:<12} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "", "ms", "ms", "ms", "MiB", "MiB"
    );
    for (i, (subject, stat)) in subjects.iter().zip(&stats).enumerate() {
        let Some(s) = stat else {
            println!("{:<12} {:>7}  (every run failed)", subject.name, "0");
            continue;
        };
        let (x_time, x_rss) = match (i, reference) {
            (0 | 1, _) | (_, None) => (String::new(), String::new()),
            (_, Some(r)) => (
                ratio(s.median_ms, r.median_ms),
                ratio(s.rss_median_mib, r.rss_median_mib),
            ),
        };
        let x_floor = match (i, floor) {
            (1.., Some(f)) => ratio(s.median_ms, f.median_ms),
            _ => String::new(),
        };
        println!(
            "{:<12} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>7} {:>8}",
            subject.name,
            format!("{}/{}", s.ok, s.total),
            s.median_ms,
            s.p90_ms,
            s.min_ms,
            s.rss_median_mib,
            s.rss_max_mib,
            x_time,
            x_rss,
            x_floor
        );
    }
    println!();
    println!(
        "x time, x RSS = ratio to {}; x floor = median over the floor's; RSS = peak RSS of the \
         launched process tree (ru_maxrss from wait4)",
        subjects.get(1).map_or("-", |s| s.name.as_str())
    );
}

fn ratio(value: f64, reference: f64) -> String {
    if reference > 0.0 {
        format!("{:.2}", value / reference)
    } else {
        "-".into()
    }
}

/// Every sample, for later analysis.
pub fn write_json(
    path: &Path,
    namespace: &str,
    subjects: &[Subject],
    samples: &[Vec<Sample>],
) -> Result<(), String> {
    let rows: Vec<_> = subjects
        .iter()
        .zip(samples)
        .map(|(subject, samples)| {
            json!({
                "name": subject.name,
                "binary": subject.binary(),
                "wall_ms": samples.iter().map(|s| millis(s.wall)).collect::<Vec<_>>(),
                "maxrss_kib": samples.iter().map(|s| s.maxrss_kib).collect::<Vec<_>>(),
                "ok": samples.iter().map(|s| s.ok).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({ "namespace": namespace, "subjects": rows });
    let text = serde_json::to_string_pretty(&doc).expect("JSON values");
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}
