//! The drivers' command lines: `--flag value` or `--flag=value`, in any order.

/// The words of a command line, read flag by flag.
pub struct Flags<I> {
    args: I,
    usage: &'static str,
}

/// One flag as given, with the part after `=` when it was written `--flag=value`.
pub struct Flag {
    pub name: String,
    inline: Option<String>,
}

impl<I: Iterator<Item = String>> Flags<I> {
    /// `usage` is appended to the error for a missing value.
    pub fn new(args: I, usage: &'static str) -> Self {
        Flags { args, usage }
    }

    /// The next flag, or `None` at the end.
    pub fn next_flag(&mut self) -> Option<Flag> {
        let arg = self.args.next()?;
        Some(match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => Flag {
                name: name.to_string(),
                inline: Some(value.to_string()),
            },
            _ => Flag {
                name: arg,
                inline: None,
            },
        })
    }

    /// The value of `flag`: its `=value`, else the next word.
    pub fn value(&mut self, flag: &Flag) -> Result<String, String> {
        flag.inline
            .clone()
            .or_else(|| self.args.next())
            .ok_or_else(|| format!("{} needs a value\n{}", flag.name, self.usage))
    }
}
