import Logging
import ServiceLifecycle
import TASE2

/// The demo's operator messages (conformance block 4): every few seconds a short text to every
/// partner that enabled `IM_Transfer_Set`, so that information messages can be tried out too.
struct DemoMessages: Service {
    let server: TASE2Server
    let every: Duration
    let logger: Logger

    func run() async throws {
        // Graceful shutdown (SIGINT/SIGTERM) cancels the loop.
        await cancelWhenGracefulShutdown { await loop() }
    }

    func loop() async {
        var id: Int32 = 1
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: every)
            } catch {
                return  // cancelled: shutting down
            }
            let text = "FreeTase2 demo message \(id): all systems normal"
            let n = (try? await server.sendInformationMessage(text, infoReference: 1, messageID: id, scope: .vcc)) ?? 0
            if n > 0 { logger.debug("information message \(id) sent to \(n) association(s)") }
            id &+= 1
        }
    }
}
