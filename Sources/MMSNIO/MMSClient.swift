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
        /// informationReports kept for a reader that falls behind; past this they are dropped and logged.
        public var reportBufferSize: Int
        /// Handlers to put in front of the MMS handler (TLS, from `TASE2TLS`).
        public var pipelinePrelude: (@Sendable (any Channel) throws -> Void)?

        public init(host: String, port: Int = 102,
                    local: OSIAddress = OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12),
                    remote: OSIAddress = OSIAddress(apTitle: [1, 1, 1, 999, 1], aeQualifier: 12),
                    limits: MMSLimits = MMSLimits(), authentication: AuthenticationValue? = nil,
                    timeouts: MMSTimeouts = MMSTimeouts(), connectTimeout: TimeAmount = .seconds(10), reportBufferSize: Int = 100_000) {
            self.host = host
            self.port = port
            self.local = local
            self.remote = remote
            self.limits = limits
            self.authentication = authentication
            self.timeouts = timeouts
            self.connectTimeout = connectTimeout
            self.reportBufferSize = reportBufferSize
        }
    }

    static let ids = Atomic<UInt64>(1 << 32)

    /// Opens TCP, then COTP, session, presentation, ACSE and MMS Initiate; returns the association.
    /// `device` serves requests the peer sends us on the same association (dual role).
    public static func connect(_ configuration: Configuration, device: (any VirtualManufacturingDevice)? = nil,
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                               logger: Logger = Logger(label: "freetase2.mms.client")) async throws -> MMSAssociation {
        let id = ids.add(1, ordering: .relaxed).newValue
        let smConfig = MMSConnectionStateMachine.Configuration(
            local: configuration.local, remote: configuration.remote, limits: configuration.limits, authentication: configuration.authentication)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: configuration.host, port: configuration.port).get()
        let established = channel.eventLoop.makePromise(of: MMSAssociation.self)
        try await channel.eventLoop.submit {
            let handler = MMSChannelHandler(
                role: .calling, configuration: smConfig, device: device, timeouts: configuration.timeouts, associationID: id,
                reportBufferSize: configuration.reportBufferSize, logger: logger, eventLoop: channel.eventLoop)
            handler.establishPromise = established
            try configuration.pipelinePrelude?(channel)
            try channel.pipeline.syncOperations.addHandler(handler)
        }.get()
        do {
            return try await established.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }
}
