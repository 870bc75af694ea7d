#!/usr/bin/env bash
# The function order the shipped cella binary is linked with (runtime-bin/cella.order; build.rs
# passes it to lld as --symbol-ordering-file): regenerate it, or check that a binary's is fresh.
#
# Why: the kernel maps a binary's text 64 KiB at a time around each page fault ("fault-around"),
# and the functions a lifecycle runs were spread over the whole text, so nearly all of it became
# resident in every cella process; placed together, only about their size is (benches/README.md,
# "Peak RSS": 2.5 MiB for a `run` with a fresh order, 3.6 with one some weeks of changes old,
# 4.0 without any).
#
# How: a cella binary is copied onto a small ext4 file system on a loop device with readahead
# off and its page cache dropped; a lifecycle is run (run; create, start, state, delete;
# run --detach, exec, kill, delete --force; list), and mincore(2) on the file then tells which
# pages any cella process read. hot-symbols.py maps them to functions.
#
#   benches/layout/profile.sh             regenerate runtime-bin/cella.order: builds cella as
#                                         scripts/build-release.sh does, with every function on
#                                         its own page (LLVM's -align-all-functions=12; the
#                                         symbol names are those of the release build), into
#                                         ${CARGO_TARGET_DIR:-target}/layout-profile (a few
#                                         minutes), and writes the functions read in address order
#   benches/layout/profile.sh --check BIN  run the lifecycle with BIN (built by
#                                         scripts/build-release.sh) and fail if more than
#                                         4 of the text pages it read hold no function
#                                         of cella.order (the order is stale: regenerate it),
#                                         or if BIN was not linked with the order at all
# Root; after fixtures/build-rootfs.sh.
set -euo pipefail

# A fresh order leaves none of those pages (three runs); a path one run takes and the profile
# run did not (a retry) may add one or two. The order main had when this check was added left
# 67 of 300 (peak RSS of a `run` 3.6 MiB against 2.5 with a fresh one).
max_unplaced=4

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rootfs=$repo/fixtures/cache/rootfs
order=$repo/runtime-bin/cella.order
[[ -d $rootfs ]] || { echo "profile.sh: $rootfs: run fixtures/build-rootfs.sh first" >&2; exit 2; }

mode=generate
if [[ ${1:-} == --check ]]; then
    [[ -x ${2:-} ]] || { echo "usage: profile.sh [--check BINARY]" >&2; exit 2; }
    mode=check
    cella=$(realpath "$2")
elif (($# > 0)); then
    echo "usage: profile.sh [--check BINARY]" >&2
    exit 2
else
    profile_target=${CARGO_TARGET_DIR:-$repo/target}/layout-profile
    cella=$(CARGO_TARGET_DIR=$profile_target "$repo/scripts/build-release.sh" \
        --rustflags "-C llvm-args=-align-all-functions=12" | tail -n1)
fi

work=$(mktemp -d /tmp/cella-layout.XXXXXX)
loopdev=""
cleanup() {
    if [[ -n $loopdev ]]; then
        "$work/mnt/cella" --root "$work/state" delete --force prof-exec >/dev/null 2>&1 || true
        umount "$work/mnt" 2>/dev/null || true
        losetup -d "$loopdev" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

truncate -s 64M "$work/fs.img"
mkfs.ext4 -q "$work/fs.img"
loopdev=$(losetup -f --show "$work/fs.img")
mkdir "$work/mnt"
mount "$loopdev" "$work/mnt"
echo 0 > "/sys/block/$(basename "$loopdev")/queue/read_ahead_kb"
cp "$cella" "$work/mnt/cella"
bin=$work/mnt/cella

mkdir "$work/bundle"
cp -a "$rootfs" "$work/bundle/rootfs"
(cd "$work/bundle" && "$cella" spec)
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(p, "w"))
PY
sed 's|"/bin/true"|"/bin/sleep", "30"|' "$work/bundle/config.json" > "$work/sleep.json"

pages() { python3 "$repo/benches/layout/incore.py" "$bin"; }
drop() { python3 "$repo/benches/layout/incore.py" --drop "$bin"; }
rt() { "$bin" --root "$work/state" "$@"; }

drop
rt run --bundle "$work/bundle" prof-run
rt list >/dev/null
rt create --bundle "$work/bundle" prof-split
rt start prof-split
rt state prof-split >/dev/null
rt delete prof-split 2>/dev/null || { sleep 0.2; rt delete prof-split; }
cp "$work/sleep.json" "$work/bundle/config.json"
rt run --detach --bundle "$work/bundle" prof-exec
rt exec prof-exec /bin/true
rt kill prof-exec KILL
sleep 0.2
rt delete --force prof-exec
pages > "$work/pages"
echo "profile.sh: $(wc -l < "$work/pages") pages of $(($(stat -c %s "$bin") / 4096)) read" >&2

if [[ $mode == generate ]]; then
    python3 "$repo/benches/layout/hot-symbols.py" "$cella" "$work/pages" > "$order"
    echo "profile.sh: wrote runtime-bin/cella.order ($(wc -l < "$order") functions)" >&2
    exit 0
fi
python3 "$repo/benches/layout/hot-symbols.py" --check "$cella" "$work/pages" "$order" | tee "$work/check"
{ read -r unplaced _; read -r together _; } <"$work/check"
if ((together < 90)); then
    echo "profile.sh: $cella was not linked with runtime-bin/cella.order (only $together % of its" \
        "functions lie together): build it with scripts/build-release.sh" >&2
    exit 1
fi
if ((unplaced > max_unplaced)); then
    echo "profile.sh: runtime-bin/cella.order is stale ($unplaced pages of code that ran are not" \
        "placed, at most $max_unplaced allowed): run benches/layout/profile.sh and commit the file" >&2
    exit 1
fi
