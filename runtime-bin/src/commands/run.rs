use cella::container::Runtime;

use super::CreateFlags;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    flags: CreateFlags,
    /// Return once started; the container keeps running.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Keep the container's state after it exits (no delete).
    #[arg(long)]
    keep: bool,
    /// Container id.
    id: String,
}

pub fn run(rt: &Runtime, a: Args, rootless: bool) -> Result<u8, cella::Error> {
    let opts = a.flags.options(!a.detach, rootless);
    if !a.detach {
        cella::container::block_forwarded_signals()?;
    }
    let mut c = rt.create(&a.id, a.flags.bundle(), &opts)?;
    crate::log::warnings(c.warnings());
    crate::log::debug_notes(c.notes());
    let started = a
        .flags
        .pid_file
        .as_ref()
        .map_or(Ok(()), |p| c.write_pid_file(p))
        .and_then(|()| c.start().map(|w| crate::log::warnings(&w)));
    if let Err(e) = started {
        let _ = c.delete(true);
        return Err(e);
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
