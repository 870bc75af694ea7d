use std::path::PathBuf;

use cella::container::Runtime;
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// A JSON file of linux.resources ("-" for stdin, as containerd sends).
    #[arg(short = 'r', long)]
    resources: Option<PathBuf>,
    /// Memory limit (bytes, or with a k/m/g suffix; -1 for none).
    #[arg(long, allow_hyphen_values = true)]
    memory: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    memory_reservation: Option<String>,
    /// Memory+swap limit.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Kernel memory limit (v1).
    #[arg(long = "kernel-memory", allow_hyphen_values = true)]
    kernel_memory: Option<String>,
    /// Kernel TCP memory limit (v1).
    #[arg(long = "kernel-memory-tcp", allow_hyphen_values = true)]
    kernel_memory_tcp: Option<String>,
    /// CPU shares.
    #[arg(long = "cpu-share")]
    cpu_share: Option<u64>,
    /// CFS period (µs).
    #[arg(long = "cpu-period")]
    cpu_period: Option<u64>,
    /// CFS quota (µs, -1 for none).
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    cpu_quota: Option<i64>,
    /// CFS burst (µs).
    #[arg(long = "cpu-burst")]
    cpu_burst: Option<u64>,
    /// SCHED_IDLE for the cgroup's tasks (1) or not (0) (cgroup v2 `cpu.idle`).
    #[arg(long = "cpu-idle", allow_hyphen_values = true)]
    cpu_idle: Option<i64>,
    /// Realtime period (µs).
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<u64>,
    /// Realtime runtime (µs).
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    cpu_rt_runtime: Option<i64>,
    /// CPUs the container may use.
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    /// Memory nodes the container may use.
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    /// Maximum number of processes (0 or -1: no limit).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Block I/O weight (10-1000).
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<u16>,
    /// Intel RDT/CAT L3 cache schema (refused: cella has no Intel RDT support).
    #[arg(long = "l3-cache-schema")]
    l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema (refused: cella has no Intel RDT support).
    #[arg(long = "mem-bw-schema")]
    mem_bw_schema: Option<String>,
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    id: String,
}

/// runc's sizes: a number with an optional binary suffix (k, m, g, t; "b"
/// optional, any case), or -1.
fn parse_size(flag: &str, s: &str) -> Result<i64, cella::Error> {
    let bad = || cella::Error::Usage(format!("--{flag} {s:?}: not a size like 512m"));
    if s == "-1" {
        return Ok(-1);
    }
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_end_matches('b');
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    if n < 0.0 {
        return Err(bad());
    }
    Ok((n * mult as f64) as i64)
}

fn set(map: &mut Map<String, Value>, section: &str, key: &str, v: Value) {
    let entry = map.entry(section).or_insert_with(|| json!({}));
    if let Some(o) = entry.as_object_mut() {
        o.insert(key.to_string(), v);
    }
}

fn resources(a: &Args) -> Result<LinuxResources, cella::Error> {
    let mut map = match &a.resources {
        None => Map::new(),
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                cella::spec::read_document(std::io::stdin(), path)
            } else {
                let f = std::fs::File::open(path).map_err(|e| {
                    cella::Error::Usage(format!("--resources {}: {e}", path.display()))
                })?;
                cella::spec::read_document(f, path)
            }
            .map_err(|e| cella::Error::Usage(format!("--resources {}", cella::error::Chain(&e))))?;
            match serde_json::from_slice(&text) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(cella::Error::Usage(format!(
                        "--resources {}: not a JSON object",
                        path.display()
                    )))
                }
                Err(e) => {
                    return Err(cella::Error::Usage(format!(
                        "--resources {}: {e}",
                        path.display()
                    )))
                }
            }
        }
    };
    for (flag, value, key) in [
        ("memory", &a.memory, "limit"),
        ("memory-reservation", &a.memory_reservation, "reservation"),
        ("memory-swap", &a.memory_swap, "swap"),
        ("kernel-memory", &a.kernel_memory, "kernel"),
        ("kernel-memory-tcp", &a.kernel_memory_tcp, "kernelTCP"),
    ] {
        if let Some(v) = value {
            set(&mut map, "memory", key, json!(parse_size(flag, v)?));
        }
    }
    let cpu: [(&str, Option<Value>); 9] = [
        ("shares", a.cpu_share.map(|v| json!(v))),
        ("idle", a.cpu_idle.map(|v| json!(v))),
        ("period", a.cpu_period.map(|v| json!(v))),
        ("quota", a.cpu_quota.map(|v| json!(v))),
        ("burst", a.cpu_burst.map(|v| json!(v))),
        ("realtimePeriod", a.cpu_rt_period.map(|v| json!(v))),
        ("realtimeRuntime", a.cpu_rt_runtime.map(|v| json!(v))),
        ("cpus", a.cpuset_cpus.as_ref().map(|v| json!(v))),
        ("mems", a.cpuset_mems.as_ref().map(|v| json!(v))),
    ];
    for (key, v) in cpu {
        if let Some(v) = v {
            set(&mut map, "cpu", key, v);
        }
    }
    if let Some(p) = a.pids_limit {
        set(&mut map, "pids", "limit", json!(p));
    }
    if let Some(w) = a.blkio_weight {
        set(&mut map, "blockIO", "weight", json!(w));
    }
    // An explicit 0 (a flag or the document) is runtime-spec 1.3's limit 0, as in a config.
    let mut doc = Value::Object(map);
    cella::spec::pids_limit_zero_as_one(&mut doc);
    serde_json::from_value(doc).map_err(|e| cella::Error::Usage(format!("resources: {e}")))
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    // runc updates a container's Intel RDT group with these; cella makes
    // none (linux.intelRdt is refused at create), so there is none to update.
    for (flag, v) in [
        ("--l3-cache-schema", &a.l3_cache_schema),
        ("--mem-bw-schema", &a.mem_bw_schema),
    ] {
        if v.is_some() {
            return Err(cella::Error::Usage(format!(
                "{flag}: Intel RDT is not supported by cella (linux.intelRdt is refused at \
                 create), so there is no RDT group to update"
            ))
            .into());
        }
    }
    let r = resources(&a)?;
    rt.load(&a.id)?.update(&r)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("memory", "512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("memory", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("memory", "1gb").unwrap(), 1 << 30);
        assert_eq!(parse_size("memory", "4096").unwrap(), 4096);
        assert_eq!(parse_size("memory", "-1").unwrap(), -1);
        assert!(parse_size("memory", "lots").is_err());
    }
}
