#!/usr/bin/env python3
"""libiec61850 (pyiec61850-ng 1.6.1) MMS client for the MMS server benchmark:
the same client driven against our server and against the libiec61850 one
(bench_iec61850_server.py).

Usage: bench_iec61850_client.py HOST PORT --names FILE --mode single|list
           [--list DOMAIN/ITEM] [--seconds 5]
           [--ap-title 1.1.1.999 --ae-qualifier 12]

  single: MmsConnection_readVariable over the names of FILE in turn
          ("DOMAIN/ITEM" a line), one request in flight; a result counts
          when it is a float (MMS_FLOAT; our server's `Real` points are too).
  list:   MmsConnection_readNamedVariableListValues(DOMAIN, ITEM) over and
          over; values = elements of the returned array.
Warm-up 0.5 s, then --seconds measured. stdout: one JSON line
  {"mode", "requests", "values", "seconds", "req_per_s", "values_per_s",
   "errors"}
where requests counts successful requests only, errors the failed ones
(an MMS error or a result of the wrong type); a lost connection ends the
run. Exit 1, with a message on stderr, if the association fails or no
request succeeds. The calling AP-title/AE-qualifier default to 1.1.1.999/12
(what our server's bilateral table expects; libiec61850 ignores them);
--ap-title '' sends none. Each connect is followed by one probe request
and redone if that fails at once (a libiec61850 1.6 race, see connect()).

ctypes releases the GIL during each C call; the client is single-threaded,
so that only matters for libiec61850's receive thread, which needs no GIL.
"""

import argparse
import ctypes
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from libiec61850_library import find_library  # noqa: E402



lib = ctypes.CDLL(find_library())
c_void_p, c_char_p, c_int, c_bool = (ctypes.c_void_p, ctypes.c_char_p,
                                     ctypes.c_int, ctypes.c_bool)
P_INT = ctypes.POINTER(c_int)


def _fn(name, restype, *argtypes):
    # explicit restype: MmsValue* etc. are 64-bit pointers (the default int
    # restype would truncate them)
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


# Signatures from libiec61850 v1.6: src/mms/inc/mms_client_connection.h,
# iso_connection_parameters.h, mms_value.h
MmsConnection_create = _fn('MmsConnection_create', c_void_p)
MmsConnection_destroy = _fn('MmsConnection_destroy', None, c_void_p)
MmsConnection_setConnectTimeout = _fn('MmsConnection_setConnectTimeout',
                                      None, c_void_p, ctypes.c_uint32)
MmsConnection_setRequestTimeout = _fn('MmsConnection_setRequestTimeout',
                                      None, c_void_p, ctypes.c_uint32)
MmsConnection_getIsoConnectionParameters = _fn(
    'MmsConnection_getIsoConnectionParameters', c_void_p, c_void_p)
# (params, apTitle "1.1.1.999", aeQualifier): AP-title and AE-qualifier in one
IsoConnectionParameters_setLocalApTitle = _fn(
    'IsoConnectionParameters_setLocalApTitle', None, c_void_p, c_char_p, c_int)
MmsConnection_connect = _fn('MmsConnection_connect', c_bool, c_void_p, P_INT,
                            c_char_p, c_int)
MmsConnection_conclude = _fn('MmsConnection_conclude', None, c_void_p, P_INT)
MmsConnection_readVariable = _fn('MmsConnection_readVariable', c_void_p,
                                 c_void_p, P_INT, c_char_p, c_char_p)
MmsConnection_readNamedVariableListValues = _fn(
    'MmsConnection_readNamedVariableListValues', c_void_p, c_void_p, P_INT,
    c_char_p, c_char_p, c_bool)
MmsValue_getType = _fn('MmsValue_getType', c_int, c_void_p)
MmsValue_getArraySize = _fn('MmsValue_getArraySize', ctypes.c_uint32,
                            c_void_p)
MmsValue_delete = _fn('MmsValue_delete', None, c_void_p)

# MmsType (src/mms/inc/mms_common.h, v1.6): MMS_ARRAY = 0, MMS_FLOAT = 6
MMS_ARRAY, MMS_FLOAT = 0, 6
# MmsError (mms_common.h): MMS_ERROR_CONNECTION_LOST = 2
MMS_ERROR_CONNECTION_LOST = 2


def connect(host, port, ap_title, ae_qualifier, probe):
    """-> (MmsConnection, None) or (None, message).

    libiec61850 1.6 races in MmsConnection_connect: connectAsync sets the
    state CONNECTING after handing the association to the receive thread;
    when the initiate response is handled first, connect() returns true but
    the state stays CONNECTING and every request fails at once with
    MMS_ERROR_CONNECTION_LOST without being sent (mms_client_connection.c,
    MmsConnection_connectAsync). So one probe request (probe(con) -> mmsError)
    follows each connect, and a connection failing it is replaced."""
    msgs = []
    for attempt in range(1, 6):
        con = MmsConnection_create()
        MmsConnection_setConnectTimeout(con, 5000)
        MmsConnection_setRequestTimeout(con, 5000)
        if ap_title:
            params = MmsConnection_getIsoConnectionParameters(con)
            IsoConnectionParameters_setLocalApTitle(params, ap_title.encode(),
                                                    ae_qualifier)
        err = c_int(0)
        ok = MmsConnection_connect(con, ctypes.byref(err), host.encode(),
                                   port)
        if ok and err.value == 0:
            perr = probe(con)
            if perr != MMS_ERROR_CONNECTION_LOST:
                if msgs:
                    print('; '.join(msgs), file=sys.stderr)
                return con, None
            msgs.append(f'attempt {attempt}: connected, probe lost')
        else:
            msgs.append(f'attempt {attempt}: ok={bool(ok)} '
                        f'mmsError={err.value}')
            if len(msgs) >= 2 and 'probe' not in msgs[-2]:
                MmsConnection_destroy(con)
                break  # refused twice: no point in more attempts
        MmsConnection_destroy(con)
        time.sleep(0.2)
    return None, f'cannot associate with {host}:{port}: ' + '; '.join(msgs)


def split_name(s):
    domain, _, item = s.strip().partition('/')
    return domain.encode(), item.encode()


def request_fn(mode, names, list_name):
    """-> one(con, k, err): request k of the mode -> number of values, or
    None on error (err: a c_int receiving the MmsError)"""
    if mode == 'list':
        ldom, litem = split_name(list_name)

    def one(con, k, err):
        err.value = 0
        perr = ctypes.byref(err)
        if mode == 'single':
            dom, item = names[k % len(names)]
            v = MmsConnection_readVariable(con, perr, dom, item)
            good = v and err.value == 0 and MmsValue_getType(v) == MMS_FLOAT
            n = 1
        else:
            v = MmsConnection_readNamedVariableListValues(con, perr, ldom,
                                                          litem, False)
            good = v and err.value == 0 and MmsValue_getType(v) == MMS_ARRAY
            n = MmsValue_getArraySize(v) if good else 0
        if v:
            MmsValue_delete(v)  # results are ours to free
        return n if good else None
    return one


def run(con, one, mode, seconds):
    """warm-up, then measured loop -> (result dict, last MmsError)"""
    err = c_int(0)
    k = 0
    phases = {}
    for phase, length in (('warmup', 0.5), ('measure', seconds)):
        reqs = vals = errors = 0
        t0 = time.monotonic()
        end = t0 + length
        while True:
            now = time.monotonic()
            if now >= end:
                break
            n = one(con, k, err)
            k += 1
            if n is None:
                errors += 1
                if err.value == MMS_ERROR_CONNECTION_LOST:
                    print('connection lost', file=sys.stderr)
                    now = time.monotonic()
                    break
            else:
                reqs += 1
                vals += n
        phases[phase] = (reqs, vals, errors, now - t0, err.value)
        if err.value == MMS_ERROR_CONNECTION_LOST:
            break
    reqs, vals, errors, secs, last_err = phases.get('measure',
                                                     phases['warmup'])
    return {'mode': mode, 'requests': reqs, 'values': vals,
            'seconds': round(secs, 3),
            'req_per_s': round(reqs / secs, 1) if secs > 0 else 0,
            'values_per_s': round(vals / secs, 1) if secs > 0 else 0,
            'errors': errors}, last_err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('host')
    ap.add_argument('port', type=int)
    ap.add_argument('--names', required=True,
                    help='file of DOMAIN/ITEM lines (single mode)')
    ap.add_argument('--mode', choices=('single', 'list'), required=True)
    ap.add_argument('--list', help='DOMAIN/ITEM of the named variable list')
    ap.add_argument('--seconds', type=float, default=5.0)
    ap.add_argument('--ap-title', default='1.1.1.999',
                    help="calling AP-title ('' for none)")
    ap.add_argument('--ae-qualifier', type=int, default=12)
    a = ap.parse_args()
    if a.mode == 'list' and not a.list:
        ap.error('--mode list needs --list DOMAIN/ITEM')
    with open(a.names) as f:
        names = [split_name(line) for line in f if line.strip()]
    if a.mode == 'single' and not names:
        ap.error(f'no names in {a.names}')

    one = request_fn(a.mode, names, a.list)

    def probe(con):
        err = c_int(0)
        one(con, 0, err)
        return err.value

    con, msg = connect(a.host, a.port, a.ap_title, a.ae_qualifier, probe)
    if con is None:
        print(msg, file=sys.stderr)
        return 1
    result, last_err = run(con, one, a.mode, a.seconds)
    print(json.dumps(result), flush=True)
    err = c_int(0)
    if last_err != MMS_ERROR_CONNECTION_LOST:
        MmsConnection_conclude(con, ctypes.byref(err))
    MmsConnection_destroy(con)
    if result['requests'] == 0:
        print(f"every request failed ({result['errors']} errors, last "
              f"mmsError {last_err})", file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
