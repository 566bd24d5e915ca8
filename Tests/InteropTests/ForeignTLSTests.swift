import Foundation
import MMS
import MMSNIO
import NIOSSL
import TASE2TLS
import Testing
import TestSupport

/// Secure ICCP against a TLS stack we did not write: hat-drivers' MMS over Python's ssl
/// (OpenSSL), as a client of `tase2 serve` in secure mode and as a server for our client.
@Suite("Secure ICCP with foreign TLS peers (Python ssl under hat-drivers)", .enabled(if: Interop.requested, "interop runs via scripts/test-all.sh and in CI"),
       .timeLimit(.minutes(2)))
struct ForeignTLSTests {
    @Test func hatDriversClientOverPythonSSLAssociatesWithOurSecureServerAndReads() async throws {
        try Interop.requirePeers()
        try TestPKI.require()
        let pki = TestPKI.path
        let server = try await DemoServer(extra: ["--tls-cert", pki("vcc.pem"), "--tls-key", pki("vcc.key"), "--tls-ca", pki("ca.pem")])
        func hat(_ extra: [String]) async throws -> [String: Any] {
            let p = try PeerProcess(Interop.python, [Interop.script("hat_tls_client.py"), "127.0.0.1", "\(server.port)", "--ca", pki("ca.pem"),
                                                     "--read", "ICC1/Bilateral_Table_ID"] + extra)
            for await _ in p.lines {}
            #expect(await p.wait(seconds: 30) == 0, "\(p.stderr)")
            return try #require(jsonObject(p.stdout), "\(p.stdout) \(p.stderr)")
        }
        let ok = try await hat(["--cert", pki("partner-a.pem"), "--key", pki("partner-a.key")])
        #expect(ok["associated"] as? Bool == true && (ok["reads"] as? [String: Any])?["ICC1/Bilateral_Table_ID"] as? String == "BLT_ICC1", "\(ok)")
        #expect((ok["identify"] as? [String: Any])?["vendor"] as? String == "FreeTase2")
        // Without a client certificate Python's ssl is refused in the handshake.
        let refused = try await hat([])
        #expect(refused["associated"] as? Bool == false, "\(refused)")
        let log = await server.stop()
        #expect(log.contains("event=certificate-required"), "\(log.suffix(800))")
    }

    @Test func ourClientAgainstAHatDriversServerBehindPythonSSL() async throws {
        try Interop.requirePeers()
        try TestPKI.require()
        let pki = TestPKI.path
        let (server, port) = try await PeerProcess.startServer("hat_server.py", ["--tls-cert", pki("vcc.pem"), "--tls-key", pki("vcc.key"), "--tls-ca", pki("ca.pem")])
        defer { server.terminate() }
        let profile = try SecureProfile(certificateFile: pki("partner-a.pem"), keyFile: pki("partner-a.key"), trustRootFiles: [pki("ca.pem")])
        let a = try await MMSClient.connect(try MMSClient.Configuration(host: "127.0.0.1", port: port).withTLS(profile.clientConfiguration(), serverHostname: "localhost"))
        #expect(try await a.read(.vmdSpecific("VMD_Counter")) == .integer(42))
        try await a.conclude()
        // The foreign server requires our certificate: without one, no association.
        var bare = TLSConfiguration.makeClientConfiguration()
        bare.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki("ca.pem")))
        var plain = MMSClient.Configuration(host: "127.0.0.1", port: port)
        plain.timeouts = MMSTimeouts(associate: .seconds(5))
        await #expect(throws: MMSAssociationError.self) { _ = try await MMSClient.connect(try plain.withTLS(bare, serverHostname: "localhost")) }
    }
}
