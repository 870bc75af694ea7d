//! The samples of one subject (a runtime or the floor) on one bundle, by measure.

use serde_json::json;

use crate::report::median;

/// The measures' keys (and labels, where the table does not relabel them).
pub const RUN: &str = "run";
pub const CREATE: &str = "create";
pub const START: &str = "start";
pub const DELETE: &str = "delete";
pub const SPLIT: &str = "create+start+delete";
pub const EXEC: &str = "exec";
pub const PAR_RUN: &str = "parallel run -d";
pub const PAR_DELETE: &str = "parallel delete -f";
pub const PAR_TOTAL: &str = "parallel total";
pub const RSS: &str = "peak RSS (time -v), run";

/// Samples by measure, in the order the measures were first recorded, and the count of
/// measured commands that failed.
#[derive(Default)]
pub struct Series {
    by_measure: Vec<(&'static str, Vec<f64>)>,
    pub failures: usize,
}

impl Series {
    pub fn push(&mut self, measure: &'static str, value: f64) {
        match self.by_measure.iter_mut().find(|(m, _)| *m == measure) {
            Some((_, v)) => v.push(value),
            None => self.by_measure.push((measure, vec![value])),
        }
    }

    /// The median of `measure`'s samples; None without any.
    pub fn median(&self, measure: &str) -> Option<f64> {
        let (_, v) = self.by_measure.iter().find(|(m, _)| *m == measure)?;
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| median(&v))
    }

    /// "run 20, create 20, ...": how many samples each measure got.
    pub fn counts(&self) -> String {
        let counts: Vec<String> = self
            .by_measure
            .iter()
            .map(|(m, v)| format!("{m} {}", v.len()))
            .collect();
        counts.join(", ")
    }

    /// Every sample, as a JSON object keyed by measure.
    pub fn samples(&self) -> serde_json::Value {
        self.by_measure
            .iter()
            .map(|(m, v)| (m.to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}
