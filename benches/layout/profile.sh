#!/usr/bin/env bash
# Regenerates runtime-bin/cella.order, the function order the cella binary is linked with
# (runtime-bin/build.rs passes it to lld as --symbol-ordering-file). Why: the kernel maps a
# binary's text 64 KiB at a time around each page fault ("fault-around"), and the functions a
# lifecycle runs were spread over the whole text, so nearly all of it became resident in every
# cella process (benches/README.md, "Peak RSS"). Placed together, only about their size is.
#
# How: cella is built with every function aligned to a page (LLVM's -align-all-functions=12;
# the symbol names are the same as in a normal build), copied onto a small ext4 file system on
# a loop device with readahead off, and its page cache dropped; a lifecycle is run (run; create,
# start, state, delete; run --detach, exec, kill, delete --force; list), and mincore(2) on the
# file then tells which pages, hence which functions, any cella process ran. hot-symbols.py
# writes them in address order.
#
# Root; after fixtures/build-rootfs.sh. Builds into ${CARGO_TARGET_DIR:-target}/layout-profile
# (a few minutes). Rerun it when the code has changed much: `hot-symbols.py --check BINARY`
# prints how many of the names in cella.order a build still has.
# usage: benches/layout/profile.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rootfs=$repo/fixtures/cache/rootfs
[[ -d $rootfs ]] || { echo "profile.sh: $rootfs: run fixtures/build-rootfs.sh first" >&2; exit 2; }

profile_target=${CARGO_TARGET_DIR:-$repo/target}/layout-profile
(cd "$repo" && RUSTFLAGS="-C llvm-args=-align-all-functions=12" \
    cargo build --release -p cella-bin --target-dir "$profile_target")
cella=$profile_target/release/cella

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
python3 "$repo/benches/layout/hot-symbols.py" "$cella" "$work/pages" > "$repo/runtime-bin/cella.order"
echo "profile.sh: wrote runtime-bin/cella.order ($(wc -l < "$repo/runtime-bin/cella.order") functions)" >&2
