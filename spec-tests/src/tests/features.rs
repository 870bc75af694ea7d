//! `features` (runtime-spec features.md, the document containerd reads) and `--version` in
//! runc's format (containerd parses its first line).

use serde_json::Value;

use crate::harness::{ensure, skip, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("features", name, f);
    vec![t("document", document), t("version", version)]
}

/// `1.2.0-rc.1` → (1, 2, 0); the numeric prefix of each of the first three parts.
fn semver(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.split(['.', '-', '+']).map(|p| {
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().ok()
    });
    Some((parts.next()??, parts.next()??, parts.next()??))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The features JSON: OCI version range, all six hooks, mount options `ro`, `rro` and
/// `nosuid`, every Linux namespace type (`time` too when the runtime claims runtime-spec 1.2
/// or later, which added it), and `linux.cgroup` with v1/v2 booleans.
fn document(ctx: &Ctx) -> TestResult {
    let out = ctx.rt(&["features"])?;
    if out.code != 0 {
        let err = out.stderr.to_lowercase();
        if err.contains("unknown command") || err.contains("no help topic") {
            return Err(skip(format!(
                "the runtime has no `features` command: {}",
                out.stderr.trim()
            )));
        }
        return Err(format!("`features` failed: {}", out.describe()));
    }
    let f: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("`features` output is not JSON ({e}): {}", out.stdout))?;
    let mut errors = Vec::new();
    let min = f["ociVersionMin"].as_str().and_then(semver);
    let max = f["ociVersionMax"].as_str().and_then(semver);
    match (min, max) {
        (Some(a), Some(b)) if a <= b && a.0 == 1 => {}
        _ => errors.push(format!(
            "ociVersionMin {} / ociVersionMax {}: want 1.x versions, min <= max",
            f["ociVersionMin"], f["ociVersionMax"]
        )),
    }
    let hooks = strings(&f["hooks"]);
    for h in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        if !hooks.contains(&h) {
            errors.push(format!("hooks lacks {h:?}: {hooks:?}"));
        }
    }
    let opts = strings(&f["mountOptions"]);
    for o in ["ro", "rro", "nosuid", "bind", "rbind"] {
        if !opts.contains(&o) {
            errors.push(format!("mountOptions lacks {o:?}"));
        }
    }
    let ns = strings(&f["linux"]["namespaces"]);
    let mut want_ns = vec!["cgroup", "ipc", "mount", "network", "pid", "user", "uts"];
    if max.is_some_and(|m| m >= (1, 2, 0)) {
        want_ns.push("time");
    }
    for n in want_ns {
        if !ns.contains(&n) {
            errors.push(format!("linux.namespaces lacks {n:?}: {ns:?}"));
        }
    }
    let cg = &f["linux"]["cgroup"];
    for k in ["v1", "v2"] {
        if !cg[k].is_boolean() {
            errors.push(format!("linux.cgroup.{k} is not a boolean: {cg}"));
        }
    }
    let caps = strings(&f["linux"]["capabilities"]);
    if !caps.contains(&"CAP_SYS_ADMIN") {
        errors.push(format!("linux.capabilities lacks CAP_SYS_ADMIN: {caps:?}"));
    }
    ensure(errors.is_empty(), || errors.join("\n"))
}

/// `--version`: the first line is `NAME version X.Y.Z[...]` (containerd parses it) and one
/// line is `spec: 1.x.y[...]`.
fn version(ctx: &Ctx) -> TestResult {
    let mut cmd = std::process::Command::new(&ctx.runtime);
    cmd.arg("--version");
    let out = ctx.exec(cmd, None)?;
    ensure(out.code == 0, || {
        format!("--version failed: {}", out.describe())
    })?;
    let first = out.stdout.lines().next().unwrap_or("");
    let w: Vec<&str> = first.split_whitespace().collect();
    ensure(
        w.len() == 3 && w[1] == "version" && semver(w[2]).is_some(),
        || format!("first line of --version is {first:?}, want \"NAME version X.Y.Z\""),
    )?;
    let spec = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("spec: "))
        .map(str::trim);
    ensure(spec.and_then(semver).is_some_and(|v| v.0 == 1), || {
        format!("--version has no \"spec: 1.x.y\" line: {:?}", out.stdout)
    })
}
