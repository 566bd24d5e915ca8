import Logging
import MMSNIO
import NIOCore
import ServiceLifecycle
import Foundation
import TASE2
import TASE2TLS

/// Everything `tase2 serve` needs from the server, in one place so it is easy to adapt to the server's API.
enum Serve {
    /// Runs the server (and, for the demo model, the simulator) until SIGINT or SIGTERM shuts it down gracefully.
    /// Secure mode (TLS, the 62351-3 profile, certificates bound to tables) when the
    /// configuration has `vcc.tls`.
    static func run(_ configuration: TASE2Configuration, simulate: Bool, logger: Logger) async throws {
        let server = configuration.vcc.tls != nil
            ? try TASE2Server.secure(configuration: configuration, logger: logger)
            : try TASE2Server(configuration: configuration, logger: logger)
        var services: [any Service] = [server]
        if let tls = configuration.vcc.tls, !tls.crls.isEmpty { services.append(CRLReload(server: server, logger: logger)) }
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

/// SIGHUP, or a CRL file that changed (checked every 60 s), reloads the CRLs (`vcc.tls.crls`):
/// new associations are checked against them, the associations up are left alone. A file that
/// does not load leaves the lists in force.
struct CRLReload: Service {
    let server: TASE2Server
    let logger: Logger
    /// Seconds between checks of the files for a change.
    var checkEvery: Double = 60

    enum Trigger { case hangup, tick }

    func run() async throws {
        let (triggers, continuation) = AsyncStream.makeStream(of: Trigger.self, bufferingPolicy: .bufferingNewest(4))
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { continuation.yield(.hangup) }
        source.resume()
        defer { source.cancel() }
        let revocation = server.vcc.revocation
        let (logger, every) = (self.logger, checkEvery)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        do { try await Task.sleep(for: .seconds(every)) } catch { return }
                        continuation.yield(.tick)
                    }
                }
                for await t in triggers {
                    do {
                        // SIGHUP always reloads; a tick only when a file changed.
                        if t == .hangup {
                            try revocation.reload()
                        } else if try !revocation.reloadIfChanged() {
                            continue
                        }
                        logger.notice("CRLs reloaded", metadata: ["lists": "\(revocation.count)", "by": "\(t == .hangup ? "SIGHUP" : "a changed file")"])
                    } catch {
                        logger.error("CRLs not reloaded, the previous lists stay in force: \(error)")
                    }
                }
                group.cancelAll()
            }
        }
    }
}
