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
/// `VirtualManufacturingDevice`. Runs as a ServiceLifecycle `Service`.
public final class MMSServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Our selectors, AP-title and AE-qualifier (the AARE carries the last two).
        public var local: OSIAddress
        public var limits: MMSLimits
        public var timeouts: MMSTimeouts
        /// Connections beyond this are closed at once (and logged).
        public var maxConnections: Int
        public var reportBufferSize: Int
        /// Handlers to put in front of the MMS handler of each connection (TLS, from `TASE2TLS`).
        public var pipelinePrelude: (@Sendable (any Channel) throws -> Void)?

        public init(host: String = "0.0.0.0", port: Int = 102,
                    local: OSIAddress = OSIAddress(apTitle: [1, 1, 1, 999, 1], aeQualifier: 12),
                    limits: MMSLimits = MMSLimits(), timeouts: MMSTimeouts = MMSTimeouts(), maxConnections: Int = 256,
                    reportBufferSize: Int = 10_000) {
            self.host = host
            self.port = port
            self.local = local
            self.limits = limits
            self.timeouts = timeouts
            self.maxConnections = maxConnections
            self.reportBufferSize = reportBufferSize
        }
    }

    public let configuration: Configuration
    let device: any VirtualManufacturingDevice
    let group: any EventLoopGroup
    let logger: Logger
    let live = Mutex<[UInt64: MMSAssociation]>([:])
    let connections = Atomic<Int>(0)
    let nextID = Atomic<UInt64>(1)
    /// Where the listener is bound, once it is (or why it could not be).
    let bound = Mutex<Result<SocketAddress, any Error>?>(nil)
    let serverChannel = Mutex<(any Channel)?>(nil)

    public init(configuration: Configuration, device: some VirtualManufacturingDevice,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "freetase2.mms.server")) {
        self.configuration = configuration
        self.device = device
        self.group = group
        self.logger = logger
    }

    /// The associations now established.
    public var associations: [MMSAssociation] { live.withLock { Array($0.values) } }

    /// The address the server listens on, once bound (useful with port 0).
    public func localAddress() async throws -> SocketAddress {
        while true {
            if let r = bound.withLock({ $0 }) { return try r.get() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    public func run() async throws {
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { [self] child in
                    child.eventLoop.makeCompletedFuture { try self.initialize(child) }
                }
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            let failure = MMSServerError(host: configuration.host, port: configuration.port, underlying: error)
            bound.withLock { $0 = .failure(failure) }
            throw failure
        }
        serverChannel.withLock { $0 = channel }
        if let address = channel.localAddress { bound.withLock { $0 = .success(address) } }
        logger.info("MMS server listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        // Listener closed: end every association.
        for a in associations { await a.abort() }
        logger.info("MMS server stopped")
    }

    /// Stops listening and aborts the associations; `run()` then returns.
    public func shutdown() {
        serverChannel.withLock { $0?.close(promise: nil) }
    }

    func initialize(_ child: any Channel) throws {
        let n = connections.add(1, ordering: .relaxed).newValue
        child.closeFuture.whenComplete { [self] _ in self.connections.subtract(1, ordering: .relaxed) }
        if n > configuration.maxConnections {
            logger.warning("connection refused: \(n - 1) connections already open", metadata: ["peer": "\(child.remoteAddress.map { "\($0)" } ?? "?")"])
            child.close(promise: nil)
            return
        }
        let id = nextID.add(1, ordering: .relaxed).newValue
        let handler = MMSChannelHandler(
            role: .called,
            configuration: MMSConnectionStateMachine.Configuration(local: configuration.local, limits: configuration.limits),
            device: device, timeouts: configuration.timeouts, associationID: id, reportBufferSize: configuration.reportBufferSize,
            logger: logger, eventLoop: child.eventLoop)
        handler.registry = { [self] id, association in
            self.live.withLock { $0[id] = association }
        }
        try configuration.pipelinePrelude?(child)
        try child.pipeline.syncOperations.addHandler(handler)
    }
}
