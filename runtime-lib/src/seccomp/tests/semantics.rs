//! Actions, errno values, operators, AND/OR, architectures, precedence,
//! flags: each checked by running the compiled program.

use super::*;
use crate::seccomp::bpf::{
    RET_KILL_PROCESS, RET_KILL_THREAD, RET_LOG, RET_TRACE, RET_TRAP, RET_USER_NOTIF,
};
use crate::seccomp::{FilterFlags, SeccompError, Warning};

const ALL_ABIS: [Abi; 3] = [Abi::X86_64, Abi::X86, Abi::X32];

/// A fixture and when its condition holds for an argument value.
type Case<T> = (&'static str, fn(T) -> bool);

/// Each action fixture on getppid, on all three ABIs; getpid stays allowed.
#[test]
fn every_action() {
    let cases = [
        ("errno-getppid.json", errno(42)),
        ("errno-eperm-getppid.json", errno(1)),
        ("kill-getppid.json", RET_KILL_THREAD),
        ("kill-thread-getppid.json", RET_KILL_THREAD),
        ("kill-process-getppid.json", RET_KILL_PROCESS),
        ("trap-getppid.json", RET_TRAP),
        ("trace-getppid.json", RET_TRACE | 7),
        ("log-getppid.json", RET_LOG),
        ("notify-getppid.json", RET_USER_NOTIF),
    ];
    for (name, want) in cases {
        let c = build(&fixture(name));
        for abi in ALL_ABIS {
            assert_eq!(decide(&c, abi, "getppid", NO_ARGS), want, "{name} {abi:?}");
            assert_eq!(
                decide(&c, abi, "getpid", NO_ARGS),
                RET_ALLOW,
                "{name} {abi:?}"
            );
        }
    }
    // The reverse: default errno 38, getppid allowed.
    let c = build(&fixture("allow-getppid.json"));
    assert_eq!(decide(&c, Abi::X86_64, "getppid", NO_ARGS), RET_ALLOW);
    assert_eq!(decide(&c, Abi::X86_64, "getpid", NO_ARGS), errno(38));
}

#[test]
fn errno_values() {
    let rule = |action: &str, errno_ret: &str| {
        build_json(&format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{{"names": ["getppid"], "action": "{action}" {errno_ret}}}]}}"#
        ))
    };
    let get = |c: &Compiled| decide(c, Abi::X86_64, "getppid", NO_ARGS);
    assert_eq!(
        get(&rule("SCMP_ACT_ERRNO", "")),
        errno(1),
        "EPERM by default"
    );
    assert_eq!(get(&rule("SCMP_ACT_ERRNO", r#", "errnoRet": 0"#)), errno(0));
    assert_eq!(
        get(&rule("SCMP_ACT_ERRNO", r#", "errnoRet": 4095"#)),
        errno(4095)
    );
    assert_eq!(
        get(&rule("SCMP_ACT_TRACE", "")),
        RET_TRACE | 1,
        "runc's actTrace"
    );
    assert_eq!(
        get(&rule("SCMP_ACT_TRACE", r#", "errnoRet": 65535"#)),
        RET_TRACE | 0xffff
    );
    // defaultErrnoRet
    let c = build_json(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}"#);
    assert_eq!(decide(&c, Abi::X86_64, "getppid", NO_ARGS), errno(38));
    let c = build_json(r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#);
    assert_eq!(decide(&c, Abi::X86_64, "getppid", NO_ARGS), errno(1));
    let c = build_json(r#"{"defaultAction": "SCMP_ACT_TRACE", "defaultErrnoRet": 9}"#);
    assert_eq!(decide(&c, Abi::X86_64, "getppid", NO_ARGS), RET_TRACE | 9);
}

/// Values around V = 0x1_0000_0002 whose high and low halves each compare
/// differently, so that a filter comparing only one half, or comparing the
/// halves in the wrong order, gets some wrong.
pub(super) const PROBES: [u64; 12] = [
    0,
    2,
    0x1_0000_0000,
    0x1_0000_0001,
    0x1_0000_0002,
    0x1_0000_0003,
    0x0_ffff_ffff,
    0x2_0000_0000,
    0x2_0000_0002,
    0x0_0000_0003,
    0xffff_ffff_0000_0002,
    u64::MAX,
];

#[test]
fn operators_compare_all_64_bits_on_x86_64() {
    const V: u64 = 0x1_0000_0002;
    let ops: [Case<u64>; 7] = [
        ("arg-eq.json", |a| a == V),
        ("arg-ne.json", |a| a != V),
        ("arg-lt.json", |a| a < V),
        ("arg-le.json", |a| a <= V),
        ("arg-ge.json", |a| a >= V),
        ("arg-gt.json", |a| a > V),
        ("arg-masked-eq.json", |a| {
            a & 0xff_0000_00ff == 0x02_0000_0002
        }),
    ];
    for (name, holds) in ops {
        let c = build(&fixture(name));
        for a in PROBES.into_iter().chain([0x02_1234_5602, 0x03_0000_0002]) {
            let want = if holds(a) { errno(42) } else { RET_ALLOW };
            // The fixtures test args[1]; other arguments must not matter.
            let mut args = arg(1, a);
            args[0] = V;
            args[2] = !a;
            assert_eq!(
                decide(&c, Abi::X86_64, "getppid", args),
                want,
                "{name} {a:#x}"
            );
        }
    }
}

/// libseccomp compares the low 32 bits only on i386 and x32, against the
/// truncated value (V truncates to 2; the mask to 0xff).
#[test]
fn operators_compare_the_low_half_on_32_bit_abis() {
    let ops: [Case<u32>; 7] = [
        ("arg-eq.json", |a| a == 2),
        ("arg-ne.json", |a| a != 2),
        ("arg-lt.json", |a| a < 2),
        ("arg-le.json", |a| a <= 2),
        ("arg-ge.json", |a| a >= 2),
        ("arg-gt.json", |a| a > 2),
        ("arg-masked-eq.json", |a| a & 0xff == 2),
    ];
    for (name, holds) in ops {
        let c = build(&fixture(name));
        for abi in [Abi::X86, Abi::X32] {
            for a in PROBES {
                let want = if holds(a as u32) {
                    errno(42)
                } else {
                    RET_ALLOW
                };
                assert_eq!(
                    decide(&c, abi, "getppid", arg(1, a)),
                    want,
                    "{name} {abi:?} {a:#x}"
                );
            }
        }
    }
}

#[test]
fn conditions_are_anded_and_entries_ored() {
    let c = build(&fixture("args-and.json"));
    let call = |a0, a2| {
        let mut a = NO_ARGS;
        (a[0], a[2]) = (a0, a2);
        decide(&c, Abi::X86_64, "getppid", a)
    };
    assert_eq!(call(1, 3), errno(42));
    assert_eq!(call(1, 4), RET_ALLOW);
    assert_eq!(call(0, 3), RET_ALLOW);
    assert_eq!(call(1 | 1 << 32, 3), RET_ALLOW);

    let c = build(&fixture("rules-or.json"));
    for (a0, want) in [
        (1, errno(42)),
        (2, errno(43)),
        (3, RET_ALLOW),
        (0, RET_ALLOW),
    ] {
        for abi in ALL_ABIS {
            assert_eq!(decide(&c, abi, "getppid", arg(0, a0)), want, "{a0} {abi:?}");
        }
    }
}

#[test]
fn architectures_and_the_bad_arch_action() {
    // All three listed: each ABI's own numbers.
    let c = build(&fixture("errno-getppid.json"));
    assert_eq!(
        run_nr(&c, Abi::X86, 64, NO_ARGS).0,
        errno(42),
        "i386 getppid"
    );
    assert_eq!(
        run_nr(&c, Abi::X86, 110, NO_ARGS).0,
        RET_ALLOW,
        "i386 110 is not getppid"
    );
    assert_eq!(run_nr(&c, Abi::X86_64, 110, NO_ARGS).0, errno(42));
    assert_eq!(
        run_nr(&c, Abi::X86_64, 64, NO_ARGS).0,
        RET_ALLOW,
        "x86_64 64 is semop"
    );
    assert_eq!(run_nr(&c, Abi::X32, 0x4000_006e, NO_ARGS).0, errno(42));
    // An arch no x86_64 kernel reports, or not in the profile: bad arch.
    let aarch64 = Data {
        nr: 110,
        arch: 0xc000_00b7,
        args: NO_ARGS,
        big_endian: false,
    };
    assert_eq!(run(&c.program, &aarch64).0, RET_KILL_THREAD);

    // Native only (no list): i386 and x32 calls are bad-arch calls.
    let c = build_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    assert_eq!(decide(&c, Abi::X86_64, "getppid", NO_ARGS), errno(1));
    assert_eq!(decide(&c, Abi::X86, "getpid", NO_ARGS), RET_KILL_THREAD);
    assert_eq!(decide(&c, Abi::X32, "getpid", NO_ARGS), RET_KILL_THREAD);
    // nr -1 (a tracer skipping the call) is not an x32 call for libseccomp.
    assert_eq!(run_nr(&c, Abi::X86_64, u32::MAX, NO_ARGS).0, RET_ALLOW);
    assert_eq!(
        run_nr(&c, Abi::X86_64, u32::MAX - 1, NO_ARGS).0,
        RET_KILL_THREAD
    );

    // x86 only listed: native is still there; x32 still a bad arch.
    let c = build_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    assert_eq!(decide(&c, Abi::X86, "getppid", NO_ARGS), errno(1));
    assert_eq!(decide(&c, Abi::X86_64, "getppid", NO_ARGS), errno(1));
    assert_eq!(decide(&c, Abi::X32, "getppid", NO_ARGS), RET_KILL_THREAD);

    // Foreign architectures are skipped with a warning; NATIVE is x86_64.
    let c = build_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_NATIVE", "SCMP_ARCH_AARCH64", "SCMP_ARCH_X32"]}"#,
    );
    assert_eq!(
        c.warnings,
        [Warning::ForeignArchitecture {
            field: "linux.seccomp.architectures[1]".into(),
            arch: "SCMP_ARCH_AARCH64".into(),
            kernel: "x86_64".into(),
        }]
    );
    assert_eq!(decide(&c, Abi::X32, "getppid", NO_ARGS), RET_ALLOW);
    assert_eq!(decide(&c, Abi::X86, "getppid", NO_ARGS), RET_KILL_THREAD);
}

/// x32 has its own numbers for some syscalls (512-547), with the x32 bit.
#[test]
fn x32_numbers() {
    let c = build_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["rt_sigaction", "execve"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    let bit = 0x4000_0000;
    assert_eq!(
        run_nr(&c, Abi::X86_64, 13, NO_ARGS).0,
        errno(1),
        "x86_64 rt_sigaction"
    );
    assert_eq!(
        run_nr(&c, Abi::X32, bit | 512, NO_ARGS).0,
        errno(1),
        "x32 rt_sigaction"
    );
    assert_eq!(
        run_nr(&c, Abi::X32, bit | 13, NO_ARGS).0,
        RET_ALLOW,
        "not an x32 syscall"
    );
    assert_eq!(
        run_nr(&c, Abi::X32, bit | 520, NO_ARGS).0,
        errno(1),
        "x32 execve"
    );
    assert_eq!(
        run_nr(&c, Abi::X86_64, 59, NO_ARGS).0,
        errno(1),
        "x86_64 execve"
    );
    assert_eq!(
        run_nr(&c, Abi::X86_64, 520, NO_ARGS).0,
        RET_ALLOW,
        "520 is not x86_64's"
    );
}

/// libseccomp's precedence: an unconditional entry decides its syscall,
/// the first one wins; conditional entries in libseccomp's order (an
/// equality before a range); entries with the default action are skipped
/// (runc).
#[test]
fn several_entries_for_one_syscall() {
    let profile = |entries: &str| {
        build_json(&format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{entries}]}}"#
        ))
    };
    let cond = |action: &str, errno_ret: u32, a0: u64| {
        format!(
            r#"{{"names": ["getppid"], "action": "{action}", "errnoRet": {errno_ret},
                "args": [{{"index": 0, "value": {a0}, "op": "SCMP_CMP_EQ"}}]}}"#
        )
    };
    let always = |action: &str| format!(r#"{{"names": ["getppid"], "action": "{action}"}}"#);
    let get = |c: &Compiled, a0| decide(c, Abi::X86_64, "getppid", arg(0, a0));

    // Unconditional after conditional: it wins.
    let c = profile(&format!(
        "{}, {}",
        cond("SCMP_ACT_ERRNO", 5, 1),
        always("SCMP_ACT_ALLOW")
    ));
    assert_eq!((get(&c, 1), get(&c, 2)), (RET_ALLOW, RET_ALLOW));
    // Unconditional before conditional: it wins too.
    let c = profile(&format!(
        "{}, {}",
        always("SCMP_ACT_LOG"),
        cond("SCMP_ACT_ERRNO", 5, 1)
    ));
    assert_eq!((get(&c, 1), get(&c, 2)), (RET_LOG, RET_LOG));
    // Two unconditional: the first.
    let c = profile(&format!(
        "{}, {}",
        always("SCMP_ACT_TRAP"),
        always("SCMP_ACT_ALLOW")
    ));
    assert_eq!(get(&c, 0), RET_TRAP);
    // An equality before a range, in either profile order.
    let ge = r#"{"names": ["getppid"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]}"#;
    let c = profile(&format!("{}, {ge}", cond("SCMP_ACT_ERRNO", 5, 1)));
    assert_eq!(
        (get(&c, 0), get(&c, 1), get(&c, 2)),
        (errno(1), errno(5), RET_ALLOW)
    );
    // An entry with the default action (ERRNO, EPERM) is skipped, so the
    // later ALLOW decides arg0 == 1 as well.
    let c = profile(&format!("{}, {ge}", cond("SCMP_ACT_ERRNO", 1, 1)));
    assert_eq!((get(&c, 0), get(&c, 1)), (errno(1), RET_ALLOW));
}

/// runc adds each condition on a repeated argument as its own rule.
#[test]
fn a_repeated_argument_is_ored_as_in_runc() {
    let c = build_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
            "names": ["getppid"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_GE"},
                     {"index": 0, "value": 20, "op": "SCMP_CMP_LE"}]}]}"#,
    );
    assert_eq!(
        c.warnings,
        [Warning::RepeatedArgument {
            field: "linux.seccomp.syscalls[0].args".into()
        }]
    );
    for a in [0, 15, 30] {
        assert_eq!(
            decide(&c, Abi::X86_64, "getppid", arg(0, a)),
            errno(1),
            "{a}"
        );
    }
}

/// runc answers ENOSYS above the highest syscall a listed arch's profile
/// names, unless the default action lets calls through.
#[test]
fn runc_enosys_stub() {
    let profile = |default: &str, arches: &str| {
        build_json(&format!(
            r#"{{"defaultAction": "{default}", {arches}
                "syscalls": [{{"names": ["read", "openat", "socketcall"],
                               "action": "SCMP_ACT_ALLOW"}}]}}"#
        ))
    };
    let arches = r#""architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],"#;
    let c = profile("SCMP_ACT_ERRNO", arches);
    // x86_64: openat (257) is the highest.
    assert_eq!(run_nr(&c, Abi::X86_64, 257, NO_ARGS).0, RET_ALLOW);
    assert_eq!(run_nr(&c, Abi::X86_64, 100, NO_ARGS).0, errno(1));
    assert_eq!(run_nr(&c, Abi::X86_64, 258, NO_ARGS).0, errno(38));
    assert_eq!(run_nr(&c, Abi::X86_64, 0x3fff_ffff, NO_ARGS).0, errno(38));
    // i386: openat is 295, socketcall 102.
    assert_eq!(run_nr(&c, Abi::X86, 102, NO_ARGS).0, RET_ALLOW);
    assert_eq!(run_nr(&c, Abi::X86, 200, NO_ARGS).0, errno(1));
    assert_eq!(run_nr(&c, Abi::X86, 296, NO_ARGS).0, errno(38));
    assert_eq!(run_nr(&c, Abi::X86, u32::MAX, NO_ARGS).0, errno(38));
    // x32: openat is bit | 257.
    assert_eq!(
        run_nr(&c, Abi::X32, 0x4000_0000 | 258, NO_ARGS).0,
        errno(38)
    );
    assert_eq!(run_nr(&c, Abi::X32, 0x4000_0000 | 100, NO_ARGS).0, errno(1));

    // Not for permissive defaults, and not for unlisted arches.
    let c = profile("SCMP_ACT_LOG", arches);
    assert_eq!(run_nr(&c, Abi::X86_64, 300, NO_ARGS).0, RET_LOG);
    let c = profile("SCMP_ACT_KILL_PROCESS", "");
    assert_eq!(run_nr(&c, Abi::X86_64, 300, NO_ARGS).0, RET_KILL_PROCESS);
}

#[test]
fn flags_and_listener() {
    let c = build(&fixture("flags-log-getppid.json"));
    assert_eq!(
        c.flags,
        FilterFlags(FilterFlags::LOG | FilterFlags::SPEC_ALLOW)
    );
    assert!(!c.needs_listener());

    let c = build(&fixture("notify-getppid.json"));
    assert!(c.needs_listener());
    assert_eq!(c.flags, FilterFlags(FilterFlags::NEW_LISTENER));
    let l = c.listener.unwrap();
    assert_eq!(l.path.to_str(), Some("/run/cella-test/seccomp-agent.sock"));
    assert_eq!(l.metadata.as_deref(), Some("cella-fixture"));

    // TSYNC with a listener needs TSYNC_ESRCH; WAIT_KILLABLE_RECV is kept.
    let c = build_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    let want = FilterFlags::TSYNC
        | FilterFlags::NEW_LISTENER
        | FilterFlags::TSYNC_ESRCH
        | FilterFlags::WAIT_KILLABLE_RECV;
    assert_eq!(c.flags, FilterFlags(want));

    // listenerPath without a notify rule is ignored (runtime spec).
    let c = build_json(r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock"}"#);
    assert!(!c.needs_listener());
    assert_eq!(c.flags, FilterFlags(0));
}

/// Syscalls with argument rules are leaves of their own; many of them make
/// subtrees longer than a conditional jump reaches (255), which go through
/// a `ja`. Every decision must still be right.
#[test]
fn long_programs_use_long_jumps() {
    let names: Vec<(&str, u32)> = crate::seccomp::syscalls::X86_64.to_vec();
    let entries: Vec<String> = names
        .iter()
        .map(|(n, nr)| {
            format!(
                r#"{{"names": ["{n}"], "action": "SCMP_ACT_ERRNO", "errnoRet": {e},
                    "args": [{{"index": 1, "value": {nr}, "op": "SCMP_CMP_EQ"}}]}}"#,
                e = nr % 4000
            )
        })
        .collect();
    let c = build_json(&format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{}]}}"#,
        entries.join(",")
    ));
    assert!(c.program.len() > 2000, "{}", c.program.len());
    assert!(c.program.iter().any(|i| i.code == bpf::JMP_JA));
    for (_, nr) in names {
        assert_eq!(
            run_nr(&c, Abi::X86_64, nr, arg(1, nr.into())).0,
            errno(nr % 4000)
        );
        assert_eq!(
            run_nr(&c, Abi::X86_64, nr, arg(1, 1 << 40 | u64::from(nr))).0,
            RET_ALLOW
        );
    }

    // Past BPF_MAXINSNS: an error, not a program the kernel refuses.
    let big = names_with_six_args(&crate::seccomp::syscalls::X86_64[..200]);
    match compile(&parse_profile(&big).unwrap()) {
        Err(SeccompError::TooLong { len }) => assert!(len > bpf::MAX_INSNS),
        other => panic!("{other:?}"),
    }
}

fn names_with_six_args(names: &[(&str, u32)]) -> String {
    let args: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"index": {i}, "value": {}, "op": "SCMP_CMP_LT"}}"#,
                1u64 << 40
            )
        })
        .collect();
    let entries: Vec<String> = names
        .iter()
        .map(|(n, _)| {
            format!(
                r#"{{"names": ["{n}"], "action": "SCMP_ACT_LOG", "args": [{}]}}"#,
                args.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{}]}}"#,
        entries.join(",")
    )
}

/// i386 socket and IPC calls also come through socketcall(2) and ipc(2).
#[test]
fn i386_multiplexers() {
    let c = build_json(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
            "syscalls": [
              {"names": ["connect"], "action": "SCMP_ACT_ERRNO", "errnoRet": 43,
               "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_EQ"}]},
              {"names": ["socket", "send", "shmat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]}"#,
    );
    assert!(
        c.warnings.is_empty(),
        "send is known through socketcall: {:?}",
        c.warnings
    );
    let call = |nr, a0| run_nr(&c, Abi::X86, nr, arg(0, a0)).0;
    assert_eq!(call(359, 0), errno(42), "socket");
    assert_eq!(call(102, 1), errno(42), "socketcall(SYS_SOCKET)");
    assert_eq!(call(102, 9), errno(42), "socketcall(SYS_SEND)");
    assert_eq!(
        call(102, 3),
        errno(43),
        "socketcall(SYS_CONNECT): its condition is dropped"
    );
    assert_eq!(call(362, 4), RET_ALLOW, "connect(4, ...)");
    assert_eq!(call(362, 5), errno(43), "connect(5, ...)");
    assert_eq!(call(102, 2), RET_ALLOW, "socketcall(SYS_BIND)");
    assert_eq!(call(117, 21), errno(42), "ipc(SHMAT)");
    assert_eq!(call(117, 22), RET_ALLOW, "ipc(SHMDT)");
    // Not on x86_64: socket is 41 there and there is no socketcall.
    assert_eq!(run_nr(&c, Abi::X86_64, 102, arg(0, 1)).0, RET_ALLOW);
}
