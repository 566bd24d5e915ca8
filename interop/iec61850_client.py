#!/usr/bin/env python3
"""libiec61850 (pyiec61850-ng 1.6.1) MMS client run against a server hosting
the interop fixture (interop/fixture.py).

Usage: iec61850_client.py HOST PORT [--report-timeout SECONDS]

The libiec61850 C API (MmsConnection_*) is driven through ctypes on the
shared library bundled with pyiec61850-ng: its SWIG wrapper keeps the GIL
while blocking, which starves Python informationReport callbacks; ctypes
releases the GIL during every C call.

stdout: JSON lines, one {"step": ..., "ok": ...} per check (see runner.py),
{"event": "ready-for-reports"} when the client waits for informationReports,
and a final {"step": "summary"}. Exit code 0 only if every check passed.
"""

import argparse
import ctypes
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from libiec61850_library import find_library  # noqa: E402

import fixture  # noqa: E402
from runner import Runner  # noqa: E402

# --- library loading --------------------------------------------------------



LIB_PATH = find_library()
lib = ctypes.CDLL(LIB_PATH)
libc = ctypes.CDLL(None)
libc.free.argtypes = [ctypes.c_void_p]
libc.free.restype = None

c_void_p, c_char_p, c_int, c_bool = (ctypes.c_void_p, ctypes.c_char_p,
                                     ctypes.c_int, ctypes.c_bool)
P_INT = ctypes.POINTER(c_int)


class LinkedListNode(ctypes.Structure):
    pass


LinkedListNode._fields_ = [('data', c_void_p),
                           ('next', ctypes.POINTER(LinkedListNode))]


class MmsServerIdentity(ctypes.Structure):
    _fields_ = [('vendorName', c_char_p), ('modelName', c_char_p),
                ('revision', c_char_p)]


class MmsVariableAccessSpecification(ctypes.Structure):
    _fields_ = [('domainId', c_char_p), ('itemId', c_char_p),
                ('arrayIndex', ctypes.c_int32), ('componentName', c_char_p)]


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


ReportHandler = ctypes.CFUNCTYPE(None, c_void_p, c_char_p, c_char_p,
                                 c_void_p, c_bool)

MmsConnection_create = _fn('MmsConnection_create', c_void_p)
MmsConnection_destroy = _fn('MmsConnection_destroy', None, c_void_p)
MmsConnection_setConnectTimeout = _fn('MmsConnection_setConnectTimeout',
                                      None, c_void_p, ctypes.c_uint32)
MmsConnection_setRequestTimeout = _fn('MmsConnection_setRequestTimeout',
                                      None, c_void_p, ctypes.c_uint32)
MmsConnection_setInformationReportHandler = _fn(
    'MmsConnection_setInformationReportHandler', None, c_void_p,
    ReportHandler, c_void_p)
MmsConnection_getIsoConnectionParameters = _fn(
    'MmsConnection_getIsoConnectionParameters', c_void_p, c_void_p)
IsoConnectionParameters_setLocalApTitle = _fn(
    'IsoConnectionParameters_setLocalApTitle', None, c_void_p, c_char_p, c_int)
MmsConnection_connect = _fn('MmsConnection_connect', c_bool, c_void_p, P_INT,
                            c_char_p, c_int)
MmsConnection_conclude = _fn('MmsConnection_conclude', None, c_void_p, P_INT)
MmsConnection_close = _fn('MmsConnection_close', None, c_void_p)
MmsConnection_identify = _fn('MmsConnection_identify',
                             ctypes.POINTER(MmsServerIdentity), c_void_p,
                             P_INT)
MmsServerIdentity_destroy = _fn('MmsServerIdentity_destroy', None,
                                ctypes.POINTER(MmsServerIdentity))
MmsConnection_getDomainNames = _fn('MmsConnection_getDomainNames',
                                   ctypes.POINTER(LinkedListNode), c_void_p,
                                   P_INT)
MmsConnection_getVMDVariableNames = _fn('MmsConnection_getVMDVariableNames',
                                        ctypes.POINTER(LinkedListNode),
                                        c_void_p, P_INT)
MmsConnection_getDomainVariableNames = _fn(
    'MmsConnection_getDomainVariableNames', ctypes.POINTER(LinkedListNode),
    c_void_p, P_INT, c_char_p)
MmsConnection_getDomainVariableListNames = _fn(
    'MmsConnection_getDomainVariableListNames',
    ctypes.POINTER(LinkedListNode), c_void_p, P_INT, c_char_p)
MmsConnection_readVariable = _fn('MmsConnection_readVariable', c_void_p,
                                 c_void_p, P_INT, c_char_p, c_char_p)
MmsConnection_readVariableComponent = _fn(
    'MmsConnection_readVariableComponent', c_void_p, c_void_p, P_INT,
    c_char_p, c_char_p, c_char_p)
MmsConnection_writeVariable = _fn('MmsConnection_writeVariable', c_int,
                                  c_void_p, P_INT, c_char_p, c_char_p,
                                  c_void_p)
MmsConnection_defineNamedVariableList = _fn(
    'MmsConnection_defineNamedVariableList', None, c_void_p, P_INT, c_char_p,
    c_char_p, ctypes.POINTER(LinkedListNode))
MmsConnection_readNamedVariableListValues = _fn(
    'MmsConnection_readNamedVariableListValues', c_void_p, c_void_p, P_INT,
    c_char_p, c_char_p, c_bool)
MmsConnection_readNamedVariableListDirectory = _fn(
    'MmsConnection_readNamedVariableListDirectory',
    ctypes.POINTER(LinkedListNode), c_void_p, P_INT, c_char_p, c_char_p,
    ctypes.POINTER(c_bool))
MmsConnection_deleteNamedVariableList = _fn(
    'MmsConnection_deleteNamedVariableList', c_bool, c_void_p, P_INT,
    c_char_p, c_char_p)
MmsConnection_getVariableAccessAttributes = _fn(
    'MmsConnection_getVariableAccessAttributes', c_void_p, c_void_p, P_INT,
    c_char_p, c_char_p)
MmsVariableAccessSpecification_create = _fn(
    'MmsVariableAccessSpecification_create',
    ctypes.POINTER(MmsVariableAccessSpecification), c_char_p, c_char_p)
MmsVariableAccessSpecification_destroy = _fn(
    'MmsVariableAccessSpecification_destroy', None, c_void_p)

LinkedList_create = _fn('LinkedList_create', ctypes.POINTER(LinkedListNode))
LinkedList_add = _fn('LinkedList_add', None, ctypes.POINTER(LinkedListNode),
                     c_void_p)
LinkedList_destroy = _fn('LinkedList_destroy', None,
                         ctypes.POINTER(LinkedListNode))
LinkedList_destroyStatic = _fn('LinkedList_destroyStatic', None,
                               ctypes.POINTER(LinkedListNode))
LinkedList_destroyDeep = _fn('LinkedList_destroyDeep', None,
                             ctypes.POINTER(LinkedListNode), c_void_p)

MmsValue_getType = _fn('MmsValue_getType', c_int, c_void_p)
MmsValue_getArraySize = _fn('MmsValue_getArraySize', ctypes.c_uint32,
                            c_void_p)
MmsValue_getElement = _fn('MmsValue_getElement', c_void_p, c_void_p, c_int)
MmsValue_toDouble = _fn('MmsValue_toDouble', ctypes.c_double, c_void_p)
MmsValue_toInt64 = _fn('MmsValue_toInt64', ctypes.c_int64, c_void_p)
MmsValue_toUint32 = _fn('MmsValue_toUint32', ctypes.c_uint32, c_void_p)
MmsValue_getBoolean = _fn('MmsValue_getBoolean', c_bool, c_void_p)
MmsValue_toString = _fn('MmsValue_toString', c_char_p, c_void_p)
MmsValue_getBitStringSize = _fn('MmsValue_getBitStringSize', c_int, c_void_p)
MmsValue_getBitStringBit = _fn('MmsValue_getBitStringBit', c_bool, c_void_p,
                               c_int)
MmsValue_getOctetStringSize = _fn('MmsValue_getOctetStringSize',
                                  ctypes.c_uint16, c_void_p)
MmsValue_getOctetStringBuffer = _fn('MmsValue_getOctetStringBuffer',
                                    ctypes.POINTER(ctypes.c_uint8), c_void_p)
MmsValue_getDataAccessError = _fn('MmsValue_getDataAccessError', c_int,
                                  c_void_p)
MmsValue_getTypeString = _fn('MmsValue_getTypeString', c_char_p, c_void_p)
MmsValue_delete = _fn('MmsValue_delete', None, c_void_p)
MmsValue_newFloat = _fn('MmsValue_newFloat', c_void_p, ctypes.c_float)
MmsValue_newIntegerFromInt32 = _fn('MmsValue_newIntegerFromInt32', c_void_p,
                                   ctypes.c_int32)
MmsConnection_writeNamedVariableList = _fn(
    'MmsConnection_writeNamedVariableList', None, c_void_p, P_INT, c_bool,
    c_char_p, c_char_p, ctypes.POINTER(LinkedListNode),
    ctypes.POINTER(ctypes.POINTER(LinkedListNode)))
MmsValue_newVisibleString = _fn('MmsValue_newVisibleString', c_void_p,
                                c_char_p)

MmsVariableSpecification_getType = _fn('MmsVariableSpecification_getType',
                                       c_int, c_void_p)
MmsVariableSpecification_getName = _fn('MmsVariableSpecification_getName',
                                       c_char_p, c_void_p)
MmsVariableSpecification_getSize = _fn('MmsVariableSpecification_getSize',
                                       c_int, c_void_p)
MmsVariableSpecification_getExponentWidth = _fn(
    'MmsVariableSpecification_getExponentWidth', c_int, c_void_p)
MmsVariableSpecification_getChildSpecificationByIndex = _fn(
    'MmsVariableSpecification_getChildSpecificationByIndex', c_void_p,
    c_void_p, c_int)
MmsVariableSpecification_getArrayElementSpecification = _fn(
    'MmsVariableSpecification_getArrayElementSpecification', c_void_p,
    c_void_p)
MmsVariableSpecification_destroy = _fn('MmsVariableSpecification_destroy',
                                       None, c_void_p)

# MmsType
(MMS_ARRAY, MMS_STRUCTURE, MMS_BOOLEAN, MMS_BIT_STRING, MMS_INTEGER,
 MMS_UNSIGNED, MMS_FLOAT, MMS_OCTET_STRING, MMS_VISIBLE_STRING,
 MMS_GENERALIZED_TIME, MMS_BINARY_TIME, MMS_BCD, MMS_OBJ_ID, MMS_STRING,
 MMS_UTC_TIME, MMS_DATA_ACCESS_ERROR) = range(16)

DATA_ACCESS_ERROR_SUCCESS = -1
DATA_ACCESS_ERROR_OBJECT_ACCESS_DENIED = 3
MMS_ERROR_ACCESS_OBJECT_ACCESS_DENIED = 83

# --- conversions ----------------------------------------------------------


def b(s):
    return None if s is None else s.encode()


def s_(p):
    return None if p is None else p.decode(errors='replace')


def list_strings(node):
    """LinkedList<char*> -> [str] (does not free)"""
    out = []
    if not node:
        return out
    cur = node.contents.next
    while cur:
        out.append(ctypes.string_at(cur.contents.data).decode())
        cur = cur.contents.next
    return out


def list_pointers(node):
    out = []
    if not node:
        return out
    cur = node.contents.next
    while cur:
        out.append(cur.contents.data)
        cur = cur.contents.next
    return out


def value_to_py(v):
    """MmsValue* -> typed JSON form (see fixture.typed)"""
    if not v:
        return None
    t = MmsValue_getType(v)
    if t in (MMS_ARRAY, MMS_STRUCTURE):
        n = MmsValue_getArraySize(v)
        els = [value_to_py(MmsValue_getElement(v, i)) for i in range(n)]
        return {'array' if t == MMS_ARRAY else 'structure': els}
    if t == MMS_FLOAT:
        return {'float': MmsValue_toDouble(v)}
    if t == MMS_INTEGER:
        return {'integer': MmsValue_toInt64(v)}
    if t == MMS_UNSIGNED:
        return {'unsigned': MmsValue_toUint32(v)}
    if t == MMS_BOOLEAN:
        return {'boolean': MmsValue_getBoolean(v)}
    if t == MMS_BIT_STRING:
        n = MmsValue_getBitStringSize(v)
        return {'bit-string': ''.join('1' if MmsValue_getBitStringBit(v, i)
                                      else '0' for i in range(n))}
    if t in (MMS_VISIBLE_STRING, MMS_STRING):
        return {'visible-string' if t == MMS_VISIBLE_STRING else 'mms-string':
                s_(MmsValue_toString(v))}
    if t == MMS_OCTET_STRING:
        n = MmsValue_getOctetStringSize(v)
        buf = MmsValue_getOctetStringBuffer(v)
        return {'octet-string': bytes(buf[:n]).hex()}
    if t == MMS_DATA_ACCESS_ERROR:
        return {'error': MmsValue_getDataAccessError(v)}
    return {'other': s_(MmsValue_getTypeString(v))}


def spec_to_py(spec):
    """MmsVariableSpecification* -> fixture type JSON form"""
    t = MmsVariableSpecification_getType(spec)
    size = MmsVariableSpecification_getSize(spec)
    if t == MMS_STRUCTURE:
        comps = []
        for i in range(size):
            c = MmsVariableSpecification_getChildSpecificationByIndex(spec, i)
            comps.append([s_(MmsVariableSpecification_getName(c)),
                          spec_to_py(c)])
        return {'type': 'structure', 'components': comps}
    if t == MMS_ARRAY:
        el = MmsVariableSpecification_getArrayElementSpecification(spec)
        return {'type': 'array', 'count': size, 'element': spec_to_py(el)}
    if t == MMS_FLOAT:
        r = {'type': 'float', 'bits': size}
        e = MmsVariableSpecification_getExponentWidth(spec)
        if e != 8:
            r['exponent'] = e
        return r
    if t == MMS_INTEGER:
        return {'type': 'integer', 'bits': size}
    if t == MMS_UNSIGNED:
        return {'type': 'unsigned', 'bits': size}
    if t == MMS_BIT_STRING:
        return {'type': 'bit-string', 'bits': size}
    if t == MMS_VISIBLE_STRING:
        return {'type': 'visible-string', 'size': size}
    return {'type': f'mms-type-{t}', 'size': size}


# --- the client -------------------------------------------------------------

class Reports:

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []
        self.cond = threading.Condition(self.lock)
        self.handler = ReportHandler(self._on_report)  # keep referenced

    def _on_report(self, _param, domain, name, value, is_list):
        try:
            item = {'domain': s_(domain), 'name': s_(name),
                    'isVariableListName': bool(is_list),
                    'value': value_to_py(value)}
        except Exception as e:  # never raise into C
            item = {'error': repr(e)}
        finally:
            if value:
                MmsValue_delete(value)
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def clear(self):
        with self.cond:
            n = len(self.items)
            self.items = []
            return n

    def wait_for(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self.items):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def snapshot(self):
        with self.cond:
            return list(self.items)


def connect(host, port, reports, r):
    """-> MmsConnection or None; retries once (libiec61850's connect can
    race with its receive thread)"""
    attempts = []
    for attempt in (1, 2):
        con = MmsConnection_create()
        MmsConnection_setConnectTimeout(con, 5000)
        MmsConnection_setRequestTimeout(con, 5000)
        MmsConnection_setInformationReportHandler(con, reports.handler, None)
        params = MmsConnection_getIsoConnectionParameters(con)
        IsoConnectionParameters_setLocalApTitle(params, b'1.1.1.999', 12)
        err = c_int(0)
        ok = MmsConnection_connect(con, ctypes.byref(err), b(host), port)
        attempts.append({'attempt': attempt, 'ok': bool(ok),
                         'mmsError': err.value})
        if ok and err.value == 0:
            r.step('associate', True, attempts=attempts,
                   calling_ap_title='1.1.1.999', calling_ae_qualifier=12,
                   library=LIB_PATH)
            return con
        MmsConnection_destroy(con)
        time.sleep(0.5)
    r.step('associate', False, attempts=attempts, library=LIB_PATH)
    return None


def accept_initial(got, name, written):
    """initial read of a writable variable: fixture value, or the value an
    earlier interop client wrote into the same server"""
    want = fixture.expected(name)
    alt = {'float': written}
    return got in (want, alt), ('fresh' if got == want else
                                'written-by-earlier-client' if got == alt
                                else 'unexpected'), want


def run(host, port, report_timeout):
    r = Runner('libiec61850')
    reports = Reports()
    con = connect(host, port, reports, r)
    if con is None:
        return r.finish()
    err = c_int(0)
    E = ctypes.byref(err)

    def call_list(fn, *args):
        err.value = 0
        node = fn(con, E, *args)
        names = list_strings(node)
        if node:
            LinkedList_destroy(node)
        return names, err.value

    def read(dom, item):
        err.value = 0
        v = MmsConnection_readVariable(con, E, b(dom), b(item))
        res = value_to_py(v)
        if v:
            MmsValue_delete(v)
        return res, err.value

    try:
        # identify
        err.value = 0
        ident = MmsConnection_identify(con, E)
        if ident:
            i = ident.contents
            r.step('identify', err.value == 0, vendor=s_(i.vendorName),
                   model=s_(i.modelName), revision=s_(i.revision))
            MmsServerIdentity_destroy(ident)
        else:
            r.step('identify', False, mmsError=err.value)

        # name lists
        names, e = call_list(MmsConnection_getDomainNames)
        r.expect('getNameList-domains', names, fixture.sorted_names(
            fixture.DOMAINS), mmsError=e)
        names, e = call_list(MmsConnection_getVMDVariableNames)
        r.expect('getNameList-vmd-variables', names, fixture.names_in(None),
                 mmsError=e)
        names, e = call_list(MmsConnection_getDomainVariableNames, b'ICC1')
        r.expect('getNameList-ICC1-variables', names,
                 fixture.names_in('ICC1'), mmsError=e)
        names, e = call_list(MmsConnection_getDomainVariableListNames,
                             b'ICC1')
        r.expect('getNameList-ICC1-lists', names,
                 fixture.names_in('ICC1', 'list'), mmsError=e)
        names, e = call_list(MmsConnection_getDomainVariableListNames, None)
        r.expect('getNameList-vmd-lists', names,
                 fixture.names_in(None, 'list'), mmsError=e)

        # reads
        got, e = read(None, 'VMD_Real')
        ok, state, want = accept_initial(got, (None, 'VMD_Real'),
                                         fixture.VMD_REAL_WRITE)
        r.step('read-VMD_Real', ok and e == 0, got=got, expected=want,
               state=state, mmsError=e)
        for dom, item in ((None, 'TASE2_Version'), ('ICC1', 'Voltage_1'),
                          ('ICC1', 'Values_Array')):
            got, e = read(dom, item)
            r.expect(f'read-{fixture.name_str((dom, item))}', got,
                     fixture.expected((dom, item)), mmsError=e)

        # component via alternateAccess (libiec61850 encodes the component
        # as alternateAccess selectAccess component "Value" on itemId
        # "Voltage_1"; see mms_client_read.c createNewVariableSpecification)
        err.value = 0
        v = MmsConnection_readVariableComponent(con, E, b'ICC1',
                                                b'Voltage_1', b'Value')
        got = value_to_py(v)
        if v:
            MmsValue_delete(v)
        r.step('read-ICC1/Voltage_1-component-Value',
               got == {'float': 230.5} and err.value == 0, got=got,
               expected={'float': 230.5}, mmsError=err.value,
               api='MmsConnection_readVariableComponent',
               wire='itemId "Voltage_1" + alternateAccess '
                    '[unnamed selectAccess component "Value"]')

        # write Setpoint_1 and read back
        val = MmsValue_newFloat(fixture.SETPOINT_WRITE)
        err.value = 0
        res = MmsConnection_writeVariable(con, E, b'ICC1', b'Setpoint_1', val)
        MmsValue_delete(val)
        r.step('write-ICC1/Setpoint_1',
               res == DATA_ACCESS_ERROR_SUCCESS and err.value == 0,
               value=fixture.SETPOINT_WRITE, dataAccessError=res,
               mmsError=err.value)
        got, e = read('ICC1', 'Setpoint_1')
        r.expect('readback-ICC1/Setpoint_1', got,
                 {'float': fixture.SETPOINT_WRITE}, mmsError=e)

        # write VMD_Real. Quirk: MmsConnection_writeVariable(domainId=NULL)
        # segfaults in libiec61850 1.6.1 (createNewDomainVariableSpecification
        # always encodes a domain-specific name: strlen(NULL)), so the
        # vmd-specific variable is written through the vmd-specific list
        # VMD_DS = [VMD_Real, VMD_Counter] with MmsConnection_
        # writeNamedVariableList (domainId NULL -> vmd-specific list name).
        # VMD_Counter is read-only: its result must be object-access-denied.
        values = LinkedList_create()
        v_real = MmsValue_newFloat(fixture.VMD_REAL_WRITE)
        v_cnt = MmsValue_newIntegerFromInt32(42)
        LinkedList_add(values, v_real)
        LinkedList_add(values, v_cnt)
        results = ctypes.POINTER(LinkedListNode)()
        err.value = 0
        MmsConnection_writeNamedVariableList(con, E, False, None, b'VMD_DS',
                                             values, ctypes.byref(results))
        LinkedList_destroyDeep(values, ctypes.cast(MmsValue_delete,
                                                   c_void_p))
        codes = [MmsValue_getDataAccessError(p)
                 for p in list_pointers(results)]
        if results:
            LinkedList_destroyDeep(results, ctypes.cast(MmsValue_delete,
                                                        c_void_p))
        want = [DATA_ACCESS_ERROR_SUCCESS,
                DATA_ACCESS_ERROR_OBJECT_ACCESS_DENIED]
        r.step('write-VMD_Real', codes == want and err.value == 0,
               value=fixture.VMD_REAL_WRITE, dataAccessErrors=codes,
               expected=want, mmsError=err.value,
               api='MmsConnection_writeNamedVariableList(vmd-specific '
                   'VMD_DS := [VMD_Real 2.5, VMD_Counter 42])',
               why='MmsConnection_writeVariable(NULL domain) segfaults')
        got, e = read(None, 'VMD_Real')
        r.expect('readback-VMD_Real', got, {'float': fixture.VMD_REAL_WRITE},
                 mmsError=e)

        # define / read / attributes / delete a client list
        ldom, lname = fixture.CLIENT_LIST
        keep = []   # C keeps pointers to these strings
        specs = LinkedList_create()
        for mdom, mitem in fixture.CLIENT_LIST_MEMBERS:
            d, i = ctypes.c_char_p(b(mdom)), ctypes.c_char_p(b(mitem))
            keep += [d, i]
            LinkedList_add(specs, ctypes.cast(
                MmsVariableAccessSpecification_create(d, i), c_void_p))
        err.value = 0
        MmsConnection_defineNamedVariableList(con, E, b(ldom), b(lname),
                                              specs)
        for p in list_pointers(specs):
            libc.free(p)   # our strings are Python-owned: free struct only
        LinkedList_destroyStatic(specs)
        r.step('define-ICC1/CLIENT_DS', err.value == 0,
               members=[fixture.name_str(m)
                        for m in fixture.CLIENT_LIST_MEMBERS],
               mmsError=err.value)

        err.value = 0
        v = MmsConnection_readNamedVariableListValues(con, E, b(ldom),
                                                      b(lname), False)
        got = value_to_py(v)
        if v:
            MmsValue_delete(v)
        want = {'array': [fixture.expected(('ICC1', 'Voltage_1')),
                          {'float': fixture.SETPOINT_WRITE}]}
        r.step('read-list-ICC1/CLIENT_DS', got == want and err.value == 0,
               got=got, expected=want, results=len((got or {}).get(
                   'array', [])), mmsError=err.value)

        err.value = 0
        deletable = c_bool(False)
        node = MmsConnection_readNamedVariableListDirectory(
            con, E, b(ldom), b(lname), ctypes.byref(deletable))
        members = []
        for p in list_pointers(node):
            s = ctypes.cast(p, ctypes.POINTER(
                MmsVariableAccessSpecification)).contents
            members.append([s_(s.domainId), s_(s.itemId)])
        if node:
            LinkedList_destroyDeep(node, ctypes.cast(
                MmsVariableAccessSpecification_destroy, c_void_p))
        want = [list(m) for m in fixture.CLIENT_LIST_MEMBERS]
        r.step('getNamedVariableListAttributes-ICC1/CLIENT_DS',
               members == want and deletable.value and err.value == 0,
               members=members, expected=want, deletable=deletable.value,
               mmsError=err.value)

        err.value = 0
        deleted = MmsConnection_deleteNamedVariableList(con, E, b(ldom),
                                                        b(lname))
        r.step('delete-ICC1/CLIENT_DS', bool(deleted) and err.value == 0,
               deleted=bool(deleted), mmsError=err.value)

        # getVariableAccessAttributes
        err.value = 0
        spec = MmsConnection_getVariableAccessAttributes(con, E, b'ICC1',
                                                         b'Voltage_1')
        got = spec_to_py(spec) if spec else None
        if spec:
            MmsVariableSpecification_destroy(spec)
        r.expect('getVariableAccessAttributes-ICC1/Voltage_1', got,
                 fixture.type_json(fixture.REAL_Q_TYPE), mmsError=err.value)

        # write to read-only must fail with object-access-denied
        val = MmsValue_newVisibleString(b'x')
        err.value = 0
        res = MmsConnection_writeVariable(con, E, b'ICC1',
                                          b'Bilateral_Table_ID', val)
        MmsValue_delete(val)
        denied = (res == DATA_ACCESS_ERROR_OBJECT_ACCESS_DENIED or
                  err.value == MMS_ERROR_ACCESS_OBJECT_ACCESS_DENIED)
        r.step('write-readonly-ICC1/Bilateral_Table_ID-denied', denied,
               dataAccessError=res, mmsError=err.value,
               expected='object-access-denied (DataAccessError 3)')

        # informationReports
        early = reports.clear()
        r.event('ready-for-reports', early_reports_discarded=early)

        def have(items):
            lov = any(not i.get('isVariableListName') and
                      i.get('domain') == 'ICC1' and
                      i.get('name') == 'Voltage_1' for i in items)
            vln = any(i.get('isVariableListName') and
                      i.get('domain') is None and i.get('name') == 'VMD_DS'
                      for i in items)
            return lov and vln

        arrived = reports.wait_for(have, report_timeout)
        items = reports.snapshot()
        lov = [i for i in items if not i.get('isVariableListName')]
        vln = [i for i in items if i.get('isVariableListName')]
        r.step('reports', arrived, listOfVariable=lov[:8],
               variableListName=vln[:4], received=len(items),
               note='libiec61850 calls the handler once per listOfVariable '
                    'variable; variableListName only when vmd-specific')

        # conclude
        err.value = 0
        MmsConnection_conclude(con, E)
        r.step('conclude', err.value == 0, mmsError=err.value)
    finally:
        MmsConnection_close(con)
        MmsConnection_destroy(con)
    return r.finish()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('host')
    p.add_argument('port', type=int)
    p.add_argument('--report-timeout', type=float, default=10.0)
    args = p.parse_args()
    sys.exit(run(args.host, args.port, args.report_timeout))


if __name__ == '__main__':
    main()
