import BER
import MMS

/// GetNameList, Read and GetVariableAccessAttributes.
extension VirtualControlCentre {
    public func names(of objectClass: GetNameListRequest.ObjectClass, in scope: GetNameListRequest.ObjectScope,
                      for association: AssociationContext) async throws(ServiceError) -> [String] {
        var out: [String] = []
        var after: String?
        while true {
            guard let page = try await namePage(GetNameListRequest(objectClass: objectClass, scope: scope, continueAfter: after),
                                                budget: Int.max / 2, for: association) else { return out }
            out += page.identifiers
            guard page.moreFollows, let last = page.identifiers.last else { return out }
            after = last
        }
    }

    /// One page, read off the sorted directory (and the sorted data-set names): nothing is
    /// rebuilt or sorted per request.
    public func namePage(_ q: GetNameListRequest, budget: Int, for association: AssociationContext) async throws(ServiceError)
        -> GetNameListResponse?
    {
        guard let s = session(association) else { throw ServiceError.accessObjectAccessDenied }
        switch (q.objectClass, q.scope) {
        case (.domain, .vmdSpecific):
            let domains = s.icc.map { [$0] } ?? (configuration.vcc.openMode ? directory.iccNames : [])
            return sortedNamePage(domains, after: q.continueAfter, budget: budget)
        case (.namedVariable, .vmdSpecific):
            return directory.page(.vcc, after: q.continueAfter, budget: budget) { visible($0, .vcc, s) }
        case (.namedVariable, .domainSpecific(let d)):
            guard mayUse(domain: d, s) else {
                throw directory.hasICC(d) ? ServiceError.accessObjectAccessDenied : ServiceError.accessObjectNonExistent
            }
            return directory.page(.icc(d), after: q.continueAfter, budget: budget) { visible($0, .icc(d), s) }
        case (.namedVariableList, .vmdSpecific):
            let names = dataSets.names().filter { s.table?.mayRead(vcc: $0) ?? true }
            return sortedNamePage(names, after: q.continueAfter, budget: budget)
        case (.namedVariableList, .domainSpecific(let d)):
            guard mayUse(domain: d, s) else { throw ServiceError.accessObjectAccessDenied }
            return sortedNamePage(dataSets.names(domain: d), after: q.continueAfter, budget: budget)
        case (.namedVariable, .aaSpecific):
            return sortedNamePage(blocks.blocks.contains(4) ? [TASE2Names.imTransferSet] : [], after: q.continueAfter, budget: budget)
        case (.namedVariableList, .aaSpecific):
            let names = s.state.withLock { $0.aaLists.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) } }
            return sortedNamePage(names, after: q.continueAfter, budget: budget)
        default:
            throw ServiceError(.access, 1)
        }
    }

    // MARK: Reads

    /// Reads that may take time (a select asks the hosting program) take the ordinary path;
    /// everything else is encoded straight from storage.
    public func readsFromStorage(_ request: ReadRequest, for association: AssociationContext) -> Bool {
        guard let s = session(association) else { return false }
        guard case .listOfVariable(let l) = request.variableAccessSpecification else { return true }
        // Only a `<Dev>_SBO` name can be a select: other names are not resolved twice.
        return !l.contains { access in
            if case .name(let n) = access.variable, n.itemName.utf8.reversed().starts(with: "OBS_".utf8), case .success(.deviceSBO) = resolve(n, s) {
                return true
            }
            return false
        }
    }

    func readValue(_ access: VariableAccess, _ s: PartnerSession) async -> AccessResult {
        guard case .name(let name) = access.variable else { return .failure(.objectAccessUnsupported) }
        if case .success(.deviceSBO(let i)) = resolve(name, s) {
            return await devices.select(i, s, now: clock.monotonic(), handler: deviceHandler)
        }
        return read(access, s)
    }

    /// A read of anything but a select (which needs the hosting program).
    func read(_ access: VariableAccess, _ s: PartnerSession) -> AccessResult {
        guard case .name(let name) = access.variable else { return .failure(.objectAccessUnsupported) }
        switch resolve(name, s) {
        case .failure(let e): return .failure(e)
        case .success(let target):
            var value: MMSData
            switch target {
            case .point(let i):
                // Points are read whole (libtase2 refuses component access to points too).
                guard access.alternateAccess == nil else { return .failure(.objectAccessUnsupported) }
                return .success(store.types[i].data(store.value(of: PointHandle(index: i)), stateQ: stateQ))
            case .version: value = edition.versionData
            case .features: value = .bitString(blocks.bitString)
            case .bilateralTableID(let id): value = .visibleString(id)
            case .special, .informationMessage: return .failure(.objectAccessDenied)
            case .device: return .failure(.objectAccessDenied)  // operated by writes only
            case .deviceSBO: return .failure(.temporarilyUnavailable)  // selects go through readValue
            case .deviceTag(let i): return devices.readTag(i, s, now: clock.monotonic())
            case .imTransferSet: value = .boolean(s.imEnabled)
            case .nextTransferSet(let d):
                // Every read takes another transfer set (libtase2, SISCO, the ABB hub of the real capture).
                guard let (_, name) = pools[d]?.reserve(for: s.id) else { return .failure(.temporarilyUnavailable) }
                value = TASE2Names.objectNameData(.domainSpecific(domain: d, item: name))
            case .transferSet(let d, let t):
                guard let slot = pools[d]?.slot(t) else { return .failure(.objectNonExistent) }
                value = slot.value.data(edition)
            }
            if let aa = access.alternateAccess {
                guard case .transferSet = target, let path = aa.componentPath, path.count == 1, case .structure(let parts) = value,
                      let m = DSTransferSet.Member(rawValue: path[0]), let i = DSTransferSet.Member.members(edition).firstIndex(of: m) else {
                    return .failure(.objectAccessUnsupported)
                }
                value = parts[i]
            }
            return .success(value)
        }
    }

    public func read(_ variables: [VariableAccess], for association: AssociationContext) async -> [AccessResult] {
        guard let s = session(association) else { return variables.map { _ in .failure(.objectAccessDenied) } }
        var out: [AccessResult] = []
        out.reserveCapacity(variables.count)
        for v in variables { out.append(await readValue(v, s)) }
        return out
    }

    public func read(list: ObjectName, for association: AssociationContext) async throws(ServiceError) -> [AccessResult] {
        guard let s = session(association) else { throw ServiceError.accessObjectAccessDenied }
        let ds = try dataSet(list, s)
        return ds.members.map { read(VariableAccess($0), s) }
    }

    /// A data set this session may use.
    func dataSet(_ name: ObjectName, _ s: PartnerSession) throws(ServiceError) -> DataSet {
        switch name {
        case .domainSpecific(let d, _):
            guard mayUse(domain: d, s) else { throw ServiceError.accessObjectAccessDenied }
        case .vmdSpecific(let n):
            if let t = s.table, !t.mayRead(vcc: n) { throw ServiceError.accessObjectNonExistent }
        case .aaSpecific(let n):
            guard let ds = s.state.withLock({ $0.aaLists[n] }) else { throw ServiceError.accessObjectNonExistent }
            return ds
        }
        // A vmd-specific name may also mean an association-specific list (some clients say so).
        if let ds = dataSets.get(name) { return ds }
        if case .vmdSpecific(let n) = name, let ds = s.state.withLock({ $0.aaLists[n] }) { return ds }
        throw ServiceError.accessObjectNonExistent
    }

    /// Answers a Read (of variables or of a data set) by encoding points straight from storage
    /// into the buffer that is written: no value tree, whatever the number of points.
    public func prependReadResponse(_ request: ReadRequest, invokeID: UInt32, for association: AssociationContext,
                                    to w: inout BERWriter) throws(ServiceError) {
        guard let s = session(association) else { throw ServiceError.accessObjectAccessDenied }
        enum Item {
            case point(Int)
            case other(AccessResult)
        }
        let accesses: [VariableAccess]
        var planKey: (ObjectName, [ObjectName], UInt64?)?
        switch request.variableAccessSpecification {
        case .listOfVariable(let l): accesses = l
        case .variableListName(let n):
            // A data set of points read again: its members resolved the last time. A VCC- or
            // ICC-scope list no one defined or deleted since is not even looked up (rights are
            // fixed per session); otherwise the same member array, compared by identity first,
            // means the same list.
            let generation = dataSets.generation.load(ordering: .acquiring)
            let plan = s.state.withLock { $0.readPlans[n] }
            if let plan, plan.generation == generation {
                prependPoints(plan.points, request, invokeID: invokeID, to: &w)
                return
            }
            let members = try dataSet(n, s).members
            if let plan, plan.members == members {
                // Still the same list: good for this generation too (partners define and delete
                // lists all the time, so a plan must not stay on the slow path for ever).
                if plan.generation != nil, dataSets.get(n) != nil {
                    s.state.withLock {
                        $0.readPlans[n] = PartnerSession.ReadPlan(members: plan.members, points: plan.points, generation: generation)
                    }
                }
                prependPoints(plan.points, request, invokeID: invokeID, to: &w)
                return
            }
            accesses = members.map { VariableAccess($0) }
            planKey = (n, members, dataSets.get(n) != nil ? generation : nil)
        }
        // Resolve in request order (a read of Next_DSTransfer_Set reserves), then encode back to front.
        let items: [Item] = accesses.map { access in
            if case .name(let name) = access.variable, access.alternateAccess == nil, case .success(.point(let i)) = resolve(name, s) {
                return .point(i)
            }
            return .other(read(access, s))
        }
        if let (n, members, generation) = planKey {
            let points = items.compactMap { if case .point(let i) = $0 { i } else { nil } }
            if points.count == items.count {
                s.state.withLock { st in
                    // Bounded: a partner defining and reading new lists for ever must not grow it.
                    if st.readPlans.count >= 64 { st.readPlans.removeAll() }
                    st.readPlans[n] = PartnerSession.ReadPlan(members: members, points: points, generation: generation)
                }
            }
        }
        prependResponse(request, invokeID: invokeID, to: &w) { storage, w in
            for item in items.reversed() {
                switch item {
                case .point(let i): storage.prepend(i, to: &w)
                case .other(let r): r.prepend(to: &w)
                }
            }
        }
    }

    /// Points encoded behind one capacity check (64 × 40 octets: answers are framed with that
    /// much room to spare, so the last reservation does not outgrow the buffer).
    static let pointsPerReservation = 64

    /// A read response of points only, straight from storage (a data set read again): 64 points
    /// at a time through one cursor, since a capacity check per point made the writer's position
    /// a load and a store per point (its bytes may alias it).
    func prependPoints(_ points: [Int], _ request: ReadRequest, invokeID: UInt32, to w: inout BERWriter) {
        prependResponse(request, invokeID: invokeID, to: &w) { storage, w in
            var k = points.count
            while k > 0 {
                let n = min(k, Self.pointsPerReservation)
                w.prependUnchecked(maxCount: n * PointType.maxEncodedSizeOfAnyType) { c in
                    var j = k - 1
                    while j >= k - n {
                        storage.prepend(points[j], to: &c)
                        j -= 1
                    }
                }
                k -= n
            }
        }
    }

    /// The point store's arrays, borrowed under its lock while a response is encoded.
    struct StoredPoints {
        let types: UnsafeBufferPointer<PointType>
        let values: UnsafeBufferPointer<PointValue>
        let stateQ: StateQShape

        /// Point `i` into room already reserved.
        @inline(__always) func prepend(_ i: Int, to c: inout BERPrependCursor) {
            precondition(i >= 0 && i < types.count, "a read names a point the store does not have")
            types[i].prepend(values.baseAddress! + i, stateQ: stateQ, to: &c)
        }

        /// Point `i`, with its own capacity check.
        @inline(__always) func prepend(_ i: Int, to w: inout BERWriter) {
            w.prependUnchecked(maxCount: PointType.maxEncodedSizeOfAnyType) { c in prepend(i, to: &c) }
        }
    }

    /// A read response whose results `body` prepends (last first), under the point store's lock.
    func prependResponse(_ request: ReadRequest, invokeID: UInt32, to w: inout BERWriter,
                         _ body: (StoredPoints, inout BERWriter) -> Void) {
        let stateQ = self.stateQ
        let types = store.types
        store.withValues { values in
            ReadResponse.prependPDU(invokeID: invokeID, specification: request.specificationWithResult ? request.variableAccessSpecification : nil,
                                    to: &w) { w in
                types.withUnsafeBufferPointer { t in
                    values.withUnsafeBufferPointer { v in
                        precondition(t.count == v.count)
                        body(StoredPoints(types: t, values: v, stateQ: stateQ), &w)
                    }
                }
            }
        }
    }

    // MARK: Type descriptions

    public func variableAccessAttributes(of name: ObjectName, for association: AssociationContext) async throws(ServiceError)
        -> GetVariableAccessAttributesResponse
    {
        guard let s = session(association), case .success(let target) = resolve(name, s) else { throw ServiceError.accessObjectNonExistent }
        let type: TypeSpecification
        switch target {
        case .point(let i): type = store.types[i].typeSpecification(stateQ: stateQ)
        case .version: type = Edition.versionType
        case .features: type = .bitString(12)
        case .bilateralTableID: type = .visibleString(-32)
        case .nextTransferSet: type = TASE2Names.objectNameType
        case .transferSet: type = DSTransferSet.typeSpecification(edition)
        case .imTransferSet: type = .boolean
        case .device(let i): type = devices.configs[i].kind == .setpointReal ? .float32 : .integer(16)
        case .deviceSBO: type = .integer(16)
        case .deviceTag: type = .structure(components: [.init("Flags", .bitString(3)), .init("Reason", .visibleString(-255))])
        case .informationMessage:
            if name.itemName == TASE2Names.infoMessHeader { type = TASE2Names.infoMessHeaderType } else {
                type = .octetString(Int32(name.itemName.dropFirst(10)) ?? 0)
            }
        case .special:
            switch TransferSetSpecial(rawValue: name.itemName) {
            case .name?: type = TASE2Names.objectNameType
            case .timeStamp?: type = .integer(32)
            case .conditions?: type = .bitString(5)
            default: type = .integer(16)
            }
        }
        return GetVariableAccessAttributesResponse(mmsDeletable: false, typeSpecification: type)
    }
}
