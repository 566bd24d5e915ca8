import BER
import Foundation
import Logging
import MMS
import MMSNIO
import NIOSSL
import OSI
import TASE2
@testable import TASE2TLS
import Testing
import TestSupport

extension TestPKI {
    /// Our VCC in secure mode: BLT_A binds partner A's certificate by fingerprint and a
    /// password; BLT_B binds partner B by subject and issuer.
    static func configuration() -> TASE2Configuration {
        var c = TASE2Configuration()
        c.vcc.host = "127.0.0.1"
        c.vcc.port = 0
        var tls = TLSSettings(certificate: path("vcc.pem"), key: path("vcc.key"), trustRoots: [path("ca.pem")], crls: [path("ca.crl.pem")])
        tls.expiryWarningDays = 30
        c.vcc.tls = tls
        var a = BilateralTableConfig(id: "BLT_A", icc: "ICC1", partnerAPTitle: [1, 1, 1, 999], partnerAEQualifier: 12, vccRead: ["*"], transferSets: 1)
        a.credentials = PartnerCredentials(certificateSHA256: [SHA256.normalizedFingerprint(fingerprint("partner-a")) ?? "?"], password: "secret-a")
        var b = BilateralTableConfig(id: "BLT_B", icc: "ICC2", partnerAPTitle: [1, 1, 1, 888], partnerAEQualifier: 12, vccRead: ["*"], transferSets: 1)
        b.credentials = PartnerCredentials(certificateSubject: "partner-b", certificateIssuer: "FreeTase2 Test CA")
        // BLT_C binds nothing: any certificate of the CA (or, on a plain listener, none).
        let cTable = BilateralTableConfig(id: "BLT_C", icc: "ICC3", partnerAPTitle: [1, 1, 1, 777], partnerAEQualifier: 12, vccRead: ["*"], transferSets: 1)
        c.bilateralTables = [a, b, cTable]
        c.points = [PointConfig(name: "Line1_MW", type: .realQ, scope: .vcc, initial: .real(12.5))]
        return c
    }

    /// A client in secure mode with `certificate` (nil: none), as AP-title `apTitle`.
    static func client(_ port: Int, certificate: String?, apTitle: OID = [1, 1, 1, 999], password: String? = "secret-a") throws -> MMSClient.Configuration {
        var c = MMSClient.Configuration(host: "127.0.0.1", port: port)
        c.local = OSIAddress(apTitle: apTitle, aeQualifier: 12)
        c.authentication = password.map { .charString($0) }
        c.timeouts = MMSTimeouts(associate: .seconds(5))
        var tls: TLSConfiguration
        if let certificate {
            tls = try SecureProfile(certificateFile: path("\(certificate).pem"), keyFile: path("\(certificate).key"), trustRootFiles: [path("ca.pem")])
                .clientConfiguration()
        } else {
            tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path("ca.pem")))
        }
        return try c.withTLS(tls, serverHostname: "localhost")
    }
}

@Suite("Secure ICCP: the 62351-3 profile, certificates bound to tables, CRLs, ACSE passwords", .timeLimit(.minutes(2)), .serialized)
struct SecureICCPTests {
    /// Runs `body` with our VCC in secure mode and an iterator over its security events.
    func withSecureServer(_ body: (TASE2Server, Int) async throws -> Void) async throws {
        try TestPKI.require()
        var logger = Logger(label: "test.secure")
        logger.logLevel = .critical
        let server = try TASE2Server.secure(configuration: TestPKI.configuration(), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.localAddress().port ?? 0
            defer { server.shutdown() }
            try await body(server, port)
            server.shutdown()
            try await group.waitForAll()
        }
    }

    /// The next security event on `events`.
    func nextSecurityEvent(_ events: inout AsyncStream<TASE2Event>.AsyncIterator) async -> SecurityEvent? {
        while let e = await events.next() { if case .security(let s) = e { return s } }
        return nil
    }

    @Test func theRightCertificateAndPasswordAssociate() async throws {
        try await withSecureServer { _, port in
            let a = try await MMSClient.connect(try TestPKI.client(port, certificate: "partner-a"))
            #expect(try await a.read(.domainSpecific(domain: "ICC1", item: "Bilateral_Table_ID")) == .visibleString("BLT_A"))
            try await a.conclude()
            // Partner B is bound by subject and issuer, and needs no password.
            let b = try await MMSClient.connect(try TestPKI.client(port, certificate: "partner-b", apTitle: [1, 1, 1, 888], password: nil))
            #expect(try await b.read(.domainSpecific(domain: "ICC2", item: "Bilateral_Table_ID")) == .visibleString("BLT_B"))
            try await b.conclude()
        }
    }

    enum Refusal: String, CaseIterable, Sendable {
        case noClientCertificate, unknownCA, expired, revoked, certificateOfAnotherTable, wrongPassword, noPassword

        var certificate: String? {
            switch self {
            case .noClientCertificate: return nil
            case .unknownCA: return "rogue"
            case .expired: return "expired"
            case .revoked: return "revoked"
            case .certificateOfAnotherTable: return "partner-b"  // with partner A's AP-title
            case .wrongPassword, .noPassword: return "partner-a"
            }
        }
        var password: String? { self == .wrongPassword ? "wrong" : self == .noPassword ? nil : "secret-a" }
        var kind: SecurityEvent.Kind {
            switch self {
            case .noClientCertificate: return .certificateRequired
            case .unknownCA: return .certificateNotTrusted
            case .expired: return .certificateExpired
            case .revoked: return .certificateRevoked
            case .certificateOfAnotherTable: return .certificateMismatch
            case .wrongPassword: return .authenticationFailed
            case .noPassword: return .authenticationRequired
            }
        }
    }

    /// Each refusal: the connect fails with a clear error, and the server records the event with its code.
    @Test(arguments: Refusal.allCases)
    func refusedWithItsSecurityEvent(_ r: Refusal) async throws {
        let (label, certificate, apTitle, password, kind) = (r.rawValue, r.certificate, [1, 1, 1, 999] as OID, r.password, r.kind)
        try await withSecureServer { server, port in
            var events = server.events.makeAsyncIterator()
            let refused = await #expect(throws: MMSAssociationError.self, "\(label)") {
                _ = try await MMSClient.connect(try TestPKI.client(port, certificate: certificate, apTitle: apTitle, password: password))
            }
            let e = await nextSecurityEvent(&events)
            #expect(e?.kind == kind, "\(label): \(String(describing: e)); client saw \(String(describing: refused))")
            #expect(e?.peer.contains("127.0.0.1") == true)
            if [.certificateRevoked, .certificateMismatch, .authenticationFailed].contains(kind) {
                // Refused at the ACSE level, after the handshake: the AARE names the reason.
                #expect("\(String(describing: refused))".contains("authentication failure"), "\(String(describing: refused))")
            }
            if kind == .authenticationRequired {
                #expect("\(String(describing: refused))".contains("authentication required"), "\(String(describing: refused))")
            }
        }
    }

    /// A brute force from one address is one logged event per minute, not one per attempt.
    @Test func repeatedFailuresFromOneAddressAreRateLimited() async throws {
        try await withSecureServer { server, port in
            var events = server.events.makeAsyncIterator()
            for i in 0..<6 {
                await #expect(throws: MMSAssociationError.self) {
                    _ = try await MMSClient.connect(try TestPKI.client(port, certificate: "partner-a", password: "guess-\(i)"))
                }
            }
            // The one event that passed the limit, then (for contrast) a different kind, which does.
            #expect(await nextSecurityEvent(&events)?.kind == .authenticationFailed)
            await #expect(throws: MMSAssociationError.self) {
                _ = try await MMSClient.connect(try TestPKI.client(port, certificate: "partner-b", password: "secret-a"))
            }
            #expect(await nextSecurityEvent(&events)?.kind == .certificateMismatch, "the five repeats were suppressed")
        }
    }

    /// `openssl s_client`, a TLS stack we did not write: TLS 1.0 and 1.1 are refused, a CBC-only
    /// offer is refused, TLS 1.2 with ECDHE-AES-GCM and TLS 1.3 are accepted, and the server
    /// asks for a client certificate naming its CA.
    @Test func opensslSeesTheProfile() async throws {
        try await withSecureServer { _, port in
            func sClient(_ args: [String]) async -> (status: Int32, out: String) {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                p.arguments = ["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost",
                               "-CAfile", TestPKI.path("ca.pem"), "-cert", TestPKI.path("partner-a.pem"), "-key", TestPKI.path("partner-a.key")] + args
                let out = Pipe()
                p.standardOutput = out
                p.standardError = out
                p.standardInput = FileHandle.nullDevice
                var env = ProcessInfo.processInfo.environment
                env["OPENSSL_CONF"] = "/dev/null"
                p.environment = env
                do { try p.run() } catch { return (-1, "\(error)") }
                let data = out.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                return (p.terminationStatus, String(decoding: data, as: UTF8.self))
            }
            // SECLEVEL=0 lets this OpenSSL offer the old versions at all: the refusal is ours.
            for old in ["-tls1", "-tls1_1"] {
                let r = await sClient([old, "-cipher", "DEFAULT@SECLEVEL=0"])
                #expect(r.status != 0 && !r.out.contains("Cipher is ECDHE"), "\(old) was accepted: \(r.out.suffix(600))")
            }
            let cbc = await sClient(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA"])
            #expect(cbc.status != 0 && !cbc.out.contains("Cipher is ECDHE") && !cbc.out.contains("Cipher is AES"), "a CBC-only offer was accepted: \(cbc.out.suffix(600))")
            let gcm = await sClient(["-tls1_2"])
            #expect(gcm.out.contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256") || gcm.out.contains("Cipher is ECDHE-ECDSA-AES256-GCM-SHA384"), "\(gcm.out.suffix(800))")
            #expect(gcm.out.contains("Acceptable client certificate CA names") && gcm.out.contains("FreeTase2 Test CA"), "\(gcm.out.prefix(1500))")
            let v13 = await sClient(["-tls1_3"])
            #expect(v13.out.contains("TLSv1.3"), "\(v13.out.suffix(600))")
        }
    }

    /// Our own certificate (valid a year) is warned about when it expires within the window.
    @Test func ourCertificateExpiringIsWarnedAbout() async throws {
        try TestPKI.require()
        var c = TestPKI.configuration()
        c.vcc.tls?.expiryWarningDays = 400
        let server = try TASE2Server.secure(configuration: c)
        var events = server.events.makeAsyncIterator()
        // Recorded while the server was made: already on the stream.
        let first = await events.next()
        guard case .security(let e)? = first else { Issue.record("\(String(describing: first))"); return }
        #expect(e.kind == .ownCertificateExpiring && e.reason.contains("CN localhost") && e.reason.contains("in 36"), "\(e)")
    }

    /// A plain listener exists only when configured; beside the secure one, it serves the tables
    /// that bind no certificate, and those that do refuse its associations.
    @Test func aPlainListenerOnlyWhenConfigured() async throws {
        try TestPKI.require()
        #expect(try TASE2Server.secure(configuration: TestPKI.configuration()).plainMMS == nil)
        var c = TestPKI.configuration()
        c.vcc.tls?.plainPort = 0
        var logger = Logger(label: "test.secure")
        logger.logLevel = .critical
        let server = try TASE2Server.secure(configuration: c, logger: logger)
        let plainListener = try #require(server.plainMMS)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let plainPort = try await plainListener.localAddress().port ?? 0
            defer { server.shutdown() }
            var events = server.events.makeAsyncIterator()
            var plain = MMSClient.Configuration(host: "127.0.0.1", port: plainPort)
            plain.local = OSIAddress(apTitle: [1, 1, 1, 777], aeQualifier: 12)
            let a = try await MMSClient.connect(plain)
            #expect(try await a.read(.domainSpecific(domain: "ICC3", item: "Bilateral_Table_ID")) == .visibleString("BLT_C"))
            try await a.conclude()
            plain.local = OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12)
            plain.authentication = .charString("secret-a")
            await #expect(throws: MMSAssociationError.self) { _ = try await MMSClient.connect(plain) }
            #expect(await nextSecurityEvent(&events)?.kind == .certificateRequired)
            server.shutdown()
            try await group.waitForAll()
        }
    }

    /// A CRL reload (what SIGHUP does in `tase2 serve`) applies to new associations and leaves
    /// those up alone: the revoked certificate associates under the old list, is refused under
    /// the new one, and its first association stays open.
    @Test func reloadedCRLsApplyToNewAssociationsOnly() async throws {
        try TestPKI.require()
        let work = TestPKI.directory.appendingPathComponent("reload-\(UUID().uuidString).crl.pem").path
        try FileManager.default.copyItem(atPath: TestPKI.path("ca.crl0.pem"), toPath: work)
        var c = TestPKI.configuration()
        c.vcc.tls?.crls = [work]
        c.bilateralTables[0].credentials = PartnerCredentials()  // any certificate of the CA, no password
        var logger = Logger(label: "test.secure")
        logger.logLevel = .critical
        let server = try TASE2Server.secure(configuration: c, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.localAddress().port ?? 0
            defer { server.shutdown() }
            let before = try await MMSClient.connect(try TestPKI.client(port, certificate: "revoked", password: nil))
            #expect(try await before.read(.domainSpecific(domain: "ICC1", item: "Bilateral_Table_ID")) == .visibleString("BLT_A"))
            try FileManager.default.removeItem(atPath: work)
            try FileManager.default.copyItem(atPath: TestPKI.path("ca.crl.pem"), toPath: work)
            // A changed file is noticed (what `tase2 serve` checks every minute), an unchanged one is not.
            #expect(try server.vcc.revocation.reloadIfChanged())
            #expect(try !server.vcc.revocation.reloadIfChanged())
            await #expect(throws: MMSAssociationError.self) {
                _ = try await MMSClient.connect(try TestPKI.client(port, certificate: "revoked", password: nil))
            }
            #expect(before.isOpen)
            #expect(try await before.read(.domainSpecific(domain: "ICC1", item: "Bilateral_Table_ID")) == .visibleString("BLT_A"))
            try await before.conclude()
            // A list that does not load leaves the one in force.
            try "not a CRL".write(toFile: work, atomically: true, encoding: .utf8)
            #expect(throws: ConfigurationError.self) { try server.vcc.revocation.reload() }
            #expect(server.vcc.revocation.count == 1)
            #expect(try !server.vcc.revocation.reloadIfChanged(), "a bad file is reported once, not at every check")
            server.shutdown()
            try await group.waitForAll()
        }
    }

    /// The cipher suite is read from the ServerHello as it passes, also when it arrives in pieces.
    @Test func theCipherSuiteIsReadFromTheServerHello() {
        let sessionID = [UInt8](repeating: 7, count: 32)
        let body: [UInt8] = [3, 3] + [UInt8](repeating: 1, count: 32) + [32] + sessionID + [0xC0, 0x2B, 0]
        let handshake: [UInt8] = [2, 0, 0, UInt8(body.count)] + body
        let record: [UInt8] = [22, 3, 3, 0, UInt8(handshake.count)] + handshake
        let o = ServerHelloObserver()
        o.pending = Array(record.prefix(20))
        o.inspect()
        #expect(o.cipherSuite == nil && !o.done, "waits for the rest")
        o.pending += record.dropFirst(20)
        o.inspect()
        #expect(o.cipherSuite.map(ServerHelloObserver.name) == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" && o.done)
        let alert = ServerHelloObserver()
        alert.pending = [21, 3, 3, 0, 2, 2, 40]
        alert.inspect()
        #expect(alert.cipherSuite == nil && alert.done, "not a handshake record: stops looking")
        #expect(ServerHelloObserver.name(0x1301) == "TLS_AES_128_GCM_SHA256" && ServerHelloObserver.name(0x00FF) == "0x00FF")
    }

    @Test func certificatesAndCRLsAreReadWithOurBERReader() throws {
        try TestPKI.require()
        let a = try #require(try X509Certificate.load(file: TestPKI.path("partner-a.pem")).first)
        #expect(a.subjectCommonNames == ["partner-a"] && a.issuerCommonNames == ["FreeTase2 Test CA"])
        #expect(a.sha256Fingerprint == SHA256.normalizedFingerprint(TestPKI.fingerprint("partner-a")))
        let expired = try #require(try X509Certificate.load(file: TestPKI.path("expired.pem")).first)
        #expect(expired.notAfter == 1_577_923_200)  // 2020-01-02T00:00:00Z
        let revoked = try #require(try X509Certificate.load(file: TestPKI.path("revoked.pem")).first)
        for file in ["ca.crl.pem", "ca.crl.der"] {
            let crl = try #require(try CertificateRevocationList.load(file: TestPKI.path(file)).first)
            #expect(crl.revokes(revoked) && !crl.revokes(a), "\(file)")
        }
        // SHA-256 itself, against FIPS 180-4's examples.
        #expect(SHA256.fingerprint(Array("abc".utf8)).hasPrefix("BA:78:16:BF:8F:01:CF:EA"))
        #expect(SHA256.fingerprint([]).hasPrefix("E3:B0:C4:42:98:FC:1C:14"))
        #expect(SHA256.fingerprint(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hasPrefix("24:8D:6A:61:D2:06:38:B8"))
    }
}
