import BER
import MMS
import MMSNIO
import NIOCore

/// A report ready to send, and to whom (the test and tooling view of `reportsDue`).
public struct DueReport: Sendable {
    public let association: UInt64
    public let pdu: [UInt8]
    /// A critical transfer: the partner must acknowledge it.
    public let critical: Bool
}

/// Reports of DS transfer sets: what is due (each session's `TransferSetEngine`), how each is
/// encoded straight from point storage, acknowledgements, operator requests and external events.
extension VirtualControlCentre {
    /// The reports a session owes now, and its critical reports that timed out (told as events).
    func jobs(_ s: PartnerSession, now: Double) -> [ReportJob] {
        let timeout = configuration.vcc.criticalReportTimeout
        var stale: [TransferSetKey] = []
        let (jobs, expired, names) = s.state.withLock { st -> ([ReportJob], [(TransferSetKey, Int32)], [TransferSetKey: String]) in
            let expired = st.engine.expired(at: now, timeout: timeout)
            let jobs = st.engine.due(at: now) { k, _ in stale.append(k) }
            return (jobs, expired, st.enabled.mapValues(\.name))
        }
        for (k, ts) in expired {
            let name = names[k] ?? "?"
            logger.error("critical report not acknowledged", metadata: ["transferSet": "\(k.icc)/\(name)", "timeStamp": "\(ts)"])
            eventContinuation.yield(.criticalReportNotAcknowledged(icc: k.icc, transferSet: name, timeStamp: ts))
        }
        for k in stale {
            logger.warning("periodic report older than its TLE not sent", metadata: ["transferSet": "\(k.icc)/\(names[k] ?? "?")"])
            eventContinuation.yield(.staleReportSkipped(icc: k.icc, transferSet: names[k] ?? "?"))
        }
        return jobs
    }

    /// When the session next has a report or a time-out due (monotonic; infinity: never).
    func nextWake(_ s: PartnerSession) -> Double {
        let timeout = configuration.vcc.criticalReportTimeout
        return s.state.withLock { min($0.engine.nextDue, $0.engine.nextCriticalTimeout(after: timeout)) }
    }

    /// The PDUs of one job, for `prepend` to encode (the caller encodes each once, straight into
    /// the buffer it writes). Takes the changes the job reports: call it when the report can be
    /// sent, so changes held back by flow control stay in their change set, coalesced.
    func reportPDUs(_ job: ReportJob, _ s: PartnerSession, maxPDUSize: Int) -> [ReportPDU] {
        guard let e = s.state.withLock({ $0.enabled[job.key] }) else { return [] }
        let wall = clock.wall()
        switch job.content {
        case .full:
            if let c = e.changeSet { store.clearChanges(c) }
            return [ReportPDU(transferSet: e, cause: job.cause, eventCode: job.eventCode, wall: wall, members: nil)]
        case .changes(let skipIfNone):
            guard let c = e.changeSet else {
                return [ReportPDU(transferSet: e, cause: job.cause, eventCode: job.eventCode, wall: wall, members: nil)]
            }
            let changes = store.takeChanges(c)
            if changes.dropped > 0 {
                logger.error("AllChangesReported queue full: oldest changes dropped", metadata: ["transferSet": "\(e.key.icc)/\(e.name)"])
                eventContinuation.yield(.changesDropped(icc: e.key.icc, transferSet: e.name, count: changes.dropped))
            }
            let items: [ReportPDU.Item]
            if let log = changes.log {
                items = log.compactMap { e.sources[Int($0.member)].isSpecial ? nil : ReportPDU.Item(member: Int($0.member), value: $0.value) }
            } else {
                items = changes.members.compactMap { e.sources[Int($0)].isSpecial ? nil : ReportPDU.Item(member: Int($0), value: nil) }
            }
            if items.isEmpty && skipIfNone { return [] }
            return split(ReportPDU(transferSet: e, cause: job.cause, eventCode: job.eventCode, wall: wall, members: items), maxPDUSize: maxPDUSize)
        }
    }

    /// Cuts a report by exception into parts that fit the partner's PDU, by the members' size
    /// bounds (nothing is encoded here: each part is encoded once, into the frame written).
    func split(_ r: ReportPDU, maxPDUSize: Int) -> [ReportPDU] {
        guard let items = r.members else { return [r] }
        let layout = r.transferSet.layout
        let fixed = Self.fixedBound(layout)
        if sizeBound(r) <= maxPDUSize || items.count <= 1 { return [r] }
        var parts: [ReportPDU] = []
        var start = 0
        var size = fixed
        for (k, item) in items.enumerated() {
            let b = Int(layout.bounds[item.member])
            if size + b > maxPDUSize && k > start {
                var part = r
                part.members = Array(items[start..<k])
                parts.append(part)
                start = k
                size = fixed
            }
            size += b
        }
        var last = r
        last.members = Array(items[start...])
        parts.append(last)
        return parts
    }

    /// The PDU's own headers (≤ 4 × 5 octets) and the transfer-set variables of a listOfVariable report.
    static func fixedBound(_ layout: ReportLayout) -> Int {
        var fixed = 24
        for sp in layout.specials { fixed += Int(layout.bounds[sp.member]) }
        return fixed
    }

    /// An upper bound of a report by exception's MMS PDU (the buffer it is encoded into is sized
    /// by it); a full report is bounded by its members at 24 octets each, as the enable check
    /// found it fits.
    func sizeBound(_ r: ReportPDU) -> Int {
        guard let items = r.members else { return 256 + 24 * r.transferSet.members.count }
        var total = Self.fixedBound(r.transferSet.layout)
        for item in items { total += Int(r.transferSet.layout.bounds[item.member]) }
        return total
    }

    /// The report layout of a transfer set over `members` (see `ReportLayout`).
    func reportLayout(icc: String, members: [ObjectName], sources: [ReportMember]) -> ReportLayout {
        var names: [UInt8] = []
        var ends: [Int32] = []
        var bounds: [Int32] = []
        ends.reserveCapacity(members.count)
        bounds.reserveCapacity(members.count)
        let types = store.types
        for (m, source) in zip(members, sources) {
            // Transfer-set variables are always reported ICC-scoped (a VMD-scope member is accepted in the data set).
            let name: ObjectName = if case .special(let sp) = source { .domainSpecific(domain: icc, item: sp.rawValue) } else { m }
            let entry = VariableAccess(name).encoded()
            names += entry
            ends.append(Int32(names.count))
            let value: Int = switch source {
            case .point(let i): types[Int(i)].maxEncodedSize
            case .tag(let i): devices.tagSizeBound(Int(i))
            case .special(let sp): sp == .name ? 4 + 2 * 36 + 6 : 12
            case .missing: 6
            }
            bounds.append(Int32(entry.count + value))
        }
        let specials: [(member: Int, special: TransferSetSpecial)] = TransferSetSpecial.reportOrder.compactMap { sp in
            sources.firstIndex(of: .special(sp)).map { ($0, sp) }
        }
        return ReportLayout(names: names, ends: ends, specials: specials, bounds: bounds)
    }

    /// Records a sent report (critical ones wait for their ACK).
    func sent(_ r: ReportPDU, _ s: PartnerSession, now: Double) {
        guard r.transferSet.settings.critical else { return }
        s.state.withLock { $0.engine.sentCritical(r.transferSet.key, timeStamp: r.timeStamp, at: now) }
    }

    /// Prepends a report: the full named-list form, or the listOfVariable form of the changes
    /// with the transfer-set variables first, in libtase2's order (SISCO clients drop a report
    /// whose first item is not Transfer_Set_Name).
    func prepend(_ r: ReportPDU, to w: inout BERWriter) {
        guard let items = r.members else {
            prependFullReport(r.transferSet, cause: r.cause, eventCode: r.eventCode, wall: r.wall, to: &w)
            return
        }
        let e = r.transferSet
        let layout = e.layout
        let stateQ = self.stateQ
        let types = store.types
        InformationReport.prependPDU(encodedVariables: { w in
            for item in items.reversed() { w.prepend(layout.name(item.member)) }
            for sp in layout.specials.reversed() { w.prepend(layout.name(sp.member)) }
        }, to: &w) { w in
            store.withValues { values in
                for item in items.reversed() {
                    switch e.sources[item.member] {
                    case .point(let i): types[Int(i)].prepend(item.value ?? values[Int(i)], stateQ: stateQ, to: &w)
                    case .tag(let i): devices.prependTag(Int(i), to: &w)
                    default: w.prependInteger(DataAccessError.objectNonExistent.code, tag: .context(0))
                    }
                }
            }
            for sp in layout.specials.reversed() { prependSpecial(sp.special, e, cause: r.cause, eventCode: r.eventCode, wall: r.wall, to: &w) }
        }
    }

    func prependFullReport(_ e: EnabledTransferSet, cause: DSConditions, eventCode: Int16, wall: Double, to w: inout BERWriter) {
        let stateQ = self.stateQ
        let types = store.types
        InformationReport.prependPDU(.variableListName(e.dataSet), to: &w) { w in
            store.withValues { values in
                var k = e.sources.count - 1
                while k >= 0 {
                    switch e.sources[k] {
                    case .point(let i): types[Int(i)].prepend(values[Int(i)], stateQ: stateQ, to: &w)
                    case .tag(let i): devices.prependTag(Int(i), to: &w)
                    case .special(let sp): prependSpecial(sp, e, cause: cause, eventCode: eventCode, wall: wall, to: &w)
                    case .missing: w.prependInteger(DataAccessError.objectNonExistent.code, tag: .context(0))
                    }
                    k -= 1
                }
            }
        }
    }

    func prependSpecial(_ sp: TransferSetSpecial, _ e: EnabledTransferSet, cause: DSConditions, eventCode: Int16, wall: Double,
                        to w: inout BERWriter) {
        switch sp {
        case .name: TASE2Names.objectNameData(.domainSpecific(domain: e.key.icc, item: e.name)).prepend(to: &w)
        case .timeStamp: w.prependInteger(Int64(Int32(clamping: Int64(wall.rounded(.down)))), tag: .context(5))
        case .conditions: w.prependBitString(cause.bitString, tag: .context(4))
        case .eventCode: w.prependInteger(Int64(eventCode), tag: .context(5))
        }
    }

    // MARK: Requests and events of the hosting program

    /// An operator asks for the data: every enabled transfer set that requested OperatorRequest
    /// sends a full report (DSConditions_Detected = OperatorRequest). Returns how many will report.
    @discardableResult
    public func requestReport() -> Int {
        request(.operatorRequest, eventCode: 0) { _ in true }
    }

    /// An external event (the Block 7 tie-in): transfer sets that requested OtherExternalEvent,
    /// with EventCodeRequested equal to `code` (or 0 for any), send a full report carrying
    /// Event_Code_Detected = `code`. Returns how many will report.
    @discardableResult
    public func signalExternalEvent(code: Int16) -> Int {
        request(.otherExternalEvent, eventCode: code) { $0.eventCodeRequested == 0 || $0.eventCodeRequested == code }
    }

    func request(_ cause: DSConditions, eventCode: Int16, matching: (DSTransferSet) -> Bool) -> Int {
        var n = 0
        for s in partnerSessions {
            let k = s.state.withLock { $0.engine.request(cause, eventCode: eventCode, matching: matching) }
            if k > 0 { s.wake() }
            n += k
        }
        return n
    }

    /// Transfer_Report_ACK / _NACK from the partner (spec §5.2): an ACK clears the outstanding
    /// critical reports of that transfer set (up to its time stamp when one is given).
    public func received(_ report: InformationReport, for association: AssociationContext) async {
        guard let s = session(association), case .listOfVariable(let items) = report.variableAccessSpecification,
              items.count == report.resultCount else { return }
        var kind: String?
        var target: ObjectName?
        var timeStamp: Int64?
        for (item, result) in zip(items, report.results) {
            guard let name = item.variable.name, case .success(let value) = result else { continue }
            switch name.itemName {
            case TASE2Names.transferReportACK, TASE2Names.transferReportNACK:
                kind = name.itemName
                target = TASE2Names.objectName(from: value)
            case TASE2Names.transferSetTimeStamp:
                if case .integer(let t) = value { timeStamp = t }
            default: continue
            }
        }
        guard let kind else { return }
        // A NACK may name the data set instead (libtase2 does when it cannot map the report to a
        // transfer set): it concerns this partner's enabled transfer sets reporting that set.
        if kind == TASE2Names.transferReportNACK, let target,
           case let named = s.state.withLock({ st in st.enabled.values.filter { $0.dataSet == target }.map { ($0.key.icc, $0.name) } }), !named.isEmpty {
            for (icc, tsName) in named {
                logger.warning("partner sent a NACK", metadata: ["transferSet": "\(icc)/\(tsName)", "dataSet": "\(target)"])
                eventContinuation.yield(.negativeAcknowledgement(icc: icc, transferSet: tsName))
            }
            return
        }
        guard let target, case .domainSpecific(let d, let tsName) = target, let slot = pools[d]?.names.firstIndex(of: tsName) else {
            logger.warning("acknowledgement naming no transfer set ignored", metadata: ["partner": "\(s.partner)"])
            return
        }
        let key = TransferSetKey(icc: d, slot: slot)
        if kind == TASE2Names.transferReportNACK {
            guard s.state.withLock({ $0.enabled[key] != nil }) else { return }
            logger.warning("partner sent a NACK", metadata: ["transferSet": "\(d)/\(tsName)"])
            eventContinuation.yield(.negativeAcknowledgement(icc: d, transferSet: tsName))
            return
        }
        if s.state.withLock({ $0.engine.acknowledged(key, timeStamp: timeStamp) }) {
            logger.debug("critical report acknowledged", metadata: ["transferSet": "\(d)/\(tsName)"])
            eventContinuation.yield(.criticalReportAcknowledged(icc: d, transferSet: tsName))
        }
    }

    // MARK: Views for tools and tests

    /// Critical reports sent and not yet acknowledged, per transfer set.
    public func outstandingCriticalReports(icc: String, transferSet: String) -> Int {
        guard let slot = pools[icc]?.names.firstIndex(of: transferSet) else { return 0 }
        let key = TransferSetKey(icc: icc, slot: slot)
        return partnerSessions.reduce(0) { n, s in n + s.state.withLock { $0.engine.outstanding(key) } }
    }

    /// Enabled transfer sets: ICC, name, owner association.
    public var enabledTransferSets: [(icc: String, name: String, association: UInt64)] {
        partnerSessions.flatMap { s in
            s.state.withLock { st in st.enabled.values.map { ($0.key.icc, $0.name, st.association ?? 0) } }
        }
    }

    /// The reports every session owes at `now` (monotonic), encoded as MMS PDUs and counted as
    /// sent: for tests and tools that drive a VCC without a network. The server sends them from
    /// each association's own loop instead (`TASE2Server`).
    public func dueReports(at now: Double) -> [DueReport] {
        var out: [DueReport] = []
        for s in partnerSessions {
            let association = s.state.withLock { $0.association } ?? 0
            for job in jobs(s, now: now) {
                for r in reportPDUs(job, s, maxPDUSize: s.maxPDUSize) {
                    var w = BERWriter(capacity: 1024)
                    prepend(r, to: &w)
                    sent(r, s, now: now)
                    out.append(DueReport(association: association, pdu: w.toArray(), critical: r.transferSet.settings.critical))
                }
            }
        }
        return out
    }

    /// The earliest time any session has something due (infinity when none).
    public func nextDueTime() -> Double { partnerSessions.map(nextWake).min() ?? .infinity }
}

/// One report PDU to encode: a full report (`members` nil) or the given changed members.
struct ReportPDU: Sendable {
    struct Item: Sendable {
        let member: Int
        /// AllChangesReported: the value at the change; nil: the current value.
        let value: PointValue?
    }
    let transferSet: EnabledTransferSet
    let cause: DSConditions
    let eventCode: Int16
    let wall: Double
    var members: [Item]?

    var timeStamp: Int32 { Int32(clamping: Int64(wall.rounded(.down))) }
}

extension ReportMember {
    var isSpecial: Bool { if case .special = self { return true } else { return false } }
}
