//! Linux security modules: the AppArmor profile and the SELinux labels a
//! container asks for, checked against what the host has enabled. runc is
//! the reference (runtime-spec only names the fields): see docs/lsm.md.

use serde::Serialize;

use crate::error::FieldError;

/// Which LSMs the host has enabled, as far as a config asks: the gatherer
/// reads a module's state only for a config that names one of its fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LsmHost {
    /// AppArmor is enabled (`/sys/module/apparmor/parameters/enabled` is
    /// `Y`): a profile can be applied only then.
    pub apparmor: bool,
    /// SELinux is enabled (selinuxfs mounted and a policy loaded: the
    /// runtime's own label is not `kernel`), as runc's `GetEnabled`.
    pub selinux: bool,
}

/// Refuses a name the kernel would cut (at a NUL) or strip (white space at
/// an end), so that what is applied is what was named.
fn checked_name<'a>(field: &str, name: &'a str, what: &str) -> Result<&'a str, FieldError> {
    if name.contains('\0') || name.trim() != name {
        return Err(FieldError::invalid(
            field,
            format!("{name:?} is not {what} (a NUL byte or white space at an end)"),
        ));
    }
    Ok(name)
}

/// The AppArmor profile to change to at `execve`, from `asked` (the
/// process's `apparmorProfile`, named `field`). runc writes any non-empty
/// profile, `unconfined` included, to the kernel's change-on-exec attribute
/// and fails when the kernel refuses it, which a host without AppArmor
/// always does (EINVAL): here that failure is decided before anything is
/// built.
pub(crate) fn apparmor_profile(
    field: &str,
    asked: Option<&str>,
    host: LsmHost,
) -> Result<Option<String>, FieldError> {
    let Some(name) = asked.filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let name = checked_name(field, name, "a profile name")?;
    if !host.apparmor {
        return Err(FieldError::unsupported(
            field,
            format!(
                "AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled \
                 is not Y), so profile {name:?} cannot be applied (runc fails too); remove the \
                 field"
            ),
        ));
    }
    Ok(Some(name.to_string()))
}

/// An SELinux context from `asked` (`process.selinuxLabel` or
/// `linux.mountLabel`, named `field`). runc refuses a process label where
/// SELinux is not enabled ("selinux label is specified in config, but
/// selinux is disabled or not supported"); a mount label there makes its
/// first `context=` mount fail with EINVAL: both are refused here, before
/// anything is built. A `"` is refused because the label is quoted in the
/// mount options (an MCS range has commas).
pub(crate) fn selinux_context(
    field: &str,
    asked: Option<&str>,
    host: LsmHost,
) -> Result<Option<String>, FieldError> {
    let Some(label) = asked.filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let label = checked_name(field, label, "an SELinux context")?;
    if label.contains('"') {
        return Err(FieldError::invalid(
            field,
            format!("{label:?} is not an SELinux context (it contains '\"')"),
        ));
    }
    if !host.selinux {
        return Err(FieldError::unsupported(
            field,
            format!(
                "SELinux is not enabled on this host (no selinuxfs at /sys/fs/selinux, or no \
                 policy loaded), so {label:?} cannot be applied (runc fails too); remove the \
                 field"
            ),
        ));
    }
    Ok(Some(label.to_string()))
}

/// Whether a new instance of `fstype` gets `linux.mountLabel` as its
/// `context=` option. runc adds it to every filesystem it mounts except
/// `proc` and `sysfs` (which carry their own labels), `mqueue` (whose root
/// it labels instead, see [`labels_root`]) and cgroups; binds keep their
/// source's labels.
pub(crate) fn takes_context(fstype: &str) -> bool {
    !matches!(fstype, "proc" | "sysfs" | "mqueue")
}

/// Whether a new instance of `fstype` gets `linux.mountLabel` as the file
/// label of its root instead of a mount option (runc: `mqueue`).
pub(crate) fn labels_root(fstype: &str) -> bool {
    fstype == "mqueue"
}

/// `data` with `context="LABEL"` added, as runc formats it.
pub(crate) fn with_context(data: &str, label: &str) -> String {
    if data.is_empty() {
        format!("context=\"{label}\"")
    } else {
        format!("{data},context=\"{label}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldErrorKind;
    use crate::plan::{plan_exec_process, ContainerDefaults};
    use oci_spec::runtime::ProcessBuilder;

    const F: &str = "process.apparmorProfile";
    const S: &str = "process.selinuxLabel";
    const NONE: LsmHost = LsmHost {
        apparmor: false,
        selinux: false,
    };
    const BOTH: LsmHost = LsmHost {
        apparmor: true,
        selinux: true,
    };

    #[test]
    fn no_profile_asks_nothing_of_the_host() {
        assert_eq!(apparmor_profile(F, None, NONE), Ok(None));
        assert_eq!(apparmor_profile(F, Some(""), NONE), Ok(None));
        assert_eq!(apparmor_profile(F, Some(""), BOTH), Ok(None));
        assert_eq!(selinux_context(S, None, NONE), Ok(None));
        assert_eq!(selinux_context(S, Some(""), NONE), Ok(None));
    }

    #[test]
    fn a_profile_is_applied_where_apparmor_is_enabled() {
        for name in ["docker-default", "unconfined", "cri-containerd.apparmor.d"] {
            assert_eq!(apparmor_profile(F, Some(name), BOTH), Ok(Some(name.into())));
        }
    }

    /// runc writes `unconfined` too, and the kernel refuses the write.
    #[test]
    fn without_apparmor_every_profile_is_refused_as_unsupported() {
        let selinux_only = LsmHost {
            selinux: true,
            ..NONE
        };
        for name in ["docker-default", "unconfined"] {
            let e = apparmor_profile(F, Some(name), selinux_only).unwrap_err();
            assert_eq!(e.field, F);
            assert_eq!(e.kind, FieldErrorKind::Unsupported);
            assert!(e.reason.contains("AppArmor is not enabled"), "{}", e.reason);
        }
    }

    #[test]
    fn names_the_kernel_would_change_are_refused() {
        for name in ["a\0b", " lead", "trail\n"] {
            let e = apparmor_profile(F, Some(name), BOTH).unwrap_err();
            assert_eq!((e.field.as_str(), e.kind), (F, FieldErrorKind::Invalid));
            let e = selinux_context(S, Some(name), BOTH).unwrap_err();
            assert_eq!((e.field.as_str(), e.kind), (S, FieldErrorKind::Invalid));
        }
        let e = selinux_context(S, Some("a\"b"), BOTH).unwrap_err();
        assert_eq!(e.kind, FieldErrorKind::Invalid);
    }

    #[test]
    fn a_label_is_applied_only_where_selinux_is_enabled() {
        let label = "system_u:system_r:container_t:s0:c1,c2";
        assert_eq!(
            selinux_context(S, Some(label), BOTH),
            Ok(Some(label.into()))
        );
        let apparmor_only = LsmHost {
            apparmor: true,
            ..NONE
        };
        let e = selinux_context("linux.mountLabel", Some(label), apparmor_only).unwrap_err();
        assert_eq!(e.field, "linux.mountLabel");
        assert_eq!(e.kind, FieldErrorKind::Unsupported);
        assert!(e.reason.contains("SELinux is not enabled"), "{}", e.reason);
    }

    #[test]
    fn the_mount_label_goes_where_runc_puts_it() {
        for fs in ["tmpfs", "devpts", "shm", "overlay"] {
            assert!(takes_context(fs) && !labels_root(fs), "{fs}");
        }
        for fs in ["proc", "sysfs"] {
            assert!(!takes_context(fs) && !labels_root(fs), "{fs}");
        }
        assert!(!takes_context("mqueue") && labels_root("mqueue"));
        let l = "system_u:object_r:container_file_t:s0:c1,c2";
        assert_eq!(with_context("", l), format!("context=\"{l}\""));
        assert_eq!(
            with_context("mode=755,size=65536k", l),
            format!("mode=755,size=65536k,context=\"{l}\"")
        );
    }

    fn exec_process(profile: Option<&str>, label: Option<&str>) -> oci_spec::runtime::Process {
        let mut p = ProcessBuilder::default()
            .args(vec!["true".to_string()])
            .build()
            .unwrap_or_default();
        p.set_apparmor_profile(profile.map(str::to_string));
        p.set_selinux_label(label.map(str::to_string));
        p
    }

    /// An exec'd process without a profile or label of its own gets the
    /// container's, as under runc; its own (`exec --apparmor`,
    /// `--process-label`) wins.
    #[test]
    fn exec_inherits_the_container_confinement() {
        let plan = |own: Option<&str>, container: Option<&str>| {
            let c = exec_process(container, container);
            let c = ContainerDefaults {
                process: Some(&c),
                ..ContainerDefaults::default()
            };
            plan_exec_process(&exec_process(own, own), 0, c, BOTH)
                .map(|p| (p.apparmor_profile, p.selinux_label))
        };
        let both = |s: &str| Ok((Some(s.to_string()), Some(s.to_string())));
        assert_eq!(plan(None, Some("c")), both("c"));
        assert_eq!(plan(Some(""), Some("c")), both("c"));
        assert_eq!(plan(Some("x"), Some("c")), both("x"));
        assert_eq!(plan(None, None), Ok((None, None)));
        assert_eq!(plan(None, Some("")), Ok((None, None)));
    }

    #[test]
    fn exec_fields_are_named_as_in_a_process_json() {
        let none = ContainerDefaults::default();
        let e = plan_exec_process(&exec_process(Some("x"), None), 0, none, NONE).unwrap_err();
        assert_eq!(e.field, "apparmorProfile");
        let e = plan_exec_process(&exec_process(None, Some("x")), 0, none, NONE).unwrap_err();
        assert_eq!(e.field, "selinuxLabel");
        let from = |profile, label| exec_process(profile, label);
        for (c, name) in [
            (from(Some("c"), None), "process.apparmorProfile"),
            (from(None, Some("c")), "process.selinuxLabel"),
        ] {
            let c = ContainerDefaults {
                process: Some(&c),
                ..ContainerDefaults::default()
            };
            let e = plan_exec_process(&exec_process(None, None), 0, c, NONE).unwrap_err();
            assert!(e.field.starts_with(name), "{}", e.field);
        }
    }
}
