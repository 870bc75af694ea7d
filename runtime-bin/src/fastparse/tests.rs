use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::Parser;

use super::parse;
use crate::Cli;

fn words(parts: &[&[&str]]) -> Vec<OsString> {
    parts
        .iter()
        .flat_map(|p| p.iter())
        .map(OsString::from)
        .collect()
}

/// What clap makes of `args`, or `None` for an error.
fn clap(args: &[OsString]) -> Option<Cli> {
    let argv = std::iter::once(OsString::from("cella")).chain(args.iter().cloned());
    Cli::try_parse_from(argv).ok()
}

/// Every line the fast parser accepts, clap parses to the same `Cli`.
fn check(args: &[OsString], accepted: &mut usize) {
    if let Some(fast) = parse(args) {
        *accepted += 1;
        assert_eq!(clap(args).as_ref(), Some(&fast), "{args:?}");
    }
}

const BEFORE: &[&[&str]] = &[
    &[],
    &["--root", "/r"],
    &["--root=/r"],
    &["--log", "/l", "--log-format", "json"],
    &["--log-format=text", "--debug"],
    &["--systemd-cgroup"],
    &["--rootless", "true"],
    &["--rootless=auto", "--root", "/r"],
    &["--rootless", "bogus"],
    &["--log-format", "xml"],
    &["-v"],
    &["--root"],
    &["--root", ""],
    &["--root", "--debug"],
    &["--root", "/a", "--root", "/b"],
    &["--debug=1"],
    &["--nonsense"],
];

const AFTER: &[&[&str]] = &[
    &[],
    &["--root", "/r2"],
    &["--debug"],
    &["--log=/l2"],
    &["--rootless", "true"],
    &["--log-format", "json"],
];

fn flags(command: &str) -> Vec<&'static [&'static str]> {
    let create: Vec<&'static [&'static str]> = vec![
        &["--bundle", "/b"],
        &["-b", "/b"],
        &["--bundle=/b"],
        &["-b/b"],
        &["--pid-file", "/p"],
        &["--console-socket=/s"],
        &["--pidfd-socket", "/f"],
        &["--no-pivot"],
        &["--no-new-keyring"],
        &["--preserve-fds", "3"],
        &["--preserve-fds", "x"],
        &["--preserve-fds=+3"],
        &["--bundle", "/b", "--bundle", "/c"],
        &["--no-pivot=true"],
        &["--force"],
    ];
    let mut all: Vec<&'static [&'static str]> = vec![&[]];
    match command {
        "create" => all.extend(create),
        "run" => {
            all.extend(create);
            all.extend::<[&'static [&'static str]; 6]>([
                &["-d"],
                &["--detach"],
                &["--keep"],
                &["-dk"],
                &["-d", "-d"],
                &["--detach=false"],
            ]);
        }
        "delete" => all.extend::<[&'static [&'static str]; 4]>([
            &["-f"],
            &["--force"],
            &["-fa"],
            &["--all"],
        ]),
        "kill" => all.extend::<[&'static [&'static str]; 3]>([&["-a"], &["--all"], &["-f"]]),
        _ => all.extend::<[&'static [&'static str]; 2]>([&["-f"], &["--bundle", "/b"]]),
    }
    all
}

const IDS: &[&[&str]] = &[
    &["id"],
    &[],
    &["id", "KILL"],
    &["id", "9", "x"],
    &[""],
    &["-x"],
    &["id", "--", "x"],
];

const COMMANDS: &[&str] = &["create", "run", "start", "state", "kill", "delete", "list"];

#[test]
fn every_accepted_line_is_what_clap_makes_of_it() {
    let mut accepted = 0;
    let mut total = 0;
    for before in BEFORE {
        for command in COMMANDS {
            for flag in flags(command) {
                for ids in IDS {
                    for after in AFTER {
                        // Flags before and after the arguments.
                        for line in [
                            words(&[before, &[command], flag, ids, after]),
                            words(&[before, &[command], ids, flag, after]),
                        ] {
                            total += 1;
                            check(&line, &mut accepted);
                        }
                    }
                }
            }
        }
    }
    eprintln!("fast path: {accepted} of {total} lines accepted, each as clap parses it");
    // The corpus must exercise both sides.
    assert!(accepted > 500 && accepted < total, "{accepted} of {total}");
}

#[test]
fn the_lines_engines_send_take_the_fast_path() {
    for line in [
        &[
            "--root",
            "/run/containerd/runc/k8s.io",
            "--log",
            "/l.json",
            "--log-format",
            "json",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/b/init.pid",
            "ctr1",
        ][..],
        &[
            "--root",
            "/run/containerd/runc/k8s.io",
            "--log",
            "/l.json",
            "--log-format",
            "json",
            "start",
            "ctr1",
        ],
        &[
            "--root",
            "/r",
            "--log",
            "/l",
            "--log-format",
            "json",
            "delete",
            "ctr1",
        ],
        &["--root", "/r", "kill", "ctr1", "9"],
        &["--root", "/r", "kill", "--all", "ctr1", "KILL"],
        &["--root", "/r", "state", "ctr1"],
        &[
            "--systemd-cgroup",
            "--root",
            "/r",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "--console-socket",
            "/s",
            "--pidfd-socket",
            "/f",
            "ctr1",
        ],
        &["--root", "/r", "delete", "--force", "ctr1"],
        &["run", "-d", "--bundle", "/b", "ctr1"],
    ] {
        let args = words(&[line]);
        let fast = parse(&args);
        assert!(fast.is_some(), "{line:?}");
        assert_eq!(clap(&args), fast, "{line:?}");
    }
}

#[test]
fn what_is_left_to_clap() {
    let non_utf8 = vec![
        OsString::from("start"),
        OsString::from_vec(vec![b'a', 0xff]),
    ];
    assert!(parse(&non_utf8).is_none());
    for line in [
        &[][..],
        &["--help"],
        &["start", "--help"],
        &["exec", "id", "true"],
        &["start", "a", "b"],
        &["kill", "a", "9", "x"],
        &["delete", "-f", "-f", "id"],
        &["run", "-dk", "id"],
    ] {
        assert!(parse(&words(&[line])).is_none(), "{line:?}");
    }
}
