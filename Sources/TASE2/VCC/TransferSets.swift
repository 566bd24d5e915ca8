import BER
import MMS

/// DS transfer sets: reservation, configuration by full-structure or component writes, the
/// enable checks, and the interval and integrity reports they produce.
extension VirtualControlCentre {
    func writeTransferSet(_ d: String, _ t: Int, _ aa: AlternateAccess?, _ data: MMSData, _ s: inout State,
                          _ a: AssociationContext) -> WriteResult {
        let slot = s.transferSets[d]![t]
        // Only the association that reserved it (via Next_DSTransfer_Set) may configure it.
        guard slot.state.owner == a.id else { return .failure(.objectAccessDenied) }
        let edition = configuration.vcc.edition
        var new = slot.value
        if let aa {
            guard let path = aa.componentPath, path.count == 1, let m = DSTransferSet.Member(rawValue: path[0]),
                  DSTransferSet.Member.members(edition).contains(m) else {
                return .failure(.objectAccessUnsupported)
            }
            guard new.set(m, data) else { return .failure(.typeInconsistent) }
        } else {
            guard let whole = DSTransferSet(data, edition: edition) else {
                if case .structure = data { return .failure(.objectAttributeInconsistent) }
                return .failure(.typeInconsistent)
            }
            new = whole
        }
        if case .enabled = slot.state {
            var unchanged = new
            unchanged.status = true
            if !new.status {
                unwatch(d, t, &s)
                s.transferSets[d]![t] = TransferSetSlot(name: slot.name)
                logger.info("transfer set disabled", metadata: ["transferSet": "\(d)/\(slot.name)"])
                return .success
            }
            // Nothing but Status may change while enabled (libtase2).
            return unchanged == slot.value ? .success : .failure(.objectAttributeInconsistent)
        }
        guard new.status else {
            s.transferSets[d]![t].value = new
            return .success
        }
        if let problem = enableProblem(new, d, slot, s, a) {
            logger.notice("transfer set not enabled: \(problem)", metadata: ["transferSet": "\(d)/\(slot.name)"])
            return .failure(.objectAttributeInconsistent)
        }
        var enabled = slot
        enabled.value = new
        enabled.state = .enabled(a.id)
        let now = clock()
        let start = new.startTime > 0 ? Double(new.startTime) : now
        func first(_ period: Int32) -> Double {
            var t = start + Double(period)
            while t <= now { t += Double(period) }
            return t
        }
        enabled.nextInterval = new.conditions.contains(.intervalTimeOut) ? first(new.interval) : .infinity
        enabled.nextIntegrity = new.conditions.contains(.integrityTimeOut) ? first(new.integrityCheck) : .infinity
        s.transferSets[d]![t] = enabled
        if new.conditions.contains(.objectChange) || new.rbe { watch(d, t, &s) }
        logger.info("transfer set enabled", metadata: [
            "transferSet": "\(d)/\(slot.name)", "dataSet": "\(new.dataSetName.map { "\($0)" } ?? "-")",
            "interval": "\(new.interval)", "integrityCheck": "\(new.integrityCheck)",
        ])
        return .success
    }

    /// Why a transfer set cannot be enabled, or nil (spec §5.2 validation).
    func enableProblem(_ v: DSTransferSet, _ d: String, _ slot: TransferSetSlot, _ s: State, _ a: AssociationContext) -> String? {
        guard let name = v.dataSetName else { return "no DataSetName" }
        let ds: DataSet
        do { ds = try dataSet(name, s, a) } catch { return "data set \(name) not found" }
        if v.blockData { return "BlockData (conformance block 3) is not supported" }
        if v.conditions.isEmpty { return "no DSConditionsRequested" }
        if v.conditions.contains(.intervalTimeOut) && v.interval <= 0 { return "Interval must be positive" }
        if v.conditions.contains(.integrityTimeOut) && v.integrityCheck <= 0 { return "IntegrityCheck must be positive" }

        for m in ds.members {
            switch resolve(m, s, a) {
            case .success(.point), .success(.special), .success(.deviceTag): continue
            default: return "member \(m) is not accessible"
            }
        }
        let size = encodeReport(name, ds, d, slot.name, .integrityTimeOut, now: 0, s).count
        if size > slot.maxPDUSize { return "a full report of \(size) octets exceeds the negotiated PDU size of \(slot.maxPDUSize)" }
        return nil
    }

    /// What a data-set member is, for reports: a point, or a device's tag (`<Dev>_TAG`).
    enum Member {
        case point(Int)
        case tag(Int)
    }

    func member(_ m: ObjectName, _ s: State) -> Member? {
        let (scope, n): (ObjectScope, String) = switch m {
        case .vmdSpecific(let n): (.vcc, n)
        case .domainSpecific(let d, let n): (.icc(d), n)
        case .aaSpecific(let n): (.vcc, "@" + n)
        }
        let index = scope == .vcc ? s.vccIndex[n] : s.iccIndex[m.domain ?? ""]?[n]
        if let index { return .point(index) }
        if n.hasSuffix("_TAG"), let i = s.deviceIndex[scope]?[String(n.dropLast(4))], s.devices[i].config.taggable { return .tag(i) }
        return nil
    }

    /// Watchers of a device's tag use negative keys beside the points' indices.
    func tagKey(_ device: Int) -> Int { -(device + 1) }

    func prependTag(_ i: Int, _ s: State, to w: inout BERWriter) {
        let d = s.devices[i]
        let flags = d.tag | (d.armedBy != nil ? TagFlags.armed : 0)
        MMSData.structure([.bitString(BitString(msbFirst: UInt64(flags) << 56, count: 3)), .visibleString(d.tagReason)]).prepend(to: &w)
    }

    /// A full report (variableListName form), encoded straight from point storage.
    func encodeReport(_ name: ObjectName, _ ds: DataSet, _ d: String, _ tsName: String, _ cause: DSConditions, now: Double,
                      _ s: State, eventCode: Int16 = 0) -> [UInt8] {
        encodeReport(.variableListName(name), members: ds.members, d, tsName, cause, now: now, s, eventCode: eventCode)
    }

    /// A report of `members` (transfer-set variables filled at report time, points from storage).
    func encodeReport(_ spec: VariableAccessSpecification, members: [ObjectName], _ d: String, _ tsName: String, _ cause: DSConditions,
                      now: Double, _ s: State, eventCode: Int16 = 0) -> [UInt8] {
        var w = BERWriter(capacity: 256 + 24 * members.count)
        let stateQ = configuration.vcc.stateQShape
        InformationReport.prependPDU(spec, to: &w) { w in
            var i = members.count - 1
            while i >= 0 {
                let m = members[i]
                i -= 1
                if m.domain != nil, TASE2Names.transferSetSpecials.contains(m.itemName) {
                    prependSpecial(m.itemName, d, tsName, cause, now, eventCode: eventCode, to: &w)
                    continue
                }
                switch member(m, s) {
                case .point(let index)?:
                    let p = s.points[index]
                    p.type.prepend(p.value, stateQ: stateQ, to: &w)
                case .tag(let i)?:
                    prependTag(i, s, to: &w)
                case nil:
                    w.prependInteger(DataAccessError.objectNonExistent.code, tag: .context(0))
                }
            }
        }
        return w.toArray()
    }

    /// Reports due at `now`, each with the association to send it to; advances the schedules.
    /// Integrity reports are full; interval reports are full, or with RBE only the changed members
    /// (none changed: none sent, as SISCO does); object-change reports come BufferTime after the
    /// first change. A full report clears the changes.
    public func dueReports(at now: Double) -> [DueReport] {
        var events: [TASE2Event] = []
        let reports = state.withLock { s in
            var out: [DueReport] = []
            for (d, slots) in s.transferSets {
                for t in slots.indices {
                    var slot = slots[t]
                    guard case .enabled(let owner) = slot.state, let name = slot.value.dataSetName, let ds = s.lists[name] else { continue }
                    let v = slot.value
                    // Critical reports never acknowledged in time: tell the application, once each.
                    while let first = slot.outstanding.first, now - first.sentAt > criticalReportTimeout {
                        slot.outstanding.removeFirst()
                        logger.error("critical report not acknowledged", metadata: ["transferSet": "\(d)/\(slot.name)", "timeStamp": "\(first.timeStamp)"])
                        events.append(.criticalReportNotAcknowledged(icc: d, transferSet: slot.name, timeStamp: first.timeStamp))
                    }
                    func send(_ pdu: [UInt8]) {
                        out.append(DueReport(association: owner, pdu: pdu, critical: v.critical))
                        if v.critical { slot.outstanding.append((Int32(clamping: Int64(now)), now)) }
                    }
                    func full(_ cause: DSConditions) {
                        send(encodeReport(name, ds, d, slot.name, cause, now: now, s))
                        slot.clearChanges()
                    }
                    func byException(_ cause: DSConditions) {
                        guard !slot.changed.isEmpty else { return }
                        if v.allChangesReported {
                            send(encodeChangeLog(ds, d, slot.name, slot.changeLog, cause, now: now, s))
                        } else {
                            send(encodeChangeReport(ds, d, slot.name, slot.changed.sorted(), cause, now: now, s))
                        }
                        slot.clearChanges()
                    }
                    if slot.nextIntegrity <= now {
                        full(.integrityTimeOut)
                        while slot.nextIntegrity <= now { slot.nextIntegrity += Double(v.integrityCheck) }
                    }
                    if slot.nextInterval <= now {
                        if v.rbe { byException(.intervalTimeOut) } else { full(.intervalTimeOut) }
                        while slot.nextInterval <= now { slot.nextInterval += Double(v.interval) }
                    }
                    if v.conditions.contains(.objectChange) && slot.changeDeadline <= now {
                        if v.rbe { byException(.objectChange) } else { full(.objectChange) }
                    }
                    for p in slot.pending {
                        send(encodeReport(name, ds, d, slot.name, p.cause, now: now, s, eventCode: p.eventCode))
                        slot.clearChanges()
                    }
                    slot.pending.removeAll()
                    s.transferSets[d]![t] = slot
                }
            }
            return out
        }
        for e in events { eventContinuation.yield(e) }
        return reports
    }

    /// AllChangesReported: every queued change with its value at change time (a point may appear
    /// several times), after the transfer-set variables.
    func encodeChangeLog(_ ds: DataSet, _ d: String, _ tsName: String, _ log: [(member: Int, value: PointValue)], _ cause: DSConditions,
                         now: Double, _ s: State) -> [UInt8] {
        let specials = ds.members.filter { $0.domain != nil && TASE2Names.transferSetSpecials.contains($0.itemName) }
        let changes = log.filter { !specials.contains(ds.members[$0.member]) }
        var w = BERWriter(capacity: 256 + 32 * (specials.count + changes.count))
        let stateQ = configuration.vcc.stateQShape
        let names = (specials + changes.map { ds.members[$0.member] }).map { VariableAccess($0) }
        InformationReport.prependPDU(.listOfVariable(names), to: &w) { w in
            for c in changes.reversed() {
                switch member(ds.members[c.member], s) {
                case .point(let index)?: s.points[index].type.prepend(c.value, stateQ: stateQ, to: &w)
                case .tag(let i)?: prependTag(i, s, to: &w)  // tags: their current value
                case nil: w.prependInteger(DataAccessError.objectNonExistent.code, tag: .context(0))
                }
            }
            for m in specials.reversed() { prependSpecial(m.itemName, d, tsName, cause, now, to: &w) }
        }
        return w.toArray()
    }

    func prependSpecial(_ special: String, _ d: String, _ tsName: String, _ cause: DSConditions, _ now: Double, eventCode: Int16 = 0,
                        to w: inout BERWriter) {
        switch special {
        case TASE2Names.transferSetName: TASE2Names.objectNameData(.domainSpecific(domain: d, item: tsName)).prepend(to: &w)
        case TASE2Names.transferSetTimeStamp: w.prependInteger(Int64(now), tag: .context(5))
        case TASE2Names.dsConditionsDetected: w.prependBitString(cause.bitString, tag: .context(4))
        default: w.prependInteger(Int64(eventCode), tag: .context(5))
        }
    }

    /// An operator asks for the data: every enabled transfer set that requested OperatorRequest
    /// sends a full report (DSConditions_Detected = OperatorRequest). Returns how many will report.
    @discardableResult
    public func requestReport() -> Int {
        queue(.operatorRequest, eventCode: 0) { _ in true }
    }

    /// An external event (the Block 7 tie-in): transfer sets that requested OtherExternalEvent,
    /// with EventCodeRequested equal to `code` (or 0 for any), send a full report carrying
    /// Event_Code_Detected = `code`. Returns how many will report.
    @discardableResult
    public func signalExternalEvent(code: Int16) -> Int {
        queue(.otherExternalEvent, eventCode: code) { $0.eventCodeRequested == 0 || $0.eventCodeRequested == code }
    }

    func queue(_ cause: DSConditions, eventCode: Int16, where matches: (DSTransferSet) -> Bool) -> Int {
        state.withLock { s in
            var n = 0
            for (d, slots) in s.transferSets {
                for t in slots.indices {
                    guard case .enabled = slots[t].state, slots[t].value.conditions.contains(cause), matches(slots[t].value) else { continue }
                    s.transferSets[d]![t].pending.append((cause, eventCode))
                    n += 1
                }
            }
            return n
        }
    }

    /// Critical reports sent and not yet acknowledged, per transfer set (for tests and monitoring).
    public func outstandingCriticalReports(icc: String, transferSet: String) -> Int {
        state.withLock { s in s.transferSets[icc]?.first { $0.name == transferSet }?.outstanding.count ?? 0 }
    }

    /// A report by exception (listOfVariable form): the data set's transfer-set variables, then
    /// the members that changed, each named (spec §5.2).
    func encodeChangeReport(_ ds: DataSet, _ d: String, _ tsName: String, _ members: [Int], _ cause: DSConditions, now: Double,
                            _ s: State) -> [UInt8] {
        let specials = ds.members.indices.filter { ds.members[$0].domain != nil && TASE2Names.transferSetSpecials.contains(ds.members[$0].itemName) }
        let order = specials + members.filter { !specials.contains($0) }
        let members = order.map { ds.members[$0] }
        return encodeReport(.listOfVariable(members.map { VariableAccess($0) }), members: members, d, tsName, cause, now: now, s)
    }

    func watch(_ d: String, _ t: Int, _ s: inout State) {
        guard let name = s.transferSets[d]![t].value.dataSetName, let ds = s.lists[name] else { return }
        s.transferSets[d]![t].changedFlags = [Bool](repeating: false, count: ds.members.count)
        for (m, name) in ds.members.enumerated() {
            switch member(name, s) {
            case .point(let p)?:
                s.watchers[p, default: []].append(Watch(icc: d, slot: t, member: m))
                s.watched[p] = true
            case .tag(let i)?:
                s.watchers[tagKey(i), default: []].append(Watch(icc: d, slot: t, member: m))
            case nil:
                continue
            }
        }
    }

    func unwatch(_ d: String, _ t: Int, _ s: inout State) {
        for (p, list) in s.watchers where list.contains(where: { $0.icc == d && $0.slot == t }) {
            let rest = list.filter { !($0.icc == d && $0.slot == t) }
            s.watchers[p] = rest.isEmpty ? nil : rest
            if p >= 0 { s.watched[p] = !rest.isEmpty }
        }
    }

    func markChanged(_ p: Int, value: PointValue, at now: Double, _ s: inout State) {
        for w in s.watchers[p] ?? [] {
            var slot = s.transferSets[w.icc]![w.slot]
            if !slot.changedFlags[w.member] {
                slot.changedFlags[w.member] = true
                slot.changed.append(w.member)
            }
            if slot.value.allChangesReported {
                slot.changeLog.append((w.member, value))
                if slot.changeLog.count > changeLogLimit {
                    let drop = slot.changeLog.count - changeLogLimit
                    slot.changeLog.removeFirst(drop)
                    logger.error("AllChangesReported queue full: oldest changes dropped", metadata: ["transferSet": "\(w.icc)/\(slot.name)"])
                    eventContinuation.yield(.changesDropped(icc: w.icc, transferSet: slot.name, count: drop))
                }
            }
            if slot.value.conditions.contains(.objectChange) && slot.changeDeadline == .infinity {
                slot.changeDeadline = now + Double(slot.value.bufferTime)
            }
            s.transferSets[w.icc]![w.slot] = slot
        }
    }

    /// When the next report falls due (infinity when no transfer set is enabled).
    public func nextDueTime() -> Double {
        state.withLock { s in
            s.transferSets.values.flatMap { $0 }.reduce(Double.infinity) {
                min($0, $1.nextInterval, $1.nextIntegrity, $1.changeDeadline, $1.pending.isEmpty ? .infinity : 0)
            }
        }
    }

    /// Enabled transfer sets, for logs and tests: ICC, name, owner association.
    public var enabledTransferSets: [(icc: String, name: String, association: UInt64)] {
        state.withLock { s in
            s.transferSets.flatMap { d, slots in slots.compactMap { slot in
                if case .enabled(let a) = slot.state { return (d, slot.name, a) }
                return nil
            } }
        }
    }
}

/// A report ready to send, and to whom.
public struct DueReport: Sendable {
    public let association: UInt64
    public let pdu: [UInt8]
    /// A critical transfer: never skipped for flow control.
    public let critical: Bool
}
