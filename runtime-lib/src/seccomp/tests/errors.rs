//! Profiles that must be refused, with the field named in JSON spelling.

use super::*;
use crate::seccomp::SeccompError;

fn refused(name: &str) -> SeccompError {
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    match parse_profile(&text).and_then(|p| compile(&p)) {
        Ok(_) => panic!("{name} compiled"),
        Err(e) => e,
    }
}

fn field(e: &SeccompError) -> &str {
    match e {
        SeccompError::Parse { field, .. } | SeccompError::InvalidField { field, .. } => field,
        SeccompError::TooLong { .. } | SeccompError::UnsupportedKernel { .. } => "linux.seccomp",
    }
}

#[test]
fn bad_fixtures_name_the_field() {
    let cases = [
        ("bad/unknown-arch.json", "linux.seccomp.architectures[1]"),
        (
            "bad/unknown-action.json",
            "linux.seccomp.syscalls[1].action",
        ),
        (
            "bad/unknown-operator.json",
            "linux.seccomp.syscalls[0].args[0].op",
        ),
        (
            "bad/errnoret-on-allow.json",
            "linux.seccomp.syscalls[0].errnoRet",
        ),
        (
            "bad/arg-index-6.json",
            "linux.seccomp.syscalls[0].args[0].index",
        ),
        ("bad/notify-default.json", "linux.seccomp.defaultAction"),
        (
            "bad/notify-without-listener.json",
            "linux.seccomp.listenerPath",
        ),
        ("bad/empty-names.json", "linux.seccomp.syscalls[0].names"),
    ];
    for (name, want) in cases {
        let e = refused(name);
        assert_eq!(field(&e), want, "{name}: {e}");
        assert!(e.to_string().starts_with(want), "{e}");
    }
    let e = refused("bad/unknown-action.json");
    let line = crate::error::Chain(&e).to_string();
    assert!(line.contains("SCMP_ACT_MAYBE"), "{line}");
}

#[test]
fn other_invalid_fields() {
    let cases = [
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}"#,
            "linux.seccomp.defaultErrnoRet",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 65536}"#,
            "linux.seccomp.defaultErrnoRet",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}"#,
            "linux.seccomp.listenerMetadata",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
            "linux.seccomp.flags[1]",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW"]}"#,
            "linux.seccomp.flags[0]",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_LOG"}]}"#,
            "linux.seccomp.syscalls[0].names[1]",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]}"#,
            "linux.seccomp.syscalls[0].errnoRet",
        ),
        (r#"{"syscalls": []}"#, "linux.seccomp"),
    ];
    for (json, want) in cases {
        let e = match parse_profile(json).and_then(|p| compile(&p)) {
            Ok(_) => panic!("compiled: {json}"),
            Err(e) => e,
        };
        assert_eq!(field(&e), want, "{json}: {e}");
    }
}
