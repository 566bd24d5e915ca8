import Logging
import MMS
import MMSNIO
import Synchronization

/// A client a utility can leave running: it associates with the partner at the first address
/// that answers (failover across `addresses`, the first preferred), runs the association check,
/// restores every transfer set the caller asked for, and when the association is lost calls
/// again with a back-off. Reports from every association arrive on one `transferReports`
/// (critical ones acknowledged as they are handed out), and every step is an `Event`.
///
/// Run it with `run()` in a task of the caller's (structured concurrency: it ends when that
/// task is cancelled, aborting the association it has; stop transfer sets first with
/// `removeTransfer` for a clean end).
public final class TASE2Link: Sendable {
    public struct Configuration: Sendable {
        /// The partner's addresses in order of preference (a hot-standby pair, a DR site…).
        public var addresses: [MMSClient.Configuration]
        public var icc: String?
        public var expectedBilateralTableID: String?
        /// Seconds before the first call again, doubling after each failed round to `maxBackoff`.
        public var initialBackoff: Double = 1
        public var maxBackoff: Double = 60
        /// Seconds between Identify requests that prove the partner is alive (0: none).
        public var identifyInterval: Double = 60
        /// Types declared for every association (see `PointTypes`).
        public var declaredTypes: [ObjectName: PointTypeInfo] = [:]
        /// Seconds after which an association is concluded and made again (0: never): renews the
        /// TLS session keys of TLS 1.2 partners without renegotiation, which NIOSSL cannot start.
        public var maxAssociationAge: Double = 0

        public init(addresses: [MMSClient.Configuration], icc: String? = nil, expectedBilateralTableID: String? = nil) {
            self.addresses = addresses
            self.icc = icc
            self.expectedBilateralTableID = expectedBilateralTableID
        }
    }

    /// What the link does, for the caller to log, alarm or show.
    public enum Event: Sendable, Hashable {
        case connecting(address: String)
        case connectFailed(address: String, reason: String)
        /// Associated and checked: the ICC and its Bilateral_Table_ID.
        case connected(address: String, icc: String, bilateralTableID: String)
        /// A transfer set the caller asked for runs again on this association.
        case transferRestored(dataSet: String, transferSet: ObjectName)
        case transferRestoreFailed(dataSet: String, reason: String)
        /// `maxAssociationAge` passed: the association is concluded and made again.
        case renewing(address: String)
        case disconnected(address: String)
        /// No address answered; the next round starts after `seconds`.
        case waiting(seconds: Double)
    }

    /// A transfer set the link keeps running.
    struct Transfer: Sendable {
        let dataSet: String
        let points: [ObjectName]
        let configure: @Sendable (inout DSTransferSet) -> Void
    }

    public let configuration: Configuration
    public let events: AsyncStream<Event>
    public let transferReports: TransferReports
    let eventContinuation: AsyncStream<Event>.Continuation
    let reportContinuation: AsyncStream<ReportDelivery>.Continuation
    let logger: Logger
    struct State {
        var transfers: [Transfer] = []
        var client: TASE2Client?
        /// Transfer set by data set, on the current association.
        var running: [String: ObjectName] = [:]
        /// The current association is being ended by `maxAssociationAge`.
        var renewing = false
    }
    let state = Mutex(State())

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "freetase2.tase2.link")) {
        precondition(!configuration.addresses.isEmpty, "a link needs at least one partner address")
        self.configuration = configuration
        self.logger = logger
        let (events, ec) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(1_000))
        let (reports, rc) = AsyncStream.makeStream(of: ReportDelivery.self, bufferingPolicy: .bufferingOldest(TASE2Client.reportBufferSize))
        self.events = events
        eventContinuation = ec
        transferReports = TransferReports(stream: reports)
        reportContinuation = rc
    }

    /// The client on the current association, if there is one.
    public var client: TASE2Client? { state.withLock { $0.client } }

    /// Keeps a transfer set running: started now when associated, and again on every later association.
    public func addTransfer(dataSet: String, points: [ObjectName], configure: @escaping @Sendable (inout DSTransferSet) -> Void) async throws {
        let t = Transfer(dataSet: dataSet, points: points, configure: configure)
        let client = state.withLock { s in
            s.transfers.removeAll { $0.dataSet == dataSet }
            s.transfers.append(t)
            return s.client
        }
        if let client { try await start(t, on: client) }
    }

    /// Stops a transfer set and no longer restores it.
    public func removeTransfer(dataSet: String) async throws {
        let (client, ts) = state.withLock { s in
            s.transfers.removeAll { $0.dataSet == dataSet }
            return (s.client, s.running.removeValue(forKey: dataSet))
        }
        if let client, let ts { try await client.stopTransfer(ts) }
    }

    func start(_ t: Transfer, on client: TASE2Client) async throws {
        let ts = try await client.startTransfer(dataSet: t.dataSet, points: t.points, configure: t.configure)
        state.withLock { $0.running[t.dataSet] = ts }
    }

    /// Associates, restores, forwards reports, and calls again when the association ends, until cancelled.
    public func run() async {
        var backoff = configuration.initialBackoff
        while !Task.isCancelled {
            var associated = false
            for address in configuration.addresses {
                guard !Task.isCancelled else { break }
                let name = "\(address.host):\(address.port)"
                eventContinuation.yield(.connecting(address: name))
                let client: TASE2Client
                do {
                    client = try await TASE2Client.connect(address, icc: configuration.icc,
                                                           expectedBilateralTableID: configuration.expectedBilateralTableID, logger: logger)
                } catch {
                    eventContinuation.yield(.connectFailed(address: name, reason: "\(error)"))
                    continue
                }
                eventContinuation.yield(.connected(address: name, icc: client.icc, bilateralTableID: client.bilateralTableID))
                let started = ContinuousClock.now
                let renewed = await serve(client, address: name)
                eventContinuation.yield(.disconnected(address: name))
                // A partner that drops each association at once is called with a growing
                // back-off, not every second; one that lasted (or was renewed) is called at once.
                associated = renewed || ContinuousClock.now - started > .seconds(60)
                break  // after a lost association, the preferred address first
            }
            guard !Task.isCancelled else { break }
            if associated { backoff = configuration.initialBackoff }
            let wait = associated ? configuration.initialBackoff : backoff
            if !associated { backoff = min(backoff * 2, configuration.maxBackoff) }
            eventContinuation.yield(.waiting(seconds: wait))
            do { try await Task.sleep(for: .seconds(wait)) } catch { break }
        }
        reportContinuation.finish()
        eventContinuation.finish()
    }

    /// One association: decode, forward, restore and keep alive until it ends (or the link is
    /// cancelled, which aborts it). True when it ended because `maxAssociationAge` renewed it.
    func serve(_ client: TASE2Client, address: String) async -> Bool {
        client.declare(configuration.declaredTypes)
        let transfers = state.withLock { s in
            s.client = client
            s.running = [:]
            return s.transfers
        }
        let a = client.association
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                group.addTask {
                    for await d in client.deliveries { self.reportContinuation.yield(d) }
                }
                if configuration.identifyInterval > 0 {
                    group.addTask { await identifyKeepalive(a, every: self.configuration.identifyInterval, log: self.logger) }
                }
                if configuration.maxAssociationAge > 0 {
                    group.addTask {
                        do { try await Task.sleep(for: .seconds(self.configuration.maxAssociationAge)) } catch { return }
                        self.eventContinuation.yield(.renewing(address: address))
                        self.state.withLock { $0.renewing = true }
                        do { try await client.close() } catch { a.requestAbort(reason: "renewing the association: conclude failed") }
                    }
                }
                group.addTask {
                    for t in transfers {
                        do {
                            try await self.start(t, on: client)
                            if let ts = self.state.withLock({ $0.running[t.dataSet] }) {
                                self.eventContinuation.yield(.transferRestored(dataSet: t.dataSet, transferSet: ts))
                            }
                        } catch {
                            self.eventContinuation.yield(.transferRestoreFailed(dataSet: t.dataSet, reason: "\(error)"))
                        }
                    }
                }
                await a.waitUntilClosed()
                group.cancelAll()
            }
        } onCancel: {
            a.requestAbort(reason: "the link was stopped")
        }
        return state.withLock { s in
            s.client = nil
            s.running = [:]
            defer { s.renewing = false }
            return s.renewing
        }
    }
}
