import BER
import Logging
import MMS
import MMSNIO
import Synchronization

/// A report of a DS transfer set, decoded: which transfer set, when, why, and the values by name.
public struct TransferReport: Sendable {
    public var transferSet: ObjectName?
    public var timeStamp: Int32?
    public var conditions: DSConditions?
    /// Every member that carried a value or an error, in report order.
    public var values: [(name: ObjectName, result: AccessResult)]
}

/// An information message (Block 4) as received.
public struct InformationMessage: Hashable, Sendable {
    public var infoReference: Int32
    public var localReference: Int32
    public var messageID: Int32
    public var text: [UInt8]
    public var scope: ObjectScope
}

/// The TASE.2 client role on one association: the association check, typed reads, transfer sets
/// with decoded (and, for critical ones, acknowledged) reports, device control and information
/// messages. The underlying `MMSAssociation` stays available for anything else, but its
/// `informationReports` are consumed here: read `transferReports` and `informationMessages`.
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
    public let transferReports: AsyncStream<TransferReport>
    public let informationMessages: AsyncStream<InformationMessage>
    let logger: Logger
    /// What the report dispatcher needs.
    let demux: ReportDemux
    let reportContinuation: AsyncStream<TransferReport>.Continuation
    let messageContinuation: AsyncStream<InformationMessage>.Continuation

    /// Associates and runs the association check (spec §5.1): one Read of `Bilateral_Table_ID`,
    /// `TASE2_Version` and `Supported_Features`.
    public static func connect(_ configuration: MMSClient.Configuration, icc: String? = nil,
                               logger: Logger = Logger(label: "freetase2.tase2.client")) async throws -> TASE2Client {
        let a = try await MMSClient.connect(configuration, logger: logger)
        do {
            return try await attach(to: a, icc: icc, logger: logger)
        } catch {
            await a.abort()
            throw error
        }
    }

    /// The client role on an association that already exists, whichever side called: an ICCP
    /// partner's association carries both roles, so our VCC may serve it while this client uses
    /// the partner's VCC. Runs the association check; the association is left open on failure.
    public static func attach(to a: MMSAssociation, icc: String? = nil,
                              logger: Logger = Logger(label: "freetase2.tase2.client")) async throws -> TASE2Client {
        let domains = try await a.getNameList(.domain, scope: .vmdSpecific)
        guard let icc = icc ?? domains.first else { throw MMSAssociationError.protocolError("the partner shows no ICC") }
        let check = try await a.read([
            VariableAccess(.domainSpecific(domain: icc, item: TASE2Names.bilateralTableID)),
            VariableAccess(.vmdSpecific(TASE2Names.version)), VariableAccess(.vmdSpecific(TASE2Names.supportedFeatures)),
        ])
        guard case .success(.visibleString(let blt)) = check[0] else {
            throw MMSAssociationError.protocolError("Bilateral_Table_ID unreadable: \(check[0])")
        }
        guard case .success(.structure(let v)) = check[1], v.count == 2, case .integer(let major) = v[0] else {
            throw MMSAssociationError.protocolError("TASE2_Version is not a 2-integer structure: \(check[1])")
        }
        var blocks: Set<Int> = []
        if case .success(.bitString(let f)) = check[2] { for i in 0..<f.count where f[bit: i] { blocks.insert(i + 1) } }
        return TASE2Client(a, icc: icc, blt: blt, edition: major == 1996 ? .v1996 : .v2000, blocks: blocks, logger: logger)
    }

    init(_ a: MMSAssociation, icc: String, blt: String, edition: Edition, blocks: Set<Int>, logger: Logger) {
        association = a
        self.icc = icc
        bilateralTableID = blt
        self.edition = edition
        supportedBlocks = blocks
        self.logger = logger
        let (reports, rc) = AsyncStream.makeStream(of: TransferReport.self, bufferingPolicy: .bufferingOldest(100_000))
        let (messages, mc) = AsyncStream.makeStream(of: InformationMessage.self, bufferingPolicy: .bufferingOldest(10_000))
        transferReports = reports
        informationMessages = messages
        demux = ReportDemux(association: a, icc: icc, logger: logger)
        reportContinuation = rc
        messageContinuation = mc
    }

    /// Decodes the partner's reports into `transferReports` and `informationMessages` (and
    /// acknowledges critical ones) until the association ends; then both streams finish.
    public func run() async {
        for await r in association.informationReports { await demux.dispatch(r, reportContinuation, messageContinuation) }
        reportContinuation.finish()
        messageContinuation.finish()
    }

    /// Connects, runs the association check, and runs `body` while `run()` decodes reports
    /// beside it; concludes when `body` returns (aborts when it throws, and throws when the
    /// conclude or release fails). Every task ends before
    /// this returns.
    public static func withClient<R: Sendable>(_ configuration: MMSClient.Configuration, icc: String? = nil,
                                               logger: Logger = Logger(label: "freetase2.tase2.client"),
                                               _ body: @Sendable (TASE2Client) async throws -> R) async throws -> R {
        let client = try await connect(configuration, icc: icc, logger: logger)
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

    // MARK: Transfer sets

    /// Defines a data set of `points` (after the transfer-set variables) in our ICC, reserves a
    /// transfer set and starts it (spec §11.2); its reports arrive on `transferReports`.
    @discardableResult
    public func startTransfer(dataSet: String, points: [ObjectName], configure: (inout DSTransferSet) -> Void) async throws -> ObjectName {
        let ds = ObjectName.domainSpecific(domain: icc, item: dataSet)
        _ = try? await association.deleteLists([ds])
        let members = [TASE2Names.transferSetName, TASE2Names.transferSetTimeStamp, TASE2Names.dsConditionsDetected]
            .map { ObjectName.domainSpecific(domain: icc, item: $0) } + points
        try await association.defineList(ds, members: members.map { VariableAccess($0) })
        let next = try await association.read(.domainSpecific(domain: icc, item: TASE2Names.nextDSTransferSet))
        guard let ts = TASE2Names.objectName(from: next) else { throw MMSAssociationError.unexpectedResponse("Next_DSTransfer_Set: \(next)") }
        var dsts = DSTransferSet()
        dsts.dataSetName = ds
        configure(&dsts)
        dsts.status = true
        demux.subscriptions.withLock { $0[ts] = members }
        demux.dataSets.withLock { $0[ds] = ts }
        try await association.write(ts, dsts.data(edition))
        return ts
    }

    /// Stops a transfer set (Status := FALSE).
    public func stopTransfer(_ transferSet: ObjectName) async throws {
        try await association.write(transferSet, .boolean(false), alternateAccess: .component("Status"))
    }

    /// Starts a critical transfer set: every report is acknowledged as soon as it is decoded.
    @discardableResult
    public func startCriticalTransfer(dataSet: String, points: [ObjectName], configure: (inout DSTransferSet) -> Void) async throws -> ObjectName {
        let ts = try await startTransfer(dataSet: dataSet, points: points) { d in
            configure(&d)
            d.critical = true
        }
        demux.critical.withLock { _ = $0.insert(ts) }
        return ts
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

    // MARK: Information messages

    /// Enables (or disables) information messages on this association (Write of IM_Transfer_Set).
    public func enableInformationMessages(_ on: Bool = true) async throws {
        try await association.write(.aaSpecific(TASE2Names.imTransferSet), .boolean(on))
    }

    /// MMS conclude and ACSE release.
    public func close() async throws { try await association.conclude() }
}

/// Turns the association's informationReports into decoded transfer reports and information
/// messages, and acknowledges critical reports.
final class ReportDemux: Sendable {
    let association: MMSAssociation
    let icc: String
    let logger: Logger
    let subscriptions = Mutex<[ObjectName: [ObjectName]]>([:])  // transfer set → data-set members
    let dataSets = Mutex<[ObjectName: ObjectName]>([:])  // data set → transfer set
    let critical = Mutex<Set<ObjectName>>([])

    init(association: MMSAssociation, icc: String, logger: Logger) {
        self.association = association
        self.icc = icc
        self.logger = logger
    }

    func dispatch(_ r: InformationReport, _ reports: AsyncStream<TransferReport>.Continuation,
                  _ messages: AsyncStream<InformationMessage>.Continuation) async {
        var named: [(ObjectName, AccessResult)]
        switch r.variableAccessSpecification {
        case .listOfVariable(let items):
            named = zip(items.map { $0.variable.name ?? .vmdSpecific("?") }, r.results).map { ($0, $1) }
            // On an association that carries both roles, the partner's ACKs and NACKs are for
            // our VCC's reports, not reports to this client.
            if let first = named.first?.0.itemName, first == TASE2Names.transferReportACK || first == TASE2Names.transferReportNACK { return }
            if let first = named.first, first.0.itemName == TASE2Names.infoMessHeader, named.count == 2,
               case .success(.structure(let h)) = first.1, h.count == 4, case .success(.octetString(let buf)) = named[1].1 {
                func i(_ d: MMSData) -> Int32 { if case .integer(let v) = d { return Int32(clamping: v) } else { return 0 } }
                let size = Int(max(0, min(i(h[3]), Int32(buf.count))))
                let scope: ObjectScope = first.0.domain.map { .icc($0) } ?? .vcc
                messages.yield(InformationMessage(infoReference: i(h[0]), localReference: i(h[1]), messageID: i(h[2]),
                                                  text: Array(buf.prefix(size)), scope: scope))
                return
            }
        case .variableListName(let ds):
            guard let ts = dataSets.withLock({ $0[ds] }), let members = subscriptions.withLock({ $0[ts] }), members.count == r.results.count else {
                logger.warning("report for an unknown data set \(ds); sending NACK")
                try? await association.send(InformationReport(
                    .listOfVariable([VariableAccess(.domainSpecific(domain: icc, item: TASE2Names.transferReportNACK))]),
                    results: [.success(TASE2Names.objectNameData(ds))]))
                return
            }
            named = zip(members, r.results).map { ($0, $1) }
        }
        var report = TransferReport(values: [])
        for (n, result) in named {
            switch (n.itemName, result) {
            case (TASE2Names.transferSetName, .success(let d)): report.transferSet = TASE2Names.objectName(from: d)
            case (TASE2Names.transferSetTimeStamp, .success(.integer(let t))): report.timeStamp = Int32(clamping: t)
            case (TASE2Names.dsConditionsDetected, .success(.bitString(let b))): report.conditions = DSConditions(rawValue: b.count > 0 ? b.byte(0) : 0)
            default: report.values.append((n, result))
            }
        }
        reports.yield(report)
        // Critical transfers: acknowledge every report (with its time stamp when it had one).
        if let ts = report.transferSet, subscriptions.withLock({ $0[ts] != nil }) {
            await acknowledgeIfCritical(ts, timeStamp: report.timeStamp)
        }
    }

    /// Marks a transfer set as critical (its reports are acknowledged automatically).
    func acknowledgeIfCritical(_ ts: ObjectName, timeStamp: Int32?) async {
        guard critical.withLock({ $0.contains(ts) }) else { return }
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
