//! The spec sentence each test checks, by test name: `document#section: sentence`, quoting
//! runtime-spec 1.2 (`runtime.md`, `config.md`, `config-linux.md`, `features.md`) or naming
//! runc's documented command line where the spec says nothing (the CLI is not in the spec).

/// `(test name, spec reference)`; a name ending in `*` covers every test it is a prefix of
/// (the tests made from a corpus).
const REFS: &[(&str, &str)] = &[];

/// The spec reference of a test, if the table has one.
pub fn lookup(name: &str) -> Option<&'static str> {
    REFS.iter()
        .find(|(n, _)| match n.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => *n == name,
        })
        .map(|(_, s)| *s)
}
