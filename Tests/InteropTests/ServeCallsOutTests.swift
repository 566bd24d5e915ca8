import BER
import Foundation
import Logging
import MMS
import TASE2
import Testing
import TestSupport

/// `tase2 serve` calls partners as well as listening: a partner VCC in this process, and a hub
/// configuration whose table for it has `partner_vcc.connect`. The hub subscribes to the
/// partner's point over the association it called, and logs what it receives.
@Suite("tase2 serve calls out to partners", .timeLimit(.minutes(2)))
struct ServeCallsOutTests {
    @Test func serveSubscribesToAPartnerItCalls() async throws {
        var c = TASE2Configuration()
        c.vcc.host = "127.0.0.1"
        c.vcc.port = 0
        c.vcc.apTitle = [1, 3, 9999, 20]
        c.bilateralTables = [BilateralTableConfig(id: "BLT_HUB", icc: "HUB", partnerAPTitle: [1, 3, 9999, 10], transferSets: 2)]
        c.points = [PointConfig(name: "P_Line_MW", type: .realQ, scope: .vcc, initial: .real(61.5))]
        var logger = Logger(label: "test.partner")
        logger.logLevel = .warning
        let partner = try TASE2Server(configuration: c, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await partner.run() }
            defer { partner.shutdown() }
            let port = try await partner.localAddress().port ?? 0
            let yaml = """
                vcc: { ap_title: 1.3.9999.10, ae_qualifier: 12 }
                bilateral_tables:
                  - id: BLT_P
                    icc: ICC_P
                    partner: { ap_title: 1.3.9999.20 }
                    partner_vcc:
                      connect: ["127.0.0.1:\(port)"]
                      icc: HUB
                      points: [P_Line_MW]
                      interval: 0
                      integrity_check: 1
                points:
                  - { name: Hub_Load, type: RealQ, value: 3 }
                """
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("hub-\(UUID().uuidString).yaml")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let hub = try await DemoServer(extra: ["--config", file.path])
            let deadline = Date().addingTimeInterval(30)
            while !hub.process.stderr.contains("partner value") && Date() < deadline && hub.process.process.isRunning {
                try await Task.sleep(for: .milliseconds(50))  // polling a child's log (no event to wait on across processes)
            }
            // The partner serves the hub's transfer set on the association the hub called.
            #expect(partner.vcc.enabledTransferSets.map(\.icc) == ["HUB"])
            let log = await hub.stop()
            #expect(log.contains("called the partner"), "\(log.suffix(2000))")
            #expect(log.contains("partner value") && log.contains("P_Line_MW") && log.contains("61.5"), "\(log.suffix(2000))")
            partner.shutdown()
            try await group.waitForAll()
        }
    }
}
