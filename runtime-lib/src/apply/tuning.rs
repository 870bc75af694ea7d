//! The process's scheduling, I/O priority, execution domain, memory policy
//! and (exec'd processes) CPU affinity, as planned (`plan/tuning.rs`).
//! Set as root with every capability, before the identity switch, as runc
//! does: a real-time policy, a negative nice or the real-time I/O class
//! need CAP_SYS_NICE or CAP_SYS_ADMIN, which the container need not keep.

use nix::errno::Errno;

use crate::error::{ChildError, Step};
use crate::plan::ProcessPlan;
use crate::sys;

/// Applies what the plan gives of the scheduler, I/O priority,
/// personality and memory policy. They are kept across `execve`.
pub(crate) fn apply(p: &ProcessPlan) -> Result<(), ChildError> {
    if let Some(s) = &p.scheduler {
        sys::sched_setattr(s).map_err(|e| {
            let mut err = ChildError::sys(Step::ProcessScheduler, None, e);
            let hint = match (e, s.policy) {
                (Errno::EPERM, 1 | 2) => {
                    " (where the kernel groups real-time tasks, a real-time policy needs \
                     real-time runtime in the container's cpu cgroup: \
                     linux.resources.cpu.realtimeRuntime)"
                }
                (Errno::EPERM, 6) => {
                    " (SCHED_DEADLINE needs the task's CPUs to be a whole root domain: \
                     not with a restricted cpuset, as under runc)"
                }
                _ => "",
            };
            err.detail.push_str(hint);
            err
        })?;
    }
    if let Some(io) = p.io_priority {
        sys::ioprio_set(io).map_err(|e| ChildError::sys(Step::ProcessIoPriority, None, e))?;
    }
    if let Some(persona) = p.personality {
        sys::set_personality(persona)
            .map_err(|e| ChildError::sys(Step::LinuxPersonality, None, e))?;
    }
    if let Some(m) = &p.memory_policy {
        sys::set_mempolicy(m.mode, &m.nodes)
            .map_err(|e| ChildError::sys(Step::LinuxMemoryPolicy, None, e))?;
    }
    Ok(())
}

/// Before an exec'd process joins the container's cgroup: its `initial`
/// CPUs, if given.
pub(crate) fn initial_affinity(p: &ProcessPlan) -> Result<(), ChildError> {
    match p.exec_affinity.as_ref().and_then(|a| a.initial.as_ref()) {
        Some(mask) => sys::set_affinity(mask)
            .map_err(|e| ChildError::sys(Step::ExecCpuAffinity, "initial".to_string(), e)),
        None => Ok(()),
    }
}

/// After the join: its `final` CPUs; with no affinity asked at all, every
/// CPU, so that it does not inherit the caller's pinning (runc 1.2 resets
/// it too, and only warns when that fails).
pub(crate) fn final_affinity(p: &ProcessPlan) -> Result<(), ChildError> {
    let Some(a) = &p.exec_affinity else {
        return Ok(());
    };
    match (&a.initial, &a.last) {
        (_, Some(mask)) => sys::set_affinity(mask)
            .map_err(|e| ChildError::sys(Step::ExecCpuAffinity, "final".to_string(), e)),
        (None, None) => {
            // 8192 CPUs, Debian's NR_CPUS; the kernel keeps only the
            // CPUs that exist and the cgroup allows.
            let _ = sys::set_affinity(&[u64::MAX; 128]);
            Ok(())
        }
        (Some(_), None) => Ok(()),
    }
}
