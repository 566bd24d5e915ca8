import Foundation
import MMS
import MMSNIO
import TASE2
import Testing
import TestSupport

@Suite("Our TASE.2 client against a hat-drivers TASE.2 server", .enabled(if: Interop.requested, "interop runs via scripts/test-all.sh and in CI"),
       .timeLimit(.minutes(2)))
struct TASE2ClientInteropTests {
    @Test("association check, typed read, a critical transfer set's reports and our ACKs")
    func clientAgainstHatTASE2Server() async throws {
        try Interop.requirePeers()
        let (server, port) = try await PeerProcess.startServer("hat_tase2_server.py", [])
        defer { server.terminate() }
        try await TASE2Client.withClient(MMSClient.Configuration(host: "127.0.0.1", port: port)) { c in
            #expect(c.icc == "ICC1" && c.bilateralTableID == "HAT_BLT" && c.edition == .v2000 && c.supportedBlocks == [1, 2])
            let line = try await c.read("Line1_MW", in: .vcc, as: .realQ)
            #expect(line.real >= 100)
            let ts = try await c.startCriticalTransfer(dataSet: "DS_T", points: [.vmdSpecific("Line1_MW")]) { d in
                d.interval = 1
                d.conditions = [.intervalTimeOut]
            }
            #expect(ts == .domainSpecific(domain: "ICC1", item: "DSTrans1"))
            var reports = c.transferReports.makeAsyncIterator()
            for _ in 0..<2 {
                let r = await reports.next()
                #expect(r?.transferSet == ts && r?.conditions == .intervalTimeOut)
                #expect(r?.values.map(\.name) == [.vmdSpecific("Line1_MW")])
                #expect(r?.timeStamp.map { abs(Double($0) - Date().timeIntervalSince1970) < 30 } == true)
            }
            // The foreign server saw our acknowledgements.
            let deadline = Date().addingTimeInterval(5)
            var acks = 0
            while acks < 2 && Date() < deadline {
                acks = server.stdout.split(separator: "\n").filter { jsonObject(String($0))?["event"] as? String == "ack" }.count
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(acks >= 2, "\(server.stdout.suffix(1500))")
            try await c.stopTransfer(ts)
        }
    }
}
