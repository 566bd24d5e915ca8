#!/usr/bin/env python3
"""libiec61850 (pyiec61850-ng 1.6.1) IedServer hosting N float32 points, the
libiec61850 side of the MMS server benchmark.

Usage: bench_iec61850_server.py PORT N [--list-size 1000] [--per-ln 1000]
                                [--names-out PATH] [--ignore-stdin]

Model (dynamic model API, built through ctypes on the bundled library):
  IED "BENCH", logical device "LD0"            -> MMS domain BENCHLD0
  LLN0 with data set DS<min(list-size, N)>     -> list BENCHLD0/LLN0$DS1000
  GGIO1..GGIOk, at most --per-ln DOs P<j> each, each DO one FLOAT32
  attribute "f" with FC MX                     -> BENCHLD0/GGIO1$MX$P0$f
Point i lives in GGIO(i // per_ln + 1) as P(i % per_ln), value i * 0.5.

stdout: one JSON line when listening (127.0.0.1 only):
  {"ready": true, "port": PORT, "points": N, "list": "DOMAIN/ITEM",
   "names": PATH, "startup_s": S}
PATH holds the N point names ("DOMAIN/ITEM", one a line, in point order);
without --names-out it is a temp file removed at exit. startup_s: model
creation, IedServer_create (MMS mapping), initial values and start.
Runs until SIGTERM/SIGINT or EOF on stdin (unless --ignore-stdin), then
stops and destroys the server and exits 0 (1 if it cannot listen).

The server's threads are libiec61850's own (C); ctypes releases the GIL in
every call, so Python only waits here and costs nothing while serving.
Note: libiec61850 looks variables up linearly (the domain's LNs, then a
structure's components by strcmp), so a read costs O(LNs + DOs per LN);
--per-ln changes the model's shape and, markedly, named-list read rates.
"""

import argparse
import ctypes
import json
import os
import select
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from libiec61850_library import find_library  # noqa: E402



lib = ctypes.CDLL(find_library())
c_void_p, c_char_p, c_int = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int


def _fn(name, restype, *argtypes):
    # argtypes/restype on every function: pointers are 64-bit (the default
    # int restype would truncate them) and float must not go as double
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


# Signatures and enum values from libiec61850 v1.6 (branch v1.6 of
# mz-automation/libiec61850): src/iec61850/inc/iec61850_dynamic_model.h,
# iec61850_server.h, iec61850_model.h (DataAttributeType),
# iec61850_common.h (FunctionalConstraint); the same values are exported as
# constants by the bundled pyiec61850 SWIG module.
IEC61850_FLOAT32 = 10
IEC61850_FC_MX = 1

IedModel_create = _fn('IedModel_create', c_void_p, c_char_p)
IedModel_destroy = _fn('IedModel_destroy', None, c_void_p)
LogicalDevice_create = _fn('LogicalDevice_create', c_void_p, c_char_p,
                           c_void_p)
LogicalNode_create = _fn('LogicalNode_create', c_void_p, c_char_p, c_void_p)
DataObject_create = _fn('DataObject_create', c_void_p, c_char_p, c_void_p,
                        c_int)
DataAttribute_create = _fn('DataAttribute_create', c_void_p, c_char_p,
                           c_void_p, c_int, c_int, ctypes.c_uint8, c_int,
                           ctypes.c_uint32)
DataSet_create = _fn('DataSet_create', c_void_p, c_char_p, c_void_p)
DataSetEntry_create = _fn('DataSetEntry_create', c_void_p, c_void_p,
                          c_char_p, c_int, c_char_p)
IedServerConfig_create = _fn('IedServerConfig_create', c_void_p)
IedServerConfig_destroy = _fn('IedServerConfig_destroy', None, c_void_p)
IedServerConfig_setMaxMmsConnections = _fn(
    'IedServerConfig_setMaxMmsConnections', None, c_void_p, c_int)
IedServer_createWithConfig = _fn('IedServer_createWithConfig', c_void_p,
                                 c_void_p, c_void_p, c_void_p)
IedServer_setLocalIpAddress = _fn('IedServer_setLocalIpAddress', None,
                                  c_void_p, c_char_p)
IedServer_start = _fn('IedServer_start', None, c_void_p, c_int)
IedServer_isRunning = _fn('IedServer_isRunning', ctypes.c_bool, c_void_p)
IedServer_stop = _fn('IedServer_stop', None, c_void_p)
IedServer_destroy = _fn('IedServer_destroy', None, c_void_p)
IedServer_updateFloatAttributeValue = _fn(
    'IedServer_updateFloatAttributeValue', None, c_void_p, c_void_p,
    ctypes.c_float)

IED, LD = b'BENCH', b'LD0'
PER_LN = 1000  # data objects per GGIO (--per-ln)
DOMAIN = (IED + LD).decode()  # libiec61850 domain name = IED name + LD inst


def point_item(i, per_ln=PER_LN):
    """MMS item name of point i: LN$FC$DO$DA"""
    return f'GGIO{i // per_ln + 1}$MX$P{i % per_ln}$f'


def main():
    # the parent may have blocked these (children inherit the mask)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    stop = []
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.append(1))

    ap = argparse.ArgumentParser()
    ap.add_argument('port', type=int)
    ap.add_argument('n', type=int)
    ap.add_argument('--list-size', type=int, default=1000)
    ap.add_argument('--max-connections', type=int, default=200,
                    help='MMS connections the server accepts (scale runs open 100)')
    ap.add_argument('--per-ln', type=int, default=PER_LN,
                    help='data objects per logical node (default 1000)')
    ap.add_argument('--names-out', help='names file (default: a temp file, '
                    'removed at exit)')
    ap.add_argument('--ignore-stdin', action='store_true',
                    help='run until SIGTERM only (stdin may be /dev/null)')
    a = ap.parse_args()
    per_ln = a.per_ln
    n, list_size = a.n, min(a.list_size, a.n)

    t0 = time.monotonic()
    model = IedModel_create(IED)
    ld = LogicalDevice_create(LD, model)
    lln0 = LogicalNode_create(b'LLN0', ld)
    attrs = []
    ln = None
    for i in range(n):
        if i % per_ln == 0:
            ln = LogicalNode_create(f'GGIO{i // per_ln + 1}'.encode(), ld)
        do = DataObject_create(f'P{i % per_ln}'.encode(), ln, 0)
        # trigger options 0 (no reporting), no array, no short address
        attrs.append(DataAttribute_create(b'f', do, IEC61850_FLOAT32,
                                          IEC61850_FC_MX, 0, 0, 0))
    list_item = f'LLN0$DS{list_size}'
    ds = DataSet_create(f'DS{list_size}'.encode(), lln0)
    for i in range(list_size):
        # entries are MMS names relative to the LD ("$" separators, with FC)
        DataSetEntry_create(ds, point_item(i, per_ln).encode(), -1, None)
    cfg = IedServerConfig_create()
    IedServerConfig_setMaxMmsConnections(cfg, a.max_connections)
    server = IedServer_createWithConfig(model, None, cfg)  # builds MMS model
    IedServerConfig_destroy(cfg)
    for i, da in enumerate(attrs):
        IedServer_updateFloatAttributeValue(server, da, i * 0.5)
    IedServer_setLocalIpAddress(server, b'127.0.0.1')
    IedServer_start(server, a.port)
    if not IedServer_isRunning(server):
        print(f'cannot listen on 127.0.0.1:{a.port}', file=sys.stderr)
        IedServer_destroy(server)
        IedModel_destroy(model)
        return 1
    startup = time.monotonic() - t0

    if a.names_out:
        names_path, temp = a.names_out, False
    else:
        fd, names_path = tempfile.mkstemp(prefix='bench61850-',
                                          suffix='.names')
        os.close(fd)
        temp = True
    with open(names_path, 'w') as f:
        f.writelines(f'{DOMAIN}/{point_item(i, per_ln)}\n' for i in range(n))

    print(json.dumps({'ready': True, 'port': a.port, 'points': n,
                      'list': f'{DOMAIN}/{list_item}', 'names': names_path,
                      'startup_s': round(startup, 3)}), flush=True)

    # wait: signal handlers run in this thread between select() calls
    watch = [] if a.ignore_stdin else [sys.stdin.fileno()]
    while not stop:
        if watch:
            r, _, _ = select.select(watch, [], [], 0.5)
            if r and not os.read(watch[0], 4096):
                break  # EOF
        else:
            time.sleep(0.5)

    IedServer_stop(server)
    IedServer_destroy(server)
    IedModel_destroy(model)
    if temp:
        os.unlink(names_path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
