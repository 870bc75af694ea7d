#!/usr/bin/env bash
# Build (or reuse) the Debian 12 systemd guest of the Cella VM harness (vm/README.md, "The
# Debian guest") and print its cache directory as the last line of stdout; everything else
# goes to stderr.
#
#   vm/debian/build-image.sh [--rebuild]
#
# The image is made with mmdebstrap from Debian's packages (vm/debian/packages, without their
# Recommends, on top of the minbase variant), with the files of vm/debian/guest/ copied in and
# the units the harness does not want at boot disabled or masked (configure_units below). The
# cache directory, ${CELLA_VM_CACHE:-/var/cache/cella-vm}/debian-<key>/, holds:
#   rootfs.img    the root file system, a sparse raw ext4 image (mkfs.ext4 -d, no loop mount);
#                 runs open it read-only under a QEMU snapshot, so it never changes
#   vmlinuz, initrd.img   the guest's own kernel and initramfs (direct kernel boot)
#   packages.txt  the installed packages and versions (dpkg-query)
#   info          the key, the kernel version, the build time and the sizes
# <key> hashes this script, vm/debian/packages and every file of vm/debian/guest/ (path, mode,
# contents): editing any of them builds a new image, and a successful build removes the other
# debian-* directories. The key does not track the archive: --rebuild (or removing the
# directory) picks up Debian's newer point releases.
set -euo pipefail

# Bump when the build below changes in a way the hashed files do not show.
IMAGE_LAYOUT=1
SUITE=bookworm
MIRRORS=(
    "deb http://deb.debian.org/debian bookworm main"
    "deb http://deb.debian.org/debian bookworm-updates main"
    "deb http://deb.debian.org/debian-security bookworm-security main"
)
# Free space left in the root file system beyond its contents (the image is sparse).
IMAGE_HEADROOM_MIB=2048

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
self=$here/$(basename "${BASH_SOURCE[0]}")
cache=${CELLA_VM_CACHE:-/var/cache/cella-vm}

log() { echo "build-image: $*" >&2; }
die() {
    echo "build-image: error: $*" >&2
    exit 2
}

# Units the harness does not start at boot (see vm/README.md for why each). Disabled, not
# masked: a payload may still `systemctl start` them (engine tests start what they need).
DISABLE_UNITS=(
    # the engines: started by the tests that need them (engine-tests runs its own instances)
    docker.service containerd.service
    podman.socket podman.service podman-auto-update.timer podman-auto-update.service
    podman-restart.service
    # periodic maintenance, useless in a VM that lives for one command
    apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer
    e2scrub_reap.service fstrim.timer
)
# Units never wanted: no getty may read from or write to the serial ports (ttyS0 is the host's
# console log, ttyS1 the payload's output); no network to wait for (the VM has no NIC).
MASK_UNITS=(
    serial-getty@.service getty@.service getty-static.service
    systemd-networkd-wait-online.service
)

# --- hooks, run by mmdebstrap as "$self --hook NAME ROOT" -------------------------------------

# Copy vm/debian/guest/ (or the part under $2) into the root $1, owned by root.
copy_guest() {
    local root=$1 sub=${2:-.}
    (cd "$here/guest" && tar --owner=0 --group=0 --numeric-owner -cf - "$sub") |
        tar -C "$root" -xf - --no-overwrite-dir
}

configure_units() {
    local root=$1 u present=()
    for u in "${DISABLE_UNITS[@]}"; do
        # Only those the packages installed; systemctl disable fails on an unknown unit.
        if [[ -e $root/lib/systemd/system/$u || -e $root/usr/lib/systemd/system/$u ]]; then
            present+=("$u")
        fi
    done
    chroot "$root" systemctl disable --no-reload "${present[@]}" >&2
    chroot "$root" systemctl mask --no-reload "${MASK_UNITS[@]}" >&2
    chroot "$root" systemctl enable --no-reload cella-payload.service >&2
    mkdir -p "$root/payload"
    # What is enabled now, for the info file and the README.
    chroot "$root" systemctl list-unit-files --state=enabled,masked --no-legend --no-pager \
        >"$root/cella-vm-units.txt"
}

if [[ ${1:-} == --hook ]]; then
    hook=$2 root=$3
    case $hook in
    # Before the packages: the initramfs configuration that linux-image's postinst uses.
    essential)
        copy_guest "$root" ./etc/initramfs-tools
        copy_guest "$root" ./usr/share/initramfs-tools
        ;;
    customize)
        copy_guest "$root"
        configure_units "$root"
        # shellcheck disable=SC2016  # dpkg-query's format, not the shell's
        chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$root/cella-vm-packages.txt"
        ;;
    *) die "unknown hook $hook" ;;
    esac
    exit 0
fi

# --- the build --------------------------------------------------------------------------------

rebuild=0
case ${1:-} in
--rebuild) rebuild=1 ;;
'') ;;
*) die "usage: vm/debian/build-image.sh [--rebuild]" ;;
esac

key=$(
    cd "$here"
    {
        echo "layout=$IMAGE_LAYOUT suite=$SUITE headroom=$IMAGE_HEADROOM_MIB"
        printf '%s\n' "${MIRRORS[@]}"
        sha256sum build-image.sh packages
        find guest -type f -o -type l | LC_ALL=C sort | while read -r f; do
            printf '%s %s ' "$f" "$(stat -c %a "$f")"
            if [[ -L $f ]]; then readlink "$f"; else sha256sum <"$f"; fi
        done
    } | sha256sum | cut -c1-16
)
out=$cache/debian-$key

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if ((rebuild)) && [[ -d $out ]]; then
    rm -rf --one-file-system "$out"
fi
if [[ -f $out/info && -f $out/rootfs.img ]]; then
    log "cached ($out)"
    echo "$out"
    exit 0
fi

"$repo/scripts/ensure-packages.sh" mmdebstrap e2fsprogs
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$here/packages")
((${#packages[@]})) || die "no packages in $here/packages"

tmp=$cache/.debian-$key.tmp.$$
trap 'rm -rf --one-file-system "$tmp"' EXIT
rm -rf --one-file-system "$tmp"
mkdir -p "$tmp/out"
root=$tmp/root
log "building $out (${#packages[@]} packages; mmdebstrap, then mkfs.ext4)"
t0=$(date +%s.%N)
mmdebstrap --variant=minbase --mode=root --format=directory \
    --aptopt='APT::Install-Recommends "false"' \
    --include="$(
        IFS=,
        echo "${packages[*]}"
    )" \
    --essential-hook="$(printf '%q' "$self") --hook essential \"\$1\"" \
    --customize-hook="$(printf '%q' "$self") --hook customize \"\$1\"" \
    "$SUITE" "$root" "${MIRRORS[@]}" >&2
t1=$(date +%s.%N)

# SELinux labels (security.selinux xattrs, which mkfs.ext4 -d copies), so that a boot with
# security=selinux finds a labelled file system instead of unlabeled_t everywhere. Done here,
# after mmdebstrap has unmounted the chroot's /sys and /dev, so that only the image's own files
# are labelled. The host needs no SELinux: without an LSM, the kernel stores security.* xattrs
# as given. setfiles sets each label through /proc/self/fd (ENOENT for every file without a
# proc), so a proc is mounted in the chroot, in a private mount namespace that ends with it,
# and excluded.
t_label=$(date +%s.%N)
unshare --mount --propagation private sh -c \
    'mount -t proc proc "$1/proc" && exec chroot "$1" setfiles -F -e /proc \
        /etc/selinux/default/contexts/files/file_contexts /' sh "$root" >&2
t_label_end=$(date +%s.%N)

# The guest's own kernel and initramfs, for QEMU's direct kernel boot.
kernel=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -n1)
[[ -n $kernel ]] || die "no /boot/vmlinuz-* in the image"
kver=${kernel#vmlinuz-}
[[ -f $root/boot/initrd.img-$kver ]] || die "no /boot/initrd.img-$kver in the image"
cp "$root/boot/vmlinuz-$kver" "$tmp/out/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$tmp/out/initrd.img"
mv "$root/cella-vm-packages.txt" "$tmp/out/packages.txt"
mv "$root/cella-vm-units.txt" "$tmp/out/units.txt"

# The root file system, without loop mounts: mkfs.ext4 populates it from the directory.
used_kib=$(du -sk --apparent-size "$root" | cut -f1)
size_mib=$(((used_kib * 12 / 10) / 1024 + IMAGE_HEADROOM_MIB))
truncate -s "${size_mib}M" "$tmp/out/rootfs.img"
mkfs.ext4 -q -F -L cella-root -m 0 -E root_owner=0:0 -d "$root" "$tmp/out/rootfs.img" >&2
chmod 0444 "$tmp/out/rootfs.img"
t2=$(date +%s.%N)

{
    echo "key=$key"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "kernel=$kver"
    echo "packages=$(wc -l <"$tmp/out/packages.txt")"
    echo "contents_mib=$((used_kib / 1024))"
    echo "image_apparent_mib=$(($(stat -c %s "$tmp/out/rootfs.img") / 1048576))"
    echo "image_disk_mib=$(($(du -k "$tmp/out/rootfs.img" | cut -f1) / 1024))"
    echo "initrd_kib=$(($(stat -c %s "$tmp/out/initrd.img") / 1024))"
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v l="$t_label" -v m="$t_label_end" \
        'BEGIN { printf "mmdebstrap_s=%.0f\nsetfiles_s=%.1f\nmkfs_s=%.0f\nbuild_s=%.0f\n", b - a, m - l, c - m, c - a }'
} >"$tmp/out/info"
rm -rf --one-file-system "$root"

rm -rf --one-file-system "$out"
mv "$tmp/out" "$out"
# Older images are stale now.
find "$cache" -mindepth 1 -maxdepth 1 -name 'debian-*' ! -name "debian-$key" -exec rm -rf --one-file-system {} +
log "built $out: $(tr '\n' ' ' <"$out/info")"
echo "$out"
