use cella::container::Runtime;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    id: String,
}

pub fn pause(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    rt.load(&a.id)?.pause()?;
    Ok(0)
}

pub fn resume(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    rt.load(&a.id)?.resume()?;
    Ok(0)
}
