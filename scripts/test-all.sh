#!/usr/bin/env bash
# Run the repository's tests, in order, stopping at the first failure. Three ways:
#
#   scripts/test-all.sh               the full run (what CI runs through .ci/run): every step
#                                     below but the quick tier's debug runs, about 25 minutes
#   scripts/test-all.sh --quick       the quick tier, after every change (5-6 minutes here):
#                                     fmt, clippy, function lengths, cargo doc, cargo test, then
#                                     spec-tests and difftest against the debug cella that
#                                     cargo test built (no release build)
#   scripts/test-all.sh --step ID...  the named steps only (repeatable, in the order given); a
#                                     step uses what earlier steps built, as in the full run
#   scripts/test-all.sh --list        the steps: id, tiers, title
#
# Needs root (integration tests and spec-tests create containers). Runs from the repository
# root whatever the caller's cwd; honours CARGO_TARGET_DIR. docs/testing.md describes the tiers.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
rootfs=$repo/fixtures/cache/rootfs
# The shipped binary, built by scripts/build-release.sh (static PIE, function order).
cella=$target_dir/x86_64-unknown-linux-gnu/release/cella

# Packages the tests use: busybox-static (rootfs), runc and crun (peers for spec-tests and
# benches), hyperfine (benchmarks), iproute2 (network namespace checks), util-linux (unshare,
# nsenter, mountpoint, losetup), e2fsprogs (the layout check's ext4 image), gcc + libc6-dev
# (rustc links through cc; glibc's static libraries for the shipped cella), g++ (libFuzzer,
# built by cargo-fuzz's libfuzzer-sys); the engines of engine-tests: containerd, podman (with
# conmon, netavark and the containers-common files), docker.io, tmux (interactive sessions),
# python3-grpcio + python3-protobuf (the CRI client); for rootless-tests: uidmap
# (newuidmap/newgidmap), podman, slirp4netns and catatonit (rootless podman: network, pause
# process), passwd (useradd/userdel) and bsdutils (script: a pty for the terminal tests);
# groff-base (the CLI test renders `cella man`); mmdebstrap (the Debian guest's image, vm/debian/);
# dbus-daemon (the D-Bus client's tests run a private bus).
packages=(busybox-static dbus-daemon runc crun hyperfine iproute2 util-linux e2fsprogs gcc g++ libc6-dev groff-base
    qemu-system-x86 linux-image-cloud-amd64 cpio python3
    containerd podman conmon golang-github-containers-common netavark aardvark-dns
    containernetworking-plugins iptables docker.io tmux python3-grpcio python3-protobuf
    uidmap slirp4netns catatonit passwd bsdutils mmdebstrap)
# What the quick tier's steps need of them.
quick_packages=(busybox-static dbus-daemon runc iproute2 util-linux gcc libc6-dev groff-base python3)

# The steps, in the order of a full run: id, tiers (full, quick), title. Each step is the
# function step_<id> (dashes as underscores).
step_table=(
    "preflight          full,quick  preflight (root, cargo)"
    "packages           full,quick  install packages"
    "fmt                full,quick  cargo fmt --check"
    "clippy             full,quick  cargo clippy -D warnings"
    "long-functions     full,quick  no function in runtime-lib/src over 80 lines but the allow-listed"
    "doc                full,quick  cargo doc (cella, -D warnings)"
    "build              full        cargo build --release (the workspace but cella-bin)"
    "build-cella        full        build the shipped cella (scripts/build-release.sh)"
    "rootfs             full,quick  build rootfs"
    "cella-binary       full        cella binary: a static PIE, its pre-libc entry self-contained"
    "cargo-test         full,quick  cargo test (unit + integration)"
    "cross              full        seccomp tables fresh (gen-syscalls.py --check); cella built for aarch64, the library's unit tests under qemu-aarch64; cella checked for musl"
    "spec-tests-debug   quick       spec-tests against the debug cella (stop points included, 100 lifecycles)"
    "difftest-debug     quick       difftest: the corpus under runc and the debug cella"
    "spec-tests         full        spec-tests against cella"
    "spec-tests-runc    full        spec-tests against runc (expected failures: spec-tests/expected/runc.txt)"
    "difftest           full        difftest: the corpus under runc and cella (expected: fixtures/difftest/expected-differences.txt)"
    "engine-tests       full        engine-tests (containerd, CRI, podman, docker) with cella"
    "engine-tests-runc  full        engine-tests with runc (harness check)"
    "rootless-tests     full        rootless-tests against cella (as an unprivileged user)"
    "stop-points        full        spec-tests with stop points (debug cella)"
    "fuzz               full        fuzz (every target, 20 s each)"
    "vm-spec-tests      full        spec-tests against cella in a cgroup v2 VM"
    "vm-rootless-tests  full        rootless-tests against cella in a cgroup v2 VM"
    "vm-embedding       full        embedding tests and examples in a cgroup v2 VM"
    "vm-debian-guest    full        the Debian 12 systemd guest: boots, runs the engines and cella (vm/debian/check.sh)"
    "vm-debian-engines  full        the engines with the systemd cgroup driver in the Debian guest, through cella and runc"
    "vm-debian-engine-tests  full   engine-tests --systemd-cgroup (CRI SystemdCgroup, -it, limits in units) in the Debian guest, through cella"
    "vm-debian-engine-tests-runc  extra  the same through the guest's runc (harness check, by --step only; expected: engine-tests/guest/runc-expected.txt)"
    "vm-debian-spec-tests-systemd  full  spec-tests (cgroup areas) against cella with --systemd-cgroup in the Debian systemd guest"
    "vm-debian-spec-tests          full  spec-tests (cgroups, resources, systemd, apparmor, selinux, net devices, seccomp agents) against cella, cgroupfs driver, in the Debian guest"
    "vm-debian-spec-tests-runc     extra spec-tests (cgroups, resources, systemd, apparmor, selinux, net devices, seccomp agents) against runc --systemd-cgroup in the Debian guest (harness check, by --step only: expected: spec-tests/expected/runc-debian-systemd.txt)"
    "vm-debian-selinux  full        SELinux in the Debian guest (--lsm selinux, permissive): labels of processes, exec, mounts, keyrings, through cella and runc (vm/debian/selinux-check.sh)"
    "cella-layout       full        cella binary: hot functions together, runtime-bin/cella.order fresh"
)

declare -A step_title step_tiers
step_ids=()
for row in "${step_table[@]}"; do
    read -r id tiers title <<<"$row"
    step_ids+=("$id")
    step_tiers[$id]=$tiers
    step_title[$id]=$title
done

usage() {
    echo "usage: scripts/test-all.sh [--quick | --step ID... | --list]" >&2
    exit 2
}

tier=full
selected=()
while (($#)); do
    case $1 in
        --quick) tier=quick ;;
        --step)
            [[ -n ${2:-} ]] || usage
            [[ -n ${step_title[$2]:-} ]] || { echo "test-all: no step '$2' (--list shows them)" >&2; exit 2; }
            selected+=("$2")
            shift
            ;;
        --list)
            for id in "${step_ids[@]}"; do printf '%-18s %-11s %s\n' "$id" "${step_tiers[$id]}" "${step_title[$id]}"; done
            exit 0
            ;;
        *) usage ;;
    esac
    shift
done
if ((${#selected[@]} == 0)); then
    for id in "${step_ids[@]}"; do
        [[ ,${step_tiers[$id]}, == *,$tier,* ]] && selected+=("$id")
    done
elif [[ $tier == quick ]]; then
    usage
fi

log_dir=$(mktemp -d /tmp/cella-test-all.XXXXXX)
start_all=$SECONDS
# One line per finished step, appended by the step itself (the VM lanes below are subshells).
summary_file=$log_dir/summary
: >"$summary_file"
fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

print_summary() {
    echo
    echo "==================== test-all summary ===================="
    sed 's/^/  /' "$summary_file"
    echo "  total: $(fmt_time $((SECONDS - start_all)))   logs: $log_dir"
    echo "=========================================================="
}

# step ID: run step_ID in a subshell with errexit on; stop at the first failure with a message
# naming the step (in a VM lane: stop that lane). A suite's closing line (suite, below) goes
# into its summary line. Never call it where errexit is ignored (after || or &&, in an if): the
# step functions rely on errexit.
step() {
    local id=$1 fn=step_${1//-/_}
    local t0=$SECONDS rc=0
    echo
    echo "==> [$id] ${step_title[$id]}"
    set +e
    (set -e; current_step=$id; "$fn")
    rc=$?
    set -e
    local took why="exit $rc" totals=""
    took=$(fmt_time $((SECONDS - t0)))
    [[ -s $log_dir/$id.totals ]] && totals=": $(<"$log_dir/$id.totals")"
    if ((rc != 0)); then
        ((rc == 124 || rc == 137)) && why="timed out"
        echo "FAIL  $id: ${step_title[$id]} ($why, $took)$totals" >>"$summary_file"
        echo
        echo "test-all: FAILED at step '$id' ($why). Fix it and re-run it with: scripts/test-all.sh --step $id" >&2
        [[ -n ${in_lane:-} ]] || print_summary
        exit 1
    fi
    echo "ok    $id: ${step_title[$id]} ($took)$totals" >>"$summary_file"
}

# Run under a time limit so that a hung test cannot eat the CI budget (whole run: well under
# 60 minutes); SIGKILL 30 s after the polite SIGTERM.
limited() {
    local limit=$1
    shift
    timeout --kill-after=30s "$limit" "$@"
}

# suite CLOSING CMD...: run a test suite, its output shown and kept in $log_dir/<step>.log, and
# put its closing line in the step's summary. CLOSING is an extended regex for that line:
# spec-tests, rootless-tests and engine-tests end with "N passed, N failed, N skipped", difftest
# with "N same, N different ...", and the last one counts; cargo test prints one "test result:"
# line per test binary, which are summed. A suite that printed no closing line did not really
# run (or crashed quietly): that fails the step even if its exit status was 0.
suite() {
    local closing=$1 rc=0 line
    shift
    local log=$log_dir/$current_step.log
    "$@" 2>&1 | tee "$log" || rc=$?
    if [[ $closing == '^test result:'* ]]; then
        line=$(awk '/^test result:/ { seen = 1; for (i = 1; i <= NF; i++) { if ($(i) ~ /^(passed|failed|ignored)[;,]?$/) { k = $(i); sub(/[;,]$/, "", k); n[k] += $(i-1) } } }
            END { if (seen) printf "%d passed, %d failed, %d ignored", n["passed"], n["failed"], n["ignored"] }' "$log")
    else
        line=$(grep -E "$closing" "$log" | tail -n1 || true)
    fi
    if [[ -z $line ]]; then
        echo "test-all: $current_step printed no closing line (/$closing/)" >&2
        return 1
    fi
    echo "$line" >"$log_dir/$current_step.totals"
    return "$rc"
}

# require_totals REGEX WHAT: fail unless the step's closing line matches REGEX.
require_totals() {
    grep -qE "$1" "$log_dir/$current_step.totals" || {
        echo "test-all: $current_step: $2 ($(<"$log_dir/$current_step.totals"))" >&2
        return 1
    }
}

# need FILE STEP...: fail with a hint when a binary an earlier step builds is missing (a step
# run alone with --step).
need() {
    local file=$1
    shift
    [[ -e $file ]] || { echo "test-all: $file is missing: run the step(s) $* first (--step)" >&2; return 1; }
}

passed_line='^[0-9]+ passed, [0-9]+ failed'

step_preflight() {
    if ((EUID != 0)); then
        echo "test-all: must run as root (integration tests and spec-tests create containers)" >&2
        return 1
    fi
    command -v cargo >/dev/null || { echo "test-all: cargo not found (install Rust first)" >&2; return 1; }
}

step_packages() {
    if [[ $tier == quick ]]; then
        limited 15m scripts/ensure-packages.sh "${quick_packages[@]}"
    else
        limited 15m scripts/ensure-packages.sh "${packages[@]}"
    fi
}

step_fmt() { limited 2m cargo fmt --all -- --check; }
step_clippy() { limited 20m cargo clippy --workspace --all-targets -- -D warnings; }

# The project's rule of functions under about 80 lines, for the library; those still longer are
# listed with their length in scripts/long-functions.allow, which may only shrink.
step_long_functions() { python3 scripts/long-functions.py; }

# The library's documentation: every public item documented (#![deny(missing_docs)]), every
# link resolved, as an embedder reads it.
step_doc() { RUSTDOCFLAGS="-D warnings" limited 10m cargo doc -p cella --no-deps; }

# The release builds of the test tools and benches; cella itself is the next step's.
step_build() { limited 20m cargo build --release --workspace --exclude cella-bin; }
step_build_cella() { limited 20m scripts/build-release.sh; }

step_rootfs() { limited 5m fixtures/build-rootfs.sh "$rootfs"; }

# The shipped cella is a static PIE (only a larger peak RSS in benches/ would show otherwise),
# whose entry point runs no code of the C library's before it has started.
step_cella_binary() {
    need "$cella" build-cella
    if readelf -lW "$cella" | grep -q INTERP; then
        echo "test-all: $cella has a program interpreter: it is not a static PIE" >&2
        return 1
    fi
    readelf -hW "$cella" | grep -q 'DYN (' || { echo "test-all: $cella is not position-independent" >&2; return 1; }
    scripts/check-prestart.sh "$cella"
}

# The shipped cella is linked with its hot functions together (runtime-bin/cella.order), and
# the order is fresh: profile.sh --check runs a lifecycle with the binary and fails when the
# order was not applied or when code that ran is not in it (the order went stale with code
# changes: rerun benches/layout/profile.sh and commit the file). Last, so that a stale order,
# which costs memory but nothing else, does not hide the functional results.
step_cella_layout() {
    need "$cella" build-cella
    benches/layout/profile.sh --check "$cella"
}

step_cargo_test() { suite '^test result:' limited 25m cargo test --workspace; }

# Issue [18]: the seccomp tables are generated from Debian's cross kernel headers and must be
# what the script makes of them; cella builds for aarch64 with rustup's target and Debian's
# cross gcc, and the library's unit tests (no root, no container) pass under qemu-user. One test
# is left out there: qemu-user fakes /proc/self/stat, with the state field "0"
# (container::state's stat parser test wants R or S). A debug build, so that the binary and
# the tests share one build (docs/seccomp.md, "Cross builds"). Then the library and the binary
# must build with musl too (embedders on Alpine; libc's types differ there): clippy, no link.
# About 4 minutes.
step_cross() {
    local t=aarch64-unknown-linux-gnu musl=x86_64-unknown-linux-musl
    "$repo/scripts/ensure-packages.sh" linux-libc-dev-amd64-cross linux-libc-dev-arm64-cross \
        linux-libc-dev-armhf-cross linux-libc-dev-riscv64-cross linux-libc-dev-ppc64el-cross \
        linux-libc-dev-s390x-cross gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
    python3 runtime-lib/src/seccomp/gen-syscalls.py --check
    rustup target list --installed | grep -qx "$t" || limited 5m rustup target add "$t"
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
    limited 15m cargo build -p cella-bin --target "$t"
    # The ELF header's e_machine: 183 is EM_AARCH64.
    [[ $(od -An -tu2 -j18 -N2 "$target_dir/$t/debug/cella" | tr -d ' ') == 183 ]] ||
        { echo "test-all: $target_dir/$t/debug/cella is not an aarch64 binary" >&2; return 1; }
    suite '^test result:' limited 15m cargo test -p cella --lib --target "$t" -- \
        --skip container::state::tests::stat_fields_after_a_tricky_command_name
    rustup target list --installed | grep -qx "$musl" || limited 5m rustup target add "$musl"
    limited 10m cargo clippy -p cella -p cella-bin --target "$musl" -- -D warnings
}

# The quick tier's conformance run: the debug binaries cargo test built, so no release build
# is needed after a change. The debug cella has the stop points, so the security tests that
# need them run here too; 100 lifecycles for the leak test (about 0.1 s each with this build).
step_spec_tests_debug() {
    need "$target_dir/debug/cella" cargo-test
    suite "$passed_line" limited 20m "$target_dir/debug/spec-tests" \
        --runtime "$target_dir/debug/cella" --rootfs "$rootfs" \
        --bad-configs fixtures/bad-configs --check-messages --lifecycles 100
}

step_spec_tests() {
    need "$cella" build-cella
    suite "$passed_line" limited 20m "$target_dir/release/spec-tests" \
        --runtime "$cella" --rootfs "$rootfs" \
        --bad-configs fixtures/bad-configs --check-messages
}

# The suite against Debian's runc: its known deviations from the spec are listed in
# spec-tests/expected/runc.txt and reported as TODO; any other failure, or a listed test that
# passes, fails the step (a harness regression shows, runc's deviations do not fail CI).
# security.too_many_mounts is left out: runc 1.1.5 passes it in about 20 s on a quiet machine
# and fails it on a loaded one (it refuses after 46-81 s and leaves its state directory and
# cgroups), so neither list would hold. results.sh still runs it against runc.
step_spec_tests_runc() {
    suite "$passed_line" limited 20m "$target_dir/release/spec-tests" \
        --runtime "$(command -v runc)" --rootfs "$rootfs" \
        --exclude 'security\.too_many_mounts' \
        --expected-failures spec-tests/expected/runc.txt
}

# The differential harness (fixtures/difftest/README.md): every config of the corpus (the engines'
# captured configs, both runtimes' spec defaults, seccomp profiles and reduced allow-lists, one
# variant per config field) under runc and under cella, comparing what the container observes;
# a difference not in expected-differences.txt, or a listed one that no longer occurs, fails.
run_difftest() {
    local difftest=$1 runtime=$2
    need "$runtime" "$3"
    suite '^[0-9]+ same, [0-9]+ different' limited 10m "$difftest" \
        --runtime "$runtime" --reference "$(command -v runc)" \
        --rootfs "$rootfs" --corpus fixtures/difftest/engines \
        --seccomp fixtures/seccomp/podman-default.json --seccomp fixtures/difftest/seccomp \
        --expected fixtures/difftest/expected-differences.txt
}
step_difftest() { run_difftest "$target_dir/release/difftest" "$cella" build-cella; }
step_difftest_debug() { run_difftest "$target_dir/debug/difftest" "$target_dir/debug/cella" cargo-test; }

# containerd (ctr and the CRI plugin), podman and dockerd running containers through the
# runtime (engine-tests/README.md); then the same suite through runc, so that a failure that
# is the harness's shows.
step_engine_tests() {
    need "$cella" build-cella
    suite "$passed_line" limited 15m "$target_dir/release/engine-tests" --runtime "$cella" --rootfs "$rootfs"
}
step_engine_tests_runc() {
    suite "$passed_line" limited 15m "$target_dir/release/engine-tests" --runtime "$(command -v runc)" \
        --rootfs "$rootfs" --expected-failures engine-tests/runc-expected.txt
}

# The rootless suite: it makes a user of its own (useradd, subordinate ids), runs cella and
# rootless podman as that user, and removes the user afterwards.
step_rootless_tests() {
    need "$cella" build-cella
    suite "$passed_line" limited 15m "$target_dir/release/rootless-tests" --runtime "$cella" --rootfs "$rootfs"
}

# The security tests that need cella's stop points (docs/security.md), which only a debug build
# has: against the debug binary `cargo test` built.
step_stop_points() {
    need "$target_dir/debug/cella" cargo-test
    suite "$passed_line" limited 10m "$target_dir/release/spec-tests" \
        --runtime "$target_dir/debug/cella" \
        --rootfs "$rootfs" --check-messages \
        --filter security.crash_at_each_create_step --filter security.lock_serializes_one_id \
        --filter security.runtime_fds_cloexec --filter security.cve_2021_30465 \
        --filter security.init_waits_for_its_pid \
        --filter security.cve_2024_45310_mkdir_race \
        --filter security.mount_point_renamed_before_mount
    require_totals '^[0-9]+ passed, 0 failed, 0 skipped' "the stop-point tests failed or were skipped"
}

# A short run of every fuzz target (fuzz/README: cargo-fuzz on stable with RUSTC_BOOTSTRAP=1).
step_fuzz() { CARGO_TARGET_DIR="$target_dir/fuzz" limited 40m fuzz/run.sh 20; }

# The whole suite again (but the bad-config corpus, which assumes this v1 host), inside a
# throw-away VM whose only hierarchy is cgroup v2 (vm/README.md): the host is hybrid. About
# 12.5 minutes under TCG (CI, 2026-12-07, alone), more beside the other VM lane. 100
# lifecycles for the leak test there (1000 on the host): the emulated CPU makes each one about
# 40 times slower (91 s for the 100).
step_vm_spec_tests() {
    need "$cella" build-cella
    suite "$passed_line" limited 30m vm/run-spec-tests.sh --runtime "$cella" \
        --spec-tests "$target_dir/release/spec-tests" --rootfs "$rootfs" --timeout 1560 \
        -- --lifecycles 100
}

# The rootless suite again in the cgroup v2 VM, where a delegated subtree is a v2 one (the
# caller inside it, as in a systemd user session). The VM has no podman, so the podman area is
# left out; newuidmap/newgidmap and script come from the host (setuid set in the guest).
step_vm_rootless_tests() {
    need "$cella" build-cella
    suite "$passed_line" limited 10m vm/run.sh --runtime "$cella" --rootfs "$rootfs" \
        --add "$target_dir/release/rootless-tests:/payload/rootless-tests" \
        --add /usr/bin/newuidmap --add /usr/bin/newgidmap --add /usr/bin/script --timeout 500 \
        -- sh -c 'chmod 4755 /usr/bin/newuidmap /usr/bin/newgidmap && exec rootless-tests \
            --runtime /payload/cella --rootfs /payload/rootfs --filter lifecycle \
            --filter idmaps --filter cgroups --filter features --filter systemd'
}

# The library's embedding tests (runtime-lib/tests/embedding.rs, the examples run as programs)
# again in the cgroup v2 VM, where stats, limits, pause and a caller-given cgroup path are v2's.
# The test binary and the examples are the debug ones `cargo test` built; the guest has no
# repository, so the rootfs is given by path. About 15 s.
step_vm_embedding() {
    local exe adds=() ex
    need "$cella" build-cella
    exe=$(cargo test -p cella --test embedding --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "embedding":
        print(m["executable"])')
    [[ -x $exe ]] || { echo "test-all: no embedding test binary" >&2; return 1; }
    for ex in capture_stdout exec_into limits_stats run_bundle; do
        adds+=(--add "$target_dir/debug/examples/$ex:/payload/examples/$ex")
    done
    suite '^test result:' limited 10m vm/run.sh --runtime "$cella" --rootfs "$rootfs" \
        --add "$exe:/payload/embedding" "${adds[@]}" --timeout 500 \
        -- sh -c 'CELLA_EMBED_ROOTFS=/payload/rootfs CELLA_EXAMPLES_DIR=/payload/examples \
            exec /payload/embedding --test-threads 2'
    require_totals '^[1-9][0-9]* passed, 0 failed' "the embedding tests failed in the VM"
}

# The production-like guest (vm/README.md, "The Debian guest"): Debian 12 with systemd as PID 1,
# pure cgroup v2, AppArmor, containerd, dockerd and podman; vm/debian/check.sh boots it and checks
# the node and that the shipped cella runs a container there; then rootless-tests' systemd area
# (the rootless systemd cgroup driver, through the test user's own systemd manager) through cella
# and through the guest's runc (about 25 s more). The image is built on first use (about 1-2
# minutes, 3.5 with dbus-user-session added; cached in /var/cache/cella-vm/) and each check
# boots it once (84 to 124 s measured with the rootless checks).
step_vm_debian_guest() {
    need "$cella" build-cella
    need "$target_dir/release/rootless-tests" build
    suite "$passed_line" limited 15m vm/debian/check.sh --cella "$cella" --rootfs "$rootfs" \
        --add "$target_dir/release/rootless-tests:/payload/rootless-tests" --timeout 600
    require_totals '^[1-9][0-9]* passed, 0 failed, 0 skipped' "the Debian guest's checks failed or were skipped"
}

# podman, dockerd and ctr with the systemd cgroup driver (their default on a systemd host), in
# the Debian guest: engine-tests/guest/systemd-driver.sh through cella, then through runc
# (harness check). About 6 minutes.
step_vm_debian_engines() {
    need "$cella" build-cella
    suite '^# [0-9]+ checks, [0-9]+ failed' limited 20m vm/run.sh --image debian --cella "$cella" \
        --rootfs "$rootfs" --timeout 1100 \
        --add engine-tests/guest/systemd-driver.sh:/payload/systemd-driver.sh -- \
        sh -c '/payload/systemd-driver.sh; a=$?; /payload/systemd-driver.sh /usr/sbin/runc && [ $a = 0 ]'
}

# engine-tests itself in the Debian guest with every engine on the systemd cgroup driver
# (--systemd-cgroup: containerd's CRI plugin with SystemdCgroup = true, ctr
# --runc-systemd-cgroup, podman's cgroup_manager = "systemd", dockerd's
# native.cgroupdriver=systemd, slices as cgroup parents, the scopes' properties checked with
# systemctl show), through cella (engine-tests/guest/engine-tests.sh; runc: the extra step below).
# A subset (vm_debian_engine_filter): what the systemd driver changes and what
# vm-debian-engines' script lacks: every CRI test (SystemdCgroup = true: sandbox and container
# scopes, create/start/exec-sync/stop/remove, limits at create and UpdateContainerResources),
# exec -it and run -it in tmux for ctr, podman and docker, placement in the scope, limits and
# update in the unit and the cgroup files, the unit gone after delete. pause/unpause, stop and
# rm of podman, docker and ctr are that script's. The whole suite takes about twice as long
# (docs/testing.md, "engine-tests with the systemd cgroup driver").
vm_debian_engine_filter='^(containerd\.(run_detached|exec_tty|run_tty|limits|kill_delete)|cri\..*|podman\.(run_detached_logs|exec_tty|run_tty_window_size|limits|update|no_runtime_state_left)|docker\.(run_detached_exec_logs|exec_tty|run_tty|limits_and_update))$'
# The full tier runs it with cella only (about 6 minutes); the same tests with the guest's runc,
# the harness check, are the `extra` step vm-debian-engine-tests-runc (by --step only, about 6
# minutes more: together they would take the full run near its 60 minutes).
# run_vm_debian_engine_tests RUNTIME-IN-THE-GUEST
run_vm_debian_engine_tests() {
    need "$cella" build-cella
    need "$target_dir/release/engine-tests" build
    suite "$passed_line" limited 30m vm/run.sh --image debian --cella "$cella" \
        --rootfs "$rootfs" --timeout 1700 \
        --add "$target_dir/release/engine-tests:/payload/engine-tests" \
        --add engine-tests/cri_client.py:/payload/cri_client.py \
        --add engine-tests/guest/engine-tests.sh:/payload/engine-tests.sh \
        --add engine-tests/guest/runc-expected.txt:/payload/runc-expected.txt \
        -- env "RUNTIMES=$1" /payload/engine-tests.sh --filter "$vm_debian_engine_filter"
    require_totals '^[1-9][0-9]* passed, 0 failed, 0 skipped' "engine-tests failed or skipped in the Debian guest"
}
step_vm_debian_engine_tests() { run_vm_debian_engine_tests /usr/local/bin/cella; }
step_vm_debian_engine_tests_runc() { run_vm_debian_engine_tests /usr/sbin/runc; }

# spec-tests in the Debian 12 systemd guest (vm/README.md, --image debian; the payload runs in
# cella-payload.service, as a program a service starts): against cella with --systemd-cgroup
# (every runtime call gets the flag, cgroupsPaths are system.slice:spec-tests:<name>, the
# systemd.* tests check the scope units with systemctl) and with the cgroupfs driver, then
# against the guest's runc with --systemd-cgroup, its deviations listed in
# spec-tests/expected/runc-debian-systemd.txt. Subsets, not the whole suite: a full run takes
# about 17 minutes in the guest (docs/testing.md, "spec-tests with --systemd-cgroup"), and the
# cgroup-independent areas already run in the initramfs VM (vm-spec-tests).
# run_vm_debian_spec_tests RUNTIME SPEC-TESTS-ARGS...
run_vm_debian_spec_tests() {
    local runtime=$1
    shift
    suite "$passed_line" limited 20m vm/run-spec-tests.sh --image debian \
        --payload-cgroup "${VM_PAYLOAD_CGROUP:-service}" --runtime "$runtime" \
        --cella "$cella" --spec-tests "$target_dir/release/spec-tests" --rootfs "$rootfs" \
        --add "$repo/spec-tests/expected:/payload/expected" --timeout 1000 -- "$@"
}
# The areas where the driver matters: placement, limits, the commands on a cgroup (update,
# pause, ps, kill --all, exec), every lifecycle, the leak loop, and every bad config (refused,
# nothing left: no unit either); about 90 tests and the corpus.
vm_debian_systemd_filter=(--filter '^(systemd|cgroups|resources|lifecycle|exec|bad_configs)\.'
    --filter '^security\.lifecycles_leak_nothing$' --filter '^as_runc\.cgroup2_tree_joined$'
    --filter '^mounts\.cgroup_mount$' --filter '^process\.kill_all_without_pidns$'
    --filter '^checker\.cgroup_limits$')
# cgroupfs under systemd, and runc: placement, limits and the systemd.* tests (about 30), and
# AppArmor (apparmor.*: a profile loaded with apparmor_parser confines run and exec; about 12 s),
# and selinux.* (SELinux off where AppArmor is on: a label or mount label fails create); and
# what the initramfs VM skips for want of a kernel module or a package: linux.netDevices (veth
# pairs; net_devices.*, namespaces.net_devices) and the seccomp agents (python3).
vm_debian_short_filter=(--filter '^(systemd|cgroups|resources|apparmor|selinux|net_devices)\.'
    --filter '^namespaces\.net_devices$' --filter '^seccomp\.notify')
step_vm_debian_spec_tests_systemd() {
    need "$cella" build-cella
    run_vm_debian_spec_tests "$cella" --systemd-cgroup --check-messages --lifecycles 100 \
        --bad-configs /payload/bad-configs "${vm_debian_systemd_filter[@]}"
}
# From cella-payload.service's cgroup, as a program a service starts: a config without
# cgroupsPath gets a sibling of the caller's cgroup, as in runc (docs/testing.md).
step_vm_debian_spec_tests() {
    need "$cella" build-cella
    run_vm_debian_spec_tests "$cella" --check-messages "${vm_debian_short_filter[@]}"
}
step_vm_debian_spec_tests_runc() {
    need "$cella" build-cella
    run_vm_debian_spec_tests "$(command -v runc)" --systemd-cgroup "${vm_debian_short_filter[@]}" \
        --expected-failures /payload/expected/runc-debian-systemd.txt
}

# The Debian guest booted with security=selinux (vm/run.sh --lsm selinux; Debian's
# selinux-policy-default, permissive, the image labelled at build time): vm/debian/selinux-check.sh
# checks the node, then process.selinuxLabel, exec --process-label, linux.mountLabel and the
# session keyring's label from inside and outside the containers, and that an unknown context
# fails create leaving nothing, through cella and the guest's runc; then spec-tests' SELinux
# tests (selinux.*, process.selinux_label, mounts.mount_label) against both, in the same boot.
# About 3 minutes (one boot).
step_vm_debian_selinux() {
    need "$cella" build-cella
    need "$target_dir/release/spec-tests" build
    suite "$passed_line" limited 15m vm/debian/selinux-check.sh --cella "$cella" --rootfs "$rootfs" \
        --add "$target_dir/release/spec-tests:/payload/spec-tests" --timeout 600
    require_totals '^[1-9][0-9]* passed, 0 failed, 0 skipped' "the SELinux checks failed or were skipped"
}

# The VM steps of a full run go in two lanes that run at the same time, each VM step after
# the other in its lane: every guest is a QEMU/TCG machine whose work is mostly one busy vCPU,
# so two of them on this 2-core host take about half the wall time of one after the other
# (docs/testing.md, "How long a full run takes"). The lanes start after the host steps, so
# that no host test shares the CPUs with a guest. A failed step ends its lane; the other lane
# runs to its end.
vm_lanes=("vm-spec-tests vm-rootless-tests vm-embedding vm-debian-selinux"
    "vm-debian-guest vm-debian-engines vm-debian-engine-tests vm-debian-spec-tests-systemd vm-debian-spec-tests")

# run_lanes STEP...: run the given VM steps in their lanes (a step in no lane gets a lane of
# its own), each lane's output prefixed with its number; set lanes_failed=1 if any lane failed.
# Call it plainly (not after || or &&): errexit must stay in force for the lanes' steps.
run_lanes() {
    local -A wanted=()
    local id lane lanes=() placed=" " n
    for id in "$@"; do wanted[$id]=1; done
    for lane in "${vm_lanes[@]}"; do
        local picked=()
        for id in $lane; do
            if [[ -n ${wanted[$id]:-} ]]; then picked+=("$id"); placed+="$id "; fi
        done
        ((${#picked[@]} == 0)) || lanes+=("${picked[*]}")
    done
    for id in "$@"; do [[ $placed == *" $id "* ]] || lanes+=("$id"); done
    for n in "${!lanes[@]}"; do
        echo "==> lane $((n + 1)): ${lanes[$n]}"
        {
            # errexit off here only, so that the lane's exit status can be kept; the lane's
            # own subshell turns it on again for step.
            set +e
            (
                set -e
                in_lane=$((n + 1))
                for id in ${lanes[$n]}; do step "$id"; done
            )
            echo $? >"$log_dir/lane-$((n + 1)).rc"
        } 2>&1 | sed -u "s/^/[lane $((n + 1))] /" &
    done
    wait
    for n in "${!lanes[@]}"; do
        [[ $(cat "$log_dir/lane-$((n + 1)).rc" 2>/dev/null) == 0 ]] || lanes_failed=1
    done
}

host_steps=()
vm_steps=()
for id in "${selected[@]}"; do
    if [[ $tier == full && ${#selected[@]} -gt 1 && $id == vm-* ]]; then
        vm_steps+=("$id")
    else
        host_steps+=("$id")
    fi
done
for id in "${host_steps[@]}"; do
    step "$id"
done
if ((${#vm_steps[@]})); then
    lanes_failed=0
    run_lanes "${vm_steps[@]}"
    if ((lanes_failed)); then
        echo "test-all: a VM lane failed (its FAIL line below)" >&2
        print_summary
        exit 1
    fi
fi

print_summary
echo "test-all: all steps passed (${#selected[@]}: ${selected[*]})"
