#!/bin/sh
# /payload/.watchdog SECONDS, started by /payload/cmd (vm/lib.sh, vm_write_cmd) in the
# background with its output on the console: if the guest is still up SECONDS later (the run's
# --timeout less 30 s, so the payload has hung or is about to be timed out by the host), dump
# every process's state and kernel wait channel, then the kernel's blocked tasks and CPUs
# (sysrq w and l), to the console log, whose tail the host prints on a timeout. A timed-out
# run whose console log lacks this dump had a guest frozen as a whole.
sleep "$1" || exit 0
echo "cella-vm: watchdog: the payload is still running after $1 s; every process (pid state wchan cmdline):"
for d in /proc/[0-9]*; do
    [ -r "$d/stat" ] || continue
    state=$(cut -d' ' -f3 "$d/stat" 2>/dev/null)
    printf '%s %s %s %s\n' "${d#/proc/}" "$state" "$(cat "$d/wchan" 2>/dev/null)" \
        "$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null | cut -c1-160)"
done
echo "cella-vm: watchdog: blocked tasks and CPU backtraces (sysrq w, l):"
# The console shows KERN_INFO (the dumps' level) only from log level 8.
echo 8 >/proc/sys/kernel/printk 2>/dev/null
echo w >/proc/sysrq-trigger 2>/dev/null
echo l >/proc/sysrq-trigger 2>/dev/null
echo "cella-vm: watchdog: end of the dump"
