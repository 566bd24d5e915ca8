import Foundation
import Testing
import TestSupport

/// `tase2 probe` against the hat-drivers TASE.2 server of the interop tests (our own scripted
/// model of a peer on a foreign MMS stack, not an independent TASE.2 implementation): all rows
/// pass against it as it is, and with one rule per block broken, the matching row fails.
@Suite("tase2 probe against a foreign TASE.2 server", .enabled(if: Interop.requested, "interop runs via scripts/test-all.sh and in CI"),
       .timeLimit(.minutes(3)), .serialized)
struct ProbeInteropTests {
    static func probe(_ serverArguments: [String]) async throws -> (status: Int32, rows: [String: (result: String, evidence: String)], out: String) {
        try Interop.requirePeers()
        let (server, port) = try await PeerProcess.startServer("hat_tase2_server.py", ["--blocks", "1,2,4,5"] + serverArguments)
        defer { server.terminate() }
        let r = try await tase2(["probe", "127.0.0.1", "--port", "\(port)", "--json", "--allow-control", "--wait", "4"], seconds: 90)
        let o = try #require(jsonObject(r.out), "\(r.out) \(r.err)")
        var rows: [String: (String, String)] = [:]
        for row in o["rows"] as? [[String: Any]] ?? [] {
            rows[row["check"] as? String ?? "?"] = (row["result"] as? String ?? "?", row["evidence"] as? String ?? "")
        }
        return (r.status, rows, r.out)
    }

    @Test func everyRowPassesAgainstTheConformantServer() async throws {
        let p = try await Self.probe([])
        #expect(p.status == 0, "\(p.out)")
        #expect(p.rows.count == 18 && p.rows.filter { $0.value.result != "PASS" }.map(\.key) == ["TLS (IEC 62351-3)"], "\(p.rows)")
        #expect(p.rows["TLS (IEC 62351-3)"]?.result == "N/A")
    }

    /// One rule broken per block; each is caught by its own row, the other blocks still pass.
    @Test func oneBrokenRulePerBlockFailsItsRow() async throws {
        let p = try await Self.probe(["--break", "special-order", "--break", "rbe-silent", "--break", "bad-message", "--break", "no-checkback"])
        #expect(p.status == 1, "\(p.out)")
        let expectedFailures: [String: String] = [
            "report special members": "Transfer_Set_Name is not an object name",  // block 1
            "report by exception": "no ObjectChange report",  // block 2
            "information message": "does not fit its 64-octet buffer",  // block 4
            "select returns a CheckBackName": "not an Integer16",  // block 5
        ]
        for (check, evidence) in expectedFailures {
            #expect(p.rows[check]?.result == "FAIL" && p.rows[check]?.evidence.contains(evidence) == true, "\(check): \(String(describing: p.rows[check]))")
        }
        // A report whose Transfer_Set_Name is wrong cannot be acknowledged either: that row fails too.
        #expect(p.rows["critical reports"]?.result == "FAIL")
        let unaffected = ["association check", "Supported_Features", "points read and typed", "data set define / read / delete",
                          "Next_DSTransfer_Set", "interval reports", "integrity reports", "IM_Transfer_Set enable",
                          "operate without select refused", "GetTag"]
        for check in unaffected { #expect(p.rows[check]?.result == "PASS", "\(check): \(String(describing: p.rows[check]))") }
    }

    @Test func anOperateWithoutSelectIsCaught() async throws {
        let p = try await Self.probe(["--break", "operate-unselected"])
        #expect(p.status == 1)
        #expect(p.rows["operate without select refused"]?.result == "FAIL", "\(p.rows)")
        #expect(p.rows["select returns a CheckBackName"]?.result == "PASS")
    }
}
