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
            guard let path = aa.componentPath, path.count == 1, DSTransferSet.memberNames(edition).contains(path[0]) else {
                return .failure(.objectAccessUnsupported)
            }
            guard new.set(path[0], data) else { return .failure(.typeInconsistent) }
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
        let supported: DSConditions = [.intervalTimeOut, .integrityTimeOut]
        if v.conditions.isEmpty || !supported.isSuperset(of: v.conditions) {
            return "conditions \(v.conditions.rawValue) requested; interval and integrity time-outs are supported"
        }
        if v.conditions.contains(.intervalTimeOut) && v.interval <= 0 { return "Interval must be positive" }
        if v.conditions.contains(.integrityTimeOut) && v.integrityCheck <= 0 { return "IntegrityCheck must be positive" }
        if v.rbe { return "report by exception is not supported yet" }
        if v.critical { return "critical transfers are not supported yet" }
        for m in ds.members {
            switch resolve(m, s, a) {
            case .success(.point), .success(.special): continue
            default: return "member \(m) is not accessible"
            }
        }
        let size = encodeReport(name, ds, d, slot.name, .integrityTimeOut, now: 0, s).count
        if size > slot.maxPDUSize { return "a full report of \(size) octets exceeds the negotiated PDU size of \(slot.maxPDUSize)" }
        return nil
    }

    /// A full report (variableListName form), encoded straight from point storage.
    func encodeReport(_ name: ObjectName, _ ds: DataSet, _ d: String, _ tsName: String, _ cause: DSConditions, now: Double,
                      _ s: State) -> [UInt8] {
        var w = BERWriter(capacity: 256 + 24 * ds.members.count)
        let stateQ = configuration.vcc.stateQShape
        InformationReport.prependPDU(.variableListName(name), to: &w) { w in
            var i = ds.members.count - 1
            while i >= 0 {
                let m = ds.members[i]
                i -= 1
                if let special = TASE2Names.transferSetSpecials.first(where: { $0 == m.itemName }), m.domain != nil {
                    switch special {
                    case TASE2Names.transferSetName: TASE2Names.objectNameData(.domainSpecific(domain: d, item: tsName)).prepend(to: &w)
                    case TASE2Names.transferSetTimeStamp: w.prependInteger(Int64(now), tag: .context(5))
                    case TASE2Names.dsConditionsDetected: w.prependBitString(cause.bitString, tag: .context(4))
                    default: w.prependInteger(0, tag: .context(5))
                    }
                    continue
                }
                let index: Int? = switch m {
                case .vmdSpecific(let n): s.vccIndex[n]
                case .domainSpecific(let dom, let n): s.iccIndex[dom]?[n]
                case .aaSpecific: nil
                }
                if let index {
                    let p = s.points[index]
                    p.type.prepend(p.value, stateQ: stateQ, to: &w)
                } else {
                    w.prependInteger(DataAccessError.objectNonExistent.code, tag: .context(0))
                }
            }
        }
        return w.toArray()
    }

    /// Reports due at `now`, each with the association to send it to; advances the schedules.
    public func dueReports(at now: Double) -> [(association: UInt64, pdu: [UInt8])] {
        state.withLock { s in
            var out: [(UInt64, [UInt8])] = []
            for (d, slots) in s.transferSets {
                for t in slots.indices {
                    let slot = slots[t]
                    guard case .enabled(let owner) = slot.state else { continue }
                    var causes: [DSConditions] = []
                    var next = slot
                    if slot.nextIntegrity <= now {
                        causes.append(.integrityTimeOut)
                        while next.nextIntegrity <= now { next.nextIntegrity += Double(slot.value.integrityCheck) }
                    }
                    if slot.nextInterval <= now {
                        causes.append(.intervalTimeOut)
                        while next.nextInterval <= now { next.nextInterval += Double(slot.value.interval) }
                    }
                    guard !causes.isEmpty else { continue }
                    s.transferSets[d]![t] = next
                    guard let name = slot.value.dataSetName, let ds = s.lists[name] else { continue }
                    for c in causes { out.append((owner, encodeReport(name, ds, d, slot.name, c, now: now, s))) }
                }
            }
            return out
        }
    }

    /// When the next report falls due (infinity when no transfer set is enabled).
    public func nextDueTime() -> Double {
        state.withLock { s in
            s.transferSets.values.flatMap { $0 }.reduce(Double.infinity) { min($0, $1.nextInterval, $1.nextIntegrity) }
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
