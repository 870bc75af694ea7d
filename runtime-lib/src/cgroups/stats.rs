//! Resource usage as runc's `events --stats` reports it (its `types.Stats`
//! JSON, which containerd and tools read), from v1 or v2 files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// CPU usage in nanoseconds.
#[derive(Debug, Default, Serialize)]
pub struct CpuUsage {
    /// Total.
    pub total: u64,
    /// Per CPU (v1 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    /// In kernel mode.
    pub kernel: u64,
    /// In user mode.
    pub user: u64,
}

/// CFS throttling.
#[derive(Debug, Default, Serialize)]
pub struct Throttling {
    /// Periods.
    pub periods: u64,
    /// Periods throttled.
    pub throttled_periods: u64,
    /// Time throttled, ns.
    pub throttled_time: u64,
}

/// CPU.
#[derive(Debug, Default, Serialize)]
pub struct Cpu {
    /// Usage.
    pub usage: CpuUsage,
    /// Throttling.
    pub throttling: Throttling,
}

/// One memory counter set.
#[derive(Debug, Default, Serialize)]
pub struct MemoryEntry {
    /// Limit (bytes; 0 when unlimited on v2).
    pub limit: u64,
    /// Usage.
    pub usage: u64,
    /// Peak usage.
    pub max: u64,
    /// Times the limit was hit.
    pub failcnt: u64,
}

/// Memory.
#[derive(Debug, Default, Serialize)]
pub struct Memory {
    /// Page cache.
    pub cache: u64,
    /// Memory.
    pub usage: MemoryEntry,
    /// Memory+swap (v1) or swap (v2).
    pub swap: MemoryEntry,
    /// Kernel memory (v1).
    pub kernel: MemoryEntry,
    /// `memory.stat`, raw.
    pub raw: BTreeMap<String, u64>,
}

/// Pids.
#[derive(Debug, Default, Serialize)]
pub struct Pids {
    /// Current number.
    pub current: u64,
    /// Limit (0 = none).
    pub limit: u64,
}

/// One block I/O counter.
#[derive(Debug, Serialize)]
pub struct BlkioEntry {
    /// Device major.
    pub major: u64,
    /// Device minor.
    pub minor: u64,
    /// Read, Write, ...
    pub op: String,
    /// Value.
    pub value: u64,
}

/// Block I/O.
#[derive(Debug, Default, Serialize)]
pub struct Blkio {
    /// Bytes per device and operation.
    #[serde(rename = "ioServiceBytesRecursive")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// Operations per device and operation.
    #[serde(rename = "ioServicedRecursive")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

/// All of it.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    /// CPU.
    pub cpu: Cpu,
    /// Memory.
    pub memory: Memory,
    /// Pids.
    pub pids: Pids,
    /// Block I/O.
    pub blkio: Blkio,
}

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

fn num(dir: &Path, file: &str) -> u64 {
    read(dir, file)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// `key value` lines.
fn keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// v1: one directory per hierarchy.
pub(crate) fn v1(dirs: &[(String, PathBuf)]) -> Stats {
    let dir = |c: &str| {
        dirs.iter()
            .find(|(n, _)| n.split(',').any(|x| x == c))
            .map(|(_, d)| d.as_path())
    };
    let mut s = Stats::default();
    if let Some(d) = dir("cpuacct") {
        s.cpu.usage.total = num(d, "cpuacct.usage");
        s.cpu.usage.percpu = read(d, "cpuacct.usage_percpu")
            .map(|t| {
                t.split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        // cpuacct.stat counts USER_HZ (100/s) ticks.
        let st = read(d, "cpuacct.stat")
            .map(|t| keyed(&t))
            .unwrap_or_default();
        s.cpu.usage.user = st.get("user").copied().unwrap_or(0) * 10_000_000;
        s.cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * 10_000_000;
    }
    if let Some(d) = dir("cpu") {
        let st = read(d, "cpu.stat").map(|t| keyed(&t)).unwrap_or_default();
        s.cpu.throttling = Throttling {
            periods: st.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: st.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Some(d) = dir("memory") {
        let entry = |prefix: &str| MemoryEntry {
            limit: num(d, &format!("{prefix}.limit_in_bytes")),
            usage: num(d, &format!("{prefix}.usage_in_bytes")),
            max: num(d, &format!("{prefix}.max_usage_in_bytes")),
            failcnt: num(d, &format!("{prefix}.failcnt")),
        };
        s.memory.usage = entry("memory");
        s.memory.swap = entry("memory.memsw");
        s.memory.kernel = entry("memory.kmem");
        s.memory.raw = read(d, "memory.stat")
            .map(|t| keyed(&t))
            .unwrap_or_default();
        s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
    }
    if let Some(d) = dir("pids") {
        s.pids.current = num(d, "pids.current");
        s.pids.limit = num(d, "pids.max");
    }
    if let Some(d) = dir("blkio") {
        s.blkio.io_service_bytes_recursive =
            v1_blkio(read(d, "blkio.throttle.io_service_bytes_recursive"));
        s.blkio.io_serviced_recursive = v1_blkio(read(d, "blkio.throttle.io_serviced_recursive"));
    }
    s
}

fn v1_blkio(text: Option<String>) -> Vec<BlkioEntry> {
    text.unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (maj, min) = f.first()?.split_once(':')?;
            Some(BlkioEntry {
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                op: f.get(1)?.to_string(),
                value: f.get(2)?.parse().ok()?,
            })
        })
        .collect()
}

/// v2: one directory.
pub(crate) fn v2(d: &Path) -> Stats {
    let mut s = Stats::default();
    let cpu = read(d, "cpu.stat").map(|t| keyed(&t)).unwrap_or_default();
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0) * 1000;
    s.cpu.usage.total = us("usage_usec");
    s.cpu.usage.user = us("user_usec");
    s.cpu.usage.kernel = us("system_usec");
    s.cpu.throttling = Throttling {
        periods: cpu.get("nr_periods").copied().unwrap_or(0),
        throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
        throttled_time: us("throttled_usec"),
    };
    let events = read(d, "memory.events")
        .map(|t| keyed(&t))
        .unwrap_or_default();
    s.memory.usage = MemoryEntry {
        limit: num(d, "memory.max"),
        usage: num(d, "memory.current"),
        max: num(d, "memory.peak"),
        failcnt: events.get("max").copied().unwrap_or(0),
    };
    s.memory.swap = MemoryEntry {
        limit: num(d, "memory.swap.max"),
        usage: num(d, "memory.swap.current"),
        max: num(d, "memory.swap.peak"),
        failcnt: 0,
    };
    s.memory.raw = read(d, "memory.stat")
        .map(|t| keyed(&t))
        .unwrap_or_default();
    s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
    s.pids.current = num(d, "pids.current");
    s.pids.limit = num(d, "pids.max");
    for line in read(d, "io.stat").unwrap_or_default().lines() {
        let mut f = line.split_whitespace();
        let Some((maj, min)) = f.next().and_then(|x| x.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse(), min.parse()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut s.blkio.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut s.blkio.io_service_bytes_recursive, "Write"),
                "rios" => (&mut s.blkio.io_serviced_recursive, "Read"),
                "wios" => (&mut s.blkio.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_files_against_a_temp_dir() {
        let d = std::env::temp_dir().join(format!("cella-stats-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("cpu.stat"),
            "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 3\n",
        )
        .unwrap();
        std::fs::write(d.join("memory.current"), "4096\n").unwrap();
        std::fs::write(d.join("memory.max"), "max\n").unwrap();
        std::fs::write(d.join("memory.stat"), "anon 1\nfile 2\n").unwrap();
        std::fs::write(d.join("pids.current"), "2\n").unwrap();
        std::fs::write(
            d.join("io.stat"),
            "8:0 rbytes=5 wbytes=6 rios=1 wios=2 dbytes=0\n",
        )
        .unwrap();
        let s = v2(&d);
        assert_eq!(
            (s.cpu.usage.total, s.cpu.usage.user, s.cpu.usage.kernel),
            (10_000, 6_000, 4_000)
        );
        assert_eq!(s.cpu.throttling.periods, 3);
        assert_eq!(
            (s.memory.usage.usage, s.memory.usage.limit, s.memory.cache),
            (4096, 0, 2)
        );
        assert_eq!(s.pids.current, 2);
        assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
        std::fs::remove_dir_all(d).unwrap();
    }
}
