//! From resolved rules to BPF: the arch dispatch, one binary search over
//! syscall numbers per ABI, and the argument checks at its leaves. The
//! layout is described in the module docs of [`super`].
//!
//! Every piece is emitted as a self-contained block whose jumps stay inside
//! it, so blocks can be concatenated without relocation. Conditional jumps
//! reach at most 255 instructions ahead; where a subtree is longer, the
//! branch goes through a `ja` (32-bit offset).

use super::arch::{Abi, Kernel, X32_SYSCALL_BIT};
use super::bpf::{self, Insn};
use super::rules::{ArgRule, Cond, Op, Outcome, Resolved, Section};

/// The whole program for a resolved profile on `kernel`.
pub fn program(res: &Resolved, kernel: Kernel) -> Vec<Insn> {
    let section = |abi: Abi| res.sections.iter().find(|s| s.abi == abi);
    let badarch = Insn::stmt(bpf::RET_K, res.badarch);
    let native_abi = kernel.native();
    let native = section(native_abi).expect("the native ABI always has a section");
    let native_block = native_block(
        native,
        section(Abi::X32).filter(|_| native_abi == Abi::X86_64),
        badarch,
    );

    // The compat ABIs with an AUDIT_ARCH value of their own, each behind
    // its arch check; the last one's check fails to the bad-arch action.
    let compat: Vec<&Section> = kernel.abis()[1..]
        .iter()
        .filter(|a| a.audit_arch() != native_abi.audit_arch())
        .filter_map(|&a| section(a))
        .collect();
    let mut compat_blocks = Vec::new();
    for (i, s) in compat.iter().enumerate() {
        let search = tree(s);
        compat_blocks.push(Insn::jump(bpf::JMP_JEQ_K, s.abi.audit_arch(), 1, 0));
        compat_blocks.push(if i + 1 < compat.len() {
            ja(1 + search.len())
        } else {
            badarch
        });
        compat_blocks.push(Insn::stmt(bpf::LD_W_ABS, bpf::DATA_NR));
        compat_blocks.extend(search);
    }

    let mut p = vec![
        Insn::stmt(bpf::LD_W_ABS, bpf::DATA_ARCH),
        // Native first: one taken jump on the common path.
        Insn::jump(bpf::JMP_JEQ_K, native_abi.audit_arch(), 1, 0),
        // Not native: the compat checks if the profile has compat ABIs, else
        // the bad-arch action (libseccomp's default `SCMP_ACT_KILL`, which
        // runc keeps).
        if compat.is_empty() {
            badarch
        } else {
            ja(native_block.len())
        },
    ];
    p.extend(native_block);
    p.extend(compat_blocks);
    p
}

/// The native ABI's part, after its arch check: load nr, then the search.
/// On x86_64, x32 shares the arch value and the x32 bit in nr tells them
/// apart: `x32` is its section when the profile lists it.
fn native_block(native: &Section, x32: Option<&Section>, badarch: Insn) -> Vec<Insn> {
    let mut p = vec![Insn::stmt(bpf::LD_W_ABS, bpf::DATA_NR)];
    let search = tree(native);
    match x32.map(tree) {
        Some(x32) => {
            p.push(Insn::jump(bpf::JMP_JGE_K, X32_SYSCALL_BIT, 0, 1));
            p.push(ja(search.len()));
            p.extend(search);
            p.extend(x32);
        }
        None if native.abi == Abi::X86_64 => {
            // Without x32 in the profile an x32 call takes the bad-arch
            // action, as with libseccomp (its x86_64 section sends nr >= the
            // bit on to the next arch check, and finally to the bad-arch
            // action) — except nr -1, which a tracer sets to skip a syscall:
            // libseccomp lets it reach the rules, where no rule matches it.
            p.push(Insn::jump(bpf::JMP_JGE_K, X32_SYSCALL_BIT, 0, 3));
            p.push(Insn::jump(bpf::JMP_JEQ_K, u32::MAX, 0, 1));
            p.push(Insn::stmt(bpf::RET_K, native.default));
            p.push(badarch);
            p.extend(search);
        }
        None => p.extend(search),
    }
    p
}

fn ja(skip: usize) -> Insn {
    Insn::stmt(
        bpf::JMP_JA,
        u32::try_from(skip).expect("program length is bounded"),
    )
}

/// What the search ends in: a return value, or argument checks.
#[derive(Clone, Copy)]
enum Leaf<'a> {
    Ret(u32),
    Args(&'a [ArgRule], u32),
}

/// The section's syscall number space cut into intervals of equal outcome:
/// `(first nr, leaf)`, sorted, the first starting at the section's lowest
/// number. Numbers without a rule take the default action, or -ENOSYS above
/// the highest number the profile names (runc's stub, see `rules`).
fn intervals(s: &Section) -> Vec<(u32, Leaf<'_>)> {
    let mut out = Vec::new();
    let (lo, hi) = s.abi.nr_range();
    let mut next = u64::from(lo);
    for (&nr, outcome) in &s.points {
        if u64::from(nr) > next {
            push_gap(&mut out, s, next, u64::from(nr) - 1);
        }
        let leaf = match outcome {
            Outcome::Ret(r) => Leaf::Ret(*r),
            Outcome::Args { rules, fallback } => Leaf::Args(rules, *fallback),
        };
        push(&mut out, u64::from(nr), leaf);
        next = u64::from(nr) + 1;
    }
    if next <= u64::from(hi) {
        push_gap(&mut out, s, next, u64::from(hi));
    }
    out
}

/// Appends an interval, or extends the previous one when both return the
/// same value.
fn push<'a>(out: &mut Vec<(u32, Leaf<'a>)>, start: u64, leaf: Leaf<'a>) {
    let extends = matches!((out.last(), leaf), (Some((_, Leaf::Ret(p))), Leaf::Ret(r)) if *p == r);
    if !extends {
        out.push((u32::try_from(start).expect("numbers are u32"), leaf));
    }
}

/// Numbers `from..=to` without rules.
fn push_gap(out: &mut Vec<(u32, Leaf<'_>)>, s: &Section, from: u64, to: u64) {
    match s.enosys_above.map(u64::from) {
        Some(max) if to > max => {
            if from <= max {
                push(out, from, Leaf::Ret(s.default));
            }
            push(out, from.max(max + 1), Leaf::Ret(s.enosys));
        }
        _ => push(out, from, Leaf::Ret(s.default)),
    }
}

/// A balanced binary search over the section's intervals (A holds nr).
fn tree(s: &Section) -> Vec<Insn> {
    search(&intervals(s), s.abi)
}

fn search(iv: &[(u32, Leaf<'_>)], abi: Abi) -> Vec<Insn> {
    match iv {
        [] => unreachable!("a section covers its whole number range"),
        [(_, leaf)] => match leaf {
            Leaf::Ret(r) => vec![Insn::stmt(bpf::RET_K, *r)],
            Leaf::Args(rules, fallback) => arg_checks(rules, *fallback, abi),
        },
        _ => {
            let mid = iv.len() / 2;
            let (left, right) = (search(&iv[..mid], abi), search(&iv[mid..], abi));
            let key = iv[mid].0;
            let mut out = Vec::with_capacity(left.len() + right.len() + 2);
            match u8::try_from(left.len()) {
                Ok(skip) => out.push(Insn::jump(bpf::JMP_JGE_K, key, skip, 0)),
                Err(_) => {
                    // Too far for jt: jump to a `ja` that skips the left half.
                    out.push(Insn::jump(bpf::JMP_JGE_K, key, 0, 1));
                    out.push(ja(left.len()));
                }
            }
            out.extend(left);
            out.extend(right);
            out
        }
    }
}

/// Where a jump in an argument check goes before offsets are known.
#[derive(Clone, Copy)]
enum To {
    /// The next instruction.
    Next,
    /// The end of this condition: it holds.
    Pass,
    /// The next rule: this one does not match.
    Fail,
}

struct Pending {
    code: u16,
    k: u32,
    jt: To,
    jf: To,
}

fn ld(off: u32) -> Pending {
    Pending {
        code: bpf::LD_W_ABS,
        k: off,
        jt: To::Next,
        jf: To::Next,
    }
}

fn and(mask: u32) -> Pending {
    Pending {
        code: bpf::ALU_AND_K,
        k: mask,
        jt: To::Next,
        jf: To::Next,
    }
}

fn jmp(code: u16, k: u32, jt: To, jf: To) -> Pending {
    Pending { code, k, jt, jf }
}

/// The rules of one syscall, tried in order (each an AND of conditions;
/// the first that matches returns its action), then the fallback.
fn arg_checks(rules: &[ArgRule], fallback: u32, abi: Abi) -> Vec<Insn> {
    let mut out = Vec::new();
    for rule in rules {
        // (instruction, index just past its condition's code)
        let mut body: Vec<(Pending, usize)> = Vec::new();
        for cond in &rule.conds {
            let code = condition(cond, abi);
            let end = body.len() + code.len();
            body.extend(code.into_iter().map(|p| (p, end)));
        }
        let rule_len = body.len() + 1; // + the ret
        let offset = |to: To, pc: usize, cond_end: usize| -> u8 {
            let target = match to {
                To::Next => pc + 1,
                To::Pass => cond_end,
                To::Fail => rule_len,
            };
            u8::try_from(target - pc - 1).expect("a rule is at most 6 conditions of 6 instructions")
        };
        for (pc, (p, end)) in body.iter().enumerate() {
            out.push(Insn {
                code: p.code,
                k: p.k,
                jt: offset(p.jt, pc, *end),
                jf: offset(p.jf, pc, *end),
            });
        }
        out.push(Insn::stmt(bpf::RET_K, rule.ret));
    }
    out.push(Insn::stmt(bpf::RET_K, fallback));
    out
}

/// One comparison. On 64-bit ABIs the argument is compared as a u64 from
/// its two 32-bit halves, high half first (it decides unless equal); on
/// 32-bit ABIs only the low half, against the truncated value. Where each
/// half lies depends on the ABI's byte order.
fn condition(c: &Cond, abi: Abi) -> Vec<Pending> {
    use To::{Fail, Next, Pass};
    let wide = abi.args_are_64bit();
    let (lo_off, hi_off) = abi.arg_words(c.index);
    let (vhi, vlo) = ((c.value >> 32) as u32, c.value as u32);
    let (mhi, mlo) = ((c.mask >> 32) as u32, c.mask as u32);
    let (jeq, jgt, jge) = (bpf::JMP_JEQ_K, bpf::JMP_JGT_K, bpf::JMP_JGE_K);
    let mut v = Vec::new();

    if c.op == Op::MaskedEq {
        // (arg & mask) == (value & mask), half by half; a half with a zero
        // mask always matches and is skipped, as libseccomp does.
        let halves = [(wide, hi_off, mhi, vhi), (true, lo_off, mlo, vlo)];
        for (used, off, m, d) in halves {
            if used && m != 0 {
                v.push(ld(off));
                if m != u32::MAX {
                    v.push(and(m));
                }
                v.push(jmp(jeq, d & m, Next, Fail));
            }
        }
        return v;
    }

    // The low-half comparison decides when the high halves are equal (or
    // on 32-bit ABIs); (code, jt, jf) for "the condition holds".
    let low = match c.op {
        Op::Eq => (jeq, Pass, Fail),
        Op::Ne => (jeq, Fail, Pass),
        Op::Gt => (jgt, Pass, Fail),
        Op::Ge => (jge, Pass, Fail),
        Op::Lt => (jge, Fail, Pass),
        Op::Le => (jgt, Fail, Pass),
        Op::MaskedEq => unreachable!(),
    };
    if wide {
        v.push(ld(hi_off));
        match c.op {
            Op::Eq => v.push(jmp(jeq, vhi, Next, Fail)),
            Op::Ne => v.push(jmp(jeq, vhi, Next, Pass)),
            Op::Gt | Op::Ge | Op::Lt | Op::Le => {
                // hi > vhi decides one way; hi < vhi the other; equal
                // halves fall through to the low half. With vhi == 0,
                // "not greater" already means equal.
                let (above, below) = if matches!(c.op, Op::Gt | Op::Ge) {
                    (Pass, Fail)
                } else {
                    (Fail, Pass)
                };
                v.push(jmp(jgt, vhi, above, Next));
                if vhi != 0 {
                    v.push(jmp(jeq, vhi, Next, below));
                }
            }
            Op::MaskedEq => unreachable!(),
        }
    }
    v.push(ld(lo_off));
    v.push(jmp(low.0, vlo, low.1, low.2));
    v
}
