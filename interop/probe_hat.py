#!/usr/bin/env python3
"""Plan-driven MMS probe on hat.drivers.mms (pure-Python asyncio MMS client).

Usage: probe_hat.py HOST PORT PLAN.json [--ap-title 1.1.1.999|none]
                    [--ae-qualifier 12|none] [--remote-ap-title 1.1.1.999.1]
                    [--remote-ae-qualifier 12] [--psel N] [--ssel N]
                    [--tsel N] [--local-detail OCTETS] [--rcvbuf OCTETS]
                    [--mss OCTETS] [--timeout 10]

PLAN.json is a JSON list of steps, run in order ("-" = stdin). stdout: one
JSON line per step (flushed),
    {"i": index, "op": ..., "ok": bool, "result": ..., "error": "...",
     "ms": elapsed, "wall": unix time at the end of the step}
preceded by {"i": -1, "op": "associate", ...} for the main association. An
explicit {"op": "associate"} step only prints the association state again.

Associations: the main one (command line) is opened first. A step
{"op": "open", "label": "B", ...} opens another one; any step with
"on": "B" then runs on it (default: the main one, label "main"). Each
association has its own report buffer. The "associate" line and "open"
results carry what the AARE and the initiate-Response said:
{calling_ap_title, calling_ae_qualifier, responding_ap_title,
 responding_ae_qualifier, negotiated_pdu_size}.

Ops and results (names: {"domain": null|"D", "name": "X"}; domain null =
vmd-specific, "@aa" = association-specific):
  identify                     {vendor, model, revision}
  names class=domain|variable|list [domain]   [names...] (all pages)
  read domain name [component] typed value, or {"error": DataAccessError}
  read_many items=[{domain,name[,component]}...]   one Read PDU -> [typed...]
  write domain name value [component]  "success" or {"error": code}
  write_many items values      one Write PDU -> ["success"|{"error"}...]
  write_burst items rounds [step]   `rounds` Write PDUs of all items; round
                               r (1..rounds) writes item k (0-based) the
                               float r*step + k (step default 1000) ->
                               {rounds, failures, last_values: [typed...]}
  define domain name members=[{domain,name}...]    "success"
  delete domain name           {matched, deleted}
  read_list domain name        [typed or {"error": code}...]
  list_attributes domain name  {deletable, members: [{domain,name}...]}
  type domain name             {deletable, type: <type JSON>}
  wait_reports seconds min [fresh] [quiet]   reports since the previous
                               wait_reports (buffered from association
                               start; "fresh": true discards them first),
                               waiting up to `seconds` until `min` are there
                               and then, with "quiet", until no report came
                               for `quiet` seconds (still within `seconds`):
                               [{form: list_name|list_of_variable,
                                 name|items, values, t, wall, size}...]
                               ("t" = seconds since association, "wall" =
                               unix time of arrival, "size" = octets of the
                               MMS PDU (hat's decoded entity re-encoded:
                               definite, minimal lengths); "reached_min"
                               tells whether min was reached)
  send_report items values     unconfirmed informationReport (listOfVariable)
  sleep seconds
  conclude                     hat Connection.async_close (conclude-Request
                               then ACSE abort; hat does not await the
                               conclude-Response)
New ops (multi-association, flow control, timing):
  open label [ap_title "1.2.3"|null] [ae_qualifier N|null]
       [remote_ap_title] [remote_ae_qualifier] [psel N] [ssel N] [tsel N]
       [local_detail OCTETS] [rcvbuf OCTETS] [mss OCTETS]
                               opens association `label` (defaults: the
                               main association's command-line values;
                               null = not sent; hat sends psel as 4 octets,
                               ssel and tsel as 2, big-endian;
                               local_detail = proposed max MMS PDU size;
                               rcvbuf/mss = SO_RCVBUF/TCP_MAXSEG set before
                               connecting, so that a paused reader backs
                               the server up quickly: on loopback Linux
                               sizes the server's send buffer from the MSS)
                               -> as the "associate" line (+ rcvbuf, mss);
                               ok false if refused
  abort [how: "acse"|"tcp"]    ends the association without Conclude:
                               "acse" = ACSE A-ABORT (ABRT APDU, then the
                               TCP connection closes), "tcp" = the TCP
                               transport aborted (no OSI goodbye at all)
  pause_reading                stops reading the socket (asyncio
                               transport.pause_reading, kept paused even
                               when hat's buffer empties): the server's
                               sends back up into TCP flow control
  resume_reading               reads again
  read_loop domain name count [gap]   `count` reads one after the other
                               (`gap` seconds between them) ->
                               {count, failures, max_ms, mean_ms, last}
  poll_read domain name seconds [gap]   reads until the result is not a
                               DataAccessError (or `seconds` pass) -> the
                               last result; "attempts" says how many
  parallel steps=[...]         runs the sub-steps concurrently (each may
                               have "on" and "delay" seconds before it
                               starts) -> [{op, ok, result, error, ms,
                               wall, ...}...] ("ms" without the delay)
"ok" is false only when the service failed (confirmed error, reject,
timeout, exception); DataAccessErrors are results.
Exit 0 when the whole plan ran, 2 when the main association failed, 3 on a
bad plan.

Hooks into hat-drivers (0.10.x internals, observation only): the AARE is
kept by wrapping acse.Connection.__init__; PDU sizes by wrapping
mms.connection._decode; pause_reading walks mms -> acse -> copp -> cosp ->
cotp -> tpkt -> net.Connection (`_conn` attributes) to the asyncio
transport.

alternateAccess: hat's encoder has no API for it. hat_client.py's encoder
wrapper (imported here) adds it to reads of ComponentSpec entries; this
script wraps it once more for writes: listOfVariable entry
{variableSpecification name, alternateAccess [unnamed selectAccess
component "<component>"]} (dotted "A.B" selects nested components).
"""

import asyncio
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import probe_common as pc  # noqa: E402
from hat_client import ComponentSpec, _alternate_access, typed  # noqa: E402
# (importing hat_client installs its read alternateAccess encoder wrapper)

from hat.drivers import acse  # noqa: E402
from hat.drivers import mms  # noqa: E402
from hat.drivers import net  # noqa: E402
from hat.drivers.mms import connection as mms_connection  # noqa: E402
from hat.drivers.mms import encoder as mms_encoder  # noqa: E402
from hat.drivers.net import stream as net_stream  # noqa: E402

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


# --- hooks into hat (observation only) ------------------------------------------

# The AARE of every association hat opens (hat keeps only its user data).
_prev_acse_init = acse.Connection.__init__


def _acse_init(self, conn, aarq_apdu, aare_apdu, *args, **kwargs):
    self.probe_aare = aare_apdu
    _prev_acse_init(self, conn, aarq_apdu, aare_apdu, *args, **kwargs)


acse.Connection.__init__ = _acse_init

# The size of the MMS PDU being decoded: hat's receive loop decodes a PDU and
# hands it to the unconfirmed callback without suspending in between, so
# on_unconfirmed reads the size of its own PDU here.
_prev_decode = mms_connection._decode
_last_pdu_size = [None]


def _decode(entity):
    try:
        _last_pdu_size[0] = len(mms_connection._encoder.encode_entity(entity))
    except Exception:
        _last_pdu_size[0] = None
    return _prev_decode(entity)


mms_connection._decode = _decode

# pause_reading: hat resumes the transport whenever its input buffer is
# consumed; a paused protocol pauses it again at once.
_prev_process_input = net_stream._Protocol._process_input_buffer


def _process_input_buffer(self):
    _prev_process_input(self)
    if getattr(self, 'probe_paused', False) and self._transport is not None:
        self._transport.pause_reading()


net_stream._Protocol._process_input_buffer = _process_input_buffer


def stream_protocol(conn):
    """mms.Connection -> the hat.drivers.net stream protocol under it
    (mms -> acse -> copp -> cosp -> cotp -> tpkt -> net.Connection)"""
    obj = conn
    for _ in range(10):
        if hasattr(obj, '_protocol'):
            return obj._protocol
        obj = obj._conn
    raise RuntimeError('no stream protocol below the MMS connection')


def ap_title_text(t):
    return None if t is None else '.'.join(map(str, t))


def parse_title_arg(text):
    if text is None or str(text).lower() == 'none':
        return None
    if isinstance(text, (list, tuple)):
        return tuple(int(x) for x in text)
    return pc.parse_ap_title(str(text))


def parse_int_arg(text):
    if text is None or str(text).lower() == 'none':
        return None
    return int(text)


class ServiceFailed(Exception):
    pass


# --- the probe ------------------------------------------------------------------

class Assoc:
    """One association: its hat connection, its reports, how it was opened"""

    def __init__(self, label, params):
        self.label = label
        self.params = params
        self.conn = None
        self.reports = pc.ReportBuffer()
        self.report_event = asyncio.Event()

    async def on_unconfirmed(self, conn, unconfirmed):
        size = _last_pdu_size[0]
        if not isinstance(unconfirmed, mms.InformationReportUnconfirmed):
            self.reports.add({'form': 'other', 'raw': repr(unconfirmed),
                              'wall': time.time(), 'size': size})
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
        item['wall'] = round(time.time(), 3)
        item['size'] = size
        self.reports.add(item)
        self.report_event.set()

    async def open(self, host, port, timeout):
        p = self.params
        kwargs = {}
        for k in ('psel', 'ssel', 'tsel'):
            if p.get(k) is not None:
                kwargs[{'psel': 'local_psel', 'ssel': 'local_ssel',
                        'tsel': 'local_tsel'}[k]] = p[k]
        if p.get('local_detail') is not None:
            kwargs['local_detail_calling'] = p['local_detail']
        loop = asyncio.get_running_loop()
        sock = None
        if p.get('rcvbuf') or p.get('mss'):
            # Set before connecting: a small receive buffer keeps the TCP
            # window small from the start; a small MSS in our SYN keeps the
            # server's send buffer small (Linux sizes it from the MSS: on
            # loopback's 64 KiB MSS it starts at megabytes).
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if p.get('rcvbuf'):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                int(p['rcvbuf']))
            if p.get('mss'):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG,
                                int(p['mss']))
            sock.setblocking(False)
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)),
                                   timeout)
            prev = loop.create_connection

            async def create_connection(factory, host=None, port=None, **kw):
                return await prev(factory, sock=sock, **kw)
            loop.create_connection = create_connection
        try:
            self.conn = await asyncio.wait_for(mms.connect(
                addr=net.TcpAddress(host, port),
                unconfirmed_cb=self.on_unconfirmed,
                local_ap_title=p.get('ap_title'),
                local_ae_qualifier=p.get('ae_qualifier'),
                remote_ap_title=p.get('remote_ap_title'),
                remote_ae_qualifier=p.get('remote_ae_qualifier'),
                **kwargs), timeout)
        finally:
            if sock is not None:
                del loop.create_connection
        self.reports.t0 = time.monotonic()

    def description(self):
        p = self.params
        out = {'label': self.label,
               'calling_ap_title': ap_title_text(p.get('ap_title')),
               'calling_ae_qualifier': p.get('ae_qualifier')}
        acse_conn = self.conn._conn if self.conn is not None else None
        aare = getattr(acse_conn, 'probe_aare', None)
        if aare is not None:
            a = aare[1]
            t = a.get('responding-AP-title')
            q = a.get('responding-AE-qualifier')
            out['responding_ap_title'] = (ap_title_text(t[1]) if t and
                                          t[0] == 'ap-title-form2' else None)
            out['responding_ae_qualifier'] = (q[1] if q and
                                              q[0] == 'ae-qualifier-form2'
                                              else None)
        try:
            name, init = mms_connection._decode(acse_conn.conn_res_user_data[1])
            out['negotiated_pdu_size'] = init.get('localDetailCalled')
        except Exception:
            out['negotiated_pdu_size'] = None
        if self.params.get('rcvbuf') or self.params.get('mss'):
            try:
                s = stream_protocol(self.conn)._transport.get_extra_info(
                    'socket')
                out['rcvbuf'] = s.getsockopt(socket.SOL_SOCKET,
                                             socket.SO_RCVBUF)
                out['mss'] = s.getsockopt(socket.IPPROTO_TCP,
                                          socket.TCP_MAXSEG)
            except Exception:
                pass
        return out


class Probe:

    def __init__(self, args):
        self.args = args
        self.assocs = {}

    def main_params(self):
        a = self.args
        return {'ap_title': a.ap_title, 'ae_qualifier': a.ae_qualifier,
                'remote_ap_title': a.remote_ap_title,
                'remote_ae_qualifier': a.remote_ae_qualifier,
                'psel': a.psel, 'ssel': a.ssel, 'tsel': a.tsel,
                'local_detail': a.local_detail, 'rcvbuf': a.rcvbuf,
                'mss': a.mss}

    def assoc(self, step):
        label = step.get('on') or 'main'
        a = self.assocs.get(label)
        if a is None:
            raise ServiceFailed(f'no association {label!r}')
        if a.conn is None:
            raise ServiceFailed('not associated (after conclude)'
                                if label == 'main' else
                                f'association {label!r} not open '
                                '(after conclude/abort)')
        return a

    async def req(self, a, request, expect):
        res = await asyncio.wait_for(a.conn.send_confirmed(request),
                                     self.args.timeout)
        if not isinstance(res, expect):
            raise ServiceFailed(err_text(res))
        return res

    # --- ops (each: (association, step, extra dict) -> result) ---

    async def op_associate(self, a, step, extra):
        if a.conn is None or not a.conn.is_open:
            raise ServiceFailed('not associated')
        return a.description()

    async def op_open(self, a, step, extra):
        label = step['label']
        if label in self.assocs and self.assocs[label].conn is not None:
            raise ServiceFailed(f'association {label!r} already open')
        p = self.main_params()
        for k in ('ap_title', 'remote_ap_title'):
            if k in step:
                p[k] = parse_title_arg(step[k])
        for k in ('ae_qualifier', 'remote_ae_qualifier', 'psel', 'ssel',
                  'tsel', 'local_detail', 'rcvbuf', 'mss'):
            if k in step:
                p[k] = parse_int_arg(step[k])
        b = Assoc(label, p)
        await b.open(self.args.host, self.args.port, self.args.timeout)
        self.assocs[label] = b
        return b.description()

    async def op_identify(self, a, step, extra):
        r = await self.req(a, mms.IdentifyRequest(), mms.IdentifyResponse)
        return {'vendor': r.vendor, 'model': r.model, 'revision': r.revision}

    async def op_names(self, a, step, extra):
        cls = {'domain': mms.ObjectClass.DOMAIN,
               'variable': mms.ObjectClass.NAMED_VARIABLE,
               'list': mms.ObjectClass.NAMED_VARIABLE_LIST}[step['class']]
        scope = scope_of(None if step['class'] == 'domain'
                         else step.get('domain'))
        names, after, pages = [], None, 0
        while True:
            r = await self.req(a, mms.GetNameListRequest(
                object_class=cls, object_scope=scope, continue_after=after),
                mms.GetNameListResponse)
            pages += 1
            names += list(r.identifiers)
            if not r.more_follows or not r.identifiers or pages > 1000:
                break
            after = names[-1]
        extra['pages'] = pages
        return names

    async def read_one(self, a, step):
        r = await self.req(a, mms.ReadRequest([var_spec(step)]),
                           mms.ReadResponse)
        if len(r.results) != 1:
            raise ServiceFailed(f'{len(r.results)} results for 1 variable')
        return typed(r.results[0])

    async def op_read(self, a, step, extra):
        return await self.read_one(a, step)

    async def op_read_many(self, a, step, extra):
        specs = [var_spec(i) for i in step['items']]
        r = await self.req(a, mms.ReadRequest(specs), mms.ReadResponse)
        extra['note'] = f'one Read PDU, listOfVariable of {len(specs)}'
        return [typed(d) for d in r.results]

    async def write_items(self, a, specs, values):
        r = await self.req(a, mms.WriteRequest(specification=specs,
                                               data=values),
                           mms.WriteResponse)
        results = list(r.results)
        if len(results) != len(specs):
            raise ServiceFailed(f'{len(results)} results for {len(specs)} '
                                'variables')
        return ['success' if x is None else {'error': x.value}
                for x in results]

    async def op_write(self, a, step, extra):
        return (await self.write_items(a, [var_spec(step)],
                                       [to_data(step['value'])]))[0]

    async def op_write_many(self, a, step, extra):
        return await self.write_items(
            a, [var_spec(i) for i in step['items']],
            [to_data(v) for v in step['values']])

    async def op_write_burst(self, a, step, extra):
        specs = [var_spec(i) for i in step['items']]
        rounds = int(step['rounds'])
        k_step = float(step.get('step', 1000))
        failures = 0
        values = []
        for r in range(1, rounds + 1):
            values = [float(r * k_step + k) for k in range(len(specs))]
            res = await self.write_items(
                a, specs, [mms.FloatingPointData(v) for v in values])
            failures += sum(1 for x in res if x != 'success')
        return {'rounds': rounds, 'failures': failures,
                'last_values': [{'float': v} for v in values]}

    async def op_define(self, a, step, extra):
        await self.req(a, mms.DefineNamedVariableListRequest(
            name=object_name(step.get('domain'), step['name']),
            specification=[var_spec(m) for m in step['members']]),
            mms.DefineNamedVariableListResponse)
        return 'success'

    async def op_delete(self, a, step, extra):
        r = await self.req(a, mms.DeleteNamedVariableListRequest(
            [object_name(step.get('domain'), step['name'])]),
            mms.DeleteNamedVariableListResponse)
        return {'matched': r.matched, 'deleted': r.deleted}

    async def op_read_list(self, a, step, extra):
        r = await self.req(a, mms.ReadRequest(
            object_name(step.get('domain'), step['name'])), mms.ReadResponse)
        return [typed(d) for d in r.results]

    async def op_list_attributes(self, a, step, extra):
        r = await self.req(a, mms.GetNamedVariableListAttributesRequest(
            object_name(step.get('domain'), step['name'])),
            mms.GetNamedVariableListAttributesResponse)
        return {'deletable': r.mms_deletable,
                'members': [spec_json(s) for s in r.specification]}

    async def op_type(self, a, step, extra):
        r = await self.req(a, mms.GetVariableAccessAttributesRequest(
            object_name(step.get('domain'), step['name'])),
            mms.GetVariableAccessAttributesResponse)
        return {'deletable': r.mms_deletable,
                'type': type_json(r.type_description)}

    async def op_wait_reports(self, a, step, extra):
        seconds = float(step.get('seconds', 5))
        want = int(step.get('min', 1))
        quiet = step.get('quiet')
        if step.get('fresh'):
            a.reports.take()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds

        async def wait_one(limit):
            a.report_event.clear()
            try:
                await asyncio.wait_for(a.report_event.wait(), limit)
                return True
            except asyncio.TimeoutError:
                return False

        while len(a.reports.items) < want:
            left = deadline - loop.time()
            if left <= 0 or not await wait_one(left):
                break
        if quiet is not None and len(a.reports.items) >= want:
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    break
                n = len(a.reports.items)
                if not await wait_one(min(float(quiet), left)) and \
                        len(a.reports.items) == n:
                    break
        got = a.reports.take()
        extra['reached_min'] = len(got) >= want
        extra['count'] = len(got)
        return got

    async def op_send_report(self, a, step, extra):
        """Sends an unconfirmed informationReport (listOfVariable): step["items"] names the
        variables, step["values"] their typed values (e.g. a TASE.2 Transfer_Report_ACK)."""
        specs = [var_spec(i) for i in step['items']]
        await a.conn.send_unconfirmed(mms.InformationReportUnconfirmed(
            specification=specs, data=[to_data(v) for v in step['values']]))
        await a.conn._conn.drain()
        return 'sent'

    async def op_sleep(self, a, step, extra):
        await asyncio.sleep(float(step.get('seconds', 1)))
        return None

    async def op_conclude(self, a, step, extra):
        conn, a.conn = a.conn, None
        await asyncio.wait_for(conn.async_close(), self.args.timeout)
        extra['note'] = ('hat Connection.async_close: '
                         'conclude-RequestPDU then ACSE abort')
        return 'closed'

    async def op_abort(self, a, step, extra):
        how = step.get('how', 'acse')
        conn, a.conn = a.conn, None
        if how == 'tcp':
            stream_protocol(conn)._transport.abort()
            extra['note'] = 'TCP transport aborted'
        elif how == 'acse':
            # The ACSE connection's close sends an ABRT APDU (A-ABORT); the
            # MMS layer above sends nothing once ACSE is closing.
            await asyncio.wait_for(conn._conn.async_close(),
                                   self.args.timeout)
            extra['note'] = 'ACSE A-ABORT (ABRT APDU), no Conclude'
        else:
            raise ServiceFailed(f'unknown abort {how!r}')
        try:
            await asyncio.wait_for(conn.async_close(), self.args.timeout)
        except Exception:
            pass
        return 'aborted'

    async def op_pause_reading(self, a, step, extra):
        p = stream_protocol(a.conn)
        p.probe_paused = True
        p._transport.pause_reading()
        return 'paused'

    async def op_resume_reading(self, a, step, extra):
        p = stream_protocol(a.conn)
        p.probe_paused = False
        p._transport.resume_reading()
        return 'reading'

    async def op_read_loop(self, a, step, extra):
        count = int(step.get('count', 10))
        gap = float(step.get('gap', 0))
        times, failures, last = [], 0, None
        for k in range(count):
            t = time.monotonic()
            try:
                last = await self.read_one(a, step)
                if isinstance(last, dict) and 'error' in last:
                    failures += 1
            except ServiceFailed:
                failures += 1
            times.append((time.monotonic() - t) * 1000)
            if gap and k < count - 1:
                await asyncio.sleep(gap)
        return {'count': count, 'failures': failures,
                'max_ms': round(max(times), 2) if times else None,
                'mean_ms': round(sum(times) / len(times), 2) if times
                else None, 'last': last}

    async def op_poll_read(self, a, step, extra):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(step.get('seconds', 5))
        gap = float(step.get('gap', 0.02))
        attempts = 0
        while True:
            attempts += 1
            r = await self.read_one(a, step)
            if not (isinstance(r, dict) and 'error' in r) or \
                    loop.time() + gap > deadline:
                extra['attempts'] = attempts
                return r
            await asyncio.sleep(gap)

    async def op_parallel(self, a, step, extra):
        async def sub(s):
            if s.get('delay'):
                await asyncio.sleep(float(s['delay']))
            line = await self.run_step(s)
            line.pop('i', None)
            return line
        return list(await asyncio.gather(*[sub(s) for s in step['steps']]))

    # --- running ---

    async def run_step(self, step):
        """Runs one step -> its line (without "i")"""
        op = step.get('op')
        extra = {}
        t = time.monotonic()
        fn = getattr(self, f'op_{op}', None)
        line = {'op': op}
        try:
            if fn is None:
                raise ServiceFailed(f'unknown op {op!r}')
            if op in ('sleep', 'open', 'parallel'):
                a = self.assocs.get(step.get('on') or 'main')
            else:
                a = self.assoc(step)
            result = await fn(a, step, extra)
            line.update(ok=True, result=result, error=None)
        except ServiceFailed as e:
            line.update(ok=False, result=None, error=str(e))
        except asyncio.TimeoutError:
            line.update(ok=False, result=None, error='timeout')
        except Exception as e:
            line.update(ok=False, result=None,
                        error=f'{type(e).__name__}: {e}')
        line.update(extra)
        line['ms'] = round((time.monotonic() - t) * 1000, 2)
        line['wall'] = round(time.time(), 3)
        return line

    async def run(self, plan):
        main = Assoc('main', self.main_params())
        try:
            await main.open(self.args.host, self.args.port, self.args.timeout)
        except Exception as e:
            pc.step_line(-1, 'associate', False,
                         error=f'{type(e).__name__}: {e}')
            return 2
        self.assocs['main'] = main
        pc.step_line(-1, 'associate', True, result=main.description())
        try:
            for i, step in enumerate(plan):
                line = await self.run_step(step)
                op = line.pop('op')
                ok = line.pop('ok')
                result = line.pop('result')
                error = line.pop('error')
                pc.step_line(i, op, ok, result=result, error=error, **line)
        finally:
            for a in self.assocs.values():
                if a.conn is not None:
                    try:
                        await asyncio.wait_for(a.conn.async_close(), 5)
                    except Exception:
                        pass
        return 0


def main():
    p = pc.probe_arguments(__doc__)
    # "none" = no calling AP-title / AE-qualifier in the AARQ.
    for action in p._actions:
        if action.dest == 'ap_title':
            action.type = parse_title_arg
        if action.dest == 'ae_qualifier':
            action.type = parse_int_arg
    p.add_argument('--remote-ap-title', type=parse_title_arg,
                   default=(1, 1, 1, 999, 1))
    p.add_argument('--remote-ae-qualifier', type=parse_int_arg, default=12)
    p.add_argument('--psel', type=int, default=None,
                   help='calling presentation selector (hat: 4 octets)')
    p.add_argument('--ssel', type=int, default=None,
                   help='calling session selector (hat: 2 octets)')
    p.add_argument('--tsel', type=int, default=None,
                   help='calling transport selector (hat: 2 octets)')
    p.add_argument('--local-detail', type=int, default=None,
                   help='proposed max MMS PDU size (localDetailCalling)')
    p.add_argument('--rcvbuf', type=int, default=None,
                   help='SO_RCVBUF of the socket, set before connecting')
    p.add_argument('--mss', type=int, default=None,
                   help='TCP_MAXSEG of the socket, set before connecting')
    args = p.parse_args()
    try:
        plan = pc.load_plan(args.plan)
    except Exception as e:
        pc.emit({'op': 'plan', 'ok': False, 'error': str(e)})
        sys.exit(3)
    sys.exit(asyncio.run(Probe(args).run(plan)))


if __name__ == '__main__':
    main()
