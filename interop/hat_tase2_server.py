#!/usr/bin/env python3
"""hat.drivers.mms acting as a minimal foreign TASE.2 server (VCC + ICC1).

Usage: hat_tase2_server.py PORT [--host 127.0.0.1] [--no-alternate-access]

--no-alternate-access: refuse every component (alternateAccess) write with
object-access-unsupported, as SISCO-based servers do ("Alternate Access not
supported"): a transfer set can then only be written whole.

PORT 0 picks a free port. Every association is accepted (no BLT checks).

Model (IEC 60870-6-503 object model as the README and docs/ describe it):
  domains: ICC1
  VMD:  TASE2_Version = {2000, 8}; Supported_Features = bit-string(12)
        "110000000000"; Line1_MW = Data_RealQ {100.0 + whole seconds since
        server start, flags "00000000"}
  ICC1: Bilateral_Table_ID = "HAT_BLT"; Breaker_1 = StateQTimeTag
        {1700000000, "10000000"}; Next_DSTransfer_Set (read allocates the
        first free of DSTrans1/DSTrans2 for this association, none free ->
        temporarily-unavailable); DSTrans1, DSTrans2 (DSTransferSet, 13
        members, per association); report-only Transfer_Set_Name,
        Transfer_Set_Time_Stamp, DSConditions_Detected (read ->
        object-access-denied). Event_Code_Detected is accepted as a data-set
        member (and denied on read) but is not listed by GetNameList.
  Data sets: DefineNamedVariableList in ICC1 or VMD scope (members must
  exist or be special variables, else ServiceError definition/
  object-undefined), GetNamedVariableListAttributes, DeleteNamedVariableList
  (lists used by an enabled transfer set are not deleted), Read of a list.
  Transfer sets: write the whole 13-member DSTransferSet or a component
  (alternateAccess component, e.g. "Status"). Status TRUE with the
  IntervalTimeOut condition (bit 0) and Interval > 0 sends, every Interval
  seconds, a full report (informationReport, variableListName = data set)
  to the writing association; Status FALSE stops and frees the set.

stdout is JSON lines:
    {"event": "listening", "port": N, "host": ...}   once
    {"event": "connected", "peer": ...} / {"event": "closed", "peer": ...}
    {"event": "ts-enabled", "transfer_set": ..., "data_set": ..., ...}
    {"event": "ts-disabled", "transfer_set": ...}
    {"event": "report-sent", "transfer_set": ..., "time_stamp": N}
    {"event": "ack", "transfer_set": {"scope", "domain", "name"},
     "time_stamp": N|null, "matched": bool}     ICC1/Transfer_Report_ACK
    {"event": "nack", "transfer_set": ...}      ICC1/Transfer_Report_NACK
    {"event": "report-received", ...}           any other informationReport
    {"event": "server-error", ...}              bug in this script
    {"event": "stopped"}                        on SIGTERM/SIGINT
"""

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# importing hat_server also installs its alternateAccess-aware request
# decoder (component writes arrive as hat_server.AltSpec)
import hat_server  # noqa: E402
from hat_server import (AltSpec, data_to_json, emit, name_of,  # noqa: E402
                        hat_name, spec_to_json)

from hat.drivers import mms  # noqa: E402
from hat.drivers import net  # noqa: E402

ICC = 'ICC1'
VMD = None
TS_NAMES = ['DSTrans1', 'DSTrans2']
SPECIALS = ['Transfer_Set_Name', 'Transfer_Set_Time_Stamp',
            'DSConditions_Detected', 'Event_Code_Detected']
LISTED_SPECIALS = SPECIALS[:3]

VMD_VARIABLES = ['Line1_MW', 'Supported_Features', 'TASE2_Version']
ICC_VARIABLES = ['Bilateral_Table_ID', 'Breaker_1', 'Next_DSTransfer_Set',
                 *LISTED_SPECIALS, *TS_NAMES]

TS_MEMBERS = ['DataSetName', 'StartTime', 'Interval', 'TLE', 'BufferTime',
              'IntegrityCheck', 'DSConditionsRequested', 'BlockData',
              'Critical', 'RBE', 'AllChangesReported', 'Status',
              'EventCodeRequested']
TS_INT_MEMBERS = {'StartTime', 'Interval', 'TLE', 'BufferTime',
                  'IntegrityCheck', 'EventCodeRequested'}
TS_BOOL_MEMBERS = {'BlockData', 'Critical', 'RBE', 'AllChangesReported',
                   'Status'}

BREAKER_TIME = 1700000000
NO_ALTERNATE_ACCESS = False


def bits(s):
    return mms.BitStringData([c == '1' for c in s])


def object_name_data(scope, domain, name):
    return mms.StructureData([mms.UnsignedData(scope),
                              mms.VisibleStringData(domain),
                              mms.VisibleStringData(name)])


def default_ts():
    return {'DataSetName': object_name_data(1, ICC, ''),
            'StartTime': mms.IntegerData(0),
            'Interval': mms.IntegerData(0),
            'TLE': mms.IntegerData(0),
            'BufferTime': mms.IntegerData(0),
            'IntegrityCheck': mms.IntegerData(0),
            'DSConditionsRequested': bits('00000'),
            'BlockData': mms.BooleanData(False),
            'Critical': mms.BooleanData(False),
            'RBE': mms.BooleanData(False),
            'AllChangesReported': mms.BooleanData(False),
            'Status': mms.BooleanData(False),
            'EventCodeRequested': mms.IntegerData(0)}


def int_of(d):
    if isinstance(d, (mms.IntegerData, mms.UnsignedData)):
        return d.value
    return None


def valid_member(member, d):
    """shape check of one DSTransferSet member value"""
    if member == 'DataSetName':
        if not isinstance(d, mms.StructureData):
            return False
        els = list(d.elements)
        return (len(els) == 3 and int_of(els[0]) is not None
                and all(isinstance(e, (mms.VisibleStringData,
                                       mms.MmsStringData))
                        for e in els[1:]))
    if member in TS_INT_MEMBERS:
        return int_of(d) is not None
    if member in TS_BOOL_MEMBERS:
        return isinstance(d, mms.BooleanData)
    if member == 'DSConditionsRequested':
        return isinstance(d, mms.BitStringData)
    return False


def ts_json(ts):
    return {'domain': ICC, 'name': ts}


class TransferSet:

    def __init__(self, name):
        self.name = name
        self.state = 'free'        # free | reserved | enabled
        self.value = default_ts()
        self.task = None
        self.data_set = None       # (domain, item) while enabled
        self.sent_stamps = []      # time stamps of critical reports sent


class ConnState:

    def __init__(self, peer):
        self.peer = peer
        self.ts = {n: TransferSet(n) for n in TS_NAMES}


class Tase2Server:

    def __init__(self):
        self.start = time.monotonic()
        # (domain, name) -> {'members': [(domain, item)], 'deletable': bool}
        self.lists = {}
        self.conns = {}

    # --- values ---

    def line1_mw(self):
        v = 100.0 + float(int(time.monotonic() - self.start))
        return mms.StructureData([mms.FloatingPointData(v), bits('00000000')])

    def exists(self, name):
        dom, item = name
        if dom is VMD:
            return item in VMD_VARIABLES
        if dom == ICC:
            return item in ICC_VARIABLES or item in SPECIALS
        return False

    def value(self, conn, name, alloc=True):
        """Data or DataAccessError of a plain read"""
        dom, item = name
        if dom is VMD:
            if item == 'TASE2_Version':
                return mms.StructureData([mms.IntegerData(2000),
                                          mms.IntegerData(8)])
            if item == 'Supported_Features':
                return bits('110000000000')
            if item == 'Line1_MW':
                return self.line1_mw()
        elif dom == ICC:
            if item == 'Bilateral_Table_ID':
                return mms.VisibleStringData('HAT_BLT')
            if item == 'Breaker_1':
                return mms.StructureData([mms.IntegerData(BREAKER_TIME),
                                          bits('10000000')])
            if item in SPECIALS:
                return mms.DataAccessError.OBJECT_ACCESS_DENIED
            if item == 'Next_DSTransfer_Set':
                if not alloc:
                    return mms.DataAccessError.OBJECT_ACCESS_DENIED
                st = self.conns.get(conn)
                for n in TS_NAMES:
                    if st is not None and st.ts[n].state == 'free':
                        st.ts[n].state = 'reserved'
                        return object_name_data(1, ICC, n)
                return mms.DataAccessError.TEMPORARILY_UNAVAILABLE
            if item in TS_NAMES:
                st = self.conns.get(conn)
                if st is None:
                    return mms.DataAccessError.OBJECT_NON_EXISTENT
                ts = st.ts[item]
                return mms.StructureData([ts.value[m] for m in TS_MEMBERS])
        return mms.DataAccessError.OBJECT_NON_EXISTENT

    # --- connection handling ---

    async def on_connection(self, conn):
        peer = f'{conn.info.remote_addr.host}:{conn.info.remote_addr.port}'
        self.conns[conn] = ConnState(peer)
        emit({'event': 'connected', 'peer': peer})
        conn.async_group.spawn(self._on_close, conn, peer)

    async def _on_close(self, conn, peer):
        try:
            await conn.wait_closing()
        finally:
            st = self.conns.pop(conn, None)
            if st is not None:
                for ts in st.ts.values():
                    if ts.task is not None:
                        ts.task.cancel()
            emit({'event': 'closed', 'peer': peer})

    # --- incoming informationReports ---

    async def on_unconfirmed(self, conn, unconfirmed):
        try:
            self._on_unconfirmed(conn, unconfirmed)
        except Exception as e:
            emit({'event': 'server-error', 'request': 'unconfirmed',
                  'error': repr(e)})

    def _on_unconfirmed(self, conn, unconfirmed):
        if isinstance(unconfirmed, mms.InformationReportUnconfirmed):
            spec = unconfirmed.specification
            data = list(unconfirmed.data)
            if not isinstance(spec, (mms.VmdSpecificObjectName,
                                     mms.DomainSpecificObjectName,
                                     mms.AaSpecificObjectName)):
                names = []
                for s in spec:
                    if isinstance(s, mms.NameVariableSpecification):
                        names.append(name_of(s.name))
                    else:
                        names.append(None)
                vals = dict(zip(names, data))
                for kind in ('ACK', 'NACK'):
                    key = (ICC, f'Transfer_Report_{kind}')
                    if key in vals:
                        self._ack(conn, kind, vals[key],
                                  vals.get((ICC, 'Transfer_Set_Time_Stamp')))
                        return
        ev = {'event': 'report-received', 'type': type(unconfirmed).__name__}
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

    def _ack(self, conn, kind, ts_data, stamp_data):
        ts_name = None
        if (isinstance(ts_data, mms.StructureData)
                and len(list(ts_data.elements)) == 3):
            scope, dom, name = list(ts_data.elements)
            ts_name = {'scope': int_of(scope),
                       'domain': getattr(dom, 'value', None),
                       'name': getattr(name, 'value', None)}
        else:
            ts_name = data_to_json(ts_data)
        stamp = int_of(stamp_data) if stamp_data is not None else None
        ev = {'event': kind.lower(), 'transfer_set': ts_name,
              'time_stamp': stamp}
        if kind == 'ACK':
            matched = False
            st = self.conns.get(conn)
            if (st is not None and isinstance(ts_name, dict)
                    and ts_name.get('domain') == ICC
                    and ts_name.get('name') in st.ts):
                ts = st.ts[ts_name['name']]
                if stamp is None:
                    matched = bool(ts.sent_stamps)
                    ts.sent_stamps.clear()
                elif stamp in ts.sent_stamps:
                    matched = True
                    ts.sent_stamps.clear()   # libtase2: clear all for the TS
            ev['matched'] = matched
        if stamp_data is not None and stamp is None:
            ev['time_stamp_raw'] = data_to_json(stamp_data)
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
                                        model='FreeTase2 hat_tase2_server',
                                        revision='1', syntaxes=None)
        if isinstance(req, mms.GetNameListRequest):
            return self._get_name_list(req)
        if isinstance(req, mms.GetVariableAccessAttributesRequest):
            return self._get_attributes(req)
        if isinstance(req, mms.ReadRequest):
            return self._read(conn, req)
        if isinstance(req, mms.WriteRequest):
            return self._write(conn, req)
        if isinstance(req, mms.DefineNamedVariableListRequest):
            return self._define(req)
        if isinstance(req, mms.GetNamedVariableListAttributesRequest):
            lst = self._find_list(req.value)
            if lst is None:
                return mms.AccessError.OBJECT_NON_EXISTENT
            return mms.GetNamedVariableListAttributesResponse(
                mms_deletable=lst['deletable'],
                specification=[mms.NameVariableSpecification(hat_name(m))
                               for m in lst['members']])
        if isinstance(req, mms.DeleteNamedVariableListRequest):
            matched = deleted = 0
            for n in req.names:
                lst = self._find_list(n)
                if lst is None:
                    continue
                matched += 1
                key = name_of(n)
                if lst['deletable'] and not self._list_in_use(key):
                    del self.lists[key]
                    deleted += 1
            return mms.DeleteNamedVariableListResponse(matched=matched,
                                                       deleted=deleted)
        return mms.ServiceError.OTHER

    def _get_name_list(self, req):
        scope = req.object_scope
        cls = req.object_class
        if cls == mms.ObjectClass.DOMAIN:
            if not isinstance(scope, mms.VmdSpecificObjectScope):
                return mms.AccessError.OBJECT_ACCESS_UNSUPPORTED
            names = [ICC]
        elif cls in (mms.ObjectClass.NAMED_VARIABLE,
                     mms.ObjectClass.NAMED_VARIABLE_LIST):
            if isinstance(scope, mms.VmdSpecificObjectScope):
                dom = VMD
            elif isinstance(scope, mms.DomainSpecificObjectScope):
                dom = scope.identifier
                if dom != ICC:
                    return mms.AccessError.OBJECT_NON_EXISTENT
            else:
                dom = '@aa'
            if cls == mms.ObjectClass.NAMED_VARIABLE:
                names = (VMD_VARIABLES if dom is VMD else
                         ICC_VARIABLES if dom == ICC else [])
            else:
                names = [i for d, i in self.lists if d == dom]
        else:
            names = []
        names = sorted(names, key=lambda n: n.encode())
        if req.continue_after is not None:
            after = req.continue_after.encode()
            names = [n for n in names if n.encode() > after]
        return mms.GetNameListResponse(identifiers=names, more_follows=False)

    def _get_attributes(self, req):
        if not isinstance(req.value, (mms.VmdSpecificObjectName,
                                      mms.DomainSpecificObjectName)):
            return mms.AccessError.OBJECT_ACCESS_UNSUPPORTED
        name = name_of(req.value)
        if not self.exists(name):
            return mms.AccessError.OBJECT_NON_EXISTENT
        t = _TYPES.get(name[1])
        if t is None:
            return mms.AccessError.OBJECT_ACCESS_UNSUPPORTED
        return mms.GetVariableAccessAttributesResponse(
            mms_deletable=False, type_description=t)

    def _find_list(self, obj_name):
        if not isinstance(obj_name, (mms.VmdSpecificObjectName,
                                     mms.DomainSpecificObjectName,
                                     mms.AaSpecificObjectName)):
            return None
        return self.lists.get(name_of(obj_name))

    def _list_in_use(self, key):
        return any(ts.state == 'enabled' and ts.data_set == key
                   for st in self.conns.values() for ts in st.ts.values())

    def _read_spec(self, conn, spec):
        path = []
        if isinstance(spec, AltSpec):
            if spec.path is None:
                return mms.DataAccessError.OBJECT_ACCESS_UNSUPPORTED
            path, spec = spec.path, spec.specification
        if not isinstance(spec, mms.NameVariableSpecification):
            return mms.DataAccessError.OBJECT_ACCESS_UNSUPPORTED
        name = name_of(spec.name)
        if path:
            # component read: only DSTransferSet members
            if (name[0] == ICC and name[1] in TS_NAMES and len(path) == 1
                    and path[0] in TS_MEMBERS and conn in self.conns):
                return self.conns[conn].ts[name[1]].value[path[0]]
            return mms.DataAccessError.OBJECT_ACCESS_UNSUPPORTED
        return self.value(conn, name)

    def _read(self, conn, req):
        if isinstance(req.value, (mms.VmdSpecificObjectName,
                                  mms.DomainSpecificObjectName,
                                  mms.AaSpecificObjectName)):
            lst = self._find_list(req.value)
            if lst is None:
                return mms.AccessError.OBJECT_NON_EXISTENT
            return mms.ReadResponse([self.value(conn, m, alloc=False)
                                     for m in lst['members']])
        return mms.ReadResponse([self._read_spec(conn, s)
                                 for s in req.value])

    def _define(self, req):
        key = name_of(req.name)
        if key[0] == '@aa':
            return mms.AccessError.OBJECT_ACCESS_DENIED
        if key[0] not in (VMD, ICC):
            return mms.AccessError.OBJECT_NON_EXISTENT
        if key in self.lists:
            return mms.DefinitionError.OBJECT_EXISTS
        specs = list(req.specification)
        if not specs:
            return mms.DefinitionError.OBJECT_ATTRIBUTE_INCONSISTENT
        members = []
        for s in specs:
            if isinstance(s, AltSpec):
                return mms.DefinitionError.TYPE_UNSUPPORTED
            if not isinstance(s, mms.NameVariableSpecification):
                return mms.DefinitionError.TYPE_UNSUPPORTED
            m = name_of(s.name)
            if not self.exists(m) or m[1] in TS_NAMES or \
                    m[1] == 'Next_DSTransfer_Set':
                return mms.DefinitionError.OBJECT_UNDEFINED
            members.append(m)
        self.lists[key] = {'members': members, 'deletable': True}
        return mms.DefineNamedVariableListResponse()

    # --- writes / transfer sets ---

    def _write(self, conn, req):
        if not isinstance(req.specification, list) and isinstance(
                req.specification, (mms.VmdSpecificObjectName,
                                    mms.DomainSpecificObjectName,
                                    mms.AaSpecificObjectName)):
            lst = self._find_list(req.specification)
            if lst is None:
                return mms.AccessError.OBJECT_NON_EXISTENT
            specs = [mms.NameVariableSpecification(hat_name(m))
                     for m in lst['members']]
        else:
            specs = list(req.specification)
        data = list(req.data)
        if len(data) != len(specs):
            return mms.AccessError.OBJECT_ACCESS_DENIED
        return mms.WriteResponse([self._write_one(conn, s, d)
                                  for s, d in zip(specs, data)])

    def _write_one(self, conn, spec, data):
        path = []
        if isinstance(spec, AltSpec):
            if NO_ALTERNATE_ACCESS:
                emit({'event': 'alternate-access-refused'})
                return mms.DataAccessError.OBJECT_ACCESS_UNSUPPORTED
            if spec.path is None:
                return mms.DataAccessError.OBJECT_ACCESS_UNSUPPORTED
            path, spec = spec.path, spec.specification
        if not isinstance(spec, mms.NameVariableSpecification):
            return mms.DataAccessError.OBJECT_ACCESS_UNSUPPORTED
        name = name_of(spec.name)
        if not self.exists(name):
            return mms.DataAccessError.OBJECT_NON_EXISTENT
        if name[0] != ICC or name[1] not in TS_NAMES:
            return mms.DataAccessError.OBJECT_ACCESS_DENIED
        st = self.conns.get(conn)
        if st is None:
            return mms.DataAccessError.OBJECT_ACCESS_DENIED
        ts = st.ts[name[1]]

        if not path:
            if not isinstance(data, mms.StructureData):
                return mms.DataAccessError.TYPE_INCONSISTENT
            els = list(data.elements)
            if len(els) != len(TS_MEMBERS):
                return mms.DataAccessError.OBJECT_ATTRIBUTE_INCONSISTENT
            new = dict(zip(TS_MEMBERS, els))
        elif len(path) == 1 and path[0] in TS_MEMBERS:
            new = dict(ts.value)
            new[path[0]] = data
        else:
            return mms.DataAccessError.OBJECT_NON_EXISTENT
        for m in TS_MEMBERS:
            if not valid_member(m, new[m]):
                return mms.DataAccessError.TYPE_INCONSISTENT

        enable = new['Status'].value
        if ts.state == 'enabled':
            if enable:
                # only Status may change while enabled (libtase2)
                if any(new[m] != ts.value[m] for m in TS_MEMBERS
                       if m != 'Status'):
                    return mms.DataAccessError.OBJECT_ATTRIBUTE_INCONSISTENT
                return None
            self._disable(ts)
            ts.value = new
            return None
        if not enable:
            ts.value = new
            if ts.state == 'free':
                ts.state = 'reserved'
            return None

        # enable
        scope, dom, item = list(new['DataSetName'].elements)
        ds_key = (VMD if int_of(scope) == 0 else dom.value, item.value)
        if ds_key not in self.lists:
            return mms.DataAccessError.OBJECT_ATTRIBUTE_INCONSISTENT
        ts.value = new
        ts.state = 'enabled'
        ts.data_set = ds_key
        ts.sent_stamps = []
        cond = list(new['DSConditionsRequested'].value)
        interval = int_of(new['Interval'])
        periodic = bool(cond) and bool(cond[0]) and interval > 0
        if periodic:
            ts.task = conn.async_group.spawn(self._report_loop, conn, ts,
                                             interval)
        emit({'event': 'ts-enabled', 'peer': st.peer,
              'transfer_set': ts_json(ts.name),
              'data_set': {'domain': ds_key[0], 'item': ds_key[1]},
              'interval': interval,
              'conditions': ''.join('1' if b else '0' for b in cond),
              'critical': new['Critical'].value,
              'rbe': new['RBE'].value, 'periodic': periodic})
        return None

    def _disable(self, ts):
        if ts.task is not None:
            ts.task.cancel()
            ts.task = None
        ts.state = 'free'
        ts.data_set = None
        ts.sent_stamps = []
        emit({'event': 'ts-disabled', 'transfer_set': ts_json(ts.name)})

    async def _report_loop(self, conn, ts, interval):
        try:
            while conn.is_open and ts.state == 'enabled':
                await asyncio.sleep(interval)
                if not conn.is_open or ts.state != 'enabled':
                    break
                lst = self.lists.get(ts.data_set)
                if lst is None:
                    continue
                now = int(time.time())
                data = [self._report_value(conn, m, ts, now)
                        for m in lst['members']]
                if ts.value['Critical'].value:
                    ts.sent_stamps.append(now)
                    del ts.sent_stamps[:-100]
                await conn.send_unconfirmed(mms.InformationReportUnconfirmed(
                    specification=hat_name(ts.data_set), data=data))
                emit({'event': 'report-sent',
                      'transfer_set': ts_json(ts.name), 'time_stamp': now})
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as e:
            emit({'event': 'server-error', 'request': 'report',
                  'error': repr(e)})

    def _report_value(self, conn, name, ts, now):
        dom, item = name
        if dom == ICC and item in SPECIALS:
            if item == 'Transfer_Set_Name':
                return object_name_data(1, ICC, ts.name)
            if item == 'Transfer_Set_Time_Stamp':
                return mms.IntegerData(now)
            if item == 'DSConditions_Detected':
                return bits('10000')
            return mms.IntegerData(0)     # Event_Code_Detected
        return self.value(conn, name, alloc=False)


def _ts_type():
    i32 = mms.IntegerTypeDescription(32)
    i16 = mms.IntegerTypeDescription(16)
    b = mms.BooleanTypeDescription()
    return mms.StructureTypeDescription([
        ('DataSetName', _OBJ_NAME_TYPE),
        ('StartTime', i32), ('Interval', i32), ('TLE', i32),
        ('BufferTime', i32), ('IntegrityCheck', i32),
        ('DSConditionsRequested', mms.BitStringTypeDescription(5)),
        ('BlockData', b), ('Critical', b), ('RBE', b),
        ('AllChangesReported', b), ('Status', b),
        ('EventCodeRequested', i16)])


_OBJ_NAME_TYPE = mms.StructureTypeDescription([
    ('Scope', mms.UnsignedTypeDescription(8)),
    ('DomainName', mms.VisibleStringTypeDescription(32)),
    ('Name', mms.VisibleStringTypeDescription(32))])

_TYPES = {
    'TASE2_Version': mms.StructureTypeDescription([
        ('MajorVersionNumber', mms.IntegerTypeDescription(16)),
        ('MinorVersionNumber', mms.IntegerTypeDescription(16))]),
    'Supported_Features': mms.BitStringTypeDescription(12),
    'Line1_MW': hat_server.to_hat_type(hat_server.fixture.REAL_Q_TYPE),
    'Bilateral_Table_ID': mms.VisibleStringTypeDescription(32),
    'Breaker_1': hat_server.to_hat_type(hat_server.fixture.STATE_TS_TYPE),
    'Next_DSTransfer_Set': _OBJ_NAME_TYPE,
    'Transfer_Set_Name': _OBJ_NAME_TYPE,
    'Transfer_Set_Time_Stamp': mms.IntegerTypeDescription(32),
    'DSConditions_Detected': mms.BitStringTypeDescription(5),
    'Event_Code_Detected': mms.IntegerTypeDescription(16),
    'DSTrans1': _ts_type(),
    'DSTrans2': _ts_type(),
}


async def amain(args):
    srv = Tase2Server()
    server = await mms.listen(
        connection_cb=srv.on_connection,
        addr=net.TcpAddress(args.host, args.port),
        request_cb=srv.on_request,
        unconfirmed_cb=srv.on_unconfirmed,
        bind_connections=True)
    port = server.info.addresses[0].port
    emit({'event': 'listening', 'port': port, 'host': args.host})

    await hat_server.serve_until_signal(server)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('port', type=int)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--no-alternate-access', action='store_true')
    args = p.parse_args()
    global NO_ALTERNATE_ACCESS
    NO_ALTERNATE_ACCESS = args.no_alternate_access
    asyncio.run(amain(args))


if __name__ == '__main__':
    main()
