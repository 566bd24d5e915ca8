import Logging
import MMSNIO
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
        if configuration.bilateralTables.contains(where: { $0.partnerVCC != nil }) {
            services.append(PartnerValueLog(server: server, logger: logger))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [],
                                 logger: logger)
        try await group.run()
    }
}

/// Logs what our client role receives from partners' VCCs (`partner_vcc`): a hosting program
/// would store it; `tase2 serve` shows it.
struct PartnerValueLog: Service {
    let server: TASE2Server
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await v in server.partnerValues {
                let value: String
                switch v.result {
                case .success(let d): value = escaped("\(d)", quoted: false)  // the partner's text, made safe for a terminal
                case .failure(let e): value = "error \(e)"
                }
                logger.info("partner value", metadata: ["bilateralTable": "\(v.bilateralTable)", "point": "\(escaped("\(v.name)", quoted: false))", "value": "\(value)"])
            }
        }
    }
}
