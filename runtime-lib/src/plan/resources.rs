//! `linux.resources` → the cgroup files to write, for v1 or v2. Pure: the
//! same function serves `create`, `update` and `cella plan`, and the value
//! conversions between the versions (runc's) are unit-tested here.

use std::collections::HashMap;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxNetwork, LinuxPids, LinuxRdma,
    LinuxResources, LinuxThrottleDevice, LinuxWeightDevice,
};

use crate::cgroup_types::{CgroupWrite, Version};
use crate::error::FieldError;

struct Out {
    version: Version,
    writes: Vec<CgroupWrite>,
}

impl Out {
    fn push(&mut self, field: &str, controller: &'static str, file: &str, value: impl ToString) {
        self.writes.push(CgroupWrite {
            field: format!("linux.resources.{field}"),
            controller,
            file: file.to_string(),
            value: value.to_string(),
            optional: false,
        });
    }
}

fn refuse<T>(field: &str, reason: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError::invalid(
        format!("linux.resources.{field}"),
        reason,
    ))
}

/// A field the host's cgroup version has no file for.
fn cannot<T>(field: &str, reason: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError::unsupported(
        format!("linux.resources.{field}"),
        reason,
    ))
}

/// runc's conversion of v1 `cpu.shares` [2, 262144] to v2 `cpu.weight`
/// [1, 10000].
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// runc's conversion of v1 `blkio.weight` [10, 1000] to v2 `io.weight`
/// [1, 10000].
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight.clamp(10, 1000)) - 10) * 9999 / 990
}

/// A value that was given and is not zero. runc treats a zero in these
/// fields as "not set" (it writes nothing), and engines rely on that: Docker
/// sends `cpu.shares: 0` and `blockIO.weight: 0` for every container, which
/// written as such would set the lowest weight the kernel allows.
fn given<T: Default + PartialEq>(v: Option<T>) -> Option<T> {
    v.filter(|x| *x != T::default())
}

/// `-1` means unlimited; v1 spells it `-1`, v2 `max`.
fn limit(v: i64, version: Version) -> String {
    match (v, version) {
        (v, Version::V2) if v < 0 => "max".to_string(),
        (v, _) if v < 0 => "-1".to_string(),
        (v, _) => v.to_string(),
    }
}

/// The writes for `r` (devices excluded: they are a program or rule list of
/// their own), in an order the kernel accepts.
pub fn cgroup_writes(r: &LinuxResources, version: Version) -> Result<Vec<CgroupWrite>, FieldError> {
    let mut out = Out {
        version,
        writes: Vec::new(),
    };
    if let Some(m) = r.memory() {
        memory(&mut out, m)?;
    }
    if let Some(c) = r.cpu() {
        cpu(&mut out, c)?;
    }
    if let Some(p) = r.pids() {
        pids(&mut out, p);
    }
    if let Some(b) = r.block_io() {
        block_io(&mut out, b)?;
    }
    hugepage_limits(&mut out, r.hugepage_limits().as_deref().unwrap_or_default())?;
    if let Some(n) = r.network() {
        network(&mut out, n)?;
    }
    rdma(&mut out, r.rdma().as_ref());
    unified(&mut out, r.unified().as_ref())?;
    Ok(out.writes)
}

/// `pids.limit`: 0 is "not set" (an explicit 0 in a config was made 1 when
/// it was read: `spec::pids_limit_zero_as_one`), a negative value unlimited.
fn pids(out: &mut Out, p: &LinuxPids) {
    let v = match p.limit() {
        0 => return,
        l if l > 0 => l.to_string(),
        _ => "max".to_string(),
    };
    out.push("pids.limit", "pids", "pids.max", v);
}

fn hugepage_limits(out: &mut Out, limits: &[LinuxHugepageLimit]) -> Result<(), FieldError> {
    for (i, h) in limits.iter().enumerate() {
        let size = h.page_size();
        // The size becomes part of a file name.
        if size.is_empty() || !size.chars().all(|c| c.is_ascii_alphanumeric()) {
            return refuse(
                &format!("hugepageLimits[{i}].pageSize"),
                format!("{size:?} is not a page size like 2MB"),
            );
        }
        let suffix = match out.version {
            Version::V1 => "limit_in_bytes",
            Version::V2 => "max",
        };
        let value = limit(h.limit(), out.version);
        let field = format!("hugepageLimits[{i}]");
        out.push(
            &field,
            "hugetlb",
            &format!("hugetlb.{size}.{suffix}"),
            &value,
        );
        // The reservation limit too, where the kernel has one (runtime-spec
        // 1.3 limits reservations "if supported"; runc writes both).
        out.push(
            &field,
            "hugetlb",
            &format!("hugetlb.{size}.rsvd.{suffix}"),
            &value,
        );
        if let Some(w) = out.writes.last_mut() {
            w.optional = true;
        }
    }
    Ok(())
}

fn network(out: &mut Out, n: &LinuxNetwork) -> Result<(), FieldError> {
    if out.version == Version::V2
        && (n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()))
    {
        return cannot("network", "net_cls and net_prio exist only on cgroup v1");
    }
    if let Some(id) = n.class_id() {
        out.push("network.classID", "net_cls", "net_cls.classid", id);
    }
    for (i, p) in n.priorities().iter().flatten().enumerate() {
        out.push(
            &format!("network.priorities[{i}]"),
            "net_prio",
            "net_prio.ifpriomap",
            format!("{} {}", p.name(), p.priority()),
        );
    }
    Ok(())
}

/// `rdma`, by device name (the config's map has no order of its own).
fn rdma(out: &mut Out, rdma: Option<&HashMap<String, LinuxRdma>>) {
    let mut rdma: Vec<_> = rdma.into_iter().flatten().collect();
    rdma.sort_by(|a, b| a.0.cmp(b.0));
    for (dev, l) in rdma {
        let mut parts = vec![dev.clone()];
        if let Some(h) = l.hca_handles() {
            parts.push(format!("hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            parts.push(format!("hca_object={o}"));
        }
        if parts.len() > 1 {
            out.push(&format!("rdma.{dev}"), "rdma", "rdma.max", parts.join(" "));
        }
    }
}

/// `unified`, by file name; the refusals are checked in that order too.
fn unified(out: &mut Out, unified: Option<&HashMap<String, String>>) -> Result<(), FieldError> {
    let mut unified: Vec<_> = unified.into_iter().flatten().collect();
    unified.sort();
    for (key, value) in unified {
        let field = format!("unified.{key:?}");
        if out.version == Version::V1 {
            return cannot(
                &field,
                "unified (cgroup v2) keys cannot be set on a cgroup v1 host",
            );
        }
        let Some((ctrl, _)) = key.split_once('.') else {
            return refuse(&field, "not a cgroup v2 file name (controller.key)");
        };
        if !settable_unified_file(key, ctrl) {
            return refuse(&field, "not a file that may be set");
        }
        out.push(&field, controller_name(ctrl), key, value);
    }
    Ok(())
}

/// A file name inside the container's cgroup directory, and not one of the
/// `cgroup.*` files that manage the tree (only these four are limits).
fn settable_unified_file(key: &str, ctrl: &str) -> bool {
    !(key.contains('/')
        || key.contains("..")
        || ctrl == "cgroup"
            && !matches!(
                key,
                "cgroup.freeze" | "cgroup.max.depth" | "cgroup.max.descendants" | "cgroup.type"
            ))
}

fn controller_name(c: &str) -> &'static str {
    match c {
        "memory" => "memory",
        "cpu" => "cpu",
        "cpuset" => "cpuset",
        "io" => "io",
        "pids" => "pids",
        "hugetlb" => "hugetlb",
        "rdma" => "rdma",
        "misc" => "misc",
        _ => "",
    }
}

fn memory(out: &mut Out, m: &LinuxMemory) -> Result<(), FieldError> {
    match out.version {
        Version::V1 => memory_v1(out, m),
        Version::V2 => memory_v2(out, m),
    }
}

fn memory_v1(out: &mut Out, m: &LinuxMemory) -> Result<(), FieldError> {
    let limits = [
        ("memory.limit", m.limit(), "memory.limit_in_bytes"),
        // v1 memsw is memory+swap, like the OCI field.
        ("memory.swap", m.swap(), "memory.memsw.limit_in_bytes"),
        (
            "memory.reservation",
            m.reservation(),
            "memory.soft_limit_in_bytes",
        ),
        ("memory.kernel", m.kernel(), "memory.kmem.limit_in_bytes"),
        (
            "memory.kernelTCP",
            m.kernel_tcp(),
            "memory.kmem.tcp.limit_in_bytes",
        ),
    ];
    for (field, value, file) in limits {
        if let Some(l) = given(value) {
            out.push(field, "memory", file, limit(l, Version::V1));
        }
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return refuse("memory.swappiness", format!("{s} is above 100"));
        }
        out.push("memory.swappiness", "memory", "memory.swappiness", s);
    }
    let switches = [
        (
            "memory.disableOOMKiller",
            m.disable_oom_killer(),
            "memory.oom_control",
        ),
        (
            "memory.useHierarchy",
            m.use_hierarchy(),
            "memory.use_hierarchy",
        ),
    ];
    for (field, value, file) in switches {
        if let Some(on) = value {
            out.push(field, "memory", file, u8::from(on));
        }
    }
    Ok(())
}

fn memory_v2(out: &mut Out, m: &LinuxMemory) -> Result<(), FieldError> {
    if let Some(l) = given(m.limit()) {
        out.push(
            "memory.limit",
            "memory",
            "memory.max",
            limit(l, Version::V2),
        );
    }
    if let Some(s) = given(m.swap()) {
        let value = swap_alone(s, given(m.limit()))?;
        out.push("memory.swap", "memory", "memory.swap.max", value);
    }
    if let Some(r) = given(m.reservation()) {
        let value = limit(r, Version::V2);
        out.push("memory.reservation", "memory", "memory.low", value);
    }
    memory_v2_refusals(m)
}

/// v2's `memory.swap.max` for OCI's `swap`: v2 limits swap alone, OCI's
/// swap is memory+swap (v1 semantics).
fn swap_alone(swap: i64, limit: Option<i64>) -> Result<String, FieldError> {
    match (swap, limit) {
        (s, _) if s < 0 => Ok("max".to_string()),
        (s, Some(l)) if l >= 0 => {
            if s < l {
                return refuse(
                    "memory.swap",
                    format!("memory+swap {s} is below the memory limit {l}"),
                );
            }
            Ok((s - l).to_string())
        }
        _ => refuse(
            "memory.swap",
            "on cgroup v2 a swap limit needs a memory limit (it is converted to swap alone)",
        ),
    }
}

/// The v1 memory settings cgroup v2 has no file for.
fn memory_v2_refusals(m: &LinuxMemory) -> Result<(), FieldError> {
    if given(m.kernel()).is_some() {
        return cannot(
            "memory.kernel",
            "kernel memory limits do not exist on cgroup v2",
        );
    }
    if given(m.kernel_tcp()).is_some() {
        return cannot(
            "memory.kernelTCP",
            "kernel memory limits do not exist on cgroup v2",
        );
    }
    if m.swappiness().is_some() {
        return cannot(
            "memory.swappiness",
            "cgroup v2 has no per-cgroup swappiness",
        );
    }
    if m.disable_oom_killer() == Some(true) {
        return cannot(
            "memory.disableOOMKiller",
            "cgroup v2 cannot disable the OOM killer",
        );
    }
    if m.use_hierarchy() == Some(false) {
        return cannot("memory.useHierarchy", "cgroup v2 is always hierarchical");
    }
    Ok(())
}

fn cpu(out: &mut Out, c: &LinuxCpu) -> Result<(), FieldError> {
    let v = out.version;
    match v {
        Version::V1 => {
            if let Some(s) = given(c.shares()) {
                out.push("cpu.shares", "cpu", "cpu.shares", s);
            }
            // The period first: a quota is checked against the current period.
            if let Some(p) = given(c.period()) {
                out.push("cpu.period", "cpu", "cpu.cfs_period_us", p);
            }
            if let Some(q) = given(c.quota()) {
                out.push("cpu.quota", "cpu", "cpu.cfs_quota_us", limit(q, v));
            }
            if let Some(b) = c.burst() {
                out.push("cpu.burst", "cpu", "cpu.cfs_burst_us", b);
            }
            if let Some(p) = given(c.realtime_period()) {
                out.push("cpu.realtimePeriod", "cpu", "cpu.rt_period_us", p);
            }
            if let Some(r) = given(c.realtime_runtime()) {
                out.push("cpu.realtimeRuntime", "cpu", "cpu.rt_runtime_us", r);
            }
        }
        Version::V2 => {
            if let Some(s) = given(c.shares()) {
                out.push("cpu.shares", "cpu", "cpu.weight", shares_to_weight(s));
            }
            if given(c.quota()).is_some() || given(c.period()).is_some() {
                let quota = given(c.quota()).map_or("max".to_string(), |q| limit(q, v));
                let period = given(c.period()).unwrap_or(100_000);
                out.push("cpu.quota", "cpu", "cpu.max", format!("{quota} {period}"));
            }
            if let Some(b) = c.burst() {
                out.push("cpu.burst", "cpu", "cpu.max.burst", b);
            }
            if given(c.realtime_period()).is_some() || given(c.realtime_runtime()).is_some() {
                return cannot(
                    if given(c.realtime_runtime()).is_some() {
                        "cpu.realtimeRuntime"
                    } else {
                        "cpu.realtimePeriod"
                    },
                    "cgroup v2 has no realtime CPU limits",
                );
            }
        }
    }
    if let Some(i) = c.idle() {
        out.push("cpu.idle", "cpu", "cpu.idle", i);
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        out.push("cpu.cpus", "cpuset", "cpuset.cpus", cpus);
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        out.push("cpu.mems", "cpuset", "cpuset.mems", mems);
    }
    Ok(())
}

fn block_io(out: &mut Out, b: &LinuxBlockIo) -> Result<(), FieldError> {
    let ctrl = match out.version {
        Version::V1 => "blkio",
        Version::V2 => "io",
    };
    if let Some(w) = given(b.weight()) {
        match out.version {
            Version::V1 => out.push("blockIO.weight", ctrl, "blkio.weight", u64::from(w)),
            Version::V2 => {
                let value = blkio_weight_to_io_weight(w);
                out.push("blockIO.weight", ctrl, "io.weight", value)
            }
        }
    }
    if let Some(w) = given(b.leaf_weight()) {
        if out.version == Version::V2 {
            return cannot("blockIO.leafWeight", "cgroup v2 has no leaf weight");
        }
        out.push("blockIO.leafWeight", ctrl, "blkio.leaf_weight", w);
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        weight_device(out, ctrl, &format!("blockIO.weightDevice[{i}]"), d)?;
    }
    throttle_devices(out, ctrl, b);
    Ok(())
}

/// One `weightDevice` entry, named `field`.
fn weight_device(
    out: &mut Out,
    ctrl: &'static str,
    field: &str,
    d: &LinuxWeightDevice,
) -> Result<(), FieldError> {
    let dev = format!("{}:{}", d.major(), d.minor());
    if let Some(w) = given(d.weight()) {
        match out.version {
            Version::V1 => out.push(field, ctrl, "blkio.weight_device", format!("{dev} {w}")),
            Version::V2 => {
                let value = format!("{dev} {}", blkio_weight_to_io_weight(w));
                out.push(field, ctrl, "io.weight", value)
            }
        }
    }
    if let Some(w) = given(d.leaf_weight()) {
        if out.version == Version::V2 {
            return cannot(field, "cgroup v2 has no leaf weight");
        }
        out.push(
            field,
            ctrl,
            "blkio.leaf_weight_device",
            format!("{dev} {w}"),
        );
    }
    Ok(())
}

/// The four throttle lists: each a v1 file of its own, one `io.max` key
/// each on v2.
fn throttle_devices(out: &mut Out, ctrl: &'static str, b: &LinuxBlockIo) {
    let throttles: [(&str, &Option<Vec<LinuxThrottleDevice>>, &str, &str); 4] = [
        (
            "throttleReadBpsDevice",
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "rbps",
        ),
        (
            "throttleWriteBpsDevice",
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "wbps",
        ),
        (
            "throttleReadIOPSDevice",
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "riops",
        ),
        (
            "throttleWriteIOPSDevice",
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "wiops",
        ),
    ];
    for (name, list, v1_file, v2_key) in throttles {
        for (i, d) in list.iter().flatten().enumerate() {
            let field = format!("blockIO.{name}[{i}]");
            let dev = format!("{}:{}", d.major(), d.minor());
            match out.version {
                Version::V1 => out.push(&field, ctrl, v1_file, format!("{dev} {}", d.rate())),
                Version::V2 => {
                    let rate = match d.rate() {
                        0 => "max".to_string(),
                        r => r.to_string(),
                    };
                    out.push(&field, ctrl, "io.max", format!("{dev} {v2_key}={rate}"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    fn files(r: &LinuxResources, v: Version) -> Vec<(String, String)> {
        cgroup_writes(r, v)
            .unwrap()
            .into_iter()
            .map(|w| (w.file, w.value))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }

    #[test]
    fn memory_v1_and_v2() {
        let r = res(
            json!({"memory": {"limit": 104857600, "swap": 209715200, "reservation": 52428800,
                                      "swappiness": 10, "disableOOMKiller": true}}),
        );
        assert_eq!(
            files(&r, Version::V1),
            pairs(&[
                ("memory.limit_in_bytes", "104857600"),
                ("memory.memsw.limit_in_bytes", "209715200"),
                ("memory.soft_limit_in_bytes", "52428800"),
                ("memory.swappiness", "10"),
                ("memory.oom_control", "1"),
            ])
        );
        let e = cgroup_writes(&r, Version::V2).unwrap_err();
        assert_eq!(e.field, "linux.resources.memory.swappiness");
        let r = res(json!({"memory": {"limit": 100, "swap": 300, "reservation": -1}}));
        assert_eq!(
            files(&r, Version::V2),
            pairs(&[
                ("memory.max", "100"),
                ("memory.swap.max", "200"),
                ("memory.low", "max")
            ])
        );
        let r = res(json!({"memory": {"limit": -1, "swap": -1}}));
        assert_eq!(
            files(&r, Version::V2),
            pairs(&[("memory.max", "max"), ("memory.swap.max", "max")])
        );
        assert_eq!(
            files(&r, Version::V1),
            pairs(&[
                ("memory.limit_in_bytes", "-1"),
                ("memory.memsw.limit_in_bytes", "-1")
            ])
        );
    }

    /// runc writes nothing for these zeros, and Docker sends them for every
    /// container (`cpu.shares: 0`, `blockIO.weight: 0`).
    #[test]
    fn zero_means_unset() {
        let r = res(json!({
            "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0,
                       "disableOOMKiller": false},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimePeriod": 0,
                    "realtimeRuntime": 0},
            "pids": {"limit": 0},
            "blockIO": {"weight": 0, "leafWeight": 0,
                        "weightDevice": [{"major": 8, "minor": 0, "weight": 0, "leafWeight": 0}]}
        }));
        assert_eq!(
            files(&r, Version::V1),
            pairs(&[("memory.oom_control", "0")])
        );
        assert_eq!(files(&r, Version::V2), pairs(&[]));
    }

    #[test]
    fn cpu_v1_and_v2() {
        let r = res(
            json!({"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000,
                                   "cpus": "0", "mems": "0", "idle": 0}}),
        );
        assert_eq!(
            files(&r, Version::V1),
            pairs(&[
                ("cpu.shares", "1024"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "50000"),
                ("cpu.cfs_burst_us", "1000"),
                ("cpu.idle", "0"),
                ("cpuset.cpus", "0"),
                ("cpuset.mems", "0"),
            ])
        );
        assert_eq!(
            files(&r, Version::V2),
            pairs(&[
                ("cpu.weight", "39"),
                ("cpu.max", "50000 100000"),
                ("cpu.max.burst", "1000"),
                ("cpu.idle", "0"),
                ("cpuset.cpus", "0"),
                ("cpuset.mems", "0"),
            ])
        );
        let r = res(json!({"cpu": {"quota": -1}}));
        assert_eq!(files(&r, Version::V2), pairs(&[("cpu.max", "max 100000")]));
        let r = res(json!({"cpu": {"realtimeRuntime": 1000, "realtimePeriod": 10000}}));
        assert_eq!(
            files(&r, Version::V1),
            pairs(&[("cpu.rt_period_us", "10000"), ("cpu.rt_runtime_us", "1000")])
        );
        assert!(cgroup_writes(&r, Version::V2).is_err());
    }

    #[test]
    fn pids_blkio_hugetlb_network_rdma_unified() {
        let r = res(json!({
            "pids": {"limit": 10},
            "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 100}],
                        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 1073741824}],
            "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}
        }));
        assert_eq!(
            files(&r, Version::V1),
            pairs(&[
                ("pids.max", "10"),
                ("blkio.weight", "500"),
                ("blkio.weight_device", "8:0 100"),
                ("blkio.throttle.read_bps_device", "8:0 1048576"),
                ("hugetlb.2MB.limit_in_bytes", "1073741824"),
                ("hugetlb.2MB.rsvd.limit_in_bytes", "1073741824"),
                ("rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"),
            ])
        );
        assert_eq!(
            files(&r, Version::V2),
            pairs(&[
                ("pids.max", "10"),
                ("io.weight", "4950"),
                ("io.weight", "8:0 910"),
                ("io.max", "8:0 rbps=1048576"),
                ("hugetlb.2MB.max", "1073741824"),
                ("hugetlb.2MB.rsvd.max", "1073741824"),
                ("rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"),
            ])
        );
        // Only the reservation limit may be missing from the host.
        let optional: Vec<_> = cgroup_writes(&r, Version::V2)
            .unwrap_or_default()
            .into_iter()
            .filter(|w| w.optional)
            .map(|w| w.file)
            .collect();
        assert_eq!(optional, ["hugetlb.2MB.rsvd.max"]);
        let net = res(
            json!({"network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]}}),
        );
        assert_eq!(
            files(&net, Version::V1),
            pairs(&[
                ("net_cls.classid", "1048577"),
                ("net_prio.ifpriomap", "eth0 5")
            ])
        );
        assert_eq!(
            cgroup_writes(&net, Version::V2).unwrap_err().field,
            "linux.resources.network"
        );
        let uni = res(json!({"unified": {"memory.high": "50M", "pids.max": "7"}}));
        assert_eq!(
            files(&uni, Version::V2),
            pairs(&[("memory.high", "50M"), ("pids.max", "7")])
        );
        assert!(cgroup_writes(&uni, Version::V1)
            .unwrap_err()
            .reason
            .contains("cgroup v1"));
        let bad = res(json!({"unified": {"../escape": "1"}}));
        assert!(cgroup_writes(&bad, Version::V2).is_err());
        let unlimited = res(json!({"pids": {"limit": -1}}));
        assert_eq!(
            files(&unlimited, Version::V1),
            pairs(&[("pids.max", "max")])
        );
    }
}
