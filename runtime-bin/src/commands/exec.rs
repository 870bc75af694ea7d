use std::path::PathBuf;

use cella::container::{ExecOptions, ProcessOverrides, Runtime};
use oci_spec::runtime::Capability;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// A process.json describing the process (as containerd passes).
    #[arg(short = 'p', long)]
    process: Option<PathBuf>,
    /// Working directory.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Add an environment variable (KEY=value); repeatable.
    #[arg(short = 'e', long, value_parser = crate::utf8("--env"))]
    env: Vec<String>,
    /// uid[:gid] to run as.
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Supplementary group; repeatable.
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<u32>,
    /// Add a capability; repeatable.
    #[arg(short = 'c', long)]
    cap: Vec<String>,
    /// Set no_new_privs.
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    /// Allocate a terminal.
    #[arg(short = 't', long)]
    tty: bool,
    /// Unix socket to send the terminal's master fd to.
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Return once the process started.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Write the process's pid here.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Pass this many fds above stdio to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Unix socket to send a pidfd of the process to.
    #[arg(long = "pidfd-socket")]
    pidfd_socket: Option<PathBuf>,
    /// Run even if the container is paused.
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    /// Sub-cgroup of the container to run in (path, or controller:path on v1).
    #[arg(long)]
    cgroup: Option<String>,
    /// AppArmor profile, applied at the program's execve (default: the container's).
    #[arg(long)]
    apparmor: Option<String>,
    /// SELinux label (refused where the host has no SELinux).
    #[arg(long = "process-label")]
    process_label: Option<String>,
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true,
          value_parser = crate::utf8("an argument of the command"))]
    command: Vec<String>,
}

fn usage(msg: impl Into<String>) -> cella::Error {
    cella::Error::Usage(msg.into())
}

/// runc's flags as the library's overrides: only the spelling is parsed here.
fn overrides(a: &Args) -> Result<ProcessOverrides, cella::Error> {
    if a.command.is_empty() {
        return Err(usage("exec needs a command (or --process FILE)"));
    }
    let user = match &a.user {
        None => None,
        Some(u) => {
            let bad = || usage(format!("--user {u:?}: expected uid[:gid] (numbers)"));
            let (uid, gid) = match u.split_once(':') {
                Some((u, g)) => (u, Some(g)),
                None => (u.as_str(), None),
            };
            let gid = gid.map(|g| g.parse().map_err(|_| bad())).transpose()?;
            Some((uid.parse().map_err(|_| bad())?, gid))
        }
    };
    let capabilities = a
        .cap
        .iter()
        .map(|c| {
            serde_json::from_value::<Capability>(serde_json::json!(c))
                .map_err(|_| usage(format!("--cap {c:?}: unknown capability")))
        })
        .collect::<Result<_, _>>()?;
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    Ok(ProcessOverrides {
        args: a.command.clone(),
        cwd: a.cwd.clone(),
        env: a.env.clone(),
        user,
        additional_gids: a.additional_gids.clone(),
        capabilities,
        no_new_privileges: a.no_new_privs,
        terminal: a.tty,
        apparmor_profile: nonempty(&a.apparmor),
        selinux_label: nonempty(&a.process_label),
    })
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    let c = rt.load(&a.id)?;
    let process = match &a.process {
        Some(path) => {
            // The security labels are not dropped for a process.json: the
            // library refuses what the host cannot honour.
            let mut p = cella::spec::load_process(path)?;
            if let Some(profile) = a.apparmor.clone().filter(|s| !s.is_empty()) {
                p.set_apparmor_profile(Some(profile));
            }
            if let Some(label) = a.process_label.clone().filter(|s| !s.is_empty()) {
                p.set_selinux_label(Some(label));
            }
            p
        }
        None => c.process_with(&overrides(&a)?),
    };
    if process.terminal() != Some(true) && a.console_socket.is_some() {
        return Err(
            usage("--console-socket was given but the process asks for no terminal (-t)").into(),
        );
    }
    if !a.detach {
        cella::container::block_forwarded_signals()?;
    }
    let opts = ExecOptions {
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        sub_cgroup: a.cgroup.clone(),
        pid_file: a.pid_file.clone(),
        console: super::console(a.console_socket.as_ref(), !a.detach),
        pidfd_socket: a.pidfd_socket.clone(),
        ..ExecOptions::new(process)
    };
    let mut proc = c.exec(opts)?;
    if a.detach {
        return Ok(0);
    }
    Ok(proc.wait_forwarding_signals()? as u8)
}
