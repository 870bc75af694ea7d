//! cgroup v2 device access control: the device rules compiled into an eBPF
//! program of type `BPF_PROG_TYPE_CGROUP_DEVICE`, as raw instructions.
//!
//! cgroup v2 has no `devices.allow`/`devices.deny` files. Instead the kernel
//! runs the programs attached to the task's v2 cgroup (`BPF_CGROUP_DEVICE`)
//! whenever a device node is opened or created; any program returning 0
//! makes the syscall fail with `EPERM`. This happens in
//! `devcgroup_check_permission` *before* the v1 devices controller is
//! consulted, so on a hybrid host both must agree.
//!
//! # What the kernel passes
//! The context is `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
//! u32 minor; }` with `access_type = (access << 16) | type`, where the type
//! is `BPF_DEVCG_DEV_BLOCK` (1) or `BPF_DEVCG_DEV_CHAR` (2) and `access` a
//! *set* of `BPF_DEVCG_ACC_MKNOD` (1), `READ` (2) and `WRITE` (4): an
//! `open(O_RDWR)` is one check with `READ | WRITE` (the kernel ORs the bits
//! from the `MAY_READ`/`MAY_WRITE` mask), `mknod` is `MKNOD` alone, and a
//! permission check with neither (`access(2)` with `X_OK` or `F_OK`) comes
//! with no bit at all.
//!
//! # What the rules mean
//! The rules are OCI's `linux.resources.devices`, applied in order: a later
//! rule overrides earlier ones for the devices *and access bits* it names.
//! A request is allowed when, for every bit it asks for, the last rule that
//! matches the device and names that bit is an allow rule; a bit no rule
//! names is denied. Deciding bit by bit is what makes `O_RDWR` behave like
//! an `O_RDONLY` plus an `O_WRONLY` open, which the caller could do anyway:
//! `deny c 1:3 w` after `allow c 1:3 rwm` denies `O_RDWR`, and
//! `allow c 1:* r` with `allow c 1:3 w` allows it. A request without bits is
//! allowed when the last rule for the device that allows something or
//! denies everything is an allow rule.
//!
//! runc and crun differ in the corners: runc first replays the rules through
//! an emulation of the v1 controller (exact-match merging, an error for a
//! deny that would punch a hole in a wildcard) and emits rules that all
//! share one action; crun emits the rules last-first with "first match
//! wins" but matches a deny rule only when it covers *all* requested bits,
//! so its `deny c 1:3 w` does not stop `O_RDWR`. Here an `a` rule is taken
//! literally (all types, with its numbers and access), where runc treats any
//! `a` rule as "everything".
//!
//! # Program layout
//! ```text
//!   r2 = ctx->access_type & 0xffff      device type
//!   r3 = ctx->access_type >> 16         access bits still to decide
//!   r4 = ctx->major
//!   r5 = ctx->minor
//!   if r3 != 0 goto +1
//!   r3 = ANY                            a request without bits
//! one block per rule, last rule first:
//!   if r2 != TYPE  goto next            (not for type a)
//!   if r4 != MAJOR goto next            (not for major *)
//!   if r5 != MINOR goto next            (not for minor *)
//!   if r3 & MASK   goto +1              (not when MASK has every bit)
//!   goto next
//!   deny:  r0 = 0; exit                 a pending bit is denied
//!   allow: r3 &= ~MASK                  these bits are allowed
//!          if r3 != 0 goto next         others still to decide
//!          r0 = 1; exit
//! after the blocks (unless one matched everything):
//!   r0 = 0; exit                        no rule named a pending bit
//! ```
//! A block for a rule matching every device and every bit has no jump to
//! `next`: it ends the program, because the verifier refuses unreachable
//! instructions.

use crate::cgroup_types::DeviceRule;

// Instruction classes (the low three bits of the opcode).
const BPF_LDX: u8 = 0x01;
const BPF_ALU: u8 = 0x04; // 32-bit ALU: results are zero-extended to 64 bits
const BPF_JMP: u8 = 0x05;
// Load size and mode.
const BPF_W: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
// Operand source: the immediate.
const BPF_K: u8 = 0x00;
// ALU operations.
const BPF_AND: u8 = 0x50;
const BPF_RSH: u8 = 0x70;
const BPF_MOV: u8 = 0xb0;
// Jump operations.
const BPF_JA: u8 = 0x00;
const BPF_JSET: u8 = 0x40;
const BPF_JNE: u8 = 0x50;
const BPF_EXIT: u8 = 0x90;

/// `r0`: the return value (1 allow, 0 deny).
const R0: u8 = 0;
/// `r1`: the pointer to `struct bpf_cgroup_dev_ctx` on entry.
const R1: u8 = 1;
/// `r2`: the device type.
const R2: u8 = 2;
/// `r3`: the requested access bits that no rule has decided yet.
const R3: u8 = 3;
/// `r4`: the major number.
const R4: u8 = 4;
/// `r5`: the minor number.
const R5: u8 = 5;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: u32 = 1;
const ACC_READ: u32 = 2;
const ACC_WRITE: u32 = 4;
const ACC_RWM: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;
/// Not a kernel bit: stands for a request that asks for no access at all,
/// so that it is decided by the same walk as the others.
const ACC_ANY: u32 = 8;
const ACC_ALL: u32 = ACC_RWM | ACC_ANY;

/// One eBPF instruction (`struct bpf_insn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Insn {
    /// Opcode: class | operation | source.
    pub(super) code: u8,
    /// Destination register.
    pub(super) dst: u8,
    /// Source register.
    pub(super) src: u8,
    /// Jump offset (in instructions, from the next one) or memory offset.
    pub(super) off: i16,
    /// Immediate operand.
    pub(super) imm: i32,
}

impl Insn {
    /// The kernel's 8-byte encoding, in the machine's byte order. The two
    /// registers share a byte as C bitfields `dst_reg:4, src_reg:4`, which
    /// put `dst` in the low nibble on little-endian machines and in the high
    /// one on big-endian machines.
    pub(super) fn to_bytes(self) -> [u8; 8] {
        let regs = if cfg!(target_endian = "little") {
            (self.src << 4) | (self.dst & 0x0f)
        } else {
            (self.dst << 4) | (self.src & 0x0f)
        };
        let off = self.off.to_ne_bytes();
        let imm = self.imm.to_ne_bytes();
        [
            self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }

    /// The inverse of [`Insn::to_bytes`].
    #[cfg(test)]
    pub(super) fn from_bytes(b: [u8; 8]) -> Self {
        let (dst, src) = if cfg!(target_endian = "little") {
            (b[1] & 0x0f, b[1] >> 4)
        } else {
            (b[1] >> 4, b[1] & 0x0f)
        };
        Insn {
            code: b[0],
            dst,
            src,
            off: i16::from_ne_bytes([b[2], b[3]]),
            imm: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// The program as the bytes `BPF_PROG_LOAD` takes.
pub(super) fn encode(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

/// `dst = *(u32 *)(src + off)`
fn load_word(dst: u8, src: u8, off: i16) -> Insn {
    insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
}

/// A 32-bit ALU operation with an immediate.
fn alu32(op: u8, dst: u8, imm: i32) -> Insn {
    insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm)
}

/// A conditional jump comparing a register with an immediate.
fn jump_if(op: u8, dst: u8, imm: i32, off: i16) -> Insn {
    insn(BPF_JMP | op | BPF_K, dst, 0, off, imm)
}

fn jump(off: i16) -> Insn {
    insn(BPF_JMP | BPF_JA, 0, 0, off, 0)
}

fn exit() -> Insn {
    insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
}

/// Splits the context into registers (see the layout in the module docs).
fn prologue() -> [Insn; 8] {
    [
        load_word(R2, R1, 0),
        alu32(BPF_AND, R2, 0xffff),
        load_word(R3, R1, 0),
        alu32(BPF_RSH, R3, 16),
        load_word(R4, R1, 4),
        load_word(R5, R1, 8),
        jump_if(BPF_JNE, R3, 0, 1),
        alu32(BPF_MOV, R3, ACC_ANY as i32),
    ]
}

fn access_bits(access: &str) -> u32 {
    access.chars().fold(0, |bits, c| {
        bits | match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            // Validation refuses other letters before a plan exists.
            _ => 0,
        }
    })
}

/// The pending bits a rule decides: an allow rule with any access also
/// decides a request without bits, a deny rule only when it denies all.
fn rule_mask(rule: &DeviceRule) -> u32 {
    let bits = access_bits(&rule.access);
    match (rule.allow, bits) {
        (_, 0) => 0,
        (true, bits) => bits | ACC_ANY,
        (false, ACC_RWM) => ACC_ALL,
        (false, bits) => bits,
    }
}

/// A rule's major or minor as the immediate to compare with: `Ok(None)` for
/// "any" (unset, or negative as runc spells `*`), `Err(())` for a number no
/// device has. The kernel's numbers are 12 (major) and 20 (minor) bits, so
/// anything beyond `i32::MAX`, which the sign-extended immediate could not
/// express, matches nothing.
fn device_number(n: Option<i64>) -> Result<Option<i32>, ()> {
    match n {
        None => Ok(None),
        Some(n) if n < 0 => Ok(None),
        Some(n) => i32::try_from(n).map(Some).map_err(drop),
    }
}

/// The instructions for one rule, or `None` if the rule can match nothing.
/// The second value says whether the block always returns (it matches every
/// device and every bit), which ends the program.
fn rule_block(rule: &DeviceRule) -> Option<(Vec<Insn>, bool)> {
    let kind = match rule.kind {
        'a' => None,
        'c' => Some(DEV_CHAR),
        'b' => Some(DEV_BLOCK),
        _ => return None,
    };
    let major = device_number(rule.major).ok()?;
    let minor = device_number(rule.minor).ok()?;
    let mask = rule_mask(rule);
    if mask == 0 {
        return None;
    }

    let mut code = Vec::new();
    // Indices of the jumps to the next block, patched once its start is known.
    let mut to_next = Vec::new();
    for (reg, value) in [(R2, kind), (R4, major), (R5, minor)] {
        if let Some(value) = value {
            to_next.push(code.len());
            code.push(jump_if(BPF_JNE, reg, value, 0));
        }
    }
    // r3 is never 0 here, so a mask with every bit always matches.
    if mask != ACC_ALL {
        code.push(jump_if(BPF_JSET, R3, mask as i32, 1));
        to_next.push(code.len());
        code.push(jump(0));
    }
    if rule.allow {
        if mask != ACC_ALL {
            code.push(alu32(BPF_AND, R3, !mask as i32));
            to_next.push(code.len());
            code.push(jump_if(BPF_JNE, R3, 0, 0));
        }
        code.push(alu32(BPF_MOV, R0, 1));
    } else {
        code.push(alu32(BPF_MOV, R0, 0));
    }
    code.push(exit());

    let len = code.len();
    for &i in &to_next {
        // A block is a handful of instructions: the offset always fits.
        code[i].off = (len - i - 1) as i16;
    }
    Some((code, to_next.is_empty()))
}

/// The device filter for `rules` (in OCI order: later rules override
/// earlier ones), ready for [`encode`].
pub(super) fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut insns = prologue().to_vec();
    for rule in rules.iter().rev() {
        let Some((block, ends_program)) = rule_block(rule) else {
            continue;
        };
        insns.extend(block);
        if ends_program {
            // Earlier rules are overridden for everything: emitting them
            // would leave unreachable code, which the verifier refuses.
            return insns;
        }
    }
    insns.extend([alu32(BPF_MOV, R0, 0), exit()]);
    insns
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device access as the kernel asks it.
    #[derive(Clone, Copy, Debug)]
    struct Request {
        kind: char,
        major: u32,
        minor: u32,
        access: &'static str,
    }

    fn req(kind: char, major: u32, minor: u32, access: &'static str) -> Request {
        Request {
            kind,
            major,
            minor,
            access,
        }
    }

    fn rule(
        allow: bool,
        kind: char,
        major: Option<i64>,
        minor: Option<i64>,
        a: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: a.to_string(),
        }
    }

    fn allow(kind: char, major: Option<i64>, minor: Option<i64>, a: &str) -> DeviceRule {
        rule(true, kind, major, minor, a)
    }

    fn deny(kind: char, major: Option<i64>, minor: Option<i64>, a: &str) -> DeviceRule {
        rule(false, kind, major, minor, a)
    }

    fn deny_all() -> DeviceRule {
        deny('a', None, None, "rwm")
    }

    /// `struct bpf_cgroup_dev_ctx` for a request.
    fn context(r: Request) -> [u8; 12] {
        let kind = match r.kind {
            'b' => DEV_BLOCK as u32,
            'c' => DEV_CHAR as u32,
            k => panic!("a request is for a block or char device, not {k:?}"),
        };
        let access_type = (access_bits(r.access) << 16) | kind;
        let mut ctx = [0u8; 12];
        ctx[0..4].copy_from_slice(&access_type.to_ne_bytes());
        ctx[4..8].copy_from_slice(&r.major.to_ne_bytes());
        ctx[8..12].copy_from_slice(&r.minor.to_ne_bytes());
        ctx
    }

    /// Runs the program as the kernel would, supporting exactly the
    /// instructions the generator emits; anything else is a test failure,
    /// as is reading a register nothing has written (the verifier's rule).
    fn run(prog: &[Insn], r: Request) -> bool {
        let ctx = context(r);
        let mut reg = [0u64; 11];
        let mut set = [false; 11];
        set[R1 as usize] = true; // holds the context pointer; loads go through it
        set[10] = true; // frame pointer
        let mut pc = 0usize;
        for _ in 0..=prog.len() {
            let i = *prog.get(pc).expect("ran off the end of the program");
            pc += 1;
            let (d, s) = (i.dst as usize, i.src as usize);
            let read = |reg: &[u64; 11], set: &[bool; 11], n: usize| {
                assert!(set[n], "r{n} read before written at {}", pc - 1);
                reg[n]
            };
            let target = |pc: usize| pc.checked_add_signed(i.off as isize).unwrap();
            match i.code {
                c if c == BPF_LDX | BPF_W | BPF_MEM => {
                    assert_eq!(s, R1 as usize, "loads are from the context");
                    let o = usize::try_from(i.off).unwrap();
                    reg[d] = u32::from_ne_bytes(ctx[o..o + 4].try_into().unwrap()).into();
                    set[d] = true;
                }
                c if c == BPF_ALU | BPF_AND | BPF_K => {
                    reg[d] = (read(&reg, &set, d) as u32 & i.imm as u32).into();
                }
                c if c == BPF_ALU | BPF_RSH | BPF_K => {
                    reg[d] = ((read(&reg, &set, d) as u32) >> i.imm).into();
                }
                c if c == BPF_ALU | BPF_MOV | BPF_K => {
                    reg[d] = (i.imm as u32).into();
                    set[d] = true;
                }
                c if c == BPF_JMP | BPF_JA => pc = target(pc),
                c if c == BPF_JMP | BPF_JNE | BPF_K => {
                    // 64-bit jumps compare with the sign-extended immediate.
                    if read(&reg, &set, d) != i.imm as i64 as u64 {
                        pc = target(pc);
                    }
                }
                c if c == BPF_JMP | BPF_JSET | BPF_K => {
                    if read(&reg, &set, d) & i.imm as i64 as u64 != 0 {
                        pc = target(pc);
                    }
                }
                c if c == BPF_JMP | BPF_EXIT => {
                    return match read(&reg, &set, R0 as usize) {
                        0 => false,
                        1 => true,
                        v => panic!("returned {v}"),
                    };
                }
                c => panic!("unexpected opcode {c:#04x} at {}", pc - 1),
            }
        }
        panic!("no exit within {} steps: a backward jump?", prog.len() + 1)
    }

    /// Compiles, encodes, decodes and runs, so every check covers the encoder.
    fn allowed(rules: &[DeviceRule], r: Request) -> bool {
        let prog = decode(&encode(&program(rules)));
        check_structure(&prog);
        run(&prog, r)
    }

    fn decode(bytes: &[u8]) -> Vec<Insn> {
        assert_eq!(bytes.len() % 8, 0);
        bytes
            .chunks_exact(8)
            .map(|c| Insn::from_bytes(c.try_into().unwrap()))
            .collect()
    }

    /// What the verifier checks before running anything: jumps land inside
    /// the program and go forward (no loops), the last instruction is an
    /// exit, and every instruction is reachable.
    fn check_structure(prog: &[Insn]) {
        assert!(!prog.is_empty());
        assert_eq!(
            prog.last().unwrap().code,
            BPF_JMP | BPF_EXIT,
            "ends in exit"
        );
        let mut reached = vec![false; prog.len()];
        reached[0] = true;
        for (pc, i) in prog.iter().enumerate() {
            assert!(reached[pc], "instruction {pc} is unreachable: {prog:#?}");
            let class = i.code & 0x07;
            if class != BPF_JMP {
                reached[pc + 1] = true;
                continue;
            }
            if i.code == BPF_JMP | BPF_EXIT {
                continue;
            }
            assert!(i.off >= 0, "backward jump at {pc}");
            let target = pc + 1 + i.off as usize;
            assert!(target < prog.len(), "jump out of bounds at {pc}");
            reached[target] = true;
            if i.code != BPF_JMP | BPF_JA {
                reached[pc + 1] = true;
            }
        }
    }

    /// The default rules of every container, as the plan builds them.
    fn defaults() -> Vec<DeviceRule> {
        let mut rules = vec![deny_all()];
        for (major, minor) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0)] {
            rules.push(allow('c', Some(major), Some(minor), "rwm"));
        }
        rules.push(allow('c', None, None, "m"));
        rules.push(allow('b', None, None, "m"));
        rules.push(allow('c', Some(136), None, "rwm"));
        rules.push(allow('c', Some(5), Some(2), "rwm"));
        rules.push(allow('c', Some(5), Some(1), "rwm"));
        rules
    }

    #[test]
    fn encodes_the_kernel_layout() {
        let i = load_word(R2, R1, 4);
        let bytes = i.to_bytes();
        assert_eq!(bytes[0], 0x61, "BPF_LDX | BPF_W | BPF_MEM");
        if cfg!(target_endian = "little") {
            assert_eq!(bytes, [0x61, 0x12, 4, 0, 0, 0, 0, 0]);
        }
        let j = jump_if(BPF_JNE, R4, -2, 3);
        assert_eq!(Insn::from_bytes(j.to_bytes()), j);
        assert_eq!(exit().to_bytes(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn default_rules() {
        let rules = defaults();
        for access in ["r", "w", "m", "rw", "rwm", ""] {
            assert!(allowed(&rules, req('c', 1, 3, access)), "null {access}");
            assert!(allowed(&rules, req('c', 136, 7, access)), "pts {access}");
            assert!(allowed(&rules, req('c', 5, 2, access)), "ptmx {access}");
        }
        // Anything may be created, nothing else opened.
        assert!(allowed(&rules, req('c', 10, 200, "m")));
        assert!(allowed(&rules, req('b', 8, 0, "m")));
        for access in ["r", "w", "rw", "rm"] {
            assert!(!allowed(&rules, req('c', 10, 200, access)), "tun {access}");
            assert!(!allowed(&rules, req('b', 8, 0, access)), "sda {access}");
            assert!(!allowed(&rules, req('c', 1, 4, access)), "1:4 {access}");
        }
        // The pts wildcard is char only.
        assert!(!allowed(&rules, req('b', 136, 7, "r")));
    }

    #[test]
    fn wildcard_major_and_minor() {
        let mut rules = vec![deny_all(), allow('c', None, Some(1), "rw")];
        assert!(allowed(&rules, req('c', 99, 1, "rw")));
        assert!(allowed(&rules, req('c', 4, 1, "r")));
        assert!(!allowed(&rules, req('c', 99, 2, "r")));
        rules.push(allow('b', Some(8), None, "r"));
        assert!(allowed(&rules, req('b', 8, 0, "r")));
        assert!(allowed(&rules, req('b', 8, 17, "r")));
        assert!(!allowed(&rules, req('b', 9, 0, "r")));
        assert!(!allowed(&rules, req('b', 8, 0, "w")));
        // runc spells "any" as -1.
        let runc_style = [deny_all(), allow('c', Some(-1), Some(-1), "r")];
        assert!(allowed(&runc_style, req('c', 42, 42, "r")));
    }

    #[test]
    fn access_subsets() {
        let rules = [deny_all(), allow('c', Some(10), Some(200), "rw")];
        assert!(allowed(&rules, req('c', 10, 200, "r")));
        assert!(allowed(&rules, req('c', 10, 200, "rw")));
        assert!(!allowed(&rules, req('c', 10, 200, "m")));
        let read_only = [deny_all(), allow('c', Some(1), Some(3), "r")];
        assert!(allowed(&read_only, req('c', 1, 3, "r")));
        assert!(
            !allowed(&read_only, req('c', 1, 3, "rw")),
            "O_RDWR needs w too"
        );
        assert!(!allowed(&read_only, req('c', 1, 3, "w")));
        // Bits granted by different rules add up, as two opens would.
        let split = [
            deny_all(),
            allow('c', Some(1), None, "r"),
            allow('c', Some(1), Some(3), "w"),
        ];
        assert!(allowed(&split, req('c', 1, 3, "rw")));
        assert!(!allowed(&split, req('c', 1, 4, "rw")));
    }

    #[test]
    fn block_and_char_are_different_devices() {
        let rules = [deny_all(), allow('b', Some(8), Some(0), "rwm")];
        assert!(allowed(&rules, req('b', 8, 0, "rw")));
        assert!(!allowed(&rules, req('c', 8, 0, "r")));
        let rules = [deny_all(), allow('c', Some(8), Some(0), "rwm")];
        assert!(!allowed(&rules, req('b', 8, 0, "r")));
    }

    #[test]
    fn type_a_rules_cover_both_types() {
        let rules = [deny_all(), allow('a', Some(7), None, "rw")];
        assert!(allowed(&rules, req('c', 7, 1, "rw")));
        assert!(allowed(&rules, req('b', 7, 1, "rw")));
        assert!(!allowed(&rules, req('b', 7, 1, "m")));
        assert!(!allowed(&rules, req('b', 6, 1, "r")));
        let mut rules = defaults();
        rules.push(deny('a', None, None, "w"));
        assert!(allowed(&rules, req('c', 1, 3, "r")));
        assert!(!allowed(&rules, req('c', 1, 3, "w")));
        assert!(!allowed(&rules, req('c', 1, 3, "rw")));
    }

    #[test]
    fn allow_all() {
        let mut rules = defaults();
        rules.push(allow('a', None, None, "rwm"));
        for r in [
            req('b', 8, 0, "rwm"),
            req('c', 10, 200, "rw"),
            req('c', 1, 3, ""),
        ] {
            assert!(allowed(&rules, r), "{r:?}");
        }
        // Everything before the allow-all rule is dead and left out.
        assert_eq!(program(&rules).len(), prologue().len() + 2);
        // An empty list denies everything: the rules name no bit.
        assert!(!allowed(&[], req('c', 1, 3, "r")));
    }

    #[test]
    fn later_rules_win() {
        let rules = [
            deny_all(),
            allow('c', Some(1), None, "rwm"),
            deny('c', Some(1), Some(3), "w"),
        ];
        assert!(allowed(&rules, req('c', 1, 3, "r")));
        assert!(!allowed(&rules, req('c', 1, 3, "w")));
        assert!(!allowed(&rules, req('c', 1, 3, "rw")), "O_RDWR asks for w");
        assert!(allowed(&rules, req('c', 1, 5, "rw")));
        let rules = [
            deny_all(),
            deny('c', Some(1), Some(3), "rwm"),
            allow('c', Some(1), Some(3), "r"),
        ];
        assert!(allowed(&rules, req('c', 1, 3, "r")));
        assert!(!allowed(&rules, req('c', 1, 3, "w")));
        // A later deny-all resets; allows after it count again.
        let mut rules = defaults();
        rules.push(deny_all());
        assert!(!allowed(&rules, req('c', 1, 3, "r")));
        assert_eq!(program(&rules).len(), prologue().len() + 2);
        rules.push(allow('c', Some(1), Some(5), "r"));
        assert!(allowed(&rules, req('c', 1, 5, "r")));
        assert!(!allowed(&rules, req('c', 1, 3, "r")));
    }

    #[test]
    fn requests_without_access_bits() {
        let rules = [deny_all(), allow('c', Some(1), Some(3), "r")];
        assert!(allowed(&rules, req('c', 1, 3, "")));
        assert!(!allowed(&rules, req('c', 1, 4, "")));
        // A partial deny leaves the device usable; a full one does not.
        let partial = [
            deny_all(),
            allow('c', Some(1), Some(3), "rw"),
            deny('c', Some(1), Some(3), "w"),
        ];
        assert!(allowed(&partial, req('c', 1, 3, "")));
        let full = [
            deny_all(),
            allow('c', Some(1), Some(3), "rw"),
            deny('c', Some(1), Some(3), "rwm"),
        ];
        assert!(!allowed(&full, req('c', 1, 3, "")));
    }

    #[test]
    fn rules_that_match_nothing_are_skipped() {
        let base = program(&[deny_all()]);
        let rules = [
            deny_all(),
            allow('c', Some(1), Some(3), ""),
            allow('c', Some(i64::from(u32::MAX) + 1), None, "rwm"),
            allow('c', Some(1), Some(i64::MAX), "rwm"),
            allow('p', None, None, "rwm"),
        ];
        assert_eq!(program(&rules), base);
        assert!(!allowed(&rules, req('c', 1, 3, "r")));
    }

    /// The decision the program must reach, written as the rule of the
    /// module docs rather than as the generator computes it.
    fn reference(rules: &[DeviceRule], r: Request) -> bool {
        let matches = |rule: &&DeviceRule| {
            let number = |n: Option<i64>, v: u32| n.is_none_or(|n| n < 0 || n == i64::from(v));
            (rule.kind == 'a' || rule.kind == r.kind)
                && number(rule.major, r.major)
                && number(rule.minor, r.minor)
        };
        let requested = access_bits(r.access);
        if requested == 0 {
            return rules
                .iter()
                .rev()
                .filter(matches)
                .find(|rule| {
                    let bits = access_bits(&rule.access);
                    if rule.allow {
                        bits != 0
                    } else {
                        bits == ACC_RWM
                    }
                })
                .is_some_and(|rule| rule.allow);
        }
        [ACC_MKNOD, ACC_READ, ACC_WRITE]
            .into_iter()
            .filter(|bit| requested & bit != 0)
            .all(|bit| {
                rules
                    .iter()
                    .rev()
                    .filter(matches)
                    .find(|rule| access_bits(&rule.access) & bit != 0)
                    .is_some_and(|rule| rule.allow)
            })
    }

    /// Random rule lists over a small domain, checked against the reference
    /// for every request in that domain.
    #[test]
    fn agrees_with_the_reference_on_random_rules() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        const ACCESS: [&str; 8] = ["", "m", "r", "w", "rm", "wm", "rw", "rwm"];
        let numbers = [None, Some(-1), Some(1), Some(3), Some(5)];
        for _ in 0..1500 {
            let rules: Vec<DeviceRule> = (0..next(8))
                .map(|_| DeviceRule {
                    allow: next(2) == 0,
                    kind: ['a', 'b', 'c'][next(3)],
                    major: numbers[next(numbers.len())],
                    minor: numbers[next(numbers.len())],
                    access: ACCESS[next(ACCESS.len())].to_string(),
                })
                .collect();
            let prog = decode(&encode(&program(&rules)));
            check_structure(&prog);
            for kind in ['b', 'c'] {
                for major in [1, 3, 5, 7] {
                    for minor in [1, 3, 9] {
                        for access in ACCESS {
                            let r = req(kind, major, minor, access);
                            assert_eq!(
                                run(&prog, r),
                                reference(&rules, r),
                                "{r:?} with {rules:#?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
