use cella::container::Runtime;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// table or json.
    #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    /// Print ids only.
    #[arg(short = 'q', long)]
    quiet: bool,
}

pub fn run(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    let states: Vec<_> = rt.list()?.iter().map(|c| c.oci_state()).collect();
    if a.quiet {
        for s in &states {
            println!("{}", s.id);
        }
    } else if a.format == "json" {
        println!("{}", serde_json::to_string(&states).unwrap_or_default());
    } else {
        let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
            .map(String::from)
            .to_vec()];
        for s in &states {
            rows.push(vec![
                s.id.clone(),
                s.pid.to_string(),
                s.status.to_string(),
                s.bundle.display().to_string(),
                s.created.clone(),
                s.owner.clone(),
            ]);
        }
        print!("{}", tabulate(&rows));
    }
    Ok(0)
}

/// Go's tabwriter as runc configures it (min width 12, padding 3): every
/// column but the last is padded to its widest cell plus 3, at least 12.
fn tabulate(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .map(|w| (w + 3).max(12))
        .collect();
    let mut out = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}
