#!/bin/sh
# The benches' wrapper for any runtime: the same private mount namespace, unmount and exec
# chain as crun-hybrid.sh, so that every runtime pays the same wrapper cost (about 4-5 ms and
# the peak RSS of unshare/sh/umount) and the figures compare like with like.
# Usage: benches/unshare-wrap.sh RUNTIME ARGS...
rt=$1
shift
exec unshare --mount --propagation private \
    sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' "$rt" "$@"
