import BER
import Logging
import MMS
import NIOCore
import NIOPosix
import OSI
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The server could not listen: says where, why, and what an operator can do about it.
public struct MMSServerError: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable, Equatable {
        /// A port below 1024 without root or CAP_NET_BIND_SERVICE.
        case permissionDenied
        case addressInUse
        case addressNotAvailable
        case other(String)
    }

    public let host: String
    public let port: Int
    public let reason: Reason

    init(host: String, port: Int, underlying: any Error) {
        self.host = host
        self.port = port
        if let io = underlying as? IOError {
            switch io.errnoCode {
            case EACCES, EPERM: reason = .permissionDenied
            case EADDRINUSE: reason = .addressInUse
            case EADDRNOTAVAIL: reason = .addressNotAvailable
            default: reason = .other("\(io)")
            }
        } else {
            reason = .other("\(underlying)")
        }
    }

    public var description: String {
        let at = "cannot listen on \(host):\(port)"
        switch reason {
        case .permissionDenied:
            return "\(at): permission denied (ports below 1024 need root or the CAP_NET_BIND_SERVICE capability); "
                + "use another port, e.g. --port 10102, or grant the capability: sudo setcap cap_net_bind_service=+ep <path to tase2>"
        case .addressInUse:
            return "\(at): the port is already in use by another program; stop it or choose another port (--port)"
        case .addressNotAvailable:
            return "\(at): no interface of this machine has that address; check --host"
        case .other(let why):
            return "\(at): \(why)"
        }
    }
}

/// An MMS server: listens, associates any conformant MMS client, and serves a
/// `VirtualManufacturingDevice`. Runs as a ServiceLifecycle `Service`. Every association is
/// served by a task of the server's own task group, one request at a time in arrival order,
/// and ends with the server.
public final class MMSServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Our selectors, AP-title and AE-qualifier (the AARE carries the last two).
        public var local: OSIAddress
        public var limits: MMSLimits
        public var timeouts: MMSTimeouts
        /// What peers' answers and reports may make us hold when we act as their client.
        public var clientLimits: MMSClientLimits
        /// Connections at once. At the cap a newcomer evicts the oldest connection that has not
        /// associated yet; established associations are never evicted by newcomers.
        public var maxConnections: Int
        /// Connections from one address that have not associated yet; past it the oldest of them goes.
        public var maxPendingPerSource: Int
        /// Handlers to put in front of the MMS handler of each connection (TLS, from `TASE2TLS`).
        public var pipelinePrelude: (@Sendable (any Channel) throws -> Void)?
        /// Told of every association once it is established (before any of its requests is served).
        public var onAssociation: (@Sendable (MMSAssociation) -> Void)?
        /// The certificate the peer presented on this connection (DER), asked on the event loop
        /// when its AARQ arrives (`TASE2TLS` supplies it), so the model can bind it to a partner.
        public var peerCertificate: (@Sendable (any Channel) -> [UInt8]?)?

        public init(host: String = "0.0.0.0", port: Int = 102,
                    local: OSIAddress = OSIAddress(apTitle: [1, 1, 1, 999, 1], aeQualifier: 12),
                    limits: MMSLimits = MMSLimits(), timeouts: MMSTimeouts = MMSTimeouts(), clientLimits: MMSClientLimits = MMSClientLimits(),
                    maxConnections: Int = 256, maxPendingPerSource: Int = 16) {
            self.host = host
            self.port = port
            self.local = local
            self.limits = limits
            self.timeouts = timeouts
            self.clientLimits = clientLimits
            self.maxConnections = maxConnections
            self.maxPendingPerSource = maxPendingPerSource
        }
    }

    /// One accepted connection, for the accept loop.
    struct Accepted: Sendable {
        let handler: NIOLoopBound<MMSChannelHandler>
        let events: AssociationEventSequence
    }

    public let configuration: Configuration
    let device: any VirtualManufacturingDevice
    let group: any EventLoopGroup
    let logger: Logger
    let live = Mutex<[UInt64: MMSAssociation]>([:])
    let admission: ConnectionAdmission
    let nextID = Atomic<UInt64>(1)
    /// Where the listener is bound, once it is (or why it could not be), and who waits for it.
    let bound = Mutex<(result: Result<SocketAddress, any Error>?, waiters: [CheckedContinuation<SocketAddress, any Error>])>((nil, []))
    let serverChannel = Mutex<(any Channel)?>(nil)

    public init(configuration: Configuration, device: some VirtualManufacturingDevice,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "freetase2.mms.server")) {
        self.configuration = configuration
        self.device = device
        self.group = group
        self.logger = logger
        admission = ConnectionAdmission(maxConnections: configuration.maxConnections, maxPendingPerSource: configuration.maxPendingPerSource)
    }

    /// The associations now established.
    public var associations: [MMSAssociation] { live.withLock { Array($0.values) } }

    /// Open connections, associated or not.
    public var connectionCount: Int { admission.count }

    /// The address the server listens on, once bound (useful with port 0).
    public func localAddress() async throws -> SocketAddress {
        try await withCheckedThrowingContinuation { c in
            let ready = bound.withLock { b -> Result<SocketAddress, any Error>? in
                if let r = b.result { return r }
                b.waiters.append(c)
                return nil
            }
            if let ready { c.resume(with: ready) }
        }
    }

    func setBound(_ r: Result<SocketAddress, any Error>) {
        let waiters = bound.withLock { b -> [CheckedContinuation<SocketAddress, any Error>] in
            b.result = r
            defer { b.waiters = [] }
            return b.waiters
        }
        for w in waiters { w.resume(with: r) }
    }

    public func run() async throws {
        let listener: NIOAsyncChannel<Accepted?, Never>
        do {
            listener = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: configuration.host, port: configuration.port,
                      serverBackPressureStrategy: .init(lowWatermark: 64, highWatermark: 512)) { [self] child in
                    child.eventLoop.makeCompletedFuture { try self.initialize(child) }
                }
        } catch {
            let failure = MMSServerError(host: configuration.host, port: configuration.port, underlying: error)
            setBound(.failure(failure))
            throw failure
        }
        let channel = listener.channel
        serverChannel.withLock { $0 = channel }
        if let address = channel.localAddress { setBound(.success(address)) }
        logger.info("MMS server listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        let device = self.device
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    do {
                        try await listener.executeThenClose { inbound in
                            for try await accepted in inbound {
                                guard let accepted else { continue }
                                group.addTask { await AssociationServing.run(accepted.events, handler: accepted.handler, device: device) }
                            }
                        }
                    } catch {
                        self.logger.warning("listener ended: \(error)")
                    }
                } onCancel: {
                    channel.close(promise: nil)
                }
            } onGracefulShutdown: {
                channel.close(promise: nil)
            }
            // Listener closed: end every association and every connection still associating;
            // their serving tasks then end too.
            for c in admission.pendingChannels { c.close(promise: nil) }
            for a in associations { await a.abort() }
        }
        logger.info("MMS server stopped")
    }

    /// Stops listening and aborts the associations; `run()` then returns.
    public func shutdown() {
        serverChannel.withLock { $0?.close(promise: nil) }
    }

    func initialize(_ child: any Channel) throws -> Accepted? {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let peer = child.remoteAddress.map { "\($0)" } ?? "?"
        switch admission.admit(id, channel: child, source: child.remoteAddress?.ipAddress ?? "?") {
        case .refuse(let why):
            logger.warning("connection refused: \(why)", metadata: ["peer": "\(peer)"])
            child.close(promise: nil)
            return nil
        case .admit(let evicted):
            for e in evicted {
                logger.notice("connection without an association closed to make room", metadata: ["peer": "\(e.remoteAddress.map { "\($0)" } ?? "?")"])
                e.close(promise: nil)
            }
        }
        child.closeFuture.whenComplete { [admission] _ in admission.removed(id) }
        let handler = MMSChannelHandler(
            role: .called,
            configuration: .init(local: configuration.local, limits: configuration.limits, timeouts: configuration.timeouts),
            associationID: id, limits: configuration.clientLimits, servesModel: true, logger: logger, eventLoop: child.eventLoop)
        let events = handler.makeEvents(eventLoop: child.eventLoop)
        handler.peerCertificate = configuration.peerCertificate
        let onAssociation = configuration.onAssociation
        handler.registry = { [self] id, association in
            self.live.withLock { $0[id] = association }
            if let association {
                self.admission.associated(id)
                onAssociation?(association)
            }
        }
        do {
            try configuration.pipelinePrelude?(child)
            try child.pipeline.syncOperations.addHandler(handler)
        } catch {
            // The handler never joined the pipeline: end it here so nothing waits on it.
            handler.finish(error: .closed("connection set-up failed: \(error)"))
            throw error
        }
        return Accepted(handler: NIOLoopBound(handler, eventLoop: child.eventLoop), events: events)
    }
}
