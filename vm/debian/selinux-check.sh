#!/usr/bin/env bash
# Boot the Debian 12 guest with SELinux (vm/run.sh --image debian --lsm selinux: Debian's
# selinux-policy-default, permissive, a labelled file system) and check the node, then, for
# each runtime, process.selinuxLabel, exec --process-label, linux.mountLabel and the keyring
# label, from inside the containers and from the guest (docs/lsm.md, "SELinux in the guest").
# Optionally (--add .../spec-tests:/payload/spec-tests) spec-tests' SELinux tests against each
# runtime in the same boot. TAP output, closing with "N passed, N failed, N skipped, N todo";
# the exit status is 1 if a check failed.
#
#   vm/debian/selinux-check.sh [vm/run.sh OPTIONS]     e.g. --cella PATH, --console FILE
#
# RUNTIMES (environment; default "/usr/local/bin/cella /usr/sbin/runc"): the runtimes in the
# guest to check, each with its own --root. The containers use the busybox rootfs
# (fixtures/build-rootfs.sh, or --rootfs DIR) and, for the checks that need keyctl and stat,
# the guest's own / bound read-only.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cella-vm-selinux.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/selinux-check" <<'GUEST'
#!/bin/bash
# Runs in the guest as /payload/selinux-check RUNTIME... (root, cwd /tmp).
n=0 failed=0 skipped=0 todo=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)) failed=$((failed + 1))
    echo "not ok $n - $1"
    [[ -z ${2:-} ]] || sed 's/^/#   /' <<<"$2"
}
skip() { n=$((n + 1)) skipped=$((skipped + 1)); echo "ok $n # SKIP $1"; }
# Known deviations of cella from runc, shown as TAP TODO (not failures) until fixed: the
# check's key, then why. A TODO check that passes says so (make it a plain check then).
declare -A cella_todo=(
)
# expect_or_todo RUNTIME KEY NAME WANT CMD...: expect, or a TODO for cella's known deviation KEY.
expect_or_todo() {
    local rt=$1 key=$2 name=$3 want=$4 out
    shift 4
    if [[ $rt != cella || -z ${cella_todo[$key]:-} ]]; then
        expect "$name" "$want" "$@"
        return
    fi
    out=$("$@" 2>&1 | tr -d '\0')
    n=$((n + 1)) todo=$((todo + 1))
    if [[ $out == "$want" ]]; then
        echo "ok $n - $name # TODO ${cella_todo[$key]} (passes now: make it a check)"
    else
        echo "not ok $n - $name # TODO ${cella_todo[$key]}"
        echo "#   want '$want', got: $out"
    fi
}
# expect NAME WANT CMD...: ok if CMD prints WANT (exactly, trailing NULs and newlines aside).
expect() {
    local name=$1 want=$2 out
    shift 2
    out=$("$@" 2>&1 | tr -d '\0')
    if [[ $out == "$want" ]]; then ok "$name"; else not_ok "$name" "want '$want', got: $out"; fi
}
# check NAME CMD...: ok if CMD succeeds; its output is shown as a comment either way.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        ok "$name"
        [[ -z $out ]] || head -n 5 <<<"$out" | sed 's/^/# /'
    else
        not_ok "$name" "$out"
    fi
}
label_of() { tr -d '\0' <"/proc/$1/attr/current"; }
# valid CONTEXT: the loaded policy knows it (selinuxfs's context check, as setexeccon's).
valid() { printf %s "$1" >/sys/fs/selinux/context 2>/dev/null; }

# --- the node -------------------------------------------------------------------------------
check "SELinux is on (/sys/fs/selinux/enforce)" test -e /sys/fs/selinux/enforce
expect "permissive (getenforce)" Permissive getenforce
check "sestatus" sh -c "sestatus | grep -E 'status|policy name|mode|MLS|Max kernel'"
expect "the major LSM is SELinux, not AppArmor" N sh -c 'cat /sys/module/apparmor/parameters/enabled 2>/dev/null || echo N'
expect "PID 1 runs as init_t" system_u:system_r:init_t:s0 label_of 1
echo "# the payload runs as $(label_of self); $(systemd-analyze 2>&1 | head -n1)"
expect "the file system is labelled (/etc/passwd)" system_u:object_r:etc_t:s0 stat -c %C /etc/passwd
expect "the file system is labelled (/usr/sbin/runc)" system_u:object_r:bin_t:s0 stat -c %C /usr/sbin/runc
echo "# contexts the loaded policy knows (selinuxfs context check):"
for c in system_u:system_r:container_t:s0 system_u:object_r:container_file_t:s0 \
    system_u:system_r:spc_t:s0 system_u:system_r:container_runtime_t:s0 \
    system_u:system_r:svirt_lxc_net_t:s0 system_u:object_r:svirt_sandbox_file_t:s0 \
    system_u:system_r:svirt_t:s0 system_u:system_r:svirt_t:s0:c1,c2 \
    system_u:object_r:svirt_image_t:s0:c1,c2 system_u:object_r:svirt_tmpfs_t:s0 \
    system_u:system_r:virtd_lxc_t:s0 unconfined_u:unconfined_r:unconfined_t:s0 \
    system_u:system_r:unconfined_t:s0 system_u:system_r:cella_no_such_t:s0; do
    if valid "$c"; then echo "#   valid   $c"; else echo "#   unknown $c"; fi
done

# The labels of the checks. Debian 12's policy has no container module (no container_t,
# container_file_t, spc_t, svirt_lxc_net_t, svirt_sandbox_file_t): the closest are libvirt's
# sandbox domain svirt_t and its image type svirt_image_t (virt module), with MCS categories
# as engines give them; a second domain for exec --process-label; a type no policy has.
L=system_u:system_r:svirt_t:s0:c1,c2
L2=system_u:system_r:virtd_lxc_t:s0
M=system_u:object_r:svirt_image_t:s0:c1,c2
BAD=system_u:system_r:cella_no_such_t:s0
for c in "$L" "$L2" "$M"; do
    valid "$c" || not_ok "the policy knows $c (the checks below use it)"
done

# --- per runtime ----------------------------------------------------------------------------
# bundle DIR ROOTFS LABEL MOUNTLABEL CGROUP ARGS...: a config.json (the runtime's spec
# defaults: tmpfs /dev, devpts, /dev/shm, mqueue, sysfs, cgroup), LABEL/MOUNTLABEL set unless
# empty.
bundle() {
    local dir=$1 rootfs=$2 label=$3 mlabel=$4 cg=$5
    shift 5
    mkdir -p "$dir"
    (cd "$dir" && runc spec) || return 1
    python3 - "$dir/config.json" "$rootfs" "$label" "$mlabel" "$cg" "$@" <<'PY'
import json, sys
p, rootfs, label, mlabel, cg, *args = sys.argv[1:]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = args
c["root"] = {"path": rootfs, "readonly": True}
c["linux"]["cgroupsPath"] = cg
if label:
    c["process"]["selinuxLabel"] = label
if mlabel:
    c["linux"]["mountLabel"] = mlabel
json.dump(c, open(p, "w"))
PY
}

# The mountinfo line's context= option of the mount at MP, as "context=...".
mount_context() { awk -v mp="$1" '$5 == mp' | grep -oE 'context=("[^"]*"|[^, ]*)' | head -n1 | tr -d '"'; }

check_runtime() {
    local rt=$1 name root b out pid id key
    name=$(basename "$rt")
    root=/run/selinux-check-$name
    b=/tmp/selinux-$name
    RT() { "$rt" --root "$root" "$@"; }
    echo "# --- $rt ($("$rt" --version | head -n1))"

    # The init's label and the mounts' context, from inside.
    bundle "$b/run" /payload/rootfs "$L" "$M" "/selinux-check-$name-run" \
        sh -c 'cat /proc/self/attr/current; echo; cat /proc/self/mountinfo' || return
    out=$(RT run --bundle "$b/run" "sc-$name-run" 2>&1 | tr -d '\0')
    expect "$name: the init runs as selinuxLabel (/proc/self/attr/current)" "$L" head -n1 <<<"$out"
    for mp in /dev /dev/shm /dev/pts /dev/mqueue; do
        if [[ $mp == /dev/mqueue ]]; then
            expect "$name: $mp's mount options have no context= (mqueue takes none)" "" \
                mount_context "$mp" <<<"$out"
        else
            expect "$name: $mp's mount options have context=mountLabel" "context=$M" \
                mount_context "$mp" <<<"$out"
        fi
    done
    # The read-only tmpfs over masked directories (the spec default masks /proc/acpi and
    # /proc/scsi; the guest has /proc/acpi).
    local masked=0
    for mp in /proc/acpi /proc/scsi; do
        if awk -v mp="$mp" '$5 == mp' <<<"$out" | grep -q ' - tmpfs '; then
            masked=$((masked + 1))
            expect "$name: the tmpfs masking $mp has context=mountLabel" "context=$M" \
                mount_context "$mp" <<<"$out"
        fi
    done
    ((masked)) || skip "$name: no masked directory (/proc/acpi, /proc/scsi) in the container"

    # A running container with the guest's / (keyctl, stat) bound read-only as its rootfs.
    mkdir -p "$b/hostroot"
    mount --bind / "$b/hostroot" && mount -o remount,bind,ro "$b/hostroot"
    id=sc-$name-keys
    bundle "$b/keys" "$b/hostroot" "$L" "$M" "/selinux-check-$name-keys" sleep 1000 || return
    # The container's stdio must not be the command substitution's pipe: sleep would hold it.
    if ! RT create --bundle "$b/keys" "$id" </dev/null >"$b/create.log" 2>&1 || ! RT start "$id"; then
        out=$(cat "$b/create.log")
        not_ok "$name: create+start a container with selinuxLabel and mountLabel" "$out"
        RT delete -f "$id" 2>/dev/null
        umount "$b/hostroot"
        return
    fi
    pid=$(RT state "$id" | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
    expect "$name: the init's label from the guest (/proc/PID/attr/current)" "$L" label_of "$pid"
    # The session keyring the runtime made for the init (_ses.ID): its label is keycreate's.
    key=$(awk -v d="_ses.$id:" '$9 == d { print $1; exit }' /proc/keys)
    if [[ -n $key ]]; then
        expect "$name: the init's session keyring _ses.$id carries the label (keyctl security, from the guest)" \
            "$L" keyctl security "0x$key"
    else
        not_ok "$name: no session keyring _ses.$id in /proc/keys" "$(grep _ses /proc/keys)"
    fi
    expect "$name: exec without --process-label runs as the container's label" "$L" \
        RT exec "$id" cat /proc/self/attr/current
    expect "$name: exec's session keyring is the container's, with its label (keyctl security @s)" "$L" \
        RT exec "$id" keyctl security @s
    expect "$name: exec --process-label sets the exec'd process's label" "$L2" \
        RT exec --process-label "$L2" "$id" cat /proc/self/attr/current
    # keyctl(JOIN_SESSION_KEYRING, "_ses.ID") joins the keyring of that name if one exists (the
    # init's), so the exec'd process's own keycreate label is not used: the label stays L.
    expect "$name: exec --process-label joins the init's session keyring (its label stays the container's)" \
        "$L" RT exec --process-label "$L2" "$id" keyctl security @s
    for f in /dev /dev/shm /dev/pts /dev/mqueue; do
        expect "$name: $f is labelled mountLabel (stat -c %C, inside)" "$M" RT exec "$id" stat -c %C "$f"
    done
    RT delete -f "$id" >/dev/null 2>&1
    umount "$b/hostroot"

    # A context the policy does not know: refused at create, naming the field, nothing left.
    local field cfg_label cfg_mlabel
    for field in selinuxLabel mountLabel; do
        cfg_label= cfg_mlabel=
        if [[ $field == selinuxLabel ]]; then cfg_label=$BAD; else cfg_mlabel=${BAD/:system_r:/:object_r:}; fi
        id=sc-$name-bad-$field
        bundle "$b/bad-$field" /payload/rootfs "$cfg_label" "$cfg_mlabel" \
            "/selinux-check-$name-bad-$field" true || return
        if RT create --bundle "$b/bad-$field" "$id" </dev/null >"$b/create.log" 2>&1; then
            not_ok "$name: create with an unknown $field fails" "it succeeded: $(RT state "$id")"
            RT delete -f "$id" >/dev/null 2>&1
        elif out=$(cat "$b/create.log") && [[ $out == *"$field"* ]]; then
            ok "$name: create with an unknown $field fails, naming the field"
            echo "# ${out//$'\n'/ }"
        elif [[ $name != cella ]]; then
            # runc's messages name no config field ("write /proc/self/attr/keycreate: invalid
            # argument", the mount's data): the failure is what is checked.
            ok "$name: create with an unknown $field fails"
            echo "# ${out//$'\n'/ }"
        else
            not_ok "$name: create with an unknown $field fails, but the message does not name $field" "$out"
        fi
        expect "$name: nothing left after the refused $field ($name list)" "" \
            sh -c "'$rt' --root '$root' list -q"
        expect "$name: no cgroup left after the refused $field" "" \
            sh -c "ls -d /sys/fs/cgroup/selinux-check-$name-bad-$field 2>/dev/null"
    done
    expect "$name: no container left" "" RT list -q
    expect "$name: no cgroup left" "" sh -c "ls -d /sys/fs/cgroup/selinux-check-$name-* 2>/dev/null"
}

for rt in "$@"; do
    check_runtime "$rt"
done

# spec-tests' SELinux tests (selinux.*, process.selinux_label, mounts.mount_label), when carried.
if [[ -x /payload/spec-tests ]]; then
    for rt in "$@"; do
        flags=()
        if [[ $rt == /usr/local/bin/cella ]]; then
            flags=(--check-messages)
        fi
        if out=$(/payload/spec-tests --runtime "$rt" --rootfs /payload/rootfs "${flags[@]}" \
            --filter '^(selinux\.|process\.selinux_label$|mounts\.mount_label$)' 2>&1); then
            ok "spec-tests SELinux tests against $rt"
        else
            not_ok "spec-tests SELinux tests against $rt" "$out"
        fi
        grep -E '^(ok|not ok)|passed' <<<"$out" | sed 's/^/#   /'
    done
else
    skip "no /payload/spec-tests: spec-tests' SELinux tests not run"
fi

echo "# AVC denials logged (permissive: allowed): $(dmesg | grep -c 'avc:  denied')"
echo "1..$n"
echo "$((n - failed - skipped - todo)) passed, $failed failed, $skipped skipped, $todo todo"
((failed == 0))
GUEST
chmod 0755 "$tmp/selinux-check"

read -r -a runtimes <<<"${RUNTIMES:-/usr/local/bin/cella /usr/sbin/runc}"
rc=0
"$here/../run.sh" --image debian --lsm selinux --add "$tmp/selinux-check:/payload/selinux-check" \
    "$@" -- /payload/selinux-check "${runtimes[@]}" || rc=$?
exit "$rc"
