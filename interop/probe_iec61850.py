#!/usr/bin/env python3
"""Plan-driven MMS probe on libiec61850 1.6.1 (the library bundled with
pyiec61850-ng), driven through ctypes exactly like iec61850_client.py (whose
declarations it reuses: ctypes releases the GIL during C calls, so the
informationReport callback thread is not starved).

Usage: probe_iec61850.py HOST PORT PLAN.json [--ap-title 1.1.1.999]
                         [--ae-qualifier 12] [--timeout 10]

Same plan format, ops and output lines as probe_hat.py:
    {"i": index, "op": ..., "ok": bool, "result": ..., "error": "..."}
preceded by {"i": -1, "op": "associate", ...}. Exit 0 when the whole plan
ran, 2 when the association failed, 3 on a bad plan.

libiec61850 specifics (all visible in the output):
  names        MmsConnection_getDomainNames / getVMDVariableNames /
               getDomainVariableNames / getDomainVariableListNames(D|NULL)
               ("@aa" lists: getVariableListNamesAssociationSpecific); the
               library follows moreFollows itself.
  read         MmsConnection_readVariable; with "component":
               MmsConnection_readVariableComponent ("A.B" -> "A$B").
  read_many    MmsConnection_readMultipleVariables (one Read PDU) when all
               items share one domain and none has a component; otherwise
               sequential readVariable calls ("note" says which).
               readMultipleVariables cannot do vmd-specific names (it
               strlen()s the NULL domain), so vmd items go sequentially.
  write        MmsConnection_writeVariable; with "component":
               MmsConnection_writeVariableComponent. A NULL domain is NOT
               attempted: libiec61850 1.6.1 always encodes a domain-specific
               name for writes and segfaults on strlen(NULL) -> ok false,
               error "unsupported: ...".
  define       MmsConnection_defineNamedVariableList; members must be
               domain-specific (same strlen(NULL) problem) -> else ok false.
  delete       MmsConnection_deleteNamedVariableList returns only a bool:
               result {matched: null, deleted: 0|1}.
  read_list    MmsConnection_readNamedVariableListValues -> list of values.
  list_attributes  MmsConnection_readNamedVariableListDirectory.
  type         MmsConnection_getVariableAccessAttributes (no deletable flag
               in the API -> "deletable": null).
  wait_reports The handler is installed before connecting. libiec61850 calls
               it once per variable of a listOfVariable report (each becomes
               its own {"form": "list_of_variable", "items": [one],
               "values": [one]} entry) and once per variableListName report
               with the whole list as an array value (-> "values" = its
               elements). It silently DROPS reports whose variableListName
               is domain-specific (only vmd-specific list names reach the
               handler), so ICC data-set reports never show up here.
  conclude     MmsConnection_conclude, then MmsConnection_destroy.
"""

import ctypes
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import probe_common as pc  # noqa: E402
import iec61850_client as L  # noqa: E402  (ctypes declarations)
from iec61850_client import (  # noqa: E402
    lib, b, s_, c_void_p, c_char_p, c_int, c_bool, P_INT, LinkedListNode,
    MmsVariableAccessSpecification, list_strings, list_pointers,
    value_to_py, _fn)


P_LL = ctypes.POINTER(LinkedListNode)
MmsConnection_readMultipleVariables = _fn(
    'MmsConnection_readMultipleVariables', c_void_p, c_void_p, P_INT,
    c_char_p, P_LL)
MmsConnection_writeVariableComponent = _fn(
    'MmsConnection_writeVariableComponent', c_int, c_void_p, P_INT,
    c_char_p, c_char_p, c_char_p, c_void_p)
MmsConnection_getVariableListNamesAssociationSpecific = _fn(
    'MmsConnection_getVariableListNamesAssociationSpecific', P_LL, c_void_p,
    P_INT)
MmsValue_newIntegerFromInt64 = _fn('MmsValue_newIntegerFromInt64', c_void_p,
                                   ctypes.c_int64)
MmsValue_newUnsignedFromUint32 = _fn('MmsValue_newUnsignedFromUint32',
                                     c_void_p, ctypes.c_uint32)
MmsValue_newBoolean = _fn('MmsValue_newBoolean', c_void_p, c_bool)
MmsValue_newBitString = _fn('MmsValue_newBitString', c_void_p, c_int)
MmsValue_setBitStringBit = _fn('MmsValue_setBitStringBit', None, c_void_p,
                               c_int, c_bool)
MmsValue_newOctetString = _fn('MmsValue_newOctetString', c_void_p, c_int,
                              c_int)
MmsValue_setOctetString = _fn('MmsValue_setOctetString', None, c_void_p,
                              ctypes.c_char_p, c_int)
MmsValue_createEmptyStructure = _fn('MmsValue_createEmptyStructure',
                                    c_void_p, c_int)
MmsValue_createEmptyArray = _fn('MmsValue_createEmptyArray', c_void_p, c_int)
MmsValue_setElement = _fn('MmsValue_setElement', None, c_void_p, c_int,
                          c_void_p)

# MmsDataAccessError: -1 success, 0..11 the ISO 9506 codes, 12 unknown
DAE_SUCCESS = -1
DAE_UNKNOWN = 12


def to_mms_value(v):
    """typed JSON -> new MmsValue* (caller deletes it with MmsValue_delete,
    which frees the elements of structures/arrays too)"""
    kind, x = pc.typed_kind(v)
    if kind == 'float':
        return L.MmsValue_newFloat(float(x))     # single precision (08 …)
    if kind == 'integer':
        x = int(x)
        if -2**31 <= x < 2**31:
            return L.MmsValue_newIntegerFromInt32(x)
        return MmsValue_newIntegerFromInt64(x)
    if kind == 'unsigned':
        return MmsValue_newUnsignedFromUint32(int(x))
    if kind == 'boolean':
        return MmsValue_newBoolean(bool(x))
    if kind == 'bit-string':
        bits = pc.bits_of(x)
        val = MmsValue_newBitString(len(bits))
        for i, bit in enumerate(bits):
            MmsValue_setBitStringBit(val, i, bit)
        return val
    if kind == 'visible-string':
        return L.MmsValue_newVisibleString(str(x).encode())
    if kind == 'octet-string':
        data = bytes.fromhex(x)
        val = MmsValue_newOctetString(len(data), len(data))
        MmsValue_setOctetString(val, data, len(data))
        return val
    if kind in ('structure', 'array'):
        elements = [to_mms_value(e) for e in x]
        val = (MmsValue_createEmptyStructure if kind == 'structure'
               else MmsValue_createEmptyArray)(len(elements))
        for i, e in enumerate(elements):
            MmsValue_setElement(val, i, e)
        return val
    raise ValueError(f'unsupported typed value kind {kind!r}')


def spec_to_py(spec):
    """MmsVariableSpecification* -> type JSON (iec61850_client.spec_to_py
    plus boolean, octet-string, mms-string, utc-time)"""
    t = L.MmsVariableSpecification_getType(spec)
    size = L.MmsVariableSpecification_getSize(spec)
    if t == L.MMS_STRUCTURE:
        comps = []
        for i in range(size):
            c = L.MmsVariableSpecification_getChildSpecificationByIndex(
                spec, i)
            comps.append([s_(L.MmsVariableSpecification_getName(c)),
                          spec_to_py(c)])
        return {'type': 'structure', 'components': comps}
    if t == L.MMS_ARRAY:
        el = L.MmsVariableSpecification_getArrayElementSpecification(spec)
        return {'type': 'array', 'count': size, 'element': spec_to_py(el)}
    if t == L.MMS_FLOAT:
        r = {'type': 'float', 'bits': size}
        e = L.MmsVariableSpecification_getExponentWidth(spec)
        if e != 8:
            r['exponent'] = e
        return r
    sized = {L.MMS_INTEGER: ('integer', 'bits'),
             L.MMS_UNSIGNED: ('unsigned', 'bits'),
             L.MMS_BIT_STRING: ('bit-string', 'bits'),
             L.MMS_VISIBLE_STRING: ('visible-string', 'size'),
             L.MMS_OCTET_STRING: ('octet-string', 'size'),
             L.MMS_STRING: ('mms-string', 'size')}
    if t in sized:
        k, attr = sized[t]
        return {'type': k, attr: size}
    if t == L.MMS_BOOLEAN:
        return {'type': 'boolean'}
    if t == L.MMS_UTC_TIME:
        return {'type': 'utc-time'}
    return {'type': f'mms-type-{t}', 'size': size}


def component_path(c):
    return None if not c else c.replace('.', '$')


class Unsupported(Exception):
    pass


class ServiceFailed(Exception):
    pass


class Reports:
    """informationReports since association start (handler set before
    connect); wait_reports takes what arrived since the previous one."""

    def __init__(self):
        self.buf = pc.ReportBuffer()
        self.cond = threading.Condition()
        self.handler = L.ReportHandler(self._on_report)   # keep referenced

    def _on_report(self, _param, domain, name, value, is_list):
        try:
            v = value_to_py(value)
            n = pc.name_obj(s_(domain), s_(name))
            if is_list:
                item = {'form': 'list_name', 'name': n,
                        'values': (v or {}).get('array', [v])}
            else:
                item = {'form': 'list_of_variable', 'items': [n],
                        'values': [v]}
        except Exception as e:   # never raise into C
            item = {'form': 'error', 'error': repr(e)}
        finally:
            if value:
                L.MmsValue_delete(value)
        with self.cond:
            self.buf.add(item)
            self.cond.notify_all()

    def wait(self, seconds, want, fresh):
        deadline = time.monotonic() + seconds
        with self.cond:
            if fresh:
                self.buf.take()
            while len(self.buf.items) < want:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return self.buf.take()


class Probe:

    def __init__(self, args):
        self.args = args
        self.con = None
        self.reports = Reports()
        self.err = c_int(0)
        self.extra = {}

    # --- plumbing ---

    def E(self):
        self.err.value = 0
        return ctypes.byref(self.err)

    def check(self):
        if self.err.value != 0:
            raise ServiceFailed(pc.iec_error_text(self.err.value))

    def associate(self):
        a = self.args
        attempts = []
        title = '.'.join(map(str, a.ap_title)).encode()
        for attempt in (1, 2):   # libiec61850's connect can race (see
            con = L.MmsConnection_create()          # iec61850_client.py)
            ms = int(a.timeout * 1000)
            L.MmsConnection_setConnectTimeout(con, ms)
            L.MmsConnection_setRequestTimeout(con, ms)
            L.MmsConnection_setInformationReportHandler(
                con, self.reports.handler, None)
            params = L.MmsConnection_getIsoConnectionParameters(con)
            L.IsoConnectionParameters_setLocalApTitle(params, title,
                                                      a.ae_qualifier)
            ok = L.MmsConnection_connect(con, self.E(), b(a.host), a.port)
            attempts.append({'attempt': attempt, 'ok': bool(ok),
                             'mmsError': self.err.value})
            if ok and self.err.value == 0:
                self.con = con
                self.reports.buf.t0 = time.monotonic()
                return attempts
            L.MmsConnection_destroy(con)
            time.sleep(0.5)
        raise ServiceFailed(f'connect failed: {attempts}')

    def names_call(self, fn, *args):
        node = fn(self.con, self.E(), *args)
        names = list_strings(node)
        if node:
            L.LinkedList_destroy(node)
        self.check()
        return names

    def read_one(self, domain, name, component=None):
        if component:
            v = L.MmsConnection_readVariableComponent(
                self.con, self.E(), b(domain), b(name),
                b(component_path(component)))
        else:
            v = L.MmsConnection_readVariable(self.con, self.E(), b(domain),
                                             b(name))
        res = value_to_py(v)
        if v:
            L.MmsValue_delete(v)
        # a DataAccessError comes back as a value of type DATA_ACCESS_ERROR
        # with MmsError NONE; a confirmed error sets the MmsError
        if self.err.value != 0 and not (res and 'error' in res):
            raise ServiceFailed(pc.iec_error_text(self.err.value))
        return res

    # --- ops ---

    def op_associate(self, step):
        return {'calling_ap_title': '.'.join(map(str, self.args.ap_title)),
                'calling_ae_qualifier': self.args.ae_qualifier}

    def op_identify(self, step):
        ident = L.MmsConnection_identify(self.con, self.E())
        if not ident:
            self.check()
            raise ServiceFailed('no identity')
        i = ident.contents
        r = {'vendor': s_(i.vendorName), 'model': s_(i.modelName),
             'revision': s_(i.revision)}
        L.MmsServerIdentity_destroy(ident)
        return r

    def op_names(self, step):
        cls, dom = step['class'], step.get('domain')
        if cls == 'domain':
            return self.names_call(L.MmsConnection_getDomainNames)
        if cls == 'variable':
            if dom is None:
                return self.names_call(L.MmsConnection_getVMDVariableNames)
            if dom == '@aa':
                raise Unsupported('no association-specific variable names '
                                  'in the libiec61850 API')
            return self.names_call(L.MmsConnection_getDomainVariableNames,
                                   b(dom))
        if cls == 'list':
            if dom == '@aa':
                return self.names_call(
                    MmsConnection_getVariableListNamesAssociationSpecific)
            return self.names_call(
                L.MmsConnection_getDomainVariableListNames, b(dom))
        raise ValueError(f'unknown class {cls!r}')

    def op_read(self, step):
        return self.read_one(step.get('domain'), step['name'],
                             step.get('component'))

    def op_read_many(self, step):
        items = step['items']
        domains = {i.get('domain') for i in items}
        if (len(domains) == 1 and None not in domains and '@aa' not in domains
                and not any(i.get('component') for i in items)):
            keep = [ctypes.c_char_p(b(i['name'])) for i in items]
            names = L.LinkedList_create()
            for k in keep:
                L.LinkedList_add(names, ctypes.cast(k, c_void_p))
            v = MmsConnection_readMultipleVariables(
                self.con, self.E(), b(domains.pop()), names)
            L.LinkedList_destroyStatic(names)
            res = value_to_py(v)
            if v:
                L.MmsValue_delete(v)
            self.check()
            self.extra = {'note': 'one Read PDU '
                                  '(MmsConnection_readMultipleVariables)'}
            if res is None:
                raise ServiceFailed('no result')
            return res.get('array', [res])
        self.extra = {'note': 'sequential MmsConnection_readVariable calls '
                              '(mixed/vmd domains or components)'}
        out = []
        for i in items:
            try:
                out.append(self.read_one(i.get('domain'), i['name'],
                                         i.get('component')))
            except ServiceFailed as e:
                out.append({'service-error': str(e)})
        return out

    def op_write(self, step):
        dom = step.get('domain')
        if dom is None or dom == '@aa':
            raise Unsupported('libiec61850 1.6.1 writes always encode a '
                              'domain-specific name (strlen(NULL) '
                              'segfault); not attempted')
        val = to_mms_value(step['value'])
        try:
            comp = step.get('component')
            if comp:
                res = MmsConnection_writeVariableComponent(
                    self.con, self.E(), b(dom), b(step['name']),
                    b(component_path(comp)), val)
                self.extra = {'note': 'MmsConnection_writeVariableComponent'}
            else:
                res = L.MmsConnection_writeVariable(
                    self.con, self.E(), b(dom), b(step['name']), val)
        finally:
            L.MmsValue_delete(val)
        if res == DAE_SUCCESS and self.err.value == 0:
            return 'success'
        if 0 <= res < DAE_UNKNOWN:
            # libiec61850 also maps it to an MmsError; the DataAccessError
            # is the result
            return {'error': res}
        self.check()
        raise ServiceFailed(f'DataAccessError {res}')

    def op_define(self, step):
        members = step['members']
        if any(m.get('domain') in (None, '@aa') for m in members):
            raise Unsupported('libiec61850 1.6.1 encodes every list member '
                              'as domain-specific (strlen(NULL) segfault)')
        if step.get('domain') == '@aa':
            raise Unsupported('association-specific define not wired up')
        keep = []
        specs = L.LinkedList_create()
        for m in members:
            d = ctypes.c_char_p(b(m['domain']))
            i = ctypes.c_char_p(b(m['name']))
            keep += [d, i]
            L.LinkedList_add(specs, ctypes.cast(
                L.MmsVariableAccessSpecification_create(d, i), c_void_p))
        L.MmsConnection_defineNamedVariableList(
            self.con, self.E(), b(step.get('domain')), b(step['name']),
            specs)
        for p in list_pointers(specs):
            L.libc.free(p)   # strings are Python-owned: free the struct only
        L.LinkedList_destroyStatic(specs)
        self.check()
        return 'success'

    def op_delete(self, step):
        deleted = L.MmsConnection_deleteNamedVariableList(
            self.con, self.E(), b(step.get('domain')), b(step['name']))
        # libiec61850 returns a bool and turns a DeleteNamedVariableList
        # response into MmsErrors: numberMatched 0 -> 81, numberDeleted 0 ->
        # 83 (mms_client_connection.c). Undo that for one list name; a real
        # confirmed error with the same class/code looks identical.
        err = self.err.value
        if deleted and err == 0:
            return {'matched': 1, 'deleted': 1}
        inferred = {81: {'matched': 0, 'deleted': 0},
                    83: {'matched': 1, 'deleted': 0}}
        if err in inferred:
            self.extra = {'note': 'inferred from libiec61850 MmsError '
                                  f'{err} ({pc.iec_error_text(err)}); a '
                                  'confirmed error with that code looks '
                                  'the same'}
            return inferred[err]
        self.check()
        raise ServiceFailed('not deleted')

    def op_read_list(self, step):
        v = L.MmsConnection_readNamedVariableListValues(
            self.con, self.E(), b(step.get('domain')), b(step['name']),
            False)
        res = value_to_py(v)
        if v:
            L.MmsValue_delete(v)
        self.check()
        if res is None:
            raise ServiceFailed('no result')
        return res.get('array', [res])

    def op_list_attributes(self, step):
        deletable = c_bool(False)
        node = L.MmsConnection_readNamedVariableListDirectory(
            self.con, self.E(), b(step.get('domain')), b(step['name']),
            ctypes.byref(deletable))
        members = []
        for p in list_pointers(node):
            s = ctypes.cast(p, ctypes.POINTER(
                MmsVariableAccessSpecification)).contents
            members.append(pc.name_obj(s_(s.domainId), s_(s.itemId)))
        if node:
            L.LinkedList_destroyDeep(node, ctypes.cast(
                L.MmsVariableAccessSpecification_destroy, c_void_p))
        self.check()
        return {'deletable': deletable.value, 'members': members}

    def op_type(self, step):
        spec = L.MmsConnection_getVariableAccessAttributes(
            self.con, self.E(), b(step.get('domain')), b(step['name']))
        t = spec_to_py(spec) if spec else None
        if spec:
            L.MmsVariableSpecification_destroy(spec)
        self.check()
        if t is None:
            raise ServiceFailed('no type')
        return {'deletable': None, 'type': t}

    def op_wait_reports(self, step):
        want = int(step.get('min', 1))
        got = self.reports.wait(float(step.get('seconds', 5)), want,
                                bool(step.get('fresh')))
        self.extra = {'reached_min': len(got) >= want, 'count': len(got)}
        return got

    def op_sleep(self, step):
        time.sleep(float(step.get('seconds', 1)))
        return None

    def op_conclude(self, step):
        con, self.con = self.con, None
        L.MmsConnection_conclude(con, self.E())
        err = self.err.value
        L.MmsConnection_destroy(con)
        if err:
            raise ServiceFailed(pc.iec_error_text(err))
        self.extra = {'note': 'MmsConnection_conclude then '
                              'MmsConnection_destroy'}
        return 'concluded'

    def run(self, plan):
        try:
            attempts = self.associate()
        except Exception as e:
            pc.step_line(-1, 'associate', False, error=str(e))
            return 2
        pc.step_line(-1, 'associate', True, result={
            'calling_ap_title': '.'.join(map(str, self.args.ap_title)),
            'calling_ae_qualifier': self.args.ae_qualifier,
            'attempts': attempts, 'library': L.LIB_PATH})
        try:
            for i, step in enumerate(plan):
                op = step.get('op')
                self.extra = {}
                fn = getattr(self, f'op_{op}', None)
                if fn is None:
                    pc.step_line(i, op, False, error=f'unknown op {op!r}')
                    continue
                if self.con is None and op != 'sleep':
                    pc.step_line(i, op, False, error='not associated '
                                 '(after conclude)')
                    continue
                try:
                    pc.step_line(i, op, True, result=fn(step), **self.extra)
                except Unsupported as e:
                    pc.step_line(i, op, False, error=f'unsupported: {e}')
                except ServiceFailed as e:
                    pc.step_line(i, op, False, error=str(e), **self.extra)
                except Exception as e:
                    pc.step_line(i, op, False,
                                 error=f'{type(e).__name__}: {e}')
        finally:
            if self.con is not None:
                L.MmsConnection_close(self.con)
                L.MmsConnection_destroy(self.con)
        return 0


def main():
    args = pc.probe_arguments(__doc__).parse_args()
    try:
        plan = pc.load_plan(args.plan)
    except Exception as e:
        pc.emit({'op': 'plan', 'ok': False, 'error': str(e)})
        sys.exit(3)
    sys.exit(Probe(args).run(plan))


if __name__ == '__main__':
    main()
