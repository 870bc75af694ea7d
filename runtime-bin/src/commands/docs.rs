//! `completion` and `man`: generated from the clap definition, so they
//! always match the flags the binary parses.

use std::io::Write;

use clap_complete::Shell;

#[derive(clap::Args, Debug, PartialEq)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

#[derive(clap::Args, Debug, PartialEq)]
pub struct ManArgs {
    /// A command whose page to print (`cella-exec(8)`); cella's own page
    /// (with the list of commands) without one.
    command: Option<String>,
}

pub fn completion(a: CompletionArgs) -> Result<u8, crate::Failure> {
    let mut cmd = crate::cli_definition();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "cella", &mut out);
    write_stdout(&out)
}

/// Section 8: administration commands, as runc's pages are.
pub fn man(a: ManArgs) -> Result<u8, crate::Failure> {
    let cmd = crate::cli_definition().version(env!("CARGO_PKG_VERSION"));
    let page = match &a.command {
        None => cmd.name("cella"),
        Some(name) => {
            let sub = cmd
                .get_subcommands()
                .find(|s| s.get_name() == name)
                .cloned()
                .ok_or_else(|| {
                    cella::Error::Usage(format!(
                        "man {name:?}: no such command; see `cella --help`"
                    ))
                })?;
            // The name the page is filed under, as git's and runc's are;
            // no version on the command itself: clap would show a `-V`
            // flag the command does not have.
            sub.name(format!("cella-{name}"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .section("8")
        .render(&mut out)
        .map_err(|source| crate::Failure::Output {
            what: "rendering the man page",
            source,
        })?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Result<u8, crate::Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|source| crate::Failure::Output {
            what: "writing to stdout",
            source,
        })?;
    Ok(0)
}
