//! The syscall ABIs a filter can meet on an x86_64 kernel, and how an OCI
//! `architectures` entry maps onto them.
//!
//! An x86_64 kernel runs three ABIs. `seccomp_data.arch` tells i386
//! (`AUDIT_ARCH_I386`) from the two 64-bit ones, but x86_64 and x32 share
//! `AUDIT_ARCH_X86_64`: an x32 syscall is told apart only by
//! `__X32_SYSCALL_BIT` (0x4000_0000) in `seccomp_data.nr`. No other
//! `AUDIT_ARCH_*` value can reach a filter on this kernel.

use oci_spec::runtime::Arch;

use super::syscalls;

/// `AUDIT_ARCH_X86_64` (`EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`).
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386` (`EM_386 | __AUDIT_ARCH_LE`).
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT`: set in the number of every x32 syscall.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall ABI of an x86_64 kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Abi {
    /// The native ABI: `SCMP_ARCH_X86_64` (and `SCMP_ARCH_NATIVE` here).
    X86_64,
    /// The i386 compat ABI: `SCMP_ARCH_X86`.
    X86,
    /// The x32 ABI: `SCMP_ARCH_X32`.
    X32,
}

/// What an `architectures` entry means on this kernel.
pub enum ArchMapping {
    /// One of the ABIs above.
    Abi(Abi),
    /// A valid architecture that an x86_64 kernel never reports, so a filter
    /// section for it could never run.
    Foreign,
}

impl Abi {
    /// All ABIs, in the order their sections are laid out.
    pub const ALL: [Abi; 3] = [Abi::X86_64, Abi::X32, Abi::X86];

    /// Maps an OCI architecture. `SCMP_ARCH_NATIVE` is the build's own
    /// architecture, x86_64: the only one the syscall tables cover.
    pub fn from_oci(arch: Arch) -> ArchMapping {
        match arch {
            Arch::ScmpArchNative | Arch::ScmpArchX86_64 => ArchMapping::Abi(Abi::X86_64),
            Arch::ScmpArchX86 => ArchMapping::Abi(Abi::X86),
            Arch::ScmpArchX32 => ArchMapping::Abi(Abi::X32),
            _ => ArchMapping::Foreign,
        }
    }

    /// The syscall number for `name`, if this ABI has the syscall.
    pub fn syscall_nr(self, name: &str) -> Option<u32> {
        let table = match self {
            Abi::X86_64 => syscalls::X86_64,
            Abi::X86 => syscalls::X86,
            Abi::X32 => syscalls::X32,
        };
        table
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| table[i].1)
    }

    /// Whether argument comparisons use all 64 bits. libseccomp compares
    /// only the low 32 bits on its 32-bit ABIs — i386 *and* x32
    /// (`arch_def_x32.size = ARCH_SIZE_32`) — truncating the profile's value
    /// to 32 bits (`_db_rule_gen_32`); we do the same so a profile means
    /// what it means under runc.
    pub fn args_are_64bit(self) -> bool {
        self == Abi::X86_64
    }

    /// The range of `seccomp_data.nr` values this ABI's section handles,
    /// inclusive. x86_64 and x32 split the number space of
    /// `AUDIT_ARCH_X86_64` at `__X32_SYSCALL_BIT`.
    pub fn nr_range(self) -> (u32, u32) {
        match self {
            Abi::X86_64 => (0, X32_SYSCALL_BIT - 1),
            Abi::X32 => (X32_SYSCALL_BIT, u32::MAX),
            Abi::X86 => (0, u32::MAX),
        }
    }

    /// On i386 the socket and SysV IPC calls also go through the
    /// multiplexers `socketcall(2)` (102) and `ipc(2)` (117), with the call
    /// number in `args[0]` and the real arguments in memory. libseccomp adds
    /// a rule for the multiplexer, `args[0] == call`, next to the direct
    /// syscall's, dropping conditions it cannot check; so do we. Returns the
    /// multiplexer's number and the call's.
    ///
    /// libseccomp 2.5.4 leaves out accept, send, recv, semop and semtimedop
    /// (no multiplexer rule for them); they are covered here, as the profile
    /// means them to be.
    pub fn multiplexed(self, name: &str) -> Option<(u32, u64)> {
        const SOCKETCALL: u32 = 102;
        const IPC: u32 = 117;
        if self != Abi::X86 {
            return None;
        }
        // include/uapi/linux/net.h (SYS_*) and ipc.h (SEMOP, ...).
        let (mux, call) = match name {
            "socket" => (SOCKETCALL, 1),
            "bind" => (SOCKETCALL, 2),
            "connect" => (SOCKETCALL, 3),
            "listen" => (SOCKETCALL, 4),
            "accept" => (SOCKETCALL, 5),
            "getsockname" => (SOCKETCALL, 6),
            "getpeername" => (SOCKETCALL, 7),
            "socketpair" => (SOCKETCALL, 8),
            "send" => (SOCKETCALL, 9),
            "recv" => (SOCKETCALL, 10),
            "sendto" => (SOCKETCALL, 11),
            "recvfrom" => (SOCKETCALL, 12),
            "shutdown" => (SOCKETCALL, 13),
            "setsockopt" => (SOCKETCALL, 14),
            "getsockopt" => (SOCKETCALL, 15),
            "sendmsg" => (SOCKETCALL, 16),
            "recvmsg" => (SOCKETCALL, 17),
            "accept4" => (SOCKETCALL, 18),
            "recvmmsg" => (SOCKETCALL, 19),
            "sendmmsg" => (SOCKETCALL, 20),
            "semop" => (IPC, 1),
            "semget" => (IPC, 2),
            "semctl" => (IPC, 3),
            "semtimedop" => (IPC, 4),
            "msgsnd" => (IPC, 11),
            "msgrcv" => (IPC, 12),
            "msgget" => (IPC, 13),
            "msgctl" => (IPC, 14),
            "shmat" => (IPC, 21),
            "shmdt" => (IPC, 22),
            "shmget" => (IPC, 23),
            "shmctl" => (IPC, 24),
            _ => return None,
        };
        Some((mux, call))
    }
}
