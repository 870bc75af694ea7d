//! The expected-differences file: one difference a line, `CASE KEY REASON...`, where CASE and
//! KEY are globs (`*` any run of characters, `?` one) over case names and observation keys,
//! and REASON says why the difference is right or known. `#` starts a comment line.

use std::path::Path;

pub struct Entry {
    pub case: String,
    pub key: String,
    pub reason: String,
    /// `file:line`, for messages.
    pub at: String,
}

impl Entry {
    pub fn matches(&self, case: &str, key: &str) -> bool {
        glob(&self.case, case) && glob(&self.key, key)
    }
}

pub fn read(path: &Path) -> Result<Vec<Entry>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--expected {}: {e}", path.display()))?;
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let mut words = line.split_whitespace();
        let (Some(case), Some(key)) = (words.next(), words.next()) else {
            return Err(format!("{at}: want `CASE KEY REASON`, got {line:?}"));
        };
        let reason = words.collect::<Vec<_>>().join(" ");
        if reason.is_empty() {
            return Err(format!("{at}: no reason given"));
        }
        v.push(Entry {
            case: case.to_string(),
            key: key.to_string(),
            reason: reason.to_string(),
            at,
        });
    }
    Ok(v)
}

/// Shell-style matching with `*` and `?` only.
pub fn glob(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob(
            "seccomp/*-no-close_range",
            "seccomp/podman-default-no-close_range"
        ));
        assert!(glob("*", "anything/at all"));
        assert!(glob(
            "field/process.cwd.?issing",
            "field/process.cwd.missing"
        ));
        assert!(!glob("field/process.cwd", "field/process.cwd.missing"));
        assert!(glob("status.Cap*", "status.CapEff"));
        assert!(!glob("a*b", "acbd"));
    }
}
