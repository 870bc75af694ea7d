//! `process.selinuxLabel`, `linux.mountLabel` and `exec --process-label` (runc's behaviour is
//! the reference: the label is written to the thread's `attr/exec` before `execve`, for the
//! init and for an exec'd process, and an exec'd process without a label of its own gets the
//! container's; the mount label becomes a `context=` mount option).
//!
//! Which tests run depends on the host. Without SELinux (no selinuxfs) either field must fail
//! `create` and leave nothing (runc refuses the label in its config validator and fails the
//! mount label at its first tmpfs mount, with the kernel's EINVAL for `context=`), and
//! `exec --process-label` must fail before its program runs. With SELinux a context the policy
//! does not know must fail the same way, and the label must be the one the processes run with.
//! The labels of that test are taken from the host (its own and PID 1's), so it needs no
//! particular policy; `process.selinux_label` and `mounts.mount_label` check the rest.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use crate::bundle::{base_config, sh};
use crate::harness::{ensure, ensure_eq, skip, Ctn, Ctx, Output, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = Test::new;
    vec![
        t(
            "selinux",
            "not_enabled_label_refused",
            not_enabled_label_refused,
        ),
        t(
            "selinux",
            "not_enabled_mount_label_refused",
            not_enabled_mount_label_refused,
        ),
        t("selinux", "unknown_label_refused", unknown_label_refused),
        t("selinux", "process_label", process_label),
    ]
}

/// Present when SELinux is enabled (selinuxfs mounted), as runc's go-selinux decides too.
const ENFORCE: &str = "/sys/fs/selinux/enforce";
/// A well-formed context: valid in policies with a container domain, never usable without
/// SELinux.
const CONTAINER_LABEL: &str = "system_u:system_r:container_t:s0";
const CONTAINER_FILE_LABEL: &str = "system_u:object_r:container_file_t:s0";
/// A context whose type no policy has.
const UNKNOWN_LABEL: &str = "system_u:system_r:cella_spec_tests_no_such_t:s0";

pub fn selinux_enabled() -> bool {
    Path::new(ENFORCE).exists()
}

fn no_selinux_needed() -> TestResult {
    if selinux_enabled() {
        return Err(skip(format!(
            "the host has SELinux enabled ({ENFORCE} exists)"
        )));
    }
    Ok(())
}

fn selinux_needed() -> TestResult {
    if !selinux_enabled() {
        return Err(skip(format!("the host has no SELinux (no {ENFORCE})")));
    }
    Ok(())
}

/// A context from `/proc/PID/attr/current` (`self` or a number), without its NUL.
fn context_of(pid: &str) -> Result<String, String> {
    let p = format!("/proc/{pid}/attr/current");
    let text = fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"))?;
    Ok(clean(&text))
}

fn clean(s: &str) -> String {
    s.trim_end_matches(['\0', '\n']).trim().to_string()
}

/// A `create` that must fail: exit status not 0, (under --check-messages) stderr naming
/// `field`, no state directory; the runner's sweep checks that no process or cgroup is left.
fn create_refused(ctx: &Ctx, tag: &str, cfg: &Value, field: &str) -> TestResult {
    let c = Ctn::new(ctx, tag)?;
    c.write_config(cfg)?;
    let out = c.create(&[])?;
    refused(ctx, &out, field, "create")?;
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

/// A running container (`sleep`), with `label` as its process label when given.
fn running<'a>(ctx: &'a Ctx, tag: &str, label: Option<&str>) -> Result<Ctn<'a>, String> {
    let c = Ctn::new(ctx, tag)?;
    let mut cfg = base_config(&["sleep", "1000"]);
    if let Some(l) = label {
        cfg["process"]["selinuxLabel"] = json!(l);
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

/// An `exec --process-label LABEL` that must fail before its program runs (it would create
/// `/exec-ran`).
fn exec_refused(c: &Ctn, label: &str) -> TestResult {
    let out = exec(c, &["--process-label", label], "touch /exec-ran")?;
    let what = format!("exec --process-label {label}");
    refused(c.ctx, &out, "selinuxLabel", &what)?;
    ensure(!c.rootfs().join("exec-ran").exists(), || {
        format!("{what} failed but its program ran")
    })
}

fn with_label(script: &str, label: &str) -> Value {
    let mut cfg = sh(script);
    cfg["process"]["selinuxLabel"] = json!(label);
    cfg
}

/// No SELinux: a process label fails create (runc: "selinux label is specified in config, but
/// selinux is disabled or not supported") and `exec --process-label`; a container and an exec
/// without a label are unaffected.
fn not_enabled_label_refused(ctx: &Ctx) -> TestResult {
    no_selinux_needed()?;
    create_refused(
        ctx,
        "",
        &with_label("true", CONTAINER_LABEL),
        "process.selinuxLabel",
    )?;
    let c = running(ctx, "plain", None)?;
    exec_refused(&c, CONTAINER_LABEL)?;
    let out = exec(&c, &[], "echo ok")?;
    ensure_eq(
        out.stdout.trim(),
        "ok",
        &format!("plain exec ({})", out.describe()),
    )
}

/// No SELinux: a mount label fails create (runc: the kernel's EINVAL for `context=` on the
/// tmpfs at /dev), and nothing is left.
fn not_enabled_mount_label_refused(ctx: &Ctx) -> TestResult {
    no_selinux_needed()?;
    let mut cfg = sh("true");
    cfg["linux"]["mountLabel"] = json!(CONTAINER_FILE_LABEL);
    create_refused(ctx, "", &cfg, "mountLabel")
}

/// SELinux: a context the policy does not know fails create (the kernel refuses it in
/// `attr/exec`, permissive or not), as a process label and as a mount label, and fails
/// `exec --process-label` before the program runs.
fn unknown_label_refused(ctx: &Ctx) -> TestResult {
    selinux_needed()?;
    create_refused(
        ctx,
        "label",
        &with_label("true", UNKNOWN_LABEL),
        "selinuxLabel",
    )?;
    let mut cfg = sh("true");
    cfg["linux"]["mountLabel"] = json!(UNKNOWN_LABEL.replace(":system_r:", ":object_r:"));
    create_refused(ctx, "mount", &cfg, "mountLabel")?;
    let c = running(ctx, "exec", None)?;
    exec_refused(&c, UNKNOWN_LABEL)
}

/// SELinux: the init runs with its label (PID 1's, a context any policy has), an exec'd
/// process without a label gets the container's, and `exec --process-label` (the test's own
/// context) sets the exec'd process's.
fn process_label(ctx: &Ctx) -> TestResult {
    selinux_needed()?;
    let init = context_of("1")?;
    let own = context_of("self")?;
    let probe = "cat /proc/self/attr/current";
    let c = Ctn::new(ctx, "run")?;
    c.write_config(&with_label(probe, &init))?;
    let out = c.run()?;
    ensure_eq(out.code, 0, &format!("run ({})", out.describe()))?;
    ensure_eq(
        clean(&out.stdout).as_str(),
        init.as_str(),
        "the init's label",
    )?;
    let c = running(ctx, "exec", Some(&init))?;
    for (flags, want, what) in [
        (vec![], &init, "exec without --process-label"),
        (
            vec!["--process-label", own.as_str()],
            &own,
            "exec --process-label",
        ),
    ] {
        let out = exec(&c, &flags, probe)?;
        ensure_eq(out.code, 0, &format!("{what} ({})", out.describe()))?;
        ensure_eq(clean(&out.stdout).as_str(), want.as_str(), what)?;
    }
    Ok(())
}
