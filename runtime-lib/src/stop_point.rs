//! Named points in `create` where a debug build can stop itself, so that a
//! test can kill it there (crash consistency) or act as an attacker racing
//! the runtime (swapping a path between two steps) without relying on
//! timing.
//!
//! Only builds with debug assertions (`cargo build`, the test builds) have
//! them: in a release build [`reached`] is an empty function, so no
//! environment, config or input can make the shipped runtime stop. In a
//! debug build, `CELLA_STOP_AT=<step>[,<step>...]` makes the process that reaches
//! `<step>` append `<pid> <step>` to the file named by `CELLA_STOP_REPORT`
//! (when set), stop itself with `SIGSTOP` and wait for `SIGCONT`, which
//! lets it go on.
//! `docs/security.md` lists the steps.

/// Marks `step` as reached (see the module documentation).
#[inline]
pub(crate) fn reached(step: &str) {
    #[cfg(debug_assertions)]
    debug_only::reached(step);
    #[cfg(not(debug_assertions))]
    let _ = step;
}

#[cfg(debug_assertions)]
mod debug_only {
    use std::io::Write;

    pub(super) fn reached(step: &str) {
        let Some(want) = std::env::var_os("CELLA_STOP_AT") else {
            return;
        };
        if !want.to_string_lossy().split(',').any(|w| w == step) {
            return;
        }
        if let Some(report) = std::env::var_os("CELLA_STOP_REPORT") {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(report)
            {
                // `/proc/self` names us in the procfs mounted at `/proc`:
                // until `pivot_root` that is the host's, whose pid the test
                // can use; getpid(2) would give 1 in a new pid namespace.
                let pid = std::fs::read_link("/proc/self")
                    .ok()
                    .and_then(|p| p.to_str().and_then(|s| s.parse::<u32>().ok()))
                    .unwrap_or_else(std::process::id);
                let _ = writeln!(f, "{pid} {step}");
            }
        }
        // SIGCONT is blocked so that it stays pending and `wait` sees it:
        // a container's init is pid 1 of its namespace, which ignores the
        // SIGSTOP it raises itself (the test stops it from outside, which
        // the kernel honours), so it waits here for the SIGCONT instead.
        use nix::sys::signal::{SigSet, SigmaskHow, Signal};
        let mut cont = SigSet::empty();
        cont.add(Signal::SIGCONT);
        let mut old = SigSet::empty();
        let _ =
            nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&cont), Some(&mut old));
        let _ = nix::sys::signal::raise(Signal::SIGSTOP);
        let _ = cont.wait();
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    }
}
