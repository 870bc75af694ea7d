#!/usr/bin/env bash
# Run a command as root in a throw-away QEMU (TCG) VM with a pure cgroup v2 hierarchy (every
# controller enabled, no cgroup v1). The command's output (stdout and stderr, through the
# guest's second serial port) is streamed to stdout and its exit code is this script's.
# See vm/README.md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage='Usage: vm/run.sh [OPTIONS] -- CMD [ARGS...]

Runs CMD (an executable in the guest; PATH is /payload:/bin, cwd /tmp) in the VM, e.g.
  vm/run.sh -- sh -c '\''cat /sys/fs/cgroup/cgroup.controllers'\''
  vm/run.sh --runtime runc -- runc --version'

vm_parse_options "$usage" "$@"
((${#VM_ARGS[@]})) || vm_die "no command given (see --help)"

vm_ensure_packages
vm_setup
vm_prepare_guest
vm_stage_payload
payload=$(vm_payload "${VM_ARGS[@]}")
vm_boot "$payload"
