#!/usr/bin/env python3
"""Plan-driven MMS probe on hat.drivers.mms (pure-Python asyncio MMS client).

Usage: probe_hat.py HOST PORT PLAN.json [--ap-title 1.1.1.999]
                    [--ae-qualifier 12] [--remote-ap-title 1.1.1.999.1]
                    [--remote-ae-qualifier 12] [--timeout 10]

PLAN.json is a JSON list of steps, run in order on ONE association ("-" =
stdin). stdout: one JSON line per step (flushed),
    {"i": index, "op": ..., "ok": bool, "result": ..., "error": "..."}
preceded by {"i": -1, "op": "associate", ...}. An explicit
{"op": "associate"} step only prints the association state again.

Ops and results (names: {"domain": null|"D", "name": "X"}; domain null =
vmd-specific, "@aa" = association-specific):
  identify                     {vendor, model, revision}
  names class=domain|variable|list [domain]   [names...] (all pages)
  read domain name [component] typed value, or {"error": DataAccessError}
  read_many items=[{domain,name[,component]}...]   one Read PDU -> [typed...]
  write domain name value [component]  "success" or {"error": code}
  define domain name members=[{domain,name}...]    "success"
  delete domain name           {matched, deleted}
  read_list domain name        [typed or {"error": code}...]
  list_attributes domain name  {deletable, members: [{domain,name}...]}
  type domain name             {deletable, type: <type JSON>}
  wait_reports seconds min [fresh]   reports since the previous
                               wait_reports (buffered from association
                               start; "fresh": true discards them first),
                               waiting up to `seconds` until `min` are there:
                               [{form: list_name|list_of_variable,
                                 name|items, values, t}...]
                               ("t" = seconds since association;
                               "reached_min" tells whether min was reached)
  sleep seconds
  conclude                     hat Connection.async_close (conclude-Request
                               then ACSE abort; hat does not await the
                               conclude-Response)
"ok" is false only when the service failed (confirmed error, reject,
timeout, exception); DataAccessErrors are results.
Exit 0 when the whole plan ran, 2 when the association failed, 3 on a bad
plan.

alternateAccess: hat's encoder has no API for it. hat_client.py's encoder
wrapper (imported here) adds it to reads of ComponentSpec entries; this
script wraps it once more for writes: listOfVariable entry
{variableSpecification name, alternateAccess [unnamed selectAccess
component "<component>"]} (dotted "A.B" selects nested components).
"""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import probe_common as pc  # noqa: E402
from hat_client import ComponentSpec, _alternate_access, typed  # noqa: E402
# (importing hat_client installs its read alternateAccess encoder wrapper)

from hat.drivers import mms  # noqa: E402
from hat.drivers import net  # noqa: E402
from hat.drivers.mms import encoder as mms_encoder  # noqa: E402

# --- alternateAccess on outgoing writes ---------------------------------------

_prev_encode_request = mms_encoder.encode_request


def _encode_request(req):
    if isinstance(req, mms.WriteRequest) and not isinstance(
            req.specification, (mms.VmdSpecificObjectName,
                                mms.DomainSpecificObjectName,
                                mms.AaSpecificObjectName)) and any(
            isinstance(i, ComponentSpec) for i in req.specification):
        items = []
        for i in req.specification:
            if isinstance(i, ComponentSpec):
                items.append({
                    'variableSpecification': ('name', mms_encoder.
                                              _encode_object_name(i.name)),
                    'alternateAccess': _alternate_access(i.components)})
            else:
                items.append({'variableSpecification': mms_encoder.
                              _encode_variable_specification(i)})
        return 'write', {
            'variableAccessSpecification': ('listOfVariable', items),
            'listOfData': [mms_encoder._encode_data(d) for d in req.data]}
    return _prev_encode_request(req)


mms_encoder.encode_request = _encode_request

# --- conversions -----------------------------------------------------------------


def object_name(domain, name):
    if domain is None:
        return mms.VmdSpecificObjectName(name)
    if domain == '@aa':
        return mms.AaSpecificObjectName(name)
    return mms.DomainSpecificObjectName(domain, name)


def scope_of(domain):
    if domain is None:
        return mms.VmdSpecificObjectScope()
    if domain == '@aa':
        return mms.AaSpecificObjectScope()
    return mms.DomainSpecificObjectScope(domain)


def var_spec(item):
    """{domain, name[, component]} -> NameVariableSpecification or
    ComponentSpec"""
    n = object_name(item.get('domain'), item['name'])
    comp = item.get('component')
    if comp:
        return ComponentSpec(n, comp.split('.'))
    return mms.NameVariableSpecification(n)


def name_json(obj_name):
    if isinstance(obj_name, mms.VmdSpecificObjectName):
        return pc.name_obj(None, obj_name.identifier)
    if isinstance(obj_name, mms.DomainSpecificObjectName):
        return pc.name_obj(obj_name.domain_id, obj_name.item_id)
    if isinstance(obj_name, mms.AaSpecificObjectName):
        return pc.name_obj('@aa', obj_name.identifier)
    return {'other': repr(obj_name)}


def spec_json(spec):
    if isinstance(spec, mms.NameVariableSpecification):
        return name_json(spec.name)
    return {'other': repr(spec)}


def to_data(v):
    """typed JSON -> hat Data"""
    kind, x = pc.typed_kind(v)
    if kind == 'float':
        return mms.FloatingPointData(float(x))   # encoded as single (08 …)
    if kind == 'integer':
        return mms.IntegerData(int(x))
    if kind == 'unsigned':
        return mms.UnsignedData(int(x))
    if kind == 'boolean':
        return mms.BooleanData(bool(x))
    if kind == 'bit-string':
        return mms.BitStringData(pc.bits_of(x))
    if kind == 'visible-string':
        return mms.VisibleStringData(str(x))
    if kind == 'mms-string':
        return mms.MmsStringData(str(x))
    if kind == 'octet-string':
        return mms.OctetStringData(bytes.fromhex(x))
    if kind == 'structure':
        return mms.StructureData([to_data(e) for e in x])
    if kind == 'array':
        return mms.ArrayData([to_data(e) for e in x])
    raise ValueError(f'unsupported typed value kind {kind!r}')


def type_json(t):
    """hat TypeDescription -> type JSON (same form as fixture.type_json)"""
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
    simple = {mms.IntegerTypeDescription: ('integer', 'bits'),
              mms.UnsignedTypeDescription: ('unsigned', 'bits'),
              mms.BitStringTypeDescription: ('bit-string', 'bits'),
              mms.VisibleStringTypeDescription: ('visible-string', 'size'),
              mms.OctetStringTypeDescription: ('octet-string', 'size'),
              mms.MmsStringTypeDescription: ('mms-string', 'size')}
    for cls, (k, attr) in simple.items():
        if isinstance(t, cls):
            return {'type': k, attr: t.xyz}
    if isinstance(t, mms.BooleanTypeDescription):
        return {'type': 'boolean'}
    if isinstance(t, mms.UtcTimeTypeDescription):
        return {'type': 'utc-time'}
    if isinstance(t, (mms.VmdSpecificObjectName, mms.DomainSpecificObjectName,
                      mms.AaSpecificObjectName)):
        return {'type': 'named', 'name': name_json(t)}
    return {'type': repr(t)}


def err_text(res):
    """hat Error value -> normalised text (see probe_common)"""
    if isinstance(res, mms.OtherError):
        return f'other/{res.value}'
    return pc.service_error_text(type(res).__name__,
                                 getattr(res, 'name', repr(res)))


class ServiceFailed(Exception):
    pass


# --- the probe ------------------------------------------------------------------

class Probe:

    def __init__(self, args):
        self.args = args
        self.conn = None
        self.reports = pc.ReportBuffer()
        self.report_event = asyncio.Event()

    async def on_unconfirmed(self, conn, unconfirmed):
        if not isinstance(unconfirmed, mms.InformationReportUnconfirmed):
            self.reports.add({'form': 'other', 'raw': repr(unconfirmed)})
            self.report_event.set()
            return
        spec = unconfirmed.specification
        item = {}
        if isinstance(spec, (mms.VmdSpecificObjectName,
                             mms.DomainSpecificObjectName,
                             mms.AaSpecificObjectName)):
            item['form'] = 'list_name'
            item['name'] = name_json(spec)
        else:
            item['form'] = 'list_of_variable'
            item['items'] = [spec_json(s) for s in spec]
        item['values'] = [typed(d) for d in unconfirmed.data]
        self.reports.add(item)
        self.report_event.set()

    async def req(self, request, expect):
        res = await asyncio.wait_for(self.conn.send_confirmed(request),
                                     self.args.timeout)
        if not isinstance(res, expect):
            raise ServiceFailed(err_text(res))
        return res

    async def associate(self):
        a = self.args
        self.conn = await asyncio.wait_for(mms.connect(
            addr=net.TcpAddress(a.host, a.port),
            unconfirmed_cb=self.on_unconfirmed,
            local_ap_title=a.ap_title, local_ae_qualifier=a.ae_qualifier,
            remote_ap_title=a.remote_ap_title,
            remote_ae_qualifier=a.remote_ae_qualifier), a.timeout)
        self.reports.t0 = time.monotonic()

    # --- ops ---

    async def op_associate(self, step):
        if self.conn is None or not self.conn.is_open:
            raise ServiceFailed('not associated')
        return {'calling_ap_title': '.'.join(map(str, self.args.ap_title)),
                'calling_ae_qualifier': self.args.ae_qualifier}

    async def op_identify(self, step):
        r = await self.req(mms.IdentifyRequest(), mms.IdentifyResponse)
        return {'vendor': r.vendor, 'model': r.model, 'revision': r.revision}

    async def op_names(self, step):
        cls = {'domain': mms.ObjectClass.DOMAIN,
               'variable': mms.ObjectClass.NAMED_VARIABLE,
               'list': mms.ObjectClass.NAMED_VARIABLE_LIST}[step['class']]
        scope = scope_of(None if step['class'] == 'domain'
                         else step.get('domain'))
        names, after, pages = [], None, 0
        while True:
            r = await self.req(mms.GetNameListRequest(
                object_class=cls, object_scope=scope, continue_after=after),
                mms.GetNameListResponse)
            pages += 1
            names += list(r.identifiers)
            if not r.more_follows or not r.identifiers or pages > 1000:
                break
            after = names[-1]
        self.extra = {'pages': pages}
        return names

    async def op_read(self, step):
        r = await self.req(mms.ReadRequest([var_spec(step)]),
                           mms.ReadResponse)
        if len(r.results) != 1:
            raise ServiceFailed(f'{len(r.results)} results for 1 variable')
        return typed(r.results[0])

    async def op_read_many(self, step):
        specs = [var_spec(i) for i in step['items']]
        r = await self.req(mms.ReadRequest(specs), mms.ReadResponse)
        self.extra = {'note': 'one Read PDU, listOfVariable of '
                              f'{len(specs)}'}
        return [typed(d) for d in r.results]

    async def op_write(self, step):
        spec = var_spec(step)
        r = await self.req(mms.WriteRequest(specification=[spec],
                                            data=[to_data(step['value'])]),
                           mms.WriteResponse)
        results = list(r.results)
        if len(results) != 1:
            raise ServiceFailed(f'{len(results)} results for 1 variable')
        if results[0] is None:
            return 'success'
        return {'error': results[0].value}

    async def op_define(self, step):
        await self.req(mms.DefineNamedVariableListRequest(
            name=object_name(step.get('domain'), step['name']),
            specification=[var_spec(m) for m in step['members']]),
            mms.DefineNamedVariableListResponse)
        return 'success'

    async def op_delete(self, step):
        r = await self.req(mms.DeleteNamedVariableListRequest(
            [object_name(step.get('domain'), step['name'])]),
            mms.DeleteNamedVariableListResponse)
        return {'matched': r.matched, 'deleted': r.deleted}

    async def op_read_list(self, step):
        r = await self.req(mms.ReadRequest(
            object_name(step.get('domain'), step['name'])), mms.ReadResponse)
        return [typed(d) for d in r.results]

    async def op_list_attributes(self, step):
        r = await self.req(mms.GetNamedVariableListAttributesRequest(
            object_name(step.get('domain'), step['name'])),
            mms.GetNamedVariableListAttributesResponse)
        return {'deletable': r.mms_deletable,
                'members': [spec_json(s) for s in r.specification]}

    async def op_type(self, step):
        r = await self.req(mms.GetVariableAccessAttributesRequest(
            object_name(step.get('domain'), step['name'])),
            mms.GetVariableAccessAttributesResponse)
        return {'deletable': r.mms_deletable,
                'type': type_json(r.type_description)}

    async def op_wait_reports(self, step):
        seconds = float(step.get('seconds', 5))
        want = int(step.get('min', 1))
        if step.get('fresh'):
            self.reports.take()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while len(self.reports.items) < want:
            left = deadline - loop.time()
            if left <= 0:
                break
            self.report_event.clear()
            try:
                await asyncio.wait_for(self.report_event.wait(), left)
            except asyncio.TimeoutError:
                break
        got = self.reports.take()
        self.extra = {'reached_min': len(got) >= want, 'count': len(got)}
        return got

    async def op_send_report(self, step):
        """Sends an unconfirmed informationReport (listOfVariable): step["items"] names the
        variables, step["values"] their typed values (e.g. a TASE.2 Transfer_Report_ACK)."""
        specs = [var_spec(i) for i in step['items']]
        await self.conn.send_unconfirmed(mms.InformationReportUnconfirmed(
            specification=specs, data=[to_data(v) for v in step['values']]))
        await self.conn._conn.drain()
        return 'sent'

    async def op_sleep(self, step):
        await asyncio.sleep(float(step.get('seconds', 1)))
        return None

    async def op_conclude(self, step):
        conn, self.conn = self.conn, None
        await asyncio.wait_for(conn.async_close(), self.args.timeout)
        self.extra = {'note': 'hat Connection.async_close: '
                              'conclude-RequestPDU then ACSE abort'}
        return 'closed'

    async def run(self, plan):
        try:
            await self.associate()
        except Exception as e:
            pc.step_line(-1, 'associate', False,
                         error=f'{type(e).__name__}: {e}')
            return 2
        pc.step_line(-1, 'associate', True, result={
            'calling_ap_title': '.'.join(map(str, self.args.ap_title)),
            'calling_ae_qualifier': self.args.ae_qualifier})
        try:
            for i, step in enumerate(plan):
                op = step.get('op')
                self.extra = {}
                fn = getattr(self, f'op_{op}', None)
                if fn is None:
                    pc.step_line(i, op, False, error=f'unknown op {op!r}')
                    continue
                if self.conn is None and op not in ('sleep',):
                    pc.step_line(i, op, False, error='not associated '
                                 '(after conclude)')
                    continue
                try:
                    result = await fn(step)
                    pc.step_line(i, op, True, result=result, **self.extra)
                except ServiceFailed as e:
                    pc.step_line(i, op, False, error=str(e), **self.extra)
                except asyncio.TimeoutError:
                    pc.step_line(i, op, False, error='timeout')
                except Exception as e:
                    pc.step_line(i, op, False,
                                 error=f'{type(e).__name__}: {e}')
        finally:
            if self.conn is not None:
                try:
                    await asyncio.wait_for(self.conn.async_close(), 5)
                except Exception:
                    pass
        return 0


def main():
    p = pc.probe_arguments(__doc__)
    p.add_argument('--remote-ap-title', type=pc.parse_ap_title,
                   default=(1, 1, 1, 999, 1))
    p.add_argument('--remote-ae-qualifier', type=int, default=12)
    args = p.parse_args()
    try:
        plan = pc.load_plan(args.plan)
    except Exception as e:
        pc.emit({'op': 'plan', 'ok': False, 'error': str(e)})
        sys.exit(3)
    sys.exit(asyncio.run(Probe(args).run(plan)))


if __name__ == '__main__':
    main()
