//! A tiny classic-BPF interpreter for the tests: runs a filter on a
//! `seccomp_data` the way the kernel does, and counts instructions.

use super::arch::Abi;
use super::bpf::{self, Insn};

/// The input of a filter: `struct seccomp_data` without the instruction
/// pointer (no profile can test it).
#[derive(Clone, Copy, Debug)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub args: [u64; 6],
    /// Whether the kernel stores each u64 argument high word first.
    pub big_endian: bool,
}

impl Data {
    /// A call of `nr` (already carrying the x32 bit for x32) on `abi`.
    pub fn new(abi: Abi, nr: u32, args: [u64; 6]) -> Data {
        Data {
            nr,
            arch: abi.audit_arch(),
            args,
            big_endian: abi.big_endian(),
        }
    }

    /// The 32-bit word at byte offset `off`, in the kernel's byte order.
    fn word(&self, off: u32) -> u32 {
        match off {
            bpf::DATA_NR => self.nr,
            bpf::DATA_ARCH => self.arch,
            8 | 12 => 0, // instruction_pointer
            16..=63 => {
                let arg = self.args[((off - 16) / 8) as usize];
                // Little endian: the low word of each u64 first.
                if (off & 4 == 0) != self.big_endian {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                }
            }
            _ => panic!("load at offset {off} outside seccomp_data"),
        }
    }
}

/// Runs `program`; returns the return value and the number of instructions
/// executed. Panics on anything the kernel would have refused or that would
/// run off the end.
pub fn run(program: &[Insn], data: &Data) -> (u32, usize) {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    let mut steps = 0usize;
    loop {
        let insn = *program
            .get(pc)
            .unwrap_or_else(|| panic!("pc {pc} ran off the end"));
        steps += 1;
        let cond = |taken: bool| if taken { insn.jt } else { insn.jf };
        pc += 1 + match insn.code {
            bpf::LD_W_ABS => {
                a = data.word(insn.k);
                0
            }
            bpf::ALU_AND_K => {
                a &= insn.k;
                0
            }
            bpf::JMP_JA => insn.k as usize,
            bpf::JMP_JEQ_K => usize::from(cond(a == insn.k)),
            bpf::JMP_JGT_K => usize::from(cond(a > insn.k)),
            bpf::JMP_JGE_K => usize::from(cond(a >= insn.k)),
            bpf::JMP_JSET_K => usize::from(cond(a & insn.k != 0)),
            bpf::RET_K => return (insn.k, steps),
            other => panic!("opcode {other:#x} at {}", pc),
        };
    }
}
