//! The pure planning layer: a validated spec plus the command-line options
//! become a [`Plan`], plain data that the executor replays with syscalls.
//! Nothing here needs root or touches the system, so every decision can be
//! unit-tested and printed (`cella plan`).

mod cgroup;
mod devices;
mod idmap;
mod lsm;
mod mounts;
mod namespaces;
mod net_devices;
pub mod notify;
mod process;
mod resources;
pub mod systemd;
mod tuning;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;

pub use cgroup::{
    wanted_cgroup, CgroupFacts, CgroupMode, CgroupPlacement, CgroupPlan, CgroupUse, PlacedDir,
    SystemdUserFacts,
};
pub use devices::{DeviceNode, DevicePlan, NodeKind};
pub use idmap::{Idmap, IdmapSource};
pub use lsm::LsmHost;
pub use mounts::{
    attr, MountKind, MountOp, MountPlan, MsFlags, RecursiveAttrs,
    KNOWN_OPTIONS as KNOWN_MOUNT_OPTIONS,
};
pub use namespaces::{ClockOffset, IdRange, MapWriter, NamespaceKind, NamespacePlan};
pub use net_devices::NetDeviceMove;
pub use notify::NotifyPlan;
pub(crate) use process::{exec_env, home_of};
pub use process::{CapabilitySets, ProcessPlan, Rlimit};
pub use resources::{blkio_weight_to_io_weight, cgroup_writes, shares_to_weight};
pub use tuning::{ExecAffinity, MemoryPolicy, SchedAttr};

pub use crate::cgroup_types::DeviceRule;

use crate::error::{Error, FieldError, InUse};
use crate::spec::Bundle;

/// Compiles `linux.seccomp`. The runtime hands a notify listener its fd
/// with `sendmsg` after the filter is loaded: a profile that notifies on
/// `sendmsg` would wait forever for an agent that never gets the fd. Also
/// compiles a stored profile again (for `exec`).
pub fn compile_seccomp(
    s: &oci_spec::runtime::LinuxSeccomp,
) -> Result<crate::seccomp::Compiled, FieldError> {
    for (i, rule) in s.syscalls().iter().flatten().enumerate() {
        if rule.action() == oci_spec::runtime::LinuxSeccompAction::ScmpActNotify
            && rule.names().iter().any(|n| n == "sendmsg")
        {
            return Err(FieldError::invalid(
                format!("linux.seccomp.syscalls[{i}]"),
                "SCMP_ACT_NOTIFY on sendmsg: the runtime needs sendmsg to hand the listener its fd",
            ));
        }
    }
    Ok(crate::seccomp::compile(s)?)
}

/// Device cgroup rules for `update`: the new rules, with the defaults and
/// the container's own nodes (from its state) kept allowed.
pub fn device_rules_for_update(
    config: &[oci_spec::runtime::LinuxDeviceCgroup],
    nodes: &[DeviceNode],
) -> Result<Vec<DeviceRule>, FieldError> {
    devices::cgroup_rules(config, nodes)
}

/// What an exec'd process gets from its container: the config's process
/// (its AppArmor profile, SELinux label, scheduler, I/O priority and
/// `execCPUAffinity` for a process that names none of its own, as runc
/// does: an `exec` must not leave the container's confinement by leaving a
/// field out), and the container-wide personality and memory policy.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContainerDefaults<'a> {
    /// config.json's `process`.
    pub process: Option<&'a oci_spec::runtime::Process>,
    /// `linux.personality`.
    pub personality: Option<&'a oci_spec::runtime::LinuxPersonality>,
    /// `linux.memoryPolicy`.
    pub memory_policy: Option<&'a oci_spec::runtime::LinuxMemoryPolicy>,
}

/// Plans a process for `exec` (fields of `process.json` are named without
/// a prefix; those it takes from the container are named as in
/// config.json). `host`: the LSMs the host has enabled.
pub fn plan_exec_process(
    p: &oci_spec::runtime::Process,
    preserve_fds: u32,
    container: ContainerDefaults<'_>,
    host: LsmHost,
) -> Result<ProcessPlan, FieldError> {
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(FieldError::invalid("args", "the process needs a command"));
    }
    let mut plan = process::plan_process(p, "", preserve_fds, false, host)?;
    let own = container.process;
    let inherited = |f: &str| {
        format!("process.{f} (the container's, which an exec'd process without one gets)")
    };
    if plan.apparmor_profile.is_none() {
        let profile = own.and_then(|c| c.apparmor_profile().as_deref());
        plan.apparmor_profile =
            lsm::apparmor_profile(&inherited("apparmorProfile"), profile, host)?;
    }
    if plan.selinux_label.is_none() {
        let label = own.and_then(|c| c.selinux_label().as_deref());
        plan.selinux_label = lsm::selinux_context(&inherited("selinuxLabel"), label, host)?;
    }
    if let (None, Some(s)) = (&plan.scheduler, own.and_then(|c| c.scheduler().as_ref())) {
        plan.scheduler = Some(tuning::scheduler("process.", s)?);
    }
    if let (None, Some(c)) = (plan.io_priority, own) {
        plan.io_priority = tuning::io_priority("process.", c)?;
    }
    plan.exec_affinity = Some(match p.exec_cpu_affinity() {
        Some(a) => tuning::exec_affinity("", Some(a))?,
        None => {
            tuning::exec_affinity("process.", own.and_then(|c| c.exec_cpu_affinity().as_ref()))?
        }
    });
    plan.personality = container.personality.map(tuning::personality).transpose()?;
    plan.memory_policy = container
        .memory_policy
        .map(tuning::memory_policy)
        .transpose()?;
    Ok(plan)
}

/// Options of `create`/`run` that shape the plan.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// `--no-pivot`: `MS_MOVE` + `chroot` instead of `pivot_root`.
    pub no_pivot: bool,
    /// `--no-new-keyring`: keep the caller's session keyring.
    pub no_new_keyring: bool,
    /// `--preserve-fds N`.
    pub preserve_fds: u32,
    /// `--pidfd-socket PATH`: a unix socket that gets a pidfd of the init
    /// (runc 1.2: an `SCM_RIGHTS` message whose data is `standard`).
    pub pidfd_socket: Option<PathBuf>,
    /// Where the terminal of a `process.terminal` container goes.
    pub console: Console,
    /// Socket-activation fds (`LISTEN_FDS` of the caller, systemd's
    /// protocol): passed as fds 3.. before the `--preserve-fds` ones, with
    /// `LISTEN_FDS=N` and `LISTEN_PID=1` added to the environment.
    pub listen_fds: u32,
    /// Rootless (runc's `--rootless`, resolved): a cgroup the caller may not
    /// write (not delegated to it) is skipped instead of being an error.
    pub rootless: bool,
    /// Where the container's cgroup goes, or that it gets none.
    pub cgroups: CgroupSetting,
    /// Who makes the cgroup: the runtime, or systemd (`--systemd-cgroup`).
    pub cgroup_driver: CgroupDriver,
    /// sd_notify proxying (runc's, asked for by `NOTIFY_SOCKET` in the
    /// runtime's environment): the container gets its state directory's
    /// `notify` read-only at `/run/notify` and
    /// `NOTIFY_SOCKET=/run/notify/notify.sock` ([`notify`]).
    pub notify_socket: bool,
}

/// Who makes a container's cgroup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CgroupDriver {
    /// The runtime makes the directories and writes the files (runc's
    /// default, "cgroupfs").
    #[default]
    Cgroupfs,
    /// systemd makes it, as a transient scope asked for over D-Bus, with
    /// the limits as unit properties as well as files; the path is
    /// `slice:prefix:name` ([`systemd`]). cgroup v2 hosts only, as root.
    Systemd,
}

/// Where a container's cgroup goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CgroupSetting {
    /// Where `linux.cgroupsPath` says (absolute: from each hierarchy's root;
    /// relative: below the caller's own cgroup, or on cgroup v2 below its
    /// parent), or the container id there when it is absent (runc's rules).
    #[default]
    FromConfig,
    /// At this path instead of `linux.cgroupsPath`, read the same way: an
    /// embedder running inside a container or a CI job points it at a
    /// subtree it was given (`/ci-job-42/containers/x`, or a relative path
    /// below its own cgroup).
    Path(PathBuf),
    /// No cgroup at all: the container's processes stay in the caller's
    /// cgroups. A config with `linux.resources` limits or device rules is
    /// then refused ([`crate::Error::Unsupported`]), as are `pause`,
    /// `resume`, `update` and `stats`; the container needs a pid namespace
    /// of its own (its processes are found and killed through it).
    /// Without a device cgroup nothing but the kernel's own checks limits
    /// device access: a container keeping `CAP_MKNOD` in the host's user
    /// namespace could make and open any device node.
    Disabled,
}

/// Where a container's terminal (pty master) goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Console {
    /// Nowhere: a config asking for a terminal is refused.
    #[default]
    None,
    /// Sent over this unix socket (`--console-socket`).
    Socket(PathBuf),
    /// Kept by the runtime, which relays it to its own stdio (a foreground
    /// `run` or `exec` without a console socket).
    Relay,
}

/// The facts about the host that shape a plan, read before planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFacts {
    /// The host's cgroups, and what is at the container's cgroup (which
    /// also says whether limits are written as cgroup v1 or v2 files).
    pub cgroups: CgroupFacts,
    /// Who runs the runtime (uid, user namespace, capabilities).
    pub caller: crate::rootless::Caller,
    /// Whether the kernel has `/proc/kcore` (`CONFIG_PROC_KCORE`): runc
    /// links `/dev/core` to it only then.
    pub proc_kcore: bool,
    /// The LSMs the host has enabled, read only for a config that asks
    /// for a profile or a label (`facts::gather`).
    pub lsm: LsmHost,
    /// The container's state directory (`<root>/<id>`), when the plan is
    /// made by a runtime that keeps one: sd_notify proxying mounts a
    /// directory of it.
    pub state_dir: Option<PathBuf>,
}

/// Everything the executor will do, decided up front.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Container id.
    pub id: String,
    /// The bundle directory (absolute).
    #[serde(serialize_with = "crate::path_json::lossy")]
    pub bundle: PathBuf,
    /// `ociVersion` of the config.
    pub oci_version: String,
    /// The root filesystem (absolute).
    #[serde(serialize_with = "crate::path_json::lossy")]
    pub rootfs: PathBuf,
    /// Remount the root read-only at the end.
    pub root_readonly: bool,
    /// Namespaces.
    pub namespaces: NamespacePlan,
    /// `linux.netDevices`: host devices moved into the network namespace.
    pub net_devices: Vec<NetDeviceMove>,
    /// Mounts.
    pub mounts: MountPlan,
    /// Device nodes.
    pub devices: DevicePlan,
    /// Cgroup placement.
    pub cgroup: CgroupPlan,
    /// The container process.
    pub process: ProcessPlan,
    /// Hostname of a new UTS namespace.
    pub hostname: Option<String>,
    /// Domain name of a new UTS namespace.
    pub domainname: Option<String>,
    /// `linux.sysctl`, sorted by key.
    pub sysctl: BTreeMap<String, String>,
    /// Paths made unreadable.
    pub masked_paths: Vec<PathBuf>,
    /// Paths made read-only.
    pub readonly_paths: Vec<PathBuf>,
    /// Annotations of the config, for the state.
    pub annotations: BTreeMap<String, String>,
    /// Hooks by lifecycle point.
    pub hooks: crate::hooks::HookPlan,
    /// The compiled seccomp filter.
    pub seccomp: Option<crate::seccomp::Compiled>,
    /// sd_notify proxying, when asked for (its mount is in `mounts`, its
    /// variable in the process's environment).
    pub notify: Option<NotifyPlan>,
    /// What the runtime skipped and should say so (unknown capability and
    /// syscall names, capabilities it cannot grant).
    pub warnings: Vec<String>,
}

/// Why a configuration cannot be planned, before the file is attached.
enum Refusal {
    /// A field is refused.
    Field(FieldError),
    /// The cgroup `field` chooses is not free for a container.
    CgroupInUse { field: String, cause: InUse },
}

impl From<FieldError> for Refusal {
    fn from(e: FieldError) -> Self {
        Refusal::Field(e)
    }
}

/// Compiles a loaded bundle into a plan for container `id` on a host. The
/// errors are those `create` would give: [`Error::InvalidConfig`],
/// [`Error::Unsupported`] and [`Error::CgroupInUse`].
pub fn compile(
    bundle: &Bundle,
    id: &str,
    opts: &CreateOptions,
    host: &HostFacts,
) -> Result<Plan, Error> {
    compile_inner(bundle, id, opts, host).map_err(|r| match r {
        Refusal::Field(e) => e.in_file(&bundle.config_path).into(),
        Refusal::CgroupInUse { field, cause } => Error::CgroupInUse {
            file: bundle.config_path.clone(),
            field,
            cause,
        },
    })
}

fn compile_inner(
    bundle: &Bundle,
    id: &str,
    opts: &CreateOptions,
    host: &HostFacts,
) -> Result<Plan, Refusal> {
    let spec = &bundle.spec;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| FieldError::invalid("root", "is required"))?;
    let rootfs = bundle.dir.join(root.path());
    let namespaces = namespaces::plan(spec, &host.caller)?;
    let net_devices = net_devices::plan(spec, &namespaces, &host.caller)?;
    let devices = devices::plan(spec, namespaces.in_user_namespace(), host.proc_kcore)?;
    let limits = cgroup::limits(spec, id, host, opts, devices.cgroup_rules.clone())?;
    let linux = spec.linux().as_ref();
    let seccomp = linux
        .and_then(|l| l.seccomp().as_ref())
        .map(compile_seccomp)
        .transpose()?;
    let mount_label = lsm::selinux_context(
        "linux.mountLabel",
        linux.and_then(|l| l.mount_label().as_deref()),
        host.lsm,
    )?;
    let idmap_host = idmap::IdmapHost {
        container_userns: namespaces.in_user_namespace(),
        privileged: host.caller.privileged,
    };
    let mut mounts = mounts::plan(spec, &bundle.dir, opts.no_pivot, mount_label, idmap_host)?;
    // What loading left out (unknown capability names), then what planning
    // leaves out (capabilities this runtime cannot grant), then seccomp's.
    let mut warnings = bundle.warnings.clone();
    let mut process = plan_process(spec, opts, host, &namespaces, &mut warnings)?;
    let notify = opts
        .notify_socket
        .then(|| add_notify(spec, bundle, host, idmap_host, &mut mounts, &mut process))
        .transpose()?;
    let (masked_paths, readonly_paths) = masked_and_readonly(linux)?;
    // Last: what the config asks for is refused before what the host's
    // cgroups do not allow.
    let cgroup = cgroup::place(
        limits,
        &host.cgroups,
        namespaces.creates(NamespaceKind::Pid),
    )?;
    warnings.extend(
        seccomp
            .iter()
            .flat_map(|c| c.warnings.iter().map(|w| w.to_string())),
    );
    Ok(Plan {
        id: id.to_string(),
        bundle: bundle.dir.clone(),
        oci_version: spec.version().clone(),
        rootfs,
        root_readonly: root.readonly().unwrap_or(false),
        mounts,
        devices,
        cgroup,
        process,
        hostname: nonempty(spec.hostname()),
        domainname: nonempty(spec.domainname()),
        sysctl: sorted(linux.and_then(|l| l.sysctl().as_ref())),
        masked_paths,
        readonly_paths,
        annotations: sorted(spec.annotations().as_ref()),
        hooks: crate::hooks::HookPlan::from_spec(spec.hooks().as_ref()),
        warnings,
        seccomp,
        notify,
        namespaces,
        net_devices,
    })
}

/// sd_notify proxying's mount (after the config's, as runc appends it) and
/// variable (last: it wins over one the config sets).
fn add_notify(
    spec: &oci_spec::runtime::Spec,
    bundle: &Bundle,
    host: &HostFacts,
    idmap_host: idmap::IdmapHost,
    mounts: &mut MountPlan,
    process: &mut ProcessPlan,
) -> Result<NotifyPlan, FieldError> {
    let index = spec.mounts().as_ref().map_or(0, Vec::len);
    let state_dir = host.state_dir.as_deref();
    let (notify, op, env) = notify::plan(state_dir, index, &bundle.dir, idmap_host)?;
    mounts.ops.push(op);
    process.env.push(env);
    Ok(notify)
}

/// `linux.maskedPaths` and `linux.readonlyPaths`, in that order.
fn masked_and_readonly(
    linux: Option<&oci_spec::runtime::Linux>,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>), FieldError> {
    let masked = container_paths(
        "linux.maskedPaths",
        linux.and_then(|l| l.masked_paths().as_ref()),
    )?;
    let readonly = container_paths(
        "linux.readonlyPaths",
        linux.and_then(|l| l.readonly_paths().as_ref()),
    )?;
    Ok((masked, readonly))
}

/// A list of container paths, each made absolute.
fn container_paths(field: &str, list: Option<&Vec<String>>) -> Result<Vec<PathBuf>, FieldError> {
    list.into_iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| mounts::container_path(&format!("{field}[{i}]"), p.as_ref()))
        .collect()
}

/// A string map of the config, sorted by key (the plan prints the same for
/// the same config).
fn sorted(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A string that is given and not empty.
fn nonempty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.is_empty())
}

/// The container's process, with the fds and the terminal `create` is
/// given.
fn plan_process(
    spec: &oci_spec::runtime::Spec,
    opts: &CreateOptions,
    host: &HostFacts,
    namespaces: &NamespacePlan,
    warnings: &mut Vec<String>,
) -> Result<ProcessPlan, FieldError> {
    let mut process = process::plan(
        spec,
        opts.listen_fds + opts.preserve_fds,
        !opts.no_new_keyring,
        &host.caller,
        host.lsm,
        warnings,
    )?;
    let linux = spec.linux().as_ref();
    process.personality = linux
        .and_then(|l| l.personality().as_ref())
        .map(tuning::personality)
        .transpose()?;
    process.memory_policy = linux
        .and_then(|l| l.memory_policy().as_ref())
        .map(tuning::memory_policy)
        .transpose()?;
    // Not applied to the init (runtime-spec), but checked now: exec'd
    // processes get it.
    tuning::exec_affinity(
        "process.",
        spec.process()
            .as_ref()
            .and_then(|p| p.exec_cpu_affinity().as_ref()),
    )?;
    if opts.listen_fds > 0 {
        process
            .env
            .retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        process.env.push(format!("LISTEN_FDS={}", opts.listen_fds));
        process.env.push("LISTEN_PID=1".to_string());
    }
    if namespaces.gid_map_writer == Some(MapWriter::SelfOnly) && !process.additional_gids.is_empty()
    {
        return Err(FieldError::invalid(
            "process.user.additionalGids",
            "an unprivileged runtime writing the gid map itself must deny setgroups(2) in the \
             container, so it cannot have supplementary groups; map the groups through newgidmap \
             (several linux.gidMappings ranges from /etc/subgid)",
        ));
    }
    if process.terminal && opts.console == Console::None {
        return Err(FieldError::invalid(
            "process.terminal",
            "a terminal needs --console-socket (or a foreground run) to hand its master to",
        ));
    }
    if !process.terminal && matches!(opts.console, Console::Socket(_)) {
        return Err(FieldError::invalid(
            "process.terminal",
            "--console-socket was given but the process asks for no terminal",
        ));
    }
    Ok(process)
}

#[cfg(test)]
mod tests;
