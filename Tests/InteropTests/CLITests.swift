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
        #expect(browse.out.contains("association check: TASE2_Version 2000.8 (edition 2000.08); Supported_Features: blocks 1, 2, 4, 5"), "\(browse.out)")
        #expect(browse.out.contains("ICC ICC1: Bilateral_Table_ID \"BLT_ICC1\""))
        // Points as a table of type, value, quality and time; transfer sets counted, not listed.
        #expect(browse.out.range(of: #"\n  ICC1/Breaker_1 +StateQTimeTag +(ON|OFF|BETWEEN|INVALID) +[a-z-]+ [a-z]+ +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n"#,
                                     options: .regularExpression) != nil, "\(browse.out)")
        #expect(browse.out.range(of: #"\n  ICC1/Gen1_MW +RealQTimeTagExtended +-?[0-9.]+ +[a-z-]+ [a-z]+ +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\n"#,
                                     options: .regularExpression) != nil, "\(browse.out)")
        #expect(browse.out.contains("ICC1/DS_Demo  9 members: ICC1/Transfer_Set_Name"))
        #expect(browse.out.range(of: #"ICC1/Breaker_1_Ctl +command or discrete setpoint +SBO +tag: no-tag"#, options: .regularExpression) != nil, "\(browse.out)")
        #expect(browse.out.range(of: #"ICC1/Gen1_MW_SP +real setpoint +direct +no tag"#, options: .regularExpression) != nil, "\(browse.out)")
        #expect(browse.out.contains("TRANSFER SETS: ICC1: 100"))
        #expect(!browse.out.contains("DSTrans1"))
        let browseJSON = try await tase2(["browse", "--port", port, "--json"])
        let b = try #require(jsonObject(browseJSON.out), "\(browseJSON.out) \(browseJSON.err)")
        let points = try #require(b["points"] as? [[String: Any]])
        let breaker = try #require(points.first { $0["name"] as? String == "ICC1/Breaker_1" })
        #expect(breaker["type"] as? String == "StateQTimeTag" && breaker["scope"] as? String == "ICC1")
        #expect(["ON", "OFF", "BETWEEN", "INVALID"].contains(breaker["state"] as? String ?? "") && breaker["time"] is String)
        #expect((b["transferSets"] as? [String: Int]) == ["ICC1": 100])
        let devices = try #require(b["devices"] as? [[String: Any]])
        #expect(devices.contains { $0["name"] as? String == "ICC1/Breaker_1_Ctl" && $0["sbo"] as? Bool == true && $0["taggable"] as? Bool == true })
        #expect((b["dataSets"] as? [[String: Any]])?.first?["members"].map { ($0 as? [String])?.count } == 9)
        #expect(((b["associationCheck"] as? [String: Any])?["supportedBlocks"] as? [Int]) == [1, 2, 4, 5])

        // Read: one typed line per point; non-points as MMS data; errors named.
        let read = try await tase2(["read", "--port", port, "ICC1/Bilateral_Table_ID", "TASE2_Version", "ICC1/No_Such", "ICC1/Breaker_1", "Line1_MW"])
        #expect(read.status == 0, "\(read.err)")
        let lines = read.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(read.out)")
        #expect(lines.first?.range(of: #"^ICC1/Bilateral_Table_ID +- +"BLT_ICC1"$"#, options: .regularExpression) != nil, "\(read.out)")
        #expect(lines.contains { $0.range(of: #"^ICC1/No_Such +- +error: object-non-existent$"#, options: .regularExpression) != nil }, "\(read.out)")
        #expect(lines.contains { $0.range(of: #"^ICC1/Breaker_1 +StateQTimeTag +(ON|OFF|BETWEEN|INVALID) +[a-z-]+ [a-z]+ +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil }, "\(read.out)")
        #expect(lines.contains { $0.range(of: #"^Line1_MW +RealQ +-?[0-9.]+ +[a-z-]+ [a-z]+$"#, options: .regularExpression) != nil }, "\(read.out)")
        // A declared type wins where the wire cannot tell (the demo's Breaker_2 is a StateQ).
        let declared = try await tase2(["read", "--port", port, "--json", "--type", "Breaker_2=StateQ", "Breaker_2", "Isolator_1", "ICC1/No_Such"])
        let readings = try #require(jsonArray(declared.out), "\(declared.out) \(declared.err)")
        #expect(readings.map { $0["type"] as? String } == ["StateQ", "State", nil])
        #expect(readings.last?["error"] as? String == "object-non-existent")
        // Types from a configuration shared with `tase2 serve` (here the demo's own).
        let shared = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString).yaml")
        try (try await tase2(["demo-config"])).out.write(to: shared, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: shared) }
        let fromConfig = try await tase2(["read", "--port", port, "--json", "--config", shared.path, "Breaker_2", "ICC1/AVR1_Mode", "Gen1_Mode"])
        #expect(jsonArray(fromConfig.out)?.map { $0["type"] as? String } == ["StateQ", "StateSupplementalQ", "StateSupplemental"], "\(fromConfig.out) \(fromConfig.err)")
        let badType = try await tase2(["read", "--port", port, "--type", "Breaker_2=Bogus", "Breaker_2"])
        #expect(badType.status == 64 && badType.err.contains("\"Bogus\" is not a point type"), "\(badType.err)")

        // Watch in a pipe: one flushed line per changed value; NDJSON with --json. Reports every 2 s
        // against the simulator's 1 s: with both at 1 s, a loaded machine once sent a second
        // report before the simulator had moved, and it rightly printed nothing new.
        let watch = try await tase2(["watch", "--port", port, "--interval", "2", "--count", "2", "ICC1/Line1_MW", "Line1_MW"])
        #expect(watch.status == 0, "\(watch.err)")
        #expect(watch.out.hasPrefix("watching ICC1/DSTrans1 on data set ICC1/FT2_WATCH (2 points)\n"), "\(watch.out)")
        #expect(watch.out.range(of: #"\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  #1  ICC1/Line1_MW  RealQ  -?[0-9.]+  [a-z-]+ [a-z]+\n"#, options: .regularExpression) != nil, "\(watch.out)")
        #expect(watch.out.contains("  #2  "), "\(watch.out)")
        #expect(watch.err.contains("stopped ICC1/DSTrans1 after 2 reports"), "\(watch.err)")
        let ndjson = try await tase2(["watch", "--port", port, "--json", "--interval", "1", "--count", "1", "ICC1/Breaker_1"])
        let events = ndjson.out.split(separator: "\n").compactMap { jsonObject(String($0)) }
        #expect(events.count == ndjson.out.split(separator: "\n").count && events.count == 3, "\(ndjson.out)")
        #expect(events.first?["event"] as? String == "started" && events.last?["event"] as? String == "stopped")
        #expect(events[1]["name"] as? String == "ICC1/Breaker_1" && events[1]["type"] as? String == "StateQTimeTag" && events[1]["report"] as? Int == 1)
        #expect(events[1]["conditions"] as? [String] == ["interval"])
        let nothing = try await tase2(["watch", "--port", port, "--interval", "0", "ICC1/Breaker_1"])
        #expect(nothing.status == 64 && nothing.err.contains("nothing would be reported"), "\(nothing.err)")

        // Control: a select-before-operate breaker and a setpoint; without the select, a clear failure.
        let unselected = try await tase2(["control", "--port", port, "ICC1/Breaker_1_Ctl", "--command", "1"])
        #expect(unselected.status == 1 && unselected.err.contains("temporarily-unavailable"), "\(unselected.err)")
        let selected = try await tase2(["control", "--port", port, "--select", "ICC1/Breaker_1_Ctl", "--command", "1"])
        #expect(selected.status == 0 && selected.out.contains("CheckBackName") && selected.out.contains("operated"), "\(selected.err)")
        let sp = try await tase2(["control", "--port", port, "--json", "ICC1/Gen1_MW_SP", "--setpoint", "150.5"])
        #expect(sp.status == 0, "\(sp.err)")
        #expect(jsonObject(sp.out)?["setpoint"] as? Double == 150.5 && jsonObject(sp.out)?["operated"] as? Bool == true, "\(sp.out)")
        // Tags: set, shown, and obeyed (close-only inhibit refuses a close).
        let tagged = try await tase2(["tag", "--port", port, "ICC1/Breaker_1_Ctl", "--set", "close-only-inhibit", "--reason", "line work"])
        #expect(tagged.status == 0 && tagged.out == "ICC1/Breaker_1_Ctl  close-only-inhibit  \"line work\"\n", "\(tagged.out) \(tagged.err)")
        let inhibited = try await tase2(["control", "--port", port, "--select", "ICC1/Breaker_1_Ctl", "--command", "1"])
        #expect(inhibited.status == 1 && inhibited.err.contains("temporarily-unavailable"), "\(inhibited.err)")
        let tagJSON = try await tase2(["tag", "--port", port, "--json", "ICC1/Breaker_1_Ctl", "--set", "no-tag"])
        #expect(jsonObject(tagJSON.out).map { $0["tag"] as? String == "no-tag" && $0["reason"] as? String == "" } == true, "\(tagJSON.out)")
        let untaggable = try await tase2(["tag", "--port", port, "ICC1/Gen1_MW_SP"])
        #expect(untaggable.status == 1 && untaggable.err.contains("object-non-existent"), "\(untaggable.err)")
        // Messages: the demo sends one every 2 s.
        let messages = try await tase2(["messages", "--port", port, "--count", "1"])
        #expect(messages.status == 0 && messages.out.contains("FreeTase2 demo message"), "\(messages.out) \(messages.err)")
        let messageJSON = try await tase2(["messages", "--port", port, "--json", "--count", "1"])
        let m = jsonObject(messageJSON.out.split(separator: "\n").first.map(String.init) ?? "")
        #expect((m?["text"] as? String)?.hasPrefix("FreeTase2 demo message") == true && m?["scope"] as? String == "VCC", "\(messageJSON.out)")
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

    /// On a terminal `watch` redraws one table in place (clear, home, header with the count of
    /// reports and the time since the last), and Ctrl-C stops the transfer set and concludes.
    @Test(.enabled(if: Interop.requested, "needs the project's Python (pty) from scripts/setup-peers.sh"))
    func watchOnATerminalRedrawsInPlaceAndCtrlCStops() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer()
        let p = try PeerProcess(Interop.python, [Interop.script("pty_run.py"), "--until", "reports, last", "--count", "3", "--timeout", "20", "--",
                                                 try Tase2Binary.path(), "watch", "--port", "\(server.port)", "--interval", "1", "ICC1/Line1_MW", "ICC1/Breaker_1"])
        for await _ in p.lines {}
        #expect(await p.wait(seconds: 40) == 0)
        let r = try #require(jsonObject(p.stdout), "\(p.stdout) \(p.stderr)")
        let out = r["output"] as? String ?? ""
        #expect(r["status"] as? Int == 0 && r["interrupted"] as? Bool == true, "\(out.suffix(800))")
        #expect((r["matched"] as? Int ?? 0) >= 3)
        #expect(out.components(separatedBy: "\u{1B}[H\u{1B}[2J").count >= 4, "redrawn in place: \(out.suffix(800))")
        #expect(out.range(of: #"watching ICC1/DSTrans1 on ICC1/FT2_WATCH — [1-9][0-9]* reports, last [0-9.]+ s ago \(interval\)"#, options: .regularExpression) != nil,
                "\(out.suffix(800))")
        #expect(out.range(of: #"ICC1/Breaker_1 +StateQTimeTag +(ON|OFF|BETWEEN|INVALID)"#, options: .regularExpression) != nil)
        #expect(out.contains("stopped ICC1/DSTrans1 after"), "Ctrl-C stops the transfer set: \(out.suffix(400))")
        let log = await server.stop()
        #expect(log.contains("transfer set disabled"), "\(log.suffix(800))")
    }

    /// Browsing thousands of points shows its progress on a terminal (on stderr, rewritten in
    /// place) and never in a pipe.
    @Test(.enabled(if: Interop.requested, "needs the project's Python (pty) from scripts/setup-peers.sh"))
    func browseShowsProgressOnATerminalOnly() async throws {
        try Interop.requirePeers()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("big-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            vcc:
              name: BIG
              edition: "2000.08"
              ap_title: 1.1.1.999.1
              ae_qualifier: 12
            bilateral_tables:
              - id: BLT_BIG
                icc: ICC1
                partner: { ap_title: 1.1.1.999, ae_qualifier: 12 }
                vcc_read: ["*"]
                transfer_sets: 2
            points_csv: big.csv

            """.write(to: dir.appendingPathComponent("big.yaml"), atomically: true, encoding: .utf8)
        try ("name,type,scope,value,quality,writable\n" + (1...3000).map { "P\($0),RealQ,ICC1,\($0),,false" }.joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("big.csv"), atomically: true, encoding: .utf8)
        let server = try await DemoServer(extra: ["--config", dir.appendingPathComponent("big.yaml").path])
        let p = try PeerProcess(Interop.python, [Interop.script("pty_run.py"), "--until", "TRANSFER SETS:", "--timeout", "60", "--",
                                                 try Tase2Binary.path(), "browse", "--port", "\(server.port)"])
        for await _ in p.lines {}
        #expect(await p.wait(seconds: 90) == 0)
        let out = (jsonObject(p.stdout)?["output"] as? String) ?? ""
        #expect(out.contains("POINTS (3000)"), "\(out.suffix(400))")
        #expect(out.range(of: #"\r\x{1B}\[2Kdescribing [0-9]+/[0-9]+"#, options: .regularExpression) != nil, "no progress: \(out.prefix(400))")
        #expect(out.range(of: #"\r\x{1B}\[2Kreading [0-9]+/3000"#, options: .regularExpression) != nil)
        let piped = try await tase2(["browse", "--port", "\(server.port)"], seconds: 90)
        #expect(piped.status == 0 && !piped.err.contains("describing") && !(piped.out + piped.err).contains("\u{1B}"), "\(piped.err.suffix(300))")
        _ = await server.stop()
    }

    /// `tase2 probe` against the demo: every row passes, in the table and in the JSON.
    @Test func probeTheDemo() async throws {
        let server = try await DemoServer()
        let port = "\(server.port)"
        let table = try await tase2(["probe", "127.0.0.1", "--port", port, "--allow-control", "--wait", "5"], seconds: 60)
        #expect(table.status == 0, "\(table.out) \(table.err)")
        #expect(table.out.contains("17 PASS, 0 FAIL, 1 N/A") && table.out.range(of: #"TLS \(IEC 62351-3\) +N/A +plain TCP \(no TLS\)"#, options: .regularExpression) != nil, "\(table.out)")
        #expect(table.out.range(of: #"\n5 +select returns a CheckBackName +PASS +ICC1/Breaker_1_Ctl_SBO = 1\n"#, options: .regularExpression) != nil, "\(table.out)")
        let json = try await tase2(["probe", "--port", port, "--json", "--wait", "5"], seconds: 60)
        let o = try #require(jsonObject(json.out), "\(json.out) \(json.err)")
        let rows = try #require(o["rows"] as? [[String: Any]])
        let checks = rows.map { ($0["check"] as? String ?? "", $0["result"] as? String ?? "") }
        // Without --allow-control block 5 is not tried; everything else passes.
        #expect(checks.filter { $0.1 == "PASS" }.count == 14 && checks.count == 16 && checks.contains { $0 == ("device control", "N/A") }, "\(checks)")
        #expect(Set(checks.map(\.0)).isSuperset(of: ["association check", "TASE2_Version", "Supported_Features", "points read and typed",
                                                     "data set define / read / delete", "Next_DSTransfer_Set", "interval reports",
                                                     "report special members", "integrity reports", "report by exception",
                                                     "critical reports", "IM_Transfer_Set enable", "information message"]))
        #expect(json.status == 0)
        _ = await server.stop()
    }

    @Test func overTLS() async throws {
        // Secure mode verifies partners' certificates: without trust roots, a clear usage error.
        let fixtures = Interop.repoRoot.appendingPathComponent("Tests/TLSTests/Fixtures")
        let selfSigned = fixtures.appendingPathComponent("vcc-test.cert.pem").path
        let selfSignedKey = fixtures.appendingPathComponent("vcc-test.key.pem").path
        let noRoots = try await tase2(["serve", "--port", "0", "--tls-cert", selfSigned, "--tls-key", selfSignedKey])
        #expect(noRoots.status == 64 && noRoots.err.contains("give --tls-ca"), "\(noRoots.err)")
        // One way (a test setup): the client checks the server, the server asks nothing.
        let oneWay = try await DemoServer(extra: ["--tls-cert", selfSigned, "--tls-key", selfSignedKey, "--tls-no-client-auth"])
        let read = try await tase2(["read", "--host", "localhost", "--port", "\(oneWay.port)", "--tls-ca", selfSigned, "ICC1/Bilateral_Table_ID"])
        #expect(read.status == 0 && read.out.contains("\"BLT_ICC1\""), "\(read.err)")
        // Without TLS the same server does not associate.
        let plain = try await tase2(["read", "--port", "\(oneWay.port)", "ICC1/Bilateral_Table_ID"], seconds: 20)
        #expect(plain.status != 0)
        _ = await oneWay.stop()

        // Mutual authentication with the test PKI, a CRL, and a pinned server certificate.
        try TestPKI.require()
        let pki = TestPKI.path
        let secure = try await DemoServer(extra: ["--tls-cert", pki("vcc.pem"), "--tls-key", pki("vcc.key"), "--tls-ca", pki("ca.pem"), "--tls-crl", pki("ca.crl.pem")])
        let port = "\(secure.port)"
        let mutual = try await tase2(["read", "--host", "localhost", "--port", port, "--tls-ca", pki("ca.pem"), "--tls-cert", pki("partner-a.pem"),
                                      "--tls-key", pki("partner-a.key"), "ICC1/Bilateral_Table_ID"])
        #expect(mutual.status == 0 && mutual.out.contains("\"BLT_ICC1\""), "\(mutual.err)")
        let pinned = try await tase2(["read", "--host", "localhost", "--port", port, "--tls-sha256", TestPKI.fingerprint("vcc"), "--tls-cert", pki("partner-a.pem"),
                                      "--tls-key", pki("partner-a.key"), "ICC1/Bilateral_Table_ID"])
        #expect(pinned.status == 0, "\(pinned.err)")
        let wrongPin = try await tase2(["read", "--host", "localhost", "--port", port, "--tls-sha256", TestPKI.fingerprint("partner-b"), "--tls-cert", pki("partner-a.pem"),
                                        "--tls-key", pki("partner-a.key"), "ICC1/Bilateral_Table_ID"])
        #expect(wrongPin.status == 1 && wrongPin.err.contains("CERTIFICATE_VERIFY_FAILED"), "\(wrongPin.err)")
        let noCertificate = try await tase2(["read", "--host", "localhost", "--port", port, "--tls-ca", pki("ca.pem"), "ICC1/Bilateral_Table_ID"])
        #expect(noCertificate.status == 1 && noCertificate.err.contains("CERTIFICATE_REQUIRED"), "\(noCertificate.err)")
        let revoked = try await tase2(["read", "--host", "localhost", "--port", port, "--tls-ca", pki("ca.pem"), "--tls-cert", pki("revoked.pem"),
                                       "--tls-key", pki("revoked.key"), "ICC1/Bilateral_Table_ID"])
        #expect(revoked.status == 1 && revoked.err.contains("authentication failure"), "\(revoked.err)")
        // The probe reports the transport: version, the server's certificate and its expiry.
        let probe = try await tase2(["probe", "localhost", "--port", port, "--json", "--wait", "2", "--tls-ca", pki("ca.pem"), "--tls-cert", pki("partner-a.pem"),
                                     "--tls-key", pki("partner-a.key")], seconds: 60)
        let rows = (jsonObject(probe.out)?["rows"] as? [[String: Any]]) ?? []
        let tlsRow = rows.first { $0["check"] as? String == "TLS (IEC 62351-3)" }
        #expect(tlsRow?["result"] as? String == "PASS", "\(probe.out.prefix(600)) \(probe.err)")
        #expect((tlsRow?["evidence"] as? String).map {
            $0.range(of: #"^TLSv1\.3 TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256); server CN localhost issued by CN FreeTase2 Test CA"#,
                     options: .regularExpression) != nil
        } == true, "\(String(describing: tlsRow))")
        // SIGHUP reloads the CRLs: a certificate revoked after the start is refused from then on.
        let live = TestPKI.directory.appendingPathComponent("live-\(UUID().uuidString).crl.pem").path
        try FileManager.default.copyItem(atPath: pki("ca.crl0.pem"), toPath: live)
        let reloading = try await DemoServer(extra: ["--tls-cert", pki("vcc.pem"), "--tls-key", pki("vcc.key"), "--tls-ca", pki("ca.pem"), "--tls-crl", live])
        let revokedArgs = ["read", "--host", "localhost", "--port", "\(reloading.port)", "--tls-ca", pki("ca.pem"), "--tls-cert", pki("revoked.pem"),
                           "--tls-key", pki("revoked.key"), "ICC1/Bilateral_Table_ID"]
        #expect(try await tase2(revokedArgs).status == 0, "not revoked yet")
        try FileManager.default.removeItem(atPath: live)
        try FileManager.default.copyItem(atPath: pki("ca.crl.pem"), toPath: live)
        kill(reloading.process.process.processIdentifier, SIGHUP)
        #expect(await reloading.waitForLog("CRLs reloaded"), "\(reloading.process.stderr.suffix(600))")
        let afterReload = try await tase2(revokedArgs)
        #expect(afterReload.status == 1 && afterReload.err.contains("authentication failure"), "\(afterReload.err)")
        _ = await reloading.stop()
        let log = await secure.stop()
        #expect(log.contains("event=certificate-required") && log.contains("event=certificate-revoked") && log.contains("code=105"), "\(log.suffix(1500))")
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

func jsonArray(_ text: String) -> [[String: Any]]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]]
}
