use std::path::PathBuf;

use cella::container::{ExecOptions, Runtime};
use oci_spec::runtime::{Capability, Process};

#[derive(clap::Args)]
pub struct Args {
    /// A process.json describing the process (as containerd passes).
    #[arg(short = 'p', long)]
    process: Option<PathBuf>,
    /// Working directory.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Add an environment variable (KEY=value); repeatable.
    #[arg(short = 'e', long)]
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
    /// Run even if the container is paused.
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    /// Sub-cgroup of the container to run in (path, or controller:path on v1).
    #[arg(long)]
    cgroup: Option<String>,
    /// AppArmor profile (this host has no AppArmor: refused).
    #[arg(long)]
    apparmor: Option<String>,
    /// SELinux label (this host has no SELinux: refused).
    #[arg(long = "process-label")]
    process_label: Option<String>,
    /// Container id.
    id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn usage(msg: impl Into<String>) -> cella::Error {
    cella::Error::Usage(msg.into())
}

fn from_file(path: &PathBuf) -> Result<Process, cella::Error> {
    let f = std::fs::File::open(path)
        .map_err(|e| usage(format!("--process {}: {e}", path.display())))?;
    let text = cella::spec::read_document(f, path).map_err(|e| usage(format!("--process {e}")))?;
    let de = &mut serde_json::Deserializer::from_slice(&text);
    serde_path_to_error::deserialize(de)
        .map_err(|e| usage(format!("{}: {}: {}", path.display(), e.path(), e.inner())))
}

fn from_flags(a: &Args, base: Option<&Process>) -> Result<Process, cella::Error> {
    if a.command.is_empty() {
        return Err(usage("exec needs a command (or --process FILE)"));
    }
    let mut p = base.cloned().unwrap_or_default();
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(a.tty));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    if !a.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(a.env.iter().cloned());
        p.set_env(Some(env));
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        let bad = || usage(format!("--user {u:?}: expected uid[:gid] (numbers)"));
        let user = p.user_mut();
        user.set_uid(uid.parse().map_err(|_| bad())?);
        if let Some(g) = gid {
            user.set_gid(g.parse().map_err(|_| bad())?);
        }
    }
    if !a.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(a.additional_gids.clone()));
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for c in &a.cap {
            let cap: Capability = serde_json::from_value(serde_json::json!(c))
                .map_err(|_| usage(format!("--cap {c:?}: unknown capability")))?;
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
        }
        p.set_capabilities(Some(caps));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, cella::Error> {
    if a.apparmor.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(usage("--apparmor: this host has no AppArmor"));
    }
    if a.process_label.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(usage("--process-label: this host has no SELinux"));
    }
    let c = rt.load(&a.id)?;
    let process = match &a.process {
        Some(path) => from_file(path)?,
        None => from_flags(&a, c.config_process())?,
    };
    if process.terminal() != Some(true) && a.console_socket.is_some() {
        return Err(usage(
            "--console-socket was given but the process asks for no terminal (-t)",
        ));
    }
    if !a.detach {
        cella::container::block_forwarded_signals()?;
    }
    let opts = ExecOptions {
        process,
        io: Default::default(),
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        sub_cgroup: a.cgroup.clone(),
        pid_file: a.pid_file.clone(),
        console: super::console(a.console_socket.as_ref(), !a.detach),
    };
    let mut proc = c.exec(opts)?;
    if a.detach {
        return Ok(0);
    }
    Ok(proc.wait_forwarding_signals()? as u8)
}
