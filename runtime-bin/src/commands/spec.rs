use std::path::PathBuf;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// Directory to write config.json into.
    #[arg(short = 'b', long, default_value = ".")]
    bundle: PathBuf,
    /// A config for a container run without root (user namespace).
    #[arg(long)]
    rootless: bool,
}

pub fn run(a: Args) -> Result<u8, crate::Failure> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        return Err(cella::Error::Usage(format!(
            "{}: file exists; remove it first",
            path.display()
        ))
        .into());
    }
    let text =
        serde_json::to_string_pretty(&cella::spec::default_spec(a.rootless)).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(|e| cella::Error::Io {
        op: "write",
        path,
        source: e,
    })?;
    Ok(0)
}
