import Foundation
import InteropFixture
import MMS
import MMSNIO
import Testing
import TestSupport

/// Runs the whole service list of our client against our server (shared by the wire check).
func runClientList(port: Int, server: MMSServer, device: InMemoryVMD) async throws {
    let a = try await MMSClient.connect(clientConfig(port))
    _ = try await a.identify()
    _ = try await a.getNameList(.domain, scope: .vmdSpecific)
    _ = try await a.getNameList(.namedVariable, scope: .domainSpecific("ICC1"))
    _ = try await a.read([VariableAccess(.vmdSpecific("TASE2_Version")), VariableAccess(.vmdSpecific("Supported_Features")),
                          VariableAccess(.domainSpecific(domain: "ICC1", item: "Bilateral_Table_ID"))])
    _ = try await a.read(.domainSpecific(domain: "ICC1", item: "Voltage_1"), alternateAccess: .component("Value"))
    try await a.write(.domainSpecific(domain: "ICC1", item: "Setpoint_1"), .float(3))
    try await a.defineList(.domainSpecific(domain: "ICC1", item: "WIRE_DS"), members: [VariableAccess(.domainSpecific(domain: "ICC1", item: "Voltage_1"))])
    _ = try await a.read(list: .domainSpecific(domain: "ICC1", item: "WIRE_DS"))
    _ = try await a.listAttributes(.domainSpecific(domain: "ICC1", item: "WIRE_DS"))
    _ = try await a.deleteLists([.domainSpecific(domain: "ICC1", item: "WIRE_DS")])
    _ = try await a.variableAccessAttributes(.domainSpecific(domain: "ICC1", item: "Voltage_1"))
    let s = try #require(server.associations.first)
    for r in Fixture.reports(device) { try await s.send(r) }
    var it = a.informationReports.makeAsyncIterator()
    _ = await it.next()
    _ = await it.next()
    try await a.conclude()
}

@Suite("Wire check with tshark", .enabled(if: Interop.requested, "interop runs via scripts/test-all.sh and in CI"))
struct WireCheckTests {
    @Test("tshark decodes one full association of our client with our server, with no malformed or error rows", .timeLimit(.minutes(2)))
    func tsharkDecodesEverything() async throws {
        let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let dumpcap = ["/usr/bin/dumpcap", "/usr/local/bin/dumpcap"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tshark, let dumpcap else { throw PeerError("tshark is not installed; run scripts/setup-peers.sh") }
        let device = Fixture.makeDevice()
        let pcap = FileManager.default.temporaryDirectory.appendingPathComponent("freetase2-wire-\(getpid()).pcap").path
        try await withServer(device) { server, port in
            // dumpcap (tshark's capture engine) stops cleanly on SIGINT; tshark's own child does not.
            let capture = try PeerProcess(dumpcap, ["-q", "-P", "-i", "lo", "-f", "tcp port \(port)", "-w", pcap])
            let deadline = Date().addingTimeInterval(15)
            while !FileManager.default.fileExists(atPath: pcap) && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(FileManager.default.fileExists(atPath: pcap), "dumpcap did not start: \(capture.stderr)")
            try await Task.sleep(for: .milliseconds(300))
            try await runClientList(port: port, server: server, device: device)
            try await Task.sleep(for: .milliseconds(500))
            capture.process.interrupt()
            _ = await capture.wait(seconds: 10)

            let dissect = try PeerProcess(tshark, ["-r", pcap, "-d", "tcp.port==\(port),tpkt", "-V"])
            var text = ""
            for await line in dissect.lines { text += line + "\n" }
            _ = await dissect.wait(seconds: 30)
            let lines = text.split(separator: "\n")
            #expect(lines.contains("MMS"), "tshark found no MMS (wrong port?)")
            let bad = lines.filter { $0.contains("[Malformed") || $0.contains("Expert Info (Error") }
            #expect(bad.isEmpty, "tshark complains: \(bad.prefix(5))")
            // Every service of the list is on the wire.
            for what in ["initiate-RequestPDU", "initiate-ResponsePDU", "identify", "getNameList", "read", "write",
                         "defineNamedVariableList", "getNamedVariableListAttributes", "deleteNamedVariableList",
                         "getVariableAccessAttributes", "informationReport", "conclude-RequestPDU", "conclude-ResponsePDU"] {
                #expect(text.contains(what), "no \(what) on the wire")
            }
            #expect(lines.contains("    rlrq") && lines.contains { $0.hasPrefix("    rlre") }, "no ACSE release on the wire")
        }
        try? FileManager.default.removeItem(atPath: pcap)
    }
}
