//! From an OCI `linux.seccomp` object to what each syscall number of each
//! ABI does: validation, action values, name resolution, and the rules by
//! which libseccomp (as runc drives it) combines several entries for one
//! syscall. Pure data; [`super::codegen`] turns it into BPF.

use std::collections::{BTreeMap, BTreeSet};

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompArg, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Operator, LinuxSyscall,
};

use super::arch::{Abi, ArchMapping, Kernel};
use super::bpf;
use super::{order, FilterFlags, Listener, SeccompError, Warning};

/// `ENOSYS`, the errno of runc's stub for syscalls newer than the profile.
const ENOSYS: u32 = 38;
/// `EPERM`: the errno (or trace message) when `errnoRet` is absent, as in
/// runc (`actErrno`, `actTrace`) and the runtime spec.
const EPERM: u32 = 1;

/// A comparison operator, with `SCMP_CMP_MASKED_EQ` normalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Ge,
    Gt,
    MaskedEq,
}

/// `args[index] <op> value`; for [`Op::MaskedEq`], `(args[index] & mask) ==
/// value` with `value` already masked (libseccomp masks the datum too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    pub index: u8,
    pub op: Op,
    pub value: u64,
    pub mask: u64,
}

/// Conditions that must all hold, and the return value when they do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgRule {
    pub conds: Vec<Cond>,
    pub ret: u32,
}

/// What one syscall number does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Always this return value.
    Ret(u32),
    /// The first matching rule's value, else `fallback` (the default action).
    Args { rules: Vec<ArgRule>, fallback: u32 },
}

/// One ABI's part of the filter.
pub struct Section {
    pub abi: Abi,
    /// Syscall numbers with rules.
    pub points: BTreeMap<u32, Outcome>,
    /// The default action's return value.
    pub default: u32,
    /// Numbers above this one return `enosys` (runc's -ENOSYS stub).
    pub enosys_above: Option<u32>,
    /// `SECCOMP_RET_ERRNO | ENOSYS`.
    pub enosys: u32,
}

/// Everything code generation and the loader need.
pub struct Resolved {
    pub sections: Vec<Section>,
    /// The return value for a syscall from an ABI not in the filter.
    pub badarch: u32,
    pub flags: FilterFlags,
    pub listener: Option<Listener>,
    pub warnings: Vec<Warning>,
}

/// Per (ABI, nr) while entries are added in profile order.
#[derive(Default)]
struct Entry {
    /// The first unconditional rule's value.
    always: Option<u32>,
    /// Conditional rules in profile order.
    rules: Vec<ArgRule>,
}

const FIELD: &str = "linux.seccomp";

fn invalid(field: String, reason: impl Into<String>) -> SeccompError {
    SeccompError::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// Resolves a profile for `kernel`. See the module docs of [`super`] for
/// the semantics.
pub fn resolve(sc: &LinuxSeccomp, kernel: Kernel) -> Result<Resolved, SeccompError> {
    let default = default_value(sc)?;
    let mut warnings = Vec::new();
    let (abis, listed) = architectures(sc, kernel, &mut warnings)?;
    let mut table = Table::new(abis, default, warnings);
    let syscalls: &[LinuxSyscall] = sc.syscalls().as_deref().unwrap_or_default();
    for (i, call) in syscalls.iter().enumerate() {
        table.add_call(&format!("{FIELD}.syscalls[{i}]"), call)?;
    }
    let sections = table.sections(enosys_stub(sc), &listed);
    let (flags, listener) = flags_and_listener(sc, table.notify)?;
    Ok(Resolved {
        sections,
        badarch: bpf::RET_KILL_THREAD,
        flags,
        listener,
        warnings: table.warnings,
    })
}

/// The default action's return value.
fn default_value(sc: &LinuxSeccomp) -> Result<u32, SeccompError> {
    let default = action_value(sc.default_action(), sc.default_errno_ret(), || {
        format!("{FIELD}.defaultErrnoRet")
    })?;
    if sc.default_action() == Action::ScmpActNotify {
        // The runtime itself still makes syscalls between loading the filter
        // and execve (sending the listener fd among them); with nobody
        // listening yet they would block. runc refuses this too.
        return Err(invalid(
            format!("{FIELD}.defaultAction"),
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    Ok(default)
}

/// Whether runc adds its -ENOSYS stub: not when the default action lets a
/// syscall through anyway.
fn enosys_stub(sc: &LinuxSeccomp) -> bool {
    !matches!(
        sc.default_action(),
        Action::ScmpActAllow | Action::ScmpActLog | Action::ScmpActTrace
    )
}

/// The profile's entries gathered per (ABI, nr), in profile order.
struct Table {
    /// The ABIs the filter covers.
    abis: BTreeSet<Abi>,
    /// The default action's return value.
    default: u32,
    entries: BTreeMap<(Abi, u32), Entry>,
    /// The highest number each ABI's table gives a name of the profile,
    /// whatever the entry's action (runc's `findLastSyscalls`), for the
    /// -ENOSYS stub.
    highest: BTreeMap<Abi, u32>,
    /// Whether a rule uses `SCMP_ACT_NOTIFY`.
    notify: bool,
    warnings: Vec<Warning>,
}

impl Table {
    fn new(abis: BTreeSet<Abi>, default: u32, warnings: Vec<Warning>) -> Table {
        Table {
            abis,
            default,
            entries: BTreeMap::new(),
            highest: BTreeMap::new(),
            notify: false,
            warnings,
        }
    }

    /// Adds `syscalls[i]`, named `field`.
    fn add_call(&mut self, field: &str, call: &LinuxSyscall) -> Result<(), SeccompError> {
        let ret = action_value(call.action(), call.errno_ret(), || {
            format!("{field}.errnoRet")
        })?;
        self.notify |= call.action() == Action::ScmpActNotify;
        let args = call.args().as_deref().unwrap_or_default();
        let groups = arg_groups(args, field, &mut self.warnings)?;
        if call.names().is_empty() {
            return Err(invalid(
                format!("{field}.names"),
                "must name at least one syscall",
            ));
        }
        for (j, name) in call.names().iter().enumerate() {
            if name.is_empty() {
                return Err(invalid(format!("{field}.names[{j}]"), "empty syscall name"));
            }
            self.add_name(format!("{field}.names[{j}]"), name, &groups, ret);
        }
        Ok(())
    }

    /// Adds the rules of one syscall name, `field`, to every covered ABI
    /// that has it.
    fn add_name(&mut self, field: String, name: &str, groups: &[Vec<Cond>], ret: u32) {
        let known: Vec<(Abi, u32)> = self
            .abis
            .iter()
            .filter_map(|&a| a.syscall_nr(name).map(|nr| (a, nr)))
            .collect();
        for &(abi, nr) in &known {
            let top = self.highest.entry(abi).or_insert(nr);
            *top = (*top).max(nr);
        }
        let muxes: Vec<(Abi, (u32, u64))> = self
            .abis
            .iter()
            .filter_map(|&a| a.multiplexed(name).map(|m| (a, m)))
            .collect();
        if known.is_empty() && muxes.is_empty() {
            self.unknown_name(field, name);
            return;
        }
        // runc skips a rule whose action is the default's (libseccomp would
        // refuse it): it matters when it overlaps a later rule.
        if ret == self.default {
            return;
        }
        for (abi, nr) in known {
            add(self.entries.entry((abi, nr)).or_default(), groups, ret, abi);
        }
        for (abi, (mux_nr, call)) in muxes {
            let only_call = [vec![Cond {
                index: 0,
                op: Op::Eq,
                value: call,
                mask: u64::MAX,
            }]];
            let entry = self.entries.entry((abi, mux_nr)).or_default();
            add(entry, &only_call, ret, abi);
        }
    }

    /// A name no covered ABI has. Another architecture's syscall (podman's
    /// default profile names several) is nothing to filter here, and nothing
    /// the user got wrong, so it is skipped without a word, as libseccomp
    /// does. Only names no architecture has are warned about.
    fn unknown_name(&mut self, field: String, name: &str) {
        let elsewhere = Abi::ALL.iter().any(|a| a.syscall_nr(name).is_some());
        if elsewhere || super::syscalls::OTHER_ARCHES.binary_search(&name).is_ok() {
            return;
        }
        self.warnings.push(Warning::UnknownSyscall {
            field,
            name: name.to_string(),
        });
    }

    /// One section per covered ABI.
    fn sections(&self, enosys_stub: bool, listed: &BTreeSet<Abi>) -> Vec<Section> {
        self.abis
            .iter()
            .map(|&abi| {
                // runc answers -ENOSYS above the highest number so that a
                // program probing a syscall newer than the profile (clone3,
                // faccessat2, ...) falls back instead of failing with EPERM.
                // runc skips the stub for an ABI whose highest number is 0.
                let enosys_above = self
                    .highest
                    .get(&abi)
                    .copied()
                    .filter(|&nr| enosys_stub && listed.contains(&abi) && nr != 0);
                Section {
                    abi,
                    points: self.points(abi),
                    default: self.default,
                    enosys_above,
                    enosys: bpf::RET_ERRNO | ENOSYS,
                }
            })
            .collect()
    }

    /// What each syscall number of `abi` with rules does.
    fn points(&self, abi: Abi) -> BTreeMap<u32, Outcome> {
        self.entries
            .iter()
            .filter(|((a, _), _)| *a == abi)
            .map(|(&(_, nr), e)| (nr, outcome(e, self.default, abi)))
            .collect()
    }
}

/// The ABIs the filter covers, and those the profile names itself. The
/// native ABI is always covered: libseccomp's filter starts with it and
/// runc only adds the listed ones.
fn architectures(
    sc: &LinuxSeccomp,
    kernel: Kernel,
    warnings: &mut Vec<Warning>,
) -> Result<(BTreeSet<Abi>, BTreeSet<Abi>), SeccompError> {
    let mut listed = BTreeSet::new();
    for (i, arch) in sc.architectures().iter().flatten().enumerate() {
        let field = format!("{FIELD}.architectures[{i}]");
        match kernel.map(*arch) {
            ArchMapping::Abi(abi) => {
                listed.insert(abi);
            }
            // runc hands such an entry to libseccomp, which adds a section
            // that never runs: the filter is the same without it.
            ArchMapping::Foreign => warnings.push(Warning::ForeignArchitecture {
                field,
                arch: arch.to_string(),
                kernel: kernel.native().name().to_string(),
            }),
            ArchMapping::NoTable => {
                return Err(invalid(
                    field,
                    format!(
                        "{arch} runs on a {} kernel, but Cella has no syscall table for it",
                        kernel.native().name()
                    ),
                ))
            }
        }
    }
    let mut abis = listed.clone();
    abis.insert(kernel.native());
    Ok((abis, listed))
}

/// The return value of an action. `errnoRet` fills `SECCOMP_RET_DATA` of
/// ERRNO and TRACE (default EPERM); the runtime spec requires an error when
/// it is given for any other action.
fn action_value(
    action: Action,
    errno_ret: Option<u32>,
    field: impl Fn() -> String,
) -> Result<u32, SeccompError> {
    let data = match (action, errno_ret) {
        (Action::ScmpActErrno | Action::ScmpActTrace, Some(e)) if e > bpf::RET_DATA => {
            return Err(invalid(field(), format!("{e} does not fit in 16 bits")));
        }
        (Action::ScmpActErrno | Action::ScmpActTrace, e) => e.unwrap_or(EPERM),
        (_, Some(_)) => {
            return Err(invalid(field(), format!("{action} takes no errno")));
        }
        (_, None) => 0,
    };
    Ok(match action {
        Action::ScmpActKill | Action::ScmpActKillThread => bpf::RET_KILL_THREAD,
        Action::ScmpActKillProcess => bpf::RET_KILL_PROCESS,
        Action::ScmpActTrap => bpf::RET_TRAP,
        Action::ScmpActErrno => bpf::RET_ERRNO | data,
        Action::ScmpActNotify => bpf::RET_USER_NOTIF,
        Action::ScmpActTrace => bpf::RET_TRACE | data,
        Action::ScmpActLog => bpf::RET_LOG,
        Action::ScmpActAllow => bpf::RET_ALLOW,
    })
}

/// An entry's `args` as alternative condition lists. Normally one list (the
/// conditions ANDed); when an argument index appears twice, runc adds each
/// condition as a rule of its own (libseccomp refuses two conditions on one
/// argument), so they are ORed instead — kept for compatibility, with a
/// warning.
fn arg_groups(
    args: &[LinuxSeccompArg],
    field: &str,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Vec<Cond>>, SeccompError> {
    let mut conds = Vec::with_capacity(args.len());
    let mut seen = [false; 6];
    let mut repeated = false;
    for (k, arg) in args.iter().enumerate() {
        let index = u8::try_from(arg.index())
            .ok()
            .filter(|i| *i < 6)
            .ok_or_else(|| invalid(format!("{field}.args[{k}].index"), "must be 0 to 5"))?;
        repeated |= std::mem::replace(&mut seen[usize::from(index)], true);
        conds.push(cond(index, arg));
    }
    Ok(if repeated {
        warnings.push(Warning::RepeatedArgument {
            field: format!("{field}.args"),
        });
        conds.into_iter().map(|c| vec![c]).collect()
    } else {
        vec![conds]
    })
}

/// A condition as given, 64 bits wide; narrowed per ABI in [`add`].
fn cond(index: u8, arg: &LinuxSeccompArg) -> Cond {
    let op = match arg.op() {
        Operator::ScmpCmpNe => Op::Ne,
        Operator::ScmpCmpLt => Op::Lt,
        Operator::ScmpCmpLe => Op::Le,
        Operator::ScmpCmpEq => Op::Eq,
        Operator::ScmpCmpGe => Op::Ge,
        Operator::ScmpCmpGt => Op::Gt,
        Operator::ScmpCmpMaskedEq => Op::MaskedEq,
    };
    // MASKED_EQ: `value` is the mask, `valueTwo` the datum (libseccomp's
    // datum_a and datum_b, as runc passes them).
    let (value, mask) = match op {
        Op::MaskedEq => (arg.value_two().unwrap_or(0), arg.value()),
        _ => (arg.value(), u64::MAX),
    };
    Cond {
        index,
        op,
        value: value & mask,
        mask,
    }
}

/// Adds one entry's rules for one syscall number, with libseccomp's
/// precedence: an unconditional rule decides the syscall whatever the
/// conditional ones say (`db_rule_add` drops their chains), and the first
/// unconditional rule wins (a later one is dropped as redundant).
fn add(e: &mut Entry, groups: &[Vec<Cond>], ret: u32, abi: Abi) {
    if e.always.is_some() {
        return;
    }
    // A MASKED_EQ with a zero mask always holds: libseccomp emits nothing
    // for it (`_db_arg_cmp_need_lo/hi`), and a rule left without
    // comparisons is unconditional.
    let narrowed: Vec<Vec<Cond>> = groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|c| narrow(c, abi))
                .filter(|c| !(c.op == Op::MaskedEq && c.mask == 0))
                .collect()
        })
        .collect();
    if narrowed.iter().any(Vec::is_empty) {
        e.always = Some(ret);
        return;
    }
    for conds in narrowed {
        e.rules.push(ArgRule { conds, ret });
    }
}

/// On 32-bit ABIs libseccomp compares the low 32 bits only, against the
/// value truncated to 32 bits.
fn narrow(c: &Cond, abi: Abi) -> Cond {
    if abi.args_are_64bit() {
        return c.clone();
    }
    let low = |v: u64| v & u64::from(u32::MAX);
    Cond {
        value: low(c.value),
        mask: low(c.mask),
        ..c.clone()
    }
}

fn outcome(e: &Entry, default: u32, abi: Abi) -> Outcome {
    match e.always {
        Some(r) => Outcome::Ret(r),
        // Conditional rules that all return the default decide nothing.
        None if e.rules.iter().all(|r| r.ret == default) => Outcome::Ret(default),
        None => {
            // Stable: rules libseccomp cannot order keep the profile's order.
            let mut rules = e.rules.clone();
            rules.sort_by(|a, b| order::rules(a, b, abi.args_are_64bit()));
            Outcome::Args {
                rules,
                fallback: default,
            }
        }
    }
}

/// `flags` as kernel bits, and the listener a notify rule needs.
fn flags_and_listener(
    sc: &LinuxSeccomp,
    notify: bool,
) -> Result<(FilterFlags, Option<Listener>), SeccompError> {
    let mut bits = 0;
    for (i, flag) in sc.flags().iter().flatten().enumerate() {
        bits |= match flag {
            Flag::SeccompFilterFlagTsync => FilterFlags::TSYNC,
            Flag::SeccompFilterFlagLog => FilterFlags::LOG,
            Flag::SeccompFilterFlagSpecAllow => FilterFlags::SPEC_ALLOW,
            Flag::SeccompFilterFlagWaitKillableRecv if notify => FilterFlags::WAIT_KILLABLE_RECV,
            Flag::SeccompFilterFlagWaitKillableRecv => {
                // The kernel refuses it without NEW_LISTENER.
                return Err(invalid(
                    format!("{FIELD}.flags[{i}]"),
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY",
                ));
            }
        };
    }
    let path = sc.listener_path();
    if sc.listener_metadata().is_some() && path.is_none() {
        return Err(invalid(
            format!("{FIELD}.listenerMetadata"),
            "must not be set without listenerPath",
        ));
    }
    if !notify {
        // The runtime spec: listenerPath is ignored without a notify rule.
        return Ok((FilterFlags(bits), None));
    }
    let Some(path) = path else {
        return Err(invalid(
            format!("{FIELD}.listenerPath"),
            "required when a rule uses SCMP_ACT_NOTIFY",
        ));
    };
    bits |= FilterFlags::NEW_LISTENER;
    if bits & FilterFlags::TSYNC != 0 {
        // The kernel refuses TSYNC with NEW_LISTENER unless TSYNC_ESRCH
        // (Linux 5.7) says how to report a thread that cannot sync.
        bits |= FilterFlags::TSYNC_ESRCH;
    }
    let listener = Listener {
        path: path.clone(),
        metadata: sc.listener_metadata().clone(),
    };
    Ok((FilterFlags(bits), Some(listener)))
}
