import BER
import Logging
import MMS
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A handle on one point, for fast updates.
public struct PointHandle: Hashable, Sendable {
    public let index: Int
}

/// A partner's write to a point, as the hosting program hears it.
public struct PointWrite: Hashable, Sendable {
    public var handle: PointHandle
    public var name: String
    public var scope: ObjectScope
    public var value: PointValue
    /// The writing partner's bilateral table (nil in open mode).
    public var bilateralTable: String?
}

/// The Virtual Control Centre: TASE.2's object model on top of an MMS VMD. VCC objects are
/// VMD-specific, each bilateral table's ICC is an MMS domain, and every request is checked
/// against the table the association is bound to.
public final class VirtualControlCentre: VirtualManufacturingDevice {
    struct Point: Sendable {
        let name: String
        let type: PointType
        let scope: ObjectScope
        let writable: Bool
        var value: PointValue
    }

    struct DataSet: Sendable {
        var members: [ObjectName]
        var deletable: Bool
    }

    enum TSState: Hashable, Sendable {
        case free
        case reserved(UInt64)
        case enabled(UInt64)
        var owner: UInt64? {
            switch self {
            case .free: return nil
            case .reserved(let a), .enabled(let a): return a
            }
        }
    }

    struct TransferSetSlot: Sendable {
        let name: String
        var value = DSTransferSet()
        var state = TSState.free
        var nextInterval: Double = .infinity
        var nextIntegrity: Double = .infinity
        /// Negotiated PDU size of the owning association.
        var maxPDUSize = 65_000
        /// Report by exception: which data-set members changed since the last report (flags in
        /// member order, and the same indices in the order they changed).
        var changedFlags: [Bool] = []
        var changed: [Int] = []
        /// When the object-change report falls due (first change + BufferTime).
        var changeDeadline: Double = .infinity
        /// Critical transfers: reports sent and not yet acknowledged (their Transfer_Set_Time_Stamp, and when sent).
        var outstanding: [(timeStamp: Int32, sentAt: Double)] = []
        /// AllChangesReported: every change with its value at change time, in order.
        var changeLog: [(member: Int, value: PointValue)] = []
        /// Operator requests and external events waiting for their report (cause, event code).
        var pending: [(cause: DSConditions, eventCode: Int16)] = []

        mutating func clearChanges() {
            for m in changed { changedFlags[m] = false }
            changed.removeAll(keepingCapacity: true)
            changeLog.removeAll(keepingCapacity: true)
            changeDeadline = .infinity
        }
    }

    /// One data-set member of one enabled transfer set that watches a point.
    struct Watch: Sendable, Hashable {
        let icc: String
        let slot: Int
        let member: Int
    }

    /// What one association is bound to.
    struct Binding: Sendable {
        let table: Int?
        let context: AssociationContext
    }

    struct State: Sendable {
        var points: [Point] = []
        var vccIndex: [String: Int] = [:]
        var iccIndex: [String: [String: Int]] = [:]
        var lists: [ObjectName: DataSet] = [:]
        var transferSets: [String: [TransferSetSlot]] = [:]
        var bindings: [UInt64: Binding] = [:]
        /// Points some enabled transfer set watches for changes, and by whom.
        var watched: [Bool] = []
        var watchers: [Int: [Watch]] = [:]
        /// Associations that enabled information messages (Block 4).
        var imEnabled: Set<UInt64> = []
        /// Devices (Block 5) and where to find them.
        var devices: [Device] = []
        var deviceIndex: [ObjectScope: [String: Int]] = [:]
        var nextCheckBack: Int16 = 0
    }

    public let configuration: TASE2Configuration
    public let tables: [BilateralTable]
    public let identity: IdentifyResponse
    let state: Mutex<State>
    let logger: Logger
    let clock: @Sendable () -> Double
    let writes: AsyncStream<PointWrite>.Continuation
    public let pointWrites: AsyncStream<PointWrite>
    /// What the hosting program should hear about transfer sets (acknowledgements, time-outs, NACKs).
    public let events: AsyncStream<TASE2Event>
    let eventContinuation: AsyncStream<TASE2Event>.Continuation
    /// How long a critical report may wait for its acknowledgement.
    public let criticalReportTimeout: Double
    /// How long a select (SBO) stays armed.
    public let selectTimeout: Double
    /// Partners' operations of devices, as they happen.
    public let deviceOperations: AsyncStream<DeviceOperation>
    let deviceContinuation: AsyncStream<DeviceOperation>.Continuation
    /// Most changes kept per transfer set for AllChangesReported before the oldest are dropped (and logged).
    public let changeLogLimit = 10_000
    let iccNames: [String]

    /// Blocks this VCC implements (Supported_Features).
    public static let blocks = ConformanceBlocks([1, 2, 4, 5])

    public init(configuration: TASE2Configuration, logger: Logger = Logger(label: "freetase2.vcc"),
                clock: @escaping @Sendable () -> Double = { currentTime() }, criticalReportTimeout: Double = 30,
                selectTimeout: Double = 30) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.tables = configuration.bilateralTables.map(BilateralTable.init)
        self.identity = IdentifyResponse(vendorName: configuration.vcc.vendor, modelName: configuration.vcc.model, revision: configuration.vcc.revision)
        self.logger = logger
        self.clock = clock
        (pointWrites, writes) = AsyncStream.makeStream(of: PointWrite.self, bufferingPolicy: .bufferingNewest(10_000))
        (events, eventContinuation) = AsyncStream.makeStream(of: TASE2Event.self, bufferingPolicy: .bufferingNewest(10_000))
        self.criticalReportTimeout = criticalReportTimeout
        self.selectTimeout = selectTimeout
        (deviceOperations, deviceContinuation) = AsyncStream.makeStream(of: DeviceOperation.self, bufferingPolicy: .bufferingNewest(10_000))
        var s = State()
        var iccs = configuration.bilateralTables.map(\.icc)
        for p in configuration.points {
            let i = s.points.count
            s.points.append(Point(name: p.name, type: p.type, scope: p.scope, writable: p.writable, value: p.initial))
            switch p.scope {
            case .vcc: s.vccIndex[p.name] = i
            case .icc(let d):
                s.iccIndex[d, default: [:]][p.name] = i
                if !iccs.contains(d) { iccs.append(d) }
            }
        }
        for d in configuration.dataSets {
            s.lists[d.scope.objectName(d.name)] = DataSet(members: d.members, deletable: false)
        }
        for t in configuration.bilateralTables where s.transferSets[t.icc] == nil {
            s.transferSets[t.icc] = (1...max(t.transferSets, 1)).prefix(t.transferSets).map { TransferSetSlot(name: "DSTrans\($0)") }
        }
        iccNames = VMDDispatcher.sorted(iccs)
        s.watched = [Bool](repeating: false, count: s.points.count)
        for d in configuration.devices {
            s.deviceIndex[d.scope, default: [:]][d.name] = s.devices.count
            s.devices.append(Device(config: d))
        }
        state = Mutex(s)
    }

    // MARK: Application API

    public func handle(_ name: String, in scope: ObjectScope) -> PointHandle? {
        state.withLock { s in
            switch scope {
            case .vcc: return s.vccIndex[name].map(PointHandle.init)
            case .icc(let d): return s.iccIndex[d]?[name].map(PointHandle.init)
            }
        }
    }

    /// All points: handle, type, name and scope.
    public var points: [(PointHandle, PointType, String, ObjectScope)] {
        state.withLock { s in s.points.enumerated().map { (PointHandle(index: $0.offset), $0.element.type, $0.element.name, $0.element.scope) } }
    }

    /// Updates many points under one lock; visible to reads and reports at once.
    public func update(_ updates: [(PointHandle, PointValue)]) {
        state.withLock { s in
            var now: Double?
            for (h, v) in updates where h.index >= 0 && h.index < s.points.count {
                let i = h.index
                // Report by exception: a point some transfer set watches, whose value really changed.
                if s.watched[i] && s.points[i].value != v {
                    let t = now ?? clock()
                    now = t
                    markChanged(i, value: v, at: t, &s)
                }
                s.points[i].value = v
            }
        }
    }

    public func update(_ handle: PointHandle, to value: PointValue) { update([(handle, value)]) }

    public func value(of handle: PointHandle) -> PointValue {
        state.withLock { s in s.points[handle.index].value }
    }

    // MARK: Association

    public func accept(_ request: AssociationRequest) async -> AssociationDecision {
        if tables.isEmpty && configuration.vcc.openMode { return .accept }
        if tables.contains(where: { $0.matches(request) }) { return .accept }
        logger.notice("association refused: no bilateral table for the partner", metadata: [
            "callingAPTitle": "\(request.callingAPTitle.map { "\($0)" } ?? "-")",
            "callingAEQualifier": "\(request.callingAEQualifier.map { "\($0)" } ?? "-")",
            "peer": "\(request.peerAddress ?? "?")",
        ])
        return .reject(.callingAPTitleNotRecognized)
    }

    public func associationEstablished(_ association: AssociationContext) async {
        let table = association.info.request.flatMap { r in tables.firstIndex { $0.matches(r) } }
        state.withLock { s in s.bindings[association.id] = Binding(table: table, context: association) }
        logger.info("association bound", metadata: [
            "bilateralTable": "\(table.map { tables[$0].id } ?? "open mode")",
            "partner": "\(association.info.peerAPTitle.map { "\($0)" } ?? "-")",
        ])
    }

    public func associationEnded(_ association: AssociationContext) async {
        state.withLock { s in
            s.bindings[association.id] = nil
            s.imEnabled.remove(association.id)
            for (icc, slots) in s.transferSets {
                for i in slots.indices where slots[i].state.owner == association.id {
                    if case .enabled = slots[i].state { logger.info("transfer set stopped with its association", metadata: ["transferSet": "\(icc)/\(slots[i].name)"]) }
                    unwatch(icc, i, &s)
                    s.transferSets[icc]![i] = TransferSetSlot(name: slots[i].name)
                }
            }
        }
    }

    /// The table and ICC an association may use (nil ICC in open mode: every ICC). An
    /// association with no binding is denied everything: it gets a table that grants nothing.
    func scope(_ s: State, _ a: AssociationContext) -> (table: BilateralTable?, icc: String?) {
        guard let b = s.bindings[a.id] else { return (Self.unbound, Self.unbound.icc) }
        guard let t = b.table else { return (nil, nil) }
        return (tables[t], tables[t].icc)
    }

    /// Grants nothing: no ICC, no VCC rights.
    static let unbound = BilateralTable(BilateralTableConfig(id: "", icc: "", partnerAPTitle: [0, 0], vccRead: [], vccWrite: [], transferSets: 0))

    func isBound(_ s: State, _ a: AssociationContext) -> Bool { s.bindings[a.id] != nil }

    func mayUse(domain: String, _ s: State, _ a: AssociationContext) -> Bool {
        let (table, icc) = scope(s, a)
        if table == nil { return configuration.vcc.openMode && iccNames.contains(domain) }
        return domain == icc
    }

    // MARK: Names

    public func names(of objectClass: GetNameListRequest.ObjectClass, in scope: GetNameListRequest.ObjectScope,
                      for association: AssociationContext) async throws(ServiceError) -> [String] {
        try state.withLock { s throws(ServiceError) -> [String] in
            guard isBound(s, association) else { throw ServiceError.accessObjectAccessDenied }
            let (table, icc) = self.scope(s, association)
            switch (objectClass, scope) {
            case (.domain, .vmdSpecific):
                if let icc { return [icc] }
                return table == nil && configuration.vcc.openMode ? iccNames : []
            case (.namedVariable, .vmdSpecific):
                var names = [TASE2Names.version, TASE2Names.supportedFeatures] + informationMessageNames + deviceNames(.vcc, s, association)
                for (n, _) in s.vccIndex where table?.mayRead(vcc: n) ?? true { names.append(n) }
                return VMDDispatcher.sorted(names)
            case (.namedVariable, .domainSpecific(let d)):
                guard mayUse(domain: d, s, association) else {
                    throw iccNames.contains(d) ? ServiceError.accessObjectAccessDenied : ServiceError.accessObjectNonExistent
                }
                var names = [TASE2Names.bilateralTableID, TASE2Names.nextDSTransferSet] + Array(TASE2Names.transferSetSpecials) + informationMessageNames
                names += s.iccIndex[d].map { Array($0.keys) } ?? []
                names += s.transferSets[d]?.map(\.name) ?? []
                names += deviceNames(.icc(d), s, association)
                return VMDDispatcher.sorted(names)
            case (.namedVariableList, .vmdSpecific):
                return VMDDispatcher.sorted(s.lists.keys.compactMap {
                    if case .vmdSpecific(let n) = $0, table?.mayRead(vcc: n) ?? true { return n }
                    return nil
                })
            case (.namedVariableList, .domainSpecific(let d)):
                guard mayUse(domain: d, s, association) else { throw ServiceError.accessObjectAccessDenied }
                return VMDDispatcher.sorted(s.lists.keys.compactMap { $0.domain == d ? $0.itemName : nil })
            case (.namedVariable, .aaSpecific):
                return [TASE2Names.imTransferSet]
            case (.namedVariableList, .aaSpecific):
                return []
            default:
                throw ServiceError(.access, 1)
            }
        }
    }

    // MARK: Reads

    /// Resolves a name to what a read of it returns.
    enum Target {
        case point(Int)
        case version, features, bilateralTableID(String)
        case nextTransferSet(String)
        case transferSet(String, Int)
        case special
        case imTransferSet
        case device(Int), deviceSBO(Int), deviceTag(Int)
        /// Info_Mess_Header or Info_Buff_<n>: report-only, like the transfer-set variables.
        case informationMessage(bufferSize: Int?)
    }

    /// Info_Mess_Header, or the buffer size of an Info_Buff_<n> name.
    func informationMessageName(_ n: String) -> Target? {
        if n == TASE2Names.infoMessHeader { return .informationMessage(bufferSize: nil) }
        guard n.hasPrefix("Info_Buff_"), let size = Int(n.dropFirst(10)), configuration.vcc.infoBufferSizes.contains(size) else { return nil }
        return .informationMessage(bufferSize: size)
    }

    var informationMessageNames: [String] {
        [TASE2Names.infoMessHeader] + configuration.vcc.infoBufferSizes.map(TASE2Names.infoBuffer)
    }

    func resolve(_ name: ObjectName, _ s: State, _ a: AssociationContext) -> Result<Target, DataAccessError> {
        guard isBound(s, a) else { return .failure(.objectAccessDenied) }
        let (table, _) = scope(s, a)
        switch name {
        case .vmdSpecific(let n):
            if n == TASE2Names.version { return .success(.version) }
            if n == TASE2Names.supportedFeatures { return .success(.features) }
            if let im = informationMessageName(n) { return .success(im) }
            if let dev = deviceTarget(n, .vcc, s) { return .success(dev) }
            guard let i = s.vccIndex[n] else { return .failure(.objectNonExistent) }
            guard table?.mayRead(vcc: n) ?? true else { return .failure(.objectAccessDenied) }
            return .success(.point(i))
        case .domainSpecific(let d, let n):
            guard mayUse(domain: d, s, a) else { return .failure(iccNames.contains(d) ? .objectAccessDenied : .objectNonExistent) }
            if n == TASE2Names.bilateralTableID { return .success(.bilateralTableID(table?.id ?? d)) }
            if n == TASE2Names.nextDSTransferSet { return .success(.nextTransferSet(d)) }
            if TASE2Names.transferSetSpecials.contains(n) { return .success(.special) }
            if let i = s.iccIndex[d]?[n] { return .success(.point(i)) }
            if let dev = deviceTarget(n, .icc(d), s) { return .success(dev) }
            if let t = s.transferSets[d]?.firstIndex(where: { $0.name == n }) { return .success(.transferSet(d, t)) }
            if let im = informationMessageName(n) { return .success(im) }
            return .failure(.objectNonExistent)
        case .aaSpecific(let n):
            return n == TASE2Names.imTransferSet ? .success(.imTransferSet) : .failure(.objectNonExistent)
        }
    }

    func read(_ access: VariableAccess, _ s: inout State, _ a: AssociationContext) -> AccessResult {
        guard case .name(let name) = access.variable else { return .failure(.objectAccessUnsupported) }
        switch resolve(name, s, a) {
        case .failure(let e): return .failure(e)
        case .success(let target):
            var value: MMSData
            switch target {
            case .point(let i):
                // Points are read whole (libtase2 refuses component access to points too).
                guard access.alternateAccess == nil else { return .failure(.objectAccessUnsupported) }
                return .success(s.points[i].type.data(s.points[i].value, stateQ: configuration.vcc.stateQShape))
            case .version: value = configuration.vcc.edition.versionData
            case .features: value = .bitString(Self.blocks.bitString)
            case .bilateralTableID(let id): value = .visibleString(id)
            case .special, .informationMessage: return .failure(.objectAccessDenied)
            case .device: return .failure(.objectAccessDenied)  // operated by writes only
            case .deviceSBO(let i): return select(i, &s, a)
            case .deviceTag(let i): return readTag(i, &s)
            case .imTransferSet: value = .boolean(s.imEnabled.contains(a.id))
            case .nextTransferSet(let d):
                guard let slot = reserveTransferSet(d, &s, a) else { return .failure(.temporarilyUnavailable) }
                value = TASE2Names.objectNameData(.domainSpecific(domain: d, item: slot))
            case .transferSet(let d, let t):
                value = s.transferSets[d]![t].value.data(configuration.vcc.edition)
            }
            if let aa = access.alternateAccess {
                guard let path = aa.componentPath, path.count == 1, case .structure(let parts) = value,
                      case .transferSet = target,
                      let i = DSTransferSet.Member.members(configuration.vcc.edition).map(\.rawValue).firstIndex(of: path[0]) else {
                    return .failure(.objectAccessUnsupported)
                }
                value = parts[i]
            }
            return .success(value)
        }
    }

    /// Next_DSTransfer_Set: the transfer set this association already reserved and never enabled,
    /// else a free one (spec C2: repeated reads do not leak transfer sets).
    func reserveTransferSet(_ d: String, _ s: inout State, _ a: AssociationContext) -> String? {
        guard var slots = s.transferSets[d] else { return nil }
        defer { s.transferSets[d] = slots }
        if let i = slots.firstIndex(where: { $0.state == .reserved(a.id) }) { return slots[i].name }
        guard let i = slots.firstIndex(where: { $0.state == .free }) else { return nil }
        slots[i].state = .reserved(a.id)
        slots[i].maxPDUSize = a.info.parameters.maxPDUSize
        return slots[i].name
    }

    public func read(_ variables: [VariableAccess], for association: AssociationContext) async -> [AccessResult] {
        state.withLock { s in variables.map { read($0, &s, association) } }
    }

    public func read(list: ObjectName, for association: AssociationContext) async throws(ServiceError) -> [AccessResult] {
        try state.withLock { s throws(ServiceError) -> [AccessResult] in
            let ds = try dataSet(list, s, association)
            return ds.members.map { read(VariableAccess($0), &s, association) }
        }
    }

    func dataSet(_ name: ObjectName, _ s: State, _ a: AssociationContext) throws(ServiceError) -> DataSet {
        switch name {
        case .domainSpecific(let d, _):
            guard mayUse(domain: d, s, a) else { throw ServiceError.accessObjectAccessDenied }
        case .vmdSpecific(let n):
            if let t = scope(s, a).table, !t.mayRead(vcc: n) { throw ServiceError.accessObjectNonExistent }
        case .aaSpecific: break
        }
        guard let ds = s.lists[name] ?? (name.domain == nil ? s.lists[.aaSpecific(name.itemName)] : nil) else {
            throw ServiceError.accessObjectNonExistent
        }
        return ds
    }

    // MARK: Writes

    public func write(_ variables: [VariableAccess], values: [MMSData], for association: AssociationContext) async -> [WriteResult] {
        var events: [PointWrite] = []
        let results = state.withLock { s in
            zip(variables, values).map { write($0, $1, &s, association, &events) }
        }
        for e in events { writes.yield(e) }
        return results
    }

    func write(_ access: VariableAccess, _ data: MMSData, _ s: inout State, _ a: AssociationContext, _ events: inout [PointWrite]) -> WriteResult {
        guard case .name(let name) = access.variable else { return .failure(.objectAccessUnsupported) }
        switch resolve(name, s, a) {
        case .failure(let e): return .failure(e)
        case .success(.point(let i)):
            let p = s.points[i]
            if case .vmdSpecific(let n) = name, let t = scope(s, a).table, !t.mayWrite(vcc: n) { return .failure(.objectAccessDenied) }
            guard p.writable else { return .failure(.objectAccessDenied) }
            guard access.alternateAccess == nil else { return .failure(.objectAccessUnsupported) }
            guard let v = p.type.value(from: data, stateQ: configuration.vcc.stateQShape, keeping: p.value) else { return .failure(.typeInconsistent) }
            s.points[i].value = v
            events.append(PointWrite(handle: PointHandle(index: i), name: p.name, scope: p.scope, value: v, bilateralTable: scope(s, a).table?.id))
            return .success
        case .success(.transferSet(let d, let t)):
            return writeTransferSet(d, t, access.alternateAccess, data, &s, a)
        case .success(.device(let i)):
            var ops: [DeviceOperation] = []
            let r = operate(i, data, &s, a, &ops)
            for op in ops { deviceContinuation.yield(op) }
            return r
        case .success(.deviceTag(let i)):
            return setTag(i, data, &s, a)
        case .success(.imTransferSet):
            guard case .boolean(let on) = data, access.alternateAccess == nil else { return .failure(.typeInconsistent) }
            if on { s.imEnabled.insert(a.id) } else { s.imEnabled.remove(a.id) }
            logger.info("information messages \(on ? "enabled" : "disabled")", metadata: ["bilateralTable": "\(scope(s, a).table?.id ?? "open mode")"])
            return .success
        case .success:
            return .failure(.objectAccessDenied)
        }
    }

    public func write(list: ObjectName, values: [MMSData], for association: AssociationContext) async throws(ServiceError) -> [WriteResult] {
        var events: [PointWrite] = []
        let results = try state.withLock { s throws(ServiceError) -> [WriteResult] in
            let ds = try dataSet(list, s, association)
            guard ds.members.count == values.count else { throw ServiceError(.access, 0, additionalDescription: "\(values.count) values for \(ds.members.count) members") }
            return zip(ds.members, values).map { write(VariableAccess($0), $1, &s, association, &events) }
        }
        for e in events { writes.yield(e) }
        return results
    }

    // MARK: Type descriptions

    public func variableAccessAttributes(of name: ObjectName, for association: AssociationContext) async throws(ServiceError)
        -> GetVariableAccessAttributesResponse
    {
        let type: TypeSpecification? = state.withLock { s in
            switch resolve(name, s, association) {
            case .failure: return nil
            case .success(.point(let i)): return s.points[i].type.typeSpecification(stateQ: configuration.vcc.stateQShape)
            case .success(.version): return Edition.versionType
            case .success(.features): return .bitString(12)
            case .success(.bilateralTableID): return .visibleString(-32)
            case .success(.nextTransferSet): return TASE2Names.objectNameType
            case .success(.transferSet): return DSTransferSet.typeSpecification(configuration.vcc.edition)
            case .success(.imTransferSet): return .boolean
            case .success(.device(let i)): return s.devices[i].config.kind == .setpointReal ? .float32 : .integer(16)
            case .success(.deviceSBO): return .integer(16)
            case .success(.deviceTag): return .structure(components: [.init("Flags", .bitString(3)), .init("Reason", .visibleString(-255))])
            case .success(.informationMessage(let size)): return size.map { .octetString(Int32($0)) } ?? TASE2Names.infoMessHeaderType
            case .success(.special):
                switch name.itemName {
                case TASE2Names.transferSetName: return TASE2Names.objectNameType
                case TASE2Names.transferSetTimeStamp: return .integer(32)
                case TASE2Names.dsConditionsDetected: return .bitString(5)
                default: return .integer(16)
                }
            }
        }
        guard let type else { throw ServiceError.accessObjectNonExistent }
        return GetVariableAccessAttributesResponse(mmsDeletable: false, typeSpecification: type)
    }

    // MARK: Data sets

    public func defineList(_ request: DefineNamedVariableListRequest, for association: AssociationContext) async throws(ServiceError) {
        try state.withLock { s throws(ServiceError) in
            switch request.name {
            case .domainSpecific(let d, let n):
                // Data sets of a partner live in its own ICC only.
                guard mayUse(domain: d, s, association) else { throw ServiceError.accessObjectAccessDenied }
                guard TASE2Names.isValidObjectName(n) else { throw ServiceError.definitionObjectAttributeInconsistent }
            case .vmdSpecific:
                if scope(s, association).table != nil { throw ServiceError.accessObjectAccessDenied }
            case .aaSpecific: break
            }
            guard s.lists[request.name] == nil else { throw ServiceError.definitionObjectExists }
            guard !request.variables.isEmpty, request.variables.count <= 2000 else { throw ServiceError.definitionObjectAttributeInconsistent }
            var members: [ObjectName] = []
            for v in request.variables {
                guard case .name(let n) = v.variable, v.alternateAccess == nil else { throw ServiceError.definitionObjectAttributeInconsistent }
                switch resolve(n, s, association) {
                case .success(.point), .success(.special), .success(.deviceTag): members.append(n)
                case .success: throw ServiceError.definitionObjectAttributeInconsistent
                case .failure(.objectAccessDenied): throw ServiceError.accessObjectAccessDenied
                case .failure: throw ServiceError.definitionObjectUndefined
                }
            }
            s.lists[request.name] = DataSet(members: members, deletable: true)
        }
    }

    public func listAttributes(of name: ObjectName, for association: AssociationContext) async throws(ServiceError)
        -> GetNamedVariableListAttributesResponse
    {
        let ds = try state.withLock { s throws(ServiceError) in try dataSet(name, s, association) }
        return GetNamedVariableListAttributesResponse(mmsDeletable: ds.deletable, variables: ds.members.map { VariableAccess($0) })
    }

    public func deleteLists(_ request: DeleteNamedVariableListRequest, for association: AssociationContext) async throws(ServiceError)
        -> DeleteNamedVariableListResponse
    {
        state.withLock { s in
            let names = request.targets(among: s.lists.keys)
            var matched: UInt32 = 0, deleted: UInt32 = 0
            for n in names {
                if case .domainSpecific(let d, _) = n, !mayUse(domain: d, s, association) { continue }
                guard let ds = s.lists[n] else { continue }
                matched += 1
                // Not while an enabled transfer set uses it (spec §12 #27).
                let inUse = s.transferSets.values.contains { $0.contains { slot in
                    if case .enabled = slot.state { return slot.value.dataSetName == n }
                    return false
                } }
                if ds.deletable && !inUse {
                    s.lists[n] = nil
                    deleted += 1
                }
            }
            return DeleteNamedVariableListResponse(numberMatched: matched, numberDeleted: deleted)
        }
    }

    /// Transfer_Report_ACK / _NACK from the partner (spec §5.2): an ACK clears the outstanding
    /// critical reports of that transfer set (up to its time stamp when one is given).
    public func received(_ report: InformationReport, for association: AssociationContext) async {
        guard case .listOfVariable(let items) = report.variableAccessSpecification, items.count == report.results.count else { return }
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
        guard let kind, let target, case .domainSpecific(let d, let tsName) = target else {
            if kind != nil { logger.warning("acknowledgement naming no transfer set ignored") }
            return
        }
        let event: TASE2Event? = state.withLock { s in
            guard let t = s.transferSets[d]?.firstIndex(where: { $0.name == tsName && $0.state.owner == association.id }) else { return nil }
            if kind == TASE2Names.transferReportNACK { return .negativeAcknowledgement(icc: d, transferSet: tsName) }
            var slot = s.transferSets[d]![t]
            let before = slot.outstanding.count
            slot.outstanding.removeAll { ts in timeStamp.map { Int64(ts.timeStamp) <= $0 } ?? true }
            s.transferSets[d]![t] = slot
            return before > slot.outstanding.count ? .criticalReportAcknowledged(icc: d, transferSet: tsName) : nil
        }
        if let event {
            if case .negativeAcknowledgement = event { logger.warning("partner sent a NACK", metadata: ["transferSet": "\(d)/\(tsName)"]) }
            if case .criticalReportAcknowledged = event { logger.debug("critical report acknowledged", metadata: ["transferSet": "\(d)/\(tsName)"]) }
            eventContinuation.yield(event)
        }
    }
}

/// Things about transfer sets the hosting program should hear.
public enum TASE2Event: Hashable, Sendable {
    case criticalReportAcknowledged(icc: String, transferSet: String)
    /// No acknowledgement within `criticalReportTimeout`: the partner may have missed data.
    case criticalReportNotAcknowledged(icc: String, transferSet: String, timeStamp: Int32)
    case negativeAcknowledgement(icc: String, transferSet: String)
    /// AllChangesReported overflowed its queue: the oldest changes were dropped.
    case changesDropped(icc: String, transferSet: String, count: Int)
}

/// Seconds since 1970 (UTC), as TASE.2 time stamps count them.
public func currentTime() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_REALTIME, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

// MARK: Reads straight from storage

extension VirtualControlCentre {
    /// Answers a Read (of variables or of a data set) by encoding points straight from storage
    /// into the buffer that is written: no value tree, whatever the number of points. Other
    /// targets (system variables, transfer sets, errors) take the ordinary path.
    public var readsFromStorage: Bool { true }

    public func prependReadResponse(_ request: ReadRequest, invokeID: UInt32, for association: AssociationContext,
                                    to w: inout BERWriter) throws(ServiceError) {
        enum Item {
            case point(Int)
            case other(AccessResult)
        }
        try state.withLock { s throws(ServiceError) in
            let accesses: [VariableAccess]
            switch request.variableAccessSpecification {
            case .listOfVariable(let l): accesses = l
            case .variableListName(let n): accesses = try dataSet(n, s, association).members.map { VariableAccess($0) }
            }
            // Resolve in request order (a read of Next_DSTransfer_Set reserves), then encode back to front.
            let items: [Item] = accesses.map { access in
                if case .name(let name) = access.variable, access.alternateAccess == nil, case .success(.point(let i)) = resolve(name, s, association) {
                    return .point(i)
                }
                return .other(read(access, &s, association))
            }
            let stateQ = configuration.vcc.stateQShape
            ReadResponse.prependPDU(invokeID: invokeID, specification: request.specificationWithResult ? request.variableAccessSpecification : nil,
                                    to: &w) { w in
                var k = items.count - 1
                while k >= 0 {
                    switch items[k] {
                    case .point(let i): s.points[i].type.prepend(s.points[i].value, stateQ: stateQ, to: &w)
                    case .other(let r): r.prepend(to: &w)
                    }
                    k -= 1
                }
            }
        }
    }
}
