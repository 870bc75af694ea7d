//! The steps of container setup, by name: what a [`ChildError`](super::ChildError)
//! says failed.

use serde::{Deserialize, Serialize};

/// Declares [`Step`] with the text each unit variant shows as.
macro_rules! steps {
    ($($name:ident => $text:literal,)*) => {
        /// A step of container setup, as a [`ChildError`](super::ChildError)
        /// names it: its `Display` is the text of the message
        /// (`mount /proc on`), the variant is what to match on.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum Step {
            $(
                #[doc = concat!("`", $text, "`")]
                $name,
            )*
            /// `mount TYPE on`: a mount of the config with its filesystem type.
            MountFs(String),
            /// `join NAME namespace`: `setns` into a namespace of the config
            /// (`net`, `user`, ...).
            JoinNamespace(String),
        }

        impl std::fmt::Display for Step {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $(Step::$name => f.write_str($text),)*
                    Step::MountFs(fstype) => write!(f, "mount {fstype} on"),
                    Step::JoinNamespace(name) => write!(f, "join {name} namespace"),
                }
            }
        }
    };
}

steps! {
    BindCgroup => "bind cgroup",
    BindCgroupOn => "bind cgroup on",
    BindHost => "bind host",
    BindHostDevice => "bind host device",
    BindMount => "bind mount",
    BindReadonlyPath => "bind read-only path",
    BindTerminal => "bind terminal on",
    Capability => "capability",
    Capset => "capset",
    Chdir => "chdir",
    ChdirOldRoot => "chdir to old root",
    Chmod => "chmod",
    Chown => "chown",
    Chroot => "chroot",
    ClearAmbientCaps => "clear ambient capabilities",
    CloneTerminalMount => "clone the terminal mount for",
    ConnectSeccompAgent => "connect to the seccomp agent at",
    Create => "create",
    CreateDevice => "create device",
    CreateDirectory => "create directory",
    CreateMountPoint => "create mount point",
    CreateNamespaces => "create namespaces",
    CreateUserNamespace => "create user namespace",
    DetachOldRoot => "detach old root",
    DropBoundingCap => "drop bounding capability",
    Dup => "dup",
    Dup2 => "dup2",
    Dup2Terminal => "dup2 terminal",
    Exec => "exec",
    ExecCpuAffinity => "execCPUAffinity",
    Fchown => "fchown",
    ForkExecProcess => "fork exec process",
    ForkInit => "fork container init",
    Grantpt => "grantpt",
    JoinCgroup => "join the container's cgroup",
    JoinSessionKeyring => "join session keyring",
    Keyring => "keyring",
    KeyringSelinuxLabel => "process.selinuxLabel (as the session keyring's label)",
    LinuxMemoryPolicy => "linux.memoryPolicy",
    LinuxPersonality => "linux.personality",
    List => "list",
    LoadSeccompFilter => "load seccomp filter",
    MakeMask => "make the mask for",
    MakeOldRootSlave => "make old root slave",
    MakeReadonly => "make read-only",
    Mask => "mask",
    Mkdir => "mkdir",
    Mknod => "mknod",
    Mount => "mount",
    MountCgroup2 => "mount cgroup2 on",
    MountCgroupTmpfs => "mount tmpfs for cgroups on",
    MountLabel => "linux.mountLabel",
    MountPrivateProcfs => "mount a private procfs",
    MountPrivatePropagation => "mount private propagation on",
    MountPropagation => "mount propagation on",
    MountRootfsBind => "mount rootfs bind on",
    MountSetattr => "mount_setattr",
    MountSharedPropagation => "mount shared propagation on",
    MountUnbindablePropagation => "mount unbindable propagation on",
    MoveRootfs => "move rootfs to /",
    Open => "open",
    OpenBindSource => "open bind source",
    OpenMountPoint => "open mount point",
    OpenNewMount => "open the new mount",
    OpenOldRoot => "open old root",
    OpenParent => "open parent of",
    OpenPtySlave => "open the pty slave of",
    OpenRootfs => "open rootfs",
    Pipe => "pipe",
    PivotRoot => "pivot_root",
    ProcessApparmorProfile => "process.apparmorProfile",
    ProcessCapabilities => "process.capabilities",
    ProcessCwd => "process.cwd",
    ProcessIoPriority => "process.ioPriority",
    ProcessScheduler => "process.scheduler",
    ProcessSelinuxLabel => "process.selinuxLabel",
    Procfs => "procfs",
    Ptsname => "ptsname",
    RaiseAmbientCap => "raise ambient capability",
    Read => "read",
    ReadMountinfo => "read /proc/self/mountinfo for",
    ReceiveMountSource => "receive mount source",
    Remount => "remount",
    RemountReadonly => "remount read-only",
    RemoveOldNode => "remove old node",
    ResolveMountPoint => "resolve mount point",
    RunHook => "run",
    RunStartContainerHooks => "run startContainer hooks",
    SendSeccompListener => "send the seccomp listener fd to the agent at",
    SendTerminal => "send terminal to console socket",
    SendToRuntime => "send to runtime",
    SetCapabilities => "set capabilities",
    SetCloexec => "fcntl FD_CLOEXEC",
    SetControllingTerminal => "set controlling terminal",
    SetDumpable => "prctl PR_SET_DUMPABLE",
    SetKeepCaps => "prctl PR_SET_KEEPCAPS",
    SetNoNewPrivs => "prctl PR_SET_NO_NEW_PRIVS",
    SetOomScoreAdj => "set oom_score_adj",
    SetPropagation => "set propagation of",
    SetRlimit => "set rlimit",
    SetSysctl => "set sysctl",
    SetWindowSize => "set window size of",
    Setdomainname => "setdomainname",
    Setgroups => "setgroups",
    Sethostname => "sethostname",
    Setresgid => "setresgid",
    SetresgidJoinedUserns => "setresgid in the joined user namespace",
    Setresuid => "setresuid",
    SetresuidJoinedUserns => "setresuid in the joined user namespace",
    Setsid => "setsid",
    Stat => "stat",
    Statvfs => "statvfs",
    Statx => "statx",
    Symlink => "symlink",
    Sync => "sync",
    Tmpcopyup => "tmpcopyup",
    TmpcopyupCopy => "tmpcopyup: copy into",
    TmpcopyupOpen => "tmpcopyup: open",
    Unlockpt => "unlockpt",
    WaitForRuntime => "wait for runtime",
    WaitForStart => "wait for start",
    Write => "write",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_show_as_the_message_says_and_survive_the_channel() {
        assert_eq!(Step::PivotRoot.to_string(), "pivot_root");
        assert_eq!(Step::MountFs("proc".into()).to_string(), "mount proc on");
        assert_eq!(
            Step::JoinNamespace("net".into()).to_string(),
            "join net namespace"
        );
        for step in [Step::SetRlimit, Step::MountFs("tmpfs".into())] {
            let json = serde_json::to_vec(&step).unwrap();
            assert_eq!(serde_json::from_slice::<Step>(&json).unwrap(), step);
        }
    }
}
