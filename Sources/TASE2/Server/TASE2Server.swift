import BER
import Logging
import MMS
import MMSNIO
import NIOCore
import ServiceLifecycle

/// A TASE.2 server: the MMS server hosting a `VirtualControlCentre`, plus the scheduler that
/// sends transfer-set reports. Runs as a ServiceLifecycle `Service`.
public final class TASE2Server: Service, Sendable {
    public let vcc: VirtualControlCentre
    public let mms: MMSServer
    let logger: Logger

    /// `pipelinePrelude` puts handlers in front of each connection (TLS: `TASE2TLS.server`).
    public init(configuration: TASE2Configuration, logger: Logger = Logger(label: "freetase2.tase2"),
                pipelinePrelude: (@Sendable (any Channel) throws -> Void)? = nil) throws {
        vcc = try VirtualControlCentre(configuration: configuration, logger: logger)
        let v = configuration.vcc
        var mmsConfig = MMSServer.Configuration(
            host: v.host, port: v.port, local: OSIAddress(apTitle: v.apTitle, aeQualifier: v.aeQualifier),
            limits: MMSLimits(maxPDUSize: v.maxPDUSize))
        mmsConfig.pipelinePrelude = pipelinePrelude
        mms = MMSServer(configuration: mmsConfig, device: vcc, logger: logger)
        self.logger = logger
    }

    // MARK: Application API

    public func handle(_ name: String, in scope: ObjectScope) -> PointHandle? { vcc.handle(name, in: scope) }
    public func update(_ updates: [(PointHandle, PointValue)]) { vcc.update(updates) }
    public func value(of handle: PointHandle) -> PointValue { vcc.value(of: handle) }
    public var pointTypes: [(PointHandle, PointType, String, ObjectScope)] { vcc.points }
    /// Partners' writes to points, as they happen.
    public var pointWrites: AsyncStream<PointWrite> { vcc.pointWrites }
    /// Full reports for every transfer set that requested OperatorRequest.
    @discardableResult public func requestReport() -> Int { vcc.requestReport() }
    /// Reports for transfer sets that requested OtherExternalEvent with this event code.
    @discardableResult public func signalExternalEvent(code: Int16) -> Int { vcc.signalExternalEvent(code: code) }
    /// Sends an information message (Block 4) to every association entitled to it that enabled
    /// `IM_Transfer_Set`; returns how many received it. A message larger than every information
    /// buffer is refused with an error, and a failed send is logged and not counted.
    @discardableResult
    public func sendInformationMessage(_ text: String, infoReference: Int32, localReference: Int32 = 0, messageID: Int32,
                                       scope: ObjectScope = .vcc) async throws -> Int {
        var sent = 0
        for (association, pdu) in try vcc.informationMessage(Array(text.utf8), infoReference: infoReference, localReference: localReference,
                                                              messageID: messageID, scope: scope) {
            guard let a = mms.associations.first(where: { $0.context.id == association }) else { continue }
            do {
                try await a.send(encodedUnconfirmedPDU: pdu)
                sent += 1
            } catch {
                logger.error("information message not delivered: \(error)", metadata: ["peer": "\(a.remoteAddress)", "messageID": "\(messageID)"])
            }
        }
        return sent
    }

    /// Partners' operations of devices (commands and setpoints), as they happen.
    public var deviceOperations: AsyncStream<DeviceOperation> { vcc.deviceOperations }
    /// Acknowledgements, time-outs and NACKs of critical transfers.
    public var events: AsyncStream<TASE2Event> { vcc.events }

    public func localAddress() async throws -> SocketAddress { try await mms.localAddress() }

    // MARK: Running

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.mms.run() }
            group.addTask { await self.runReports() }
            // The MMS server ends on shutdown; then stop the scheduler too.
            try await group.next()
            group.cancelAll()
        }
    }

    public func shutdown() { mms.shutdown() }

    /// Sends due reports; sleeps until the next one is due (at most 200 ms, so newly enabled
    /// transfer sets start on time).
    func runReports() async {
        while !Task.isCancelled {
            let now = currentTime()
            for report in vcc.dueReports(at: now) {
                guard let a = mms.associations.first(where: { $0.context.id == report.association }) else { continue }
                let pdu = report.pdu
                // Flow control (as SISCO's "saturated"): a partner that does not read its socket
                // gets no new periodic report until it catches up; the next one carries fresh values.
                // Critical reports are never skipped: they wait for their acknowledgement.
                guard a.isWritable || report.critical else {
                    logger.warning("partner not reading: periodic report skipped", metadata: ["peer": "\(a.remoteAddress)"])
                    continue
                }
                do {
                    try await a.send(encodedUnconfirmedPDU: pdu)
                } catch {
                    logger.warning("report not sent: \(error)", metadata: ["peer": "\(a.remoteAddress)"])
                }
            }
            let wait = min(max(vcc.nextDueTime() - currentTime(), 0.005), 0.2)
            try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
        }
    }
}
