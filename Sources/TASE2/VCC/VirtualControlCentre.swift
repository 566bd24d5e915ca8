import BER
import Logging
import MMS
import Synchronization

/// A partner's write to a point, as the hosting program hears it.
public struct PointWrite: Hashable, Sendable {
    public var handle: PointHandle
    public var name: String
    public var scope: ObjectScope
    public var value: PointValue
    /// The writing partner's bilateral table (nil in open mode).
    public var bilateralTable: String?
}

/// Things about transfer sets the hosting program should hear.
public enum TASE2Event: Hashable, Sendable {
    case criticalReportAcknowledged(icc: String, transferSet: String)
    /// A refused handshake or association (IEC 62351-14 style), after the rate limit.
    case security(SecurityEvent)
    /// No acknowledgement within the critical-report time-out: the partner may have missed data.
    case criticalReportNotAcknowledged(icc: String, transferSet: String, timeStamp: Int32)
    case negativeAcknowledgement(icc: String, transferSet: String)
    /// AllChangesReported overflowed its queue: the oldest changes were dropped.
    case changesDropped(icc: String, transferSet: String, count: Int)
    /// A periodic report was due longer than the transfer set's TLE ago (the partner was not
    /// reading) and was not sent.
    case staleReportSkipped(icc: String, transferSet: String)
    /// Our client role on a partner's VCC (`partner_vcc`) could not subscribe: no data from it
    /// on this association (the association itself goes on).
    case partnerSubscriptionFailed(bilateralTable: String, reason: String)
}

/// The Virtual Control Centre: TASE.2's object model on an MMS VMD. VCC objects are
/// VMD-specific, each bilateral table's ICC is an MMS domain, and every request is checked
/// against the table of the association's `PartnerSession`.
///
/// The parts, each with its own lock and none holding another's state: the `PointStore`
/// (values, updates, change detection), the `ObjectDirectory` (every static name, sorted),
/// `DataSets`, a `TransferSetPool` per ICC, `Devices`, and one `PartnerSession` per
/// association (its table, association-scope lists, enabled transfer sets and their
/// `TransferSetEngine`). The VCC itself only routes requests to them.
public final class VirtualControlCentre: VirtualManufacturingDevice {
    public let configuration: TASE2Configuration
    public let tables: [BilateralTable]
    public let identity: IdentifyResponse
    public let store: PointStore
    let directory: ObjectDirectory
    let dataSets: DataSets
    let pools: [String: TransferSetPool]
    let devices: Devices
    let deviceHandler: any DeviceHandler
    let clock: TASE2Clock
    let logger: Logger
    /// The open associations, for reports, messages and events (not on the request path).
    let sessions = Mutex<[UInt64: PartnerSession]>([:])
    let nextSession = Atomic<UInt64>(1)
    /// Each point's scope, for `PointWrite` and `points`.
    let pointScopes: [ObjectScope]
    /// Blocks this VCC advertises (Supported_Features).
    public let blocks: ConformanceBlocks

    let writes: AsyncStream<PointWrite>.Continuation
    public let pointWrites: AsyncStream<PointWrite>
    /// What the hosting program should hear about transfer sets (acknowledgements, time-outs, NACKs).
    public let events: AsyncStream<TASE2Event>
    let eventContinuation: AsyncStream<TASE2Event>.Continuation
    /// Security events, logged once per address and kind per minute (and on `events`).
    public let securityLog: SecurityEventLog
    /// CRLs of secure mode (`vcc.tls.crls`); `reload()` on SIGHUP.
    public let revocation: RevocationLists
    /// Partners' operations of devices, as they happen.
    public let deviceOperations: AsyncStream<DeviceOperation>
    let deviceContinuation: AsyncStream<DeviceOperation>.Continuation

    public init(configuration: TASE2Configuration, logger: Logger = Logger(label: "freetase2.vcc"), clock: TASE2Clock = .system,
                deviceHandler: any DeviceHandler = AcceptingDeviceHandler()) throws(ConfigurationError) {
        try configuration.validate()
        self.tables = configuration.bilateralTables.map(BilateralTable.init)
        self.identity = IdentifyResponse(vendorName: configuration.vcc.vendor, modelName: configuration.vcc.model, revision: configuration.vcc.revision)
        self.logger = logger
        self.clock = clock
        self.deviceHandler = deviceHandler
        (pointWrites, writes) = AsyncStream.makeStream(of: PointWrite.self, bufferingPolicy: .bufferingNewest(10_000))
        (events, eventContinuation) = AsyncStream.makeStream(of: TASE2Event.self, bufferingPolicy: .bufferingNewest(10_000))
        (deviceOperations, deviceContinuation) = AsyncStream.makeStream(of: DeviceOperation.self, bufferingPolicy: .bufferingNewest(10_000))
        let ec = eventContinuation
        securityLog = SecurityEventLog(logger: logger, clock: clock.monotonic, sink: { ec.yield(.security($0)) })
        revocation = RevocationLists(files: configuration.vcc.tls?.crls ?? [])
        try revocation.reload()
        let v = configuration.vcc
        blocks = ConformanceBlocks(v.advertisedBlocks(devices: !configuration.devices.isEmpty))

        // The directory: every static name, by scope.
        var b = ObjectDirectory.Builder()
        b.add(TASE2Names.version, .version, .vcc)
        b.add(TASE2Names.supportedFeatures, .features, .vcc)
        var iccs: [String] = configuration.bilateralTables.map(\.icc)
        for p in configuration.points { if case .icc(let d) = p.scope, !iccs.contains(d) { iccs.append(d) } }
        let imNames = blocks.blocks.contains(4) ? [(TASE2Names.infoMessHeader, ObjectKind.infoMessageHeader)]
            + v.infoBufferSizes.map { (TASE2Names.infoBuffer($0), ObjectKind.infoBuffer(Int32($0))) } : []
        for (n, k) in imNames { b.add(n, k, .vcc) }
        var pools: [String: TransferSetPool] = [:]
        for d in iccs {
            b.addICC(d)
            b.add(TASE2Names.bilateralTableID, .bilateralTableID, .icc(d))
            b.add(TASE2Names.nextDSTransferSet, .nextDSTransferSet, .icc(d))
            for sp in TransferSetSpecial.allCases { b.add(sp.rawValue, .special(sp), .icc(d)) }
            for (n, k) in imNames { b.add(n, k, .icc(d)) }
            let count = configuration.bilateralTables.first { $0.icc == d }?.transferSets ?? (v.openMode ? v.openModeTransferSets : 0)
            let names = (0..<count).map { "DSTrans\($0 + 1)" }
            for (i, n) in names.enumerated() { b.add(n, .transferSet(Int32(i)), .icc(d)) }
            pools[d] = TransferSetPool(icc: d, names: names)
        }
        self.pools = pools
        var types: [PointType] = [], initial: [PointValue] = [], writable: [Bool] = [], scopes: [ObjectScope] = []
        types.reserveCapacity(configuration.points.count)
        initial.reserveCapacity(configuration.points.count)
        for (i, p) in configuration.points.enumerated() {
            b.add(p.name, .point(Int32(i)), p.scope)
            types.append(p.type)
            initial.append(p.initial)
            writable.append(p.writable)
            scopes.append(p.scope)
        }
        for (i, d) in configuration.devices.enumerated() {
            b.add(d.name, .device(Int32(i)), d.scope)
            if d.sbo { b.add(d.name + "_SBO", .deviceSBO(Int32(i)), d.scope) }
            if d.taggable { b.add(d.name + "_TAG", .deviceTag(Int32(i)), d.scope) }
        }
        directory = b.build()
        pointScopes = scopes
        store = PointStore(types: types, initial: initial, writable: writable, tags: configuration.devices.count)
        devices = Devices(configuration.devices, selectTimeout: v.selectTimeout)
        dataSets = DataSets(configuration.dataSets)
        // The point list now lives in the store and the directory; the configuration keeps the rest.
        var kept = configuration
        kept.points = []
        self.configuration = kept
    }

    // MARK: Application API

    public func handle(_ name: String, in scope: ObjectScope) -> PointHandle? {
        if case .point(let i)? = directory.resolve(name, in: scope) { return PointHandle(index: Int(i)) }
        return nil
    }

    /// All points: handle, type, name and scope.
    public var points: [(PointHandle, PointType, String, ObjectScope)] {
        (0..<store.count).map { (PointHandle(index: $0), store.types[$0], directory.pointName($0), pointScopes[$0]) }
    }

    /// Updates many points under one lock; visible to reads and reports at once.
    public func update(_ updates: [(PointHandle, PointValue)]) { store.update(updates, now: clock.monotonic()) }
    public func update(_ handle: PointHandle, to value: PointValue) { update([(handle, value)]) }
    public func value(of handle: PointHandle) -> PointValue { store.value(of: handle) }

    var stateQ: StateQShape { configuration.vcc.stateQShape }
    var edition: Edition { configuration.vcc.edition }

    /// The open associations' sessions.
    public var partnerSessions: [PartnerSession] { sessions.withLock { Array($0.values) } }

    // MARK: Association

    /// Which bilateral table an association request belongs to: the first that matches.
    public func table(for request: AssociationRequest) -> BilateralTable? { tables.first { $0.matches(request) } }

    public func accept(_ request: AssociationRequest) async -> AssociationDecision {
        let table = table(for: request)
        guard table != nil || (tables.isEmpty && configuration.vcc.openMode) else {
            // Rate-limited: a scan of AP-titles or selectors gives a line per address per minute.
            securityLog.record(SecurityEvent(.unknownPartner, peer: request.peerAddress ?? "?",
                                             reason: "association refused: no bilateral table for AP-title \(request.callingAPTitle.map { "\($0)" } ?? "-") "
                                                 + "AE-qualifier \(request.callingAEQualifier.map { "\($0)" } ?? "-"); AARE rejected (calling AP-title not recognized)"))
            return .reject(.callingAPTitleNotRecognized)
        }
        if let refusal = securityRefusal(request, table: table) { return .reject(refusal) }
        let ours = Int(configuration.vcc.maxPDUSize)
        let pdu = min(request.initiate.localDetail.map(Int.init) ?? ours, ours)
        let session = makeSession(table: table, maxPDUSize: pdu, partner: request.callingAPTitle.map { "\($0)" } ?? request.peerAddress ?? "?")
        return .acceptAs(AcceptedAssociation(respondingAPTitle: table?.config.localAPTitle, respondingAEQualifier: table?.config.localAEQualifier,
                                             session: session))
    }

    /// A session for an association: one we accepted, or one we called (dual role).
    public func makeSession(table: BilateralTable?, maxPDUSize: Int, partner: String) -> PartnerSession {
        let s = PartnerSession(id: nextSession.add(1, ordering: .relaxed).newValue, table: table, maxPDUSize: maxPDUSize, partner: partner)
        sessions.withLock { $0[s.id] = s }
        return s
    }

    public func associationEstablished(_ association: AssociationContext) async {
        guard let s = session(association) else { return }
        s.state.withLock { $0.association = association.id }
        logger.info("association bound", metadata: ["bilateralTable": "\(s.tableID ?? "open mode")", "partner": "\(s.partner)"])
    }

    /// The association ended: everything its session held ends with it.
    public func associationEnded(_ association: AssociationContext) async {
        guard let s = session(association) else { return }
        end(s)
    }

    func end(_ s: PartnerSession) {
        for e in s.end() {
            if let c = e.changeSet { store.unregister(c) }
            logger.info("transfer set stopped with its association", metadata: ["transferSet": "\(e.key.icc)/\(e.name)"])
        }
        for pool in pools.values { _ = pool.release(owner: s.id) }
        devices.release(s)
        sessions.withLock { $0[s.id] = nil }
        s.released()
    }

    /// The session of an association; nil for one never accepted (it is denied everything).
    func session(_ a: AssociationContext) -> PartnerSession? {
        guard let s = a.session as? PartnerSession, !s.isEnded else { return nil }
        return s
    }

    /// May this session use the ICC `d`? Its own ICC; every ICC in open mode.
    func mayUse(domain d: String, _ s: PartnerSession) -> Bool {
        if let icc = s.icc { return icc == d }
        return configuration.vcc.openMode && directory.hasICC(d)
    }

    // MARK: Names

    /// Resolves a name to what a read or write of it reaches, with the session's rights.
    enum Target {
        case point(Int)
        case version, features, bilateralTableID(String)
        case nextTransferSet(String)
        case transferSet(String, Int)
        case special
        case imTransferSet
        case device(Int), deviceSBO(Int), deviceTag(Int)
        /// Info_Mess_Header or Info_Buff_<n>: report-only, like the transfer-set variables.
        case informationMessage
    }

    func resolve(_ name: ObjectName, _ s: PartnerSession) -> Result<Target, DataAccessError> {
        switch name {
        case .vmdSpecific(let n):
            guard let k = directory.resolve(n, in: .vcc) ?? devicePart(n, .vcc) else { return .failure(.objectNonExistent) }
            if case .point = k, let t = s.table, !t.mayRead(vcc: n) { return .failure(.objectAccessDenied) }
            return target(k, .vcc, s)
        case .domainSpecific(let d, let n):
            guard mayUse(domain: d, s) else { return .failure(directory.hasICC(d) ? .objectAccessDenied : .objectNonExistent) }
            guard let k = directory.resolve(n, in: .icc(d)) ?? devicePart(n, .icc(d)) else { return .failure(.objectNonExistent) }
            return target(k, .icc(d), s)
        case .aaSpecific(let n):
            return n == TASE2Names.imTransferSet && blocks.blocks.contains(4) ? .success(.imTransferSet) : .failure(.objectNonExistent)
        }
    }

    /// `<Dev>_SBO` of a device without select-before-operate, or `<Dev>_TAG` of one without a
    /// tag: not listed, but answered with libtase2's errors (object-attribute-inconsistent,
    /// object-non-existent) rather than as unknown names.
    func devicePart(_ n: String, _ scope: ObjectScope) -> ObjectKind? {
        guard n.hasSuffix("_SBO") || n.hasSuffix("_TAG"), case .device(let i)? = directory.resolve(String(n.dropLast(4)), in: scope) else { return nil }
        return n.hasSuffix("_SBO") ? .deviceSBO(i) : .deviceTag(i)
    }

    func target(_ k: ObjectKind, _ scope: ObjectScope, _ s: PartnerSession) -> Result<Target, DataAccessError> {
        switch k {
        case .point(let i): return .success(.point(Int(i)))
        case .version: return .success(.version)
        case .features: return .success(.features)
        case .bilateralTableID:
            guard case .icc(let d) = scope else { return .failure(.objectNonExistent) }
            return .success(.bilateralTableID(s.tableID ?? d))
        case .nextDSTransferSet:
            guard case .icc(let d) = scope else { return .failure(.objectNonExistent) }
            return .success(.nextTransferSet(d))
        case .transferSet(let t):
            guard case .icc(let d) = scope else { return .failure(.objectNonExistent) }
            return .success(.transferSet(d, Int(t)))
        case .special: return .success(.special)
        case .infoMessageHeader, .infoBuffer: return .success(.informationMessage)
        case .device(let i): return .success(.device(Int(i)))
        case .deviceSBO(let i): return .success(.deviceSBO(Int(i)))
        case .deviceTag(let i): return .success(.deviceTag(Int(i)))
        }
    }

    /// Whether a name shows in this session's GetNameList (a table hides the VCC points and
    /// devices it grants nothing on).
    func visible(_ k: ObjectKind, _ scope: ObjectScope, _ s: PartnerSession) -> Bool {
        guard let t = s.table, scope == .vcc else { return true }
        switch k {
        case .point(let i): return t.mayRead(vcc: directory.pointName(Int(i)))
        // Each part of a device shows to partners with the right to use that part.
        case .device(let i): return t.may(.operate, device: devices.configs[Int(i)].name, scope: .vcc)
        case .deviceSBO(let i): return t.may(.select, device: devices.configs[Int(i)].name, scope: .vcc)
        case .deviceTag(let i):
            let name = devices.configs[Int(i)].name
            return t.may(.getTag, device: name, scope: .vcc) || t.may(.setTag, device: name, scope: .vcc)
        default: return true
        }
    }
}
