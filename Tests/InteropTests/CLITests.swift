import Foundation
import Testing
import TestSupport

/// Runs `tase2 ARGS` and returns its exit status and output.
func tase2(_ args: [String], seconds: Double = 30) async throws -> (status: Int32, out: String, err: String) {
    let p = try PeerProcess(try Tase2Binary.path(), args)
    for await _ in p.lines {}
    let status = await p.wait(seconds: seconds)
    return (status, p.stdout, p.stderr)
}

@Suite("The tase2 command line as a client of the demo VCC", .timeLimit(.minutes(2)), .serialized)
struct CLITests {
    @Test func browseReadAndWatch() async throws {
        let server = try await DemoServer()
        let port = "\(server.port)"
        let browse = try await tase2(["browse", "--port", port])
        #expect(browse.status == 0, "\(browse.err)")
        #expect(browse.out.contains("TASE2_Version: {2000, 8}"))
        #expect(browse.out.contains("Supported_Features: blocks 1, 2, 4, 5"))
        #expect(browse.out.contains("ICC ICC1: Bilateral_Table_ID \"BLT_ICC1\""))
        #expect(browse.out.contains("DS_Demo"))
        let read = try await tase2(["read", "--port", port, "ICC1/Bilateral_Table_ID", "TASE2_Version", "ICC1/No_Such"])
        #expect(read.status == 0, "\(read.err)")
        #expect(read.out.contains("ICC1/Bilateral_Table_ID = \"BLT_ICC1\""))
        #expect(read.out.contains("ICC1/No_Such = error: object-non-existent"))
        let watch = try await tase2(["watch", "--port", port, "--interval", "1", "--count", "2", "ICC1/Line1_MW", "Line1_MW"])
        #expect(watch.status == 0, "\(watch.err)")
        #expect(watch.out.components(separatedBy: "report:").count == 3)
        #expect(watch.out.contains("ICC1/Transfer_Set_Name = {1u, \"ICC1\", \"DSTrans1\"}"))
        // Control: a select-before-operate breaker and a setpoint; without the select, a clear failure.
        let unselected = try await tase2(["control", "--port", port, "ICC1/Breaker_1_Ctl", "--command", "1"])
        #expect(unselected.status == 1 && unselected.err.contains("temporarily-unavailable"), "\(unselected.err)")
        let selected = try await tase2(["control", "--port", port, "--select", "ICC1/Breaker_1_Ctl", "--command", "1"])
        #expect(selected.status == 0 && selected.out.contains("CheckBackName") && selected.out.contains("operated"), "\(selected.err)")
        let sp = try await tase2(["control", "--port", port, "ICC1/Gen1_MW_SP", "--setpoint", "150.5"])
        #expect(sp.status == 0, "\(sp.err)")
        // Messages: the demo sends one every 2 s.
        let messages = try await tase2(["messages", "--port", port, "--count", "1"])
        #expect(messages.status == 0 && messages.out.contains("FreeTase2 demo message"), "\(messages.out) \(messages.err)")
        // AP-titles of any size parse and encode without a trap (our server cannot hold an arc
        // over 64 bits and drops such a connect); a malformed one is a usage error.
        let huge = try await tase2(["read", "--port", port, "--remote-ap-title", "2.18446744073709551615", "TASE2_Version"])
        #expect(huge.status == 1 && huge.err.contains("Error: connection closed"), "\(huge.err)")
        let bad = try await tase2(["read", "--port", port, "--remote-ap-title", "2.x", "TASE2_Version"])
        #expect(bad.status == 64 && bad.err.contains("--remote-ap-title \"2.x\" is not a dotted object identifier"), "\(bad.err)")
        // An unknown partner is refused: a clear error and a failure status.
        let refused = try await tase2(["browse", "--port", port, "--ap-title", "1.2.3.4"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("rejected"))
        _ = await server.stop()
    }

    @Test func overTLS() async throws {
        let fixtures = Interop.repoRoot.appendingPathComponent("Tests/TLSTests/Fixtures")
        let cert = fixtures.appendingPathComponent("vcc-test.cert.pem").path
        let key = fixtures.appendingPathComponent("vcc-test.key.pem").path
        let server = try await DemoServer(extra: ["--tls-cert", cert, "--tls-key", key])
        let port = "\(server.port)"
        let read = try await tase2(["read", "--host", "localhost", "--port", port, "--tls-ca", cert, "ICC1/Bilateral_Table_ID"])
        #expect(read.status == 0 && read.out.contains("\"BLT_ICC1\""), "\(read.err)")
        // Without TLS the same server does not associate.
        let plain = try await tase2(["read", "--port", port, "ICC1/Bilateral_Table_ID"], seconds: 20)
        #expect(plain.status != 0)
        _ = await server.stop()
    }

    /// The first command a newcomer runs must end in one line that says what to do, never a stack trace.
    @Test func serveOnABusyPortEndsWithOneClearLine() async throws {
        let server = try await DemoServer()
        let r = try await tase2(["serve", "--host", "127.0.0.1", "--port", "\(server.port)"])
        #expect(r.status == 1)
        let last = r.err.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last == "tase2 serve: cannot listen on 127.0.0.1:\(server.port): the port is already in use by another program; stop it or choose another port (--port)", "\(r.err)")
        #expect(!r.err.contains("Fatal error") && !r.err.contains("IOError"), "\(r.err)")
        _ = await server.stop()
    }

    @Test func checkConfigNamesFileLineAndField() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml")
        try "vcc:\n  port: 102\n  edition: \"2001.01\"\nbilateral_tables: []\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try await tase2(["check-config", file.path])
        #expect(r.status == 1)
        #expect(r.err.contains("\(file.path):3: vcc.edition"), "\(r.err)")
        let demo = try await tase2(["demo-config"])
        #expect(demo.status == 0 && demo.out.contains("bilateral_tables:"))
    }
}
