//! The spec sentence each test checks, by test name: `document#section: sentence`, quoting
//! runtime-spec 1.2 (`runtime.md`, `config.md`, `config-linux.md`, `features.md`) or naming
//! runc's documented command line where the spec says nothing (the CLI is not in the spec).

/// `(test name, spec reference)`; a name ending in `*` covers every test it is a prefix of
/// (the tests made from a corpus).
const REFS: &[(&str, &str)] = &[
    ("lifecycle.create_state_created", "runtime.md#lifecycle step 2: \"While the resources requested in the config.json MUST be created, the user-specified program (from process) MUST NOT be run at this time.\""),
    ("lifecycle.start_running", "runtime.md#start: \"This operation MUST run the user-specified program as specified by process.\""),
    ("lifecycle.kill_sigkill_stopped", "runtime.md#kill: \"This operation MUST send the specified signal to the container process.\""),
    ("lifecycle.delete_removes", "runtime.md#delete: \"Deleting a container MUST delete the resources that were created during the create step.\""),
    ("lifecycle.run_exit_code", "runc CLI (not in runtime-spec): `run` exits with the container process's exit status"),
    ("lifecycle.run_signal_exit_code", "runc CLI (not in runtime-spec): `run` exits with 128+N for a process killed by signal N"),
    ("lifecycle.start_twice_fails", "runtime.md#start: \"Attempting to start a container that is not created MUST have no effect on the container and MUST generate an error.\""),
    ("lifecycle.kill_stopped_fails", "runtime.md#kill: \"Attempting to send a signal to a container that is neither created nor running MUST have no effect on the container and MUST generate an error.\""),
    ("lifecycle.delete_running_fails_force_ok", "runtime.md#delete: \"Attempting to delete a container that is not stopped MUST have no effect on the container and MUST generate an error.\""),
    ("lifecycle.create_duplicate_id_fails", "runtime.md#create: \"If the ID provided is not unique across all containers within the scope of the runtime, or is not valid in any other way, the implementation MUST generate an error and a new container MUST NOT be created.\""),
    ("lifecycle.invalid_ids_rejected", "runtime.md#create: \"If the ID provided is not unique ... or is not valid in any other way, the implementation MUST generate an error and a new container MUST NOT be created.\""),
    ("lifecycle.state_fields", "runtime.md#state: \"ociVersion, id, status, pid (REQUIRED when status is created or running on Linux), bundle (the absolute path to the container's bundle directory)\""),
    ("lifecycle.state_missing_fails", "runtime.md#query-state: \"Attempting to query a container that does not exist MUST generate an error.\""),
    ("lifecycle.delete_force_missing_ok", "runc CLI (not in runtime-spec): `delete --force` of a missing container succeeds"),
    ("lifecycle.list_formats", "runc CLI (not in runtime-spec): `list` table, `--format json`, `-q`"),
    ("lifecycle.output_formats_as_runc", "runc CLI (not in runtime-spec): `state` and `list --format json` objects as runc prints them"),
    ("lifecycle.kill_signal_spellings", "runtime.md#kill: \"kill <container-id> <signal>\" (runc CLI: a signal by name, SIG-name or number)"),
    ("lifecycle.kill_all", "runc CLI (not in runtime-spec): `kill --all` signals every process of the container"),
    ("lifecycle.run_detach", "runc CLI (not in runtime-spec): `run --detach`"),
    ("lifecycle.pid_file", "runc CLI (not in runtime-spec): `create --pid-file` holds the container process's pid"),
    ("lifecycle.spec_command", "runc CLI (not in runtime-spec): `spec --bundle` writes a valid config.json"),
    ("lifecycle.log_json", "runc CLI (not in runtime-spec): `--log FILE --log-format json` lines with level, msg, time"),
    ("lifecycle.no_new_keyring", "runc CLI (not in runtime-spec): a new session keyring per container unless `--no-new-keyring`"),
    ("lifecycle.start_after_init_died", "runtime.md#lifecycle step 10: \"The container process exits. This MAY happen due to erroring out, exiting, crashing or the runtime's kill operation being invoked.\" (state stopped, start errors)"),
    ("lifecycle.run_forwards_signals", "runc CLI (not in runtime-spec): a foreground `run` forwards signals to the container process"),
    ("lifecycle.config_changes_after_create_ignored", "runtime.md#lifecycle step 2: \"Any updates to config.json after this step MUST NOT affect the container.\""),
    ("lifecycle.start_stopped_fails", "runtime.md#start: \"Attempting to start a container that is not created MUST have no effect on the container and MUST generate an error.\""),
    ("lifecycle.kill_created", "runtime.md#kill: \"Attempting to send a signal to a container that is neither created nor running MUST have no effect\" (a created one MUST get the signal: \"This operation MUST send the specified signal to the container process.\")"),
    ("lifecycle.delete_keeps_foreign_resources", "runtime.md#delete: \"Note that resources associated with the container, but not created by this container, MUST NOT be deleted.\""),
    ("lifecycle.missing_id_errors", "runtime.md#operations: state, start, kill and delete: \"This operation MUST generate an error if it is not provided the container ID.\""),
    ("lifecycle.no_process_fails", "runtime.md#start: \"This operation MUST generate an error if process was not set.\""),
    ("lifecycle.state_annotations", "runtime.md#state: \"annotations (map, OPTIONAL) contains the list of annotations associated with the container.\""),
    ("lifecycle.id_reusable_after_delete", "runtime.md#delete: \"Once a container is deleted its ID MAY be used by a subsequent container.\""),
    ("namespaces.net_devices", "config-linux.md#network-devices: linux.netDevices moves each named host network device into the container's network namespace (under its new name) / runtime.md#create: \"If the runtime cannot apply a property as specified in the configuration, it MUST generate an error\""),
    ("namespaces.pid_ns_init_is_1", "config-linux.md#namespaces: \"pid processes inside the container will only be able to see other processes inside the same container or inside the same pid namespace.\""),
    ("namespaces.new_namespaces_differ", "config-linux.md#namespaces: \"If a namespace type is specified without a path, the runtime MUST create a new namespace of that type.\""),
    ("namespaces.absent_namespaces_shared", "config-linux.md#namespaces: \"If a namespace type is not specified in the namespaces array, the container MUST inherit the runtime namespace of that type.\""),
    ("namespaces.hostname_domainname", "config.md#hostname, #domainname: \"hostname (string, OPTIONAL) specifies the container's hostname as seen by processes running inside the container.\""),
    ("namespaces.join_netns_by_path", "config-linux.md#namespaces: \"If a path is specified, the runtime MUST place the container process in the namespace at that path.\""),
    ("namespaces.userns_single_mapping", "config-linux.md#user-namespace-mappings: \"uidMappings (array of objects, OPTIONAL) describes the user namespace uid mappings from the host to the container.\""),
    ("namespaces.userns_multiple_mappings", "config-linux.md#user-namespace-mappings: \"The runtime SHOULD NOT modify the ownership of referenced filesystems to realize the mapping.\" (several containerID/hostID/size ranges)"),
    ("namespaces.time_ns_offsets", "config-linux.md#offset-for-time-namespace: \"timeOffsets (object, OPTIONAL) sets the offset for Time Namespace.\""),
    ("namespaces.cgroup_ns_root", "config-linux.md#namespaces: \"cgroup the container will have an isolated view of the cgroup hierarchy.\""),
    ("namespaces.join_ipc_uts_pid_by_path", "config-linux.md#namespaces: \"If a path is specified, the runtime MUST place the container process in the namespace at that path.\""),
    ("namespaces.join_user_by_path", "config-linux.md#namespaces: \"If a path is specified, the runtime MUST place the container process in the namespace at that path.\" (user)"),
    ("mounts.root_readonly", "config.md#root: \"readonly (bool, OPTIONAL) If true then the root filesystem MUST be read-only inside the container\""),
    ("mounts.tmpfs_size_mode", "config.md#mounts: \"options (array of strings, OPTIONAL) Mount options of the filesystem to be used.\""),
    ("mounts.bind_readonly", "config.md#mounts: \"The runtime MUST mount entries in the listed order.\" (a bind mount with ro)"),
    ("mounts.mount_flags", "config.md#mounts: options (Linux mount options table): nosuid, nodev, noexec applied as mount flags to tmpfs and bind mounts"),
    ("mounts.standard_filesystems", "config-linux.md#filesystems: \"The following filesystems SHOULD be made available in each container's filesystem: /proc proc, /sys sysfs, /dev/pts devpts, /dev/shm tmpfs.\""),
    ("mounts.symlink_destination_stays_inside", "config.md#mounts: \"destination (string, REQUIRED) Destination of mount point: path inside container.\" (a symlink cannot lead it out of the rootfs)"),
    ("mounts.rootfs_propagation_private", "config-linux.md#rootfs-mount-propagation: \"rootfsPropagation (string, OPTIONAL) sets the rootfs's mount propagation. Its value is either shared, slave, private or unbindable.\""),
    ("mounts.rootfs_propagation_slave", "config-linux.md#rootfs-mount-propagation: \"rootfsPropagation ... slave\""),
    ("mounts.no_pivot", "runc CLI (not in runtime-spec): `--no-pivot` (chroot/move mount instead of pivot_root)"),
    ("mounts.masked_paths", "config-linux.md#masked-paths: \"maskedPaths (array of strings, OPTIONAL) will mask over the provided paths inside the container so that they cannot be read.\""),
    ("mounts.readonly_paths", "config-linux.md#readonly-paths: \"readonlyPaths (array of strings, OPTIONAL) will set the provided paths as readonly inside the container.\""),
    ("mounts.sysctl", "config-linux.md#sysctl: \"sysctl (object, OPTIONAL) allows kernel parameters to be modified at runtime for the container.\""),
    ("mounts.rootfs_propagation_shared", "config-linux.md#rootfs-mount-propagation: \"The shared option ... the rootfs mount belongs to a new peer group.\""),
    ("mounts.cgroup_mount", "config-linux.md#control-groups and #namespaces (cgroup: \"the container will have an isolated view of the cgroup hierarchy\"): a cgroup mount shows the container's own cgroup"),
    ("mounts.bind_file", "config.md#mounts: \"source (string, OPTIONAL) A device name, but can also be a file or directory name for bind mounts\""),
    ("mounts.tmpfs_at_nested_missing_dir", "config.md#mounts: \"destination (string, REQUIRED) Destination of mount point: path inside container.\" (a missing destination and its parents are created, as runc does)"),
    ("devices.default_devices", "config-linux.md#default-devices: \"the runtime MUST supply /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/tty, /dev/console (if terminal), /dev/ptmx\""),
    ("devices.default_devices_work", "config-linux.md#default-devices: \"the runtime MUST supply\" working /dev/null, /dev/zero, /dev/full"),
    ("devices.ptmx_and_symlinks", "config-linux.md#default-devices: \"/dev/ptmx. A bind-mount or symlink of the container's /dev/pts/ptmx.\"; runtime-linux.md#dev-symbolic-links: runtimes MUST create /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr"),
    ("devices.pts_and_shm_dirs", "config-linux.md#filesystems: \"/dev/pts devpts, /dev/shm tmpfs SHOULD be made available\""),
    ("devices.linux_devices", "config-linux.md#devices: \"devices (array of objects, OPTIONAL) lists devices that MUST be available in the container.\""),
    ("devices.userns_devices", "config-linux.md#default-devices: \"the runtime MUST also supply\" the default devices, in a user namespace too (as bind mounts of the host's)"),
    ("process.args_env", "config.md#process: \"args (array of strings, OPTIONAL) with similar semantics to IEEE Std 1003.1-2008 execvp's argv\"; \"env (array of strings, OPTIONAL)\""),
    ("process.cwd", "config.md#process: \"cwd (string, REQUIRED) is the working directory that will be set for the executable. This value MUST be an absolute path.\""),
    ("process.user_ids", "config.md#user: \"uid (int, REQUIRED) specifies the user ID in the container namespace. gid (int, REQUIRED) ... additionalGids (array of ints, OPTIONAL)\""),
    ("process.user_unknown_uid", "config.md#user: \"uid (int, REQUIRED) specifies the user ID in the container namespace.\" (a uid without a passwd entry)"),
    ("process.umask", "config.md#user: \"umask (int, OPTIONAL) specifies the umask of the user.\""),
    ("process.rlimits", "config.md#posix-process: \"rlimits ... The runtime MUST generate an error for any values which cannot be mapped to a relevant kernel interface. For each entry in rlimits, a getrlimit(3) on type MUST succeed.\""),
    ("process.capabilities_root", "config.md#linux-process: \"capabilities (object, OPTIONAL) is an object containing arrays that specifies the sets of capabilities for the process.\""),
    ("process.capabilities_ambient", "config.md#linux-process: \"ambient (array of strings, OPTIONAL) the ambient field is an array of ambient capabilities that are kept for the process.\""),
    ("process.no_new_privileges_true", "config.md#linux-process: \"noNewPrivileges (bool, OPTIONAL) setting noNewPrivileges to true prevents the process from gaining additional privileges.\""),
    ("process.no_new_privileges_false", "config.md#linux-process: \"noNewPrivileges (bool, OPTIONAL)\" false leaves no_new_privs unset"),
    ("process.oom_score_adj_unset", "config.md#linux-process: \"If oomScoreAdj is not set, the runtime MUST NOT change the value of oom_score_adj.\""),
    ("process.oom_score_adj", "config.md#linux-process: \"oomScoreAdj (int, OPTIONAL) adjusts the oom-killer score in [pid]/oom_score_adj for the process's [pid] in a proc pseudo-filesystem.\""),
    ("process.stdio_inherited", "runc CLI (not in runtime-spec): the container process inherits the stdio given to `create`"),
    ("process.preserve_fds", "runc CLI (not in runtime-spec): `--preserve-fds N` passes fds 3..3+N"),
    ("process.socket_activation", "runc CLI (not in runtime-spec): LISTEN_FDS socket activation"),
    ("process.no_fd_leak", "runtime-linux.md#file-descriptors: \"By default, only the stdin, stdout and stderr file descriptors are kept open for the application by the runtime.\""),
    ("process.fd_leak_cwd_escape", "config.md#process: \"cwd ... MUST be an absolute path\" inside the container (CVE-2024-21626: no leaked fd can make it escape)"),
    ("process.kill_all_without_pidns", "runc CLI (not in runtime-spec): `kill --all` without a pid namespace empties the cgroup"),
    ("process.scheduler", "config.md#linux-process: \"scheduler (object, OPTIONAL) is an object describing the scheduler properties for the process.\" / runtime.md#create: \"If the runtime cannot apply a property as specified in the configuration, it MUST generate an error\""),
    ("process.io_priority", "config.md#linux-process: \"ioPriority (object, OPTIONAL) configures the I/O priority settings for the container's processes.\" / runtime.md#create: \"If the runtime cannot apply a property ... it MUST generate an error\""),
    ("process.exec_cpu_affinity", "config.md#linux-process: \"execCPUAffinity (object, OPTIONAL) specifies CPU affinity used to execute the process.\" / runtime.md#create: \"If the runtime cannot apply a property ... it MUST generate an error\""),
    ("process.apparmor_profile", "config.md#linux-process: \"apparmorProfile (string, OPTIONAL) specifies the name of the AppArmor profile for the process.\" / runtime.md#create: \"If the runtime cannot apply a property ... it MUST generate an error\""),
    ("process.selinux_label", "config.md#linux-process: \"selinuxLabel (string, OPTIONAL) specifies the SELinux label for the process.\""),
    ("cgroups.cgroups_path_placement", "config-linux.md#cgroups-path: \"If the value is specified, the runtime MUST consistently attach to the same place in the cgroups hierarchy given the same value of cgroupsPath.\""),
    ("cgroups.systemd_driver", "config-linux.md#cgroups-path: cgroupsPath \"slice:prefix:name\" with a systemd cgroup manager (runc --systemd-cgroup)"),
    ("cgroups.intel_rdt", "config-linux.md#intelrdt: \"intelRdt (object, OPTIONAL) represents the Intel Resource Director Technology.\""),
    ("process.personality", "config-linux.md#personality: \"personality (object, OPTIONAL) sets the Linux execution personality.\" / runtime.md#create: \"If the runtime cannot apply a property ... it MUST generate an error\""),
    ("mounts.mount_label", "config-linux.md#mount-label: \"mountLabel (string, OPTIONAL) will set the Selinux context for the mounts in the container.\""),
    ("resources.pids_limit", "config-linux.md#pids: \"limit (int64, REQUIRED) - specifies the maximum number of tasks in the cgroup\""),
    ("resources.memory_limit", "config-linux.md#memory: \"limit (int64, OPTIONAL) - sets limit of memory usage in bytes\"; \"swap (int64, OPTIONAL) - sets limit of memory+Swap usage\""),
    ("resources.cpu", "config-linux.md#cpu: \"shares, quota, period, cpus, mems\""),
    ("resources.update", "runtime.md and runc CLI: `update` of linux.resources on a running container"),
    ("resources.pause_resume", "runc CLI (not in runtime-spec): `pause`/`resume` through the freezer; state paused"),
    ("resources.events_stats", "runc CLI (not in runtime-spec): `events --stats`"),
    ("resources.events_oom", "runc CLI (not in runtime-spec): `events` reports oom"),
    ("resources.ps", "runc CLI (not in runtime-spec): `ps`"),
    ("resources.kill_all_paused", "runc CLI (not in runtime-spec): `kill --all` of a paused container, then `delete --force`"),
    ("resources.delete_removes_subtree", "runtime.md#delete: \"Deleting a container MUST delete the resources that were created during the create step.\""),
    ("resources.unenforceable_is_refused", "runtime.md#create: \"If the runtime cannot apply a property as specified in the configuration, it MUST generate an error and a new container MUST NOT be created.\""),
    ("resources.devices_rules", "config-linux.md#allowed-device-list: \"devices (array of objects, OPTIONAL) configures the allowed device list. The runtime MUST apply entries in the listed order.\""),
    ("resources.every_field", "config-linux.md#control-groups: every linux.resources field applied, or \"If the runtime cannot apply a property ... it MUST generate an error\" (runtime.md#create)"),
    ("resources.check_before_update", "config-linux.md#memory: \"checkBeforeUpdate (bool, OPTIONAL) - enables the check before the memory limit is updated\""),
    ("exec.*", "runc CLI (not in runtime-spec): `exec` joins the container; the process is config.md#process applied to the new process"),
    ("terminal.console_socket_create", "config.md#process: \"terminal (bool, OPTIONAL) specifies whether a terminal is attached to the process\"; \"consoleSize (object, OPTIONAL) specifies the console size in characters of the terminal.\" (runc's --console-socket)"),
    ("terminal.console_socket_exec", "config.md#process: \"terminal\" for an exec'd process (runc's --console-socket)"),
    ("terminal.run_relays_terminal", "config.md#process: \"terminal (bool, OPTIONAL) specifies whether a terminal is attached to the process\" (relayed by a foreground run)"),
    ("terminal.exec_relays_terminal", "config.md#process: \"terminal\" for a foreground `exec -t`"),
    ("terminal.run_relays_without_host_terminal", "config.md#process: \"terminal\" with no host terminal (runc CLI)"),
    ("terminal.console_socket_without_terminal_fails", "runc CLI (not in runtime-spec): `--console-socket` with terminal false is an error leaving nothing"),
    ("hooks.order_namespaces_state", "config.md#posix-platform-hooks: prestart, createRuntime, createContainer, startContainer, poststart, poststop in order, namespaces and state as runtime.md#lifecycle steps 3-13 give"),
    ("hooks.create_runtime_failure", "runtime.md#lifecycle step 4: \"If any createRuntime hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.\""),
    ("hooks.poststart_failure_warns", "runtime.md#lifecycle step 9: \"If any poststart hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded.\""),
    ("hooks.poststop_failure_warns", "runtime.md#lifecycle step 13: \"If any poststop hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded.\""),
    ("hooks.timeout", "config.md#posix-platform-hooks: \"timeout (int, OPTIONAL) is the number of seconds before aborting the hook. If set, timeout MUST be greater than zero.\""),
    ("hooks.env_and_args", "config.md#posix-platform-hooks: \"args (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008 execv's argv. env (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008's environ.\""),
    ("hooks.start_container_failure", "runtime.md#lifecycle step 7: \"If any startContainer hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.\""),
    ("hooks.create_container_failure", "runtime.md#lifecycle step 5: \"If any createContainer hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.\""),
    ("features.document", "features.md: \"ociVersionMin (string, REQUIRED)\", \"ociVersionMax (string, REQUIRED)\", \"hooks\", \"mountOptions\", \"linux.namespaces\", \"linux.capabilities\", \"linux.cgroup\""),
    ("features.version", "runc CLI (not in runtime-spec): `--version` prints \"NAME version X.Y.Z\" and \"spec: 1.x.y\""),
    ("seccomp.*", "config-linux.md#seccomp: \"Seccomp provides application sandboxing mechanism in the Linux kernel. Seccomp configuration allows one to configure actions to take for matched syscalls\""),
    ("seccomp.flags", "config-linux.md#seccomp: \"flags (array of strings, OPTIONAL) - list of flags to use with seccomp(2).\""),
    ("seccomp.notify_agent", "config-linux.md#seccomp: \"listenerPath (string, OPTIONAL) - specifies the path of UNIX domain socket over which the runtime will send the container process state data structure when the SCMP_ACT_NOTIFY action is used.\""),
    ("seccomp.notify_without_listener_refused", "config-linux.md#seccomp: \"listenerPath ... This socket MUST use AF_UNIX domain and SOCK_STREAM type.\" and \"If SCMP_ACT_NOTIFY is used, listenerPath MUST be set\""),
    ("seccomp.unknown_action_refused", "config-linux.md#seccomp: \"action (string, REQUIRED) - the action for seccomp rules. A valid list of constants as of libseccomp v2.5.0 is shown below.\" / runtime.md#create: \"MUST generate an error\""),
    ("seccomp.unknown_arch_refused", "config-linux.md#seccomp: \"architectures (array of strings, OPTIONAL) ... A valid list of constants as of libseccomp v2.5.0\" / runtime.md#create: \"MUST generate an error\""),
    ("checker.baseline", "config.md, config-linux.md: the environment \"MUST be created according to the configuration in config.json\" (runtime.md#lifecycle step 2), checked field by field from inside"),
    ("checker.full_config", "runtime.md#create: \"All of the properties configured in config.json except for process MUST be applied.\" (hostname, sysctl, masked and readonly paths, devices, rlimits, caps, umask, additionalGids, oomScoreAdj, cwd, env, a tmpfs with options)"),
    ("checker.non_root_user", "config.md#user and #linux-process: uid, gid, additionalGids, capabilities (ambient) and noNewPrivileges false for a non-root user"),
    ("checker.user_namespace", "config-linux.md#user-namespace-mappings: \"uidMappings ... gidMappings\" as /proc/self/uid_map and gid_map show them, in a new user namespace"),
    ("checker.readonly_root", "config.md#root: \"readonly (bool, OPTIONAL) If true then the root filesystem MUST be read-only inside the container\""),
    ("checker.seccomp_errno", "config-linux.md#seccomp: \"errnoRet (uint, OPTIONAL) - the errno return code to use.\" (EPERM without one)"),
    ("checker.cgroup_limits", "config-linux.md#control-groups: \"the runtime MUST apply\" linux.resources (pids, memory, cpu) as the container's own cgroup shows them through a cgroup namespace"),
    ("checker.joined_namespaces", "config-linux.md#namespaces: \"If a path is specified, the runtime MUST place the container process in the namespace at that path.\""),
    ("checker.hooks_state", "runtime.md#state and config.md#posix-platform-hooks: each hook gets \"the state of the container\" on stdin (ociVersion, id, status, pid, bundle, annotations), at its lifecycle step"),
    ("checker.detects_mismatch", "(the suite itself) the checker reports each field that differs from the config it is told"),
    ("bad_configs.builtin_invalid_json", "runtime.md#create: \"If the runtime cannot apply a property as specified in the configuration, it MUST generate an error and a new container MUST NOT be created.\""),
    ("bad_configs.builtin_missing_rootfs", "config.md#root: \"path (string, REQUIRED) Specifies the path to the root filesystem for the container.\" / runtime.md#errors: \"generating an error MUST leave the state of the environment as if the operation were never attempted\""),
    ("bad_configs.builtin_unknown_namespace", "config-linux.md#namespaces: \"type (string, REQUIRED) - namespace type. The following namespace types SHOULD be supported\" / runtime.md#errors: \"MUST leave the state of the environment as if the operation were never attempted\""),
    ("bad_configs.builtin_empty_args", "config.md#process: \"args ... This specification extends the IEEE standard in that at least one entry is REQUIRED\""),
    ("bad_configs.builtin_relative_cwd", "config.md#process: \"cwd (string, REQUIRED) ... This value MUST be an absolute path.\""),
    ("bad_configs.builtin_hostname_without_uts", "config.md#hostname: \"Depending on your namespace configuration, the container UTS namespace may be the runtime UTS namespace.\" (runc behaviour: a hostname without a new UTS namespace is refused, so the host's is never changed)"),
    ("bad_configs.builtin_net_sysctl_without_netns", "runtime.md#create: \"If the runtime cannot apply a property as specified in the configuration, it MUST generate an error and a new container MUST NOT be created.\" (a net.* sysctl without a new network namespace would change the host)"),
    ("bad_configs.builtin_unknown_mount_type", "config.md#mounts: \"type (string, OPTIONAL) The type of the filesystem to be mounted.\" / runtime.md#create: \"MUST generate an error and a new container MUST NOT be created\""),
    ("bad_configs.builtin_rlimit_above_hard_limit", "config.md#posix-process: \"The runtime MUST generate an error for any values which cannot be mapped to a relevant kernel interface.\""),
    ("bad_configs.builtin_capability_outside_bounding_set", "runc behaviour: a capability the runtime cannot grant is refused. NB runtime-spec 1.2 config.md says such a value \"MUST be logged as a warning by the runtime. Runtimes SHOULD NOT fail\""),
    ("bad_configs.corpus_*", "runtime.md#errors: \"Unless otherwise stated, generating an error MUST leave the state of the environment as if the operation were never attempted\" (a config the runtime must refuse: see fixtures/bad-configs)"),
    ("suite.no_leftovers", "runtime.md#delete: \"Deleting a container MUST delete the resources that were created during the create step.\" (over the whole run)"),
    ("security.*", "runtime.md#lifecycle step 2: \"The container's runtime environment MUST be created according to the configuration in config.json\" and no further: the container cannot reach the host (DESIGN.md's rules: runc CVE-2019-5736, CVE-2021-30465, CVE-2024-21626); tests of the area may name their own sentence in this table"),
    ("selftest.*", "(the runner itself)"),
];

/// The spec reference of a test: its own entry, else the longest `prefix*` entry covering it.
pub fn lookup(name: &str) -> Option<&'static str> {
    if let Some((_, s)) = REFS.iter().find(|(n, _)| *n == name) {
        return Some(s);
    }
    REFS.iter()
        .filter_map(|(n, s)| {
            let p = n.strip_suffix('*')?;
            name.starts_with(p).then_some((p.len(), *s))
        })
        .max_by_key(|(l, _)| *l)
        .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_entries_win_over_prefixes() {
        assert!(lookup("seccomp.flags")
            .unwrap()
            .contains("flags (array of strings"));
        assert!(lookup("seccomp.kill").unwrap().contains("sandboxing"));
        assert!(lookup("bad_configs.corpus_x")
            .unwrap()
            .contains("runtime.md#errors"));
        assert_eq!(lookup("nosuch.test"), None);
    }
}
