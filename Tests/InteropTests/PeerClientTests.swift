import Foundation
import InteropFixture
import MMS
import MMSNIO
import Synchronization
import Testing
import TestSupport

/// Runs a foreign client script against our server hosting the fixture; sends the two reports
/// when the script says it is ready; returns each step's outcome.
func runForeignClient(_ script: String, device: InMemoryVMD) async throws -> (steps: [String: Bool], status: Int32, output: String) {
    try Interop.requirePeers()
    return try await withServer(device) { server, port in
        let peer = try PeerProcess(Interop.python, [Interop.script(script), "127.0.0.1", "\(port)"])
        var steps: [String: Bool] = [:]
        for await line in peer.lines {
            guard let o = jsonObject(line) else { continue }
            if o["event"] as? String == "ready-for-reports" {
                for a in server.associations {
                    for r in Fixture.reports(device) { try await a.send(r) }
                }
            }
            if let step = o["step"] as? String, let ok = o["ok"] as? Bool {
                steps[step] = ok
                if !ok { Issue.record("\(script): \(line)") }
            }
        }
        let status = await peer.wait(seconds: 30)
        return (steps, status, peer.stdout + "\n" + peer.stderr)
    }
}

let commonSteps = [
    "associate", "identify", "getNameList-domains", "getNameList-vmd-variables", "getNameList-ICC1-variables",
    "getNameList-ICC1-lists", "getNameList-vmd-lists", "read-VMD_Real", "read-TASE2_Version", "read-ICC1/Voltage_1",
    "read-ICC1/Values_Array", "read-ICC1/Voltage_1-component-Value", "write-ICC1/Setpoint_1", "readback-ICC1/Setpoint_1",
    "write-VMD_Real", "readback-VMD_Real", "define-ICC1/CLIENT_DS", "read-list-ICC1/CLIENT_DS",
    "getNamedVariableListAttributes-ICC1/CLIENT_DS", "delete-ICC1/CLIENT_DS", "getVariableAccessAttributes-ICC1/Voltage_1",
    "write-readonly-ICC1/Bilateral_Table_ID-denied", "reports",
]

@Suite("Foreign clients against our server", .enabled(if: Interop.requested, "interop runs via scripts/test-all.sh and in CI"),
       .timeLimit(.minutes(3)))
struct PeerClientTests {
    @Test("libiec61850 (pyiec61850-ng, MmsConnection_*) runs the whole service list and receives our reports of both forms")
    func libiec61850Client() async throws {
        let device = Fixture.makeDevice()
        let (steps, status, output) = try await runForeignClient("iec61850_client.py", device: device)
        #expect(status == 0, "\(output.suffix(2000))")
        for s in commonSteps + ["conclude"] { #expect(steps[s] == true, "step \(s) missing or failed") }
        // What the peer wrote is what the model now holds.
        #expect(device.value(of: .domainSpecific(domain: "ICC1", item: "Setpoint_1")) == .float(12.25))
        #expect(device.value(of: .vmdSpecific("VMD_Real")) == .float(2.5))
    }

    @Test("hat-drivers client runs the whole service list, receives our reports and sends us one")
    func hatClient() async throws {
        let received = Mutex<[InformationReport]>([])
        let device = Fixture.makeDevice(onReport: { r, _ in received.withLock { $0.append(r) } })
        let (steps, status, output) = try await runForeignClient("hat_client.py", device: device)
        #expect(status == 0, "\(output.suffix(2000))")
        for s in commonSteps + ["sent-report"] { #expect(steps[s] == true, "step \(s) missing or failed") }
        #expect(device.value(of: .domainSpecific(domain: "ICC1", item: "Setpoint_1")) == .float(12.25))
        let ack = InformationReport(.listOfVariable([VariableAccess(.domainSpecific(domain: "ICC1", item: "Transfer_Report_ACK"))]),
                                    results: [.success(.visibleString("ack-from-hat"))])
        #expect(received.withLock { $0 } == [ack])
    }
}

@Suite("Our client against a hat-drivers server", .enabled(if: Interop.requested, "interop runs via scripts/test-all.sh and in CI"),
       .timeLimit(.minutes(2)))
struct HatServerTests {
    @Test("our client runs the service list against hat.drivers.mms and receives its informationReports")
    func ourClientAgainstHatServer() async throws {
        try Interop.requirePeers()
        let (server, port) = try await PeerProcess.startServer("hat_server.py", ["--report-interval", "0.3"])
        defer { server.terminate() }
        let a = try await MMSClient.connect(clientConfig(port))
        let id = try await a.identify()
        #expect(!id.vendorName.isEmpty)
        // hat_server pages GetNameList by 3: our client follows continueAfter.
        #expect(try await a.getNameList(.domain, scope: .vmdSpecific) == ["ICC1", "ICC2"])
        #expect(try await a.getNameList(.namedVariable, scope: .vmdSpecific) == ["Supported_Features", "TASE2_Version", "VMD_Counter", "VMD_Real"])
        #expect(try await a.getNameList(.namedVariable, scope: .domainSpecific("ICC1")) == ["Bilateral_Table_ID", "Breaker_1", "Setpoint_1", "Values_Array", "Voltage_1"])
        #expect(try await a.getNameList(.namedVariableList, scope: .domainSpecific("ICC1")) == ["DS_Analog"])
        #expect(try await a.getNameList(.namedVariableList, scope: .vmdSpecific) == ["VMD_DS"])
        #expect(try await a.read(.vmdSpecific("VMD_Real")) == .float(1.5))
        #expect(try await a.read(.vmdSpecific("TASE2_Version")) == .structure([.integer(2000), .integer(8)]))
        #expect(try await a.read(.vmdSpecific("Supported_Features")) == .bitString(Fixture.features))
        #expect(try await a.read(.domainSpecific(domain: "ICC1", item: "Voltage_1")) == .structure([.float(230.5), Fixture.flags(0)]))
        #expect(try await a.read(.domainSpecific(domain: "ICC1", item: "Values_Array")) == .array([.float(1), .float(2), .float(3.5)]))
        #expect(try await a.read(.domainSpecific(domain: "ICC1", item: "Voltage_1"), alternateAccess: .component("Value")) == .float(230.5))
        try await a.write(.domainSpecific(domain: "ICC1", item: "Setpoint_1"), .float(12.25))
        #expect(try await a.read(.domainSpecific(domain: "ICC1", item: "Setpoint_1")) == .float(12.25))
        await #expect(throws: DataAccessError.self) { try await a.write(.domainSpecific(domain: "ICC1", item: "Bilateral_Table_ID"), .visibleString("x")) }
        let ds = ObjectName.domainSpecific(domain: "ICC1", item: "CLIENT_DS")
        try await a.defineList(ds, members: [VariableAccess(.domainSpecific(domain: "ICC1", item: "Voltage_1")),
                                             VariableAccess(.domainSpecific(domain: "ICC1", item: "Setpoint_1"))])
        #expect(try await a.read(list: ds) == [.success(.structure([.float(230.5), Fixture.flags(0)])), .success(.float(12.25))])
        let attrs = try await a.listAttributes(ds)
        #expect(attrs.variables.count == 2)
        #expect(try await a.deleteLists([ds]).numberDeleted == 1)
        let type = try await a.variableAccessAttributes(.domainSpecific(domain: "ICC1", item: "Voltage_1"))
        #expect(type.typeSpecification == Fixture.realQ)
        // Its periodic reports, both forms.
        var sawList = false, sawName = false
        for await r in a.informationReports {
            switch r.variableAccessSpecification {
            case .listOfVariable(let l): sawList = sawList || l.first?.variable.name == .domainSpecific(domain: "ICC1", item: "Voltage_1")
            case .variableListName(let n): sawName = sawName || n == .vmdSpecific("VMD_DS")
            }
            if sawList && sawName { break }
        }
        #expect(sawList && sawName)
        // hat answers conclude and then closes the connection without waiting for release: either end is fine.
        try? await a.conclude()
        await a.waitUntilClosed()
        server.terminate()
        _ = await server.wait(seconds: 10)
        #expect(!server.stdout.contains("server-error"), "\(server.stdout.suffix(1500))")
    }
}
