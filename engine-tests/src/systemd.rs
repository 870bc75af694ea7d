//! The systemd cgroup driver seen from systemd's side (`--systemd-cgroup`):
//! a container's cgroup is a transient scope unit, `<prefix>-<id>.scope`,
//! in the slice its engine was given; the tests read the unit's properties
//! with `systemctl show` and check that the unit goes with the container.

use std::time::Duration;

use crate::cmd::{wait_until, Cmd};
use crate::env::{cgroup_of, ensure, ensure_eq, CgroupParent, Env, TestResult};

/// `systemctl show UNIT -p PROP --value`.
pub fn show(env: &Env, unit: &str, prop: &str) -> Result<String, String> {
    let out = env.run_ok(Cmd::new("systemctl").args(["show", unit, "-p", prop, "--value"]))?;
    Ok(out.stdout.trim().to_string())
}

/// Whether systemd has `unit` loaded (active, failed or otherwise listed).
pub fn loaded(env: &Env, unit: &str) -> Result<bool, String> {
    let out = env.run_ok(Cmd::new("systemctl").args([
        "list-units",
        "--all",
        "--no-legend",
        "--plain",
        unit,
    ]))?;
    Ok(out.stdout.lines().any(|l| unit_column(l) == Some(unit)))
}

/// The unit of a `systemctl list-units` line (after the `●` that marks a
/// failed or not-found unit, if any).
fn unit_column(line: &str) -> Option<&str> {
    line.split_whitespace().find(|t| *t != "●" && *t != "*")
}

/// The unit of `pid`'s cgroup (the last component of its v2 path).
pub fn unit_of(pid: i32) -> Result<String, String> {
    let cg = cgroup_of(pid, "memory")?;
    cg.rsplit('/')
        .next()
        .filter(|u| u.ends_with(".scope"))
        .map(str::to_string)
        .ok_or_else(|| format!("pid {pid}'s cgroup {cg} is not a scope unit's"))
}

/// Under the systemd driver: `pid` is in the scope `<prefix>-<id>.scope` of
/// the slice `parent`, active, with `Delegate=yes` (what runc's driver
/// asks for), and its cgroup is the unit's `ControlGroup`. Returns the
/// unit (`None` under cgroupfs, where nothing is checked).
pub fn check_scope(
    env: &Env,
    pid: i32,
    parent: &CgroupParent,
    prefix: &str,
    id: &str,
) -> Result<Option<String>, String> {
    let Some(slice) = &parent.slice else {
        return Ok(None);
    };
    let unit = format!("{prefix}-{id}.scope");
    let want = format!("{}/{unit}", parent.path);
    ensure_eq(
        cgroup_of(pid, "memory")?,
        want.clone(),
        "the container's cgroup",
    )?;
    ensure_eq(show(env, &unit, "ActiveState")?, "active".into(), &unit)?;
    ensure_eq(
        show(env, &unit, "Slice")?,
        slice.clone(),
        &format!("{unit} Slice"),
    )?;
    ensure_eq(
        show(env, &unit, "ControlGroup")?,
        want,
        &format!("{unit} ControlGroup"),
    )?;
    ensure_eq(
        show(env, &unit, "Delegate")?,
        "yes".into(),
        &format!("{unit} Delegate"),
    )?;
    Ok(Some(unit))
}

/// Under the systemd driver, the unit of `pid`'s cgroup has these
/// properties (`MemoryMax`, `CPUQuotaPerSecUSec`, `TasksMax`, ...); nothing
/// under cgroupfs.
pub fn unit_has(env: &Env, pid: i32, props: &[(&str, &str)]) -> TestResult {
    if !env.systemd {
        return Ok(());
    }
    let unit = unit_of(pid)?;
    for (prop, want) in props {
        ensure_eq(
            show(env, &unit, prop)?,
            want.to_string(),
            &format!("{unit} {prop}"),
        )?;
    }
    Ok(())
}

/// The unit of `pid` under the systemd driver (`None` under cgroupfs), to
/// check later that it is gone.
pub fn unit_if_systemd(env: &Env, pid: i32) -> Result<Option<String>, String> {
    if env.systemd {
        unit_of(pid).map(Some)
    } else {
        Ok(None)
    }
}

/// `unit` (if any) is no longer loaded: the container's removal stopped it.
pub fn unit_gone(env: &Env, unit: Option<&str>) -> TestResult {
    let Some(unit) = unit else {
        return Ok(());
    };
    let gone = wait_until(Duration::from_secs(10), || {
        loaded(env, unit).is_ok_and(|l| !l)
    });
    ensure(gone, || format!("the unit {unit} is still loaded"))
}

/// The suite's units still loaded: its slices (named by its unit prefix)
/// and every scope in them (`Slice=` one of them).
pub fn our_units(env: &Env) -> Vec<String> {
    let Ok(out) = env.run_ok(Cmd::new("systemctl").args([
        "list-units",
        "--all",
        "--no-legend",
        "--plain",
        "--type=slice,scope",
    ])) else {
        return Vec::new();
    };
    let units: Vec<String> = out
        .stdout
        .lines()
        .filter_map(unit_column)
        .map(str::to_string)
        .collect();
    let ours = |s: &str| {
        s.starts_with(&format!("{}.", env.unit_prefix))
            || s.starts_with(&format!("{}-", env.unit_prefix))
    };
    let mut found: Vec<String> = units.iter().filter(|u| ours(u)).cloned().collect();
    let scopes: Vec<&String> = units.iter().filter(|u| u.ends_with(".scope")).collect();
    if !scopes.is_empty() {
        let show = env.run_ok(
            Cmd::new("systemctl")
                .args(["show", "-p", "Id", "-p", "Slice"])
                .args(&scopes),
        );
        if let Ok(show) = show {
            for block in show.stdout.split("\n\n") {
                let field = |k: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{k}=")))
                        .unwrap_or_default()
                        .to_string()
                };
                if ours(&field("Slice")) {
                    found.push(field("Id"));
                }
            }
        }
    }
    // Scopes before the slices that hold them.
    found.sort_by_key(|u| !u.ends_with(".scope"));
    found
}
