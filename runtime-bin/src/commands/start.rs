use cella::container::Runtime;

#[derive(clap::Args)]
pub struct Args {
    /// Container id.
    id: String,
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, cella::Error> {
    crate::log::warnings(&rt.load(&a.id)?.start()?);
    Ok(0)
}
