#!/bin/sh
# crun as a runc-compatible binary on this project's hybrid-cgroup hosts, for the conformance
# suite (spec-tests/results.sh, docs/testing.md). The benches do not use it: cella-benches
# enters one private mount namespace itself and runs crun directly (benches/README.md).
#
# crun 1.8.1 refuses hybrid mode ("cgroups in hybrid mode not supported, drop all controllers
# from cgroupv2"). Run it in a private mount namespace in which /sys/fs/cgroup/unified is
# unmounted: crun then sees plain cgroup v1, and nothing outside that namespace changes.
# Usage: exactly crun's (e.g. `benches/crun-hybrid.sh run --bundle B ID`); CRUN overrides the
# binary.
exec unshare --mount --propagation private \
    sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' "${CRUN:-crun}" "$@"
