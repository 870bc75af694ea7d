//! Paths in JSON. A path is bytes, and a bundle directory's name need not
//! be UTF-8; a JSON string must be.
//!
//! - [`lossy`]: for the OCI state others read (`state`, the hooks' stdin,
//!   the seccomp agent's message): a string, each invalid byte replaced by
//!   U+FFFD, as runc's Go encoder writes it.
//! - [`exact`]: for cella's own state file, read back by later commands: a
//!   string when the path is UTF-8, else the array of its bytes.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serializer};

/// Serializes `p` as a string, lossily (see the module's doc).
pub(crate) fn lossy<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// A path that round-trips exactly (see the module's doc).
pub(crate) mod exact {
    use super::*;

    /// The two spellings read back.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Spelled {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub(crate) fn serialize<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
        match p.to_str() {
            Some(text) => s.serialize_str(text),
            None => s.collect_seq(p.as_os_str().as_bytes()),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        Ok(match Spelled::deserialize(d)? {
            Spelled::Text(t) => PathBuf::from(t),
            Spelled::Bytes(b) => PathBuf::from(OsString::from_vec(b)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, Deserialize, PartialEq, Debug)]
    struct Exact(#[serde(with = "exact")] PathBuf);

    #[test]
    fn exact_round_trips_any_bytes() {
        for raw in [&b"/run/b"[..], b"/tmp/bun\xffdle", b"\xc3\x28", b""] {
            let p = Exact(PathBuf::from(OsString::from_vec(raw.to_vec())));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Exact>(&json).unwrap(), p, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Exact("/a".into())).unwrap(),
            r#""/a""#
        );
    }

    #[test]
    fn lossy_replaces_invalid_bytes() {
        #[derive(serde::Serialize)]
        struct L<'a>(#[serde(serialize_with = "lossy")] &'a Path);
        let p = PathBuf::from(OsString::from_vec(b"/b\xff".to_vec()));
        assert_eq!(serde_json::to_string(&L(&p)).unwrap(), "\"/b\u{fffd}\"");
    }
}
