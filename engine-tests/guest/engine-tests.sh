#!/bin/sh
# engine-tests with every engine on the systemd cgroup driver (--systemd-cgroup), in the Debian
# systemd guest (vm/run.sh --image debian), through cella and then through the guest's runc, in
# one boot. Run as root in the guest, with the binary and cri_client.py added at
# /payload/engine-tests and /payload/cri_client.py and the rootfs at /payload/rootfs:
#
#   vm/run.sh --image debian --cella "$cella" \
#       --add "$CARGO_TARGET_DIR/release/engine-tests:/payload/engine-tests" \
#       --add engine-tests/cri_client.py:/payload/cri_client.py \
#       --add engine-tests/guest/engine-tests.sh:/payload/engine-tests.sh \
#       --add engine-tests/guest/runc-expected.txt:/payload/runc-expected.txt \
#       -- /payload/engine-tests.sh [ENGINE-TESTS-ARGS...]
#
# runc's run gets --expected-failures /payload/runc-expected.txt (runc 1.1.5's known failures
# there, reported as TODO; the file says why).
#
# ENGINE-TESTS-ARGS (e.g. --filter REGEX) go to both runs. RUNTIMES (default: cella, then runc)
# lists the runtimes to run. Prints each run's TAP, then one line per runtime and a closing
# "N passed, N failed, N skipped" that adds them up; exits 1 if any run failed.
set -u
runtimes=${RUNTIMES:-/usr/local/bin/cella /usr/sbin/runc}
passed=0
failed=0
skipped=0
rc=0
summary=""
for rt in $runtimes; do
    name=$(basename "$rt")
    out=/tmp/engine-tests-$name.out
    echo "# engine-tests --systemd-cgroup --runtime $rt"
    start=$(date +%s)
    expected=""
    case $name in runc*) expected="--expected-failures /payload/runc-expected.txt" ;; esac
    # shellcheck disable=SC2086 # $expected is empty or two words
    { /payload/engine-tests --runtime "$rt" --rootfs /payload/rootfs --scripts /payload \
        --systemd-cgroup $expected "$@"; echo $? >/tmp/engine-tests-$name.rc; } 2>&1 | tee "$out"
    took=$(($(date +%s) - start))
    r=$(cat /tmp/engine-tests-$name.rc)
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n1)
    if [ -z "$line" ]; then
        line="0 passed, 1 failed, 0 skipped"
        echo "# $name: engine-tests printed no closing line (exit $r)"
    fi
    [ "$r" = 0 ] || rc=1
    p=$(echo "$line" | awk '{print $1}')
    f=$(echo "$line" | awk '{print $3}')
    s=$(echo "$line" | awk '{print $5}')
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    # An outside check of the suite's own clean-up: no unit of the run is loaded, no cgroup of
    # its slices is left.
    left=$(systemctl list-units --all --no-legend --plain --type=slice,scope |
        awk '{ u = ($1 == "●") ? $2 : $1 } u ~ /^(engine_tests_|cri-containerd-|libpod-|docker-|ctr-)/ { print u }')
    left="$left$(find /sys/fs/cgroup -maxdepth 3 -type d -name 'engine_tests_*' 2>/dev/null)"
    if [ -n "$left" ]; then
        echo "# $name: left after the run:" $left
        failed=$((failed + 1))
        rc=1
    fi
    todo=$(grep -E '^# [0-9]+ expected failures' "$out" | sed 's/^# //')
    summary="$summary# $name: $line, ${took} s (exit $r)${todo:+; $todo}
"
done
printf '%s' "$summary"
echo "$passed passed, $failed failed, $skipped skipped"
exit $rc
