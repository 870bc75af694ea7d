#!/usr/bin/env python3
"""Splits recorded `run`s into phases and gives each phase's syscall time (see breakdown.sh).

Input: `perf script -F comm,pid,tid,time,event,trace` of sched_process_{fork,exec,exit} and
raw_syscalls:sys_{enter,exit}. A run starts at the exec of a runtime's binary (--runtime
NAME=PATH) and takes in every process that the runtime's process and its descendants fork; the
container's program (--program) is left out of the syscall counts once it is exec'd.
"""
import argparse
import re
import statistics
import sys

PHASES = ["startup", "setup", "workload", "teardown"]
LINE = re.compile(r"^\s*(.*?)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s+(.*)$")


def syscall_names(path):
    """x86_64 numbers to names from the project's generated table."""
    names = {}
    text = open(path, encoding="utf-8").read()
    table = text.split("pub(super) static X86_64", 1)[1].split("];", 1)[0]
    for name, nr in re.findall(r'\("([a-z0-9_]+)", (\d+)\)', table):
        names[int(nr)] = name
    return names


class Run:
    def __init__(self, name, pid, t0):
        self.name, self.pid, self.t0 = name, pid, t0
        self.members = {pid}
        self.fork = self.exec_prog = self.exit_prog = self.end = None
        self.prog_pid = None
        # phase -> syscall name -> [count, seconds]
        self.calls = {p: {} for p in PHASES}

    def phase_at(self, t):
        if self.fork is None or t < self.fork:
            return "startup"
        if self.exec_prog is None or t < self.exec_prog:
            return "setup"
        if self.exit_prog is None or t < self.exit_prog:
            return "workload"
        return "teardown"

    def durations(self):
        marks = [self.t0, self.fork, self.exec_prog, self.exit_prog, self.end]
        if any(m is None for m in marks):
            return None
        return {p: marks[i + 1] - marks[i] for i, p in enumerate(PHASES)}


def parse(lines, runtimes, program, names):
    by_path = {path: name for name, path in runtimes}
    runs, active, pending = [], {}, {}
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        _comm, pid, tid, t, event, trace = m.groups()
        pid, tid, t = int(pid), int(tid), float(t)
        run = active.get(tid)
        if event == "sched:sched_process_exec":
            filename = re.search(r"filename=(\S+)", trace).group(1)
            if filename in by_path and run is None:
                run = Run(by_path[filename], tid, t)
                runs.append(run)
                active[tid] = run
            elif run is not None and filename == program and run.exec_prog is None:
                run.exec_prog, run.prog_pid = t, tid
        elif event == "sched:sched_process_fork" and run is not None:
            child = int(re.search(r"child_pid=(\d+)", trace).group(1))
            run.members.add(child)
            active[child] = run
            if run.fork is None:
                run.fork = t
        elif event == "sched:sched_process_exit" and run is not None:
            if tid == run.prog_pid and run.exit_prog is None:
                run.exit_prog = t
            if tid == run.pid:
                run.end = t
            active.pop(tid, None)
        elif event == "raw_syscalls:sys_enter" and run is not None and tid != run.prog_pid:
            nr = int(re.search(r"NR (\d+)", trace).group(1))
            pending[tid] = (run, names.get(nr, f"nr{nr}"), t)
        elif event == "raw_syscalls:sys_exit" and tid in pending:
            r, name, t_in = pending.pop(tid)
            slot = r.calls[r.phase_at(t_in)].setdefault(name, [0, 0.0])
            slot[0] += 1
            slot[1] += t - t_in
    return runs


def report(runs, order):
    done = [r for r in runs if r.durations() is not None]
    print(f"{len(done)} complete runs of {len(runs)}; medians in ms (traced: compare, do not quote)")
    print()
    header = f"| {'phase':<10} |" + "".join(f" {n:>9} |" for n in order)
    print(header)
    print("|---|" + "---|" * len(order))
    for phase in PHASES + ["total"]:
        cells = []
        for n in order:
            ds = [r.durations() for r in done if r.name == n]
            vals = [sum(d.values()) if phase == "total" else d[phase] for d in ds]
            cells.append(f" {statistics.median(vals) * 1e3:9.2f} |" if vals else f" {'-':>9} |")
        print(f"| {phase:<10} |" + "".join(cells))
    for n in order:
        mine = [r for r in done if r.name == n]
        if not mine:
            continue
        print()
        print(f"{n}: syscalls per run (count, ms; waits such as wait4/poll/read of a pipe "
              f"are time spent waiting for another process)")
        for phase in PHASES:
            total = {}
            for r in mine:
                for name, (c, s) in r.calls[phase].items():
                    slot = total.setdefault(name, [0, 0.0])
                    slot[0] += c
                    slot[1] += s
            top = sorted(total.items(), key=lambda kv: -kv[1][1])[:12]
            calls = sum(c for c, _ in total.values()) / len(mine)
            items = ", ".join(f"{k} {c / len(mine):.0f}/{s / len(mine) * 1e3:.2f}" for k, (c, s) in top)
            print(f"  {phase:<9} {calls:5.0f} calls: {items}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--syscalls", required=True)
    ap.add_argument("--program", default="/bin/true")
    ap.add_argument("--runtime", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("events")
    args = ap.parse_args()
    runtimes = [tuple(s.split("=", 1)) for s in args.runtime]
    names = syscall_names(args.syscalls)
    with open(args.events, encoding="utf-8", errors="replace") as f:
        runs = parse(f, runtimes, args.program, names)
    if not runs:
        sys.exit("breakdown.py: no run found in the events")
    report(runs, [n for n, _ in runtimes])


if __name__ == "__main__":
    main()
