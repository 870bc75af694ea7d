//! Semantic validation of a parsed `config.json`.
//!
//! `oci-spec` checks types; this module checks what a type cannot say: that
//! a namespace is not listed twice, that id mappings come with a user
//! namespace, that a sysctl is namespaced, and that the config asks for
//! nothing this runtime does not do yet. Refusing up front is better than
//! half-building a container and failing in the child, or silently ignoring
//! a security setting.
//!
//! The first broken rule wins. Its field is named in JSON spelling
//! (`linux.namespaces[2]`, `mounts[3].destination`) so the user can find it
//! in the file. Where the runtime-spec is silent the rules follow runc and
//! crun.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{
    Hooks, Linux, LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType, LinuxIdMapping, LinuxNamespace,
    LinuxNamespaceType, LinuxResources, Mount, PosixRlimit, Process, Root, Spec,
};

use super::SpecError;
use crate::error::FieldError;

/// Checks `spec` against the rules above; `bundle_dir` resolves a relative
/// `root.path`, `file` is named in the error.
pub fn validate(spec: &Spec, bundle_dir: &Path, file: &Path) -> Result<(), SpecError> {
    check_spec(spec, bundle_dir).map_err(|e| e.in_file(file))
}

/// Checks a process for `exec` (a `process.json`, or the config's process
/// amended) with the rules a config's `process` follows, so that `exec`
/// refuses what `create` would (an rlimit above its hard limit, an
/// env entry without `=`) instead of ignoring it. Fields are named as in a
/// `process.json`, without the `process.` prefix.
pub(crate) fn check_exec_process(process: &Process) -> Result<(), FieldError> {
    check_process(process).map_err(|e| FieldError {
        field: e
            .field
            .strip_prefix("process.")
            .map(str::to_string)
            .unwrap_or(e.field),
        ..e
    })
}

/// The most entries a list of the config may have. Far above any real
/// config (Kubernetes pods have tens of mounts), low enough that a config
/// at the limit is still set up in seconds: checked first, so a config
/// with 100,000 mounts is refused at once rather than mounted for minutes.
pub const MAX_LIST_ENTRIES: usize = 4096;

fn check_counts(spec: &Spec) -> Check {
    let linux = spec.linux().as_ref();
    let lists = [
        ("mounts", spec.mounts().as_ref().map_or(0, Vec::len)),
        (
            "linux.devices",
            linux.and_then(|l| l.devices().as_ref()).map_or(0, Vec::len),
        ),
        (
            "linux.maskedPaths",
            linux
                .and_then(|l| l.masked_paths().as_ref())
                .map_or(0, Vec::len),
        ),
        (
            "linux.readonlyPaths",
            linux
                .and_then(|l| l.readonly_paths().as_ref())
                .map_or(0, Vec::len),
        ),
        (
            "linux.uidMappings",
            linux
                .and_then(|l| l.uid_mappings().as_ref())
                .map_or(0, Vec::len),
        ),
        (
            "linux.gidMappings",
            linux
                .and_then(|l| l.gid_mappings().as_ref())
                .map_or(0, Vec::len),
        ),
    ];
    for (field, n) in lists {
        if n > MAX_LIST_ENTRIES {
            return refuse(
                field,
                format!("{n} entries, more than the limit of {MAX_LIST_ENTRIES}"),
            );
        }
    }
    Ok(())
}

type Check = Result<(), FieldError>;

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> Check {
    Err(FieldError::invalid(field, reason))
}

/// A field this host or this runtime cannot honour.
fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> Check {
    Err(FieldError::unsupported(field, reason))
}

/// The rules in the order of the fields in a typical `config.json`, so the
/// first error reported is the first one a reader meets in the file.
fn check_spec(spec: &Spec, bundle_dir: &Path) -> Check {
    check_counts(spec)?;
    check_version(spec.version())?;
    check_root(spec.root().as_ref(), bundle_dir)?;
    let Some(process) = spec.process() else {
        return refuse("process", "missing: nothing to run in the container");
    };
    check_process(process)?;
    let Some(linux) = spec.linux() else {
        return refuse("linux", "missing: cella is a Linux runtime");
    };
    let namespaces = Namespaces::from_spec(linux.namespaces().as_deref().unwrap_or_default())?;
    check_id_mappings(linux, &namespaces)?;
    check_time_offsets(linux, &namespaces)?;
    check_uts_names(spec, &namespaces)?;
    check_mounts(spec.mounts().as_deref().unwrap_or_default())?;
    check_devices(linux.devices().as_deref().unwrap_or_default())?;
    check_absolute_paths("linux.maskedPaths", linux.masked_paths())?;
    check_absolute_paths("linux.readonlyPaths", linux.readonly_paths())?;
    check_rootfs_propagation(linux.rootfs_propagation().as_deref())?;
    check_sysctls(linux.sysctl().as_ref(), &namespaces)?;
    check_resources(linux.resources().as_ref())?;
    check_cgroups_path(linux.cgroups_path().as_deref())?;
    check_unsupported_linux(linux)?;
    check_hooks(spec.hooks().as_ref())
}

/// True when an optional value is present and not just its empty default
/// (`{}`, `[]`, `""`), which configs generated by tools often carry.
fn is_set<T: Default + PartialEq>(value: &Option<T>) -> bool {
    value.as_ref().is_some_and(|v| *v != T::default())
}

fn has_parent_component(path: &Path) -> bool {
    path.components().any(|c| c == Component::ParentDir)
}

// ---------------------------------------------------------------- version

/// The runtime-spec requires SemVer; only major version 1 exists, and a
/// future 2.x may change meanings under the same field names.
fn check_version(version: &str) -> Check {
    if version.is_empty() {
        return refuse(
            "ociVersion",
            "missing: name the runtime-spec version the config follows, e.g. \"1.2.0\"",
        );
    }
    match semver_major(version) {
        None => refuse(
            "ociVersion",
            format!("{version:?} is not a semantic version (MAJOR.MINOR.PATCH)"),
        ),
        Some(1) => Ok(()),
        Some(_) => refuse(
            "ociVersion",
            format!("{version:?} is not a 1.x runtime-spec version"),
        ),
    }
}

/// The major version of a SemVer 2.0.0 string, or `None` if it is not one.
fn semver_major(version: &str) -> Option<u64> {
    let (version, build) = split_suffix(version, '+')?;
    let (core, pre) = split_suffix(version, '-')?;
    let numbers: Vec<&str> = core.split('.').collect();
    let well_formed = numbers.len() == 3
        && numbers.iter().all(|n| is_semver_number(n))
        && pre.is_none_or(is_semver_identifiers)
        && build.is_none_or(is_semver_identifiers);
    well_formed.then(|| numbers[0].parse().ok()).flatten()
}

/// Splits `s` at the first `sep`; `None` if the part before it is empty.
fn split_suffix(s: &str, sep: char) -> Option<(&str, Option<&str>)> {
    let (head, tail) = match s.split_once(sep) {
        Some((head, tail)) => (head, Some(tail)),
        None => (s, None),
    };
    (!head.is_empty()).then_some((head, tail))
}

/// Digits without a leading zero, as SemVer requires.
fn is_semver_number(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
}

/// Dot-separated non-empty identifiers of `[0-9A-Za-z-]`.
fn is_semver_identifiers(s: &str) -> bool {
    s.split('.')
        .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

// ---------------------------------------------------------------- root

/// The rootfs is checked now, not at mount time, so that a typo in
/// `root.path` is reported as a config error before anything is created.
fn check_root(root: Option<&Root>, bundle_dir: &Path) -> Check {
    let Some(root) = root else {
        return refuse("root", "missing: the container needs a root filesystem");
    };
    if root.path().as_os_str().is_empty() {
        return refuse("root.path", "empty");
    }
    // A relative path is relative to the bundle (runtime-spec config.md);
    // joining an absolute path replaces the bundle directory.
    let path = bundle_dir.join(root.path());
    match fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => refuse("root.path", format!("not a directory: {}", path.display())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => refuse(
            "root.path",
            format!("no such directory: {}", path.display()),
        ),
        Err(err) => refuse(
            "root.path",
            format!("cannot access {}: {err}", path.display()),
        ),
    }
}

// ---------------------------------------------------------------- process

fn check_process(process: &Process) -> Check {
    check_user(process)?;
    if process.args().as_deref().unwrap_or_default().is_empty() {
        return refuse("process.args", "empty: nothing to run in the container");
    }
    check_env(process.env().as_deref().unwrap_or_default())?;
    if !process.cwd().is_absolute() {
        return refuse(
            "process.cwd",
            format!("{:?} is not an absolute path", process.cwd()),
        );
    }
    check_rlimits(process.rlimits().as_deref().unwrap_or_default())
}

/// The Windows-only fields of a process (config.md: `user.username` and
/// `commandLine` are for Windows) are refused rather than ignored.
fn check_user(process: &Process) -> Check {
    if is_set(process.user().username()) {
        return refuse(
            "process.user.username",
            "is a Windows-only field; use uid and gid on Linux",
        );
    }
    if is_set(process.command_line()) {
        return refuse(
            "process.commandLine",
            "is a Windows-only field; use args on Linux",
        );
    }
    Ok(())
}

/// execve(2) takes the environment as `NAME=VALUE` strings; an entry without
/// `=`, with an empty name or with a NUL byte would reach the program as
/// garbage (runc refuses the same three).
fn check_env(env: &[String]) -> Check {
    for (i, entry) in env.iter().enumerate() {
        let why = match entry.find('=') {
            None => "is not of the form NAME=VALUE",
            Some(0) => "has an empty name",
            Some(_) if entry.contains('\0') => "contains a NUL byte",
            Some(_) => continue,
        };
        return refuse(format!("process.env[{i}]"), format!("{entry:?} {why}"));
    }
    Ok(())
}

/// setrlimit(2) fails with EINVAL when soft > hard; a duplicate type would
/// silently let the last entry win.
fn check_rlimits(rlimits: &[PosixRlimit]) -> Check {
    for (i, rlimit) in rlimits.iter().enumerate() {
        let field = format!("process.rlimits[{i}]");
        if rlimits[..i].iter().any(|r| r.typ() == rlimit.typ()) {
            return refuse(field, format!("duplicate rlimit \"{}\"", rlimit.typ()));
        }
        if rlimit.soft() > rlimit.hard() {
            return refuse(
                field,
                format!(
                    "soft limit {} is above hard limit {}",
                    rlimit.soft(),
                    rlimit.hard()
                ),
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- namespaces

/// The namespaces of the container: for each type listed, `None` when a
/// new one is created and `Some(path)` when an existing one is joined.
struct Namespaces(HashMap<LinuxNamespaceType, Option<PathBuf>>);

impl Namespaces {
    fn from_spec(list: &[LinuxNamespace]) -> Result<Self, FieldError> {
        let mut map = HashMap::new();
        for (i, ns) in list.iter().enumerate() {
            // An empty path is what Go writers emit for "no path": runc
            // treats it as a new namespace, and so do we.
            let path = ns.path().clone().filter(|p| !p.as_os_str().is_empty());
            if let Some(path) = &path {
                if !path.is_absolute() {
                    refuse(
                        format!("linux.namespaces[{i}].path"),
                        format!("{path:?} is not an absolute path"),
                    )?;
                }
            }
            if map.insert(ns.typ(), path).is_some() {
                refuse(
                    format!("linux.namespaces[{i}]"),
                    format!("duplicate namespace \"{}\"", namespace_name(ns.typ())),
                )?;
            }
        }
        Ok(Namespaces(map))
    }

    fn contains(&self, typ: LinuxNamespaceType) -> bool {
        self.0.contains_key(&typ)
    }

    fn is_new(&self, typ: LinuxNamespaceType) -> bool {
        matches!(self.0.get(&typ), Some(None))
    }

    fn is_joined(&self, typ: LinuxNamespaceType) -> bool {
        matches!(self.0.get(&typ), Some(Some(_)))
    }
}

/// The JSON spelling of a namespace type (oci-spec's `Display` gives the
/// `/proc/<pid>/ns` names, `mnt` and `net`, which the user never wrote).
fn namespace_name(typ: LinuxNamespaceType) -> &'static str {
    match typ {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

/// Mappings are written to `/proc/<pid>/{uid,gid}_map` of a new user
/// namespace; without one they would be ignored, and a new user namespace
/// without them leaves every id unmapped (the process runs as nobody and
/// cannot even set up its mounts).
fn check_id_mappings(linux: &Linux, namespaces: &Namespaces) -> Check {
    let lists = [
        ("linux.uidMappings", linux.uid_mappings()),
        ("linux.gidMappings", linux.gid_mappings()),
    ];
    for (field, list) in lists {
        let list = list.as_deref().unwrap_or_default();
        if !list.is_empty() && !namespaces.contains(LinuxNamespaceType::User) {
            return refuse(
                field,
                "mappings need a user namespace (add {\"type\": \"user\"} to linux.namespaces)",
            );
        }
        if list.is_empty() && namespaces.is_new(LinuxNamespaceType::User) {
            return refuse(field, "a new user namespace needs uid and gid mappings");
        }
        check_mapping_list(field, list)?;
    }
    Ok(())
}

/// The kernel refuses a map whose ranges overlap or overflow 32 bits
/// (user_namespaces(7)); reporting it here names the entry.
fn check_mapping_list(field: &str, list: &[LinuxIdMapping]) -> Check {
    for (i, mapping) in list.iter().enumerate() {
        let here = format!("{field}[{i}]");
        if mapping.size() == 0 {
            return refuse(here, "size is 0: the mapping maps nothing");
        }
        if range_end(mapping.container_id(), mapping.size()) > u64::from(u32::MAX)
            || range_end(mapping.host_id(), mapping.size()) > u64::from(u32::MAX)
        {
            return refuse(here, "the range goes beyond the largest id, 4294967294");
        }
        let overlapping = list[..i].iter().position(|earlier| {
            let (a, b) = (mapping.container_id(), earlier.container_id());
            u64::from(a) < range_end(b, earlier.size())
                && u64::from(b) < range_end(a, mapping.size())
        });
        if let Some(j) = overlapping {
            return refuse(here, format!("container range overlaps {field}[{j}]"));
        }
    }
    Ok(())
}

/// One past the last id of a range, computed without overflow.
fn range_end(first: u32, size: u32) -> u64 {
    u64::from(first) + u64::from(size)
}

/// Offsets are written to `/proc/<pid>/timens_offsets`, which only a new,
/// not yet entered, time namespace accepts, and only for these two clocks.
fn check_time_offsets(linux: &Linux, namespaces: &Namespaces) -> Check {
    let Some(offsets) = linux.time_offsets().as_ref().filter(|o| !o.is_empty()) else {
        return Ok(());
    };
    if !namespaces.is_new(LinuxNamespaceType::Time) {
        return refuse(
            "linux.timeOffsets",
            "time offsets need a new time namespace (a \"time\" entry without a path in linux.namespaces)",
        );
    }
    let mut clocks: Vec<&String> = offsets.keys().collect();
    clocks.sort();
    match clocks
        .into_iter()
        .find(|clock| !matches!(clock.as_str(), "monotonic" | "boottime"))
    {
        Some(clock) => refuse(
            format!("linux.timeOffsets.{clock:?}"),
            "only the \"monotonic\" and \"boottime\" clocks can be offset",
        ),
        None => Ok(()),
    }
}

/// Setting the host name in the host's (or another container's) UTS
/// namespace would rename that machine.
fn check_uts_names(spec: &Spec, namespaces: &Namespaces) -> Check {
    let names = [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ];
    for (field, value) in names {
        if is_set(value) && !namespaces.is_new(LinuxNamespaceType::Uts) {
            return refuse(
                field,
                format!(
                    "setting the {field} needs a new UTS namespace \
                     (a \"uts\" entry without a path in linux.namespaces)"
                ),
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- mounts

fn check_mounts(mounts: &[Mount]) -> Check {
    mounts
        .iter()
        .enumerate()
        .try_for_each(|(i, mount)| check_mount(&format!("mounts[{i}]"), mount))
}

fn check_mount(field: &str, mount: &Mount) -> Check {
    let destination = mount.destination();
    if destination.as_os_str().is_empty() {
        return refuse(format!("{field}.destination"), "empty");
    }
    // A relative destination is taken relative to "/" (runc does the same);
    // ".." could only be meant to climb out of the rootfs, so refuse it
    // outright instead of relying on resolution at mount time.
    if has_parent_component(destination) {
        return refuse(
            format!("{field}.destination"),
            format!("{destination:?} has a \"..\" component"),
        );
    }
    if !is_set(mount.typ()) && !is_bind(mount) {
        return refuse(
            format!("{field}.type"),
            "missing: only bind mounts (options \"bind\" or \"rbind\") may omit the type",
        );
    }
    // config.md: each of uidMappings and gidMappings "MUST be specified along
    // with" the other; checked before the refusal below so that the message
    // names the real fault of such a config.
    match (is_set(mount.uid_mappings()), is_set(mount.gid_mappings())) {
        (true, false) => {
            return refuse(
                format!("{field}.gidMappings"),
                "missing: uidMappings and gidMappings must be given together",
            )
        }
        (false, true) => {
            return refuse(
                format!("{field}.uidMappings"),
                "missing: uidMappings and gidMappings must be given together",
            )
        }
        _ => {}
    }
    // What else idmapped mounts need (a bind, valid ranges, a user
    // namespace when no mapping is given) is decided by plan/idmap.rs.
    Ok(())
}

fn is_bind(mount: &Mount) -> bool {
    mount
        .options()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|o| o == "bind" || o == "rbind")
}

// ---------------------------------------------------------------- devices and paths

/// Device nodes are created in the container's `/dev`; anywhere else they
/// would be a way to plant a device node in, say, `/etc`.
fn check_devices(devices: &[LinuxDevice]) -> Check {
    let mut seen = HashSet::new();
    for (i, device) in devices.iter().enumerate() {
        let path = device.path();
        if !path.is_absolute() {
            return refuse(
                format!("linux.devices[{i}].path"),
                format!("{path:?} is not an absolute path"),
            );
        }
        if !is_under_dev(path) {
            return refuse(
                format!("linux.devices[{i}].path"),
                format!("{path:?} is not under /dev/"),
            );
        }
        if !seen.insert(path) {
            return refuse(
                format!("linux.devices[{i}].path"),
                format!("duplicate device {path:?}"),
            );
        }
        if device.typ() == LinuxDeviceType::A {
            return refuse(
                format!("linux.devices[{i}].type"),
                "\"a\" is not a device type (it is only for linux.resources.devices rules)",
            );
        }
    }
    Ok(())
}

/// `/dev/<something>`, with no `..` that could walk back out.
fn is_under_dev(path: &Path) -> bool {
    let mut components = path.components();
    components.next() == Some(Component::RootDir)
        && components.next() == Some(Component::Normal("dev".as_ref()))
        && components.clone().next().is_some()
        && components.all(|c| matches!(c, Component::Normal(_)))
}

/// Masked and read-only paths are resolved inside the rootfs, which only
/// makes sense for absolute container paths.
fn check_absolute_paths(field: &str, paths: &Option<Vec<String>>) -> Check {
    let paths = paths.as_deref().unwrap_or_default();
    match paths.iter().position(|p| !Path::new(p).is_absolute()) {
        Some(i) => refuse(
            format!("{field}[{i}]"),
            format!("{:?} is not an absolute path", paths[i]),
        ),
        None => Ok(()),
    }
}

const PROPAGATIONS: [&str; 8] = [
    "shared",
    "slave",
    "private",
    "unbindable",
    "rshared",
    "rslave",
    "rprivate",
    "runbindable",
];

fn check_rootfs_propagation(propagation: Option<&str>) -> Check {
    match propagation {
        None | Some("") => Ok(()),
        Some(p) if PROPAGATIONS.contains(&p) => Ok(()),
        Some(p) => refuse(
            "linux.rootfsPropagation",
            format!("{p:?} is not one of {}", PROPAGATIONS.join(", ")),
        ),
    }
}

// ---------------------------------------------------------------- sysctl

/// IPC sysctls that belong to the IPC namespace (ipc_namespaces(7)); with
/// `fs.mqueue.*` this is runc's list.
const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// A sysctl that is not namespaced would change the host for everyone, and
/// one of a joined namespace would change another container's; so each
/// key must belong to a namespace the container creates.
fn check_sysctls(sysctl: Option<&HashMap<String, String>>, namespaces: &Namespaces) -> Check {
    let Some(sysctl) = sysctl else {
        return Ok(());
    };
    // Sorted, so that "first error wins" does not depend on hash order.
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        if let Err(reason) = check_sysctl_key(key, namespaces) {
            return refuse(format!("linux.sysctl.{key:?}"), reason);
        }
    }
    Ok(())
}

fn check_sysctl_key(key: &str, namespaces: &Namespaces) -> Result<(), String> {
    // sysctl(8) accepts "/" as well as "." between components; an empty
    // component (from "..", a leading or doubled separator) could make the
    // /proc/sys path climb out of /proc/sys.
    let name = key.replace('/', ".");
    if name.split('.').any(str::is_empty) {
        return Err("not a valid sysctl name".to_string());
    }
    let Some(typ) = sysctl_namespace(&name) else {
        return Err("sysctl is not namespaced, refusing to set it in a container".to_string());
    };
    let label = match typ {
        LinuxNamespaceType::Ipc => "IPC",
        LinuxNamespaceType::Network => "network",
        _ => "UTS",
    };
    needs_new_namespace(namespaces, typ, label)
}

/// The namespace a sysctl (with `.` separators) belongs to, if any.
pub(crate) fn sysctl_namespace(name: &str) -> Option<LinuxNamespaceType> {
    if IPC_SYSCTLS.contains(&name) || name.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if name.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if name == "kernel.hostname" || name == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

fn needs_new_namespace(
    namespaces: &Namespaces,
    typ: LinuxNamespaceType,
    label: &str,
) -> Result<(), String> {
    // A joined namespace is the container's too (a pod's shared network,
    // the one rootless podman makes for slirp4netns), as runc allows;
    // `create` refuses it only when it is the runtime's own (the host's).
    if namespaces.is_new(typ) || namespaces.is_joined(typ) {
        Ok(())
    } else {
        Err(format!(
            "needs a new {label} namespace (it would change the host)"
        ))
    }
}

// ---------------------------------------------------------------- resources

/// Limits are checked when they are converted to cgroup files (that
/// depends on the host's cgroup version); device rules are checked here.
fn check_resources(resources: Option<&LinuxResources>) -> Check {
    let Some(r) = resources else {
        return Ok(());
    };
    r.devices()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .try_for_each(|(i, rule)| check_device_rule(i, rule))
}

/// The device controller knows `a` (all), `b` and `c`, and the accesses
/// `r`, `w`, `m` (cgroup v1 devices.allow; the same on v2's BPF program).
fn check_device_rule(i: usize, rule: &LinuxDeviceCgroup) -> Check {
    if let Some(typ) = rule.typ() {
        if !matches!(
            typ,
            LinuxDeviceType::A | LinuxDeviceType::B | LinuxDeviceType::C
        ) {
            return refuse(
                format!("linux.resources.devices[{i}].type"),
                format!("\"{}\" is not one of a, b, c", typ.as_str()),
            );
        }
    }
    if let Some(access) = rule.access() {
        if !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            return refuse(
                format!("linux.resources.devices[{i}].access"),
                format!("{access:?} may only contain the letters r, w and m"),
            );
        }
    }
    Ok(())
}

/// The cgroup path is joined to the cgroup mount; `..` would escape it.
fn check_cgroups_path(path: Option<&Path>) -> Check {
    match path {
        Some(path) if has_parent_component(path) => refuse(
            "linux.cgroupsPath",
            format!("{path:?} has a \"..\" component"),
        ),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- not yet

/// Features a later version will support; refusing them beats running a
/// container that is less confined or differently set up than asked.
fn check_unsupported_linux(linux: &Linux) -> Check {
    if is_set(linux.intel_rdt()) {
        return unsupported("linux.intelRdt", "Intel RDT is not supported yet");
    }
    Ok(())
}

/// A hook runs a host (or, for startContainer, container) binary: its
/// path must be absolute (runtime-spec) and a timeout positive.
fn check_hooks(hooks: Option<&Hooks>) -> Check {
    let Some(hooks) = hooks else {
        return Ok(());
    };
    let lists = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (name, list) in lists {
        for (i, hook) in list.as_deref().unwrap_or_default().iter().enumerate() {
            if !hook.path().is_absolute() {
                return refuse(
                    format!("hooks.{name}[{i}].path"),
                    "must be an absolute path",
                );
            }
            if let Some(t) = hook.timeout() {
                if t <= 0 {
                    return refuse(
                        format!("hooks.{name}[{i}].timeout"),
                        format!("{t} is not a positive number of seconds"),
                    );
                }
            }
            for (j, e) in hook.env().as_deref().unwrap_or_default().iter().enumerate() {
                if !e.contains('=') {
                    return refuse(
                        format!("hooks.{name}[{i}].env[{j}]"),
                        format!("{e:?} is not NAME=VALUE"),
                    );
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::{json, Value};

    use super::*;
    use crate::error::FieldErrorKind;

    /// A bundle directory with an empty `rootfs`, removed on drop.
    pub(in crate::spec) struct TempBundle {
        pub(in crate::spec) dir: PathBuf,
    }

    impl TempBundle {
        pub(in crate::spec) fn new() -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let name = format!(
                "cella-spec-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let dir = std::env::temp_dir().join(name);
            fs::create_dir_all(dir.join("rootfs")).expect("create temp bundle");
            TempBundle { dir }
        }
    }

    impl Drop for TempBundle {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }

    /// A minimal config that passes every rule.
    fn good() -> Value {
        json!({
            "ociVersion": "1.2.0",
            "root": { "path": "rootfs" },
            "process": {
                "user": { "uid": 0, "gid": 0 },
                "args": ["true"],
                "env": ["PATH=/bin"],
                "cwd": "/",
                "rlimits": [ { "type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024 } ]
            },
            "hostname": "box",
            "mounts": [ { "destination": "/proc", "type": "proc", "source": "proc" } ],
            "linux": {
                "namespaces": [
                    { "type": "pid" },
                    { "type": "mount" },
                    { "type": "ipc" },
                    { "type": "uts" },
                    { "type": "network" }
                ],
                "resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
                "maskedPaths": ["/proc/kcore"],
                "readonlyPaths": ["/proc/sys"]
            }
        })
    }

    fn check(config: Value) -> Result<(), SpecError> {
        let spec: Spec = serde_json::from_value(config).expect("test config deserializes");
        let bundle = TempBundle::new();
        validate(&spec, &bundle.dir, &bundle.dir.join("config.json"))
    }

    /// Applies `edit` to the good config and expects exactly `field` to be
    /// refused with a reason containing `reason`.
    fn assert_refused(edit: impl FnOnce(&mut Value), field: &str, reason: &str) {
        let mut config = good();
        edit(&mut config);
        match check(config) {
            Err(SpecError::Field(FieldError {
                field: got,
                reason: why,
                ..
            })) => {
                assert_eq!(got, field, "wrong field (reason: {why})");
                assert!(why.contains(reason), "{field}: {why:?} lacks {reason:?}");
            }
            other => panic!("expected {field} to be refused, got {other:?}"),
        }
    }

    fn assert_accepted(edit: impl FnOnce(&mut Value)) {
        let mut config = good();
        edit(&mut config);
        if let Err(err) = check(config) {
            panic!("expected acceptance, got {err}");
        }
    }

    fn push(list: &mut Value, item: Value) {
        list.as_array_mut().expect("a JSON array").push(item);
    }

    fn namespaces(types: &[&str]) -> Value {
        types.iter().map(|t| json!({ "type": t })).collect()
    }

    #[test]
    fn good_config_passes() {
        assert_accepted(|_| {});
    }

    #[test]
    fn error_names_file_and_field() {
        let mut config = good();
        config["process"]["args"] = json!([]);
        let err = check(config).unwrap_err().to_string();
        assert!(err.ends_with("config.json: process.args: empty: nothing to run in the container"));
    }

    #[test]
    fn oci_version() {
        assert_refused(|c| c["ociVersion"] = json!(""), "ociVersion", "missing");
        assert_refused(
            |c| c["ociVersion"] = json!("2.0.0"),
            "ociVersion",
            "not a 1.x",
        );
        assert_refused(
            |c| c["ociVersion"] = json!("0.9.0"),
            "ociVersion",
            "not a 1.x",
        );
        for bad in [
            "1.0", "1", "v1.0.0", "1.0.0-", "1.0.0+", "01.0.0", "1.0.x", "1..0",
        ] {
            assert_refused(
                |c| c["ociVersion"] = json!(bad),
                "ociVersion",
                "not a semantic",
            );
        }
        for ok in [
            "1.0.0",
            "1.0.2-dev",
            "1.1.0-rc.1",
            "1.2.0+build.5",
            "1.10.0",
        ] {
            assert_accepted(|c| c["ociVersion"] = json!(ok));
        }
    }

    #[test]
    fn root() {
        assert_refused(|c| c["root"] = Value::Null, "root", "missing");
        assert_refused(|c| c["root"]["path"] = json!(""), "root.path", "empty");
        assert_refused(
            |c| c["root"]["path"] = json!("nope"),
            "root.path",
            "no such directory",
        );
        assert_refused(
            |c| c["root"]["path"] = json!("/etc/hostname"),
            "root.path",
            "not a directory",
        );
    }

    #[test]
    fn root_path_may_be_absolute() {
        let bundle = TempBundle::new();
        let rootfs = bundle.dir.join("rootfs");
        assert_accepted(|c| c["root"]["path"] = json!(rootfs));
    }

    #[test]
    fn process_basics() {
        assert_refused(|c| c["process"] = Value::Null, "process", "missing");
        assert_refused(
            |c| c["process"]["args"] = json!([]),
            "process.args",
            "empty",
        );
        assert_refused(
            |c| {
                c["process"].as_object_mut().unwrap().remove("args");
            },
            "process.args",
            "empty",
        );
        assert_refused(
            |c| c["process"]["cwd"] = json!("tmp"),
            "process.cwd",
            "not an absolute path",
        );
        assert_refused(
            |c| c["process"]["env"] = json!(["A=1", "B"]),
            "process.env[1]",
            "NAME=VALUE",
        );
        assert_accepted(|c| c["process"]["env"] = json!(["A=", "B=x=y"]));
        assert_refused(
            |c| c["process"]["env"] = json!(["A=1", "=x"]),
            "process.env[1]",
            "empty name",
        );
        assert_refused(
            |c| c["process"]["env"] = json!(["A=1\u{0}2"]),
            "process.env[0]",
            "NUL byte",
        );
        assert_refused(
            |c| c["process"]["user"]["username"] = json!("root"),
            "process.user.username",
            "Windows-only",
        );
        assert_refused(
            |c| c["process"]["commandLine"] = json!("cmd /c dir"),
            "process.commandLine",
            "Windows-only",
        );
    }

    #[test]
    fn rlimits() {
        assert_refused(
            |c| {
                c["process"]["rlimits"] = json!([
                    { "type": "RLIMIT_NOFILE", "soft": 1, "hard": 1 },
                    { "type": "RLIMIT_CORE", "soft": 0, "hard": 0 },
                    { "type": "RLIMIT_NOFILE", "soft": 2, "hard": 2 }
                ])
            },
            "process.rlimits[2]",
            "duplicate rlimit \"RLIMIT_NOFILE\"",
        );
        assert_refused(
            |c| {
                c["process"]["rlimits"] =
                    json!([{ "type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024 }])
            },
            "process.rlimits[0]",
            "soft limit 2048 is above hard limit 1024",
        );
    }

    #[test]
    fn process_features_not_supported() {
        assert_accepted(|c| c["process"]["terminal"] = json!(true));
        assert_accepted(|c| c["process"]["terminal"] = json!(false));
        // Whether the host can apply a profile or label is the plan's
        // decision.
        assert_accepted(|c| c["process"]["apparmorProfile"] = json!("docker-default"));
        assert_accepted(|c| c["process"]["apparmorProfile"] = json!(""));
        assert_accepted(|c| c["process"]["apparmorProfile"] = json!("unconfined"));
        assert_accepted(|c| {
            c["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0")
        });
        // Scheduling and affinity are checked by the plan (plan/tuning.rs).
        assert_accepted(|c| c["process"]["scheduler"] = json!({ "policy": "SCHED_OTHER" }));
        assert_accepted(|c| {
            c["process"]["ioPriority"] = json!({ "class": "IOPRIO_CLASS_BE", "priority": 4 })
        });
        assert_accepted(|c| c["process"]["execCPUAffinity"] = json!({ "initial": "0" }));
    }

    /// What the host or the runtime cannot honour is told apart from a
    /// config that is wrong, so that an embedder can match on it.
    #[test]
    fn unsupported_is_its_own_kind() {
        let mut config = good();
        config["linux"]["intelRdt"] = json!({ "closID": "guaranteed_group" });
        assert!(matches!(check(config), Err(SpecError::Field(e)) if e.is_unsupported()));
        let mut config = good();
        config["process"]["args"] = json!([]);
        assert!(
            matches!(check(config), Err(SpecError::Field(e)) if e.kind == FieldErrorKind::Invalid)
        );
    }

    #[test]
    fn linux_is_required() {
        assert_refused(|c| c["linux"] = Value::Null, "linux", "Linux runtime");
    }

    #[test]
    fn duplicate_namespace() {
        assert_refused(
            |c| c["linux"]["namespaces"] = namespaces(&["pid", "mount", "pid"]),
            "linux.namespaces[2]",
            "duplicate namespace \"pid\"",
        );
        assert_refused(
            |c| {
                c["linux"]["namespaces"] = json!([
                    { "type": "network" },
                    { "type": "network", "path": "/proc/1/ns/net" }
                ])
            },
            "linux.namespaces[1]",
            "duplicate namespace \"network\"",
        );
    }

    #[test]
    fn namespace_path_must_be_absolute() {
        assert_refused(
            |c| c["linux"]["namespaces"][4] = json!({ "type": "network", "path": "proc/1/ns/net" }),
            "linux.namespaces[4].path",
            "not an absolute path",
        );
        assert_accepted(|c| {
            c["linux"]["namespaces"][4] = json!({ "type": "network", "path": "/proc/1/ns/net" })
        });
        // Go writers emit "" for "no path": a new namespace.
        assert_accepted(|c| c["linux"]["namespaces"][3] = json!({ "type": "uts", "path": "" }));
    }

    fn with_user_namespace(c: &mut Value) {
        c["linux"]["namespaces"] = namespaces(&["pid", "mount", "ipc", "uts", "network", "user"]);
        c["linux"]["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
        c["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    }

    #[test]
    fn id_mappings() {
        assert_accepted(with_user_namespace);
        assert_refused(
            |c| {
                with_user_namespace(c);
                c["linux"]["namespaces"] = namespaces(&["pid", "mount", "ipc", "uts", "network"]);
            },
            "linux.uidMappings",
            "mappings need a user namespace",
        );
        assert_refused(
            |c| {
                with_user_namespace(c);
                c["linux"].as_object_mut().unwrap().remove("uidMappings");
            },
            "linux.uidMappings",
            "a new user namespace needs",
        );
        assert_refused(
            |c| {
                with_user_namespace(c);
                c["linux"]["gidMappings"] = json!([]);
            },
            "linux.gidMappings",
            "a new user namespace needs",
        );
        // Joining a user namespace: its mappings are already set.
        assert_accepted(|c| {
            push(
                &mut c["linux"]["namespaces"],
                json!({ "type": "user", "path": "/proc/1/ns/user" }),
            )
        });
        assert_refused(
            |c| {
                with_user_namespace(c);
                c["linux"]["gidMappings"][0]["size"] = json!(0);
            },
            "linux.gidMappings[0]",
            "size is 0",
        );
        assert_refused(
            |c| {
                with_user_namespace(c);
                c["linux"]["uidMappings"] = json!([
                    { "containerID": 0, "hostID": 1000, "size": 1 },
                    { "containerID": 1, "hostID": 100000, "size": 1000 },
                    { "containerID": 1000, "hostID": 200000, "size": 10 }
                ]);
            },
            "linux.uidMappings[2]",
            "container range overlaps linux.uidMappings[1]",
        );
        assert_accepted(|c| {
            with_user_namespace(c);
            c["linux"]["uidMappings"] = json!([
                { "containerID": 1, "hostID": 100000, "size": 1000 },
                { "containerID": 0, "hostID": 1000, "size": 1 }
            ]);
        });
        assert_refused(
            |c| {
                with_user_namespace(c);
                c["linux"]["uidMappings"][0]["containerID"] = json!(u32::MAX - 10);
            },
            "linux.uidMappings[0]",
            "beyond the largest id",
        );
    }

    #[test]
    fn time_offsets() {
        let offsets = json!({ "monotonic": { "secs": 10 }, "boottime": { "secs": 5 } });
        assert_refused(
            |c| c["linux"]["timeOffsets"] = offsets.clone(),
            "linux.timeOffsets",
            "need a new time namespace",
        );
        assert_refused(
            |c| {
                c["linux"]["timeOffsets"] = offsets.clone();
                push(
                    &mut c["linux"]["namespaces"],
                    json!({ "type": "time", "path": "/proc/1/ns/time" }),
                );
            },
            "linux.timeOffsets",
            "need a new time namespace",
        );
        assert_accepted(|c| {
            c["linux"]["timeOffsets"] = offsets.clone();
            push(&mut c["linux"]["namespaces"], json!({ "type": "time" }));
        });
        assert_refused(
            |c| {
                c["linux"]["timeOffsets"] = json!({ "realtime": { "secs": 1 } });
                push(&mut c["linux"]["namespaces"], json!({ "type": "time" }));
            },
            "linux.timeOffsets.\"realtime\"",
            "monotonic",
        );
    }

    #[test]
    fn hostname_and_domainname_need_uts_namespace() {
        let without_uts = namespaces(&["pid", "mount", "ipc", "network"]);
        assert_refused(
            |c| c["linux"]["namespaces"] = without_uts.clone(),
            "hostname",
            "needs a new UTS namespace",
        );
        assert_refused(
            |c| c["linux"]["namespaces"][3]["path"] = json!("/proc/1/ns/uts"),
            "hostname",
            "needs a new UTS namespace",
        );
        assert_refused(
            |c| {
                c["hostname"] = json!("");
                c["domainname"] = json!("example.org");
                c["linux"]["namespaces"] = without_uts.clone();
            },
            "domainname",
            "needs a new UTS namespace",
        );
        assert_accepted(|c| {
            c.as_object_mut().unwrap().remove("hostname");
            c["linux"]["namespaces"] = without_uts.clone();
        });
    }

    #[test]
    fn mounts() {
        let mount = |c: &mut Value, m: Value| push(&mut c["mounts"], m);
        assert_refused(
            |c| mount(c, json!({ "destination": "", "type": "tmpfs" })),
            "mounts[1].destination",
            "empty",
        );
        assert_refused(
            |c| {
                mount(
                    c,
                    json!({ "destination": "/tmp/../../etc", "type": "tmpfs" }),
                )
            },
            "mounts[1].destination",
            "\"..\"",
        );
        assert_accepted(|c| mount(c, json!({ "destination": "tmp", "type": "tmpfs" })));
        assert_refused(
            |c| {
                mount(
                    c,
                    json!({ "destination": "/data", "source": "/srv", "options": ["ro"] }),
                )
            },
            "mounts[1].type",
            "only bind mounts",
        );
        assert_accepted(|c| {
            mount(
                c,
                json!({ "destination": "/data", "source": "/srv", "options": ["rbind"] }),
            )
        });
        assert_accepted(|c| {
            mount(
                c,
                json!({ "destination": "/data", "source": "/srv", "options": ["bind", "ro"] }),
            )
        });
        // Unknown options are mount data for the kernel, not an error here.
        assert_accepted(|c| {
            mount(
                c,
                json!({ "destination": "/tmp", "type": "tmpfs", "options": ["whatever=1"] }),
            )
        });
        assert_accepted(|c| {
            mount(
                c,
                json!({
                    "destination": "/data", "source": "/srv", "options": ["bind", "idmap"],
                    "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }],
                    "gidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }]
                }),
            )
        });
        assert_refused(
            |c| {
                mount(
                    c,
                    json!({
                        "destination": "/data", "source": "/srv", "options": ["bind"],
                        "gidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }]
                    }),
                )
            },
            "mounts[1].uidMappings",
            "missing: uidMappings and gidMappings must be given together",
        );
        assert_refused(
            |c| {
                mount(
                    c,
                    json!({
                        "destination": "/data", "source": "/srv", "options": ["bind", "idmap"],
                        "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }]
                    }),
                )
            },
            "mounts[1].gidMappings",
            "missing: uidMappings and gidMappings must be given together",
        );
    }

    #[test]
    fn devices() {
        let dev_null = json!({ "path": "/dev/null", "type": "c", "major": 1, "minor": 3 });
        assert_accepted(|c| {
            c["linux"]["devices"] = json!([dev_null, { "path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200 }])
        });
        assert_refused(
            |c| c["linux"]["devices"] = json!([{ "path": "dev/null", "type": "c" }]),
            "linux.devices[0].path",
            "not an absolute path",
        );
        for outside in ["/etc/null", "/dev", "/dev/", "/dev/../etc/x", "/devices/x"] {
            assert_refused(
                |c| c["linux"]["devices"] = json!([dev_null, { "path": outside, "type": "c" }]),
                "linux.devices[1].path",
                "is not under /dev/",
            );
        }
        assert_refused(
            |c| c["linux"]["devices"] = json!([dev_null, { "path": "/dev//null", "type": "b" }]),
            "linux.devices[1].path",
            "duplicate device",
        );
        assert_refused(
            |c| c["linux"]["devices"] = json!([{ "path": "/dev/x", "type": "a" }]),
            "linux.devices[0].type",
            "not a device type",
        );
    }

    #[test]
    fn masked_and_readonly_paths() {
        assert_refused(
            |c| c["linux"]["maskedPaths"] = json!(["/proc/kcore", "proc/keys"]),
            "linux.maskedPaths[1]",
            "not an absolute path",
        );
        assert_refused(
            |c| c["linux"]["readonlyPaths"] = json!(["sys"]),
            "linux.readonlyPaths[0]",
            "not an absolute path",
        );
    }

    #[test]
    fn rootfs_propagation() {
        for ok in ["", "shared", "rslave", "private", "runbindable"] {
            assert_accepted(|c| c["linux"]["rootfsPropagation"] = json!(ok));
        }
        assert_refused(
            |c| c["linux"]["rootfsPropagation"] = json!("slaves"),
            "linux.rootfsPropagation",
            "is not one of shared, slave",
        );
    }

    #[test]
    fn sysctl() {
        let set = |c: &mut Value, key: &str| c["linux"]["sysctl"] = json!({ key: "1" });
        for ok in [
            "kernel.shmmax",
            "fs.mqueue.msg_max",
            "net.ipv4.ip_forward",
            "net/ipv4/conf/eth0.100/forwarding",
            "kernel.domainname",
        ] {
            assert_accepted(|c| set(c, ok));
        }
        assert_refused(
            |c| set(c, "vm.swappiness"),
            "linux.sysctl.\"vm.swappiness\"",
            "sysctl is not namespaced, refusing to set it in a container",
        );
        assert_refused(
            |c| set(c, "net/../../vm/swappiness"),
            "linux.sysctl.\"net/../../vm/swappiness\"",
            "not a valid sysctl name",
        );
        assert_refused(
            |c| {
                set(c, "net.ipv4.ip_forward");
                c["linux"]["namespaces"] = namespaces(&["pid", "mount", "ipc", "uts"]);
            },
            "linux.sysctl.\"net.ipv4.ip_forward\"",
            "needs a new network namespace",
        );
        // A joined network namespace is the container's (a pod's, the one
        // rootless podman makes for slirp4netns): create checks it is not
        // the runtime's own.
        assert_accepted(|c| {
            set(c, "net.ipv4.ip_forward");
            c["linux"]["namespaces"][4]["path"] = json!("/proc/1/ns/net");
        });
        assert_refused(
            |c| {
                set(c, "kernel.msgmax");
                c["linux"]["namespaces"] = namespaces(&["pid", "mount", "uts", "network"]);
            },
            "linux.sysctl.\"kernel.msgmax\"",
            "needs a new IPC namespace",
        );
        assert_refused(
            |c| {
                set(c, "kernel.hostname");
                c.as_object_mut().unwrap().remove("hostname");
                c["linux"]["namespaces"] = namespaces(&["pid", "mount", "ipc", "network"]);
            },
            "linux.sysctl.\"kernel.hostname\"",
            "needs a new UTS namespace",
        );
    }

    #[test]
    fn sysctl_errors_are_deterministic() {
        let mut config = good();
        config["linux"]["sysctl"] = json!({ "vm.b": "1", "vm.a": "1", "vm.c": "1" });
        for _ in 0..5 {
            let err = check(config.clone()).unwrap_err().to_string();
            assert!(err.contains("linux.sysctl.\"vm.a\""), "{err}");
        }
    }

    #[test]
    fn device_cgroup_rules() {
        assert_accepted(|c| {
            c["linux"]["resources"]["devices"] = json!([
                { "allow": false },
                { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw" },
                { "allow": true, "type": "b", "access": "m" },
                { "allow": true, "type": "a", "access": "" }
            ])
        });
        assert_refused(
            |c| c["linux"]["resources"]["devices"][0]["type"] = json!("u"),
            "linux.resources.devices[0].type",
            "not one of a, b, c",
        );
        assert_refused(
            |c| c["linux"]["resources"]["devices"][0]["access"] = json!("rwx"),
            "linux.resources.devices[0].access",
            "r, w and m",
        );
    }

    #[test]
    fn cgroups_path() {
        assert_accepted(|c| c["linux"]["cgroupsPath"] = json!("/cella/box"));
        assert_accepted(|c| c["linux"]["cgroupsPath"] = json!("system.slice:cella:box"));
        assert_refused(
            |c| c["linux"]["cgroupsPath"] = json!("/cella/../../escape"),
            "linux.cgroupsPath",
            "\"..\"",
        );
    }

    #[test]
    fn linux_features_not_supported() {
        assert_accepted(|c| c["linux"]["seccomp"] = json!({ "defaultAction": "SCMP_ACT_ALLOW" }));
        assert_refused(
            |c| c["linux"]["intelRdt"] = json!({ "closID": "guaranteed_group" }),
            "linux.intelRdt",
            "not supported yet",
        );
        assert_accepted(|c| {
            c["linux"]["memoryPolicy"] = json!({ "mode": "MPOL_BIND", "nodes": "0" })
        });
        assert_accepted(|c| c["linux"]["personality"] = json!({ "domain": "LINUX32" }));
        // Planned (plan/net_devices.rs), not refused here.
        assert_accepted(|c| c["linux"]["netDevices"] = json!({ "eth1": { "name": "eth0" } }));
        assert_accepted(|c| {
            c["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0")
        });
        assert_accepted(|c| {
            c["linux"]["netDevices"] = json!({});
            c["linux"]["mountLabel"] = json!("");
        });
    }

    #[test]
    fn hooks() {
        assert_accepted(|c| {
            c["hooks"] = json!({ "poststop": [{ "path": "/bin/true", "timeout": 5 }] })
        });
        assert_refused(
            |c| c["hooks"] = json!({ "poststop": [{ "path": "bin/true" }] }),
            "hooks.poststop[0].path",
            "must be an absolute path",
        );
        assert_refused(
            |c| c["hooks"] = json!({ "createRuntime": [{ "path": "/bin/true", "timeout": 0 }] }),
            "hooks.createRuntime[0].timeout",
            "not a positive number",
        );
        assert_accepted(|c| c["hooks"] = json!({ "prestart": [] }));
    }

    #[test]
    fn everything_else_passes() {
        assert_accepted(|c| {
            c["annotations"] = json!({ "org.example": "x" });
            c["process"]["oomScoreAdj"] = json!(100);
            c["process"]["noNewPrivileges"] = json!(true);
            c["process"]["capabilities"] = json!({ "bounding": ["CAP_KILL"] });
            push(&mut c["linux"]["namespaces"], json!({ "type": "cgroup" }));
        });
    }
}
