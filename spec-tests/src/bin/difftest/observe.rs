//! Running one case under one runtime and turning what came out into an observation: a map
//! from keys (`outcome`, `status.CapEff`, `mounts`, ...) to values, with what legitimately
//! differs between two runs normalised away.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::corpus::{Case, Mode};
use crate::harness::{self, Ctn, Ctx, Output};
use crate::prepare;

/// Key → value (lists are joined with newlines).
pub type Obs = BTreeMap<String, String>;

/// The runtime's stderr: kept for the report, never compared.
pub const NOTE_STDERR: &str = "note.stderr";

const BEGIN: &str = "--- difftest observation ---";
const END: &str = "--- end ---";

/// The observation of a case that could not be run at all (the harness's failure: it makes
/// both sides differ from a real run, so it shows).
pub fn failed(why: &str) -> Obs {
    let mut o = Obs::new();
    o.insert("outcome".into(), format!("harness error: {why}"));
    o
}

/// Runs `case` under the context's runtime in a fresh bundle; `tag` makes its id unique.
pub fn observe(ctx: &Ctx, case: &Case, tag: &str) -> Obs {
    ctx.set_current(&format!("dt-{tag}"));
    match observe_in(ctx, case, tag) {
        Ok(o) => o,
        Err(e) => failed(&e),
    }
}

fn observe_in(ctx: &Ctx, case: &Case, tag: &str) -> Result<Obs, String> {
    let c = Ctn::new(ctx, "")?;
    let cgroup = format!("/difftest-{}-{tag}", ctx.pid);
    let cfg = prepare::bundle(&c, &case.config, case.mode, &cgroup)?;
    let out = c.run()?;
    let mut o = match case.mode {
        Mode::Probe => from_probe(&out),
        Mode::OwnArgs => from_args(&out),
    };
    // Not compared (error texts differ between runtimes): shown with a differing outcome.
    let err: String = out.stderr.trim().chars().take(400).collect();
    o.insert(NOTE_STDERR.into(), err);
    host_side(ctx, &c, &cfg, &cgroup, &mut o);
    let subst = Subst::new(ctx, &c, &cgroup);
    Ok(o.into_iter().map(|(k, v)| (k, subst.apply(&v))).collect())
}

/// The runtime's `run` as the probe's container: the probe's JSON, or how the run ended
/// without it.
fn from_probe(out: &Output) -> Obs {
    let mut o = Obs::new();
    let text = out
        .stdout
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(j, _)| j);
    let parsed = text.and_then(|t| serde_json::from_str::<Value>(t).ok());
    match parsed {
        Some(Value::Object(m)) => {
            o.insert("outcome".into(), format!("ran, exit {}", out.code));
            for (k, v) in m {
                match (itemised(&k), v.as_array()) {
                    (Some(split), Some(items)) => {
                        for it in items.iter().filter_map(Value::as_str) {
                            let (ik, iv) = split(it);
                            let e = o.entry(format!("{k}:{ik}")).or_default();
                            if !e.is_empty() {
                                e.push_str(" | ");
                            }
                            e.push_str(iv);
                        }
                    }
                    _ => {
                        o.insert(k, flatten(&v));
                    }
                }
            }
            o = normalise_namespaces(o);
        }
        _ if out.timed_out => {
            o.insert("outcome".into(), "timed out".into());
        }
        _ if out.code != 0 => {
            o.insert("outcome".into(), "refused (no observation)".into());
        }
        _ => {
            o.insert(
                "outcome".into(),
                format!("exit {} without an observation", out.code),
            );
        }
    }
    o
}

/// The config's own program: its exit status and stdout.
fn from_args(out: &Output) -> Obs {
    let mut o = Obs::new();
    let outcome = if out.timed_out {
        "timed out".to_string()
    } else {
        format!("exit {}", out.code)
    };
    o.insert("outcome".into(), outcome);
    o.insert("stdout".into(), out.stdout.clone());
    o
}

/// Splits a list item into its key and value.
type ItemKey = fn(&str) -> (&str, &str);

/// How the items of a list are keyed: one key per mount point, `/dev` entry, fd, variable,
/// cgroup hierarchy, so that an expected difference names exactly one of them.
fn itemised(key: &str) -> Option<ItemKey> {
    fn at_space(s: &str) -> (&str, &str) {
        s.split_once(' ').unwrap_or((s, ""))
    }
    fn at_equals(s: &str) -> (&str, &str) {
        s.split_once('=').unwrap_or((s, ""))
    }
    fn at_last_colon(s: &str) -> (&str, &str) {
        s.rsplit_once(':').unwrap_or((s, ""))
    }
    match key {
        "mounts" | "dev" | "fds" => Some(at_space),
        "proc.env" => Some(at_equals),
        "cgroup.self" => Some(at_last_colon),
        _ => None,
    }
}

fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(flatten).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

/// `ns.KIND`: `host` when the probe shares the harness's namespace, `new` otherwise (inode
/// numbers differ between runs).
fn normalise_namespaces(mut o: Obs) -> Obs {
    for (k, v) in o.iter_mut() {
        let Some(kind) = k.strip_prefix("ns.") else {
            continue;
        };
        if v.starts_with('<') {
            continue;
        }
        let mine = fs::read_link(format!("/proc/self/ns/{kind}"))
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default();
        *v = if *v == mine {
            "host".into()
        } else {
            "new".into()
        };
    }
    o
}

/// What the host sees after `run` returned: the container must be gone (state and cgroup).
/// What is left is removed here (it is ours) after being noted.
fn host_side(ctx: &Ctx, c: &Ctn, cfg: &Value, cgroup: &str, o: &mut Obs) {
    let state = ctx
        .rt(&["state", &c.id])
        .map(|s| s.code == 0)
        .unwrap_or(false);
    o.insert(
        "host.state_after_run".into(),
        if state { "present" } else { "gone" }.into(),
    );
    let mut paths = vec![format!("/{}", c.id)];
    if let Some(p) = cfg["linux"]["cgroupsPath"].as_str() {
        paths.push(p.to_string());
    }
    paths.push(cgroup.to_string());
    let mut left = Vec::new();
    for p in &paths {
        for d in harness::cgroup_path_dirs(p) {
            left.push(d.to_string_lossy().into_owned());
        }
    }
    left.sort();
    left.dedup();
    if !left.is_empty() {
        // Delete first (the runtime removes its own cgroups), then whatever remains.
        let _ = ctx.rt(&["delete", "--force", &c.id]);
        for d in left.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    }
    o.insert("host.cgroups_after_run".into(), left.join("\n"));
}

/// The strings of one run that another run of the same config has differently.
struct Subst {
    pairs: Vec<(String, &'static str)>,
}

impl Subst {
    fn new(ctx: &Ctx, c: &Ctn, cgroup: &str) -> Subst {
        let mut pairs = vec![
            (c.bundle.to_string_lossy().into_owned(), "<BUNDLE>"),
            (ctx.work.to_string_lossy().into_owned(), "<WORK>"),
            (cgroup.to_string(), "<CGROUP>"),
            (c.id.clone(), "<ID>"),
        ];
        // The longest first, so that the bundle (under the work dir) is not half-replaced.
        pairs.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        Subst { pairs }
    }

    fn apply(&self, v: &str) -> String {
        let mut s = v.to_string();
        for (from, to) in &self.pairs {
            s = s.replace(from.as_str(), to);
        }
        scratch_names(&s)
    }
}

/// The harness's scratch files (`.out-N`, `.err-N`: the container's stdio) are numbered per
/// context: the numbers go.
fn scratch_names(s: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re =
        RE.get_or_init(|| regex::Regex::new(r"<WORK>/\.(out|err|in)-\d+").expect("constant regex"));
    re.replace_all(s, "<WORK>/.$1-N").into_owned()
}

/// Removes the context's state root and work directory at the end; returns what was left in
/// them (a container the runtime still lists).
pub fn clean_up(ctx: &Ctx) -> Vec<String> {
    let mut left = Vec::new();
    if let Ok(out) = ctx.rt(&["list", "-q"]) {
        for id in out.stdout.lines().filter(|l| !l.trim().is_empty()) {
            left.push(format!("{} still lists {id}", ctx.runtime.display()));
            let _ = ctx.rt(&["delete", "--force", id]);
        }
    }
    for d in [&ctx.root, &ctx.work] {
        remove_dir_checked(d);
    }
    left
}

fn remove_dir_checked(d: &PathBuf) {
    if harness::mounts_under(Path::new(d)).is_empty() {
        let _ = fs::remove_dir_all(d);
    }
}
