//! `features` (runtime-spec features.md, the document containerd reads) and `--version` in
//! runc's format (containerd parses its first line).

use serde_json::{json, Value};

use crate::bundle::{add_mount, base_config};
use crate::harness::{ensure, skip, Ctn, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("features", name, f);
    vec![
        t("document", document),
        t("version", version),
        t("mount_options", mount_options),
    ]
}

/// The runtime's `features` document, parsed; a runtime without the command is a skip.
pub(crate) fn features_document(ctx: &Ctx) -> Result<Value, String> {
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
    serde_json::from_str(&out.stdout)
        .map_err(|e| format!("`features` output is not JSON ({e}): {}", out.stdout))
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
    let f = features_document(ctx)?;
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

/// config.md "Linux mount options": every option string of the table with its requirement
/// (`rrelatime` without the table's stray spaces).
const MOUNT_OPTION_TABLE: &[(&str, &str)] = &[
    ("async", "MUST"),
    ("atime", "MUST"),
    ("bind", "MUST"),
    ("defaults", "MUST"),
    ("dev", "MUST"),
    ("diratime", "MUST"),
    ("dirsync", "MUST"),
    ("exec", "MUST"),
    ("iversion", "MUST"),
    ("lazytime", "MUST"),
    ("loud", "MUST"),
    ("mand", "MAY"),
    ("noatime", "MUST"),
    ("nodev", "MUST"),
    ("nodiratime", "MUST"),
    ("noexec", "MUST"),
    ("noiversion", "MUST"),
    ("nolazytime", "MUST"),
    ("nomand", "MAY"),
    ("norelatime", "MUST"),
    ("nostrictatime", "MUST"),
    ("nosuid", "MUST"),
    ("nosymfollow", "SHOULD"),
    ("private", "MUST"),
    ("ratime", "SHOULD"),
    ("rbind", "MUST"),
    ("rdev", "SHOULD"),
    ("rdiratime", "SHOULD"),
    ("relatime", "MUST"),
    ("remount", "MUST"),
    ("rexec", "SHOULD"),
    ("rnoatime", "SHOULD"),
    ("rnodiratime", "SHOULD"),
    ("rnoexec", "SHOULD"),
    ("rnorelatime", "SHOULD"),
    ("rnostrictatime", "SHOULD"),
    ("rnosuid", "SHOULD"),
    ("rnosymfollow", "SHOULD"),
    ("ro", "MUST"),
    ("rprivate", "MUST"),
    ("rrelatime", "SHOULD"),
    ("rro", "SHOULD"),
    ("rrw", "SHOULD"),
    ("rshared", "MUST"),
    ("rslave", "MUST"),
    ("rstrictatime", "SHOULD"),
    ("rsuid", "SHOULD"),
    ("rsymfollow", "SHOULD"),
    ("runbindable", "MUST"),
    ("rw", "MUST"),
    ("shared", "MUST"),
    ("silent", "MUST"),
    ("slave", "MUST"),
    ("strictatime", "MUST"),
    ("suid", "MUST"),
    ("symfollow", "SHOULD"),
    ("sync", "MUST"),
    ("tmpcopyup", "MAY"),
    ("unbindable", "MUST"),
    ("idmap", "SHOULD"),
    ("ridmap", "SHOULD"),
];

/// Options of the table that cannot be tried on a fresh mount by themselves: `remount` needs
/// an existing mount, `idmap`/`ridmap` need a bind mount and mappings (they are tried in
/// `tests/idmap.rs`, their refusals in the bad-config corpus).
const NOT_TRIED_ALONE: &[&str] = &["remount", "idmap", "ridmap"];

/// One mount using option `o`: a bind of a bundle directory for `bind`/`rbind`, a tmpfs for
/// the rest (every other option of the table applies to any mount).
fn mount_with(src: &str, i: usize, o: &str) -> Value {
    let dest = format!("/mnt/st-opt{i}");
    if o == "bind" || o == "rbind" {
        json!({"destination": dest, "type": "bind", "source": src, "options": [o]})
    } else {
        json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": [o]})
    }
}

/// features.md: the runtime "MUST recognize the elements in this array as the options of
/// mounts objects": every option of config.md's table the `mountOptions` list claims is used
/// on a mount of its own, all in one container that must run; if it does not, each is tried
/// alone to name the ones that fail. The table's MUST options must all be claimed; SHOULD and
/// MAY options not claimed are listed.
fn mount_options(ctx: &Ctx) -> TestResult {
    let f = features_document(ctx)?;
    let claimed = strings(&f["mountOptions"]);
    let mut errors = Vec::new();
    let missing: Vec<&str> = MOUNT_OPTION_TABLE
        .iter()
        .filter(|(o, _)| !claimed.contains(o))
        .map(|(o, req)| {
            if *req == "MUST" {
                errors.push(format!("mountOptions lacks {o:?}, a MUST of config.md"));
            }
            *o
        })
        .collect();
    if !missing.is_empty() {
        println!("# not claimed: {}", missing.join(" "));
    }
    let tried: Vec<&str> = MOUNT_OPTION_TABLE
        .iter()
        .map(|(o, _)| *o)
        .filter(|o| claimed.contains(o) && !NOT_TRIED_ALONE.contains(o))
        .collect();
    // Runs the options `opts` in a container of their own, one mount each.
    let run = |opts: &[&str]| {
        let c = Ctn::new(ctx, "")?;
        let src = c.bundle.join("st-src");
        std::fs::create_dir_all(&src).map_err(|e| format!("mkdir {}: {e}", src.display()))?;
        let src = src.to_string_lossy().into_owned();
        let mut cfg = base_config(&["true"]);
        for (i, o) in opts.iter().enumerate() {
            add_mount(&mut cfg, mount_with(&src, i, o));
        }
        c.write_config(&cfg)?;
        c.run()
    };
    let out = run(&tried)?;
    println!(
        "# {} claimed options of the table used at once",
        tried.len()
    );
    if out.code != 0 {
        for o in &tried {
            let out = run(&[o])?;
            if out.code != 0 {
                errors.push(format!("claimed option {o:?} fails: {}", out.describe()));
            }
        }
        if errors.is_empty() {
            errors.push(format!(
                "the claimed options together fail, each alone works: {}",
                out.describe()
            ));
        }
    }
    ensure(errors.is_empty(), || errors.join("\n"))
}
