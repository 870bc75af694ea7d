//! Classic BPF as seccomp runs it: the instruction type, the few opcodes the
//! compiler emits, the `seccomp_data` layout and the `SECCOMP_RET_*` values.
//!
//! Sources: `include/uapi/linux/filter.h` and `bpf_common.h` (opcodes),
//! `include/uapi/linux/seccomp.h` (`seccomp_data`, return values) and
//! `kernel/seccomp.c` (`seccomp_check_filter`: which opcodes a filter may
//! use).

use std::fmt;

use serde::Serialize;

/// `BPF_MAXINSNS`: the kernel rejects longer programs with `EINVAL`.
pub const MAX_INSNS: usize = 4096;

// Opcodes: class | size | mode, or class | op | source (bpf_common.h).
/// `BPF_LD | BPF_W | BPF_ABS`: A = 32-bit word at offset k of `seccomp_data`.
pub const LD_W_ABS: u16 = 0x20; // BPF_LD 0x00 | BPF_W 0x00 | BPF_ABS 0x20
/// `BPF_ALU | BPF_AND | BPF_K`: A &= k.
pub const ALU_AND_K: u16 = 0x54; // BPF_ALU 0x04 | BPF_AND 0x50 | BPF_K 0x00
/// `BPF_JMP | BPF_JA`: pc += k (forward only, 32-bit offset).
pub const JMP_JA: u16 = 0x05; // BPF_JMP 0x05 | BPF_JA 0x00
/// `BPF_JMP | BPF_JEQ | BPF_K`: pc += (A == k) ? jt : jf.
pub const JMP_JEQ_K: u16 = 0x15;
/// `BPF_JMP | BPF_JGT | BPF_K`: pc += (A > k) ? jt : jf (unsigned).
pub const JMP_JGT_K: u16 = 0x25;
/// `BPF_JMP | BPF_JGE | BPF_K`: pc += (A >= k) ? jt : jf (unsigned).
pub const JMP_JGE_K: u16 = 0x35;
/// `BPF_JMP | BPF_JSET | BPF_K`: pc += (A & k) != 0 ? jt : jf.
pub const JMP_JSET_K: u16 = 0x45;
/// `BPF_RET | BPF_K`: stop and return k.
pub const RET_K: u16 = 0x06; // BPF_RET 0x06 | BPF_K 0x00

// `struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer;
// __u64 args[6]; }` — the offsets the filter loads from.
/// Offset of `nr`, the syscall number.
pub const DATA_NR: u32 = 0;
/// Offset of `arch`, an `AUDIT_ARCH_*` value.
pub const DATA_ARCH: u32 = 4;

/// Offset of `args[index]`, a u64 the kernel stores in its own byte order:
/// which of its two 32-bit words is the low one depends on the ABI (see
/// `Abi::arg_words`).
pub const fn data_arg(index: u8) -> u32 {
    16 + 8 * index as u32
}

// Return values (seccomp.h). The high 16 bits select the action; the low
// 16 bits (`SECCOMP_RET_DATA`) carry the errno or the tracer's message.
/// `SECCOMP_RET_KILL_PROCESS`.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_KILL_THREAD` (= `SECCOMP_RET_KILL`).
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
/// `SECCOMP_RET_TRAP`: the thread gets `SIGSYS`.
pub const RET_TRAP: u32 = 0x0003_0000;
/// `SECCOMP_RET_ERRNO`: or-ed with the errno the syscall returns.
pub const RET_ERRNO: u32 = 0x0005_0000;
/// `SECCOMP_RET_USER_NOTIF`: a listener (`SECCOMP_FILTER_FLAG_NEW_LISTENER`)
/// decides.
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// `SECCOMP_RET_TRACE`: or-ed with the message a ptrace tracer receives.
pub const RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_LOG`: allowed, and logged.
pub const RET_LOG: u32 = 0x7ffc_0000;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_DATA`: the bits of a return value that carry data.
pub const RET_DATA: u32 = 0x0000_ffff;

/// One classic-BPF instruction, laid out as the kernel's `struct sock_filter`
/// (`{ __u16 code; __u8 jt; __u8 jf; __u32 k; }`, 8 bytes), so a slice of
/// them can be handed to `seccomp(2)` as it is.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Insn {
    /// The opcode.
    pub code: u16,
    /// Conditional jumps: instructions to skip when the condition holds.
    pub jt: u8,
    /// Conditional jumps: instructions to skip when it does not.
    pub jf: u8,
    /// The constant operand (offset, comparand, mask, jump length, return value).
    pub k: u32,
}

impl Insn {
    /// A non-jumping instruction (load, ALU, `JA`, return).
    pub const fn stmt(code: u16, k: u32) -> Insn {
        Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// A conditional jump.
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// `struct sock_filter` in host byte order, as `seccomp(2)` reads it.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[0..2].copy_from_slice(&self.code.to_ne_bytes());
        out[2] = self.jt;
        out[3] = self.jf;
        out[4..8].copy_from_slice(&self.k.to_ne_bytes());
        out
    }

    /// Is this a `RET`?
    pub fn is_ret(self) -> bool {
        self.code == RET_K
    }
}

impl From<Insn> for libc::sock_filter {
    fn from(i: Insn) -> Self {
        libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        }
    }
}

/// Disassembly in the style of `bpf_dbg`/`seccomp-tools`, for plans and
/// test failures.
impl fmt::Display for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cond = |f: &mut fmt::Formatter<'_>, op: &str| {
            write!(f, "{op} #{:#x}, +{}, +{}", self.k, self.jt, self.jf)
        };
        match self.code {
            LD_W_ABS => write!(f, "ld [{}]", self.k),
            ALU_AND_K => write!(f, "and #{:#x}", self.k),
            JMP_JA => write!(f, "ja +{}", self.k),
            JMP_JEQ_K => cond(f, "jeq"),
            JMP_JGT_K => cond(f, "jgt"),
            JMP_JGE_K => cond(f, "jge"),
            JMP_JSET_K => cond(f, "jset"),
            RET_K => write!(f, "ret #{:#x}", self.k),
            other => write!(
                f,
                "op {other:#06x} #{:#x}, +{}, +{}",
                self.k, self.jt, self.jf
            ),
        }
    }
}

/// An instruction the kernel would refuse, found by [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("instruction {pc}: {why}")]
pub struct BadInstruction {
    /// Its index (the program's length when the length is wrong).
    pub pc: usize,
    /// What the kernel would say is wrong with it.
    pub why: &'static str,
}

/// Checks what the kernel checks before it accepts a filter
/// (`bpf_check_classic` and `seccomp_check_filter`), for the opcodes this
/// compiler emits: a length of 1 to [`MAX_INSNS`], loads at aligned offsets
/// inside `seccomp_data`, every jump landing inside the program, and a
/// `RET` as the last instruction so no path runs off the end. Returns the
/// first bad instruction and why.
pub fn check(program: &[Insn]) -> Result<(), BadInstruction> {
    let bad = |pc, why| Err(BadInstruction { pc, why });
    if program.is_empty() || program.len() > MAX_INSNS {
        return bad(program.len(), "program length must be 1..=4096");
    }
    let len = program.len();
    for (pc, insn) in program.iter().enumerate() {
        let fits = |skip: u64| pc as u64 + 1 + skip < len as u64;
        match insn.code {
            LD_W_ABS => {
                // sizeof(struct seccomp_data) is 64.
                if insn.k % 4 != 0 || insn.k >= 64 {
                    return bad(pc, "load outside seccomp_data or unaligned");
                }
            }
            ALU_AND_K | RET_K => {}
            JMP_JA => {
                if !fits(u64::from(insn.k)) {
                    return bad(pc, "ja jumps past the end");
                }
            }
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                if !fits(u64::from(insn.jt)) || !fits(u64::from(insn.jf)) {
                    return bad(pc, "conditional jump past the end");
                }
            }
            _ => return bad(pc, "opcode not emitted by this compiler"),
        }
    }
    if !program[len - 1].is_ret() {
        return bad(len - 1, "last instruction is not a ret");
    }
    Ok(())
}
