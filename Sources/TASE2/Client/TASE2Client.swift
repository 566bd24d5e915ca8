import BER
import Logging
import MMS
import MMSNIO
import Synchronization

/// A report of a DS transfer set, decoded: which transfer set, when, why, and the values by name.
public struct TransferReport: Sendable {
    /// The data set it reports, when the partner named it (variableListName).
    public var dataSet: ObjectName?
    public var transferSet: ObjectName?
    public var timeStamp: Int32?
    public var conditions: DSConditions?
    /// Every member that carried a value or an error, in report order, decoded with its point
    /// type (the raw result is in each reading).
    public var points: [PointReading]
    /// The same members as they came: derived from `points`, not stored twice.
    public var values: [(name: ObjectName, result: AccessResult)] { points.map { ($0.name, $0.result) } }
    /// From a critical transfer set: acknowledged when `TransferReports` hands it to the caller.
    public var critical: Bool

    public init(dataSet: ObjectName? = nil, transferSet: ObjectName? = nil, timeStamp: Int32? = nil, conditions: DSConditions? = nil,
                points: [PointReading] = [], critical: Bool = false) {
        self.dataSet = dataSet
        self.transferSet = transferSet
        self.timeStamp = timeStamp
        self.conditions = conditions
        self.points = points
        self.critical = critical
    }
}

/// An information message (Block 4) as received.
public struct InformationMessage: Hashable, Sendable {
    public var infoReference: Int32
    public var localReference: Int32
    public var messageID: Int32
    /// The message: the first Size octets of the buffer (never more than the buffer holds).
    public var text: [UInt8]
    public var scope: ObjectScope
    /// What the header's Size said, and the buffer's name and length as they came: a
    /// conformant partner sends Size ≤ length in `Info_Buff_<length>`.
    public var declaredSize: Int32 = 0
    public var bufferName: String = ""
    public var bufferLength: Int = 0

    /// Why the message is not as the standard has it (nil: it is).
    public var nonConformance: String? {
        if declaredSize < 0 || Int(declaredSize) > bufferLength { return "Size \(declaredSize) does not fit its \(bufferLength)-octet buffer" }
        if bufferName != TASE2Names.infoBuffer(bufferLength) { return "buffer \(escaped(bufferName)) holds \(bufferLength) octets" }
        return nil
    }
}

/// Why the client refused a partner after the association check.
public enum TASE2ClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No ICC of the partner shows the Bilateral_Table_ID we expect: the wrong partner, or a
    /// table the two sides have not agreed.
    case bilateralTableMismatch(expected: String, found: [String: String])

    public var description: String {
        switch self {
        case .bilateralTableMismatch(let expected, let found):
            let shown = found.sorted { $0.key < $1.key }.map { "\(escaped($0.key)): \(escaped($0.value))" }.joined(separator: ", ")
            return "no ICC of the partner has Bilateral_Table_ID \(escaped(expected)) (found \(shown.isEmpty ? "none" : shown))"
        }
    }
}

/// The TASE.2 client role on one association: the association check, typed reads, transfer sets
/// with decoded (and, for critical ones, acknowledged) reports, device control and tags, and
/// information messages. The underlying `MMSAssociation` stays available for anything else, but
/// its `informationReports` are consumed here: read `transferReports` and `informationMessages`.
///
/// Reports are decoded by `run()`, which the owner runs for as long as the association lives
/// (as postgres-nio's clients do); `withClient` does both for a body of work.
public final class TASE2Client: Sendable {
    public let association: MMSAssociation
    /// The ICC (MMS domain) the partner's bilateral table gives us.
    public let icc: String
    public let bilateralTableID: String
    public let edition: Edition
    public let supportedBlocks: Set<Int>
    /// Decoded reports. A critical report is acknowledged when the iterator hands it out, not
    /// before: one the caller never received (dropped by a full buffer) is never acknowledged.
    public let transferReports: TransferReports
    public let informationMessages: AsyncStream<InformationMessage>
    let logger: Logger
    /// What the report dispatcher needs.
    let demux: ReportDemux
    let reportContinuation: AsyncStream<ReportDelivery>.Continuation
    /// The decoded reports with what acknowledges them: `transferReports` iterates it, or a
    /// `TASE2Link` forwards it into its own stream (one consumer only).
    let deliveries: AsyncStream<ReportDelivery>
    let messageContinuation: AsyncStream<InformationMessage>.Continuation
    /// Point types known by name: declared by the caller, or learnt from the partner.
    public let types: PointTypes

    /// Reports the client holds for a caller that reads slower than they come.
    public static let reportBufferSize = 100_000

    /// Associates and runs the association check (spec §5.1): one Read of `Bilateral_Table_ID`,
    /// `TASE2_Version` and `Supported_Features`. `expectedBilateralTableID`: the ICC is the one
    /// whose table has this ID (and the partner is refused when none has).
    public static func connect(_ configuration: MMSClient.Configuration, icc: String? = nil, expectedBilateralTableID: String? = nil,
                               logger: Logger = Logger(label: "freetase2.tase2.client")) async throws -> TASE2Client {
        let a = try await MMSClient.connect(configuration, logger: logger)
        do {
            return try await attach(to: a, icc: icc, expectedBilateralTableID: expectedBilateralTableID, logger: logger)
        } catch {
            await a.abort()
            throw error
        }
    }

    /// The client role on an association that already exists, whichever side called: an ICCP
    /// partner's association carries both roles, so our VCC may serve it while this client uses
    /// the partner's VCC. Runs the association check; the association is left open on failure.
    ///
    /// The ICC is `icc` when given; else the one whose Bilateral_Table_ID is
    /// `expectedBilateralTableID`; else the first the partner lists.
    public static func attach(to a: MMSAssociation, icc: String? = nil, expectedBilateralTableID: String? = nil,
                              logger: Logger = Logger(label: "freetase2.tase2.client")) async throws -> TASE2Client {
        let domains = try await a.getNameList(.domain, scope: .vmdSpecific)
        let candidates = icc.map { [$0] } ?? (expectedBilateralTableID == nil ? Array(domains.prefix(1)) : domains)
        guard !candidates.isEmpty else { throw MMSAssociationError.protocolError("the partner shows no ICC") }
        let check = try await a.read([VariableAccess(.vmdSpecific(TASE2Names.version)), VariableAccess(.vmdSpecific(TASE2Names.supportedFeatures))]
            + candidates.map { VariableAccess(.domainSpecific(domain: $0, item: TASE2Names.bilateralTableID)) })
        var found: [String: String] = [:]
        for (d, r) in zip(candidates, check.dropFirst(2)) { if case .success(.visibleString(let id)) = r { found[d] = id } }
        let chosen: String
        if let expected = expectedBilateralTableID {
            guard let match = candidates.first(where: { found[$0] == expected }) else {
                throw TASE2ClientError.bilateralTableMismatch(expected: expected, found: found)
            }
            chosen = match
        } else {
            chosen = candidates[0]
        }
        guard let blt = found[chosen] else {
            throw MMSAssociationError.protocolError("Bilateral_Table_ID unreadable: \(check[2 + candidates.firstIndex(of: chosen)!])")
        }
        guard case .success(.structure(let v)) = check[0], v.count == 2, case .integer(let major) = v[0] else {
            throw MMSAssociationError.protocolError("TASE2_Version is not a 2-integer structure: \(check[0])")
        }
        var blocks: Set<Int> = []
        if case .success(.bitString(let f)) = check[1] { for i in 0..<f.count where f[bit: i] { blocks.insert(i + 1) } }
        return TASE2Client(a, icc: chosen, blt: blt, edition: major == 1996 ? .v1996 : .v2000, blocks: blocks, logger: logger)
    }

    init(_ a: MMSAssociation, icc: String, blt: String, edition: Edition, blocks: Set<Int>, logger: Logger) {
        association = a
        self.icc = icc
        bilateralTableID = blt
        self.edition = edition
        supportedBlocks = blocks
        self.logger = logger
        let (reports, rc) = AsyncStream.makeStream(of: ReportDelivery.self, bufferingPolicy: .bufferingOldest(Self.reportBufferSize))
        let (messages, mc) = AsyncStream.makeStream(of: InformationMessage.self, bufferingPolicy: .bufferingOldest(10_000))
        demux = ReportDemux(association: a, icc: icc, logger: logger)
        transferReports = TransferReports(stream: reports)
        deliveries = reports
        types = PointTypes(a)
        informationMessages = messages
        reportContinuation = rc
        messageContinuation = mc
    }

    /// Decodes the partner's reports into `transferReports` and `informationMessages` until the
    /// association ends; then both streams finish.
    public func run() async {
        for await r in association.informationReports {
            await demux.dispatch(r, reportContinuation, messageContinuation, types: types)
        }
        reportContinuation.finish()
        messageContinuation.finish()
    }

    /// Connects, runs the association check, and runs `body` while `run()` decodes reports
    /// beside it; concludes when `body` returns (aborts when it throws, and throws when the
    /// conclude or release fails). Every task ends before
    /// this returns.
    public static func withClient<R: Sendable>(_ configuration: MMSClient.Configuration, icc: String? = nil,
                                               expectedBilateralTableID: String? = nil,
                                               logger: Logger = Logger(label: "freetase2.tase2.client"),
                                               _ body: @Sendable (TASE2Client) async throws -> R) async throws -> R {
        let client = try await connect(configuration, icc: icc, expectedBilateralTableID: expectedBilateralTableID, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            do {
                let r = try await body(client)
                if client.association.isOpen {
                    do {
                        try await client.close()
                    } catch {
                        // The work is done, but the partner did not end the association properly: say so.
                        await client.association.abort()
                        try? await group.waitForAll()
                        throw error
                    }
                }
                try await group.waitForAll()
                return r
            } catch {
                await client.association.abort()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    // MARK: Point types

    /// Declares point types (from the caller or a configuration shared with `tase2 serve`):
    /// a declared type wins over what the partner describes.
    public func declare(_ declared: [ObjectName: PointTypeInfo]) { types.declare(declared) }

    /// Declares the points of a configuration (the partner's, as a shared file describes them).
    public func declare(points: [PointConfig], stateQ: StateQShape = .bitString) { types.declare(points: points, stateQ: stateQ) }

    /// The types of `names` (see `PointTypes.lookup`).
    public func pointTypes(_ names: [ObjectName]) async -> [ObjectName: PointTypeInfo] { await types.lookup(names) }

    // MARK: Reads

    /// Reads one object of the partner (a point, a system variable…).
    public func read(_ name: String, in scope: ObjectScope = .vcc) async throws -> MMSData {
        try await association.read(scope.objectName(name))
    }

    /// Reads points and decodes them with the type the caller expects.
    public func read(_ name: String, in scope: ObjectScope, as type: PointType) async throws -> PointValue {
        let d = try await read(name, in: scope)
        guard let v = type.value(from: d) else { throw MMSAssociationError.unexpectedResponse("\(name) is not a \(type.rawValue): \(d)") }
        return v
    }

    /// Reads objects and decodes the points among them with their types (see `PointTypes.read`).
    public func readPoints(_ names: [ObjectName], perRequest: Int = 100, progress: (@Sendable (Int) -> Void)? = nil) async throws -> [PointReading] {
        try await types.read(names, perRequest: perRequest, progress: progress)
    }

    /// Reads a named data set (one Read of the list) and decodes its members with their types;
    /// the transfer-set special members come back as they are.
    public func readDataSet(_ dataSet: ObjectName) async throws -> [PointReading] {
        let members = try await association.listAttributes(dataSet).variables.compactMap(\.variable.name)
        _ = await types.lookup(members)
        let results = try await association.read(list: dataSet)
        guard results.count == members.count else {
            throw MMSAssociationError.unexpectedResponse("\(dataSet) has \(members.count) members but its read gave \(results.count) results")
        }
        return zip(members, results).map { types.reading($0, $1) }
    }

    // MARK: Transfer sets

    /// Defines a data set of `points` (after the transfer-set variables) in our ICC, reserves a
    /// transfer set and starts it (spec §11.2); its reports arrive on `transferReports`, decoded
    /// with the points' types (`pointTypes`). A critical transfer set (`critical` set by
    /// `configure`) is known as critical before the write that enables it, so that its first
    /// report is acknowledged too.
    @discardableResult
    public func startTransfer(dataSet: String, points: [ObjectName], configure: (inout DSTransferSet) -> Void) async throws -> ObjectName {
        let ds = ObjectName.domainSpecific(domain: icc, item: dataSet)
        _ = try? await association.deleteLists([ds])
        let members = [TASE2Names.transferSetName, TASE2Names.transferSetTimeStamp, TASE2Names.dsConditionsDetected]
            .map { ObjectName.domainSpecific(domain: icc, item: $0) } + points
        _ = await types.lookup(points)
        try await association.defineList(ds, members: members.map { VariableAccess($0) })
        let next = try await association.read(.domainSpecific(domain: icc, item: TASE2Names.nextDSTransferSet))
        guard let ts = TASE2Names.objectName(from: next) else { throw MMSAssociationError.unexpectedResponse("Next_DSTransfer_Set: \(next)") }
        var dsts = DSTransferSet()
        dsts.dataSetName = ds
        configure(&dsts)
        dsts.status = true
        demux.subscribe(ts, ReportDemux.Subscription(dataSet: ds, members: members, transferSet: dsts))
        do {
            try await association.write(ts, dsts.data(edition))
        } catch {
            demux.unsubscribe(ts)
            throw error
        }
        return ts
    }

    /// Stops a transfer set by writing the whole DSTransferSet with Status FALSE: SISCO-based
    /// servers refuse the component write ("Alternate Access not supported"). A transfer set
    /// this client did not start is read first, so only its Status changes.
    public func stopTransfer(_ transferSet: ObjectName) async throws {
        var dsts: DSTransferSet
        if let s = demux.subscription(transferSet) {
            dsts = s.transferSet
        } else {
            let d = try await association.read(transferSet)
            guard let current = DSTransferSet(d, edition: edition) else {
                throw MMSAssociationError.unexpectedResponse("\(transferSet) is not a DSTransferSet: \(d)")
            }
            dsts = current
        }
        dsts.status = false
        try await association.write(transferSet, dsts.data(edition))
        demux.stopped(transferSet)
    }

    /// Starts a critical transfer set: every report is acknowledged when the caller receives it.
    @discardableResult
    public func startCriticalTransfer(dataSet: String, points: [ObjectName], configure: (inout DSTransferSet) -> Void) async throws -> ObjectName {
        try await startTransfer(dataSet: dataSet, points: points) { d in
            configure(&d)
            d.critical = true
        }
    }

    // MARK: Devices

    /// Selects a select-before-operate device; returns its CheckBackName.
    public func select(_ device: String, in scope: ObjectScope) async throws -> Int16 {
        let d = try await association.read(scope.objectName(device + "_SBO"))
        guard case .integer(let v) = d, let c = Int16(exactly: v) else { throw MMSAssociationError.unexpectedResponse("CheckBackName: \(d)") }
        return c
    }

    /// Operates a device: a command (0/1) or discrete setpoint.
    public func operate(_ device: String, in scope: ObjectScope, command: Int16) async throws {
        try await association.write(scope.objectName(device), .integer(Int64(command)))
    }

    /// Operates a device with a real setpoint.
    public func operate(_ device: String, in scope: ObjectScope, setpoint: Float) async throws {
        try await association.write(scope.objectName(device), .float(setpoint))
    }

    /// GetTag: Read of `<Dev>_TAG`.
    public func tag(_ device: String, in scope: ObjectScope) async throws -> DeviceTag {
        let d = try await association.read(scope.objectName(device + "_TAG"))
        guard let t = DeviceTag(d) else { throw MMSAssociationError.unexpectedResponse("\(device)_TAG is not a TagValue: \(d)") }
        return t
    }

    /// SetTag: Write of `<Dev>_TAG`.
    public func setTag(_ device: String, in scope: ObjectScope, _ tag: DeviceTag) async throws {
        try await association.write(scope.objectName(device + "_TAG"), tag.data)
    }

    // MARK: Information messages

    /// Enables (or disables) information messages on this association (Write of IM_Transfer_Set).
    public func enableInformationMessages(_ on: Bool = true) async throws {
        try await association.write(.aaSpecific(TASE2Names.imTransferSet), .boolean(on))
    }

    /// MMS conclude and ACSE release.
    public func close() async throws { try await association.conclude() }
}

/// The client's decoded reports. Iterating acknowledges each critical report as it is handed
/// out: the ACK says the caller has it.
public struct TransferReports: AsyncSequence, Sendable {
    public typealias Element = TransferReport
    let stream: AsyncStream<ReportDelivery>

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<ReportDelivery>.AsyncIterator
        public mutating func next() async -> TransferReport? {
            guard let d = await base.next() else { return nil }
            if d.report.critical, let ts = d.report.transferSet { await d.demux.acknowledge(ts, timeStamp: d.report.timeStamp) }
            return d.report
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator()) }
}

/// A decoded report and the association's demultiplexer that acknowledges it.
struct ReportDelivery: Sendable {
    let report: TransferReport
    let demux: ReportDemux
}

/// Turns the association's informationReports into decoded transfer reports and information
/// messages; NACKs reports of data sets it does not know; sends the ACKs of critical reports.
final class ReportDemux: Sendable {
    struct Subscription: Sendable {
        var dataSet: ObjectName
        /// Data-set members, special variables first.
        let members: [ObjectName]
        /// Which members are transfer-set specials: worked out once, not by a name lookup per
        /// point of every report.
        let isSpecial: [Bool]
        /// The members' type entries between reports (`PointTypes.entries(of:cache:)`).
        let entries = PointTypes.EntryCache()
        /// The members as RBE reports name them, to match those names by their octets.
        let table: MemberTable
        /// What was written to start it (the stop writes it back with Status FALSE).
        var transferSet: DSTransferSet

        init(dataSet: ObjectName, members: [ObjectName], transferSet: DSTransferSet) {
            self.dataSet = dataSet
            self.members = members
            isSpecial = members.map { ReportDemux.specials.contains($0.itemName) }
            table = MemberTable(members, isSpecial: isSpecial)
            self.transferSet = transferSet
        }
    }

    let association: MMSAssociation
    let icc: String
    let logger: Logger
    struct State {
        var subscriptions: [ObjectName: Subscription] = [:]  // by transfer set
        var dataSets: [ObjectName: ObjectName] = [:]  // data set → transfer set
        /// Critical reports the caller never received: never acknowledged.
        var dropped = 0
    }
    let state = Mutex(State())

    init(association: MMSAssociation, icc: String, logger: Logger) {
        self.association = association
        self.icc = icc
        self.logger = logger
    }

    func subscribe(_ ts: ObjectName, _ s: Subscription) {
        state.withLock {
            if let old = $0.subscriptions[ts] { $0.dataSets[old.dataSet] = nil }
            $0.subscriptions[ts] = s
            $0.dataSets[s.dataSet] = ts
        }
    }

    func unsubscribe(_ ts: ObjectName) {
        state.withLock {
            if let old = $0.subscriptions.removeValue(forKey: ts) { $0.dataSets[old.dataSet] = nil }
        }
    }

    func subscription(_ ts: ObjectName) -> Subscription? { state.withLock { $0.subscriptions[ts] } }

    /// Reports still in flight after a stop are decoded, but no longer acknowledged.
    func stopped(_ ts: ObjectName) {
        state.withLock { $0.subscriptions[ts]?.transferSet.status = false; $0.subscriptions[ts]?.transferSet.critical = false }
    }

    var droppedReports: Int { state.withLock { $0.dropped } }

    func dispatch(_ r: InformationReport, _ reports: AsyncStream<ReportDelivery>.Continuation,
                  _ messages: AsyncStream<InformationMessage>.Continuation, types: PointTypes) async {
        // A received listOfVariable is told by its first name, the only one decoded here.
        if let list = r.receivedVariables, let received = r.received {
            let first = list.firstName
            if Self.isAcknowledgement(first) { return }
            if first?.itemName != TASE2Names.infoMessHeader {
                guard let report = changes(list, received, first: first, types) else { return }
                await deliver(report, reports)
                return
            }
        }
        var named: [(ObjectName, AccessResult)]
        var dataSet: ObjectName?
        switch r.variableAccessSpecification {
        case .listOfVariable(let items):
            let names = items.map { $0.variable.name ?? .vmdSpecific("?") }
            if Self.isAcknowledgement(names.first) { return }
            named = zip(names, r.results).map { ($0, $1) }
            if let first = named.first, first.0.itemName == TASE2Names.infoMessHeader, named.count == 2,
               case .success(.structure(let h)) = first.1, h.count == 4, case .success(.octetString(let buf)) = named[1].1 {
                func i(_ d: MMSData) -> Int32 { if case .integer(let v) = d { return Int32(clamping: v) } else { return 0 } }
                let size = Int(max(0, min(i(h[3]), Int32(buf.count))))
                let scope: ObjectScope = first.0.domain.map { .icc($0) } ?? .vcc
                messages.yield(InformationMessage(infoReference: i(h[0]), localReference: i(h[1]), messageID: i(h[2]),
                                                  text: Array(buf.prefix(size)), scope: scope, declaredSize: i(h[3]),
                                                  bufferName: named[1].0.itemName, bufferLength: buf.count))
                return
            }
        case .variableListName(let ds):
            let subscription = state.withLock { s in s.dataSets[ds].flatMap { s.subscriptions[$0] } }
            guard let subscription, subscription.members.count == r.resultCount else {
                logger.warning("report for an unknown data set \(ds); sending NACK")
                await nack(ds)
                return
            }
            dataSet = ds
            let members = subscription.members
            guard let received = r.received else {
                named = zip(members, r.results).map { ($0, $1) }
                break
            }
            var report = TransferReport(dataSet: ds)
            do {
                try Self.type(members, received, skipping: subscription.isSpecial, cache: subscription.entries, into: &report, types)
            } catch {
                logger.error("report of \(ds) could not be decoded again (\(error)); sending NACK")
                await nack(ds)
                return
            }
            await deliver(report, reports)
            return
        }
        var report = TransferReport(dataSet: dataSet)
        for (n, result) in named where !ReportDemux.setSpecial(n, result, in: &report) { report.points.append(types.reading(n, result)) }
        await deliver(report, reports)
    }

    /// On an association that carries both roles, the partner's ACKs and NACKs (a report whose
    /// first name is `Transfer_Report_ACK` or `_NACK`) are for our VCC's reports, not reports to
    /// this client.
    static func isAcknowledgement(_ first: ObjectName?) -> Bool {
        first?.itemName == TASE2Names.transferReportACK || first?.itemName == TASE2Names.transferReportNACK
    }

    /// The changes of an RBE transfer set: points typed straight from BER, as in the data set's
    /// form. Their names are matched by their octets to the members of the transfer set the
    /// report names first (`MemberTable`); a report they do not match has its names decoded and
    /// looked up, with the specials told by name.
    func changes(_ list: ReceivedVariableList, _ received: ReceivedAccessResults, first: ObjectName?, _ types: PointTypes) -> TransferReport? {
        var report = TransferReport(dataSet: nil)
        do {
            if first?.itemName == TASE2Names.transferSetName, case .success(let d) = try received.result(at: 0),
               let ts = TASE2Names.objectName(from: d), let s = subscription(ts), let order = s.table.match(list) {
                try Self.type(s.members, received, skipping: s.isSpecial, cache: s.entries, order: order, into: &report, types)
            } else {
                let names = try list.decoded().map { $0.variable.name ?? .vmdSpecific("?") }
                try Self.type(names, received, skipping: names.map { ReportDemux.specials.contains($0.itemName) }, cache: nil, into: &report, types)
            }
        } catch {
            logger.error("report could not be decoded again (\(error)); dropped")
            return nil
        }
        return report
    }

    /// A received report's points typed straight from their elements into `report`; only the
    /// specials are decoded, and set on it. Result i is of `names[order[i]]` (of `names[i]`
    /// without an order). Throws only if the results, checked at receipt with the decoder's own
    /// code, do not decode again (which cannot happen).
    static func type(_ names: [ObjectName], _ received: ReceivedAccessResults, skipping isSpecial: [Bool], cache: PointTypes.EntryCache?,
                     order: [Int]? = nil, into report: inout TransferReport, _ types: PointTypes) throws {
        var points: [PointReading] = []
        points.reserveCapacity(received.count)
        try types.readings(names, received, into: &points, skipping: isSpecial, cache: cache, order: order,
                           special: { n, result in setSpecial(n, result, in: &report) ? nil : types.reading(n, result) })
        report.points = points
    }

    /// The transfer-set specials a report may carry before its points.
    static let specials: Set<String> = [TASE2Names.transferSetName, TASE2Names.transferSetTimeStamp, TASE2Names.dsConditionsDetected]

    /// Sets the report's field when `n` is a transfer-set special carrying its value; false when
    /// the member is a point.
    static func setSpecial(_ n: ObjectName, _ result: AccessResult, in report: inout TransferReport) -> Bool {
        switch (n.itemName, result) {
        case (TASE2Names.transferSetName, .success(let d)): report.transferSet = TASE2Names.objectName(from: d)
        case (TASE2Names.transferSetTimeStamp, .success(.integer(let t))): report.timeStamp = Int32(clamping: t)
        case (TASE2Names.dsConditionsDetected, .success(.bitString(let b))): report.conditions = DSConditions(rawValue: b.count > 0 ? b.byte(0) : 0)
        default: return false
        }
        return true
    }

    /// Hands a decoded report to the caller, or NACKs one of a transfer set never started.
    func deliver(_ report: TransferReport, _ reports: AsyncStream<ReportDelivery>.Continuation) async {
        var report = report
        if let ts = report.transferSet {
            guard let critical = state.withLock({ $0.subscriptions[ts]?.transferSet.critical }) else {
                // A transfer set this client never started (or forgot): NACK, do not pass it on.
                logger.warning("report of a transfer set we did not start, \(ts); sending NACK")
                await nack(ts)
                return
            }
            report.critical = critical
        } else if report.dataSet == nil {
            logger.warning("report without Transfer_Set_Name or a known data set: dropped (nothing to NACK it by)")
            return
        }
        if case .dropped = reports.yield(ReportDelivery(report: report, demux: self)), report.critical {
            let n = state.withLock { s in
                s.dropped += 1
                return s.dropped
            }
            logger.error("critical report of \(report.transferSet.map { "\($0)" } ?? "?") dropped: the caller is \(TASE2Client.reportBufferSize) reports behind; not acknowledged (\(n) so far)")
        }
    }

    /// NACK (spec §5.2) naming the transfer set, or the data set when that is all the report
    /// names (as libtase2 does).
    func nack(_ name: ObjectName) async {
        try? await association.send(InformationReport(
            .listOfVariable([VariableAccess(.domainSpecific(domain: icc, item: TASE2Names.transferReportNACK))]),
            results: [.success(TASE2Names.objectNameData(name))]))
    }

    /// The ACK of a critical report (with its time stamp when it had one).
    func acknowledge(_ ts: ObjectName, timeStamp: Int32?) async {
        var items = [VariableAccess(.domainSpecific(domain: icc, item: TASE2Names.transferReportACK))]
        var results: [AccessResult] = [.success(TASE2Names.objectNameData(ts))]
        if let t = timeStamp {
            items.append(VariableAccess(.domainSpecific(domain: icc, item: TASE2Names.transferSetTimeStamp)))
            results.append(.success(.integer(Int64(t))))
        }
        do {
            try await association.send(InformationReport(.listOfVariable(items), results: results))
        } catch {
            logger.error("ACK not sent: \(error)")
        }
    }
}
