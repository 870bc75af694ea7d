# shellcheck shell=bash disable=SC2034  # globals set here are read by the callers
# Shared code of vm/run.sh and vm/run-spec-tests.sh: boot a throw-away QEMU (TCG) guest with a
# pure cgroup v2 hierarchy, run a payload command in it and pass its output and exit code back.
# See vm/README.md. Sourced, not executed; the callers set `set -euo pipefail`.
#
# The initrd is two concatenated cpio archives:
#   - a base archive, cached in vm/cache/: busybox with its applet links, /init (vm/init.sh),
#     a minimal /etc; rebuilt when busybox, vm/init.sh or VM_BASE_LAYOUT changes;
#   - a per-run payload archive: /payload/cmd (the command to run), the binaries given with
#     their shared libraries (as `ldd` lists them, at the same paths), the container rootfs.
#
# With --image debian the guest is instead a Debian 12 systemd system (vm/debian/): its cached
# disk image (vm/debian/build-image.sh) boots under a QEMU snapshot, and the same payload comes
# on a second virtio disk made per run (vm_payload_disk); the output protocol is the same.

# Bump when the base archive's layout below changes so that cached copies are rebuilt.
VM_BASE_LAYOUT=1
VM_PACKAGES=(qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio)
VM_CMDLINE='console=ttyS0 panic=-1 loglevel=4 quiet mitigations=off cgroup_no_v1=all'
# The Debian guest (vm/debian/build-image.sh needs mmdebstrap and installs it; mkfs.ext4 makes
# the payload disk). Its cgroups: systemd's unified (pure v2) hierarchy, set explicitly.
VM_DEBIAN_PACKAGES=(qemu-system-x86 e2fsprogs)
VM_DEBIAN_CMDLINE='root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 quiet mitigations=off systemd.unified_cgroup_hierarchy=1 fsck.mode=skip'

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_REPO=$(cd "$VM_DIR/.." && pwd)
VM_CACHE=$VM_DIR/cache
VM_TMP=

vm_log() { echo "vm: $*" >&2; }
vm_die() {
    echo "vm: error: $*" >&2
    exit 2
}

# --- options shared by both commands ------------------------------------------------------------

# Defaults; the callers may change them before vm_parse_options.
VM_OPT_RUNTIME=
VM_OPT_SPEC_TESTS=
VM_OPT_ROOTFS=default
VM_OPT_TIMEOUT=600
VM_OPT_MEM=
VM_OPT_SMP=2
VM_OPT_KERNEL=
VM_OPT_APPEND=
VM_OPT_CONSOLE=
VM_OPT_ADD=()
VM_OPT_IMAGE=initramfs
VM_OPT_CELLA=
VM_OPT_PAYLOAD_CGROUP=service
VM_OPT_LSM=apparmor
VM_ARGS=()

VM_OPTIONS_HELP='Payload and VM options:
  --image NAME        the guest: initramfs (default; busybox as PID 1) or debian (Debian 12 with
                      systemd as PID 1, the engines installed; vm/debian/, see vm/README.md)
  --cella PATH        (debian) the cella put at /usr/local/bin/cella (default: the output of
                      scripts/build-release.sh, built if missing)
  --payload-cgroup W  (debian) where the command runs: service (default; the cgroup of
                      cella-payload.service, as a program a service starts) or root (the root
                      cgroup, as in the initramfs guest)
  --lsm NAME          (debian) the major LSM: apparmor (default, as Debian boots) or selinux
                      (security=selinux on the kernel command line; the image has
                      selinux-policy-default, permissive, labelled file system)
  --runtime PATH      a runtime binary (or a bare name looked up in PATH), put at /payload/NAME
  --spec-tests PATH   a spec-tests binary, put at /payload/spec-tests
  --rootfs DIR        container rootfs, put at /payload/rootfs (default: the output of
                      fixtures/build-rootfs.sh)
  --no-rootfs         carry no rootfs
  --add HOST[:GUEST]  also copy a file or directory (GUEST defaults to the same absolute path);
                      a dynamic executable brings the libraries ldd lists
  --timeout SECS      kill the VM after SECS seconds (default 600; exit code 124)
  --mem MIB           guest memory (default 1024; 2048 with --image debian)
  --smp N             guest vCPUs (default 2)
  --kernel PATH       guest kernel (default: the newest /boot/vmlinuz-*-cloud-amd64; not with
                      --image debian, which boots its own)
  --append ARGS       extra kernel command line arguments
  --console FILE      keep the guest console log (kernel messages, /init) in FILE'

vm_parse_options() {
    local usage=$1
    shift
    while (($#)); do
        case $1 in
        --runtime | --spec-tests | --rootfs | --add | --timeout | --mem | --smp | --kernel | --append | --console | --image | --cella | --payload-cgroup | --lsm)
            (($# >= 2)) || vm_die "$1 needs a value"
            case $1 in
            --runtime) VM_OPT_RUNTIME=$2 ;;
            --spec-tests) VM_OPT_SPEC_TESTS=$2 ;;
            --rootfs) VM_OPT_ROOTFS=$2 ;;
            --add) VM_OPT_ADD+=("$2") ;;
            --timeout) VM_OPT_TIMEOUT=$2 ;;
            --mem) VM_OPT_MEM=$2 ;;
            --smp) VM_OPT_SMP=$2 ;;
            --kernel) VM_OPT_KERNEL=$2 ;;
            --append) VM_OPT_APPEND=$2 ;;
            --console) VM_OPT_CONSOLE=$2 ;;
            --image) VM_OPT_IMAGE=$2 ;;
            --cella) VM_OPT_CELLA=$2 ;;
            --payload-cgroup) VM_OPT_PAYLOAD_CGROUP=$2 ;;
            --lsm) VM_OPT_LSM=$2 ;;
            esac
            shift 2
            ;;
        --no-rootfs)
            VM_OPT_ROOTFS=
            shift
            ;;
        -h | --help)
            echo "$usage"
            echo
            echo "$VM_OPTIONS_HELP"
            exit 0
            ;;
        --)
            shift
            VM_ARGS=("$@")
            break
            ;;
        *) vm_die "unknown option '$1' (arguments for the guest go after --; see --help)" ;;
        esac
    done
    case $VM_OPT_IMAGE in
    initramfs)
        [[ -z $VM_OPT_CELLA ]] || vm_die "--cella is for --image debian (use --runtime or --add)"
        [[ $VM_OPT_PAYLOAD_CGROUP == service ]] || vm_die "--payload-cgroup is for --image debian"
        [[ $VM_OPT_LSM == apparmor ]] || vm_die "--lsm is for --image debian (the initramfs guest has no policy)"
        VM_OPT_MEM=${VM_OPT_MEM:-1024}
        ;;
    debian)
        [[ -z $VM_OPT_KERNEL ]] || vm_die "--kernel is not for --image debian (it boots its own)"
        VM_OPT_MEM=${VM_OPT_MEM:-2048}
        case $VM_OPT_PAYLOAD_CGROUP in
        service) ;;
        root) VM_OPT_APPEND="cella.payload_cgroup=root${VM_OPT_APPEND:+ $VM_OPT_APPEND}" ;;
        *) vm_die "--payload-cgroup: service or root, not '$VM_OPT_PAYLOAD_CGROUP'" ;;
        esac
        # The cloud kernel builds both in and picks AppArmor (first in CONFIG_LSM); security=
        # chooses the one major LSM, and systemd loads the SELinux policy (/etc/selinux/config).
        case $VM_OPT_LSM in
        apparmor) ;;
        selinux) VM_OPT_APPEND="security=selinux${VM_OPT_APPEND:+ $VM_OPT_APPEND}" ;;
        *) vm_die "--lsm: apparmor or selinux, not '$VM_OPT_LSM'" ;;
        esac
        ;;
    *) vm_die "unknown image '$VM_OPT_IMAGE' (initramfs or debian)" ;;
    esac
    for n in "$VM_OPT_TIMEOUT" "$VM_OPT_MEM" "$VM_OPT_SMP"; do
        [[ $n =~ ^[1-9][0-9]*$ ]] || vm_die "not a positive integer: '$n'"
    done
}

# --- host setup ---------------------------------------------------------------------------------

# A private temporary directory, removed on exit (with whatever VM is still running).
VM_QEMU_PID=
vm_setup() {
    VM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cella-vm.XXXXXX")
    trap vm_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

vm_cleanup() {
    if [[ -n $VM_QEMU_PID ]] && kill -0 "$VM_QEMU_PID" 2>/dev/null; then
        kill -TERM "$VM_QEMU_PID" 2>/dev/null || true
        wait "$VM_QEMU_PID" 2>/dev/null || true
    fi
    if [[ -n $VM_TMP && -d $VM_TMP ]]; then
        rm -rf --one-file-system "$VM_TMP"
    fi
    rm -f "$VM_CACHE"/*."$$".tmp
}

vm_ensure_packages() {
    if [[ $VM_OPT_IMAGE == debian ]]; then
        "$VM_REPO/scripts/ensure-packages.sh" "${VM_DEBIAN_PACKAGES[@]}"
    else
        "$VM_REPO/scripts/ensure-packages.sh" "${VM_PACKAGES[@]}"
    fi
}

# The guest's boot files: the base archive, or the Debian image (built or reused).
vm_prepare_guest() {
    if [[ $VM_OPT_IMAGE == debian ]]; then
        vm_debian_image
    else
        vm_base_cpio
    fi
}

vm_kernel() {
    if [[ -n $VM_OPT_KERNEL ]]; then
        [[ -r $VM_OPT_KERNEL ]] || vm_die "cannot read kernel $VM_OPT_KERNEL"
        echo "$VM_OPT_KERNEL"
        return
    fi
    local k
    k=$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' | sort -V | tail -n1)
    [[ -n $k ]] || vm_die "no /boot/vmlinuz-*-cloud-amd64 (package linux-image-cloud-amd64)"
    echo "$k"
}

# --- the base archive ---------------------------------------------------------------------------

# Sets VM_BASE to the path of the cached base cpio archive, building it if needed. It is built in
# $VM_TMP and moved into vm/cache/ under a temporary name, so that concurrent runs and
# interrupted builds never leave a partial archive under the final name.
VM_BASE=
vm_base_cpio() {
    local busybox=/bin/busybox key out stage applet
    key=$(
        {
            echo "layout=$VM_BASE_LAYOUT"
            sha256sum <"$busybox"
            sha256sum <"$VM_DIR/init.sh"
        } | sha256sum | cut -c1-16
    )
    out=$VM_CACHE/base-$key.cpio
    VM_BASE=$out
    [[ -f $out ]] && return 0
    vm_log "building the base initramfs $out"
    stage=$VM_TMP/base-root
    mkdir -p "$stage" "$VM_CACHE"
    (
        cd "$stage" || exit
        mkdir -p bin dev etc lib lib64 newroot payload proc root run sys tmp usr var
        chmod 1777 tmp
        chmod 0700 root
        ln -s bin sbin
        ln -s ../bin usr/bin
        ln -s ../bin usr/sbin
        cp "$busybox" bin/busybox
        chmod 0755 bin/busybox
        for applet in $("$busybox" --list); do
            [[ $applet == busybox ]] || ln -s busybox "bin/$applet"
        done
        cp "$VM_DIR/init.sh" init
        chmod 0755 init
        printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'user:x:1000:1000:user:/:/bin/sh' \
            'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >etc/passwd
        printf '%s\n' 'root:x:0:' 'tty:x:5:' 'user:x:1000:' 'nogroup:x:65534:' >etc/group
        echo cella-vm >etc/hostname
        find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible
    ) >"$VM_TMP/base.cpio"
    rm -rf --one-file-system "$stage"
    cp "$VM_TMP/base.cpio" "$out.$$.tmp"
    mv "$out.$$.tmp" "$out"
    # Older bases are stale now.
    find "$VM_CACHE" -maxdepth 1 -name 'base-*.cpio' ! -name "base-$key.cpio" -delete
}

# --- the payload archive ------------------------------------------------------------------------

# Staging tree of the payload archive: $VM_TMP/payload-root (debian: tree/ of the payload disk).
vm_stage() {
    if [[ $VM_OPT_IMAGE == debian ]]; then
        echo "$VM_TMP/payload-disk/tree"
    else
        echo "$VM_TMP/payload-root"
    fi
}

# Where the carried binaries' libraries go: the same tree (debian: libs/ of the payload disk,
# installed in the guest only where it lacks the file).
vm_lib_stage() {
    if [[ $VM_OPT_IMAGE == debian ]]; then
        echo "$VM_TMP/payload-disk/libs"
    else
        vm_stage
    fi
}

# vm_add_libs BINARY: copy the shared libraries ldd lists (and the loader) to the same paths.
vm_add_libs() {
    local bin=$1 stage lib out
    stage=$(vm_lib_stage)
    # Static binaries and scripts: ldd fails, nothing to add.
    out=$(ldd "$bin" 2>/dev/null) || return 0
    if grep -q 'not found' <<<"$out"; then
        vm_die "$bin: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"
    fi
    while read -r lib; do
        [[ -e $stage$lib ]] && continue
        mkdir -p "$stage$(dirname "$lib")"
        cp -L "$lib" "$stage$lib"
    done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' <<<"$out")
}

# vm_add_path HOST GUEST: copy a file (dereferenced, with its libraries) or a directory (as is).
vm_add_path() {
    local host=$1 guest=$2 stage
    stage=$(vm_stage)
    [[ -e $host ]] || vm_die "no such file or directory: $host"
    [[ $guest == /* ]] || vm_die "guest path must be absolute: $guest"
    [[ ! -e $stage$guest ]] || vm_die "guest path given twice: $guest"
    mkdir -p "$stage$(dirname "$guest")"
    if [[ -d $host ]]; then
        cp -a "$host" "$stage$guest"
    else
        cp -L "$host" "$stage$guest"
        [[ -x $host ]] && vm_add_libs "$host"
    fi
    return 0
}

# Resolve a binary given as a path or as a bare name in PATH; prints an absolute path.
vm_resolve_bin() {
    local p=$1
    if [[ $p != */* ]]; then
        p=$(command -v "$p") || vm_die "not found in PATH: $1"
    fi
    [[ -f $p && -x $p ]] || vm_die "not an executable file: $p"
    realpath -s "$p"
}

# Quote each argument for /bin/sh.
vm_shquote() {
    local a out=
    for a in "$@"; do
        out+=" '${a//\'/\'\\\'\'}'"
    done
    echo "${out# }"
}

# Set by vm_stage_payload: the guest paths of the runtime and spec-tests ('' when not carried).
VM_GUEST_RUNTIME=
VM_GUEST_SPEC_TESTS=
VM_GUEST_ROOTFS=

# Stage the options' payload (runtime, spec-tests, rootfs, --add paths).
vm_stage_payload() {
    local stage item host guest
    stage=$(vm_stage)
    mkdir -p "$stage/payload"
    if [[ -n $VM_OPT_RUNTIME ]]; then
        host=$(vm_resolve_bin "$VM_OPT_RUNTIME")
        VM_GUEST_RUNTIME=/payload/$(basename "$host")
        case $VM_GUEST_RUNTIME in
        /payload/cmd | /payload/spec-tests | /payload/rootfs) vm_die "runtime name clashes with $VM_GUEST_RUNTIME" ;;
        esac
        vm_add_path "$host" "$VM_GUEST_RUNTIME"
    fi
    if [[ -n $VM_OPT_SPEC_TESTS ]]; then
        host=$(vm_resolve_bin "$VM_OPT_SPEC_TESTS")
        VM_GUEST_SPEC_TESTS=/payload/spec-tests
        vm_add_path "$host" "$VM_GUEST_SPEC_TESTS"
    fi
    if [[ $VM_OPT_ROOTFS == default ]]; then
        VM_OPT_ROOTFS=$("$VM_REPO/fixtures/build-rootfs.sh" | tail -n1)
    fi
    if [[ -n $VM_OPT_ROOTFS ]]; then
        [[ -d $VM_OPT_ROOTFS ]] || vm_die "rootfs is not a directory: $VM_OPT_ROOTFS"
        VM_GUEST_ROOTFS=/payload/rootfs
        vm_add_path "$(realpath "$VM_OPT_ROOTFS")" "$VM_GUEST_ROOTFS"
    fi
    for item in ${VM_OPT_ADD[@]+"${VM_OPT_ADD[@]}"}; do
        host=${item%%:*}
        guest=${item#*:}
        [[ $item == *:* ]] || guest=
        host=$(realpath -s "$host")
        vm_add_path "$host" "${guest:-$host}"
    done
    if [[ $VM_OPT_IMAGE == debian ]]; then
        vm_add_path "$(vm_debian_cella)" /usr/local/bin/cella
    fi
}

# vm_write_cmd CMD...: write /payload/cmd, a sh script that starts the watchdog (vm/watchdog.sh)
# and execs CMD.
vm_write_cmd() {
    local stage
    stage=$(vm_stage)
    mkdir -p "$stage/payload"
    install -m 0755 "$VM_DIR/watchdog.sh" "$stage/payload/.watchdog"
    {
        echo '#!/bin/sh'
        if ((VM_OPT_TIMEOUT > 60)); then
            echo "/payload/.watchdog $((VM_OPT_TIMEOUT - 30)) </dev/null >/dev/console 2>&1 &"
        fi
        echo "exec $(vm_shquote "$@")"
    } >"$stage/payload/cmd"
    chmod 0755 "$stage/payload/cmd"
}

# vm_payload CMD...: the payload for the guest (a cpio archive, or the debian guest's disk);
# prints its path.
vm_payload() {
    if [[ $VM_OPT_IMAGE == debian ]]; then
        vm_payload_disk "$@"
    else
        vm_payload_cpio "$@"
    fi
}

# vm_payload_cpio CMD...: write /payload/cmd (runs CMD with PATH=/payload:/bin, cwd /tmp) and
# archive the staged payload; prints the archive's path.
vm_payload_cpio() {
    local stage out
    stage=$(vm_stage)
    out=$VM_TMP/payload.cpio
    vm_write_cmd "$@"
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible) >"$out"
    echo "$out"
}

# --- running the VM -----------------------------------------------------------------------------

# vm_boot PAYLOAD: boot the VM (PAYLOAD: vm_payload's output), stream the payload's output to
# stdout, and exit the script with the payload's exit code (124 on timeout, 125 when the VM
# ended without the marker line).
vm_boot() {
    local payload=$1 kernel initrd console fifo rcfile reader_pid qrc=0 rc start end boot=()
    console=$VM_TMP/console.log
    fifo=$VM_TMP/out.fifo
    rcfile=$VM_TMP/rc
    if [[ $VM_OPT_IMAGE == debian ]]; then
        # The cached image under a snapshot (opened read-only; the writes go to a temporary
        # qcow2 in TMPDIR, here the run's directory), the payload disk as is.
        # shellcheck disable=SC2054  # the commas are QEMU's
        boot=(-kernel "$VM_DEBIAN_DIR/vmlinuz" -initrd "$VM_DEBIAN_DIR/initrd.img"
            -drive "file=$VM_DEBIAN_DIR/rootfs.img,format=raw,if=none,id=root,snapshot=on"
            -device virtio-blk-pci,drive=root
            -drive "file=$payload,format=raw,if=none,id=payload"
            -device virtio-blk-pci,drive=payload,serial=cella-payload
            -append "$VM_DEBIAN_CMDLINE${VM_OPT_APPEND:+ $VM_OPT_APPEND}")
    else
        kernel=$(vm_kernel)
        initrd=$VM_TMP/initrd.cpio
        cat "$VM_BASE" "$payload" >"$initrd"
        rm -f "$payload"
        boot=(-kernel "$kernel" -initrd "$initrd" -append "$VM_CMDLINE${VM_OPT_APPEND:+ $VM_OPT_APPEND}")
    fi
    mkfifo "$fifo"

    # Guest ttyS1 -> stdout, minus the marker line, whose value is appended to $rcfile. The
    # payload's last line may lack a newline, so the marker may follow text on its line.
    sed -u -n -e 's/\r$//' \
        -e '/CELLA-VM-EXIT=[0-9][0-9]*$/!{p;b' -e '}' \
        -e 'h;s/.*CELLA-VM-EXIT=//' -e "w $rcfile" \
        -e 'g;s/CELLA-VM-EXIT=[0-9]*$//;/./p' <"$fifo" &
    reader_pid=$!

    start=$(date +%s.%N)
    TMPDIR=$VM_TMP timeout --foreground -k 5 "$VM_OPT_TIMEOUT" \
        qemu-system-x86_64 -nodefaults -no-user-config -display none -monitor none -no-reboot \
        -accel tcg,thread=multi -cpu max -m "$VM_OPT_MEM" -smp "$VM_OPT_SMP" \
        -serial "file:$console" -chardev stdio,id=out,signal=off -serial chardev:out \
        "${boot[@]}" </dev/null >"$fifo" &
    VM_QEMU_PID=$!
    wait "$VM_QEMU_PID" || qrc=$?
    VM_QEMU_PID=
    end=$(date +%s.%N)
    wait "$reader_pid" || true

    if [[ -n $VM_OPT_CONSOLE ]]; then
        cp "$console" "$VM_OPT_CONSOLE"
    fi
    local times
    times=$(awk -v s="$start" -v e="$end" '
        /cella-vm: payload start uptime=/ { sub(/.*uptime=/, ""); ps = $1 }
        /cella-vm: payload end uptime=/ { sub(/.*uptime=/, ""); pe = $1 }
        END {
            printf "VM %.1f s", e - s
            if (ps != "") printf ", boot to payload %.1f s", ps
            if (ps != "" && pe != "") printf ", payload %.1f s", pe - ps
        }' "$console")
    if [[ -s $rcfile ]]; then
        rc=$(tail -n1 "$rcfile")
        vm_log "payload exit code $rc ($times)"
        exit "$rc"
    fi
    if ((qrc == 124)); then
        vm_log "timed out after $VM_OPT_TIMEOUT s ($times)"
        rc=124
    else
        vm_log "the VM ended without the exit marker (qemu exit code $qrc; $times)"
        rc=125
    fi
    if grep -q 'cella-vm: watchdog:' "$console"; then
        vm_log "the console log from the guest's watchdog dump (vm/watchdog.sh):"
        sed -n '/cella-vm: watchdog:/,$p' "$console" | head -n 400 | sed 's/^/vm: | /' >&2 || true
    else
        vm_log "last lines of the console log (no watchdog dump in it: the guest was frozen, or the run's --timeout was too short for one):"
        tail -n 40 "$console" | sed 's/^/vm: | /' >&2 || true
    fi
    exit "$rc"
}

# --- the Debian guest ---------------------------------------------------------------------------

# Sets VM_DEBIAN_DIR to the image's cache directory (vmlinuz, initrd.img, rootfs.img), building
# it if the recipe changed (vm/debian/build-image.sh; several minutes the first time).
VM_DEBIAN_DIR=
vm_debian_image() {
    VM_DEBIAN_DIR=$("$VM_DIR/debian/build-image.sh" | tail -n1)
    [[ -f $VM_DEBIAN_DIR/rootfs.img ]] || vm_die "vm/debian/build-image.sh gave no image"
}

# The cella binary for /usr/local/bin/cella: --cella, or scripts/build-release.sh's output
# (built when missing). Prints its path.
vm_debian_cella() {
    local c=$VM_OPT_CELLA
    if [[ -z $c ]]; then
        c=${CARGO_TARGET_DIR:-$VM_REPO/target}/x86_64-unknown-linux-gnu/release/cella
        if [[ ! -x $c ]]; then
            vm_log "building the shipped cella (scripts/build-release.sh)"
            c=$("$VM_REPO/scripts/build-release.sh" | tail -n1)
        fi
    fi
    vm_resolve_bin "$c"
}

# vm_payload_disk CMD...: write /payload/cmd and make the payload disk, an ext4 image of the
# staged tree/ and libs/ (mkfs.ext4 -d: no loop mount); prints its path. The guest's
# run-payload (vm/debian/guest/usr/local/lib/cella-vm/run-payload) installs it.
vm_payload_disk() {
    local dir=$VM_TMP/payload-disk out=$VM_TMP/payload.img kib
    vm_write_cmd "$@"
    mkdir -p "$dir/libs"
    kib=$(du -sk --apparent-size "$dir" | cut -f1)
    truncate -s "$((kib * 12 / 10 / 1024 + 64))M" "$out"
    mkfs.ext4 -q -F -L cella-payload -m 0 -E root_owner=0:0 -d "$dir" "$out" >&2 ||
        vm_die "mkfs.ext4 of the payload disk failed"
    rm -rf --one-file-system "$dir"
    echo "$out"
}
