use cella::container::Runtime;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    pub(crate) id: String,
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    let st = rt.load(&a.id)?.oci_state();
    println!("{}", serde_json::to_string_pretty(&st).unwrap_or_default());
    Ok(0)
}
