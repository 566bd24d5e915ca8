#!/usr/bin/env python3
"""hat.drivers.mms server hosting the interop fixture.

Usage: hat_server.py PORT [--host 127.0.0.1] [--page-size N]
                          [--report-interval SECONDS]
                          [--tls-cert C.pem --tls-key K.pem [--tls-ca CA.pem]]

With --tls-cert it serves over TLS (Python's ssl, TLS 1.2 or later); with
--tls-ca it also requires a client certificate from those roots.

PORT 0 picks a free port. stdout is JSON lines:
    {"event": "listening", "port": N, ...}          once, when listening
    {"event": "connected", "peer": "..."}          per association
    {"event": "closed", "peer": "..."}             per association end
    {"event": "alternate-access", ...}              a read/write carried
                                                   alternateAccess on the wire
    {"event": "report-received", ...}               unconfirmed
                                                   informationReport received
    {"event": "stopped"}                            on SIGTERM/SIGINT
After each new association the server sends, every --report-interval seconds
(default 1), two informationReports to it until it closes: listOfVariable
[ICC1/Voltage_1, VMD_Real] and variableListName VMD_DS (vmd-specific) with
its members' current values.

GetNameList answers are paged (--page-size, default 3) so clients must follow
moreFollows/continueAfter.
"""

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import signal
import ssl
import sys
import typing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixture  # noqa: E402

from hat.drivers import mms  # noqa: E402
from hat.drivers import net  # noqa: E402
from hat.drivers.mms import encoder as mms_encoder  # noqa: E402


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


# --- alternateAccess support ------------------------------------------------
# hat's encoder silently drops 'alternateAccess' of listOfVariable entries.
# Wrap decode_request so reads/writes/defines carrying it become AltSpec
# entries (the server answers them with the selected component).

class AltSpec(typing.NamedTuple):
    specification: mms.VariableSpecification
    path: list | None        # [component name | array index], None: unsupported
    raw: typing.Any


def _decode_alternate_access(aa):
    """AlternateAccess (hat asn1 value) -> path list, or None if unsupported"""
    if not isinstance(aa, list) or len(aa) != 1:
        return None
    kind, sel = aa[0]
    if kind != 'unnamed':
        return None
    sel_kind, sel_value = sel
    if sel_kind == 'selectAccess':
        what, v = sel_value
        if what in ('component', 'index'):
            return [v]
        return None
    if sel_kind == 'selectAlternateAccess':
        what, v = sel_value['accessSelection']
        if what not in ('component', 'index'):
            return None
        rest = _decode_alternate_access(sel_value['alternateAccess'])
        return None if rest is None else [v, *rest]
    return None


def _decode_list_of_variable(items):
    out = []
    for i in items:
        spec = mms_encoder._decode_variable_specification(
            i['variableSpecification'])
        if 'alternateAccess' in i:
            out.append(AltSpec(spec,
                               _decode_alternate_access(i['alternateAccess']),
                               i['alternateAccess']))
        else:
            out.append(spec)
    return out


_orig_decode_request = mms_encoder.decode_request


def _decode_request(req):
    name, data = req
    if name in ('read', 'write'):
        kind, items = data['variableAccessSpecification']
        if kind == 'listOfVariable' and any('alternateAccess' in i
                                            for i in items):
            specs = _decode_list_of_variable(items)
            if name == 'read':
                return mms.ReadRequest(specs)
            return mms.WriteRequest(
                specification=specs,
                data=[mms_encoder._decode_data(i) for i in data['listOfData']])
    if name == 'defineNamedVariableList':
        items = data['listOfVariable']
        if any('alternateAccess' in i for i in items):
            return mms.DefineNamedVariableListRequest(
                name=mms_encoder._decode_object_name(data['variableListName']),
                specification=_decode_list_of_variable(items))
    return _orig_decode_request(req)


mms_encoder.decode_request = _decode_request


# --- fixture <-> hat conversion --------------------------------------------

class TypeMismatch(Exception):
    pass


def to_hat_data(t, v):
    k = t['type']
    if k == 'integer':
        return mms.IntegerData(v)
    if k == 'float':
        return mms.FloatingPointData(v)
    if k == 'bit-string':
        return mms.BitStringData(list(v))
    if k == 'visible-string':
        return mms.VisibleStringData(v)
    if k == 'structure':
        return mms.StructureData([to_hat_data(ct, cv) for (_, ct), cv
                                  in zip(t['components'], v)])
    if k == 'array':
        return mms.ArrayData([to_hat_data(t['element'], e) for e in v])
    raise ValueError(k)


def from_hat_data(t, d):
    """hat Data -> fixture value, raising TypeMismatch"""
    k = t['type']
    if k == 'integer' and isinstance(d, mms.IntegerData):
        lim = 1 << (t['bits'] - 1)
        if not -lim <= d.value < lim:
            raise TypeMismatch()
        return d.value
    if k == 'float' and isinstance(d, mms.FloatingPointData):
        return float(d.value)
    if k == 'bit-string' and isinstance(d, mms.BitStringData):
        bits = [bool(b) for b in d.value]
        if len(bits) != t['bits']:
            raise TypeMismatch()
        return bits
    if k == 'visible-string' and isinstance(d, mms.VisibleStringData):
        if len(d.value) > abs(t['size']):
            raise TypeMismatch()
        return d.value
    if k == 'structure' and isinstance(d, mms.StructureData):
        els = list(d.elements)
        if len(els) != len(t['components']):
            raise TypeMismatch()
        return [from_hat_data(ct, e) for (_, ct), e
                in zip(t['components'], els)]
    if k == 'array' and isinstance(d, mms.ArrayData):
        els = list(d.elements)
        if len(els) != t['count']:
            raise TypeMismatch()
        return [from_hat_data(t['element'], e) for e in els]
    raise TypeMismatch()


def to_hat_type(t):
    k = t['type']
    if k == 'integer':
        return mms.IntegerTypeDescription(t['bits'])
    if k == 'float':
        return mms.FloatingPointTypeDescription(format_width=32,
                                                exponent_width=8)
    if k == 'bit-string':
        return mms.BitStringTypeDescription(t['bits'])
    if k == 'visible-string':
        return mms.VisibleStringTypeDescription(t['size'])
    if k == 'structure':
        return mms.StructureTypeDescription(
            [(n, to_hat_type(ct)) for n, ct in t['components']])
    if k == 'array':
        return mms.ArrayTypeDescription(number_of_elements=t['count'],
                                        element_type=to_hat_type(t['element']))
    raise ValueError(k)


def data_to_json(d):
    """hat Data / DataAccessError -> typed JSON form (see fixture.typed)"""
    if isinstance(d, mms.DataAccessError):
        return {'error': d.value}
    if isinstance(d, mms.StructureData):
        return {'structure': [data_to_json(e) for e in d.elements]}
    if isinstance(d, mms.ArrayData):
        return {'array': [data_to_json(e) for e in d.elements]}
    if isinstance(d, mms.BitStringData):
        return {'bit-string': ''.join('1' if b else '0' for b in d.value)}
    if isinstance(d, mms.OctetStringData):
        return {'octet-string': bytes(d.value).hex()}
    kinds = {mms.FloatingPointData: 'float', mms.IntegerData: 'integer',
             mms.UnsignedData: 'unsigned', mms.BooleanData: 'boolean',
             mms.VisibleStringData: 'visible-string',
             mms.MmsStringData: 'mms-string'}
    for cls, kind in kinds.items():
        if isinstance(d, cls):
            return {kind: d.value}
    return {'other': repr(d)}


def name_of(obj_name):
    """hat ObjectName -> fixture (domain, item) or ('@aa', item)"""
    if isinstance(obj_name, mms.VmdSpecificObjectName):
        return (None, obj_name.identifier)
    if isinstance(obj_name, mms.DomainSpecificObjectName):
        return (obj_name.domain_id, obj_name.item_id)
    if isinstance(obj_name, mms.AaSpecificObjectName):
        return ('@aa', obj_name.identifier)
    raise TypeError(obj_name)


def hat_name(name):
    dom, item = name
    if dom is None:
        return mms.VmdSpecificObjectName(item)
    if dom == '@aa':
        return mms.AaSpecificObjectName(item)
    return mms.DomainSpecificObjectName(dom, item)


def spec_to_json(spec):
    if isinstance(spec, AltSpec):
        return {'spec': spec_to_json(spec.specification),
                'alternateAccess': spec.path}
    if isinstance(spec, mms.NameVariableSpecification):
        dom, item = name_of(spec.name)
        return {'domain': dom, 'item': item}
    return str(spec)


# --- the server -------------------------------------------------------------

class Server:

    def __init__(self, page_size, report_interval):
        self.page_size = page_size
        self.report_interval = report_interval
        self.vars = fixture.fresh_state()
        # (domain, name) -> {'members': [(name, path)], 'deletable': bool}
        self.lists = {n: {'members': [(m, []) for m in ms], 'deletable': False}
                      for n, ms in fixture.NAMED_VARIABLE_LISTS.items()}
        self.aa_lists = {}   # conn -> {name: list}
        try:
            self.version = importlib.metadata.version('hat-drivers')
        except Exception:
            self.version = 'unknown'

    # --- connection handling ---

    async def on_connection(self, conn):
        peer = f'{conn.info.remote_addr.host}:{conn.info.remote_addr.port}'
        info = conn.info
        emit({'event': 'connected', 'peer': peer,
              'calling_ap_title': (list(info.remote_ap_title)
                                   if info.remote_ap_title else None),
              'calling_ae_qualifier': info.remote_ae_qualifier})
        self.aa_lists[conn] = {}
        conn.async_group.spawn(self._report_loop, conn)
        conn.async_group.spawn(self._on_close, conn, peer)

    async def _on_close(self, conn, peer):
        try:
            await conn.wait_closing()
        finally:
            self.aa_lists.pop(conn, None)
            emit({'event': 'closed', 'peer': peer})

    async def _report_loop(self, conn):
        try:
            while conn.is_open:
                await asyncio.sleep(self.report_interval)
                if not conn.is_open:
                    break
                for r in self.reports():
                    await conn.send_unconfirmed(r)
        except (ConnectionError, asyncio.CancelledError):
            pass

    def reports(self):
        specs = [mms.NameVariableSpecification(hat_name(n))
                 for n in fixture.REPORT_VARIABLES]
        data = [self._data(n) for n in fixture.REPORT_VARIABLES]
        lst_name = fixture.REPORT_LIST
        lst_data = [self._data(m) for m, _ in self.lists[lst_name]['members']]
        return [mms.InformationReportUnconfirmed(specs, data),
                mms.InformationReportUnconfirmed(hat_name(lst_name),
                                                 lst_data)]

    def _data(self, name):
        v = self.vars[name]
        return to_hat_data(v['type'], v['value'])

    async def on_unconfirmed(self, conn, unconfirmed):
        ev = {'event': 'report-received',
              'type': type(unconfirmed).__name__}
        if isinstance(unconfirmed, mms.InformationReportUnconfirmed):
            spec = unconfirmed.specification
            if isinstance(spec, (mms.VmdSpecificObjectName,
                                 mms.DomainSpecificObjectName,
                                 mms.AaSpecificObjectName)):
                dom, item = name_of(spec)
                ev['variableListName'] = {'domain': dom, 'item': item}
            else:
                ev['listOfVariable'] = [spec_to_json(s) for s in spec]
            ev['data'] = [data_to_json(d) for d in unconfirmed.data]
        else:
            ev['raw'] = str(unconfirmed)
        emit(ev)

    # --- requests ---

    async def on_request(self, conn, req):
        try:
            return self._handle(conn, req)
        except Exception as e:  # never kill the association on our bugs
            emit({'event': 'server-error', 'request': type(req).__name__,
                  'error': repr(e)})
            return mms.ServiceError.OTHER

    def _handle(self, conn, req):
        if isinstance(req, mms.StatusRequest):
            return mms.StatusResponse(logical=0, physical=0)
        if isinstance(req, mms.IdentifyRequest):
            return mms.IdentifyResponse(vendor='hat-drivers',
                                        model='FreeTase2 interop hat_server',
                                        revision=self.version, syntaxes=None)
        if isinstance(req, mms.GetNameListRequest):
            return self._get_name_list(conn, req)
        if isinstance(req, mms.GetVariableAccessAttributesRequest):
            if not isinstance(req.value, (mms.VmdSpecificObjectName,
                                          mms.DomainSpecificObjectName,
                                          mms.AaSpecificObjectName)):
                return mms.AccessError.OBJECT_ACCESS_UNSUPPORTED
            v = self.vars.get(name_of(req.value))
            if v is None:
                return mms.AccessError.OBJECT_NON_EXISTENT
            return mms.GetVariableAccessAttributesResponse(
                mms_deletable=False, type_description=to_hat_type(v['type']))
        if isinstance(req, mms.ReadRequest):
            return self._read(conn, req)
        if isinstance(req, mms.WriteRequest):
            return self._write(conn, req)
        if isinstance(req, mms.DefineNamedVariableListRequest):
            return self._define(conn, req)
        if isinstance(req, mms.GetNamedVariableListAttributesRequest):
            lst = self._find_list(conn, req.value)
            if lst is None:
                return mms.AccessError.OBJECT_NON_EXISTENT
            return mms.GetNamedVariableListAttributesResponse(
                mms_deletable=lst['deletable'],
                specification=[mms.NameVariableSpecification(hat_name(m))
                               for m, _ in lst['members']])
        if isinstance(req, mms.DeleteNamedVariableListRequest):
            matched = deleted = 0
            for n in req.names:
                lst = self._find_list(conn, n)
                if lst is None:
                    continue
                matched += 1
                if lst['deletable']:
                    key = name_of(n)
                    if key[0] == '@aa':
                        del self.aa_lists[conn][key[1]]
                    else:
                        del self.lists[key]
                    deleted += 1
            return mms.DeleteNamedVariableListResponse(matched=matched,
                                                       deleted=deleted)
        return mms.ServiceError.OTHER

    def _get_name_list(self, conn, req):
        scope = req.object_scope
        cls = req.object_class
        if cls == mms.ObjectClass.DOMAIN:
            if not isinstance(scope, mms.VmdSpecificObjectScope):
                return mms.AccessError.OBJECT_ACCESS_UNSUPPORTED
            names = list(fixture.DOMAINS)
        elif cls in (mms.ObjectClass.NAMED_VARIABLE,
                     mms.ObjectClass.NAMED_VARIABLE_LIST):
            if isinstance(scope, mms.VmdSpecificObjectScope):
                dom = None
            elif isinstance(scope, mms.DomainSpecificObjectScope):
                dom = scope.identifier
                if dom not in fixture.DOMAINS:
                    return mms.AccessError.OBJECT_NON_EXISTENT
            else:
                dom = '@aa'
            if cls == mms.ObjectClass.NAMED_VARIABLE:
                names = [i for d, i in self.vars if d == dom]
            elif dom == '@aa':
                names = list(self.aa_lists.get(conn, {}))
            else:
                names = [i for d, i in self.lists if d == dom]
        else:
            names = []
        names = fixture.sorted_names(names)
        if req.continue_after is not None:
            after = req.continue_after.encode()
            names = [n for n in names if n.encode() > after]
        page = names[:self.page_size]
        return mms.GetNameListResponse(identifiers=page,
                                       more_follows=len(names) > len(page))

    def _find_list(self, conn, obj_name):
        key = name_of(obj_name)
        if key[0] == '@aa':
            return self.aa_lists.get(conn, {}).get(key[1])
        return self.lists.get(key)

    def _resolve(self, spec):
        """VariableSpecification|AltSpec -> (name, path) or DataAccessError"""
        path = []
        if isinstance(spec, AltSpec):
            if spec.path is None:
                return mms.DataAccessError.OBJECT_ACCESS_UNSUPPORTED
            path = spec.path
            spec = spec.specification
        if not isinstance(spec, mms.NameVariableSpecification):
            return mms.DataAccessError.OBJECT_ACCESS_UNSUPPORTED
        name = name_of(spec.name)
        if name not in self.vars:
            return mms.DataAccessError.OBJECT_NON_EXISTENT
        return name, path

    def _select(self, name, path):
        """-> (type, value) of the selected part, or DataAccessError"""
        v = self.vars[name]
        t, val = v['type'], v['value']
        for p in path:
            if t['type'] == 'structure' and isinstance(p, str):
                idx = [n for n, _ in t['components']]
                if p not in idx:
                    return mms.DataAccessError.OBJECT_NON_EXISTENT
                i = idx.index(p)
                t, val = t['components'][i][1], val[i]
            elif t['type'] == 'array' and isinstance(p, int):
                if p >= t['count']:
                    return mms.DataAccessError.OBJECT_NON_EXISTENT
                t, val = t['element'], val[p]
            else:
                return mms.DataAccessError.OBJECT_ATTRIBUTE_INCONSISTENT
        return t, val

    def _read_one(self, spec):
        r = self._resolve(spec)
        if isinstance(r, mms.DataAccessError):
            return r
        name, path = r
        sel = self._select(name, path)
        if isinstance(sel, mms.DataAccessError):
            return sel
        return to_hat_data(*sel)

    def _note_alt(self, kind, specs):
        for s in specs:
            if isinstance(s, AltSpec):
                emit({'event': 'alternate-access', 'service': kind,
                      'variable': spec_to_json(s.specification),
                      'path': s.path, 'raw': repr(s.raw)})

    def _read(self, conn, req):
        if isinstance(req.value, (mms.VmdSpecificObjectName,
                                  mms.DomainSpecificObjectName,
                                  mms.AaSpecificObjectName)):
            lst = self._find_list(conn, req.value)
            if lst is None:
                return mms.AccessError.OBJECT_NON_EXISTENT
            return mms.ReadResponse([self._read_one(
                mms.NameVariableSpecification(hat_name(m)) if not p
                else AltSpec(mms.NameVariableSpecification(hat_name(m)), p,
                             None))
                for m, p in lst['members']])
        specs = list(req.value)
        self._note_alt('read', specs)
        return mms.ReadResponse([self._read_one(s) for s in specs])

    def _write(self, conn, req):
        if isinstance(req.specification, (mms.VmdSpecificObjectName,
                                          mms.DomainSpecificObjectName,
                                          mms.AaSpecificObjectName)):
            lst = self._find_list(conn, req.specification)
            if lst is None:
                return mms.AccessError.OBJECT_NON_EXISTENT
            specs = [mms.NameVariableSpecification(hat_name(m)) if not p
                     else AltSpec(mms.NameVariableSpecification(hat_name(m)),
                                  p, None)
                     for m, p in lst['members']]
        else:
            specs = list(req.specification)
            self._note_alt('write', specs)
        data = list(req.data)
        if len(data) != len(specs):
            return mms.AccessError.OBJECT_ATTRIBUTE_INCONSISTENT  # noqa
        return mms.WriteResponse([self._write_one(s, d)
                                  for s, d in zip(specs, data)])

    def _write_one(self, spec, data):
        r = self._resolve(spec)
        if isinstance(r, mms.DataAccessError):
            return r
        name, path = r
        var = self.vars[name]
        if not var['writable']:
            return mms.DataAccessError.OBJECT_ACCESS_DENIED
        sel = self._select(name, path)
        if isinstance(sel, mms.DataAccessError):
            return sel
        t, _ = sel
        try:
            new = from_hat_data(t, data)
        except TypeMismatch:
            return mms.DataAccessError.TYPE_INCONSISTENT
        if not path:
            var['value'] = new
            return None
        holder, t = var['value'], var['type']
        for p in path[:-1]:
            if t['type'] == 'structure':
                i = [n for n, _ in t['components']].index(p)
                holder, t = holder[i], t['components'][i][1]
            else:
                holder, t = holder[p], t['element']
        last = path[-1]
        if t['type'] == 'structure':
            last = [n for n, _ in t['components']].index(last)
        holder[last] = new
        return None

    def _define(self, conn, req):
        key = name_of(req.name)
        if self._find_list(conn, req.name) is not None:
            return mms.DefinitionError.OBJECT_EXISTS
        if key[0] not in (None, '@aa') and key[0] not in fixture.DOMAINS:
            return mms.AccessError.OBJECT_NON_EXISTENT
        specs = list(req.specification)
        if not specs:
            return mms.DefinitionError.OBJECT_ATTRIBUTE_INCONSISTENT
        members = []
        for s in specs:
            r = self._resolve(s)
            if isinstance(r, mms.DataAccessError):
                if r == mms.DataAccessError.OBJECT_NON_EXISTENT:
                    return mms.AccessError.OBJECT_NON_EXISTENT
                return mms.DefinitionError.TYPE_UNSUPPORTED
            if r[1]:
                # hat cannot encode alternateAccess in the attributes answer
                return mms.DefinitionError.TYPE_UNSUPPORTED
            members.append(r)
        lst = {'members': members, 'deletable': True}
        if key[0] == '@aa':
            self.aa_lists.setdefault(conn, {})[key[1]] = lst
        else:
            self.lists[key] = lst
        return mms.DefineNamedVariableListResponse()


async def amain(args):
    srv = Server(page_size=args.page_size,
                 report_interval=args.report_interval)
    extra = {}
    if args.tls_cert:
        # Secure ICCP the foreign way: Python's ssl under hat's MMS stack,
        # requiring a client certificate when --tls-ca is given.
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_ca:
            ctx.load_verify_locations(args.tls_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        extra['ssl'] = ctx
    server = await mms.listen(
        connection_cb=srv.on_connection,
        addr=net.TcpAddress(args.host, args.port),
        request_cb=srv.on_request,
        unconfirmed_cb=srv.on_unconfirmed,
        bind_connections=True, **extra)
    port = server.info.addresses[0].port
    emit({'event': 'listening', 'port': port, 'host': args.host,
          'tls': bool(args.tls_cert),
          'page_size': args.page_size,
          'report_interval': args.report_interval})

    await serve_until_signal(server)


async def serve_until_signal(server):
    """Runs until SIGTERM/SIGINT or the server closes, then closes it and says so."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    closed = asyncio.ensure_future(server.wait_closing())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([closed, stopped], return_when=asyncio.FIRST_COMPLETED)
    for f in (closed, stopped):
        f.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.async_close(), 5)
    emit({'event': 'stopped'})


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('port', type=int)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--page-size', type=int,
                   default=int(os.environ.get('HAT_SERVER_PAGE_SIZE', '3')))
    p.add_argument('--report-interval', type=float, default=1.0)
    p.add_argument('--tls-cert', help='PEM certificate: serve over TLS')
    p.add_argument('--tls-key', help='PEM key of --tls-cert')
    p.add_argument('--tls-ca', help='PEM roots: require client certificates')
    args = p.parse_args()
    if args.page_size < 1:
        p.error('--page-size must be >= 1')
    asyncio.run(amain(args))


if __name__ == '__main__':
    main()
