import Logging
import MMS
import MMSNIO

/// Starts an MMSServer on an ephemeral loopback port for the duration of `body`.
public func withServer<T>(_ device: some VirtualManufacturingDevice, configuration: MMSServer.Configuration = MMSServer.Configuration(host: "127.0.0.1", port: 0),
                   _ body: (MMSServer, Int) async throws -> T) async throws -> T {
    var logger = Logger(label: "test.server")
    logger.logLevel = .warning
    let server = MMSServer(configuration: configuration, device: device, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let port = try await server.localAddress().port ?? 0
        do {
            let r = try await body(server, port)
            server.shutdown()
            try await group.waitForAll()
            return r
        } catch {
            server.shutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}

public func clientConfig(_ port: Int) -> MMSClient.Configuration {
    MMSClient.Configuration(host: "127.0.0.1", port: port)
}

