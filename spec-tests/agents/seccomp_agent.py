#!/usr/bin/env python3
"""A seccomp agent for spec-tests (`seccomp.notify_*`): standard library only.

Usage: seccomp_agent.py SOCKET LOG ANSWERS TIMEOUT

Listens on the unix stream socket SOCKET (the profile's `listenerPath`) and, for every
connection of the runtime (one per container or exec'd process), reads its message: JSON data
(runc's `ContainerProcessState`) with the seccomp listener fd in SCM_RIGHTS. Answers each
notification on those fds, the Nth (counted over all fds) with the Nth comma-separated item of
ANSWERS (then `continue`):

  errno:N   the syscall fails with errno N
  fake      the syscall returns 0 without running
  continue  the syscall runs (SECCOMP_USER_NOTIF_FLAG_CONTINUE)

LOG gets one JSON object a line: {"event": "listening"}, {"event": "message", "message": ...,
"raw": ..., "fds": N, "listener": FD}, {"event": "notification", "listener": FD, "nr": ...,
"pid": ..., "args": [...], "answer": ..., "sent": ...}, {"event": "hangup", "listener": FD} (no
process uses that filter any more), {"event": "done", "why": "timeout"}. The agent runs until it
is killed or TIMEOUT seconds have passed.
"""

import errno
import fcntl
import json
import os
import select
import socket
import struct
import sys
import time

# From /usr/include/linux/seccomp.h: _IOWR('!', 0, struct seccomp_notif) (80 bytes) and
# _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes).
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1

# struct seccomp_notif { u64 id; u32 pid; u32 flags;
#   struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; } data; }
NOTIF = struct.Struct("=QIIiIQ6Q")
# struct seccomp_notif_resp { u64 id; s64 val; s32 error; u32 flags; }
RESP = struct.Struct("=QqiI")
assert NOTIF.size == 80 and RESP.size == 24


def answer(fd, answers, count, emit):
    """Receives one notification on `fd` and answers it with the next answer."""
    buf = bytearray(NOTIF.size)
    try:
        fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf, True)
    except OSError as e:
        # ENOENT: the notifying task died before we got it.
        if e.errno in (errno.ENOENT, errno.EINTR):
            return count
        raise
    nid, pid, _flags, nr, arch, _ip, *args = NOTIF.unpack(buf)
    ans = answers[count] if count < len(answers) else "continue"
    if ans == "continue":
        resp = RESP.pack(nid, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE)
    elif ans == "fake":
        resp = RESP.pack(nid, 0, 0, 0)
    elif ans.startswith("errno:"):
        resp = RESP.pack(nid, 0, -int(ans[6:]), 0)
    else:
        raise SystemExit(f"unknown answer {ans!r}")
    sent = True
    try:
        fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, bytearray(resp), True)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
        sent = False
    emit(event="notification", listener=fd, nr=nr, pid=pid, arch=arch, args=args, answer=ans,
         sent=sent)
    return count + 1


def read_message(conn, deadline):
    """The runtime's message: JSON data and the fds in SCM_RIGHTS."""
    conn.settimeout(max(0.1, deadline - time.monotonic()))
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 8)
    message = None
    while data:
        try:
            message = json.loads(data)
            break
        except ValueError:
            more = conn.recv(1 << 16)
            if not more:
                break
            data += more
    return data, message, fds


def main():
    sock_path, log_path, answers, timeout = sys.argv[1:5]
    answers = [a for a in answers.split(",") if a]
    deadline = time.monotonic() + float(timeout)
    log = open(log_path, "a", buffering=1)

    def emit(**obj):
        log.write(json.dumps(obj) + "\n")

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(8)
    emit(event="listening")
    poller = select.poll()
    poller.register(srv.fileno(), select.POLLIN)
    listeners = set()
    count = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            emit(event="done", why="timeout")
            return
        for fd, mask in poller.poll(min(200, int(left * 1000) + 1)):
            if fd == srv.fileno():
                conn, _ = srv.accept()
                try:
                    data, message, fds = read_message(conn, deadline)
                finally:
                    conn.close()
                emit(event="message", message=message, raw=data.decode("utf-8", "replace"),
                     fds=len(fds), listener=fds[0] if fds else None)
                for extra in fds[1:]:
                    os.close(extra)
                if fds:
                    listeners.add(fds[0])
                    poller.register(fds[0], select.POLLIN)
            elif mask & select.POLLIN:
                count = answer(fd, answers, count, emit)
            elif mask & (select.POLLHUP | select.POLLERR):
                # No process uses this filter any more.
                emit(event="hangup", listener=fd)
                poller.unregister(fd)
                listeners.discard(fd)
                os.close(fd)


if __name__ == "__main__":
    main()
