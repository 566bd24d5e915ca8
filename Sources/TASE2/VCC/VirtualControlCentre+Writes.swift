import BER
import MMS

/// Writes: points (change detection included), DS transfer sets, devices, IM_Transfer_Set.
extension VirtualControlCentre {
    public func write(_ variables: [VariableAccess], values: [MMSData], for association: AssociationContext) async -> [WriteResult] {
        guard let s = session(association) else { return variables.map { _ in .failure(.objectAccessDenied) } }
        var out: [WriteResult] = []
        for (v, d) in zip(variables, values) { out.append(await write(v, d, s)) }
        return out
    }

    public func write(list: ObjectName, values: [MMSData], for association: AssociationContext) async throws(ServiceError) -> [WriteResult] {
        guard let s = session(association) else { throw ServiceError.accessObjectAccessDenied }
        let ds = try dataSet(list, s)
        guard ds.members.count == values.count else { throw ServiceError(.access, 0, additionalDescription: "\(values.count) values for \(ds.members.count) members") }
        var out: [WriteResult] = []
        for (m, d) in zip(ds.members, values) { out.append(await write(VariableAccess(m), d, s)) }
        return out
    }

    func write(_ access: VariableAccess, _ data: MMSData, _ s: PartnerSession) async -> WriteResult {
        guard case .name(let name) = access.variable else { return .failure(.objectAccessUnsupported) }
        let now = clock.monotonic()
        switch resolve(name, s) {
        case .failure(let e): return .failure(e)
        case .success(.point(let i)):
            let h = PointHandle(index: i)
            if case .vmdSpecific(let n) = name, let t = s.table, !t.mayWrite(vcc: n) { return .failure(.objectAccessDenied) }
            guard store.isWritable(h) else { return .failure(.objectAccessDenied) }
            guard access.alternateAccess == nil else { return .failure(.objectAccessUnsupported) }
            guard let v = store.types[i].value(from: data, stateQ: stateQ, keeping: store.value(of: h)) else { return .failure(.typeInconsistent) }
            // The same path as the hosting program's updates: transfer sets watching it report the change.
            store.update(CollectionOfOne((h, v)), now: now)
            writes.yield(PointWrite(handle: h, name: directory.pointName(i), scope: pointScopes[i], value: v, bilateralTable: s.tableID))
            return .success
        case .success(.transferSet(let d, let t)):
            return writeTransferSet(d, t, access.alternateAccess, data, s)
        case .success(.device(let i)):
            switch await devices.operate(i, data, s, now: now, handler: deviceHandler) {
            case .failure(let e): return .failure(e)
            case .success(let op):
                logger.info("device operated", metadata: ["device": "\(op.scope)/\(op.device)", "value": "\(op.real.map { "\($0)" } ?? op.discrete.map { "\($0)" } ?? "-")"])
                deviceContinuation.yield(op)
                return .success
            }
        case .success(.deviceTag(let i)):
            let (result, changed) = await devices.setTag(i, data, s, now: now, handler: deviceHandler)
            // A tag change reports for the data sets that contain `<Dev>_TAG` (spec §5.5).
            if changed { store.tagChanged(device: i, now: now) }
            return result
        case .success(.imTransferSet):
            guard case .boolean(let on) = data, access.alternateAccess == nil else { return .failure(.typeInconsistent) }
            s.state.withLock { $0.imEnabled = on }
            logger.info("information messages \(on ? "enabled" : "disabled")", metadata: ["bilateralTable": "\(s.tableID ?? "open mode")"])
            return .success
        case .success:
            return .failure(.objectAccessDenied)
        }
    }

    // MARK: DS transfer sets

    func writeTransferSet(_ d: String, _ t: Int, _ aa: AlternateAccess?, _ data: MMSData, _ s: PartnerSession) -> WriteResult {
        guard let pool = pools[d], let slot = pool.slot(t) else { return .failure(.objectNonExistent) }
        // Only the association that reserved it (via Next_DSTransfer_Set) may configure it.
        guard slot.state.owner == s.id else { return .failure(.objectAccessDenied) }
        var new = slot.value
        if let aa {
            guard let path = aa.componentPath, path.count == 1, let m = DSTransferSet.Member(rawValue: path[0]),
                  DSTransferSet.Member.members(edition).contains(m) else { return .failure(.objectAccessUnsupported) }
            guard new.set(m, data) else { return .failure(.typeInconsistent) }
        } else {
            guard let whole = DSTransferSet(data, edition: edition) else {
                if case .structure = data { return .failure(.objectAttributeInconsistent) }
                return .failure(.typeInconsistent)
            }
            new = whole
        }
        let key = TransferSetKey(icc: d, slot: t)
        if case .enabled = slot.state {
            var asEnabled = new
            asEnabled.status = true
            // Nothing but Status may change while enabled (libtase2).
            guard asEnabled == slot.value else { return .failure(.objectAttributeInconsistent) }
            guard !new.status else { return .success }
            disable(key, s, keeping: new)
            logger.info("transfer set disabled", metadata: ["transferSet": "\(d)/\(slot.name)"])
            return .success
        }
        guard new.status else {
            _ = pool.update(t, owner: s.id, value: new, state: .reserved(s.id))
            return .success
        }
        switch enable(key, slot.name, new, s) {
        case .failure(let problem):
            logger.notice("transfer set not enabled: \(problem)", metadata: ["transferSet": "\(d)/\(slot.name)"])
            return .failure(.objectAttributeInconsistent)
        case .success:
            logger.info("transfer set enabled", metadata: [
                "transferSet": "\(d)/\(slot.name)", "dataSet": "\(new.dataSetName.map { "\($0)" } ?? "-")",
                "interval": "\(new.interval)", "integrityCheck": "\(new.integrityCheck)", "startTime": "\(new.startTime)",
            ])
            return .success
        }
    }

    struct EnableProblem: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// Validates and enables (spec §5.2): the data set exists and every member is reachable, the
    /// periods are at least the configured minimum, and a full report fits the partner's PDU.
    func enable(_ key: TransferSetKey, _ tsName: String, _ v: DSTransferSet, _ s: PartnerSession) -> Result<Void, EnableProblem> {
        guard let name = v.dataSetName else { return .failure(EnableProblem("no DataSetName")) }
        let ds: DataSet
        do { ds = try dataSet(name, s) } catch { return .failure(EnableProblem("data set \(name) not found")) }
        if v.blockData { return .failure(EnableProblem("BlockData (conformance block 3) is not supported")) }
        if v.conditions.isEmpty { return .failure(EnableProblem("no DSConditionsRequested")) }
        let minimum = configuration.vcc.minimumInterval
        if v.conditions.contains(.intervalTimeOut) && v.interval < max(minimum, 1) {
            return .failure(EnableProblem("Interval \(v.interval) is below the minimum of \(max(minimum, 1)) s"))
        }
        if v.conditions.contains(.integrityTimeOut) && v.integrityCheck < max(minimum, 1) {
            return .failure(EnableProblem("IntegrityCheck \(v.integrityCheck) is below the minimum of \(max(minimum, 1)) s"))
        }
        var sources: [ReportMember] = []
        for m in ds.members {
            guard let r = reportMember(m, s) else { return .failure(EnableProblem("member \(m) is not accessible")) }
            sources.append(r)
        }
        // A transfer set that may send the whole data set (integrity, requests, or changes and
        // intervals without RBE) must fit it in one PDU: refused now rather than lost later.
        // By-exception reports are split to fit instead.
        let fullCauses: DSConditions = v.rbe ? [.integrityTimeOut, .operatorRequest, .otherExternalEvent]
            : [.integrityTimeOut, .intervalTimeOut, .objectChange, .operatorRequest, .otherExternalEvent]
        if !v.conditions.isDisjoint(with: fullCauses) {
            let probe = EnabledTransferSet(key: key, name: tsName, dataSet: name, members: ds.members, sources: sources, changeSet: nil, settings: v,
                                           layout: ReportLayout(names: [], ends: [], specials: [], bounds: []))
            var w = BERWriter(capacity: 256 + 24 * ds.members.count)
            prependFullReport(probe, cause: .integrityTimeOut, eventCode: 0, wall: 0, to: &w)
            if w.count > s.maxPDUSize {
                return .failure(EnableProblem("a full report of \(w.count) octets exceeds the negotiated PDU size of \(s.maxPDUSize)"))
            }
        }
        // Changes are watched for ObjectChange and for RBE interval reports.
        var changeSet: Int32?
        if v.conditions.contains(.objectChange) || v.rbe {
            let keys: [PointStore.Key?] = sources.map {
                switch $0 {
                case .point(let i): return i
                case .tag(let i): return Int32(store.count) + i
                default: return nil
                }
            }
            let limit = v.allChangesReported ? configuration.vcc.allChangesQueueSize : nil
            changeSet = store.register(keys, allChanges: limit) { [weak s] at in
                guard let s else { return }
                s.state.withLock { $0.engine.changed(key, at: at) }
                s.wake()
            }
        }
        let enabled = EnabledTransferSet(key: key, name: tsName, dataSet: name, members: ds.members, sources: sources, changeSet: changeSet, settings: v,
                                         layout: reportLayout(icc: key.icc, members: ds.members, sources: sources))
        guard pools[key.icc]?.update(key.slot, owner: s.id, value: v, state: .enabled(s.id)) == true else {
            if let c = changeSet { store.unregister(c) }
            return .failure(EnableProblem("the transfer set is no longer reserved"))
        }
        let (now, wall) = (clock.monotonic(), clock.wall())
        s.state.withLock { st in
            st.enabled[key] = enabled
            st.engine.enable(key, v, now: now, wall: wall)
        }
        s.wake()
        return .success(())
    }

    /// Status FALSE: the transfer set stops and goes back to RESERVED with its attributes, so its
    /// owner may enable it again.
    func disable(_ key: TransferSetKey, _ s: PartnerSession, keeping value: DSTransferSet) {
        let e = s.state.withLock { st -> EnabledTransferSet? in
            _ = st.engine.disable(key)
            return st.enabled.removeValue(forKey: key)
        }
        if let c = e?.changeSet { store.unregister(c) }
        _ = pools[key.icc]?.update(key.slot, owner: s.id, value: value, state: .reserved(s.id))
        s.wake()
    }

    /// What a data-set member is, for reports: a point, a device's tag (`<Dev>_TAG`, with the
    /// right to read it), or a transfer-set variable of either scope; nil when unreachable.
    func reportMember(_ m: ObjectName, _ s: PartnerSession) -> ReportMember? {
        if case .vmdSpecific(let n) = m, let sp = TransferSetSpecial(rawValue: n) { return .special(sp) }
        switch resolve(m, s) {
        case .success(.point(let i)): return .point(Int32(i))
        case .success(.special): return TransferSetSpecial(rawValue: m.itemName).map(ReportMember.special)
        case .success(.deviceTag(let i)):
            guard devices.configs[i].taggable, devices.may(.getTag, i, s) else { return nil }
            return .tag(Int32(i))
        default: return nil
        }
    }
}
