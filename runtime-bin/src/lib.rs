//! `cella`: runc's command line over the `cella` library. Only argument
//! parsing, logging and exit codes live here. The binary's `main` calls
//! [`run`]; [`parse_args`] is the parser alone (fuzzed in `fuzz/`).

#![deny(unsafe_code)]

mod commands;
mod failure;
mod fastparse;
mod log;
// Written for x86_64 (its entry code and raw syscalls); other builds
// re-execute from `main` (`sealed`).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod prestart;
mod sealed;

use failure::Failure;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A Linux OCI container runtime, compatible with runc's command line.
#[derive(Parser, Debug, PartialEq)]
#[command(name = "cella", disable_version_flag = true)]
struct Cli {
    /// Directory for container state [default: /run/cella; for an
    /// unprivileged user, or root of a user namespace, $XDG_RUNTIME_DIR/cella].
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Log file (errors are also printed on stderr).
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Log debug messages too.
    #[arg(long, global = true)]
    debug: bool,
    /// Skip cgroups the caller may not write, as runc: true, false or auto
    /// (true when not root, or root of a user namespace). Given before the
    /// command, as runc's: `spec --rootless` is another flag.
    #[arg(long, default_value = "auto")]
    rootless: cella::rootless::RootlessMode,
    /// Use the systemd cgroup driver: the container's cgroup is a transient
    /// systemd scope, and linux.cgroupsPath is slice:prefix:name.
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Print the version.
    #[arg(short = 'v', long = "version")]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug, PartialEq)]
enum Command {
    /// Create a container from a bundle; it waits for `start`.
    Create(commands::create::Args),
    /// Run the user process of a created container.
    Start(commands::start::Args),
    /// Print the state of a container as JSON.
    State(commands::state::Args),
    /// Send a signal to a container's init (or every process with --all).
    Kill(commands::kill::Args),
    /// Delete a container and everything it holds.
    Delete(commands::delete::Args),
    /// Create and start a container, wait for it and delete it.
    Run(commands::run::Args),
    /// List containers.
    List(commands::list::Args),
    /// Run a process in a running container.
    Exec(Box<commands::exec::Args>),
    /// Freeze every process of a container.
    Pause(commands::pause::Args),
    /// Thaw a paused container.
    Resume(commands::pause::Args),
    /// Change a running container's resource limits.
    Update(Box<commands::update::Args>),
    /// List a container's processes.
    Ps(commands::ps::Args),
    /// Print resource usage (--stats) or stream stats and OOM events.
    Events(commands::events::Args),
    /// Print the OCI features document of this build.
    Features,
    /// Write a default config.json.
    Spec(commands::spec::Args),
    /// Print the plan for a bundle as JSON, without creating anything.
    Plan(commands::plan::Args),
    /// Print a shell completion script for cella (bash, zsh, fish, elvish,
    /// powershell), generated from this command line's definition.
    Completion(commands::docs::CompletionArgs),
    /// Print cella's man page (roff), or one command's (`cella man exec`).
    Man(commands::docs::ManArgs),
}

/// The command line's definition, for the completion scripts and man pages.
pub(crate) fn cli_definition() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Parses a command line (`args[0]` is the program name) as `cella` does,
/// without running anything.
pub fn parse_args<I, T>(args: I) -> Result<(), clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args).map(drop)
}

/// Whether the parser `run` tries first (`fastparse`, no clap) agrees with
/// clap on `args` (`args[0]` is the program name): it declines the line, or
/// makes of it what clap makes. Checked over random lines by `fuzz/`'s `cli`
/// target and over a corpus by `fastparse`'s tests.
pub fn fast_path_agrees(args: &[std::ffi::OsString]) -> bool {
    let Some(fast) = args
        .split_first()
        .and_then(|(_, rest)| fastparse::parse(rest))
    else {
        return true;
    };
    Cli::try_parse_from(args).ok().as_ref() == Some(&fast)
}

/// A value parser for arguments that must be UTF-8 (container ids, the
/// arguments of an `exec`d command): a clear error naming `what` instead of
/// clap's, which names no argument. Paths need none: they are `PathBuf`s.
pub(crate) fn utf8(what: &'static str) -> impl clap::builder::TypedValueParser<Value = String> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().try_map(move |s| {
        s.into_string()
            .map_err(|s| format!("{what} {:?} is not UTF-8", s.to_string_lossy()))
    })
}

/// The `cella` program: parses `std::env::args_os` (arguments are bytes:
/// a path need not be UTF-8), runs the command, and returns runc's exit
/// code.
pub fn run() -> ExitCode {
    // Commands whose forks enter a container run from a sealed view of this
    // binary, so the container can never reach the host's (CVE-2019-5736):
    // re-executed before the command line is parsed when a quick look tells
    // (the parse would be paid twice), or just after.
    let sealed = match sealed::early() {
        Ok(sealed) => sealed,
        Err(e) => {
            eprintln!("cella: {e}");
            return ExitCode::from(1);
        }
    };
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let parsed = match fastparse::parse(&args) {
        Some(cli) => Ok(cli),
        None => Cli::try_parse(),
    };
    let cli = match parsed {
        Ok(cli) => cli,
        // runc exits 1 on a usage error, 0 after --help.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::from(e.use_stderr()));
        }
    };
    if !sealed
        && matches!(
            cli.command,
            Some(Command::Create(_) | Command::Run(_) | Command::Exec(_))
        )
    {
        if let Err(e) = sealed::after_parse(cli.root.as_deref()) {
            eprintln!("cella: {e}");
            return ExitCode::from(1);
        }
    }
    let logger = match log::Logger::open(cli.log.as_deref(), cli.log_format == "json", cli.debug) {
        Ok(l) => log::install(l),
        Err(e) => {
            eprintln!("cella: {e}");
            return ExitCode::from(1);
        }
    };
    if cli.version {
        commands::print_version();
        return ExitCode::SUCCESS;
    }
    let Some(command) = cli.command else {
        eprintln!("cella: no command given; see `cella --help`");
        return ExitCode::from(1);
    };
    logger.debug(&format!(
        "invoked as {:?}",
        std::env::args_os().collect::<Vec<_>>()
    ));
    let caller = cella::rootless::Caller::detect();
    let rootless = cli.rootless.resolve(&caller);
    logger.debug(&format!("caller {caller:?}; rootless: {rootless}"));
    let host = commands::Host {
        rootless,
        driver: match cli.systemd_cgroup {
            true => cella::plan::CgroupDriver::Systemd,
            false => cella::plan::CgroupDriver::Cgroupfs,
        },
    };
    // Only the verbs that keep state need a state directory.
    let runtime = || -> Result<cella::container::Runtime, cella::Error> {
        let root = match &cli.root {
            Some(r) => r.clone(),
            None => cella::rootless::default_state_root(&caller)?,
        };
        logger.debug(&format!("state directory {}", root.display()));
        Ok(cella::container::Runtime::new(root))
    };
    // runc's `exec` exits 255 on every failure past its arguments' count
    // (`fatalWithCode(..., 255)`), which callers tell from the exit status
    // of the process it runs; every other verb exits 1.
    let failure = if matches!(command, Command::Exec(_)) {
        255
    } else {
        1
    };
    let result = (|| match command {
        Command::Create(a) => commands::create::run(&runtime()?, a, host),
        Command::Start(a) => commands::start::run(&runtime()?, a),
        Command::State(a) => commands::state::run(&runtime()?, a),
        Command::Kill(a) => commands::kill::run(&runtime()?, a),
        Command::Delete(a) => commands::delete::run(&runtime()?, a),
        Command::Run(a) => commands::run::run(&runtime()?, a, host),
        Command::List(a) => commands::list::run(&runtime()?, a),
        Command::Exec(a) => commands::exec::run(&runtime()?, *a),
        Command::Pause(a) => commands::pause::pause(&runtime()?, a),
        Command::Resume(a) => commands::pause::resume(&runtime()?, a),
        Command::Update(a) => commands::update::run(&runtime()?, *a),
        Command::Ps(a) => commands::ps::run(&runtime()?, a),
        Command::Events(a) => commands::events::run(&runtime()?, a),
        Command::Features => commands::features::run(),
        Command::Spec(a) => commands::spec::run(a),
        Command::Plan(a) => commands::plan::run(a, host),
        Command::Completion(a) => commands::docs::completion(a),
        Command::Man(a) => commands::docs::man(a),
    })();

    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Warnings of the failed operation's clean-up first (a failed
            // create's poststop hooks), then the error, as `delete` logs its
            // poststop warnings.
            log::warnings(e.lib().map(cella::Error::warnings).unwrap_or_default());
            // One line: the error, then its causes (`Display` says only
            // each one's own part).
            logger.error(&cella::error::Chain(&e).to_string());
            ExitCode::from(failure)
        }
    }
}
