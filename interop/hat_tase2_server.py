#!/usr/bin/env python3
"""hat.drivers.mms acting as a minimal foreign TASE.2 server (VCC + ICC1).

Usage: hat_tase2_server.py PORT [--host 127.0.0.1] [--no-alternate-access]
                                [--blocks LIST] [--break RULE]...

--no-alternate-access: refuse every component (alternateAccess) write with
object-access-unsupported, as SISCO-based servers do ("Alternate Access not
supported"): a transfer set can then only be written whole.

--blocks LIST (default "1,2"): comma-separated conformance blocks (1-12)
announced in Supported_Features (bit n-1 for block n). The Block 4 and
Block 5 objects below exist (GetNameList, GetVariableAccessAttributes, Read,
Write) only when their block is listed; with "1,2" the model is the plain
Block 1/2 one.

--break RULE (repeatable, default none): break exactly one TASE.2 rule, for
a conformance probe to catch:
  special-order       every transfer-set report swaps the values of the
                      data set's first two special members (the
                      Transfer_Set_Time_Stamp integer where the
                      Transfer_Set_Name object name belongs and vice versa)
  rbe-silent          RBE + ObjectChange is accepted but never reported
  no-messages         IM_Transfer_Set := TRUE is accepted, no message is sent
  bad-message         messages claim a Size larger than their Info_Buff_64
  no-checkback        a select (Read Breaker_1_Ctl_SBO) answers BOOLEAN TRUE
                      instead of the Integer16 CheckBackName (still arms)
  operate-unselected  an operate of Breaker_1_Ctl without a select succeeds

PORT 0 picks a free port. Every association is accepted (no BLT checks).

Model (IEC 60870-6-503 object model as the README and docs/ describe it):
  domains: ICC1
  VMD:  TASE2_Version = {2000, 8}; Supported_Features = bit-string(12)
        from --blocks ("110000000000" by default); Line1_MW = Data_RealQ
        {100.0 + whole seconds since server start, flags "00000000"}
  ICC1: Bilateral_Table_ID = "HAT_BLT"; Breaker_1 = StateQTimeTag
        {1700000000, "10000000"}; Next_DSTransfer_Set (read allocates the
        first free of DSTrans1/DSTrans2 for this association, none free ->
        temporarily-unavailable); DSTrans1, DSTrans2 (DSTransferSet, 13
        members, per association); report-only Transfer_Set_Name,
        Transfer_Set_Time_Stamp, DSConditions_Detected (read ->
        object-access-denied). Event_Code_Detected is accepted as a data-set
        member (and denied on read) but is not listed by GetNameList.
  Block 4 (information messages):
        aa-specific IM_Transfer_Set (Boolean, per association, R/W; listed
        by GetNameList with aa-specific scope); VMD Info_Mess_Header
        (InfoMessHeader, 4 x Integer32) and Info_Buff_64 (OctetString 64),
        report-only (read -> object-access-denied). IM_Transfer_Set := TRUE
        sends, every 2 s, an informationReport listOfVariable
        [Info_Mess_Header, Info_Buff_64] (both vmd-specific) =
        [{InfoReference 1, LocalReference 0, MessageId 1, 2, ..., Size},
        "hat message N" zero-padded to 64 octets]; FALSE stops it.
  Block 5 (device control): ICC1/Breaker_1_Ctl (SBO command device,
        Integer16), Breaker_1_Ctl_SBO (Integer16 CheckBackName),
        Breaker_1_Ctl_TAG (TagValue {Flags bit-string(3), Reason
        VisibleString(255)}).
        Select = Read _SBO: answers 7 and arms the device for this
        association for 30 s; already armed, or tag open-and-close
        inhibit -> temporarily-unavailable.
        Operate = Write Breaker_1_Ctl := integer 0|1: armed by this
        association -> success and disarmed; else temporarily-unavailable;
        other integers -> object-value-invalid; other types ->
        type-inconsistent; tag close-only inhibit refuses 1, open-and-close
        inhibit refuses both (temporarily-unavailable). Read of
        Breaker_1_Ctl -> object-access-denied.
        GetTag = Read _TAG: {Flags (bit 0 HI close inhibit, bit 1 LO
        open-and-close inhibit, bit 2 armed), Reason}. SetTag = Write _TAG
        with that shape (bit 2 ignored): HI and LO both set ->
        object-value-invalid; while armed -> temporarily-unavailable.
        The device and _SBO cannot be data-set members (_TAG can).
  Data sets: DefineNamedVariableList in ICC1 or VMD scope (members must
  exist or be special variables, else ServiceError definition/
  object-undefined), GetNamedVariableListAttributes, DeleteNamedVariableList
  (lists used by an enabled transfer set are not deleted), Read of a list.
  Transfer sets: write the whole 13-member DSTransferSet or a component
  (alternateAccess component, e.g. "Status"). Status TRUE starts, for the
  writing association, one sender per requested condition, each sending a
  full report (informationReport, variableListName = data set, members'
  report-time values):
    IntervalTimeOut (bit 0), Interval > 0: every Interval seconds,
      DSConditions_Detected "10000";
    IntegrityTimeOut (bit 1), IntegrityCheck > 0: every IntegrityCheck
      seconds, DSConditions_Detected "01000";
    ObjectChange (bit 2) with RBE TRUE: whenever a member point's value
      changes (polled every 0.2 s; Line1_MW changes every second),
      DSConditions_Detected "00100". BufferTime, StartTime, TLE and
      AllChangesReported are ignored; the report is always full.
  With Critical TRUE every report's time stamp waits for an ACK. Status
  FALSE stops every sender and frees the set; so does the association's end.

stdout is JSON lines ("listening" is always the first):
    {"event": "listening", "port": N, "host": ...}   once
    {"event": "breaking", "rules": [...]}       once, only with --break
    {"event": "connected", "peer": ...} / {"event": "closed", "peer": ...}
    {"event": "ts-enabled", "transfer_set": ..., "data_set": ..., ...,
     "periodic": bool, "integrity": bool, "change": bool}
                                                which senders were started
    {"event": "ts-disabled", "transfer_set": ...}
    {"event": "report-sent", "transfer_set": ..., "time_stamp": N,
     "conditions": "10000"|"01000"|"00100"}
    {"event": "ack", "transfer_set": {"scope", "domain", "name"},
     "time_stamp": N|null, "matched": bool}     ICC1/Transfer_Report_ACK
    {"event": "nack", "transfer_set": ...}      ICC1/Transfer_Report_NACK
    {"event": "im-enabled", "peer": ...} / {"event": "im-disabled", ...}
    {"event": "message-sent", "message_id": N, "size": N}
    {"event": "selected", "check_back": 7}
    {"event": "select-refused", "reason": "already selected"|"tag inhibit"}
    {"event": "operated", "command": 0|1}
    {"event": "operate-refused", "reason": "not selected"|"tag inhibit"|
     "value invalid"|"type inconsistent"}
    {"event": "tag-set", "flags": "HL", "reason": ...}
    {"event": "tag-refused", "reason": "invalid"|"armed"|
     "type inconsistent"}
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

# Block 4: information messages (VMD scope) and the per-association switch
IM_VMD_VARIABLES = ['Info_Buff_64', 'Info_Mess_Header']
IM_AA_VARIABLES = ['IM_Transfer_Set']
IM_BUFFER_SIZE = 64
IM_PERIOD = 2.0

# Block 5: one SBO command device with a tag
DEVICE = 'Breaker_1_Ctl'
DEVICE_SBO = DEVICE + '_SBO'
DEVICE_TAG = DEVICE + '_TAG'
DEVICE_VARIABLES = [DEVICE, DEVICE_SBO, DEVICE_TAG]
CHECK_BACK = 7
SELECT_TIMEOUT = 30.0

# objects that are no data values: a data set may not contain them (a read
# of the device or its _SBO would operate/select, messages are report-only)
NOT_DATA_SET_MEMBERS = {'Next_DSTransfer_Set', *TS_NAMES, DEVICE,
                        DEVICE_SBO, *IM_VMD_VARIABLES, *IM_AA_VARIABLES}

# DSConditions_Detected of each report cause (bit 0 interval, 1 integrity,
# 2 object change)
COND_INTERVAL = '10000'
COND_INTEGRITY = '01000'
COND_CHANGE = '00100'
CHANGE_POLL = 0.2

BREAK_RULES = ['special-order', 'rbe-silent', 'no-messages', 'bad-message',
               'no-checkback', 'operate-unselected']

BREAKER_TIME = 1700000000
NO_ALTERNATE_ACCESS = False
BLOCKS = {1, 2}
BREAK = set()


def bits(s):
    return mms.BitStringData([c == '1' for c in s])


def bit_str(d):
    return ''.join('1' if b else '0' for b in d.value)


def vmd_variables():
    return VMD_VARIABLES + (IM_VMD_VARIABLES if 4 in BLOCKS else [])


def icc_variables():
    return ICC_VARIABLES + (DEVICE_VARIABLES if 5 in BLOCKS else [])


def aa_variables():
    return IM_AA_VARIABLES if 4 in BLOCKS else []


def supported_features():
    return mms.BitStringData([n + 1 in BLOCKS for n in range(12)])


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
        self.tasks = []            # one sender per requested condition
        self.data_set = None       # (domain, item) while enabled
        self.sent_stamps = []      # time stamps of critical reports sent

    def cancel_tasks(self):
        for t in self.tasks:
            t.cancel()
        self.tasks = []


class ConnState:

    def __init__(self, peer):
        self.peer = peer
        self.ts = {n: TransferSet(n) for n in TS_NAMES}
        self.im_enabled = False    # IM_Transfer_Set
        self.im_task = None
        self.next_message_id = 1   # kept across disable/enable: ids stay
                                   # unique on the association


class Device:
    """Breaker_1_Ctl: SBO state and tag (one device shared by all
    associations, as a real breaker is)"""

    def __init__(self):
        self.armed_by = None       # connection that selected it
        self.armed_until = 0.0     # time.monotonic()
        self.hi = False            # tag: close inhibit
        self.lo = False            # tag: open-and-close inhibit
        self.reason = ''

    def armed(self):
        # an expired select is cleared when looked at (GetTag, operate)
        if (self.armed_by is not None
                and time.monotonic() >= self.armed_until):
            self.armed_by = None
        return self.armed_by is not None

    def tag_data(self):
        return mms.StructureData([
            mms.BitStringData([self.hi, self.lo, self.armed()]),
            mms.VisibleStringData(self.reason)])


class Tase2Server:

    def __init__(self):
        self.start = time.monotonic()
        # (domain, name) -> {'members': [(domain, item)], 'deletable': bool}
        self.lists = {}
        self.conns = {}
        self.device = Device()

    # --- values ---

    def line1_mw(self):
        v = 100.0 + float(int(time.monotonic() - self.start))
        return mms.StructureData([mms.FloatingPointData(v), bits('00000000')])

    def exists(self, name):
        dom, item = name
        if dom is VMD:
            return item in vmd_variables()
        if dom == ICC:
            return item in icc_variables() or item in SPECIALS
        if dom == '@aa':
            return item in aa_variables()
        return False

    def value(self, conn, name, alloc=True):
        """Data or DataAccessError of a plain read; alloc: a direct Read,
        which may reserve a transfer set or select the device (a data set
        read or a report never does)"""
        dom, item = name
        if not self.exists(name):
            return mms.DataAccessError.OBJECT_NON_EXISTENT
        if dom is VMD:
            if item == 'TASE2_Version':
                return mms.StructureData([mms.IntegerData(2000),
                                          mms.IntegerData(8)])
            if item == 'Supported_Features':
                return supported_features()
            if item == 'Line1_MW':
                return self.line1_mw()
            if item in IM_VMD_VARIABLES:
                return mms.DataAccessError.OBJECT_ACCESS_DENIED
        elif dom == '@aa':
            st = self.conns.get(conn)
            if item == 'IM_Transfer_Set' and st is not None:
                return mms.BooleanData(st.im_enabled)
        elif dom == ICC:
            if item == 'Bilateral_Table_ID':
                return mms.VisibleStringData('HAT_BLT')
            if item == 'Breaker_1':
                return mms.StructureData([mms.IntegerData(BREAKER_TIME),
                                          bits('10000000')])
            if item in SPECIALS:
                return mms.DataAccessError.OBJECT_ACCESS_DENIED
            if item == DEVICE:
                return mms.DataAccessError.OBJECT_ACCESS_DENIED
            if item == DEVICE_SBO:
                if not alloc:
                    return mms.DataAccessError.OBJECT_ACCESS_DENIED
                return self._select(conn)
            if item == DEVICE_TAG:
                return self.device.tag_data()
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
                    ts.cancel_tasks()
                if st.im_task is not None:
                    st.im_task.cancel()
            # a select does not outlive its association
            if self.device.armed_by is conn:
                self.device.armed_by = None
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
                names = (vmd_variables() if dom is VMD else
                         icc_variables() if dom == ICC else
                         aa_variables())
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
        # aa-specific names only exist with Block 4 (IM_Transfer_Set)
        scopes = (mms.VmdSpecificObjectName, mms.DomainSpecificObjectName,
                  *((mms.AaSpecificObjectName,) if 4 in BLOCKS else ()))
        if not isinstance(req.value, scopes):
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
            if not self.exists(m) or m[1] in NOT_DATA_SET_MEMBERS:
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
        st = self.conns.get(conn)
        writable = {('@aa', 'IM_Transfer_Set'): self._write_im,
                    (ICC, DEVICE): self._operate,
                    (ICC, DEVICE_TAG): self._set_tag}
        if name in writable and st is not None:
            if path:
                return mms.DataAccessError.OBJECT_ACCESS_UNSUPPORTED
            return writable[name](conn, st, data)
        if name[0] != ICC or name[1] not in TS_NAMES:
            return mms.DataAccessError.OBJECT_ACCESS_DENIED
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
        cond = list(new['DSConditionsRequested'].value) + [False] * 5
        interval = int_of(new['Interval'])
        integrity_check = int_of(new['IntegrityCheck'])
        periodic = bool(cond[0]) and interval > 0
        integrity = bool(cond[1]) and integrity_check > 0
        change = (bool(cond[2]) and bool(new['RBE'].value)
                  and 'rbe-silent' not in BREAK)
        # one sender per condition: a transfer set may ask for several
        spawn = conn.async_group.spawn
        if periodic:
            ts.tasks.append(spawn(self._periodic_loop, conn, ts, interval,
                                  COND_INTERVAL))
        if integrity:
            ts.tasks.append(spawn(self._periodic_loop, conn, ts,
                                  integrity_check, COND_INTEGRITY))
        if change:
            ts.tasks.append(spawn(self._change_loop, conn, ts))
        emit({'event': 'ts-enabled', 'peer': st.peer,
              'transfer_set': ts_json(ts.name),
              'data_set': {'domain': ds_key[0], 'item': ds_key[1]},
              'interval': interval,
              'conditions': bit_str(new['DSConditionsRequested']),
              'critical': new['Critical'].value,
              'rbe': new['RBE'].value, 'periodic': periodic,
              'integrity_check': integrity_check, 'integrity': integrity,
              'change': change})
        return None

    def _disable(self, ts):
        ts.cancel_tasks()
        ts.state = 'free'
        ts.data_set = None
        ts.sent_stamps = []
        emit({'event': 'ts-disabled', 'transfer_set': ts_json(ts.name)})

    async def _periodic_loop(self, conn, ts, seconds, conditions):
        """interval or integrity reports: a full report every `seconds`"""
        try:
            while conn.is_open and ts.state == 'enabled':
                await asyncio.sleep(seconds)
                if not conn.is_open or ts.state != 'enabled':
                    break
                await self._send_report(conn, ts, conditions)
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as e:
            emit({'event': 'server-error', 'request': 'report',
                  'error': repr(e)})

    async def _change_loop(self, conn, ts):
        """RBE object change: a full report when a member point changed"""
        try:
            last = self._point_values(conn, ts)
            while conn.is_open and ts.state == 'enabled':
                # values only change on whole seconds (Line1_MW) or on a
                # tag write: polling keeps this free of change hooks
                await asyncio.sleep(CHANGE_POLL)
                if not conn.is_open or ts.state != 'enabled':
                    break
                now = self._point_values(conn, ts)
                if now != last:
                    last = now
                    await self._send_report(conn, ts, COND_CHANGE)
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as e:
            emit({'event': 'server-error', 'request': 'report',
                  'error': repr(e)})

    def _point_values(self, conn, ts):
        """current values of the data set's non-special members"""
        lst = self.lists.get(ts.data_set)
        if lst is None:
            return None
        return [self.value(conn, m, alloc=False) for m in lst['members']
                if not (m[0] == ICC and m[1] in SPECIALS)]

    async def _send_report(self, conn, ts, conditions):
        lst = self.lists.get(ts.data_set)
        if lst is None:
            return
        now = int(time.time())
        members = lst['members']
        data = [self._report_value(conn, m, ts, now, conditions)
                for m in members]
        if 'special-order' in BREAK:
            specials = [i for i, m in enumerate(members)
                        if m[0] == ICC and m[1] in SPECIALS][:2]
            if len(specials) == 2:
                i, j = specials
                data[i], data[j] = data[j], data[i]
        # every report of a critical TS waits for its ACK, whatever caused it
        if ts.value['Critical'].value:
            ts.sent_stamps.append(now)
            del ts.sent_stamps[:-100]
        await conn.send_unconfirmed(mms.InformationReportUnconfirmed(
            specification=hat_name(ts.data_set), data=data))
        emit({'event': 'report-sent', 'transfer_set': ts_json(ts.name),
              'time_stamp': now, 'conditions': conditions})

    def _report_value(self, conn, name, ts, now, conditions):
        dom, item = name
        if dom == ICC and item in SPECIALS:
            if item == 'Transfer_Set_Name':
                return object_name_data(1, ICC, ts.name)
            if item == 'Transfer_Set_Time_Stamp':
                return mms.IntegerData(now)
            if item == 'DSConditions_Detected':
                return bits(conditions)
            return mms.IntegerData(0)     # Event_Code_Detected
        return self.value(conn, name, alloc=False)

    # --- Block 4: information messages ---

    def _write_im(self, conn, st, data):
        if not isinstance(data, mms.BooleanData):
            return mms.DataAccessError.TYPE_INCONSISTENT
        if data.value and not st.im_enabled:
            st.im_enabled = True
            if 'no-messages' not in BREAK:
                st.im_task = conn.async_group.spawn(self._message_loop,
                                                    conn, st)
            emit({'event': 'im-enabled', 'peer': st.peer})
        elif not data.value and st.im_enabled:
            st.im_enabled = False
            if st.im_task is not None:
                st.im_task.cancel()
                st.im_task = None
            emit({'event': 'im-disabled', 'peer': st.peer})
        return None

    async def _message_loop(self, conn, st):
        header = mms.NameVariableSpecification(
            mms.VmdSpecificObjectName('Info_Mess_Header'))
        buff = mms.NameVariableSpecification(
            mms.VmdSpecificObjectName(f'Info_Buff_{IM_BUFFER_SIZE}'))
        try:
            while conn.is_open and st.im_enabled:
                await asyncio.sleep(IM_PERIOD)
                if not conn.is_open or not st.im_enabled:
                    break
                mid = st.next_message_id
                st.next_message_id += 1
                text = f'hat message {mid}'.encode('ascii')
                size = (IM_BUFFER_SIZE + 136 if 'bad-message' in BREAK
                        else len(text))
                data = [mms.StructureData([mms.IntegerData(1),     # InfoRef
                                           mms.IntegerData(0),     # LocalRef
                                           mms.IntegerData(mid),
                                           mms.IntegerData(size)]),
                        mms.OctetStringData(
                            text.ljust(IM_BUFFER_SIZE, b'\0'))]
                await conn.send_unconfirmed(mms.InformationReportUnconfirmed(
                    specification=[header, buff], data=data))
                emit({'event': 'message-sent', 'message_id': mid,
                      'size': len(text)})
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as e:
            emit({'event': 'server-error', 'request': 'message',
                  'error': repr(e)})

    # --- Block 5: device control ---

    def _select(self, conn):
        dev = self.device
        if dev.armed():
            emit({'event': 'select-refused', 'reason': 'already selected'})
            return mms.DataAccessError.TEMPORARILY_UNAVAILABLE
        if dev.lo:
            emit({'event': 'select-refused', 'reason': 'tag inhibit'})
            return mms.DataAccessError.TEMPORARILY_UNAVAILABLE
        dev.armed_by = conn
        dev.armed_until = time.monotonic() + SELECT_TIMEOUT
        emit({'event': 'selected', 'check_back': CHECK_BACK})
        if 'no-checkback' in BREAK:
            return mms.BooleanData(True)
        return mms.IntegerData(CHECK_BACK)

    def _operate(self, conn, st, data):
        dev = self.device

        def refuse(reason, error):
            emit({'event': 'operate-refused', 'reason': reason})
            return error

        if not isinstance(data, mms.IntegerData):
            return refuse('type inconsistent',
                          mms.DataAccessError.TYPE_INCONSISTENT)
        if data.value not in (0, 1):
            return refuse('value invalid',
                          mms.DataAccessError.OBJECT_VALUE_INVALID)
        selected = dev.armed() and dev.armed_by is conn
        if not selected and 'operate-unselected' not in BREAK:
            return refuse('not selected',
                          mms.DataAccessError.TEMPORARILY_UNAVAILABLE)
        if dev.lo or (dev.hi and data.value == 1):
            return refuse('tag inhibit',
                          mms.DataAccessError.TEMPORARILY_UNAVAILABLE)
        if selected:
            dev.armed_by = None
        emit({'event': 'operated', 'command': data.value})
        return None

    def _set_tag(self, conn, st, data):
        dev = self.device

        def refuse(reason, error):
            emit({'event': 'tag-refused', 'reason': reason})
            return error

        els = (list(data.elements) if isinstance(data, mms.StructureData)
               else [])
        if (len(els) != 2 or not isinstance(els[0], mms.BitStringData)
                or len(els[0].value) != 3
                or not isinstance(els[1], mms.VisibleStringData)
                or len(els[1].value) > 255):
            return refuse('type inconsistent',
                          mms.DataAccessError.TYPE_INCONSISTENT)
        hi, lo = bool(els[0].value[0]), bool(els[0].value[1])
        if hi and lo:
            return refuse('invalid',
                          mms.DataAccessError.OBJECT_VALUE_INVALID)
        if dev.armed():
            return refuse('armed',
                          mms.DataAccessError.TEMPORARILY_UNAVAILABLE)
        dev.hi, dev.lo, dev.reason = hi, lo, els[1].value
        emit({'event': 'tag-set', 'flags': bit_str(els[0])[:2],
              'reason': dev.reason})
        return None


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
    # Block 4
    'IM_Transfer_Set': mms.BooleanTypeDescription(),
    'Info_Mess_Header': mms.StructureTypeDescription([
        (n, mms.IntegerTypeDescription(32))
        for n in ('InfoReference', 'LocalReference', 'MessageId', 'Size')]),
    f'Info_Buff_{IM_BUFFER_SIZE}': mms.OctetStringTypeDescription(
        IM_BUFFER_SIZE),
    # Block 5
    DEVICE: mms.IntegerTypeDescription(16),
    DEVICE_SBO: mms.IntegerTypeDescription(16),
    DEVICE_TAG: mms.StructureTypeDescription([
        ('Flags', mms.BitStringTypeDescription(3)),
        ('Reason', mms.VisibleStringTypeDescription(255))]),
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
    if BREAK:
        emit({'event': 'breaking', 'rules': sorted(BREAK)})

    await hat_server.serve_until_signal(server)


def parse_blocks(text):
    try:
        blocks = {int(b) for b in text.split(',') if b.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError(f'not a list of blocks: {text!r}')
    if not all(1 <= b <= 12 for b in blocks):
        raise argparse.ArgumentTypeError('blocks are 1 to 12')
    return blocks


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('port', type=int)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--no-alternate-access', action='store_true')
    p.add_argument('--blocks', default='1,2', type=parse_blocks,
                   metavar='LIST',
                   help='conformance blocks announced (default 1,2)')
    p.add_argument('--break', dest='break_rules', action='append',
                   default=[], choices=BREAK_RULES, metavar='RULE',
                   help='break one rule: ' + ', '.join(BREAK_RULES))
    args = p.parse_args()
    global NO_ALTERNATE_ACCESS, BLOCKS, BREAK
    NO_ALTERNATE_ACCESS = args.no_alternate_access
    BLOCKS = args.blocks
    BREAK = set(args.break_rules)
    asyncio.run(amain(args))


if __name__ == '__main__':
    main()
