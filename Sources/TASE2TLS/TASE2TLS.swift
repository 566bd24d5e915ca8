import MMSNIO
import NIOCore
import NIOSSL

/// TLS for TASE.2 (IEC 62351-4: TLS under RFC 1006, conventionally on port 3782). Kept in its own
/// target so that code without TLS never waits for BoringSSL to build.
public enum TASE2TLS {
    /// The IANA port of TLS-protected ISO transport (iso-tsap over TLS, used by secure ICCP).
    public static let port = 3782

    /// Puts a TLS server handler in front of every connection of an `MMSServer`.
    public static func server(_ configuration: TLSConfiguration) throws -> @Sendable (any Channel) throws -> Void {
        let context = try NIOSSLContext(configuration: configuration)
        return { channel in
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }
    }

    /// Puts a TLS client handler in front of an `MMSClient` connection. `serverHostname` is checked
    /// against the server's certificate (and sent as SNI when it is a name).
    public static func client(_ configuration: TLSConfiguration, serverHostname: String?) throws -> @Sendable (any Channel) throws -> Void {
        let context = try NIOSSLContext(configuration: configuration)
        return { channel in
            try channel.pipeline.syncOperations.addHandler(ServerHelloObserver())
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverHostname))
        }
    }
}

extension MMSServer.Configuration {
    /// This configuration with TLS on every connection.
    public func withTLS(_ tls: TLSConfiguration) throws -> MMSServer.Configuration {
        var c = self
        c.pipelinePrelude = try TASE2TLS.server(tls)
        return c
    }
}

extension MMSClient.Configuration {
    /// This configuration with TLS to the server.
    public func withTLS(_ tls: TLSConfiguration, serverHostname: String? = nil) throws -> MMSClient.Configuration {
        var c = self
        c.pipelinePrelude = try TASE2TLS.client(tls, serverHostname: serverHostname)
        return c
    }
}
