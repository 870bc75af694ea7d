#!/usr/bin/env bash
# Builds the cella binary that ships, and prints its path as the last line:
#   ${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/cella
#
# It is a static PIE (glibc's static libraries, from libc6-dev), linked with the functions a
# lifecycle runs placed together (runtime-bin/cella.order, passed by runtime-bin/build.rs for
# this build only), at the release profile's opt-level "s": a `run` peaks at about 2.5 MiB
# resident against 5.0 for a plain `cargo build --release` (benches/README.md, "Peak RSS").
# Everything that runs the release cella (scripts/test-all.sh, scripts/demo.sh, benches,
# spec-tests/results.sh, vm/) uses this binary.
#
# Why the explicit --target: crt-static in RUSTFLAGS then applies to the target's crates only,
# not to the build scripts and proc-macros (host crates, which cannot be static). The output
# path is the one cargo gives a --target build, apart from `cargo build --release`'s
# target/release/cella (dynamic, no order: fine for development, not what is measured).
#
#   scripts/build-release.sh [--rustflags FLAGS]   (FLAGS appended: benches/layout/profile.sh
#                                                    builds its page-aligned copy with them)
# The caller's RUSTFLAGS are ignored, so that the shipped binary does not depend on them.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
target=x86_64-unknown-linux-gnu
extra=""
if [[ ${1:-} == --rustflags ]]; then
    extra=" ${2:?--rustflags needs a value}"
    shift 2
fi
(($# == 0)) || { echo "usage: scripts/build-release.sh [--rustflags FLAGS]" >&2; exit 2; }

RUSTFLAGS="-C target-feature=+crt-static$extra" cargo build --release --target "$target" -p cella-bin >&2
echo "$(realpath -m "${CARGO_TARGET_DIR:-target}")/$target/release/cella"
