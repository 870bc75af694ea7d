//! SELinux's labels, as runc applies them (go-selinux's `SetExecLabel`,
//! `SetKeyLabel`, `SetFileLabel`): the process context is written to the
//! task's `attr/exec` and takes effect at its next `execve`; the context of
//! keys it creates to `attr/keycreate`. The kernel resets both at `execve`,
//! so nothing the program starts inherits them by accident. (The mount label
//! needs no call of its own: the plan puts it in the mounts' options.)

use std::os::fd::AsFd;

use nix::errno::Errno;

use crate::apply::procfs::ProcFs;
use crate::error::{ChildError, Step};
use crate::sys;

const EXEC: &str = "thread-self/attr/exec";
const KEYCREATE: &str = "thread-self/attr/keycreate";

/// Asks the kernel to run this task's next program as `label`.
pub(crate) fn set_exec_label(proc: &ProcFs, label: &str) -> Result<(), ChildError> {
    proc.write(EXEC, label)
        .map_err(|e| label_error(Step::ProcessSelinuxLabel, label, EXEC, e))
}

/// Gives the keys this task creates from now on (the session keyring the
/// init joins) the context `label`. A kernel without keys has no
/// attribute: tolerated, as the keyring itself is (runc too).
pub(crate) fn set_key_label(proc: &ProcFs, label: &str) -> Result<(), ChildError> {
    match proc.write(KEYCREATE, label) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(label_error(Step::KeyringSelinuxLabel, label, KEYCREATE, e)),
    }
}

/// Gives the root of a new mount (`dir`, an fd of it) the file context
/// `label` (runc does so for `mqueue`, which it mounts without `context=`).
pub(crate) fn set_root_label(dir: impl AsFd, label: &str, what: &str) -> Result<(), ChildError> {
    sys::fsetxattr(dir.as_fd(), c"security.selinux", label.as_bytes()).map_err(|e| {
        let mut err = label_error(Step::MountLabel, label, "security.selinux", e);
        err.detail.push_str(&format!(" (the root of {what})"));
        err
    })
}

/// The error, with what the kernel's errno means for a context.
fn label_error(step: Step, label: &str, attr: &str, e: Errno) -> ChildError {
    let meaning = match e {
        Errno::EINVAL => "the loaded policy does not know this context (or it is malformed)",
        Errno::EACCES | Errno::EPERM => {
            "the policy forbids the runtime's own context to give this one"
        }
        _ => e.desc(),
    };
    let target = if attr.contains('/') {
        format!("/proc/{attr}")
    } else {
        attr.to_string()
    };
    let mut err = ChildError::other(
        step,
        format!("{label:?}"),
        format!("{meaning} (write of {label:?} to {target}: {e})"),
    );
    err.errno = Some(e as i32);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_context_is_named_with_its_cause() {
        let e = label_error(Step::ProcessSelinuxLabel, "x:y:z:s0", EXEC, Errno::EINVAL);
        let text = e.to_string();
        assert!(
            text.starts_with("process.selinuxLabel \"x:y:z:s0\": the loaded policy does not know"),
            "{text}"
        );
        assert!(
            text.contains("/proc/thread-self/attr/exec: EINVAL"),
            "{text}"
        );
        assert_eq!(e.errno, Some(libc::EINVAL));
    }
}
