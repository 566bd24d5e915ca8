import BER
import Logging
import MMS
import MMSNIO
import NIOCore
import ServiceLifecycle

/// A TASE.2 server: the MMS server hosting a `VirtualControlCentre`, and for every association
/// a report loop of its own (a task of this server's group that ends with the association),
/// which sends what that partner's transfer sets owe, encoded once into the buffer written.
/// Runs as a ServiceLifecycle `Service`.
public final class TASE2Server: Service, Sendable {
    public let vcc: VirtualControlCentre
    public let mms: MMSServer
    /// The plain-TCP listener configured beside the secure one (`vcc.tls.plain_port`), if any.
    public let plainMMS: MMSServer?
    let logger: Logger
    let established: AsyncStream<MMSAssociation>
    let establishedContinuation: AsyncStream<MMSAssociation>.Continuation
    /// Values our client role receives from partners' VCCs (`partner_vcc`), as they arrive.
    public let partnerValues: AsyncStream<PartnerValue>
    let partnerValueContinuation: AsyncStream<PartnerValue>.Continuation

    /// The MMS time-outs of every association, served or called (requests, release, …).
    let timeouts: MMSTimeouts

    /// `pipelinePrelude` puts handlers in front of each connection (TLS: `TASE2TLS.server`).
    public init(configuration: TASE2Configuration, logger: Logger = Logger(label: "freetase2.tase2"),
                pipelinePrelude: (@Sendable (any Channel) throws -> Void)? = nil, clock: TASE2Clock = .system,
                deviceHandler: any DeviceHandler = AcceptingDeviceHandler(), timeouts: MMSTimeouts = MMSTimeouts(),
                peerCertificate: (@Sendable (any Channel) -> [UInt8]?)? = nil) throws {
        self.timeouts = timeouts
        vcc = try VirtualControlCentre(configuration: configuration, logger: logger, clock: clock, deviceHandler: deviceHandler)
        let v = configuration.vcc
        (established, establishedContinuation) = AsyncStream.makeStream(of: MMSAssociation.self)
        (partnerValues, partnerValueContinuation) = AsyncStream.makeStream(of: PartnerValue.self, bufferingPolicy: .bufferingNewest(100_000))
        var mmsConfig = MMSServer.Configuration(
            host: v.host, port: v.port, local: OSIAddress(apTitle: v.apTitle, aeQualifier: v.aeQualifier),
            limits: MMSLimits(maxPDUSize: v.maxPDUSize))
        mmsConfig.pipelinePrelude = pipelinePrelude
        mmsConfig.peerCertificate = peerCertificate
        mmsConfig.timeouts = timeouts
        let c = establishedContinuation
        mmsConfig.onAssociation = { c.yield($0) }
        mms = MMSServer(configuration: mmsConfig, device: vcc, logger: logger)
        if pipelinePrelude != nil, let plain = v.tls?.plainPort {
            var p = mmsConfig
            p.port = plain
            p.pipelinePrelude = nil
            p.peerCertificate = nil
            plainMMS = MMSServer(configuration: p, device: vcc, logger: logger)
            logger.warning("a plain-TCP listener is configured beside the secure one", metadata: ["port": "\(plain)"])
        } else {
            plainMMS = nil
        }
        self.logger = logger
    }

    /// Every association, on the secure listener and the plain one.
    public var associations: [MMSAssociation] { mms.associations + (plainMMS?.associations ?? []) }

    // MARK: Application API

    public func handle(_ name: String, in scope: ObjectScope) -> PointHandle? { vcc.handle(name, in: scope) }
    public func update(_ updates: [(PointHandle, PointValue)]) { vcc.update(updates) }
    public func update(_ handle: PointHandle, to value: PointValue) { vcc.update(handle, to: value) }
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
            guard let a = associations.first(where: { $0.context.id == association }) else { continue }
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

    /// Serves until `shutdown()` (or cancellation): the MMS server, a report loop per
    /// association, the client role on associations of tables with `partner_vcc`, and the
    /// calls to partners with `connect` addresses. Every task ends before this returns.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { self.establishedContinuation.finish() }
                try await withThrowingTaskGroup(of: Void.self) { listeners in
                    listeners.addTask { try await self.mms.run() }
                    if let plain = self.plainMMS { listeners.addTask { try await plain.run() } }
                    try await listeners.waitForAll()
                }
            }
            for t in vcc.tables {
                guard let p = t.config.partnerVCC, !p.connect.isEmpty else { continue }
                group.addTask { await self.callOut(t, config: p) }
            }
            for await a in established {
                group.addTask { await self.reports(a) }
                if let s = a.context.session as? PartnerSession, let t = s.table, let p = t.config.partnerVCC {
                    group.addTask { await self.clientRole(a, table: t, config: p) }
                }
            }
            // The MMS server stopped: calls to partners stop too.
            group.cancelAll()
            try await group.waitForAll()
        }
        partnerValueContinuation.finish()
    }

    public func shutdown() {
        mms.shutdown()
        plainMMS?.shutdown()
    }

    /// One association's report loop: sends the reports its transfer sets owe, then sleeps until
    /// the next is due or something happens (a change, an enable, a request). While the partner
    /// does not read, nothing is built: changes stay in their change sets, coalesced, and go with
    /// the next report.
    func reports(_ a: MMSAssociation) async {
        guard let s = a.context.session as? PartnerSession else { return }
        let clock = vcc.clock
        var saturated = false
        while !s.isEnded && a.isOpen {
            let jobs = vcc.jobs(s, now: clock.monotonic())
            for job in jobs {
                if !a.isWritable {
                    if !saturated { logger.warning("partner not reading: reports wait", metadata: ["peer": "\(a.remoteAddress)"]) }
                    saturated = true
                    await a.waitUntilWritable()
                    guard a.isOpen else { return }
                }
                saturated = false
                for r in vcc.reportPDUs(job, s, maxPDUSize: a.framing.maxPDUSize) {
                    do {
                        // Sized by the report's bound: a report of a few changes of a large data
                        // set does not allocate for all its members.
                        let frame = try a.framing.frame(capacity: vcc.sizeBound(r) + 64, allocator: a.allocator) { w in
                            vcc.prepend(r, to: &w)
                        }
                        try await a.send(frame: frame)
                        s.sent.add(1, ordering: .relaxed)
                        vcc.sent(r, s, now: clock.monotonic())
                    } catch {
                        logger.warning("report not sent: \(error)", metadata: ["peer": "\(a.remoteAddress)", "transferSet": "\(r.transferSet.name)"])
                    }
                }
            }
            await sleep(s, until: vcc.nextWake(s), clock: clock)
        }
    }

    /// Waits until the monotonic time `deadline`, or until the session is woken.
    func sleep(_ s: PartnerSession, until deadline: Double, clock: TASE2Clock) async {
        let seconds = deadline - clock.monotonic()
        guard seconds > 0 else { return }
        @Sendable func woken() async { await withTaskCancellationHandler { await s.waitForWake() } onCancel: { s.wake() } }
        guard seconds.isFinite else {
            // Nothing scheduled (RBE with BufferTime 0, no integrity period): wait for the wake
            // itself. A group with a child task for it costs two more task switches between a
            // change and its report.
            await woken()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await woken() }
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(min(seconds, 86_400) * 1e9)) }
            await group.next()
            group.cancelAll()
        }
    }
}
