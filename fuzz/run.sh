#!/usr/bin/env bash
# Builds every fuzz target with cargo-fuzz and fuzzes each for SECONDS (default 30) from the
# seed corpus in fuzz/corpus/<target>. New inputs go to a scratch directory, never into the
# repository's corpus; a crash or hang is saved in fuzz/artifacts/<target>/ and fails the run.
#
# cargo-fuzz needs nightly flags (-Z sanitizer, sancov): on the stable toolchain they are
# enabled with RUSTC_BOOTSTRAP=1, which lets this stable rustc accept them.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$fuzz_dir"
seconds=${1:-30}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(config process resources state cli)
fi
export RUSTC_BOOTSTRAP=1
if ! command -v cargo-fuzz >/dev/null; then
    echo "fuzz: installing cargo-fuzz from crates.io"
    cargo install cargo-fuzz --locked
fi
scratch=$(mktemp -d /tmp/cella-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
failed=0
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t" "artifacts/$t"
    echo "==> fuzz $t for ${seconds}s (built first if needed)"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: one using 2 GiB a leak.
    if ! cargo fuzz run -O "$t" "$scratch/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"$scratch/$t.log" 2>&1; then
        echo "fuzz: $t FAILED (input saved under fuzz/artifacts/$t/):"
        tail -n 40 "$scratch/$t.log"
        failed=1
        continue
    fi
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$scratch/$t.log" |
        tr '\n' ' ' | sed "s/^/fuzz: $t: /"
    echo
done
if ((failed)); then
    echo "fuzz: some targets failed"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash, hang or leak"
