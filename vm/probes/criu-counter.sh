#!/bin/sh
# Probe (docs/criu.md): a counter in its own session, dumped and restored by criu, in a guest.
uname -r
/payload/criu check 2>&1 | tail -3
mkdir -p /tmp/img
setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.2; done' </dev/null >/dev/null 2>&1 &
sleep 2
pid=$(pgrep -f "while :" | head -1)
echo "counter pid $pid count $(cat /tmp/count)"
/payload/criu dump -t $pid -D /tmp/img --shell-job -v2 -o dump.log; echo "dump rc=$?"; tail -3 /tmp/img/dump.log
c1=$(cat /tmp/count); sleep 1; echo "after dump count $c1 -> $(cat /tmp/count)"
/payload/criu restore -D /tmp/img --shell-job -d -v2 -o restore.log; echo "restore rc=$?"; tail -3 /tmp/img/restore.log
sleep 2; echo "after restore count $(cat /tmp/count)"
