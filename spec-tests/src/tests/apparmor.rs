//! `process.apparmorProfile` and `exec --apparmor` (runc's behaviour is the reference: it asks
//! the kernel to change to the profile at the program's `execve`, for the init and for an
//! exec'd process, and an exec'd process without a profile of its own gets the container's).
//!
//! Which tests run depends on the host: without AppArmor every profile (`unconfined`
//! included) must fail, as the kernel refuses runc's write; with it an unknown profile must
//! fail; with `apparmor_parser` and securityfs a profile this test loads must confine the
//! program (a write it denies fails) while `unconfined` does not.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::bundle::{base_config, sh};
use crate::harness::{ensure, ensure_eq, run_host, skip, Ctn, Ctx, Output, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = Test::new;
    vec![
        t("apparmor", "not_enabled_refused", not_enabled_refused),
        t(
            "apparmor",
            "unknown_profile_refused",
            unknown_profile_refused,
        ),
        t("apparmor", "profile_confines", profile_confines),
    ]
}

const ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
/// A name no policy has.
const UNKNOWN: &str = "cella-spec-tests-no-such-profile";
/// The profile `profile_confines` loads: everything allowed but writing `/aa-denied`.
const PROFILE: &str = "cella-spec-tests-deny-write";
/// The program: prints its confinement and whether the write went through.
const PROBE: &str =
    "cat /proc/self/attr/current; echo; if echo x > /aa-denied; then echo wrote; else echo denied; fi";

fn apparmor_enabled() -> bool {
    fs::read(ENABLED).is_ok_and(|b| b.first() == Some(&b'Y'))
}

fn with_profile(script: &str, profile: &str) -> Value {
    let mut cfg = sh(script);
    cfg["process"]["apparmorProfile"] = json!(profile);
    cfg
}

/// A `create` that must fail: exit 1, (under --check-messages) stderr naming the field, no
/// state directory; the runner's sweep checks that no process or cgroup is left.
fn create_refused(ctx: &Ctx, tag: &str, cfg: &Value) -> TestResult {
    let c = Ctn::new(ctx, tag)?;
    c.write_config(cfg)?;
    let out = c.create(&[])?;
    refused(ctx, &out, "process.apparmorProfile", "create")?;
    println!("# refused: {}", out.stderr.trim().replace('\n', " "));
    let state_dir = ctx.root.join(&c.id);
    ensure(!state_dir.exists(), || {
        format!("state directory left: {}", state_dir.display())
    })
}

fn refused(ctx: &Ctx, out: &Output, field: &str, what: &str) -> TestResult {
    ensure(out.code != 0, || {
        format!("{what} should fail: {}", out.describe())
    })?;
    ensure(!ctx.check_messages || out.stderr.contains(field), || {
        format!("{what}: stderr should name {field}: {}", out.describe())
    })
}

/// A running container (`sleep`), with `profile` when given.
fn running<'a>(ctx: &'a Ctx, tag: &str, profile: Option<&str>) -> Result<Ctn<'a>, String> {
    let c = Ctn::new(ctx, tag)?;
    let mut cfg = base_config(&["sleep", "1000"]);
    if let Some(p) = profile {
        cfg["process"]["apparmorProfile"] = json!(p);
    }
    c.write_config(&cfg)?;
    c.start_new()?;
    Ok(c)
}

fn exec(c: &Ctn, flags: &[&str], script: &str) -> Result<Output, String> {
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[&c.id, "sh", "-c", script]);
    c.ctx.rt(&args)
}

/// An `exec --apparmor PROFILE` that must fail before its program runs (it would create
/// `/exec-ran`).
fn exec_refused(c: &Ctn, profile: &str) -> TestResult {
    let out = exec(c, &["--apparmor", profile], "touch /exec-ran")?;
    refused(
        c.ctx,
        &out,
        "apparmorProfile",
        &format!("exec --apparmor {profile}"),
    )?;
    ensure(!c.rootfs().join("exec-ran").exists(), || {
        format!("exec --apparmor {profile} failed but its program ran")
    })
}

/// No AppArmor: runc writes `exec PROFILE` to the kernel's attribute and the kernel refuses it
/// (EINVAL), `unconfined` included, for the init and for `exec --apparmor`; a container and an
/// exec without a profile are unaffected.
fn not_enabled_refused(ctx: &Ctx) -> TestResult {
    if apparmor_enabled() {
        return Err(skip(format!(
            "the host has AppArmor enabled ({ENABLED} is Y)"
        )));
    }
    for (tag, profile) in [("unconfined", "unconfined"), ("named", UNKNOWN)] {
        create_refused(ctx, tag, &with_profile("true", profile))?;
    }
    let c = running(ctx, "plain", None)?;
    for profile in ["unconfined", UNKNOWN] {
        exec_refused(&c, profile)?;
    }
    let out = exec(&c, &[], "echo ok")?;
    ensure_eq(
        out.stdout.trim(),
        "ok",
        &format!("plain exec ({})", out.describe()),
    )
}

/// AppArmor enabled: a profile the kernel has not loaded fails create (the kernel's ENOENT),
/// and `exec --apparmor` with it fails before the program runs.
fn unknown_profile_refused(ctx: &Ctx) -> TestResult {
    if !apparmor_enabled() {
        return Err(skip(format!(
            "the host has no AppArmor ({ENABLED} is not Y)"
        )));
    }
    create_refused(ctx, "", &with_profile("true", UNKNOWN))?;
    let c = running(ctx, "exec", None)?;
    exec_refused(&c, UNKNOWN)
}

/// The profile `PROFILE`, loaded for the test and removed when dropped.
struct Loaded {
    parser: PathBuf,
    file: PathBuf,
}

impl Loaded {
    fn new(parser: &Path, dir: &Path) -> Result<Loaded, String> {
        // Everything the runtime and the shell need (signals from the unconfined runtime,
        // its reads of the process's /proc files), but one file.
        let text = format!(
            "profile {PROFILE} flags=(attach_disconnected,mediate_deleted) {{\n  file,\n  \
             capability,\n  network,\n  signal,\n  ptrace,\n  unix,\n  mount,\n  umount,\n  \
             pivot_root,\n  deny /aa-denied w,\n}}\n"
        );
        let file = dir.join(format!("{PROFILE}.profile"));
        fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        let loaded = Loaded {
            parser: parser.to_path_buf(),
            file,
        };
        run_host(&[
            &loaded.parser.to_string_lossy(),
            "-r",
            &loaded.file.to_string_lossy(),
        ])?;
        Ok(loaded)
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let parser = self.parser.to_string_lossy();
        let _ = run_host(&[&parser, "-R", &self.file.to_string_lossy()]);
        let _ = fs::remove_file(&self.file);
    }
}

fn apparmor_parser() -> Option<PathBuf> {
    ["/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// `PROBE`'s output: (the confinement, "wrote" or "denied").
fn probe_result(out: &str) -> (String, String) {
    let mut lines = out
        .lines()
        .map(|l| l.trim_end_matches('\0').trim().to_string());
    let label = lines.next().unwrap_or_default();
    let result = lines.rfind(|l| !l.is_empty()).unwrap_or_default();
    (label, result)
}

fn expect_probe(out: &Output, what: &str, confined: bool) -> TestResult {
    ensure_eq(out.code, 0, &format!("{what} ({})", out.describe()))?;
    let (label, result) = probe_result(&out.stdout);
    let (want_label, want) = if confined {
        (format!("{PROFILE} (enforce)"), "denied")
    } else {
        ("unconfined".to_string(), "wrote")
    };
    ensure_eq(
        label.as_str(),
        want_label.as_str(),
        &format!("{what}: /proc/self/attr/current"),
    )?;
    ensure_eq(
        result.as_str(),
        want,
        &format!("{what}: the write of /aa-denied"),
    )
}

/// A loaded profile confines the init (the write it denies fails) and `unconfined` does not;
/// `exec --apparmor` does the same for an exec'd process, and an exec'd process without a
/// profile gets the container's (runc).
fn profile_confines(ctx: &Ctx) -> TestResult {
    if !apparmor_enabled() {
        return Err(skip(format!(
            "the host has no AppArmor ({ENABLED} is not Y)"
        )));
    }
    let parser = match apparmor_parser() {
        Some(p) if Path::new("/sys/kernel/security/apparmor").is_dir() => p,
        _ => {
            return Err(skip(
                "no apparmor_parser or no /sys/kernel/security/apparmor to load a profile with",
            ))
        }
    };
    let _loaded = Loaded::new(&parser, &ctx.work)?;
    for (profile, confined) in [(PROFILE, true), ("unconfined", false)] {
        let c = Ctn::new(ctx, if confined { "run" } else { "unconfined" })?;
        c.write_config(&with_profile(PROBE, profile))?;
        expect_probe(&c.run()?, &format!("run with {profile}"), confined)?;
    }
    let plain = running(ctx, "plain", None)?;
    expect_probe(
        &exec(&plain, &["--apparmor", PROFILE], PROBE)?,
        "exec --apparmor",
        true,
    )?;
    expect_probe(
        &exec(&plain, &[], PROBE)?,
        "exec, unconfined container",
        false,
    )?;
    let confined = running(ctx, "confined", Some(PROFILE))?;
    expect_probe(
        &exec(&confined, &[], PROBE)?,
        "exec, confined container",
        true,
    )?;
    let out = exec(&confined, &["--apparmor", "unconfined"], PROBE)?;
    expect_probe(
        &out,
        "exec --apparmor unconfined, confined container",
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_is_read_past_the_label_nul() {
        let out = "cella-spec-tests-deny-write (enforce)\0\nsh: can't create /aa-denied\ndenied\n";
        assert_eq!(
            probe_result(out),
            (
                "cella-spec-tests-deny-write (enforce)".to_string(),
                "denied".to_string()
            )
        );
    }
}
