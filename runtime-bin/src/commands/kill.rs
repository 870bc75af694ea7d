use cella::container::Runtime;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// Signal every process of the container.
    #[arg(short = 'a', long)]
    pub(crate) all: bool,
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    pub(crate) id: String,
    /// Signal name or number (default SIGTERM).
    #[arg(default_value = "SIGTERM")]
    pub(crate) signal: String,
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    let sig = super::parse_signal(&a.signal)?;
    crate::log::warnings(&rt.load(&a.id)?.kill(sig, a.all)?);
    Ok(0)
}
