//! How the kernel runs a process: its scheduling policy, I/O priority,
//! execution domain (personality), NUMA memory policy and, for an exec'd
//! process, CPU affinity. runtime-spec 1.2/1.3 defines the fields; where it
//! is silent runc (1.2+) is the reference: its validator's limits, its
//! conversion tables, and which of them an exec'd process inherits.

use oci_spec::runtime::{
    ExecCPUAffinity, IOPriorityClass, LinuxMemoryPolicy, LinuxPersonality, LinuxPersonalityDomain,
    LinuxSchedulerFlag, LinuxSchedulerPolicy, MemoryPolicyFlagType, MemoryPolicyModeType, Process,
    Scheduler,
};
use serde::Serialize;

use crate::error::FieldError;

/// The arguments of `sched_setattr(2)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SchedAttr {
    /// `SCHED_OTHER` (0) ... `SCHED_DEADLINE` (6).
    pub policy: u32,
    /// `SCHED_FLAG_*` bits.
    pub flags: u64,
    /// Nice value (`SCHED_OTHER`, `SCHED_BATCH`).
    pub nice: i32,
    /// Static priority (`SCHED_FIFO`, `SCHED_RR`).
    pub priority: u32,
    /// `SCHED_DEADLINE` runtime, deadline and period, in nanoseconds.
    pub runtime: u64,
    /// See `runtime`.
    pub deadline: u64,
    /// See `runtime`.
    pub period: u64,
}

/// The arguments of `set_mempolicy(2)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemoryPolicy {
    /// `MPOL_*` mode with its `MPOL_F_*` flags.
    pub mode: i32,
    /// The node mask, 64 nodes a word; empty for none.
    pub nodes: Vec<u64>,
}

/// Where an exec'd process runs, as runc places it: `initial` from its
/// start until it is in the container's cgroup, then `last`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExecAffinity {
    /// CPU mask (64 CPUs a word) before the cgroup join; `None`: the
    /// runtime's.
    pub initial: Option<Vec<u64>>,
    /// CPU mask after the join. `None` with `initial` given: left as the
    /// kernel makes it; with neither given, every CPU, so that a process
    /// exec'd from a pinned caller is not pinned too (runc 1.2).
    pub last: Option<Vec<u64>>,
}

/// The largest CPU or node number accepted (runc's `MaxCPU`).
const MAX_ID: u32 = 64 * 1024 - 1;

/// Parses a list like `0-3,7` (runc's format: spaces around items and
/// empty items allowed) into a mask of 64-bit words.
pub(crate) fn id_mask(field: &str, list: &str) -> Result<Vec<u64>, String> {
    let mut mask: Vec<u64> = Vec::new();
    let mut any = false;
    let number = |s: &str| -> Result<u32, String> {
        let n: u32 = s
            .trim()
            .parse()
            .map_err(|_| format!("{field}: {s:?} in {list:?} is not a number"))?;
        if n > MAX_ID {
            return Err(format!(
                "{field}: {n} is above the largest supported, {MAX_ID}"
            ));
        }
        Ok(n)
    };
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (start, end) = match item.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => (number(item)?, number(item)?),
        };
        if start > end {
            return Err(format!("{field}: {item:?} is a decreasing range"));
        }
        for id in start..=end {
            let word = (id / 64) as usize;
            if mask.len() <= word {
                mask.resize(word + 1, 0);
            }
            mask[word] |= 1 << (id % 64);
        }
        any = true;
    }
    if !any {
        return Err(format!("{field}: {list:?} names no member"));
    }
    Ok(mask)
}

fn invalid(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError::invalid(field, reason)
}

/// `process.scheduler`, checked as runc's validator does.
pub(crate) fn scheduler(prefix: &str, s: &Scheduler) -> Result<SchedAttr, FieldError> {
    use LinuxSchedulerPolicy::*;
    let field = |f: &str| format!("{prefix}scheduler.{f}");
    let policy = *s.policy();
    let nice = s.nice().unwrap_or(0);
    if matches!(policy, SchedOther | SchedBatch) && !(-20..=19).contains(&nice) {
        return Err(invalid(
            &field("nice"),
            format!("{nice} is outside -20..19"),
        ));
    }
    let priority = s.priority().unwrap_or(0);
    if priority != 0 && !matches!(policy, SchedFifo | SchedRr) {
        return Err(invalid(
            &field("priority"),
            "applies only to SCHED_FIFO and SCHED_RR",
        ));
    }
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if policy != SchedDeadline && (runtime, deadline, period) != (0, 0, 0) {
        return Err(invalid(
            &field("policy"),
            "runtime, deadline and period apply only to SCHED_DEADLINE",
        ));
    }
    let policy_number = match policy {
        SchedOther => 0,
        SchedFifo => 1,
        SchedRr => 2,
        SchedBatch => 3,
        SchedIso => 4,
        SchedIdle => 5,
        SchedDeadline => 6,
    };
    let flags = s.flags().iter().flatten().fold(0, |bits, f| {
        bits | match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        }
    });
    Ok(SchedAttr {
        policy: policy_number,
        flags,
        nice,
        priority: u32::try_from(priority)
            .map_err(|_| invalid(&field("priority"), format!("{priority} is negative")))?,
        runtime,
        deadline,
        period,
    })
}

/// `process.ioPriority` as `ioprio_set(2)` takes it (class << 13 | level).
pub(crate) fn io_priority(prefix: &str, p: &Process) -> Result<Option<u32>, FieldError> {
    let Some(io) = p.io_priority() else {
        return Ok(None);
    };
    let level = io.priority();
    if !(0..=7).contains(&level) {
        return Err(invalid(
            &format!("{prefix}ioPriority.priority"),
            format!("{level} is outside 0..7"),
        ));
    }
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    Ok(Some(class << 13 | level as u32))
}

/// `linux.personality` as `personality(2)` takes it. runtime-spec defines
/// no flags ("currently no flag values are supported"); runc ignores them
/// with a warning, cella refuses them rather than ignore a setting.
pub(crate) fn personality(p: &LinuxPersonality) -> Result<u64, FieldError> {
    if let Some(flag) = p.flags().iter().flatten().next() {
        return Err(FieldError::unsupported(
            "linux.personality.flags",
            format!("{flag:?}: runtime-spec defines no personality flags"),
        ));
    }
    Ok(match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    })
}

/// `linux.memoryPolicy`, checked as runc's validator does (how many nodes
/// each mode takes).
pub(crate) fn memory_policy(m: &LinuxMemoryPolicy) -> Result<MemoryPolicy, FieldError> {
    use MemoryPolicyModeType::*;
    let field = "linux.memoryPolicy";
    let nodes = match m.nodes().as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(list) => id_mask(&format!("{field}.nodes"), list).map_err(|e| invalid(field, e))?,
    };
    let (mode, count) = (m.mode(), nodes.iter().map(|w| w.count_ones()).sum::<u32>());
    match mode {
        MpolDefault | MpolLocal if count != 0 => {
            return Err(invalid(
                &format!("{field}.nodes"),
                format!("{mode} takes no nodes"),
            ))
        }
        MpolBind | MpolInterleave | MpolPreferredMany | MpolWeightedInterleave if count == 0 => {
            return Err(invalid(
                &format!("{field}.nodes"),
                format!("{mode} needs at least one node"),
            ))
        }
        _ => {}
    }
    let number = match mode {
        MpolDefault => 0,
        MpolPreferred => 1,
        MpolBind => 2,
        MpolInterleave => 3,
        MpolLocal => 4,
        MpolPreferredMany => 5,
        MpolWeightedInterleave => 6,
    };
    let flags = m.flags().iter().flatten().fold(0, |bits, f| {
        bits | match f {
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
        }
    });
    Ok(MemoryPolicy {
        mode: number | flags,
        nodes,
    })
}

/// `execCPUAffinity` of an exec'd process (`prefix` names where it came
/// from). Not applicable to a container's init (runtime-spec).
pub(crate) fn exec_affinity(
    prefix: &str,
    a: Option<&ExecCPUAffinity>,
) -> Result<ExecAffinity, FieldError> {
    let mask = |name: &str, list: Option<&String>| match list.map(|l| l.trim()) {
        None | Some("") => Ok(None),
        Some(l) => {
            let field = format!("{prefix}execCPUAffinity.{name}");
            id_mask(&field, l).map(Some).map_err(|e| invalid(&field, e))
        }
    };
    Ok(ExecAffinity {
        initial: mask("initial", a.and_then(|a| a.initial().as_ref()))?,
        last: mask("final", a.and_then(|a| a.cpu_affinity_final().as_ref()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).expect("parses")
    }

    #[test]
    fn id_lists_are_read_as_runc_reads_them() {
        assert_eq!(id_mask("f", "0-3,7"), Ok(vec![0b1000_1111]));
        assert_eq!(id_mask("f", " 1 , ,64"), Ok(vec![0b10, 1]));
        assert!(id_mask("f", "3-1").unwrap_err().contains("decreasing"));
        assert!(id_mask("f", ",").unwrap_err().contains("no member"));
        assert!(id_mask("f", "x").unwrap_err().contains("not a number"));
        assert!(id_mask("f", "65536").unwrap_err().contains("largest"));
    }

    #[test]
    fn scheduler_is_checked_as_by_runc() {
        let s: Scheduler = from(json!({"policy": "SCHED_BATCH", "nice": 5}));
        let a = scheduler("process.", &s).expect("valid");
        assert_eq!((a.policy, a.nice), (3, 5));
        let s: Scheduler = from(json!({"policy": "SCHED_OTHER", "nice": 20}));
        assert_eq!(
            scheduler("process.", &s).unwrap_err().field,
            "process.scheduler.nice"
        );
        let s: Scheduler = from(json!({"policy": "SCHED_OTHER", "priority": 1}));
        assert_eq!(scheduler("", &s).unwrap_err().field, "scheduler.priority");
        let s: Scheduler = from(json!({"policy": "SCHED_FIFO", "priority": 10}));
        assert_eq!(scheduler("", &s).expect("valid").priority, 10);
        let s: Scheduler = from(json!({"policy": "SCHED_RR", "runtime": 1}));
        assert!(scheduler("", &s).is_err());
        let s: Scheduler = from(json!({"policy": "SCHED_DEADLINE", "runtime": 1,
            "deadline": 2, "period": 3, "flags": ["SCHED_FLAG_RECLAIM"]}));
        let a = scheduler("", &s).expect("valid");
        assert_eq!((a.policy, a.flags, a.period), (6, 2, 3));
    }

    #[test]
    fn io_priority_is_class_and_level() {
        let p: Process = from(json!({"cwd": "/", "user": {"uid": 0, "gid": 0},
            "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4}}));
        assert_eq!(io_priority("process.", &p), Ok(Some(2 << 13 | 4)));
        let p: Process = from(json!({"cwd": "/", "user": {"uid": 0, "gid": 0},
            "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 8}}));
        assert_eq!(
            io_priority("process.", &p).unwrap_err().field,
            "process.ioPriority.priority"
        );
    }

    #[test]
    fn personality_domains_and_no_flags() {
        let p: LinuxPersonality = from(json!({"domain": "LINUX32"}));
        assert_eq!(personality(&p), Ok(8));
        let p: LinuxPersonality = from(json!({"domain": "LINUX"}));
        assert_eq!(personality(&p), Ok(0));
        let p: LinuxPersonality = from(json!({"domain": "LINUX", "flags": ["X"]}));
        assert!(personality(&p).unwrap_err().is_unsupported());
    }

    #[test]
    fn memory_policy_modes_take_their_nodes() {
        let m: LinuxMemoryPolicy = from(json!({"mode": "MPOL_BIND", "nodes": "0-1",
            "flags": ["MPOL_F_STATIC_NODES"]}));
        assert_eq!(
            memory_policy(&m),
            Ok(MemoryPolicy {
                mode: 2 | 1 << 15,
                nodes: vec![0b11]
            })
        );
        let m: LinuxMemoryPolicy = from(json!({"mode": "MPOL_BIND"}));
        assert!(memory_policy(&m)
            .unwrap_err()
            .reason
            .contains("at least one"));
        let m: LinuxMemoryPolicy = from(json!({"mode": "MPOL_LOCAL", "nodes": "0"}));
        assert!(memory_policy(&m)
            .unwrap_err()
            .reason
            .contains("takes no nodes"));
        let m: LinuxMemoryPolicy = from(json!({"mode": "MPOL_PREFERRED"}));
        assert_eq!(memory_policy(&m).expect("valid").mode, 1);
    }

    #[test]
    fn exec_affinity_masks() {
        let a: ExecCPUAffinity = from(json!({"initial": "1", "final": "0-1"}));
        let e = exec_affinity("", Some(&a)).expect("valid");
        assert_eq!((e.initial, e.last), (Some(vec![2]), Some(vec![3])));
        assert_eq!(exec_affinity("", None), Ok(ExecAffinity::default()));
    }
}
