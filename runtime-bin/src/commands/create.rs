use cella::container::Runtime;

use super::CreateFlags;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    #[command(flatten)]
    pub(crate) flags: CreateFlags,
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    pub(crate) id: String,
}

pub fn run(rt: &Runtime, a: Args, host: super::Host) -> Result<u8, crate::Failure> {
    let c = a.flags.builder(rt, &a.id, false, host).create()?;
    crate::log::warnings(c.warnings());
    crate::log::debug_notes(c.notes());
    Ok(0)
}
