import BER
import Logging
import MMS
import NIOCore
import NIOPosix
import OSI
import Synchronization

/// Connects to MMS servers (the calling role).
public enum MMSClient {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Our own selectors, AP-title and AE-qualifier.
        public var local: OSIAddress
        /// The called selectors, AP-title and AE-qualifier.
        public var remote: OSIAddress
        public var limits: MMSLimits
        public var authentication: AuthenticationValue?
        public var timeouts: MMSTimeouts
        public var connectTimeout: TimeAmount
        /// What the peer's answers and reports may make us hold.
        public var clientLimits: MMSClientLimits
        /// Handlers to put in front of the MMS handler (TLS, from `TASE2TLS`).
        public var pipelinePrelude: (@Sendable (any Channel) throws -> Void)?

        public init(host: String, port: Int = 102,
                    local: OSIAddress = OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12),
                    remote: OSIAddress = OSIAddress(apTitle: [1, 1, 1, 999, 1], aeQualifier: 12),
                    limits: MMSLimits = MMSLimits(), authentication: AuthenticationValue? = nil,
                    timeouts: MMSTimeouts = MMSTimeouts(), connectTimeout: TimeAmount = .seconds(10),
                    clientLimits: MMSClientLimits = MMSClientLimits()) {
            self.host = host
            self.port = port
            self.local = local
            self.remote = remote
            self.limits = limits
            self.authentication = authentication
            self.timeouts = timeouts
            self.connectTimeout = connectTimeout
            self.clientLimits = clientLimits
        }
    }

    static let ids = Atomic<UInt64>(1 << 32)

    /// Opens TCP, then COTP, session, presentation, ACSE and MMS Initiate; returns the
    /// association. The peer's confirmed requests on it are rejected: to serve them too (dual
    /// role), use `withAssociation(_:serving:_:)`.
    public static func connect(_ configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                               logger: Logger = Logger(label: "freetase2.mms.client")) async throws -> MMSAssociation {
        try await open(configuration, servesModel: false, group: group, logger: logger).association
    }

    /// Associates, serves the peer's requests with `device` on the same association while
    /// `body` runs (ICCP partners act as each other's client), and ends the association when
    /// `body` returns (conclude; abort if that fails). Every task ends before this returns.
    /// `session`: the model's per-association object for this association (its
    /// `AssociationContext.session`), as its accept decision would give one for a called association.
    public static func withAssociation<R: Sendable>(
        _ configuration: Configuration, serving device: some VirtualManufacturingDevice, session: (any AnyObject & Sendable)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "freetase2.mms.client"),
        _ body: @Sendable (MMSAssociation) async throws -> R
    ) async throws -> R {
        let (association, events, handler) = try await open(configuration, servesModel: true, session: session, group: group, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await AssociationServing.run(events!, handler: handler, device: device) }
            do {
                let r = try await body(association)
                if association.isOpen {
                    do {
                        try await association.conclude()
                    } catch {
                        await association.abort()
                        try? await tasks.waitForAll()
                        throw error
                    }
                }
                try await tasks.waitForAll()
                return r
            } catch {
                await association.abort()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    static func open(_ configuration: Configuration, servesModel: Bool, session: (any AnyObject & Sendable)? = nil, group: any EventLoopGroup,
                     logger: Logger) async throws
        -> (association: MMSAssociation, events: AssociationEventSequence?, handler: NIOLoopBound<MMSChannelHandler>)
    {
        let id = ids.add(1, ordering: .relaxed).newValue
        let smConfig = AssociationStateMachine<MMSChannelHandler.Pending>.Configuration(
            local: configuration.local, remote: configuration.remote, limits: configuration.limits,
            authentication: configuration.authentication, timeouts: configuration.timeouts)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: configuration.host, port: configuration.port).get()
        let setUp: (EventLoopFuture<MMSAssociation>, AssociationEventSequence?, NIOLoopBound<MMSChannelHandler>)
        do {
            setUp = try await channel.eventLoop.submit {
                let handler = MMSChannelHandler(
                    role: .calling, configuration: smConfig, associationID: id, limits: configuration.clientLimits,
                    servesModel: servesModel, logger: logger, eventLoop: channel.eventLoop)
                let events = servesModel ? handler.makeEvents(eventLoop: channel.eventLoop) : nil
                handler.session = session
                do {
                    try configuration.pipelinePrelude?(channel)
                    try channel.pipeline.syncOperations.addHandler(handler)
                } catch {
                    handler.finish(error: .closed("connection set-up failed: \(error)"))
                    channel.close(promise: nil)
                    throw error
                }
                return (handler.establishPromise.futureResult, events, NIOLoopBound(handler, eventLoop: channel.eventLoop))
            }.get()
        } catch ChannelError.ioOnClosedChannel {
            // The peer closed at once (a server at its connection limit does): say so plainly.
            throw MMSAssociationError.closed("connection closed by the peer")
        }
        let (established, events, handler) = setUp
        do {
            return (try await established.get(), events, handler)
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }
}
