use cella::container::Runtime;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// Kill a running container first; a missing one is not an error.
    #[arg(short = 'f', long)]
    pub(crate) force: bool,
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    pub(crate) id: String,
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    crate::log::warnings(&rt.delete(&a.id, a.force)?);
    Ok(0)
}
