use cella::container::Runtime;

use super::CreateFlags;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    flags: CreateFlags,
    /// Container id.
    id: String,
}

pub fn run(rt: &Runtime, a: Args, rootless: bool) -> Result<u8, cella::Error> {
    let opts = a.flags.options(false, rootless);
    let c = rt.create(&a.id, a.flags.bundle(), &opts)?;
    crate::log::warnings(c.warnings());
    crate::log::debug_notes(c.notes());
    if let Some(p) = &a.flags.pid_file {
        if let Err(e) = c.write_pid_file(p) {
            let _ = c.delete(true);
            return Err(e);
        }
    }
    Ok(0)
}
