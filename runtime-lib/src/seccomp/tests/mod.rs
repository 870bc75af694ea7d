//! Unit tests: profiles are compiled and the programs run through the
//! interpreter in `interp.rs` on chosen (ABI, syscall, arguments).

mod arches;
mod errors;
mod podman;
mod reference;
mod semantics;

use std::path::PathBuf;

use oci_spec::runtime::{Arch, LinuxSeccomp};

use super::arch::Abi;
use super::bpf::{self, RET_ALLOW, RET_ERRNO};
use super::interp::{run, Data};
use super::{compile_for, parse_profile, Compiled, SeccompError};

const NO_ARGS: [u64; 6] = [0; 6];

fn errno(e: u32) -> u32 {
    RET_ERRNO | e
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/seccomp")
        .join(name)
}

fn fixture(name: &str) -> LinuxSeccomp {
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    parse_profile(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Compiles for an x86_64 kernel, whatever the host: the tests but those in
/// `arches.rs` are about x86_64 and its compat ABIs.
fn compile(profile: &LinuxSeccomp) -> Result<Compiled, SeccompError> {
    compile_for(profile, Arch::ScmpArchX86_64)
}

/// Compiles and checks the program's structure (what the kernel checks).
fn build(profile: &LinuxSeccomp) -> Compiled {
    let c = compile(profile).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = bpf::check(&c.program) {
        panic!("{e}\n{}", listing(&c));
    }
    c
}

fn build_json(json: &str) -> Compiled {
    build(&parse_profile(json).unwrap())
}

fn listing(c: &Compiled) -> String {
    c.program
        .iter()
        .enumerate()
        .map(|(i, insn)| format!("{i:4}: {insn}\n"))
        .collect()
}

/// The return value and instruction count for syscall number `nr`.
fn run_nr(c: &Compiled, abi: Abi, nr: u32, args: [u64; 6]) -> (u32, usize) {
    run(&c.program, &Data::new(abi, nr, args))
}

/// The return value for syscall `name` on `abi`.
fn decide(c: &Compiled, abi: Abi, name: &str, args: [u64; 6]) -> u32 {
    let nr = abi
        .syscall_nr(name)
        .unwrap_or_else(|| panic!("{name} unknown on {abi:?}"));
    run_nr(c, abi, nr, args).0
}

/// One argument set with `args[index] = value`.
fn arg(index: usize, value: u64) -> [u64; 6] {
    let mut a = NO_ARGS;
    a[index] = value;
    a
}

#[test]
fn insn_has_the_layout_of_sock_filter() {
    use super::Insn;
    assert_eq!(std::mem::size_of::<Insn>(), 8);
    assert_eq!(std::mem::size_of::<libc::sock_filter>(), 8);
    let i = Insn::jump(bpf::JMP_JEQ_K, 0xc000_003e, 1, 2);
    assert_eq!(i.to_bytes(), [0x15, 0x00, 1, 2, 0x3e, 0x00, 0x00, 0xc0]);
    let c = build_json(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#);
    assert_eq!(c.to_bytes().len(), 8 * c.program.len());
    assert_eq!(c.sock_filters().len(), c.program.len());
    assert_eq!(c.program.last().unwrap().k, RET_ALLOW);
}

#[test]
fn syscall_tables_are_sorted_and_right() {
    use super::syscalls as t;
    for (abi, table) in [
        (Abi::X86_64, t::X86_64),
        (Abi::X86, t::X86),
        (Abi::X32, t::X32),
        (Abi::Aarch64, t::AARCH64),
        (Abi::Arm, t::ARM),
        (Abi::Riscv64, t::RISCV64),
        (Abi::Ppc64le, t::PPC64),
        (Abi::S390x, t::S390X),
        (Abi::S390, t::S390),
    ] {
        assert!(
            table.windows(2).all(|w| w[0].0 < w[1].0),
            "{abi:?} not sorted"
        );
        let (lo, hi) = abi.nr_range();
        assert!(
            table.iter().all(|(_, nr)| (lo..=hi).contains(nr)),
            "{abi:?} out of range"
        );
        assert!(table.len() > 300, "{abi:?}: {} syscalls", table.len());
    }
    let x32 = |n: u32| 0x4000_0000 | n;
    let cases = [
        (Abi::X86_64, "getppid", 110),
        (Abi::X86, "getppid", 64),
        (Abi::X32, "getppid", x32(110)),
        (Abi::X86_64, "rt_sigaction", 13),
        (Abi::X32, "rt_sigaction", x32(512)),
        (Abi::X86, "socketcall", 102),
        (Abi::X86_64, "set_mempolicy_home_node", 450), // last in Linux 6.1's headers
        (Abi::X86_64, "cachestat", 451),               // added by the script
        (Abi::X86_64, "listns", 470),
        (Abi::X86, "listns", 470),
        (Abi::X32, "mseal", x32(462)),
    ];
    for (abi, name, nr) in cases {
        assert_eq!(abi.syscall_nr(name), Some(nr), "{abi:?} {name}");
    }
    assert_eq!(Abi::X86_64.syscall_nr("socketcall"), None);
    assert_eq!(Abi::X86.syscall_nr("map_shadow_stack"), None);
    assert_eq!(Abi::X32.syscall_nr("map_shadow_stack"), None);
}

/// Every fixture that should compile does, with a well-formed program.
#[test]
fn all_fixtures_compile() {
    let dir = fixture_path("");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".json") || name == "containers-common-seccomp.json" {
            continue;
        }
        let c = build(&fixture(&name));
        assert!(c.program.len() <= bpf::MAX_INSNS, "{name}");
        n += 1;
    }
    assert!(n >= 20, "only {n} fixtures found in {}", dir.display());
}

#[test]
fn warnings_display_their_field() {
    let c = build(&fixture("unknown-syscall.json"));
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(
        c.warnings[0].to_string(),
        "linux.seccomp.syscalls[0].names[0]: unknown syscall \"no_such_syscall\" skipped"
    );
    assert_eq!(decide(&c, Abi::X86_64, "getppid", NO_ARGS), errno(42));
    assert_eq!(decide(&c, Abi::X86_64, "getpid", NO_ARGS), RET_ALLOW);
}
