//! The systemd cgroup driver's decisions (runc's `--systemd-cgroup`): the
//! transient unit a container's cgroup is, in which slice, at which path,
//! and with which properties.
//!
//! `linux.cgroupsPath` is `slice:prefix:name` as in runc: the unit is
//! `<prefix>-<name>.scope` in `slice` (`system.slice` when empty, and
//! `user.slice` for a rootless runtime, whose unit the user's manager
//! makes), and an absent path is `:cella:<id>`. Its cgroup is the slice's
//! path (`-` nests: `a-b.slice` is `/a.slice/a-b.slice`) and the unit's
//! name, below the user manager's own cgroup for a rootless runtime. Limits
//! systemd has properties for are sent as properties as well as written
//! to files, so that systemd re-applies the same values when it reloads.

mod gvariant;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gvariant::Parsed;

use crate::cgroup_types::{CgroupWrite, SystemdUnit, UnitProperty, UserManager};
use crate::dbus::wire::Value;
use crate::error::FieldError;

/// The unit name's prefix when the config gives no cgroups path (runc's is
/// `runc`).
pub const DEFAULT_PREFIX: &str = "cella";
/// The slice of a root runtime's containers when the path gives none.
pub const DEFAULT_SLICE: &str = "system.slice";
/// The slice of a rootless runtime's containers when the path gives none
/// (a slice of the user's manager, as in runc).
pub const DEFAULT_USER_SLICE: &str = "user.slice";
/// The prefix of the annotations that set unit properties.
pub const PROPERTY_ANNOTATION: &str = "org.systemd.property.";

/// The unit for a container: its name and slice from `configured` (the
/// value of `field`), and its start properties; `cgroup_path` gives where
/// its cgroup is. `user`: the user's manager makes it (rootless).
pub fn unit(
    configured: Option<&str>,
    field: &str,
    id: &str,
    annotations: Option<&HashMap<String, String>>,
    user: Option<&UserManager>,
) -> Result<SystemdUnit, FieldError> {
    let (slice, prefix, name) = match configured {
        None | Some("") => ("", DEFAULT_PREFIX, id),
        Some(p) => match p.split(':').collect::<Vec<_>>()[..] {
            [slice, prefix, name] => (slice, prefix, name),
            _ => {
                return Err(FieldError::invalid(
                    field,
                    format!(
                        "{p:?}: the systemd cgroup driver takes slice:prefix:name \
                         (system.slice:docker:1234), as runc does"
                    ),
                ))
            }
        },
    };
    let slice = match (slice, user) {
        ("", None) => DEFAULT_SLICE,
        ("", Some(_)) => DEFAULT_USER_SLICE,
        (slice, _) => slice,
    };
    expand_slice(slice).ok_or_else(|| {
        FieldError::invalid(
            field,
            format!(
                "{slice:?} is not a slice name: it ends in .slice, has no '/', and its \
                 '-'-separated parts are not empty (\"-.slice\" is the root slice)"
            ),
        )
    })?;
    if name.ends_with(".slice") {
        return Err(FieldError::unsupported(
            field,
            format!("{name:?}: a container's unit is a scope; a slice cannot hold its processes"),
        ));
    }
    let unit = format!("{prefix}-{name}.scope");
    if !valid_unit_name(&unit) {
        return Err(FieldError::invalid(
            field,
            format!(
                "{unit:?} is not a systemd unit name: letters, digits and \":-_.\\\" only, \
                 at most 255 bytes"
            ),
        ));
    }
    let mut start = vec![
        UnitProperty::new("Description", Value::Str(format!("cella container {name}"))),
        UnitProperty::new("Slice", Value::Str(slice.to_string())),
        UnitProperty::new("Delegate", Value::Bool(true)),
    ];
    for accounting in [
        "MemoryAccounting",
        "CPUAccounting",
        "IOAccounting",
        "TasksAccounting",
    ] {
        start.push(UnitProperty::new(accounting, Value::Bool(true)));
    }
    start.push(UnitProperty::new("DefaultDependencies", Value::Bool(false)));
    start.extend(annotated_properties(annotations)?);
    Ok(SystemdUnit {
        name: unit,
        slice: slice.to_string(),
        user: user.cloned(),
        start,
        resources: Vec::new(),
        after_init: Vec::new(),
    })
}

/// Where the unit's cgroup is, from the root of the cgroup2 hierarchy: a
/// user manager's slices are below its own cgroup, as runc joins them.
pub fn cgroup_path(unit: &SystemdUnit) -> PathBuf {
    let slice = expand_slice(&unit.slice).unwrap_or_else(|| "/".into());
    let base = match &unit.user {
        Some(u) => Path::new("/").join(&u.control_group),
        None => PathBuf::from("/"),
    };
    base.join(slice.trim_start_matches('/')).join(&unit.name)
}

/// `a-b-c.slice` as a path: `/a.slice/a-b.slice/a-b-c.slice`; `-.slice`
/// is the root. `None` for a name systemd would refuse.
pub fn expand_slice(slice: &str) -> Option<String> {
    let name = slice.strip_suffix(".slice")?;
    if slice.contains('/') || name.is_empty() {
        return None;
    }
    if name == "-" {
        return Some("/".into());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in name.split('-') {
        if part.is_empty() {
            return None;
        }
        path.push_str(&format!("/{prefix}{part}.slice"));
        prefix.push_str(part);
        prefix.push('-');
    }
    Some(path)
}

fn valid_unit_name(name: &str) -> bool {
    name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_' | b'.' | b'\\'))
}

/// The `org.systemd.property.<Name>` annotations as properties, in name
/// order. A name of letters only; a `...Sec` name (a lowercase letter
/// before `Sec`) takes seconds and becomes `...USec` in microseconds, as in
/// runc.
fn annotated_properties(
    annotations: Option<&HashMap<String, String>>,
) -> Result<Vec<UnitProperty>, FieldError> {
    let mut found: Vec<_> = annotations
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, k.strip_prefix(PROPERTY_ANNOTATION)?, v)))
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(key, name, text)| {
            let field = format!("annotations.{key:?}");
            if name.len() < 3 || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(FieldError::invalid(
                    field,
                    "a systemd property name is ASCII letters only, at least 3",
                ));
            }
            let parsed = gvariant::parse(text).map_err(|why| {
                FieldError::invalid(
                    &field,
                    format!("{text:?} is not a GVariant text value: {why}"),
                )
            })?;
            let sec = name
                .strip_suffix("Sec")
                .filter(|t| t.ends_with(|c: char| c.is_ascii_lowercase()));
            let (name, value) = match (sec, parsed) {
                (Some(base), parsed) => (format!("{base}USec"), seconds_to_usec(parsed)),
                (None, Parsed::Value(v)) => (name.to_string(), Some(v)),
                (None, Parsed::Double(_)) => (name.to_string(), None),
            };
            let value = value.ok_or_else(|| {
                FieldError::invalid(
                    &field,
                    format!("{text:?}: a double is only read for a ...Sec property"),
                )
            })?;
            Ok(UnitProperty::new(&name, value))
        })
        .collect()
}

fn seconds_to_usec(parsed: Parsed) -> Option<Value> {
    const M: u64 = 1_000_000;
    let secs: u64 = match parsed {
        Parsed::Double(d) if d >= 0.0 => return Some(Value::U64((d * M as f64) as u64)),
        Parsed::Value(Value::Byte(n)) => n.into(),
        Parsed::Value(Value::I16(n)) => u64::try_from(n).ok()?,
        Parsed::Value(Value::U16(n)) => n.into(),
        Parsed::Value(Value::I32(n)) => u64::try_from(n).ok()?,
        Parsed::Value(Value::U32(n)) => n.into(),
        Parsed::Value(Value::I64(n)) => u64::try_from(n).ok()?,
        Parsed::Value(Value::U64(n)) => n,
        _ => return None,
    };
    secs.checked_mul(M).map(Value::U64)
}

/// The properties that go with a cgroup v2 host's `writes`, for the files
/// systemd manages (`memory.max` is `MemoryMax`, ...). A `cpu.max` quota
/// is rounded up to what systemd can say (a whole percent of a CPU), and
/// its write with it, so that file and property agree.
pub fn resource_properties(writes: &mut [CgroupWrite]) -> Result<Vec<UnitProperty>, FieldError> {
    let idle = writes
        .iter()
        .any(|w| w.file == "cpu.idle" && w.value.trim() == "1");
    let mut props = Vec::new();
    for w in writes.iter_mut() {
        let value = w.value.trim().to_string();
        let bad = |why: &str| FieldError::invalid(&w.field, format!("{value:?}: {why}"));
        let mut push = |name: &str, v: Value, since: u32| {
            props.push(UnitProperty {
                name: name.into(),
                value: v,
                since,
            })
        };
        match w.file.as_str() {
            "memory.max" | "memory.low" | "memory.high" | "memory.min" | "memory.swap.max" => {
                let name = match w.file.as_str() {
                    "memory.max" => "MemoryMax",
                    "memory.low" => "MemoryLow",
                    "memory.high" => "MemoryHigh",
                    "memory.min" => "MemoryMin",
                    _ => "MemorySwapMax",
                };
                push(
                    name,
                    Value::U64(max_or_number(&value).ok_or_else(|| bad("not a number or max"))?),
                    0,
                );
            }
            "pids.max" => {
                let n = max_or_number(&value).ok_or_else(|| bad("not a number or max"))?;
                push("TasksMax", Value::U64(n.max(1)), 0);
            }
            "cpu.idle" if idle => push("CPUWeight", Value::U64(0), 252),
            "cpu.weight" if !idle => {
                let n = value.parse().map_err(|_| bad("not a number"))?;
                push("CPUWeight", Value::U64(n), 0);
            }
            "cpuset.cpus" | "cpuset.mems" => {
                let bits = range_to_bits(&value).ok_or_else(|| bad("not a list of ranges"))?;
                let name = if w.file == "cpuset.cpus" {
                    "AllowedCPUs"
                } else {
                    "AllowedMemoryNodes"
                };
                push(
                    name,
                    Value::Array {
                        elem: "y".into(),
                        items: bits.into_iter().map(Value::Byte).collect(),
                    },
                    244,
                );
            }
            "cpu.max" => {
                let (quota, period) =
                    cpu_max(&value).ok_or_else(|| bad("not \"quota [period]\""))?;
                let (per_sec, rounded) = quota_per_sec(quota, period);
                if let Some(q) = rounded {
                    w.value = format!("{q} {period}");
                }
                push("CPUQuotaPeriodUSec", Value::U64(period), 242);
                push("CPUQuotaPerSecUSec", Value::U64(per_sec), 0);
            }
            _ => {}
        }
    }
    Ok(props)
}

/// `OOMPolicy` from `memory.oom.group`: systemd takes it only when a unit
/// starts.
pub fn oom_policy(writes: &[CgroupWrite]) -> Option<UnitProperty> {
    let w = writes.iter().find(|w| w.file == "memory.oom.group")?;
    let policy = match w.value.trim() {
        "1" => "kill",
        "0" => "continue",
        _ => return None,
    };
    Some(UnitProperty {
        name: "OOMPolicy".into(),
        value: Value::Str(policy.into()),
        since: 253,
    })
}

fn max_or_number(v: &str) -> Option<u64> {
    match v {
        "max" => Some(u64::MAX),
        _ => v.parse().ok(),
    }
}

/// `quota [period]`; `max` is no quota (0).
fn cpu_max(v: &str) -> Option<(u64, u64)> {
    let mut parts = v.split_whitespace();
    let quota = match parts.next()? {
        "max" => 0,
        q => q.parse().ok()?,
    };
    let period = match parts.next() {
        Some(p) => p.parse().ok().filter(|p| *p > 0)?,
        None => 100_000,
    };
    parts.next().is_none().then_some((quota, period))
}

/// `CPUQuotaPerSecUSec` for a quota per period (infinity for none), and the
/// quota it stands for when it had to be rounded up to 10 ms per second.
fn quota_per_sec(quota: u64, period: u64) -> (u64, Option<u64>) {
    if quota == 0 {
        return (u64::MAX, None);
    }
    let per_sec = quota.saturating_mul(1_000_000) / period;
    if per_sec.is_multiple_of(10_000) {
        return (per_sec, None);
    }
    let up = (per_sec / 10_000 + 1) * 10_000;
    (up, Some(up.saturating_mul(period) / 1_000_000))
}

/// `0-3,8` as a bit mask, least significant byte first: bit `n % 8` of
/// byte `n / 8` is CPU (or node) `n`.
fn range_to_bits(list: &str) -> Option<Vec<u8>> {
    let mut bits: Vec<u8> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ),
            None => {
                let n = part.parse().ok()?;
                (n, n)
            }
        };
        if lo > hi || hi >= 1 << 16 {
            return None;
        }
        for n in lo..=hi {
            if bits.len() <= n / 8 {
                bits.resize(n / 8 + 1, 0);
            }
            bits[n / 8] |= 1 << (n % 8);
        }
    }
    (!bits.is_empty()).then_some(bits)
}

#[cfg(test)]
mod tests;
