//! AppArmor's change-on-exec: the kernel's interface for "run the next
//! program under this profile" is a write of `exec PROFILE` to the task's
//! `attr/apparmor/exec` (`attr/exec` before Linux 5.8), which takes effect
//! at that task's next `execve` (libapparmor's `aa_change_onexec`, runc's
//! `apparmor.ApplyProfile`). The runtime itself stays unconfined until
//! then, so every later step (identity switch, seccomp, hooks) is as
//! without a profile.

use std::os::fd::OwnedFd;

use nix::errno::Errno;

use crate::apply::procfs::ProcFs;
use crate::error::{ChildError, Step};

/// The attribute since Linux 5.8 (beside other LSMs' own directories).
const ATTR: &str = "thread-self/attr/apparmor/exec";
/// The attribute of older kernels, shared with whichever LSM is major.
const OLD_ATTR: &str = "thread-self/attr/exec";

/// Asks the kernel to apply the planned profile at this task's `execve`.
/// Done while still root, before `no_new_privs` and the filter (runc's
/// init does it at the same place), so a profile the kernel does not know
/// fails `create` (or `exec`) before the program runs.
pub(crate) fn change_onexec(proc: &ProcFs, profile: &str) -> Result<(), ChildError> {
    let (path, fd) = open_attr(proc, profile)?;
    let value = format!("exec {profile}");
    match nix::unistd::write(&fd, value.as_bytes()) {
        Ok(n) if n == value.len() => Ok(()),
        Ok(_) => Err(write_error(profile, path, Errno::EIO)),
        Err(e) => Err(write_error(profile, path, e)),
    }
}

fn open_attr(proc: &ProcFs, profile: &str) -> Result<(&'static str, OwnedFd), ChildError> {
    match proc.open_write(ATTR) {
        Ok(fd) => Ok((ATTR, fd)),
        Err(Errno::ENOENT) => proc
            .open_write(OLD_ATTR)
            .map(|fd| (OLD_ATTR, fd))
            .map_err(|e| write_error(profile, OLD_ATTR, e)),
        Err(e) => Err(write_error(profile, ATTR, e)),
    }
}

/// The error, with what the kernel's errno means for this attribute.
fn write_error(profile: &str, path: &str, e: Errno) -> ChildError {
    let meaning = match e {
        Errno::ENOENT => {
            "no profile of that name is loaded in the kernel (load it with \
                          apparmor_parser first)"
        }
        Errno::EINVAL => {
            "the kernel refused it (AppArmor is not enabled, or not the LSM \
                          behind this attribute)"
        }
        Errno::EACCES | Errno::EPERM => "the runtime's own confinement forbids changing to it",
        _ => e.desc(),
    };
    let mut err = ChildError::other(
        Step::ProcessApparmorProfile,
        format!("{profile:?}"),
        format!("{meaning} (write of \"exec {profile}\" to /proc/{path}: {e})"),
    );
    err.errno = Some(e as i32);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_profile_is_named_with_its_cause() {
        let e = write_error("nope", ATTR, Errno::ENOENT);
        let text = e.to_string();
        assert!(text.starts_with("process.apparmorProfile \"nope\": no profile of that name"));
        assert!(text.contains("/proc/thread-self/attr/apparmor/exec: ENOENT"));
        assert_eq!(e.errno, Some(libc::ENOENT));
    }
}
