import MMSNIO
import NIOCore
import Logging
import Synchronization
import TASE2
import NIOSSL
import NIOTLS

/// The IEC 62351-3 TLS profile as this library applies it: TLS 1.2 and 1.3 only; for TLS 1.2
/// only ECDHE key exchange with AES-GCM (no CBC, RC4, static RSA, NULL); mutual
/// authentication against configured trust roots by default. (BoringSSL fixes the TLS 1.3
/// suites: AES-GCM and ChaCha20-Poly1305, all AEAD with ephemeral keys.)
public struct SecureProfile: Sendable {
    public var certificateChain: [NIOSSLCertificate]
    public var privateKey: NIOSSLPrivateKey
    /// Roots a partner's certificate must chain to.
    public var trustRoots: [NIOSSLCertificate]
    /// Refuse a partner without a certificate (the default; off only for a one-way test setup).
    public var requireClientCertificate = true

    public static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ]

    public init(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey, trustRoots: [NIOSSLCertificate]) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.trustRoots = trustRoots
    }

    /// From PEM files: our chain (leaf first), its key, and the partners' trust roots.
    public init(certificateFile: String, keyFile: String, trustRootFiles: [String]) throws {
        certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        privateKey = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        trustRoots = try trustRootFiles.flatMap { try NIOSSLCertificate.fromPEMFile($0) }
    }

    /// Versions and ciphers of the profile, on any configuration.
    static func restrict(_ c: inout TLSConfiguration) {
        c.minimumTLSVersion = .tlsv12
        c.maximumTLSVersion = .tlsv13
        c.cipherSuiteValues = tls12CipherSuites
        // Renegotiation is not offered (see the README: TLS 1.3 key update or re-association instead).
        c.renegotiationSupport = .none
    }

    /// The server side: our certificate, and the partner's verified against `trustRoots`.
    public func serverConfiguration() -> TLSConfiguration {
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        Self.restrict(&c)
        if requireClientCertificate || !trustRoots.isEmpty {
            c.certificateVerification = requireClientCertificate ? .noHostnameVerification : .optionalVerification
            c.trustRoots = .certificates(trustRoots)
            c.sendCANameList = true
        }
        return c
    }

    /// The client side: our certificate for the partner's mutual authentication; the server's
    /// verified against `trustRoots` with its name (`serverHostname` at connect).
    public func clientConfiguration() -> TLSConfiguration {
        var c = TLSConfiguration.makeClientConfiguration()
        Self.restrict(&c)
        c.certificateChain = certificateChain.map { .certificate($0) }
        c.privateKey = .privateKey(privateKey)
        c.trustRoots = .certificates(trustRoots)
        c.certificateVerification = .fullVerification
        return c
    }
}

extension TASE2TLS {
    /// A TLS server prelude that also reports each failed handshake as a security event:
    /// no certificate, an expired or untrusted one, or BoringSSL's reason (version, cipher…).
    public static func server(_ configuration: TLSConfiguration, onFailure: @escaping @Sendable (SecurityEvent) -> Void)
        throws -> @Sendable (any Channel) throws -> Void
    {
        let context = try NIOSSLContext(configuration: configuration)
        return { channel in
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(onFailure: onFailure))
        }
    }

    /// A TLS client prelude that trusts exactly the server certificate with this SHA-256
    /// fingerprint (pinning, for partners with self-signed certificates): the chain is not
    /// checked against roots, the leaf must be the one pinned and within its validity.
    public static func client(_ configuration: TLSConfiguration, serverHostname: String?, pinnedSHA256: String)
        throws -> @Sendable (any Channel) throws -> Void
    {
        guard let pin = SHA256.normalizedFingerprint(pinnedSHA256) else { throw TLSPinError(text: pinnedSHA256) }
        let context = try NIOSSLContext(configuration: configuration)
        return { channel in
            try channel.pipeline.syncOperations.addHandler(ServerHelloObserver())
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverHostname) { chain, promise in
                guard let leaf = chain.first, let der = try? leaf.toDERBytes(), let c = try? X509Certificate(der: der),
                      c.sha256Fingerprint == pin, currentTime() >= c.notBefore, currentTime() <= c.notAfter else {
                    promise.succeed(.failed)
                    return
                }
                promise.succeed(.certificateVerified)
            })
        }
    }

    /// What TLS negotiated on a client channel: the version, the cipher suite (read from the
    /// ServerHello: swift-nio-ssl does not expose it) and the server's certificate. nil on plain TCP.
    @Sendable public static func session(_ channel: any Channel) -> (version: String, cipher: String?, peerCertificate: [UInt8]?)? {
        guard let h = try? channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self) else { return nil }
        let cipher = (try? channel.pipeline.syncOperations.handler(type: ServerHelloObserver.self))?.cipherSuite.map(ServerHelloObserver.name)
        let version: String
        switch h.tlsVersion {
        case .tlsv13?: version = "TLSv1.3"
        case .tlsv12?: version = "TLSv1.2"
        case .tlsv11?: version = "TLSv1.1"
        case .tlsv1?: version = "TLSv1.0"
        default: version = "unknown"
        }
        return (version, cipher, try? h.peerCertificate?.toDERBytes())
    }

    /// The probe's row for the transport (`tase2 probe`): TLS version, the server's certificate
    /// and its expiry; FAIL below TLS 1.2 or within 30 days of expiry, N/A on plain TCP.
    public static func probeRow(_ a: MMSAssociation) async -> ProbeRow {
        guard let s = await a.transport(TASE2TLS.session) ?? nil else {
            return ProbeRow(block: nil, "TLS (IEC 62351-3)", .notApplicable, "plain TCP (no TLS)")
        }
        guard let der = s.peerCertificate, let c = try? X509Certificate(der: der) else {
            return ProbeRow(block: nil, "TLS (IEC 62351-3)", .fail, "\(s.version), no server certificate")
        }
        let days = Int(((c.notAfter - currentTime()) / 86_400).rounded(.down))
        let evidence = "\(s.version) \(s.cipher ?? "cipher unknown"); server CN \(c.subjectCommonNames.joined(separator: ",")) issued by CN \(c.issuerCommonNames.joined(separator: ",")), "
            + "expires \(ISO8601.format(secondsSince1970: Int64(c.notAfter))) (\(days) days), SHA-256 \(c.sha256Fingerprint)"
        let ok = (s.version == "TLSv1.2" || s.version == "TLSv1.3") && days >= 30
        return ProbeRow(block: nil, "TLS (IEC 62351-3)", ok ? .pass : .fail, evidence + (days < 30 ? "; expires within 30 days" : ""))
    }

    /// The DER certificate the peer presented on `channel` (for `TASE2Server(peerCertificate:)`).
    @Sendable public static func peerCertificate(_ channel: any Channel) -> [UInt8]? {
        guard let h = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) else { return nil }
        return try? h.peerCertificate?.toDERBytes()
    }
}

/// Sits behind the TLS handler: a TLS error before the handshake completed is a refused
/// partner, reported once; errors after it belong to the association and pass on.
final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let onFailure: @Sendable (SecurityEvent) -> Void
    var completed = false

    init(onFailure: @escaping @Sendable (SecurityEvent) -> Void) { self.onFailure = onFailure }

    /// What went wrong, from BoringSSL's reason and the certificate the peer sent (if any).
    static func classify(_ error: any Error, certificate der: [UInt8]?, now: Double) -> (SecurityEvent.Kind, String) {
        let text = "\(error)"
        if text.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") { return (.certificateRequired, "the partner presented no certificate (\(text))") }
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            if let der, let c = try? X509Certificate(der: der) {
                let cn = c.subjectCommonNames.joined(separator: ",")
                if now > c.notAfter { return (.certificateExpired, "certificate of CN \(cn) expired \(ISO8601.format(secondsSince1970: Int64(c.notAfter)))") }
                if now < c.notBefore { return (.certificateExpired, "certificate of CN \(cn) is not valid before \(ISO8601.format(secondsSince1970: Int64(c.notBefore)))") }
                return (.certificateNotTrusted, "certificate of CN \(cn), issuer CN \(c.issuerCommonNames.joined(separator: ",")), does not chain to a trust root")
            }
            return (.certificateNotTrusted, "certificate verification failed (\(text))")
        }
        return (.handshakeFailed, text)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { completed = true }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !completed {
            completed = true  // one report per connection
            let (kind, reason) = Self.classify(error, certificate: TASE2TLS.peerCertificate(context.channel), now: currentTime())
            onFailure(SecurityEvent(kind, peer: context.channel.remoteAddress.map { "\($0)" } ?? "?", reason: "TLS handshake refused: " + reason))
        }
        context.fireErrorCaught(error)
    }
}

extension TASE2Server {
    /// A server in secure mode, from `configuration.vcc.tls`: the 62351-3 profile, partners'
    /// certificates verified against the trust roots and bound to their bilateral tables, CRLs,
    /// and every refused handshake or association as a rate-limited security event.
    public static func secure(configuration: TASE2Configuration, logger: Logger = Logger(label: "freetase2.tase2"), clock: TASE2Clock = .system,
                              deviceHandler: any DeviceHandler = AcceptingDeviceHandler(), timeouts: MMSTimeouts = MMSTimeouts()) throws -> TASE2Server {
        guard let t = configuration.vcc.tls else { throw ConfigurationError(file: "<configuration>", field: "vcc.tls", "missing: secure mode needs a certificate and key") }
        var profile: SecureProfile
        do {
            profile = try SecureProfile(certificateFile: t.certificate, keyFile: t.key, trustRootFiles: t.trustRoots)
        } catch {
            throw ConfigurationError(file: "<configuration>", field: "vcc.tls", "cannot load \(t.certificate), \(t.key) or a trust root: \(error)")
        }
        profile.requireClientCertificate = t.requireClientCertificate
        let late = LateSecurityLog()
        let prelude = try TASE2TLS.server(profile.serverConfiguration(), onFailure: { late.record($0) })
        let server = try TASE2Server(configuration: configuration, logger: logger, pipelinePrelude: prelude, clock: clock,
                                     deviceHandler: deviceHandler, timeouts: timeouts, peerCertificate: TASE2TLS.peerCertificate)
        late.set(server.vcc.securityLog)
        if let der = try? profile.certificateChain.first?.toDERBytes(), let own = try? X509Certificate(der: der) {
            let left = (own.notAfter - clock.wall()) / 86_400
            if left < Double(t.expiryWarningDays) {
                server.vcc.securityLog.record(SecurityEvent(.ownCertificateExpiring, peer: "local",
                                                            reason: "our certificate (CN \(own.subjectCommonNames.joined(separator: ","))) expires "
                                                                + "\(ISO8601.format(secondsSince1970: Int64(own.notAfter))), in \(Int(left.rounded(.down))) days"))
            }
        }
        return server
    }
}

/// A pinned fingerprint that is not one.
public struct TLSPinError: Error, CustomStringConvertible {
    public let text: String
    public var description: String { "\(text) is not a SHA-256 fingerprint (32 hex octets, as openssl x509 -fingerprint -sha256 prints)" }
}

/// The security log, known only once the server exists (the TLS prelude is built before it).
final class LateSecurityLog: Sendable {
    let log = Mutex<SecurityEventLog?>(nil)
    func set(_ l: SecurityEventLog) { log.withLock { $0 = l } }
    func record(_ e: SecurityEvent) { _ = log.withLock { $0 }?.record(e) }
}
