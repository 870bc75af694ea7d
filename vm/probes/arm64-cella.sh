#!/usr/bin/env bash
# Probe for issue [18] (docs/seccomp.md, "An arm64 guest"): boot Debian 12's arm64 cloud kernel
# under QEMU/TCG with a busybox initramfs, and run a container there with an aarch64 cella and
# podman's arm64 seccomp profile. Not a CI step yet: it shows that the pieces work.
#   vm/probes/arm64-cella.sh AARCH64_CELLA   (root; e.g. the `cross` step's
#                                             $CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/debug/cella)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cella=$(realpath "${1:?usage: vm/probes/arm64-cella.sh AARCH64_CELLA}")
"$repo/scripts/ensure-packages.sh" mmdebstrap qemu-system-arm libc6-arm64-cross libgcc-s1-arm64-cross cpio python3 >&2
work=$(mktemp -d /tmp/cella-arm64.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
# The kernel and an arm64 busybox, unpacked (no maintainer scripts run).
mmdebstrap --quiet --variant=extract --architectures=arm64 \
    --include=linux-image-cloud-arm64,busybox-static bookworm "$work/debian" \
    "deb http://deb.debian.org/debian bookworm main" >&2
kernel=$(ls "$work"/debian/boot/vmlinuz-*-arm64 | head -n1)
r=$work/init
mkdir -p "$r"/{bin,proc,sys/fs,dev,tmp,run,newroot,lib/aarch64-linux-gnu} "$r"/payload/rootfs/{bin,proc,dev,sys,tmp}
cp "$work/debian/bin/busybox" "$r/bin/"
cp "$work/debian/bin/busybox" "$r/payload/rootfs/bin/"
cp "$cella" "$r/bin/cella"
# A debug cross build is dynamic: Debian's arm64 cross runtime libraries.
cp /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 "$r/lib/"
cp /usr/aarch64-linux-gnu/lib/{libc.so.6,libgcc_s.so.1,libm.so.6} "$r/lib/aarch64-linux-gnu/"
python3 - "$repo" "$r/payload/config.json" <<'PY'
import json, sys
repo, out = sys.argv[1], sys.argv[2]
config = json.load(open(f"{repo}/fixtures/bundles/busybox/config.json"))
config["root"] = {"path": "/payload/rootfs", "readonly": False}
config["process"]["terminal"] = False
config["process"]["args"] = ["/bin/busybox", "sh", "-c",
    "echo hello from an arm64 container; /bin/busybox uname -m; "
    "/bin/busybox grep Seccomp: /proc/self/status; "
    "/bin/busybox hostname changed || echo sethostname-refused"]
config["linux"]["seccomp"] = json.load(open(f"{repo}/fixtures/seccomp/podman-default-arm64.json"))
json.dump(config, open(out, "w"))
PY
cat >"$r/init" <<'SH'
#!/bin/busybox sh
B=/bin/busybox
if [ "$1" != stage2 ]; then
    # pivot_root(2) fails on the initramfs itself: copy into a tmpfs and switch_root.
    $B mount -t tmpfs tmpfs /newroot
    for e in /*; do [ "$e" = /newroot ] || $B cp -a "$e" /newroot/; done
    exec $B switch_root /newroot /init stage2
fi
$B mount -t proc proc /proc; $B mount -t sysfs sysfs /sys; $B mount -t devtmpfs devtmpfs /dev
$B mount -t tmpfs tmpfs /tmp; $B mount -t tmpfs tmpfs /run
$B mount -t cgroup2 cgroup2 /sys/fs/cgroup
for c in $($B cat /sys/fs/cgroup/cgroup.controllers); do echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control; done
echo "ARM64-GUEST: $($B uname -r) $($B uname -m) uptime=$($B cut -d' ' -f1 /proc/uptime)"
/bin/cella run --bundle /payload arm64-probe; echo "ARM64-GUEST: cella run exit $?"
$B poweroff -f
SH
chmod +x "$r/init"
(cd "$r" && find . | cpio --quiet -o -H newc) >"$work/initrd.cpio"
timeout 600 qemu-system-aarch64 -M virt -cpu max -accel tcg,thread=multi -smp 2 -m 1024 \
    -nographic -no-reboot -kernel "$kernel" -initrd "$work/initrd.cpio" \
    -append "console=ttyAMA0 quiet panic=-1" </dev/null | grep -v '^\[' | tr -d '\r'
