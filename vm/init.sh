#!/bin/sh
# /init of the Cella test VM: busybox ash as PID 1 in a throw-away QEMU guest (see vm/README.md).
# Part of the cached base initramfs built by vm/lib.sh; changing this file rebuilds the cache.
#
# Stage 1 runs on the initramfs rootfs, where pivot_root(2) fails with EINVAL: copy the whole
# tree into a tmpfs and switch_root into it. Stage 2 mounts the kernel filesystems and a pure
# cgroup v2 hierarchy with every controller enabled, runs /payload/cmd with its output on the
# second serial port (ttyS1; kernel messages stay on ttyS0, the console), prints the marker line
# CELLA-VM-EXIT=<rc> that the host parses, and powers off.

PATH=/payload:/bin
HOME=/root
export PATH HOME

log() { echo "cella-vm: $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime 2>/dev/null || echo '?'; }

if [ "${1:-}" != stage2 ]; then
    mount -t tmpfs -o mode=0755 tmpfs /newroot || exec poweroff -f
    for entry in /* /.[!.]*; do
        [ -e "$entry" ] || continue
        [ "$entry" = /newroot ] && continue
        cp -a "$entry" /newroot/ || exec poweroff -f
    done
    exec switch_root /newroot /init stage2
fi

fail() {
    log "FAILED: $*"
    echo "CELLA-VM-EXIT=125" >/dev/ttyS1
    echo "CELLA-VM-EXIT=125"
    sync
    poweroff -f
}

mount -t proc -o nosuid,nodev,noexec proc /proc || fail "mount /proc"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || fail "mount /sys"
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev || fail "mount /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts || fail "mount /dev/pts"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm || fail "mount /dev/shm"
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
read -r controllers </sys/fs/cgroup/cgroup.controllers || fail "read cgroup.controllers"
for c in $controllers; do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || fail "enable controller $c"
done
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp || fail "mount /tmp"
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run || fail "mount /run"
ip link set lo up 2>/dev/null
hostname cella-vm

# Raw output on ttyS1: no \n -> \r\n translation, no echo.
stty -F /dev/ttyS1 raw -echo 2>/dev/null

log "controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
log "payload start uptime=$(uptime_s)"
if [ -x /payload/cmd ]; then
    (cd /tmp && exec /payload/cmd) </dev/null >/dev/ttyS1 2>&1
    rc=$?
else
    log "no /payload/cmd"
    rc=127
fi
log "payload end uptime=$(uptime_s) rc=$rc"

# Closing the last descriptor of ttyS1 waits until its output has been sent.
echo "CELLA-VM-EXIT=$rc" >/dev/ttyS1
echo "CELLA-VM-EXIT=$rc"
sync
poweroff -f
