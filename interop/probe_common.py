"""Shared helpers of the plan-driven MMS probes (probe_hat.py,
probe_iec61850.py) and probe_tase2client.py.

No third-party imports.

Plan file: a JSON list of step objects (or {"steps": [...]}); "-" reads the
plan from stdin. Every step prints one JSON line
    {"i": index, "op": ..., "ok": bool, "result": ..., "error": "..."}
("i" is the step's index in the plan; the implicit association line has
i = -1). Extra keys may appear ("note", "error_detail", "seconds").

Error text of confirmed errors is normalised the same way by both probes:
"<class>/<code>" with the ASN.1 names of ISO 9506-2 ServiceError, e.g.
"access/object-non-existent", "definition/object-undefined",
"service/other"; transport problems are "timeout", "reject/<code>",
"connection-lost" or an exception text.
"""

import argparse
import json
import sys
import time

# --- output -----------------------------------------------------------------


def jsonable(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
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


def step_line(i, op, ok, result=None, error=None, **extra):
    line = {'i': i, 'op': op, 'ok': bool(ok), 'result': result,
            'error': error}
    line.update({k: v for k, v in extra.items() if v is not None})
    emit(line)
    return line


# --- command line -------------------------------------------------------------

def parse_ap_title(text):
    try:
        parts = tuple(int(p) for p in text.split('.'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'bad AP-title {text!r}')
    if len(parts) < 2:
        raise argparse.ArgumentTypeError(f'bad AP-title {text!r}')
    return parts


def probe_arguments(description):
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('host')
    p.add_argument('port', type=int)
    p.add_argument('plan', help='JSON plan file ("-" = stdin)')
    p.add_argument('--ap-title', type=parse_ap_title,
                   default=(1, 1, 1, 999),
                   help='calling (local) AP-title, default 1.1.1.999')
    p.add_argument('--ae-qualifier', type=int, default=12,
                   help='calling (local) AE-qualifier, default 12')
    p.add_argument('--timeout', type=float, default=10.0,
                   help='per-request timeout in seconds, default 10')
    return p


def load_plan(path):
    if path == '-':
        plan = json.load(sys.stdin)
    else:
        with open(path) as f:
            plan = json.load(f)
    if isinstance(plan, dict):
        plan = plan.get('steps', [])
    if not isinstance(plan, list) or not all(isinstance(s, dict)
                                              for s in plan):
        raise ValueError('plan must be a JSON list of step objects')
    return plan


def name_obj(domain, name):
    return {'domain': domain, 'name': name}


def bits_of(text):
    """'10100' -> [True, False, True, False, False]"""
    if not isinstance(text, str) or any(c not in '01' for c in text):
        raise ValueError(f'bit-string must be a string of 0/1: {text!r}')
    return [c == '1' for c in text]


def typed_kind(value):
    """{"float": 1.5} -> ("float", 1.5); raises ValueError otherwise"""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f'typed value must be a one-key object: {value!r}')
    return next(iter(value.items()))


# --- MMS error names (ISO 9506-2 ServiceError.errorClass) --------------------

def service_error_text(cls_name, code_name):
    """normalise e.g. ('AccessError', 'OBJECT_NON_EXISTENT') ->
    'access/object-non-existent'"""
    cls = cls_name
    for suffix in ('Error',):
        if cls.endswith(suffix):
            cls = cls[:-len(suffix)]
    # CamelCase -> kebab-case
    out = ''
    for ch in cls:
        if ch.isupper() and out:
            out += '-'
        out += ch.lower()
    code = str(code_name).lower().replace('_', '-')
    return f'{out}/{code}'


# libiec61850 MmsError (mms_common.h) -> normalised text. libiec61850 keeps
# only some codes of a ServiceError (convertServiceErrorToMmsError): every
# vmd-state/application-reference/resource/service-preempt/time-resolution
# error becomes "<class>/other", service keeps object-constraint-conflict.
_IEC_ERRORS = {
    1: 'connection-rejected', 2: 'connection-lost', 3: 'timeout',
    4: 'parsing-response', 5: 'hardware-fault', 6: 'conclude-rejected',
    7: 'invalid-arguments', 8: 'outstanding-call-limit', 9: 'other',
    10: 'vmd-state/other', 20: 'application-reference/other',
    30: 'definition/other', 31: 'definition/invalid-address',
    32: 'definition/type-unsupported', 33: 'definition/type-inconsistent',
    34: 'definition/object-undefined', 35: 'definition/object-exists',
    36: 'definition/object-attribute-inconsistent',
    40: 'resource/other', 41: 'resource/capability-unavailable',
    50: 'service/other', 55: 'service/object-constraint-conflict',
    60: 'service-preempt/other', 70: 'time-resolution/other',
    80: 'access/other', 81: 'access/object-non-existent',
    82: 'access/object-access-unsupported',
    83: 'access/object-access-denied', 84: 'access/object-invalidated',
    85: 'access/object-value-invalid (DataAccessError 11)',
    86: 'access/temporarily-unavailable (DataAccessError 2)',
    90: 'file/other', 91: 'file/filename-ambiguous', 92: 'file/file-busy',
    93: 'file/filename-syntax-error', 94: 'file/content-type-invalid',
    95: 'file/position-invalid', 96: 'file/file-access-denied',
    97: 'file/file-non-existent', 98: 'file/duplicate-filename',
    99: 'file/insufficient-space-in-filestore',
    100: 'reject/other', 101: 'reject/unknown-pdu-type',
    102: 'reject/invalid-pdu', 103: 'reject/unrecognized-service',
    104: 'reject/unrecognized-modifier',
    105: 'reject/request-invalid-argument',
}


def iec_error_text(code):
    """libiec61850 MmsError number -> normalised text (None for 0)"""
    if code == 0:
        return None
    return _IEC_ERRORS.get(code, f'mms-error-{code}')


# --- report bookkeeping -------------------------------------------------------

class ReportBuffer:
    """informationReports collected from association start; wait_reports
    returns (and removes) what has arrived since the previous wait_reports.
    Thread-safe enough for the libiec61850 receive thread (list.append and
    a lock-free snapshot under the GIL) -- callers that need waiting use
    their own event/condition."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.items = []

    def add(self, item):
        item['t'] = round(time.monotonic() - self.t0, 3)
        self.items.append(item)

    def take(self):
        out, self.items = self.items, []
        return out
