use std::path::PathBuf;

use cella::plan::CreateOptions;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// Bundle directory.
    #[arg(short = 'b', long, default_value = ".")]
    bundle: PathBuf,
    /// As for create.
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// As for create.
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// As for create.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Container id the plan is for (it names the default cgroup).
    #[arg(default_value = "plan", value_parser = crate::utf8("container id"))]
    id: String,
}

pub fn run(a: Args, host: super::Host) -> Result<u8, crate::Failure> {
    cella::container::validate_id(&a.id)?;
    let opts = CreateOptions {
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        pidfd_socket: None,
        // As for a foreground `run`, which can always take a terminal.
        console: cella::plan::Console::Relay,
        listen_fds: 0,
        rootless: host.rootless,
        cgroups: Default::default(),
        cgroup_driver: host.driver,
        // Its mount's source is in a runtime's state directory, which a
        // plan alone has not.
        notify_socket: false,
    };
    let plan = cella::container::plan_bundle(&a.bundle, &a.id, &opts)?;
    let text = serde_json::to_string_pretty(&plan).map_err(|e| crate::Failure::Output {
        what: "print the plan as JSON",
        source: e.into(),
    })?;
    println!("{text}");
    Ok(0)
}
