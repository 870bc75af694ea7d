use cella::container::Runtime;

#[derive(clap::Args)]
pub struct Args {
    /// Kill a running container first; a missing one is not an error.
    #[arg(short = 'f', long)]
    force: bool,
    /// Container id.
    id: String,
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, cella::Error> {
    match rt.load(&a.id) {
        Ok(c) => crate::log::warnings(&c.delete(a.force)?),
        Err(cella::Error::NotFound { .. }) if a.force => {
            // A create that crashed may have left a directory without state.
            cella::container::validate_id(&a.id)?;
            let _ = std::fs::remove_dir_all(rt.root().join(&a.id));
        }
        Err(e) => return Err(e),
    }
    Ok(0)
}
