//! `spec-checker --hook NAME LOG`: run as a hook, read the state the runtime gives on stdin
//! and append one line to LOG: `NAME ok STATUS PID MNT-NS` or `NAME not ok REASONS`, where the
//! state is checked against runtime.md "State" (ociVersion, id, status one of the four,
//! pid when created or running, an absolute bundle, annotations a map when present).

use std::fs::OpenOptions;
use std::io::{Read, Write};

use crate::json::{self, Json};

/// The problems of a state document (none: it follows runtime.md).
pub fn state_problems(st: &Json) -> Vec<String> {
    let mut p = Vec::new();
    for f in ["ociVersion", "id", "bundle"] {
        if !matches!(st.get(f).as_str(), Some(s) if !s.is_empty()) {
            p.push(format!("{f} missing or not a string"));
        }
    }
    let status = st.get("status").as_str().unwrap_or("");
    if !["creating", "created", "running", "stopped"].contains(&status) {
        p.push(format!(
            "status {status:?} is not creating/created/running/stopped"
        ));
    }
    if matches!(status, "created" | "running")
        && !matches!(st.get("pid").as_i64(), Some(x) if x > 0)
    {
        p.push(format!("pid is REQUIRED when {status}"));
    }
    if !st.get("bundle").as_str().unwrap_or("/").starts_with('/') {
        p.push("bundle is not an absolute path".into());
    }
    let ann = st.get("annotations");
    if !ann.is_null() && !matches!(ann, Json::Obj(_)) {
        p.push("annotations is not a map".into());
    }
    p
}

/// Runs the hook mode; the exit code is 0 unless the log cannot be written.
pub fn run(name: &str, log: &str) -> i32 {
    let mut text = String::new();
    let _ = std::io::stdin().read_to_string(&mut text);
    let line = match json::parse(&text) {
        Err(e) => format!("{name} not ok stdin is not a state document: {e}"),
        Ok(st) => {
            let problems = state_problems(&st);
            if problems.is_empty() {
                let mnt = std::fs::read_link("/proc/self/ns/mnt")
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!(
                    "{name} ok {} {} {mnt}",
                    st.get("status").as_str().unwrap_or(""),
                    st.get("pid").as_i64().unwrap_or(0)
                )
            } else {
                format!("{name} not ok {}", problems.join("; "))
            }
        }
    };
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| writeln!(f, "{line}"));
    match written {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("spec-checker: cannot append to {log}: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_checked_against_runtime_md() {
        let good = json::parse(
            r#"{"ociVersion":"1.2.0","id":"a","status":"created","pid":7,"bundle":"/b"}"#,
        )
        .unwrap();
        assert!(state_problems(&good).is_empty());
        let bad =
            json::parse(r#"{"id":"a","status":"running","bundle":"b","annotations":[]}"#).unwrap();
        let p = state_problems(&bad);
        assert_eq!(p.len(), 4, "{p:?}");
    }
}
