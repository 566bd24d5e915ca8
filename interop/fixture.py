"""The shared interop test model (the same as Tests/InteropFixture/Fixture.swift).

Pure data, no third-party imports, so every peer script can use it.

Types are plain dicts:
    {'type': 'integer', 'bits': N}
    {'type': 'float', 'bits': 32}                 (format width 32, exponent 8)
    {'type': 'bit-string', 'bits': N}
    {'type': 'visible-string', 'size': N}
    {'type': 'structure', 'components': [(name, type), ...]}
    {'type': 'array', 'count': N, 'element': type}

Values are plain Python:
    integer -> int, float -> float, bit-string -> list[bool] (bit 0 first,
    len == bit count), visible-string -> str, structure/array -> list.

Object names are (domain, item) tuples; domain None means VMD-specific.
"""

import copy
import signal

# A child of the Swift test process inherits its blocked signal mask (SIGINT and SIGTERM among
# them), so a peer would never see the test's SIGTERM and outlive the run: unblock them here,
# where every peer script starts.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})

# --- types -------------------------------------------------------------------

INT16 = {'type': 'integer', 'bits': 16}
INT32 = {'type': 'integer', 'bits': 32}
FLOAT32 = {'type': 'float', 'bits': 32}


def bit_string(bits):
    return {'type': 'bit-string', 'bits': bits}


def visible_string(size):
    return {'type': 'visible-string', 'size': size}


def structure(*components):
    return {'type': 'structure', 'components': list(components)}


def array(count, element):
    return {'type': 'array', 'count': count, 'element': element}


TASE2_VERSION_TYPE = structure(('MajorVersionNumber', INT16),
                               ('MinorVersionNumber', INT16))
REAL_Q_TYPE = structure(('Value', FLOAT32), ('Flags', bit_string(8)))
STATE_TS_TYPE = structure(('TimeStamp', INT32), ('Flags', bit_string(8)))


# --- bit-string helpers ------------------------------------------------------

def bits_from_octets(octets, count):
    """bits (bit 0 = MSB of octet 0) -> list[bool] of length count"""
    return [bool(octets[i // 8] & (0x80 >> (i % 8))) for i in range(count)]


def octets_from_bits(bits):
    out = bytearray((len(bits) + 7) // 8)
    for i, b in enumerate(bits):
        if b:
            out[i // 8] |= 0x80 >> (i % 8)
    return bytes(out)


# --- the model ---------------------------------------------------------------

VMD = None  # domain value of VMD-specific names

DOMAINS = ['ICC1', 'ICC2']

# (domain, item) -> {'type', 'value', 'writable'}
VARIABLES = {
    (VMD, 'TASE2_Version'): {
        'type': TASE2_VERSION_TYPE, 'value': [2000, 8], 'writable': False},
    (VMD, 'Supported_Features'): {
        'type': bit_string(12),
        'value': bits_from_octets(b'\xd8\x00', 12),  # bits 0,1,3,4
        'writable': False},
    (VMD, 'VMD_Real'): {'type': FLOAT32, 'value': 1.5, 'writable': True},
    (VMD, 'VMD_Counter'): {'type': INT32, 'value': 42, 'writable': False},

    ('ICC1', 'Bilateral_Table_ID'): {
        'type': visible_string(32), 'value': 'BLT_ICC1', 'writable': False},
    ('ICC1', 'Voltage_1'): {
        'type': REAL_Q_TYPE, 'value': [230.5, [False] * 8], 'writable': True},
    ('ICC1', 'Values_Array'): {
        'type': array(3, FLOAT32), 'value': [1.0, 2.0, 3.5],
        'writable': False},
    ('ICC1', 'Setpoint_1'): {'type': FLOAT32, 'value': 42.5, 'writable': True},
    ('ICC1', 'Breaker_1'): {
        'type': STATE_TS_TYPE,
        'value': [1700000000, bits_from_octets(b'\x80', 8)],
        'writable': False},

    ('ICC2', 'Bilateral_Table_ID'): {
        'type': visible_string(32), 'value': 'BLT_ICC2', 'writable': False},
    ('ICC2', 'Frequency'): {'type': FLOAT32, 'value': 50.0, 'writable': False},
}

# Server-defined (non-deletable) named variable lists: (domain, name) -> members
NAMED_VARIABLE_LISTS = {
    ('ICC1', 'DS_Analog'): [('ICC1', 'Voltage_1'), ('ICC1', 'Setpoint_1'),
                            ('ICC1', 'Values_Array')],
    (VMD, 'VMD_DS'): [(VMD, 'VMD_Real'), (VMD, 'VMD_Counter')],
}

# What the interop clients do / expect -----------------------------------------

CLIENT_LIST = ('ICC1', 'CLIENT_DS')
CLIENT_LIST_MEMBERS = [('ICC1', 'Voltage_1'), ('ICC1', 'Setpoint_1')]
SETPOINT_WRITE = 12.25          # written to ICC1/Setpoint_1
VMD_REAL_WRITE = 2.5            # written to VMD_Real
REPORT_ACK = ('ICC1', 'Transfer_Report_ACK')  # hat_client's outgoing report
REPORT_ACK_TEXT = 'ack-from-hat'
# Reports a server sends: listOfVariable [ICC1/Voltage_1, VMD_Real] and
# variableListName VMD_DS (vmd-specific).
REPORT_VARIABLES = [('ICC1', 'Voltage_1'), (VMD, 'VMD_Real')]
REPORT_LIST = (VMD, 'VMD_DS')


def sorted_names(names):
    """GetNameList order: ascending byte order"""
    return sorted(names, key=lambda n: n.encode())


def names_in(scope, kind='variable', extra_lists=()):
    """Names of variables (kind 'variable') or lists (kind 'list') in scope"""
    src = VARIABLES if kind == 'variable' else \
        list(NAMED_VARIABLE_LISTS) + list(extra_lists)
    return sorted_names([item for dom, item in src if dom == scope])


def fresh_state():
    """deep copy of VARIABLES for a server to mutate"""
    return copy.deepcopy(VARIABLES)


def name_str(name):
    dom, item = name
    return item if dom is None else f'{dom}/{item}'


# --- typed JSON form (what the interop clients print and compare) -------------
# {"integer": n} {"unsigned": n} {"float": x} {"bit-string": "1000..."}
# {"visible-string": s} {"boolean": b} {"octet-string": hex}
# {"structure": [...]} {"array": [...]} {"error": data-access-error-code}

def typed(t, v):
    k = t['type']
    if k == 'structure':
        return {'structure': [typed(ct, cv) for (_, ct), cv
                              in zip(t['components'], v)]}
    if k == 'array':
        return {'array': [typed(t['element'], e) for e in v]}
    if k == 'bit-string':
        return {'bit-string': ''.join('1' if b else '0' for b in v)}
    if k == 'float':
        return {'float': float(v)}
    return {k: v}


def expected(name):
    """typed form of a fixture variable's initial value"""
    var = VARIABLES[name]
    return typed(var['type'], var['value'])


def type_json(t):
    """fixture type -> JSON form (tuples become lists) for comparisons"""
    if t['type'] == 'structure':
        return {'type': 'structure',
                'components': [[n, type_json(ct)]
                               for n, ct in t['components']]}
    if t['type'] == 'array':
        return {'type': 'array', 'count': t['count'],
                'element': type_json(t['element'])}
    return dict(t)
