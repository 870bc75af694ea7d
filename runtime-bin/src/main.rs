//! The `cella` binary: everything is in the `cella_bin` library (`lib.rs`).

fn main() -> std::process::ExitCode {
    cella_bin::run()
}
