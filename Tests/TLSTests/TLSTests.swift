import Foundation
import InteropFixture
import MMS
import MMSNIO
import NIOCore
import NIOPosix
import NIOSSL
import TASE2TLS
import Testing

/// A self-signed test certificate for localhost / 127.0.0.1 (test fixture only, never a real key).
func fixture(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else { throw CancellationError() }
    return url.path
}

@Suite("TLS (IEC 62351-4)", .timeLimit(.minutes(1)))
struct TLSTests {
    @Test func associationOverTLS() async throws {
        let cert = try NIOSSLCertificate.fromPEMFile(try fixture("vcc-test.cert.pem"))
        let key = try NIOSSLPrivateKey(file: try fixture("vcc-test.key.pem"), format: .pem)
        let serverTLS = TLSConfiguration.makeServerConfiguration(certificateChain: cert.map { .certificate($0) }, privateKey: .privateKey(key))
        let config = try MMSServer.Configuration(host: "127.0.0.1", port: 0).withTLS(serverTLS)
        try await withServer(Fixture.makeDevice(), configuration: config) { _, port in
            var clientTLS = TLSConfiguration.makeClientConfiguration()
            clientTLS.trustRoots = .certificates(cert)
            let a = try await MMSClient.connect(try clientConfig(port).withTLS(clientTLS, serverHostname: "localhost"))
            #expect(try await a.identify().vendorName == "FreeTase2")
            #expect(try await a.read(.vmdSpecific("VMD_Counter")) == .integer(42))
            try await a.conclude()

            // A client that does not trust the certificate cannot associate.
            let untrusting = try clientConfig(port).withTLS(TLSConfiguration.makeClientConfiguration(), serverHostname: "localhost")
            let refused = await #expect(throws: MMSAssociationError.self) { _ = try await MMSClient.connect(untrusting) }
            #expect("\(refused.map { "\($0)" } ?? "")".contains("CERTIFICATE_VERIFY_FAILED"), "\(String(describing: refused))")
            // Nor can a plain (non-TLS) client.
            var plain = clientConfig(port)
            plain.timeouts = MMSTimeouts(associate: .seconds(2))
            plain.connectTimeout = .seconds(2)
            // The TLS server's answer is no TPKT: the plain client fails on the first octet it reads.
            let garbled = await #expect(throws: MMSAssociationError.self) { _ = try await MMSClient.connect(plain) }
            #expect("\(garbled.map { "\($0)" } ?? "")".contains("TPKT error"), "\(String(describing: garbled))")
        }
    }
}
