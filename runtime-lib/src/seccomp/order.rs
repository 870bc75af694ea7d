//! The order in which libseccomp tries overlapping argument rules of one
//! syscall.
//!
//! libseccomp does not keep the profile's order: it merges a syscall's rules
//! into a tree whose levels are sorted (`_db_chain_lt` in `src/db.c`), and
//! the filter tries the branches of a level in that order. Each rule is a
//! chain of comparisons by ascending argument index; between two chains the
//! first comparison that differs decides which is tried first:
//!
//! 1. the higher argument index;
//! 2. the operator: `EQ`, `NE`, `MASKED_EQ` before `LT`, `LE` before `GE`,
//!    `GT`;
//! 3. the value, larger first, except for `LT`/`LE`, smaller first; on
//!    64-bit ABIs the high halves are compared, and the low halves only when
//!    the high comparisons are the same tree node (same operator class);
//! 4. a chain that ends first (libseccomp drops the longer rule, or refuses
//!    it).
//!
//! Comparisons equal under 1–3 but not the same node keep the profile's
//! order (libseccomp appends the later one).
//!
//! This is a model, checked against libseccomp 2.5.4 on random overlapping
//! rule sets (`random_overlaps_match_libseccomp` in the tests): it agrees
//! except where two 64-bit range comparisons (`GT`, `GE`, `LT`, `LE`) on one
//! argument share their high-half node, where libseccomp's order depends on
//! the argument's value, and where libseccomp mis-merges its tree and
//! decides against its own rules. libseccomp also refuses some overlaps
//! outright (the same comparison with two actions: runc then fails to start
//! the container); here the profile's order decides. Real profiles
//! (podman's, Docker's) do not overlap like this.

use std::cmp::Ordering;

use super::rules::{ArgRule, Cond, Op};

/// `Less` when `a` is tried before `b`.
pub fn rules(a: &ArgRule, b: &ArgRule, wide: bool) -> Ordering {
    let (ca, cb) = (chain(a), chain(b));
    for (x, y) in ca.iter().zip(&cb) {
        match node(x, y, wide) {
            Step::Same => continue,
            Step::Tie => return Ordering::Equal,
            Step::First(o) => return o,
        }
    }
    ca.len().cmp(&cb.len())
}

fn chain(r: &ArgRule) -> Vec<&Cond> {
    let mut c: Vec<&Cond> = r.conds.iter().collect();
    c.sort_by_key(|c| c.index);
    c
}

enum Step {
    /// The same comparison node in libseccomp's tree: look further.
    Same,
    /// Different nodes libseccomp cannot order: the profile's order.
    Tie,
    /// This order.
    First(Ordering),
}

fn node(x: &Cond, y: &Cond, wide: bool) -> Step {
    // Larger keys first, hence the reversed comparison.
    let by = (y.index, op_priority(y.op)).cmp(&(x.index, op_priority(x.op)));
    if by != Ordering::Equal {
        return Step::First(by);
    }
    let halves = |c: &Cond| -> [(u32, NodeOp); 2] {
        let lo = (c.value as u32, lo_node(c.op));
        if wide {
            [((c.value >> 32) as u32, hi_node(c.op)), lo]
        } else {
            [lo, lo]
        }
    };
    let inverted = matches!(x.op, Op::Lt | Op::Le);
    for ((dx, nx), (dy, ny)) in halves(x).into_iter().zip(halves(y)) {
        let o = if inverted { dx.cmp(&dy) } else { dy.cmp(&dx) };
        if o != Ordering::Equal {
            return Step::First(o);
        }
        if nx != ny {
            return Step::Tie;
        }
    }
    if x.mask == y.mask {
        Step::Same
    } else {
        Step::Tie
    }
}

/// `__db_chain_op_priority`.
fn op_priority(op: Op) -> u8 {
    match op {
        Op::Eq | Op::Ne | Op::MaskedEq => 3,
        Op::Lt | Op::Le => 2,
        Op::Ge | Op::Gt => 1,
    }
}

/// The operator a comparison's tree node has (libseccomp rewrites NE, LT
/// and LE into EQ, GE and GT with the branches swapped).
#[derive(Clone, Copy, PartialEq)]
enum NodeOp {
    Eq,
    MaskedEq,
    Gt,
    Ge,
}

/// The high-half node: equality, or `GT` for every range comparison.
fn hi_node(op: Op) -> NodeOp {
    match op {
        Op::Eq | Op::Ne => NodeOp::Eq,
        Op::MaskedEq => NodeOp::MaskedEq,
        Op::Lt | Op::Le | Op::Ge | Op::Gt => NodeOp::Gt,
    }
}

/// The low-half node (the only one on 32-bit ABIs).
fn lo_node(op: Op) -> NodeOp {
    match op {
        Op::Eq | Op::Ne => NodeOp::Eq,
        Op::MaskedEq => NodeOp::MaskedEq,
        Op::Gt | Op::Le => NodeOp::Gt,
        Op::Ge | Op::Lt => NodeOp::Ge,
    }
}
