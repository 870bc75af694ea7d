use std::io::Write;
use std::time::Duration;

use cella::container::Runtime;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// Print the stats once and exit.
    #[arg(long)]
    stats: bool,
    /// Time between stats events (e.g. 5s, 500ms, 1m).
    #[arg(long, default_value = "5s")]
    interval: String,
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    id: String,
}

/// Go's duration spelling, the common units.
fn parse_duration(s: &str) -> Result<Duration, cella::Error> {
    let bad = || cella::Error::Usage(format!("--interval {s:?}: not a duration like 5s or 500ms"));
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ns" => n / 1e9,
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 {
        return Err(cella::Error::Usage("--interval must be positive".into()));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    let c = rt.load(&a.id)?;
    if a.stats {
        println!(
            "{}",
            serde_json::to_string(&c.stats_event()?).unwrap_or_default()
        );
        return Ok(0);
    }
    let interval = parse_duration(&a.interval)?;
    let stdout = std::io::stdout();
    c.events(interval, |e| {
        let mut out = stdout.lock();
        writeln!(out, "{}", serde_json::to_string(e).unwrap_or_default()).is_ok()
            && out.flush().is_ok()
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
