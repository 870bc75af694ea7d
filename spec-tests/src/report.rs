//! The suite's report: a TAP stream while the tests run (on stdout, or on stderr when stdout
//! gets another format), and at the end a JSON document or a JUnit XML file built from the
//! same records. Every format ends with, or is accompanied by, the closing line
//! `N passed, N failed, N skipped`.

use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};

/// The output format of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tap,
    Json,
    Junit,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "tap" => Ok(Format::Tap),
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            other => Err(format!(
                "--format {other}: unknown format (tap, junit or json)"
            )),
        }
    }
}

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skip,
    /// A failure listed in `--expected-failures` (a known deviation of the runtime).
    ExpectedFail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::ExpectedFail => "xfail",
        }
    }
}

/// One finished test.
#[derive(Debug, Clone)]
pub struct Record {
    pub name: String,
    /// The spec sentence the test checks.
    pub spec: Option<String>,
    pub status: Status,
    /// The failure diagnostic or the skip reason (empty for a pass).
    pub reason: String,
    /// What the test printed.
    pub output: String,
    pub duration: Duration,
}

impl Record {
    fn area(&self) -> &str {
        self.name.split_once('.').map(|(a, _)| a).unwrap_or("")
    }
    fn short(&self) -> &str {
        self.name
            .split_once('.')
            .map(|(_, s)| s)
            .unwrap_or(&self.name)
    }
}

/// Collects the records, streaming TAP as they come.
pub struct Reporter {
    format: Format,
    tap: Box<dyn Write>,
    records: Vec<Record>,
    /// `key value` facts about the run (runtime, rootfs, ...), also TAP comments.
    facts: Vec<(String, String)>,
}

impl Reporter {
    pub fn new(format: Format) -> Reporter {
        let tap: Box<dyn Write> = if format == Format::Tap {
            Box::new(std::io::stdout())
        } else {
            Box::new(std::io::stderr())
        };
        Reporter {
            format,
            tap,
            records: Vec::new(),
            facts: Vec::new(),
        }
    }

    /// The TAP plan line.
    pub fn plan(&mut self, n: usize) {
        let _ = writeln!(self.tap, "1..{n}");
    }

    /// A fact about the run, printed as a TAP comment and kept for the JSON/JUnit report.
    pub fn fact(&mut self, key: &str, value: &str) {
        let _ = writeln!(self.tap, "# {key} {value}");
        self.facts.push((key.to_string(), value.to_string()));
    }

    pub fn record(&mut self, r: Record) {
        let n = self.records.len() + 1;
        let t = &mut self.tap;
        match r.status {
            Status::Pass => {
                let _ = writeln!(t, "ok {n} - {}", r.name);
            }
            Status::Skip => {
                let _ = writeln!(t, "ok {n} - {} # SKIP {}", r.name, one_line(&r.reason));
            }
            Status::Fail => {
                let _ = writeln!(t, "not ok {n} - {}", r.name);
                diag_to(t, &r.reason);
            }
            Status::ExpectedFail => {
                let _ = writeln!(t, "not ok {n} - {} # TODO expected failure", r.name);
                diag_to(t, &r.reason);
            }
        }
        if let Some(spec) = &r.spec {
            let _ = writeln!(t, "# spec: {}", one_line(spec));
        }
        for line in r.output.lines() {
            if line.starts_with('#') {
                let _ = writeln!(t, "{line}");
            } else {
                let _ = writeln!(t, "# {line}");
            }
        }
        if r.duration.as_secs() >= 5 {
            let _ = writeln!(t, "# {} took {:.1}s", r.name, r.duration.as_secs_f64());
        }
        let _ = t.flush();
        self.records.push(r);
    }

    pub fn counts(&self) -> (usize, usize, usize) {
        let c = |s| self.records.iter().filter(|r| r.status == s).count();
        (c(Status::Pass), c(Status::Fail), c(Status::Skip))
    }

    /// How many failures were expected ones.
    pub fn expected_failures(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.status == Status::ExpectedFail)
            .count()
    }

    /// Prints the closing line (and the JSON or JUnit document on stdout).
    pub fn finish(mut self, took: Duration) {
        let (p, f, s) = self.counts();
        let x = self.expected_failures();
        if x > 0 {
            let _ = writeln!(
                self.tap,
                "# {x} expected failures (--expected-failures; not counted as failed)"
            );
        }
        let _ = writeln!(self.tap, "# suite took {:.1}s", took.as_secs_f64());
        let _ = writeln!(self.tap, "{p} passed, {f} failed, {s} skipped");
        let _ = self.tap.flush();
        let doc = match self.format {
            Format::Tap => return,
            Format::Json => {
                serde_json::to_string_pretty(&self.json(took)).unwrap_or_default() + "\n"
            }
            Format::Junit => self.junit(took),
        };
        let mut out = std::io::stdout();
        let _ = out.write_all(doc.as_bytes());
        let _ = out.flush();
    }

    fn json(&self, took: Duration) -> Value {
        let (p, f, s) = self.counts();
        let facts: serde_json::Map<String, Value> = self
            .facts
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let tests: Vec<Value> = self
            .records
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "area": r.area(),
                    "spec": r.spec,
                    "status": r.status.word(),
                    "reason": if r.reason.is_empty() { Value::Null } else { json!(r.reason) },
                    "output": r.output,
                    "duration_s": round3(r.duration.as_secs_f64()),
                })
            })
            .collect();
        json!({
            "suite": "spec-tests",
            "run": facts,
            "passed": p,
            "failed": f,
            "skipped": s,
            "expected_failures": self.expected_failures(),
            "duration_s": round3(took.as_secs_f64()),
            "tests": tests,
        })
    }

    fn junit(&self, took: Duration) -> String {
        let (_, f, s) = self.counts();
        let s = s + self.expected_failures();
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.push_str(&format!(
            "<testsuites name=\"spec-tests\" tests=\"{}\" failures=\"{f}\" skipped=\"{s}\" time=\"{:.3}\">\n",
            self.records.len(),
            took.as_secs_f64()
        ));
        let mut areas: Vec<&str> = Vec::new();
        for r in &self.records {
            if !areas.contains(&r.area()) {
                areas.push(r.area());
            }
        }
        for area in areas {
            let rs: Vec<&Record> = self.records.iter().filter(|r| r.area() == area).collect();
            let fails = rs.iter().filter(|r| r.status == Status::Fail).count();
            let skips = rs
                .iter()
                .filter(|r| matches!(r.status, Status::Skip | Status::ExpectedFail))
                .count();
            let time: f64 = rs.iter().map(|r| r.duration.as_secs_f64()).sum();
            x.push_str(&format!(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\" skipped=\"{skips}\" time=\"{time:.3}\">\n",
                xml(area),
                rs.len()
            ));
            if area == self.records[0].area() {
                x.push_str("    <properties>\n");
                for (k, v) in &self.facts {
                    x.push_str(&format!(
                        "      <property name=\"{}\" value=\"{}\"/>\n",
                        xml(k),
                        xml(v)
                    ));
                }
                x.push_str("    </properties>\n");
            }
            for r in rs {
                x.push_str(&format!(
                    "    <testcase classname=\"spec-tests.{}\" name=\"{}\" time=\"{:.3}\">\n",
                    xml(area),
                    xml(r.short()),
                    r.duration.as_secs_f64()
                ));
                if let Some(spec) = &r.spec {
                    x.push_str(&format!(
                        "      <properties><property name=\"spec\" value=\"{}\"/></properties>\n",
                        xml(spec)
                    ));
                }
                match r.status {
                    Status::Pass => {}
                    Status::Skip => x.push_str(&format!(
                        "      <skipped message=\"{}\"/>\n",
                        xml(&one_line(&r.reason))
                    )),
                    Status::ExpectedFail => x.push_str(&format!(
                        "      <skipped message=\"expected failure: {}\"/>\n",
                        xml(r.reason.lines().next().unwrap_or(""))
                    )),
                    Status::Fail => x.push_str(&format!(
                        "      <failure message=\"{}\">{}</failure>\n",
                        xml(r.reason.lines().next().unwrap_or("")),
                        xml(&r.reason)
                    )),
                }
                if !r.output.is_empty() {
                    x.push_str(&format!(
                        "      <system-out>{}</system-out>\n",
                        xml(&r.output)
                    ));
                }
                x.push_str("    </testcase>\n");
            }
            x.push_str("  </testsuite>\n");
        }
        x.push_str("</testsuites>\n");
        x
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// Prints a (possibly multi-line) text as TAP comment lines.
fn diag_to(w: &mut dyn Write, text: &str) {
    for line in text.lines() {
        let _ = writeln!(w, "# {line}");
    }
}

/// Escapes text for an XML attribute or element; characters XML 1.0 cannot carry at all
/// (control characters but tab, newline and carriage return) become U+FFFD.
pub fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_control_characters() {
        assert_eq!(
            xml("a<b>&\"c'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{fffd}\n"
        );
    }

    #[test]
    fn formats_parse() {
        assert_eq!(Format::parse("junit"), Ok(Format::Junit));
        assert!(Format::parse("xml").is_err());
    }

    #[test]
    fn junit_and_json_carry_every_record() {
        let mut r = Reporter::new(Format::Json);
        r.tap = Box::new(std::io::sink());
        r.fact("runtime", "/usr/bin/x");
        for (name, status, reason) in [
            ("a.one", Status::Pass, ""),
            ("a.two", Status::Fail, "bad <thing>\nsecond line"),
            ("b.three", Status::Skip, "no AppArmor"),
        ] {
            r.record(Record {
                name: name.into(),
                spec: Some("runtime.md: MUST".into()),
                status,
                reason: reason.into(),
                output: String::new(),
                duration: Duration::from_millis(5),
            });
        }
        let j = r.json(Duration::from_secs(1));
        assert_eq!(j["failed"], 1);
        assert_eq!(j["tests"][1]["status"], "fail");
        assert_eq!(j["tests"][2]["reason"], "no AppArmor");
        assert_eq!(j["run"]["runtime"], "/usr/bin/x");
        let x = r.junit(Duration::from_secs(1));
        assert!(x.contains("<testsuite name=\"a\" tests=\"2\" failures=\"1\" skipped=\"0\""));
        assert!(x.contains("<failure message=\"bad &lt;thing&gt;\">"));
        assert!(x.contains("<skipped message=\"no AppArmor\"/>"));
        assert!(x.contains("property name=\"spec\" value=\"runtime.md: MUST\""));
    }
}
