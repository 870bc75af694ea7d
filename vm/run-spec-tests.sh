#!/usr/bin/env bash
# Run spec-tests against a runtime in a throw-away QEMU (TCG) VM with a pure cgroup v2 hierarchy
# (every controller enabled, no cgroup v1). The TAP output is streamed to stdout and the exit
# code is spec-tests' own. See vm/README.md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

target=${CARGO_TARGET_DIR:-$VM_REPO/target}
VM_OPT_RUNTIME=$target/x86_64-unknown-linux-gnu/release/cella
VM_OPT_SPEC_TESTS=$target/release/spec-tests

usage="Usage: vm/run-spec-tests.sh [OPTIONS] [-- SPEC-TESTS-ARGS...]

Runs /payload/spec-tests --runtime /payload/RUNTIME --rootfs /payload/rootfs SPEC-TESTS-ARGS
in the VM. Defaults: --runtime $VM_OPT_RUNTIME,
--spec-tests $VM_OPT_SPEC_TESTS (build with
scripts/build-release.sh and cargo build --release -p spec-tests). fixtures/bad-configs is carried as
/payload/bad-configs, e.g.:
  vm/run-spec-tests.sh -- --bad-configs /payload/bad-configs --check-messages"

vm_parse_options "$usage" "$@"
[[ -n $VM_OPT_RUNTIME ]] || vm_die "--runtime is required"
[[ -n $VM_OPT_SPEC_TESTS ]] || vm_die "--spec-tests is required"
[[ -n $VM_OPT_ROOTFS ]] || vm_die "spec-tests needs a rootfs (drop --no-rootfs)"
VM_OPT_ADD+=("$VM_REPO/fixtures/bad-configs:/payload/bad-configs")

vm_ensure_packages
vm_setup
vm_prepare_guest
vm_stage_payload
payload=$(vm_payload "$VM_GUEST_SPEC_TESTS" --runtime "$VM_GUEST_RUNTIME" \
    --rootfs "$VM_GUEST_ROOTFS" ${VM_ARGS[@]+"${VM_ARGS[@]}"})
vm_boot "$payload"
