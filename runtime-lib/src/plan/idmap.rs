//! Idmapped bind mounts (`idmap`, `ridmap`, `uidMappings`/`gidMappings`):
//! which mapping a mount gets and over which of its mounts.
//!
//! A mount's mapping says which on-disk id (`containerID`) is seen as which
//! id of the host (`hostID`) through the mount, and the other way round for
//! files created through it: the same format as a user namespace's map, and
//! the kernel takes it as one (`mount_setattr(MOUNT_ATTR_IDMAP)` with the fd
//! of a user namespace that has that map). The host ids are the host's
//! initial namespace's even in a container with a user namespace, as in
//! runc, which makes that user namespace from the host's side.

use oci_spec::runtime::{LinuxIdMapping, Mount};
use serde::Serialize;

use super::namespaces::IdRange;
use crate::error::FieldError;

/// The kernel's limit on the lines of a uid or gid map (Linux 4.15+).
const MAX_RANGES: usize = 340;

/// The idmapping of one bind mount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Idmap {
    /// `ridmap`: every mount of the bound tree is idmapped, not only its top
    /// one (`mount_setattr(AT_RECURSIVE)`); only an `rbind` has others.
    pub recursive: bool,
    /// Where the mapping comes from.
    pub mapping: IdmapSource,
}

/// The user namespace whose maps become the mount's mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "from")]
pub enum IdmapSource {
    /// `mounts[i].uidMappings`/`gidMappings`: a user namespace made with
    /// exactly these maps, by the runtime, for the mount only.
    Mappings {
        /// uid map.
        uid: Vec<IdRange>,
        /// gid map.
        gid: Vec<IdRange>,
    },
    /// No mappings given: the container's own user namespace (created or
    /// joined), which runtime-spec allows and runc does.
    ContainerUserNamespace,
}

/// What decides whether an idmapped mount can be made at all.
#[derive(Clone, Copy, Debug)]
pub(super) struct IdmapHost {
    /// The container is in a user namespace of its own (created or joined).
    pub container_userns: bool,
    /// The runtime has `CAP_SYS_ADMIN` in the host's user namespace: the
    /// kernel requires it over the filesystem's superblock.
    pub privileged: bool,
}

/// The `idmap`/`ridmap` option of a mount: its index in `options` and
/// whether it is `ridmap`. The last one given wins, as in runc.
pub(super) type IdmapOption = Option<(usize, bool)>;

/// The idmapping of mount `m` (`field` is `mounts[i]`), or `None` when it
/// has none. `is_bind`: the mount is a bind mount.
pub(super) fn plan(
    field: &str,
    m: &Mount,
    option: IdmapOption,
    is_bind: bool,
    host: IdmapHost,
) -> Result<Option<Idmap>, FieldError> {
    let mappings = (m.uid_mappings().as_ref(), m.gid_mappings().as_ref());
    let given = mappings.0.is_some() || mappings.1.is_some();
    if option.is_none() && !given {
        return Ok(None);
    }
    // The field the refusals below name: the option if there is one (runc
    // treats mappings without it as `idmap`).
    let what = match option {
        Some((j, _)) => format!("{field}.options[{j}]"),
        None => format!("{field}.uidMappings"),
    };
    if !is_bind {
        return Err(FieldError::invalid(
            what,
            "idmapped mounts are bind mounts only (options \"bind\" or \"rbind\"), as in runc",
        ));
    }
    let mapping = match mappings {
        (Some(uid), Some(gid)) => IdmapSource::Mappings {
            uid: ranges(&format!("{field}.uidMappings"), uid)?,
            gid: ranges(&format!("{field}.gidMappings"), gid)?,
        },
        (Some(_), None) => return Err(missing(field, "gidMappings")),
        (None, Some(_)) => return Err(missing(field, "uidMappings")),
        (None, None) if host.container_userns => IdmapSource::ContainerUserNamespace,
        (None, None) => {
            return Err(FieldError::invalid(
                what,
                format!(
                    "an idmapped mount needs {field}.uidMappings and gidMappings, or a user \
                     namespace whose mapping it takes (runtime-spec: an error MUST be returned)"
                ),
            ))
        }
    };
    // After the config's own faults: this one is the host's.
    if !host.privileged {
        return Err(FieldError::unsupported(
            what,
            "an idmapped mount needs CAP_SYS_ADMIN in the host's user namespace (runc refuses \
             them for rootless containers too)",
        ));
    }
    Ok(Some(Idmap {
        recursive: option.is_some_and(|(_, r)| r),
        mapping,
    }))
}

fn missing(field: &str, which: &str) -> FieldError {
    FieldError::invalid(
        format!("{field}.{which}"),
        "missing: uidMappings and gidMappings must be given together",
    )
}

/// A mount's uid or gid map, checked as the kernel checks a map written to
/// `/proc/PID/uid_map` (user_namespaces(7)), so that a bad one is refused
/// with its field named rather than as an EINVAL from the write.
fn ranges(field: &str, list: &[LinuxIdMapping]) -> Result<Vec<IdRange>, FieldError> {
    if list.is_empty() {
        return Err(FieldError::invalid(field, "must not be empty"));
    }
    if list.len() > MAX_RANGES {
        return Err(FieldError::invalid(
            field,
            format!(
                "has {} ranges; the kernel takes at most {MAX_RANGES}",
                list.len()
            ),
        ));
    }
    let mut out: Vec<IdRange> = Vec::with_capacity(list.len());
    for (k, m) in list.iter().enumerate() {
        let r = IdRange {
            container_id: m.container_id(),
            host_id: m.host_id(),
            size: m.size(),
        };
        let entry = format!("{field}[{k}]");
        if r.size == 0 {
            return Err(FieldError::invalid(entry, "size must not be 0"));
        }
        if end(r.container_id, r.size).is_none() || end(r.host_id, r.size).is_none() {
            return Err(FieldError::invalid(
                entry,
                "the range goes past the last id (4294967294)",
            ));
        }
        if let Some(o) = out.iter().position(|p| overlaps(p, &r)) {
            return Err(FieldError::invalid(
                entry,
                format!("overlaps {field}[{o}] (containerID or hostID ranges)"),
            ));
        }
        out.push(r);
    }
    Ok(out)
}

/// The id after the last of a range, when every id of it is a valid one
/// (`(uid_t)-1` is not, so the sum must fit).
fn end(first: u32, size: u32) -> Option<u32> {
    first.checked_add(size)
}

fn overlaps(a: &IdRange, b: &IdRange) -> bool {
    let meet = |a0: u32, b0: u32| {
        let (a0, b0) = (u64::from(a0), u64::from(b0));
        a0 < b0 + u64::from(b.size) && b0 < a0 + u64::from(a.size)
    };
    meet(a.container_id, b.container_id) || meet(a.host_id, b.host_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROOT_NO_USERNS: IdmapHost = IdmapHost {
        container_userns: false,
        privileged: true,
    };
    const ROOT_USERNS: IdmapHost = IdmapHost {
        container_userns: true,
        privileged: true,
    };

    fn mount(v: serde_json::Value) -> Mount {
        serde_json::from_value(v).unwrap()
    }

    fn map(c: u32, h: u32, s: u32) -> serde_json::Value {
        json!([{ "containerID": c, "hostID": h, "size": s }])
    }

    fn with_maps(uid: serde_json::Value, gid: serde_json::Value) -> Mount {
        mount(
            json!({ "destination": "/d", "source": "/s", "options": ["bind"],
                      "uidMappings": uid, "gidMappings": gid }),
        )
    }

    #[test]
    fn no_option_and_no_mappings_is_no_idmap() {
        let m = mount(json!({ "destination": "/d", "source": "/s", "options": ["bind"] }));
        assert_eq!(
            plan("mounts[0]", &m, None, true, ROOT_NO_USERNS).unwrap(),
            None
        );
    }

    #[test]
    fn idmap_is_the_top_mount_and_ridmap_the_whole_tree() {
        let m = with_maps(map(0, 1000, 10), map(0, 2000, 10));
        let want = IdmapSource::Mappings {
            uid: vec![IdRange {
                container_id: 0,
                host_id: 1000,
                size: 10,
            }],
            gid: vec![IdRange {
                container_id: 0,
                host_id: 2000,
                size: 10,
            }],
        };
        for (opt, recursive) in [
            (Some((1, false)), false),
            (Some((1, true)), true),
            (None, false),
        ] {
            let p = plan("mounts[0]", &m, opt, true, ROOT_NO_USERNS)
                .unwrap()
                .unwrap();
            assert_eq!(p.recursive, recursive, "{opt:?}");
            assert_eq!(p.mapping, want);
        }
    }

    #[test]
    fn without_mappings_the_container_user_namespace_is_taken_or_it_is_an_error() {
        let m =
            mount(json!({ "destination": "/d", "source": "/s", "options": ["rbind", "ridmap"] }));
        let p = plan("mounts[2]", &m, Some((1, true)), true, ROOT_USERNS)
            .unwrap()
            .unwrap();
        assert_eq!(p.mapping, IdmapSource::ContainerUserNamespace);
        assert!(p.recursive);
        let e = plan("mounts[2]", &m, Some((1, true)), true, ROOT_NO_USERNS).unwrap_err();
        assert_eq!(e.field, "mounts[2].options[1]");
        assert!(e.reason.contains("mounts[2].uidMappings"), "{}", e.reason);
    }

    #[test]
    fn refusals_name_the_field() {
        let m = with_maps(map(0, 1000, 10), map(0, 1000, 10));
        let e = plan("mounts[0]", &m, Some((0, false)), false, ROOT_NO_USERNS).unwrap_err();
        assert_eq!(e.field, "mounts[0].options[0]");
        assert!(e.reason.contains("bind"));
        let rootless = IdmapHost {
            container_userns: true,
            privileged: false,
        };
        let e = plan("mounts[0]", &m, None, true, rootless).unwrap_err();
        assert_eq!(e.field, "mounts[0].uidMappings");
        assert!(e.is_unsupported());
        let only_uid = mount(
            json!({ "destination": "/d", "source": "/s", "options": ["bind"],
                                     "uidMappings": map(0, 1, 1) }),
        );
        let e = plan("mounts[4]", &only_uid, None, true, ROOT_NO_USERNS).unwrap_err();
        assert_eq!(e.field, "mounts[4].gidMappings");
    }

    #[test]
    fn bad_ranges_are_refused_as_the_kernel_would() {
        let two = |a: serde_json::Value, b: serde_json::Value| {
            json!([a.as_array().unwrap()[0], b.as_array().unwrap()[0]])
        };
        let cases = [
            (json!([]), "mounts[0].uidMappings", "empty"),
            (map(0, 1, 0), "mounts[0].uidMappings[0]", "size"),
            (
                map(u32::MAX - 1, 1, 2),
                "mounts[0].uidMappings[0]",
                "last id",
            ),
            (map(0, u32::MAX, 1), "mounts[0].uidMappings[0]", "last id"),
            (
                two(map(0, 100, 10), map(5, 1000, 1)),
                "mounts[0].uidMappings[1]",
                "overlaps",
            ),
            (
                two(map(0, 100, 10), map(50, 109, 1)),
                "mounts[0].uidMappings[1]",
                "overlaps",
            ),
        ];
        for (uid, field, reason) in cases {
            let m = with_maps(uid.clone(), map(0, 1, 1));
            let e = plan("mounts[0]", &m, None, true, ROOT_NO_USERNS).unwrap_err();
            assert_eq!(e.field, field, "{uid}");
            assert!(e.reason.contains(reason), "{uid}: {}", e.reason);
        }
        let m = with_maps(two(map(0, 100, 10), map(10, 110, 1)), map(0, 1, 1));
        assert!(plan("mounts[0]", &m, None, true, ROOT_NO_USERNS).is_ok());
        let many: Vec<_> = (0..341)
            .map(|i| json!({"containerID": i, "hostID": i, "size": 1}))
            .collect();
        let m = with_maps(json!(many), map(0, 1, 1));
        let e = plan("mounts[0]", &m, None, true, ROOT_NO_USERNS).unwrap_err();
        assert!(e.reason.contains("340"));
    }
}
