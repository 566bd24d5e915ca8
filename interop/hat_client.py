#!/usr/bin/env python3
"""hat.drivers.mms (pure-Python asyncio MMS) client run against a server
hosting the interop fixture (interop/fixture.py).

Usage: hat_client.py HOST PORT [--report-timeout SECONDS]

stdout: JSON lines, one {"step": ..., "ok": ...} per check (see runner.py),
{"event": "ready-for-reports"} when the client waits for informationReports,
{"step": "sent-report"} after sending its own informationReport
(ICC1/Transfer_Report_ACK = "ack-from-hat"), and a final {"step": "summary"}.
Exit code 0 only if every check passed.

hat has no alternateAccess in its API; the component read wraps
hat.drivers.mms.encoder.encode_request to add the ASN.1 alternateAccess
field (listOfVariable entry: alternateAccess [unnamed selectAccess
component "Value"]).
"""

import argparse
import asyncio
import os
import sys
import typing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixture  # noqa: E402
from runner import Runner  # noqa: E402

from hat.drivers import mms  # noqa: E402
from hat.drivers import net  # noqa: E402
from hat.drivers.mms import encoder as mms_encoder  # noqa: E402

REQUEST_TIMEOUT = 10


# --- alternateAccess on outgoing reads ---------------------------------------

class ComponentSpec(typing.NamedTuple):
    """listOfVariable entry: name + alternateAccess selecting components"""
    name: mms.ObjectName
    components: list   # e.g. ['Value'] or ['A', 'B'] (nested)


def _alternate_access(components):
    first, *rest = components
    if not rest:
        return [('unnamed', ('selectAccess', ('component', first)))]
    return [('unnamed', ('selectAlternateAccess', {
        'accessSelection': ('component', first),
        'alternateAccess': _alternate_access(rest)}))]


_orig_encode_request = mms_encoder.encode_request


def _encode_request(req):
    if isinstance(req, mms.ReadRequest) and not isinstance(
            req.value, (mms.VmdSpecificObjectName,
                        mms.DomainSpecificObjectName,
                        mms.AaSpecificObjectName)) and any(
            isinstance(i, ComponentSpec) for i in req.value):
        items = []
        for i in req.value:
            if isinstance(i, ComponentSpec):
                items.append({
                    'variableSpecification': ('name', mms_encoder.
                                              _encode_object_name(i.name)),
                    'alternateAccess': _alternate_access(i.components)})
            else:
                items.append({'variableSpecification': mms_encoder.
                              _encode_variable_specification(i)})
        return 'read', {'variableAccessSpecification': ('listOfVariable',
                                                        items)}
    return _orig_encode_request(req)


mms_encoder.encode_request = _encode_request


# --- conversions ------------------------------------------------------------

def hat_name(name):
    dom, item = name
    if dom is None:
        return mms.VmdSpecificObjectName(item)
    return mms.DomainSpecificObjectName(dom, item)


def var(name):
    return mms.NameVariableSpecification(hat_name(name))


def name_json(obj_name):
    if isinstance(obj_name, mms.VmdSpecificObjectName):
        return [None, obj_name.identifier]
    if isinstance(obj_name, mms.DomainSpecificObjectName):
        return [obj_name.domain_id, obj_name.item_id]
    if isinstance(obj_name, mms.AaSpecificObjectName):
        return ['@aa', obj_name.identifier]
    return repr(obj_name)


def spec_json(spec):
    if isinstance(spec, mms.NameVariableSpecification):
        return name_json(spec.name)
    return repr(spec)


def typed(d):
    """hat Data / DataAccessError -> typed JSON form (see fixture.typed)"""
    if isinstance(d, mms.DataAccessError):
        return {'error': d.value}
    if isinstance(d, mms.StructureData):
        return {'structure': [typed(e) for e in d.elements]}
    if isinstance(d, mms.ArrayData):
        return {'array': [typed(e) for e in d.elements]}
    if isinstance(d, mms.FloatingPointData):
        return {'float': float(d.value)}
    if isinstance(d, mms.IntegerData):
        return {'integer': d.value}
    if isinstance(d, mms.UnsignedData):
        return {'unsigned': d.value}
    if isinstance(d, mms.BooleanData):
        return {'boolean': d.value}
    if isinstance(d, mms.BitStringData):
        return {'bit-string': ''.join('1' if b else '0' for b in d.value)}
    if isinstance(d, mms.VisibleStringData):
        return {'visible-string': d.value}
    if isinstance(d, mms.MmsStringData):
        return {'mms-string': d.value}
    if isinstance(d, mms.OctetStringData):
        return {'octet-string': bytes(d.value).hex()}
    return {'other': repr(d)}


def type_json(t):
    """hat TypeDescription -> fixture type JSON form"""
    if isinstance(t, mms.StructureTypeDescription):
        return {'type': 'structure',
                'components': [[n, type_json(ct)] for n, ct in t.components]}
    if isinstance(t, mms.ArrayTypeDescription):
        return {'type': 'array', 'count': t.number_of_elements,
                'element': type_json(t.element_type)}
    if isinstance(t, mms.FloatingPointTypeDescription):
        r = {'type': 'float', 'bits': t.format_width}
        if t.exponent_width != 8:
            r['exponent'] = t.exponent_width
        return r
    if isinstance(t, mms.IntegerTypeDescription):
        return {'type': 'integer', 'bits': t.xyz}
    if isinstance(t, mms.UnsignedTypeDescription):
        return {'type': 'unsigned', 'bits': t.xyz}
    if isinstance(t, mms.BitStringTypeDescription):
        return {'type': 'bit-string', 'bits': t.xyz}
    if isinstance(t, mms.VisibleStringTypeDescription):
        return {'type': 'visible-string', 'size': t.xyz}
    return {'type': repr(t)}


def err_json(res):
    """an MMS Error (hat enum / OtherError) -> JSON"""
    if isinstance(res, mms.OtherError):
        return {'class': 'others', 'code': res.value}
    return {'class': type(res).__name__, 'code': getattr(res, 'name',
                                                         repr(res))}


# --- the client -------------------------------------------------------------

class Client:

    def __init__(self, r):
        self.r = r
        self.conn = None
        self.reports = []
        self.report_event = asyncio.Event()

    async def on_unconfirmed(self, conn, unconfirmed):
        if not isinstance(unconfirmed, mms.InformationReportUnconfirmed):
            self.reports.append({'other': repr(unconfirmed)})
            return
        spec = unconfirmed.specification
        item = {'data': [typed(d) for d in unconfirmed.data]}
        if isinstance(spec, (mms.VmdSpecificObjectName,
                             mms.DomainSpecificObjectName,
                             mms.AaSpecificObjectName)):
            item['variableListName'] = name_json(spec)
        else:
            item['listOfVariable'] = [spec_json(s) for s in spec]
        self.reports.append(item)
        self.report_event.set()

    async def req(self, request):
        return await asyncio.wait_for(self.conn.send_confirmed(request),
                                      REQUEST_TIMEOUT)

    async def name_list(self, object_class, scope):
        names, pages, after = [], 0, None
        while True:
            res = await self.req(mms.GetNameListRequest(
                object_class=object_class, object_scope=scope,
                continue_after=after))
            if not isinstance(res, mms.GetNameListResponse):
                return None, err_json(res), pages
            pages += 1
            names += list(res.identifiers)
            if not res.more_follows or not res.identifiers or pages > 100:
                return names, None, pages
            after = names[-1]

    async def read(self, spec):
        res = await self.req(mms.ReadRequest([spec]))
        if not isinstance(res, mms.ReadResponse):
            return None, err_json(res)
        if len(res.results) != 1:
            return None, {'results': len(res.results)}
        return typed(res.results[0]), None

    async def write(self, spec, data):
        res = await self.req(mms.WriteRequest(specification=[spec],
                                              data=[data]))
        if not isinstance(res, mms.WriteResponse):
            return 'error', err_json(res)
        result = list(res.results)
        if len(result) != 1:
            return 'error', {'results': len(result)}
        if result[0] is None:
            return 'success', None
        return 'failure', result[0].name

    async def run(self, host, port, report_timeout):
        r = self.r
        try:
            self.conn = await asyncio.wait_for(mms.connect(
                addr=net.TcpAddress(host, port),
                unconfirmed_cb=self.on_unconfirmed,
                local_ap_title=(1, 1, 1, 999), local_ae_qualifier=12,
                remote_ap_title=(1, 1, 1, 999, 1), remote_ae_qualifier=12),
                REQUEST_TIMEOUT)
        except Exception as e:
            r.step('associate', False, error=repr(e))
            return
        r.step('associate', True, calling_ap_title='1.1.1.999',
               calling_ae_qualifier=12)
        try:
            await self._steps(report_timeout)
        except Exception as e:
            r.step('exception', False, error=repr(e))
        finally:
            await self._close()

    async def _steps(self, report_timeout):
        r = self.r
        res = await self.req(mms.IdentifyRequest())
        if isinstance(res, mms.IdentifyResponse):
            r.step('identify', True, vendor=res.vendor, model=res.model,
                   revision=res.revision)
        else:
            r.step('identify', False, error=err_json(res))

        vmd = mms.VmdSpecificObjectScope()
        icc1 = mms.DomainSpecificObjectScope('ICC1')
        for step, cls, scope, want in (
                ('getNameList-domains', mms.ObjectClass.DOMAIN, vmd,
                 fixture.sorted_names(fixture.DOMAINS)),
                ('getNameList-vmd-variables', mms.ObjectClass.NAMED_VARIABLE,
                 vmd, fixture.names_in(None)),
                ('getNameList-ICC1-variables',
                 mms.ObjectClass.NAMED_VARIABLE, icc1,
                 fixture.names_in('ICC1')),
                ('getNameList-ICC1-lists',
                 mms.ObjectClass.NAMED_VARIABLE_LIST, icc1,
                 fixture.names_in('ICC1', 'list')),
                ('getNameList-vmd-lists',
                 mms.ObjectClass.NAMED_VARIABLE_LIST, vmd,
                 fixture.names_in(None, 'list'))):
            names, error, pages = await self.name_list(cls, scope)
            r.step(step, names == want, got=names, expected=want,
                   pages=pages, error=error)

        # reads
        got, error = await self.read(var((None, 'VMD_Real')))
        want = fixture.expected((None, 'VMD_Real'))
        alt = {'float': fixture.VMD_REAL_WRITE}
        r.step('read-VMD_Real', got in (want, alt), got=got, expected=want,
               state=('fresh' if got == want else
                      'written-by-earlier-client' if got == alt
                      else 'unexpected'), error=error)
        for name in ((None, 'TASE2_Version'), ('ICC1', 'Voltage_1'),
                     ('ICC1', 'Values_Array')):
            got, error = await self.read(var(name))
            r.expect(f'read-{fixture.name_str(name)}', got,
                     fixture.expected(name), error=error)

        got, error = await self.read(ComponentSpec(
            hat_name(('ICC1', 'Voltage_1')), ['Value']))
        r.expect('read-ICC1/Voltage_1-component-Value', got,
                 {'float': 230.5}, error=error,
                 wire='itemId "Voltage_1" + alternateAccess '
                      '[unnamed selectAccess component "Value"] '
                      '(injected into hat encoder)')

        # writes
        result, error = await self.write(
            var(('ICC1', 'Setpoint_1')),
            mms.FloatingPointData(fixture.SETPOINT_WRITE))
        r.step('write-ICC1/Setpoint_1', result == 'success',
               value=fixture.SETPOINT_WRITE, result=result, error=error)
        got, error = await self.read(var(('ICC1', 'Setpoint_1')))
        r.expect('readback-ICC1/Setpoint_1', got,
                 {'float': fixture.SETPOINT_WRITE}, error=error)

        result, error = await self.write(
            var((None, 'VMD_Real')),
            mms.FloatingPointData(fixture.VMD_REAL_WRITE))
        r.step('write-VMD_Real', result == 'success',
               value=fixture.VMD_REAL_WRITE, result=result, error=error)
        got, error = await self.read(var((None, 'VMD_Real')))
        r.expect('readback-VMD_Real', got,
                 {'float': fixture.VMD_REAL_WRITE}, error=error)

        # client named variable list
        lst = hat_name(fixture.CLIENT_LIST)
        res = await self.req(mms.DefineNamedVariableListRequest(
            name=lst, specification=[var(m) for m in
                                     fixture.CLIENT_LIST_MEMBERS]))
        r.step('define-ICC1/CLIENT_DS',
               isinstance(res, mms.DefineNamedVariableListResponse),
               members=[fixture.name_str(m)
                        for m in fixture.CLIENT_LIST_MEMBERS],
               error=None if isinstance(
                   res, mms.DefineNamedVariableListResponse)
               else err_json(res))

        res = await self.req(mms.ReadRequest(lst))
        want = [fixture.expected(('ICC1', 'Voltage_1')),
                {'float': fixture.SETPOINT_WRITE}]
        if isinstance(res, mms.ReadResponse):
            got = [typed(d) for d in res.results]
            r.step('read-list-ICC1/CLIENT_DS', got == want, got=got,
                   expected=want, results=len(got))
        else:
            r.step('read-list-ICC1/CLIENT_DS', False, error=err_json(res))

        res = await self.req(mms.GetNamedVariableListAttributesRequest(lst))
        want = [list(m) for m in fixture.CLIENT_LIST_MEMBERS]
        if isinstance(res, mms.GetNamedVariableListAttributesResponse):
            members = [spec_json(s) for s in res.specification]
            r.step('getNamedVariableListAttributes-ICC1/CLIENT_DS',
                   members == want and res.mms_deletable, members=members,
                   expected=want, deletable=res.mms_deletable)
        else:
            r.step('getNamedVariableListAttributes-ICC1/CLIENT_DS', False,
                   error=err_json(res))

        res = await self.req(mms.DeleteNamedVariableListRequest([lst]))
        if isinstance(res, mms.DeleteNamedVariableListResponse):
            r.step('delete-ICC1/CLIENT_DS',
                   res.matched == 1 and res.deleted == 1,
                   matched=res.matched, deleted=res.deleted)
        else:
            r.step('delete-ICC1/CLIENT_DS', False, error=err_json(res))

        # getVariableAccessAttributes
        res = await self.req(mms.GetVariableAccessAttributesRequest(
            hat_name(('ICC1', 'Voltage_1'))))
        want = fixture.type_json(fixture.REAL_Q_TYPE)
        if isinstance(res, mms.GetVariableAccessAttributesResponse):
            r.expect('getVariableAccessAttributes-ICC1/Voltage_1',
                     type_json(res.type_description), want,
                     deletable=res.mms_deletable)
        else:
            r.step('getVariableAccessAttributes-ICC1/Voltage_1', False,
                   error=err_json(res))

        # write to read-only
        result, error = await self.write(
            var(('ICC1', 'Bilateral_Table_ID')), mms.VisibleStringData('x'))
        r.step('write-readonly-ICC1/Bilateral_Table_ID-denied',
               result == 'failure' and error == 'OBJECT_ACCESS_DENIED',
               result=result, error=error,
               expected='failure OBJECT_ACCESS_DENIED')

        # informationReports
        early = len(self.reports)
        self.reports.clear()
        r.event('ready-for-reports', early_reports_discarded=early)

        def have():
            lov = any(['ICC1', 'Voltage_1'] in i.get('listOfVariable', [])
                      for i in self.reports)
            vln = any(i.get('variableListName') == [None, 'VMD_DS']
                      for i in self.reports)
            return lov and vln

        loop = asyncio.get_running_loop()
        deadline = loop.time() + report_timeout
        while not have() and loop.time() < deadline:
            self.report_event.clear()
            try:
                await asyncio.wait_for(self.report_event.wait(),
                                       deadline - loop.time())
            except asyncio.TimeoutError:
                break
        items = list(self.reports)
        r.step('reports', have(),
               listOfVariable=[i for i in items
                               if 'listOfVariable' in i][:4],
               variableListName=[i for i in items
                                 if 'variableListName' in i][:4],
               received=len(items))

        # our own informationReport
        await self.conn.send_unconfirmed(mms.InformationReportUnconfirmed(
            specification=[var(fixture.REPORT_ACK)],
            data=[mms.VisibleStringData(fixture.REPORT_ACK_TEXT)]))
        await self.conn._conn.drain()   # make sure it left before closing
        r.step('sent-report', True,
               variable=fixture.name_str(fixture.REPORT_ACK),
               value=fixture.REPORT_ACK_TEXT)

    async def _close(self):
        if self.conn is None:
            return
        try:
            await asyncio.wait_for(self.conn.async_close(), REQUEST_TIMEOUT)
            self.r.step('close', True,
                        wire='hat Connection.async_close: '
                             'conclude-RequestPDU, then ACSE A-ABORT '
                             '(hat does not await conclude-ResponsePDU)')
        except Exception as e:
            self.r.step('close', False, error=repr(e))


async def amain(args):
    r = Runner('hat-drivers')
    c = Client(r)
    await c.run(args.host, args.port, args.report_timeout)
    return r.finish()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('host')
    p.add_argument('port', type=int)
    p.add_argument('--report-timeout', type=float, default=10.0)
    args = p.parse_args()
    sys.exit(asyncio.run(amain(args)))


if __name__ == '__main__':
    main()
