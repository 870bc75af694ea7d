#!/usr/bin/env bash
# Where the time of one `run` of /bin/true goes, runtime by runtime, side by side (issue [13]).
#
#   benches/breakdown/breakdown.sh [-n RUNS] [--floor PATH] BUNDLE NAME=BINARY...
#
# Runs `BINARY --root STATE run --bundle BUNDLE ID` RUNS times per runtime (interleaved), and
# with --floor also `PATH ROOTFS` (the floor program, benches/src/bin/cella-floor.rs), all
# under one `perf record` of the scheduler's fork/exec/exit events and of every syscall's entry
# and exit (tracepoints: no ptrace stop, about a microsecond per syscall). breakdown.py then
# splits each run into phases at events every runtime has, and gives the syscall time of each:
#
#   startup    exec of the runtime → its first fork (re-exec, config, plan, state, cgroups)
#   setup      first fork → exec of /bin/true (namespaces, mounts, pivot, handshakes)
#   workload   exec of /bin/true → its exit
#   teardown   its exit → the runtime's exit (reaping, delete: cgroups, state)
#
# The absolute times carry the tracing's cost (every syscall is recorded); compare runtimes
# and phases with each other, and take wall times from `cella-benches suite`.
#
# Like the benches, everything runs in one private mount namespace (made here) in which
# /sys/fs/cgroup/unified is unmounted on a hybrid host (crun refuses hybrid hosts) and the
# state roots are on a tmpfs (as /run is on a real host). Root; needs perf (linux-perf).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=10
floor=""
while (($#)); do
    case $1 in
        -n) runs=$2; shift 2 ;;
        --floor) floor=$(realpath "$2"); shift 2 ;;
        -h|--help) sed -n '2,24p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) break ;;
    esac
done
(($# >= 2)) || { echo "usage: breakdown.sh [-n RUNS] [--floor PATH] BUNDLE NAME=BINARY..." >&2; exit 2; }
bundle=$(realpath "$1"); shift
[[ -f $bundle/config.json ]] || { echo "breakdown.sh: $bundle/config.json: no such file" >&2; exit 2; }
command -v perf >/dev/null || { echo "breakdown.sh: perf not found (apt-get install linux-perf)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "breakdown.sh: run as root" >&2; exit 2; }

specs=()
for spec in "$@"; do
    name=${spec%%=*} bin=${spec#*=}
    [[ $name != "$spec" && -x $bin ]] || { echo "breakdown.sh: $spec: want NAME=BINARY" >&2; exit 2; }
    specs+=("$name=$(realpath "$bin")")
done

work=$(mktemp -d /tmp/cella-breakdown.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The loop that perf records, run inside the private mount namespace.
cat > "$work/loop.sh" <<'EOF'
#!/usr/bin/env bash
set -u
work=$1 runs=$2 bundle=$3 floor=$4; shift 4
if findmnt -n /sys/fs/cgroup/unified >/dev/null 2>&1; then umount /sys/fs/cgroup/unified; fi
mkdir -p "$work/state"
mount -t tmpfs -o mode=0700 tmpfs "$work/state"
rootfs=$(python3 -c 'import json,os,sys; b=sys.argv[1]; p=json.load(open(b+"/config.json"))["root"]["path"]; print(os.path.join(b,p))' "$bundle")
for ((i = 0; i < runs; i++)); do
    for spec in "$@"; do
        name=${spec%%=*} bin=${spec#*=}
        "$bin" --root "$work/state/$name" run --bundle "$bundle" "bd-$name-$i" </dev/null >/dev/null \
            || echo "breakdown.sh: $name run $i failed" >&2
    done
    if [[ -n $floor ]]; then "$floor" "$rootfs" </dev/null >/dev/null || echo "breakdown.sh: floor run $i failed" >&2; fi
done
umount "$work/state"
EOF
chmod +x "$work/loop.sh"

# One unrecorded round first: page cache, binaries.
unshare --mount --propagation private "$work/loop.sh" "$work" 1 "$bundle" "$floor" "${specs[@]}"
perf record -q -o "$work/perf.data" \
    -e sched:sched_process_fork -e sched:sched_process_exec -e sched:sched_process_exit \
    -e raw_syscalls:sys_enter -e raw_syscalls:sys_exit \
    -- unshare --mount --propagation private "$work/loop.sh" "$work" "$runs" "$bundle" "$floor" "${specs[@]}"
perf script -i "$work/perf.data" -F comm,pid,tid,time,event,trace 2>/dev/null > "$work/events.txt"
args=()
for spec in "${specs[@]}"; do args+=(--runtime "$spec"); done
[[ -n $floor ]] && args+=(--runtime "floor=$floor")
python3 "$here/breakdown.py" --syscalls "$repo/runtime-lib/src/seccomp/syscalls.rs" \
    --program /bin/true "${args[@]}" "$work/events.txt"
