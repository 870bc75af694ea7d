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
            // A create killed before it wrote its state left at most an
            // empty directory.
            match rt.remove_stateless(&a.id) {
                // A create finished meanwhile: delete what it made.
                Err(cella::Error::AlreadyExists { .. }) => {
                    crate::log::warnings(&rt.load(&a.id)?.delete(true)?)
                }
                r => {
                    r?;
                }
            }
        }
        Err(e) => return Err(e),
    }
    Ok(0)
}
