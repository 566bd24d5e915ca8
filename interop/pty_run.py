#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, as an operator's shell would, for the tests.

Usage: pty_run.py --until TEXT --count N --timeout S -- COMMAND [ARGS...]

Reads what the command writes to its terminal until TEXT has appeared N
times (or S seconds passed), then sends SIGINT (Ctrl-C), waits up to S
seconds for the command to end, and prints one JSON line:
    {"status": exit status or -signal, "matched": times TEXT appeared,
     "interrupted": true when SIGINT was sent, "output": all it wrote}
"""

import argparse
import json
import os
import pty
import select
import signal
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--until', required=True)
    p.add_argument('--count', type=int, default=1)
    p.add_argument('--timeout', type=float, default=20)
    p.add_argument('command', nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command[:1] == ['--'] else a.command
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(cmd[0], cmd)
    out = b''
    deadline = time.monotonic() + a.timeout
    interrupted = False
    status = None
    while True:
        if not interrupted and (out.decode('utf-8', 'replace').count(a.until) >= a.count
                                or time.monotonic() > deadline):
            os.kill(pid, signal.SIGINT)
            interrupted = True
            deadline = time.monotonic() + a.timeout
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b''
            if not chunk:
                break
            out += chunk
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        if interrupted and time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
    if status is None:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    text = out.decode('utf-8', 'replace')
    print(json.dumps({'status': code, 'matched': text.count(a.until),
                      'interrupted': interrupted, 'output': text}))
    sys.stdout.flush()


if __name__ == '__main__':
    main()
