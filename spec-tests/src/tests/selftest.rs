//! Tests of the runner itself, run only with `--self-test` (by `cargo test -p spec-tests`): a
//! test that hangs with a running container is killed after `--test-timeout` and its container
//! removed; a test that crashes (abort) leaves nothing either; a test that leaves a container
//! behind fails with the leftover named.

use crate::bundle::base_config;
use crate::harness::{Ctn, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = |name, f| Test::new("selftest", name, f);
    vec![
        t("hang", hang),
        t("crash", crash),
        t("leak", leak),
        t("pass", |_| Ok(())),
    ]
}

fn running(ctx: &Ctx) -> Result<Ctn<'_>, String> {
    let c = Ctn::new(ctx, "")?;
    c.write_config(&base_config(&["sleep", "1000"]))?;
    c.start_new()?;
    Ok(c)
}

fn hang(ctx: &Ctx) -> TestResult {
    let _c = running(ctx)?;
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

fn crash(ctx: &Ctx) -> TestResult {
    let _c = running(ctx)?;
    println!("about to abort");
    std::process::abort()
}

fn leak(ctx: &Ctx) -> TestResult {
    let c = running(ctx)?;
    // Skip the guard: the container stays.
    std::mem::forget(c);
    Ok(())
}
