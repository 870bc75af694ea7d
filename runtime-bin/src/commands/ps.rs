use std::ffi::OsString;
use std::process::Command;

use cella::container::Runtime;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// table (ps(1) output of the container's processes) or json (pids).
    #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    id: String,
    /// Options passed to ps(1) (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<OsString>,
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    let pids: Vec<i32> = rt
        .load(&a.id)?
        .processes()?
        .iter()
        .map(|p| p.as_raw())
        .collect();
    if a.format == "json" {
        println!("{}", serde_json::to_string(&pids).unwrap_or_default());
        return Ok(0);
    }
    let args = if a.ps_args.is_empty() {
        vec![OsString::from("-ef")]
    } else {
        a.ps_args
    };
    let program = || format!("ps {}", args.join(" ".as_ref()).to_string_lossy());
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| crate::Failure::Program {
            program: program(),
            reason: format!("cannot run: {e}"),
        })?;
    if !out.status.success() {
        return Err(crate::Failure::Program {
            program: program(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Ok(0);
    };
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        return Err(crate::Failure::Program {
            program: program(),
            reason: "its output has no PID column".into(),
        });
    };
    println!("{header}");
    for line in lines {
        if let Some(pid) = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok())
        {
            if pids.contains(&pid) {
                println!("{line}");
            }
        }
    }
    Ok(0)
}
