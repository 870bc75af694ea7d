#!/bin/sh
# The engines with the systemd cgroup driver, their production default on a systemd host,
# through one runtime (default: cella). Run as root in the Debian guest (vm/run.sh --image
# debian): podman with cgroup_manager = "systemd", dockerd with native.cgroupdriver=systemd,
# and ctr with --runc-systemd-cgroup: run with limits (checked in the unit and in the cgroup
# files), exec, pause/unpause, update, stop, rm, and no unit left. Prints "ok N - ..." or
# "not ok N - ..." per check and exits 1 if any failed.
#
# The engines' default AppArmor profiles apply (docker-default, containers-default-*).
R=${1:-/usr/local/bin/cella}
ROOTFS=${2:-/payload/rootfs}
n=0
failed=0
check() { # check DESCRIPTION EXPECTED ACTUAL
    n=$((n + 1))
    if [ "$2" = "$3" ]; then
        echo "ok $n - $1"
    else
        failed=$((failed + 1))
        echo "not ok $n - $1: expected [$2], got [$3]"
    fi
}
prop() { systemctl show "$1" -p "$2" --value; }
gone() { systemctl list-units --all --no-legend "$1" | grep -c . ; }

tar -C "$ROOTFS" -c . >/tmp/rootfs.tar

echo "# podman, cgroup_manager = systemd, runtime $R"
cat >/tmp/containers.conf <<'C'
[engine]
cgroup_manager = "systemd"
events_logger = "file"
C
export CONTAINERS_CONF=/tmp/containers.conf
P="podman --runtime $R"
podman import /tmp/rootfs.tar localhost/busybox >/dev/null 2>&1
out=$($P run --rm --memory 64m --pids-limit 50 localhost/busybox \
    sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max' | tr '\n' ' ')
check "podman run: limits in the container's cgroup" "67108864 50 " "$out"
id=$($P run -d --name t1 localhost/busybox sleep 1000)
unit=libpod-$id.scope
check "podman run -d: the unit is active" active "$(prop "$unit" ActiveState)"
check "podman exec: in the container's cgroup namespace" "0::/" "$($P exec t1 cat /proc/self/cgroup)"
$P pause t1 >/dev/null
check "podman pause freezes the cgroup" 1 "$(cat /sys/fs/cgroup/machine.slice/"$unit"/cgroup.freeze)"
$P unpause t1 >/dev/null
check "podman unpause thaws it" 0 "$(cat /sys/fs/cgroup/machine.slice/"$unit"/cgroup.freeze)"
$P update --memory 128m t1 >/dev/null
check "podman update: MemoryMax" 134217728 "$(prop "$unit" MemoryMax)"
check "podman update: memory.max" 134217728 "$(cat /sys/fs/cgroup/machine.slice/"$unit"/memory.max)"
$P stop -t 1 t1 >/dev/null 2>&1
$P rm t1 >/dev/null
check "podman rm: no unit left" 0 "$(gone "$unit")"

echo "# dockerd, native.cgroupdriver=systemd, runtime $R"
mkdir -p /etc/docker
printf '{"runtimes": {"r": {"path": "%s"}}, "default-runtime": "r", "exec-opts": ["native.cgroupdriver=systemd"]}\n' "$R" >/etc/docker/daemon.json
systemctl restart containerd docker  # a restart: daemon.json names this run's runtime
docker import /tmp/rootfs.tar busybox:local >/dev/null
out=$(docker run --rm -m 64m busybox:local cat /sys/fs/cgroup/memory.max)
check "docker run: memory limit" 67108864 "$out"
id=$(docker run -d --name d1 busybox:local sleep 1000)
unit=docker-$id.scope
check "docker run -d: the unit is active" active "$(prop "$unit" ActiveState)"
check "docker run -d: Delegate" yes "$(prop "$unit" Delegate)"
check "docker exec: in the container's cgroup namespace" "0::/" "$(docker exec d1 cat /proc/self/cgroup)"
docker pause d1 >/dev/null
check "docker pause" 1 "$(cat /sys/fs/cgroup/system.slice/"$unit"/cgroup.freeze)"
docker unpause d1 >/dev/null
docker update -m 100m --memory-swap 200m d1 >/dev/null
check "docker update: MemoryMax" 104857600 "$(prop "$unit" MemoryMax)"
check "docker update: memory.max" 104857600 "$(cat /sys/fs/cgroup/system.slice/"$unit"/memory.max)"
systemctl daemon-reload
check "after daemon-reload: memory.max kept" 104857600 "$(cat /sys/fs/cgroup/system.slice/"$unit"/memory.max)"
docker stop -t 1 d1 >/dev/null
docker rm d1 >/dev/null
check "docker rm: no unit left" 0 "$(gone "$unit")"

echo "# ctr, --runc-systemd-cgroup, runtime $R"
podman save --format docker-archive localhost/busybox | ctr -n t image import --index-name busybox:local - >/dev/null
C="ctr -n t run --runc-binary $R --runc-systemd-cgroup"
out=$($C --rm --cgroup system.slice:ctr:c1 --memory-limit 67108864 busybox:local c1 cat /proc/self/cgroup)
check "ctr run: the init is in the scope" "0::/system.slice/ctr-c1.scope" "$out"
$C -d --cgroup system.slice:ctr:c2 busybox:local c2 sleep 1000
check "ctr run -d: the unit is active" active "$(prop ctr-c2.scope ActiveState)"
check "ctr task exec joins the scope" "0::/system.slice/ctr-c2.scope" "$(ctr -n t task exec --exec-id e1 c2 cat /proc/self/cgroup)"
ctr -n t task pause c2
check "ctr task pause" PAUSED "$(ctr -n t task ls | awk '$1 == "c2" {print $3}')"
ctr -n t task resume c2
ctr -n t task kill -s KILL c2
sleep 2
ctr -n t task rm c2 >/dev/null 2>&1
ctr -n t container rm c2
check "ctr rm: no unit left" 0 "$(gone ctr-c2.scope)"

echo "# $n checks, $failed failed"
[ "$failed" = 0 ]
