//! The container's session keyring, as runc makes it: the init joins a
//! new keyring named `_ses.<id>` (so the container cannot read the
//! caller's session keys) and lets it be searched, and every process
//! `exec`'d into the container joins that same keyring by name. With an
//! SELinux process label, the keyring is created with it (`keycreate`).

use std::ffi::CString;

use nix::errno::Errno;

use crate::apply::procfs::ProcFs;
use crate::apply::selinux;
use crate::error::{ChildError, Step};
use crate::sys;

/// Who, besides its possessors, may find the keyring to join it: runc's
/// choice, the user (`KEY_USR_SEARCH`), or in a user namespace, whose
/// processes the keyring's owner may not be, anyone (`KEY_OTH_SEARCH`).
fn search_bit(in_user_namespace: bool) -> u32 {
    if in_user_namespace {
        0x0000_0008
    } else {
        0x0008_0000
    }
}

/// The init: joins a new `_ses.<id>` and opens it to the container's later
/// processes. `proc` writes the label (the host's /proc, before the switch
/// of root).
pub(crate) fn join_new(
    id: &str,
    label: Option<&str>,
    in_user_namespace: bool,
) -> Result<(), ChildError> {
    if let Some(label) = label {
        selinux::set_key_label(&ProcFs::at_proc()?, label)?;
    }
    let Some(serial) = join(id)? else {
        return Ok(());
    };
    let what = || id.to_string();
    let description =
        sys::describe_key(serial).map_err(|e| ChildError::sys(Step::Keyring, what(), e))?;
    let perm = description
        .split(';')
        .nth(3)
        .and_then(|p| u32::from_str_radix(p, 16).ok())
        .ok_or_else(|| {
            ChildError::other(
                Step::Keyring,
                what(),
                format!("unreadable key description {description:?}"),
            )
        })?;
    sys::set_key_perm(serial, perm | search_bit(in_user_namespace))
        .map_err(|e| ChildError::sys(Step::Keyring, what(), e))
}

/// An exec'd process: joins the container's `_ses.<id>` (found by name),
/// with its label for a keyring the kernel has to make anew.
pub(crate) fn join_existing(id: &str, label: Option<&str>) -> Result<(), ChildError> {
    if let Some(label) = label {
        let proc = ProcFs::private().or_else(|_| ProcFs::at_proc())?;
        selinux::set_key_label(&proc, label)?;
    }
    join(id).map(drop)
}

/// Joins `_ses.<id>`; `None` where the kernel or a seccomp profile has no
/// keyctl, which is tolerated as runc does.
fn join(id: &str) -> Result<Option<i32>, ChildError> {
    let name = CString::new(format!("_ses.{id}"))
        .map_err(|_| ChildError::other(Step::Keyring, id.to_string(), "id contains NUL"))?;
    match sys::join_session_keyring(&name) {
        Ok(serial) => Ok(Some(serial)),
        Err(Errno::ENOSYS) | Err(Errno::EPERM) => Ok(None),
        Err(e) => Err(ChildError::sys(Step::JoinSessionKeyring, id.to_string(), e)),
    }
}
