use cella::container::Runtime;

use super::CreateFlags;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    #[command(flatten)]
    pub(crate) flags: CreateFlags,
    /// Return once started; the container keeps running.
    #[arg(short = 'd', long)]
    pub(crate) detach: bool,
    /// Keep the container's state after it exits (no delete).
    #[arg(long)]
    pub(crate) keep: bool,
    /// Do not adopt and reap the processes the container leaves orphaned.
    #[arg(long = "no-subreaper")]
    pub(crate) no_subreaper: bool,
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    pub(crate) id: String,
}

pub fn run(rt: &Runtime, a: Args, host: super::Host) -> Result<u8, crate::Failure> {
    if !a.detach {
        // As runc: orphans of a container without its own pid namespace
        // come to us (and are reaped while we wait), not to the host's init.
        if !a.no_subreaper {
            cella::container::become_subreaper()?;
        }
        cella::container::block_forwarded_signals()?;
    }
    let builder = a.flags.builder(rt, &a.id, !a.detach, host);
    let (mut c, proxy) = match super::notify_socket() {
        Some(h) => builder
            .create_and_start_notifying(&h)
            .map(|(c, p)| (c, Some(p)))?,
        None => (builder.create_and_start()?, None),
    };
    crate::log::warnings(c.warnings());
    crate::log::debug_notes(c.notes());
    if let Some(proxy) = proxy {
        // As runc: the main pid is the init's when we leave, ours when we
        // stay (we live as long as it, and exit with its status).
        let main_pid = match a.detach {
            true => c.pid(),
            false => std::process::id() as i32,
        };
        // runc's `run` ignores a failure here; a warning at least.
        match proxy.forward(&c, main_pid) {
            Ok(w) => crate::log::warnings(&w),
            Err(e) => crate::log::warnings(&[format!("NOTIFY_SOCKET: {e}")]),
        }
    }
    if a.detach {
        return Ok(0);
    }
    let code = c.wait_forwarding_signals();
    if !a.keep {
        crate::log::warnings(&c.delete(true)?);
    }
    Ok(code? as u8)
}
