//! Running from a sealed copy of the runtime's own binary (runc
//! CVE-2019-5736).
//!
//! The container's init and `exec`'d processes are forks of the runtime
//! until they `execve` the container's program, and a program in the
//! container can be `#!/proc/self/exe`: either way a process in the
//! container's pid namespace has the runtime's binary as `/proc/<pid>/exe`
//! for a while, and a container process that opens it then can write to the
//! host's binary once the runtime has exited. [`reexec_from_sealed_copy`]
//! makes that binary a memfd copy, sealed against every write, before
//! anything is forked: what the container can reach is the copy.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::error::Error;

/// The seals that make a memfd immutable (and its seals too).
fn seals() -> SealFlag {
    SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE
        | SealFlag::F_SEAL_FUTURE_WRITE
}

/// Copies with read(2) and write(2) only. `std::io::copy` may splice,
/// and pages still referenced from a pipe count as pins that make
/// `F_SEAL_WRITE` fail with EBUSY (seen once in 4,000 creates).
fn copy_plainly(from: &mut File, to: &mut File) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => to.write_all(&buf[..n])?,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `F_SEAL_WRITE` waits a little for transient page references and then
/// gives EBUSY; they go away by themselves, so try again for a while.
fn seal(copy: &File) -> nix::Result<()> {
    let mut tries = 0;
    loop {
        match fcntl(copy.as_fd(), FcntlArg::F_ADD_SEALS(seals())) {
            Err(nix::errno::Errno::EBUSY) if tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            r => return r.map(drop),
        }
    }
}

/// Whether this process already runs from a sealed copy.
pub fn running_from_sealed_copy() -> bool {
    File::open("/proc/self/exe")
        .ok()
        .and_then(|f| fcntl(f.as_fd(), FcntlArg::F_GET_SEALS).ok())
        .is_some_and(|s| SealFlag::from_bits_truncate(s).contains(seals()))
}

/// Re-executes this program, with the same arguments and environment, from
/// a sealed in-memory copy of its binary, unless it already runs from one
/// (then it returns at once). Call it first thing in `main` of a program
/// that creates containers or execs into them; it returns only on error.
///
/// The copy costs one read of the binary per command (measured in
/// `docs/security.md`).
pub fn reexec_from_sealed_copy() -> Result<(), Error> {
    if running_from_sealed_copy() {
        return Ok(());
    }
    let sys = |op| {
        move |e| Error::Sys {
            op,
            path: None,
            source: e,
        }
    };
    let mut exe = File::open("/proc/self/exe").map_err(Error::io("open", "/proc/self/exe"))?;
    // MFD_EXEC: kernels with vm.memfd_noexec (6.3) otherwise may refuse it.
    let flags = MFdFlags::MFD_CLOEXEC
        | MFdFlags::MFD_ALLOW_SEALING
        | MFdFlags::from_bits_retain(libc::MFD_EXEC);
    let memfd = memfd_create(c"cella", flags)
        .or_else(|_| {
            memfd_create(
                c"cella",
                MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
            )
        })
        .map_err(sys("memfd_create"))?;
    let mut copy = File::from(memfd);
    copy_plainly(&mut exe, &mut copy).map_err(Error::io("copy", "/proc/self/exe"))?;
    seal(&copy).map_err(sys("seal the copy of"))?;
    let cstrings = |v: Vec<OsString>| -> Result<Vec<CString>, Error> {
        v.into_iter()
            .map(|s| {
                CString::new(s.into_vec())
                    .map_err(|_| Error::Usage("an argument contains a NUL byte".into()))
            })
            .collect()
    };
    let args = cstrings(std::env::args_os().collect())?;
    let env = cstrings(
        std::env::vars_os()
            .map(|(k, v)| {
                let mut kv = k;
                kv.push("=");
                kv.push(v);
                kv
            })
            .collect(),
    )?;
    nix::unistd::fexecve(copy.as_fd(), &args, &env).map_err(sys("execute the sealed copy of"))?;
    Ok(())
}
