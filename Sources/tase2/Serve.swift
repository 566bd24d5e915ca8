import Logging
import NIOCore
import ServiceLifecycle
import TASE2

/// Everything `tase2 serve` needs from the server, in one place so it is easy to adapt to the server's API.
enum Serve {
    /// Runs the server (and, for the demo model, the simulator) until SIGINT or SIGTERM shuts it down gracefully.
    static func run(_ configuration: TASE2Configuration, simulate: Bool, logger: Logger,
                    tls: (@Sendable (any Channel) throws -> Void)? = nil) async throws {
        let server = try TASE2Server(configuration: configuration, logger: logger, pipelinePrelude: tls)
        var services: [any Service] = [server]
        if simulate {
            let points = configuration.points.filter { !$0.writable }.compactMap { p in
                server.handle(p.name, in: p.scope).map { (handle: $0, type: p.type) }
            }
            services.append(Simulator(points: points, read: { server.value(of: $0) }, write: { server.update($0) }, logger: logger))
            services.append(DemoMessages(server: server, every: .seconds(2), logger: logger))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [],
                                 logger: logger)
        try await group.run()
    }
}
