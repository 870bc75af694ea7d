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
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    pub(crate) id: String,
}

pub fn run(rt: &Runtime, a: Args, host: super::Host) -> Result<u8, crate::Failure> {
    if !a.detach {
        cella::container::block_forwarded_signals()?;
    }
    let builder = a.flags.builder(rt, &a.id, !a.detach, host);
    let mut c = builder.create_and_start()?;
    crate::log::warnings(c.warnings());
    crate::log::debug_notes(c.notes());
    if a.detach {
        return Ok(0);
    }
    let code = c.wait_forwarding_signals();
    if !a.keep {
        crate::log::warnings(&c.delete(true)?);
    }
    Ok(code? as u8)
}
