#!/usr/bin/env python3
"""Third-party TASE.2 client probe: pyiec61850.tase2.TASE2Client (pyiec61850-ng,
libiec61850 1.6.1 underneath) against a TASE.2 server.

Usage: probe_tase2client.py HOST PORT [--domain ICC1] [--read NAME]...
                            [--write-real NAME] [--write-int NAME]
                            [--readback] [--no-disconnect] [--timeout MS]

Default AP-titles of the peer (calling 1.1.1.999 / AE 12, called
1.1.1.999.1 / AE 12). Calls, in this order, one JSON line each (flushed):
    {"call": "connect", "ok": bool, "result": true|null, "error": ...}
    {"call": "get_domains", ... "result": [names], "domains": [{name,
        is_vcc, variables}]}   (same line)
    {"call": "read_point", "name": N, ... "result": {value, quality, flags,
        timestamp, cov_counter, point_type}}       per --read (in order)
    {"call": "write_point", "name": N, "value": 12.5, ... "result": bool}
        for --write-real (Python float 12.5 -> MMS floating-point single)
    {"call": "write_point", "name": N, "value": 7, ...}
        for --write-int (Python int 7 -> MMS integer)
    {"call": "read_point", "name": N, "after_write": true, ...}
        with --readback, for each written name
    {"call": "get_bilateral_table_id", ... "result": "BLT..."|null}
    {"call": "summary", "ok": bool, "failed": [calls]}   before disconnect
    {"call": "disconnect", "ok": bool, "result": null, "error": ...}
"ok" is false when the call raised (error = exception text) or returned
False/None. Exit code: 0 if every call before disconnect was ok (whatever
disconnect did), 1 otherwise, 2 if connect failed.

Disconnect: TASE2Client.disconnect() (IedConnection_close + _destroy, no
Conclude) segfaulted the process in the runs recorded in spec tase2.md
§8.1 (it did not in our runs against the Swift TASE2Server). A segfault
cannot be caught in-process, so the script runs the client in a child
process (itself with --child) and relays its lines: every line before
disconnect is printed and flushed by the child before disconnect() is
called; if the child then dies, the parent prints {"call": "disconnect",
"ok": false, "error": "child process died: signal N"} and still exits 0
when the summary was ok. The child leaves through os._exit (no interpreter
teardown, where SWIG destructors could crash too). --no-disconnect skips
disconnect(): os._exit closes the socket (TCP FIN without Conclude, the
same thing disconnect() puts on the wire).
"""

import argparse
import dataclasses
import datetime
import json
import os
import signal
import subprocess
import sys
import traceback

from pyiec61850.tase2 import TASE2Client

WRITE_REAL = 12.5
WRITE_INT = 7


def jsonable(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        d = {k: jsonable(x) for k, x in dataclasses.asdict(v).items()}
        raw = getattr(v, 'raw_value', None)
        if isinstance(raw, int):
            d['raw_value'] = raw
        return d
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    return repr(v)


def emit(obj):
    sys.stdout.write(json.dumps(jsonable(obj)) + '\n')
    sys.stdout.flush()


class Calls:

    def __init__(self):
        self.failed = []

    def run(self, call, fn, convert=lambda r: r, ok_if=lambda r: True,
            extra=None, **info):
        try:
            r = fn()
        except Exception as e:
            emit({'call': call, **info, 'ok': False, 'result': None,
                  'error': f'{type(e).__name__}: {e}',
                  'exception': type(e).__name__})
            self.failed.append(call)
            return None, False
        ok = bool(ok_if(r))
        line = {'call': call, **info, 'ok': ok, 'result': convert(r),
                'error': None if ok else 'returned ' + repr(r)}
        if extra is not None:
            line.update(extra(r))
        emit(line)
        if not ok:
            self.failed.append(call)
        return r, ok


def point_json(p):
    return {'value': p.value, 'quality': p.quality, 'flags': p.flags,
            'timestamp': p.timestamp, 'cov_counter': p.cov_counter,
            'point_type': p.point_type}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('host')
    ap.add_argument('port', type=int)
    ap.add_argument('--domain', default='ICC1')
    ap.add_argument('--read', action='append', default=[], metavar='NAME')
    ap.add_argument('--write-real', metavar='NAME')
    ap.add_argument('--write-int', metavar='NAME')
    ap.add_argument('--readback', action='store_true',
                    help='read_point each written name after the writes')
    ap.add_argument('--no-disconnect', action='store_true',
                    help='do not call TASE2Client.disconnect() (the socket '
                         'closes at exit)')
    ap.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--timeout', type=int, default=10000,
                    help='connect timeout in ms (default 10000)')
    args = ap.parse_args()
    if not args.child:
        sys.exit(relay())

    calls = Calls()
    client = TASE2Client()
    dom = args.domain

    _, ok = calls.run('connect', lambda: client.connect(
        args.host, args.port, timeout=args.timeout),
        ok_if=lambda r: r is not False, host=args.host, port=args.port)
    if not ok:
        emit({'call': 'summary', 'ok': False, 'failed': calls.failed})
        os._exit(2)

    calls.run('get_domains', client.get_domains,
              convert=lambda ds: [d.name for d in ds],
              extra=lambda ds: {'domains': [
                  {'name': d.name, 'is_vcc': d.is_vcc,
                   'variables': d.variables} for d in ds]})

    for name in args.read:
        calls.run('read_point', lambda n=name: client.read_point(dom, n),
                  convert=point_json, domain=dom, name=name)

    written = []
    if args.write_real:
        calls.run('write_point', lambda: client.write_point(
            dom, args.write_real, WRITE_REAL), ok_if=lambda r: r is not False,
            domain=dom, name=args.write_real, value=WRITE_REAL)
        written.append(args.write_real)
    if args.write_int:
        calls.run('write_point', lambda: client.write_point(
            dom, args.write_int, WRITE_INT), ok_if=lambda r: r is not False,
            domain=dom, name=args.write_int, value=WRITE_INT)
        written.append(args.write_int)
    if args.readback:
        for name in written:
            calls.run('read_point', lambda n=name: client.read_point(dom, n),
                      convert=point_json, domain=dom, name=name,
                      after_write=True)

    calls.run('get_bilateral_table_id',
              lambda: client.get_bilateral_table_id(dom),
              ok_if=lambda r: r is not None, domain=dom)

    code = 0 if not calls.failed else 1
    emit({'call': 'summary', 'ok': code == 0, 'failed': calls.failed,
          'disconnect': 'skipped (--no-disconnect): the socket closes at '
          'exit' if args.no_disconnect else 'next'})
    if not args.no_disconnect:
        try:
            client.disconnect()
            emit({'call': 'disconnect', 'ok': True, 'result': None,
                  'error': None})
        except Exception as e:
            emit({'call': 'disconnect', 'ok': False, 'result': None,
                  'error': repr(e), 'trace': traceback.format_exc()})
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: skip interpreter teardown, where the SWIG/libiec61850
    # objects' destructors run (the crash site when disconnect is skipped
    # or already done).
    os._exit(code)


def relay():
    """run this script with --child, relay its lines, survive its crash
    in disconnect(); -> exit code"""
    cmd = [sys.executable, os.path.abspath(__file__), *sys.argv[1:],
           '--child']
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    summary = None
    disconnect_seen = False
    connect_failed = False
    for line in child.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get('call') == 'summary':
            summary = obj
        elif obj.get('call') == 'disconnect':
            disconnect_seen = True
        elif obj.get('call') == 'connect' and not obj.get('ok'):
            connect_failed = True
    rc = child.wait()
    if rc < 0:
        try:
            sig = signal.Signals(-rc).name
        except ValueError:
            sig = str(-rc)
        died = f'child process died: signal {sig}'
    else:
        died = f'child process exit status {rc}'
    if summary is None:
        emit({'call': 'summary', 'ok': False, 'failed': ['(child)'],
              'error': died + ' before the summary'})
        return 2 if connect_failed else 1
    if summary.get('disconnect') == 'next' and not disconnect_seen:
        emit({'call': 'disconnect', 'ok': False, 'result': None,
              'error': died + ' inside TASE2Client.disconnect()'})
    if connect_failed:
        return 2
    return 0 if summary.get('ok') else 1


if __name__ == '__main__':
    main()
