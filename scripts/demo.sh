#!/usr/bin/env bash
# Set up and run a container with cella on a fresh Debian 12 machine (as root):
# install what the build and the rootfs need, build cella, build the busybox rootfs, prepare
# the demo bundle (fixtures/bundles/busybox) and `cella run` it. Exits with the container's
# exit status.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

say() { echo "demo: $*" >&2; }

if ((EUID != 0)); then
    say "must run as root (creating namespaces and mounts needs it)"
    exit 1
fi
command -v cargo >/dev/null || { say "cargo not found: install the Rust toolchain (rustup) first"; exit 1; }

# busybox-static for the rootfs; gcc + libc6-dev because rustc links through cc.
scripts/ensure-packages.sh busybox-static gcc libc6-dev

say "building cella (scripts/build-release.sh)"
cella=$(scripts/build-release.sh | tail -n1)

rootfs=$(fixtures/build-rootfs.sh | tail -n1)

# The bundle's rootfs is a private copy of the cached one (gitignored), refreshed when the
# cache was rebuilt: a container may write to its rootfs, the cache must stay pristine.
bundle=fixtures/bundles/busybox
stamp=etc/cella-rootfs.stamp
if ! cmp -s "$rootfs/$stamp" "$bundle/rootfs/$stamp"; then
    say "copying $rootfs to $bundle/rootfs"
    rm -rf --one-file-system "$bundle/rootfs"
    cp -a "$rootfs" "$bundle/rootfs"
fi

id=demo-$$
say "running: $cella run --bundle $bundle $id"
set +e
"$cella" run --bundle "$bundle" "$id"
status=$?
set -e
# `run` deletes the container itself; if it failed half-way, remove what it left behind.
if "$cella" state "$id" >/dev/null 2>&1; then
    "$cella" delete --force "$id" >/dev/null 2>&1 || say "could not delete leftover container $id"
fi
say "container exited with status $status"
exit "$status"
