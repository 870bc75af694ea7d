//! OCI `linux.seccomp` to a classic-BPF seccomp filter, computed without root
//! and without syscalls.
//!
//! ```
//! # use cella::seccomp::{compile, parse_profile, bpf};
//! let profile = parse_profile(r#"{
//!     "defaultAction": "SCMP_ACT_ALLOW",
//!     "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }]
//! }"#)?;
//! let filter = compile(&profile)?;
//! assert!(filter.program.len() < 16);
//! assert!(filter.program.last().unwrap().is_ret());
//! # Ok::<(), cella::seccomp::SeccompError>(())
//! ```
//!
//! [`compile`] returns the program (`struct sock_filter` layout), the
//! `SECCOMP_FILTER_FLAG_*` bits to load it with, the listener to hand the
//! notify fd to, and warnings (syscall names it does not know). Loading is
//! the executor's job (`seccomp(2)` with those flags, after capabilities are
//! dropped, as late as possible before `execve`).
//!
//! # Semantics
//!
//! The filter decides as runc 1.1 with libseccomp 2.5.4 (Debian 12's) does;
//! the tests compare the two programs decision by decision:
//!
//! - **Actions**: `SCMP_ACT_KILL` and `_KILL_THREAD` → `SECCOMP_RET_KILL_THREAD`,
//!   `_KILL_PROCESS`, `_TRAP`, `_ERRNO` → `SECCOMP_RET_ERRNO | errnoRet`,
//!   `_TRACE` → `SECCOMP_RET_TRACE | errnoRet` (both default to EPERM, as
//!   runc's `actErrno`/`actTrace`), `_LOG`, `_ALLOW`, `_NOTIFY` →
//!   `SECCOMP_RET_USER_NOTIF`. `errnoRet`/`defaultErrnoRet` on any other
//!   action is an error (runtime spec: "MUST print an error and fail"), as is
//!   `SCMP_ACT_NOTIFY` as the default action (runc refuses it: the runtime's
//!   own syscalls before `execve` would wait for an agent not yet told).
//! - **Architectures**: [`compile`] builds for the kernel of the build's
//!   `target_arch` (x86_64, x86, aarch64, arm, riscv64, powerpc64 either
//!   endian, s390x; elsewhere it refuses `linux.seccomp`), [`compile_for`]
//!   for any of them. The kernel's native ABI is always filtered
//!   (libseccomp's filter starts with it; `SCMP_ARCH_NATIVE` names it);
//!   listed compat ABIs are added: x86 and x32 on x86_64, arm on aarch64,
//!   s390 on s390x. Architectures the kernel never reports are skipped with
//!   a warning (runc's libseccomp adds a section that never runs); one the
//!   kernel runs but that has no table here (ppc on a big-endian ppc64
//!   kernel) is refused, naming the entry. A syscall from an ABI not in the
//!   filter gets libseccomp's default bad-arch action, `SCMP_ACT_KILL`
//!   (= `SECCOMP_RET_KILL_THREAD`), which runc does not change. x32 shares
//!   `AUDIT_ARCH_X86_64` with x86_64 and is told apart by
//!   `__X32_SYSCALL_BIT` in `nr`: without `SCMP_ARCH_X32`, an x32 call is a
//!   bad-arch call, as with libseccomp.
//! - **Names** are resolved per ABI from tables generated from the kernel
//!   headers (`syscalls.rs`, see `gen-syscalls.py`); a name no table knows
//!   is skipped with a [`Warning`] (runc logs it), a name known only on
//!   some ABIs applies there.
//! - **Arguments** are compared as u64 on 64-bit ABIs (high half, then low
//!   half; which word of `seccomp_data.args[i]` is which follows the
//!   kernel's byte order: s390x and ppc64 are big endian); on i386, x32,
//!   arm and s390 libseccomp compares only the low 32 bits against the
//!   truncated value, and so do we. `SCMP_CMP_MASKED_EQ` takes
//!   the mask in `value` and the datum in `valueTwo` and matches
//!   `(arg & mask) == (datum & mask)`. Conditions of one entry are ANDed;
//!   entries for one syscall are ORed.
//! - **Several entries for one syscall**: an entry whose action equals the
//!   default action is skipped (runc does, libseccomp would refuse it). An
//!   unconditional entry decides the syscall whatever conditional entries
//!   say, and the first unconditional entry wins (libseccomp's
//!   `db_rule_add`). Conditional entries are tried in libseccomp's order,
//!   not the profile's: higher argument index first, then equality before
//!   `LT`/`LE` before `GE`/`GT`, then by value (see `order.rs`); the first
//!   that matches decides, else the default action. An entry naming one
//!   argument twice becomes one rule per condition, ORed, as runc does
//!   (with a warning); a `MASKED_EQ` with a zero mask always holds and is
//!   dropped, as libseccomp drops it.
//! - **runc's -ENOSYS stub**: unless the default action is ALLOW, LOG or
//!   TRACE, syscall numbers above the highest one the profile names on a
//!   listed architecture return `ENOSYS` instead of the default action, so
//!   a program probing a syscall newer than its profile falls back.
//! - **Flags**: `SECCOMP_FILTER_FLAG_LOG`, `_SPEC_ALLOW`, `_TSYNC` and
//!   `_WAIT_KILLABLE_RECV` are reported as kernel bits in
//!   [`Compiled::flags`]; a notify rule adds `NEW_LISTENER` (and requires
//!   `listenerPath`), and `TSYNC` with a listener adds `TSYNC_ESRCH`, without
//!   which the kernel refuses the pair.
//!
//! - **Multiplexers** (i386, s390, s390x, ppc64): a rule for a socket or
//!   SysV IPC call also applies to `socketcall(2)`/`ipc(2)` with `args[0]`
//!   equal to the call number (its other conditions dropped), as libseccomp
//!   does.
//!
//! Syscalls newer than the tables (Linux 6.18) are unknown names. The
//! tables (`syscalls.rs`) are generated by `gen-syscalls.py` from Debian's
//! kernel headers for each architecture; `gen-syscalls.py --check` says
//! whether the file is what the script makes (see docs/seccomp.md).
//!
//! # Layout
//!
//! On x86_64:
//!
//! ```text
//!   ld [arch]
//!   jeq AUDIT_ARCH_X86_64 → native            else: i386 block or ret KILL_THREAD
//! native:
//!   ld [nr]
//!   jge 0x40000000 → x32 block                (without x32: nr -1 → default, else
//!                                              ret KILL_THREAD)
//!   binary search over x86_64 numbers
//! x32 block:  binary search over x32 numbers (nr already loaded)
//! i386 block: jeq AUDIT_ARCH_I386 (else ret KILL_THREAD); ld [nr]; binary search
//! ```
//!
//! Other kernels have the same shape without the x32 split: the native
//! arch check, its search, then one block per listed compat ABI (arm on
//! aarch64, s390 on s390x), each behind its own arch check.
//!
//! Each ABI's number space is cut into intervals of equal outcome (runs of
//! allowed syscalls, gaps at the default action); a balanced tree of `jge`
//! finds the interval in ⌈log₂ n⌉ comparisons and ends in a `ret`, or, for a
//! syscall with argument rules, in its rules in order (each condition a few
//! loads and compares of the argument's 32-bit halves).
//!
//! With podman's default profile (x86_64, x86, x32) the program has 663
//! instructions and runs 11 for `getppid` (10 for `read`, 11 for an unknown
//! number, 13 for an i386 `getppid`). runc 1.1 with libseccomp 2.5.4 (binary
//! tree optimisation on, its -ENOSYS stub prepended) makes 1440 and runs 19
//! for `getppid` — compared decision by decision in the tests.
//!
//! # Why not seccompiler's code generator
//!
//! `seccompiler` compiles one filter per match action for one architecture
//! (x86_64, aarch64, riscv64), tests syscalls one after another (three
//! instructions each), and has no notify action. For podman's allow list
//! alone it makes 1615 instructions and runs up to 634 of them per call
//! (ours: 159 and 31). Joining its per-action filters would keep that cost
//! and still need our own code for i386, x32, notify and per-rule errno
//! values, so the generator is written at the BPF level here. The tests use
//! seccompiler as an independent reference (random argument conditions,
//! podman's allow list: same decisions), and libseccomp itself through
//! programs it generated for the fixtures (`fixtures/seccomp/libseccomp/`).

pub mod bpf;

mod arch;
mod codegen;
mod order;
mod rules;
mod syscalls;

#[cfg(test)]
mod interp;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

use oci_spec::runtime::{Arch, LinuxSeccomp};
use serde::Serialize;

use crate::error::FieldError;

use arch::Kernel;

pub use bpf::Insn;

/// A compiled filter and what loading it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Compiled {
    /// The BPF program, at most [`bpf::MAX_INSNS`] instructions, ending in a
    /// `ret`.
    pub program: Vec<Insn>,
    /// The `flags` argument of `seccomp(SECCOMP_SET_MODE_FILTER, ...)`.
    pub flags: FilterFlags,
    /// Where to send the notify fd, when a rule uses `SCMP_ACT_NOTIFY`.
    pub listener: Option<Listener>,
    /// What was skipped (unknown syscall names, foreign architectures).
    pub warnings: Vec<Warning>,
}

impl Compiled {
    /// Whether the filter must be loaded with
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER` and its fd sent to the listener.
    pub fn needs_listener(&self) -> bool {
        self.listener.is_some()
    }

    /// The program as the kernel reads it: 8 bytes per instruction.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.program.iter().flat_map(|i| i.to_bytes()).collect()
    }

    /// The program as `libc::sock_filter`s, for `struct sock_fprog`.
    pub fn sock_filters(&self) -> Vec<libc::sock_filter> {
        self.program.iter().map(|&i| i.into()).collect()
    }
}

/// `SECCOMP_FILTER_FLAG_*` bits (`include/uapi/linux/seccomp.h`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FilterFlags(pub u32);

impl FilterFlags {
    /// `SECCOMP_FILTER_FLAG_TSYNC`: apply to all threads of the process.
    pub const TSYNC: u32 = 1 << 0;
    /// `SECCOMP_FILTER_FLAG_LOG`: log every action but ALLOW.
    pub const LOG: u32 = 1 << 1;
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: keep Speculative Store Bypass
    /// mitigation off.
    pub const SPEC_ALLOW: u32 = 1 << 2;
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: `seccomp(2)` returns a notify fd.
    pub const NEW_LISTENER: u32 = 1 << 3;
    /// `SECCOMP_FILTER_FLAG_TSYNC_ESRCH`: report a thread that cannot sync
    /// as ESRCH, so TSYNC may be combined with NEW_LISTENER.
    pub const TSYNC_ESRCH: u32 = 1 << 4;
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: a notified task waits
    /// killably once the agent has received the notification.
    pub const WAIT_KILLABLE_RECV: u32 = 1 << 5;

    /// The bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether all of `bits` are set.
    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

/// The seccomp agent's socket (`listenerPath`) and the opaque string sent
/// with the container state (`listenerMetadata`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// `listenerPath`: an `AF_UNIX` `SOCK_STREAM` socket.
    pub path: PathBuf,
    /// `listenerMetadata`.
    pub metadata: Option<String>,
}

/// Something in the profile that was skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Warning {
    /// No syscall table knows the name: newer than the tables, or another
    /// architecture's. runc skips such names too.
    UnknownSyscall {
        /// The field, e.g. `linux.seccomp.syscalls[1].names[7]`.
        field: String,
        /// The name.
        name: String,
    },
    /// An architecture the kernel never reports.
    ForeignArchitecture {
        /// The field, e.g. `linux.seccomp.architectures[3]`.
        field: String,
        /// Its spelling.
        arch: String,
        /// The kernel's architecture (libseccomp's name, e.g. `x86_64`).
        kernel: String,
    },
    /// An entry compares one argument twice; like runc, each condition
    /// became a rule of its own (ORed, not ANDed).
    RepeatedArgument {
        /// The entry's `args` field.
        field: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownSyscall { field, name } => {
                write!(f, "{field}: unknown syscall {name:?} skipped")
            }
            Warning::ForeignArchitecture {
                field,
                arch,
                kernel,
            } => {
                write!(
                    f,
                    "{field}: {arch} never runs on an {kernel} kernel, skipped"
                )
            }
            Warning::RepeatedArgument { field } => write!(
                f,
                "{field}: an argument is compared twice; as runc does, each condition is a \
                 separate rule (ORed)"
            ),
        }
    }
}

/// Why a profile could not be compiled. Fields are named in JSON spelling
/// from the root of `config.json`.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The profile's JSON does not parse (unknown action, operator or
    /// architecture, wrong type, ...).
    #[error("{field}")]
    Parse {
        /// The field, e.g. `linux.seccomp.syscalls[3].action`.
        field: String,
        /// The parser's message.
        #[source]
        source: serde_json::Error,
    },
    /// A field has a value the filter cannot express.
    #[error("{field}: {reason}")]
    InvalidField {
        /// The field, e.g. `linux.seccomp.syscalls[3].errnoRet`.
        field: String,
        /// Why.
        reason: String,
    },
    /// The program exceeds `BPF_MAXINSNS`.
    #[error("linux.seccomp: the filter needs {len} instructions, the kernel takes at most 4096")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// No syscall tables for the kernel's architecture.
    #[error(
        "linux.seccomp: no syscall tables for a {arch} kernel; seccomp is supported on {supported}"
    )]
    UnsupportedKernel {
        /// The architecture (Rust's `target_arch`, or the OCI name asked for).
        arch: String,
        /// The kernels that have tables.
        supported: String,
    },
}

/// A profile that cannot be compiled is a refused field of the config.
impl From<SeccompError> for FieldError {
    fn from(e: SeccompError) -> Self {
        match e {
            SeccompError::Parse { field, source } => FieldError::invalid(field, source.to_string()),
            SeccompError::InvalidField { field, reason } => FieldError::invalid(field, reason),
            SeccompError::TooLong { len } => FieldError::invalid(
                "linux.seccomp",
                format!("the filter needs {len} instructions, the kernel takes at most 4096"),
            ),
            SeccompError::UnsupportedKernel { arch, supported } => FieldError::invalid(
                "linux.seccomp",
                format!(
                    "no syscall tables for a {arch} kernel; seccomp is supported on {supported}"
                ),
            ),
        }
    }
}

/// Compiles a `linux.seccomp` object for the kernel this build runs on
/// (the build's `target_arch`). See the module docs for the semantics and
/// the program's layout.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Compiled, SeccompError> {
    match Kernel::BUILD {
        Some(kernel) => compile_kernel(seccomp, kernel),
        None => Err(unsupported(std::env::consts::ARCH)),
    }
}

/// Compiles for the kernel of another architecture, named as in
/// `architectures` (`SCMP_ARCH_AARCH64`, ...): what [`compile`] would give
/// on a build for it. The kernels with tables are x86_64, x86, aarch64,
/// arm, riscv64, ppc64le, ppc64 and s390x.
pub fn compile_for(seccomp: &LinuxSeccomp, kernel: Arch) -> Result<Compiled, SeccompError> {
    match Kernel::from_oci(kernel) {
        Some(kernel) => compile_kernel(seccomp, kernel),
        None => Err(unsupported(&kernel.to_string())),
    }
}

fn unsupported(arch: &str) -> SeccompError {
    let supported: Vec<&str> = Kernel::ALL.iter().map(|k| k.native().name()).collect();
    SeccompError::UnsupportedKernel {
        arch: arch.to_string(),
        supported: supported.join(", "),
    }
}

fn compile_kernel(seccomp: &LinuxSeccomp, kernel: Kernel) -> Result<Compiled, SeccompError> {
    let resolved = rules::resolve(seccomp, kernel)?;
    let program = codegen::program(&resolved, kernel);
    if program.len() > bpf::MAX_INSNS {
        return Err(SeccompError::TooLong { len: program.len() });
    }
    debug_assert_eq!(bpf::check(&program), Ok(()));
    Ok(Compiled {
        program,
        flags: resolved.flags,
        listener: resolved.listener,
        warnings: resolved.warnings,
    })
}

/// Parses a `linux.seccomp` object from JSON (a profile file, or the
/// fixtures), naming the failing field as `linux.seccomp.…`.
pub fn parse_profile(json: &str) -> Result<LinuxSeccomp, SeccompError> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "linux.seccomp".to_string()
        } else {
            format!("linux.seccomp.{path}")
        };
        SeccompError::Parse {
            field,
            source: e.into_inner(),
        }
    })
}
