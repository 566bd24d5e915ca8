import BER
import Foundation
import MMS
import NIOCore
import NIOPosix
import TASE2
import Testing
import TestSupport

/// `tase2 serve` (the demo) as a child process on a free port.
final class DemoServer: Sendable {
    let process: PeerProcess
    let port: Int

    init(logLevel: String = "info", extra: [String] = []) async throws {
        // Ask the system for a free port, then hand it to the server.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        port = probe.localAddress?.port ?? 0
        try await probe.close()
        process = try PeerProcess(try Tase2Binary.path(), ["serve", "--host", "127.0.0.1", "--port", "\(port)", "--log-level", logLevel] + extra)
        let deadline = Date().addingTimeInterval(20)
        while !process.stderr.contains("MMS server listening") {
            guard Date() < deadline, process.process.isRunning else { throw PeerError("tase2 serve did not start: \(process.stderr)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits (up to `seconds`) for `text` to appear in the server's log, as the start does for
    /// "MMS server listening": the log file is the only signal a child process gives.
    func waitForLog(_ text: String, seconds: Double = 10) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !process.stderr.contains(text) {
            guard Date() < deadline, process.process.isRunning else { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// SIGINT, as an operator's Ctrl-C: the server must stop cleanly (exit 0) within seconds.
    func stop() async -> String {
        process.process.interrupt()
        let status = await process.wait(seconds: 10)
        #expect(status == 0, "tase2 serve did not stop cleanly on SIGINT: \(status)")
        return process.stderr
    }
}

/// MMSData as the probes print it (interop/probe_common.py typed JSON).
func typed(_ d: MMSData) -> Any {
    switch d {
    case .floatingPoint(let f): return ["float": f.doubleValue]
    case .integer(let v): return ["integer": v]
    case .unsigned(let v): return ["unsigned": v]
    case .boolean(let b): return ["boolean": b]
    case .bitString(let b): return ["bit-string": (0..<b.count).map { b[bit: $0] ? "1" : "0" }.joined()]
    case .visibleString(let s): return ["visible-string": s]
    case .octetString(let o): return ["octet-string": hex(o)]
    case .structure(let items): return ["structure": items.map(typed)]
    case .array(let items): return ["array": items.map(typed)]
    default: return ["other": "\(d)"]
    }
}

/// The shape of a typed value: kinds and bit-string sizes, not the values (the demo's values move).
func shape(_ v: Any) -> String {
    guard let o = v as? [String: Any], let (k, inner) = o.first else { return "?" }
    switch k {
    case "structure", "array": return "\(k)(" + ((inner as? [Any]) ?? []).map(shape).joined(separator: ",") + ")"
    case "bit-string": return "bits\((inner as? String)?.count ?? -1)"
    default: return k
    }
}

func item(_ domain: String?, _ name: String) -> [String: Any] { ["domain": domain ?? NSNull(), "name": name] }

/// Runs a probe script with a plan; returns its result lines by step index.
func runProbe(_ script: String, port: Int, plan: [[String: Any]], extra: [String] = []) async throws -> (results: [Int: [String: Any]], status: Int32, output: String) {
    try Interop.requirePeers()
    let planURL = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).json")
    try JSONSerialization.data(withJSONObject: plan).write(to: planURL)
    defer { try? FileManager.default.removeItem(at: planURL) }
    let p = try PeerProcess(Interop.python, [Interop.script(script), "127.0.0.1", "\(port)", planURL.path] + extra)
    var results: [Int: [String: Any]] = [:]
    for await line in p.lines {
        if let o = jsonObject(line), let i = o["i"] as? Int { results[i] = o }
    }
    let status = await p.wait(seconds: 60)
    return (results, status, p.stdout + p.stderr)
}

@Suite("The demo VCC (`tase2 serve`) with foreign clients", .enabled(if: Interop.requested, "interop runs via scripts/test-all.sh and in CI"),
       .timeLimit(.minutes(4)), .serialized)
struct TASE2DemoTests {
    static let demo = DemoConfiguration.make()

    /// Every point BLT_ICC1 may read, with the shape a read must return.
    static var readablePoints: [(domain: String?, name: String, shape: String)] {
        demo.points.compactMap { p in
            let domain: String?
            switch p.scope {
            case .vcc: domain = nil
            case .icc(let d): guard d == "ICC1" else { return nil }; domain = d
            }
            return (domain, p.name, shape(typed(p.type.data(p.initial, stateQ: demo.vcc.stateQShape))))
        }
    }

    static func dstsValue(dataSet: String) -> [String: Any] {
        var d = DSTransferSet()
        d.dataSetName = .domainSpecific(domain: "ICC1", item: dataSet)
        d.interval = 1
        d.integrityCheck = 3
        d.conditions = [.intervalTimeOut, .integrityTimeOut]
        d.status = true
        return typed(d.data(.v2000)) as! [String: Any]
    }

    static func plan(waitForReports: Bool) -> [[String: Any]] {
        var plan: [[String: Any]] = [
            ["op": "identify"],
            ["op": "read_many", "items": [item("ICC1", "Bilateral_Table_ID"), item(nil, "TASE2_Version"), item(nil, "Supported_Features")]],
            ["op": "names", "class": "domain", "domain": NSNull()],
            ["op": "names", "class": "variable", "domain": NSNull()],
            ["op": "names", "class": "variable", "domain": "ICC1"],
            ["op": "names", "class": "list", "domain": "ICC1"],
        ]
        for p in readablePoints { plan.append(["op": "read", "domain": p.domain ?? NSNull(), "name": p.name]) }
        plan += [
            ["op": "define", "domain": "ICC1", "name": "DS_Probe", "members": [
                item("ICC1", "Transfer_Set_Name"), item("ICC1", "Transfer_Set_Time_Stamp"), item("ICC1", "DSConditions_Detected"),
                item("ICC1", "Line1_MW"), item("ICC1", "Gen1_MW"),
            ]],
            ["op": "read_list", "domain": "ICC1", "name": "DS_Probe"],
            ["op": "read", "domain": "ICC1", "name": "Next_DSTransfer_Set"],
            ["op": "read", "domain": "ICC1", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC1", "name": "DSTrans1", "value": dstsValue(dataSet: "DS_Probe"), "component": NSNull()],
        ]
        if waitForReports { plan.append(["op": "wait_reports", "seconds": 7, "min": 5]) } else { plan.append(["op": "sleep", "seconds": 2.5]) }
        plan += [
            ["op": "write", "domain": "ICC1", "name": "DSTrans1", "value": ["boolean": false], "component": "Status"],
            ["op": "delete", "domain": "ICC1", "name": "DS_Probe"],
            ["op": "read", "domain": "ICC2", "name": "Bilateral_Table_ID"],
            ["op": "read", "domain": "ICC2", "name": "Tie_Line_MW"],
            ["op": "conclude"],
        ]
        return plan
    }

    /// The checks both clients must pass, on the step results of `plan`.
    static func checkCommon(_ r: [Int: [String: Any]], plan: [[String: Any]], client: String) {
        func result(_ i: Int) -> Any? { r[i]?["result"] }
        for i in plan.indices where plan[i]["op"] as? String != "wait_reports" {
            #expect(r[i]?["ok"] as? Bool == true, "\(client) step \(i) \(plan[i]): \(r[i].map { "\($0)" } ?? "missing")")
        }
        // Association check: BLT ID, version 2000.8, features (block 1).
        let check = result(1) as? [Any]
        #expect(shape(check?[0] as Any) == "visible-string" && (check?[0] as? [String: Any])?["visible-string"] as? String == "BLT_ICC1", "\(client)")
        #expect(shape(check?[1] as Any) == "structure(integer,integer)", "\(client)")
        #expect((check?[2] as? [String: Any])?["bit-string"] as? String == "110110000000", "\(client)")  // blocks 1, 2, 4, 5: D8 00 (spec §3.7)
        #expect(result(2) as? [String] == ["ICC1"], "\(client)")
        let vccNames = result(3) as? [String] ?? []
        #expect(vccNames.contains("Line1_MW") && vccNames.contains("TASE2_Version") && vccNames.contains("Supported_Features"), "\(client)")
        let iccNames = result(4) as? [String] ?? []
        #expect(iccNames.contains("Bilateral_Table_ID") && iccNames.contains("Next_DSTransfer_Set") && iccNames.contains("DSTrans1"), "\(client)")
        #expect((result(5) as? [String] ?? []).contains("DS_Demo"), "\(client)")
        // Every readable point type has its standard shape.
        for (k, p) in readablePoints.enumerated() {
            #expect(shape(result(6 + k) as Any) == p.shape, "\(client) \(p.domain ?? "VCC")/\(p.name)")
        }
        let n = 6 + readablePoints.count
        // Data set: special members are report-only (object-access-denied = 3).
        let list = result(n + 1) as? [Any] ?? []
        #expect(list.count == 5, "\(client)")
        for k in 0..<3 { #expect((list[safe: k] as? [String: Any])?["error"] as? Int == 3, "\(client) member \(k)") }
        #expect(shape(list[safe: 3] as Any) == "structure(float,bits8)", "\(client)")
        // Next_DSTransfer_Set twice: two transfer sets (every read takes one, as ABB partners expect).
        let ts = typed(TASE2Names.objectNameData(.domainSpecific(domain: "ICC1", item: "DSTrans1")))
        let ts2 = typed(TASE2Names.objectNameData(.domainSpecific(domain: "ICC1", item: "DSTrans2")))
        #expect(NSDictionary(dictionary: result(n + 2) as? [String: Any] ?? [:]).isEqual(to: ts as! [String: Any]), "\(client)")
        #expect(NSDictionary(dictionary: result(n + 3) as? [String: Any] ?? [:]).isEqual(to: ts2 as! [String: Any]), "\(client)")
        #expect(result(n + 4) as? String == "success", "\(client) DSTS write: \(String(describing: r[n + 4]))")
        #expect(result(n + 6) as? String == "success", "\(client) Status := FALSE")
        let del = result(n + 7) as? [String: Any]
        #expect(del?["deleted"] as? Int == 1, "\(client) delete: \(String(describing: del))")
        // BLT_ICC1 cannot read BLT_ICC2's ICC.
        #expect((result(n + 8) as? [String: Any])?["error"] as? Int == 3, "\(client)")
        #expect((result(n + 9) as? [String: Any])?["error"] as? Int == 3, "\(client)")
    }

    @Test("hat-drivers: association check, discovery, every point type, data sets, a transfer set's interval and integrity reports")
    func hatAgainstDemo() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer()
        let plan = Self.plan(waitForReports: true)
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        let log = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        Self.checkCommon(r, plan: plan, client: "hat")
        // The reports: full reports named by the data set, special members filled at report time.
        let reportsStep = plan.firstIndex { $0["op"] as? String == "wait_reports" }!
        let reports = r[reportsStep]?["result"] as? [[String: Any]] ?? []
        var interval = 0, integrity = 0
        for rep in reports {
            #expect(rep["form"] as? String == "list_name")
            #expect((rep["name"] as? [String: Any])?["name"] as? String == "DS_Probe")
            let values = rep["values"] as? [Any] ?? []
            #expect(values.count == 5)
            let tsName = typed(TASE2Names.objectNameData(.domainSpecific(domain: "ICC1", item: "DSTrans1"))) as! [String: Any]
            #expect(NSDictionary(dictionary: values[safe: 0] as? [String: Any] ?? [:]).isEqual(to: tsName))
            let time = ((values[safe: 1] as? [String: Any])?["integer"] as? Int) ?? 0
            #expect(abs(Double(time) - Date().timeIntervalSince1970) < 30)
            let cause = (values[safe: 2] as? [String: Any])?["bit-string"] as? String
            if cause == "10000" { interval += 1 }
            if cause == "01000" { integrity += 1 }
            #expect(shape(values[safe: 3] as Any) == "structure(float,bits8)")
        }
        #expect(interval >= 2 && integrity >= 1, "reports: \(reports.count), interval \(interval), integrity \(integrity); server log: \(log.suffix(1500))")
        #expect(log.contains("transfer set enabled"))
    }

    @Test("libiec61850: the same list (its 1.6.1 drops the domain-specific report names, spec §8.1, so reports are checked with hat)")
    func libiec61850AgainstDemo() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer()
        let plan = Self.plan(waitForReports: false)
        let (r, status, output) = try await runProbe("probe_iec61850.py", port: server.port, plan: plan)
        let log = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        Self.checkCommon(r, plan: plan, client: "libiec61850")
        #expect(log.contains("transfer set enabled") && log.contains("transfer set disabled"))
    }

    @Test("the pyiec61850-ng tase2 client: connect, get_domains, read_point, write_point, get_bilateral_table_id")
    func pyiec61850TASE2Client() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer()
        let p = try PeerProcess(Interop.python, [
            Interop.script("probe_tase2client.py"), "127.0.0.1", "\(server.port)", "--domain", "ICC1", "--read", "Line1_MW", "--read", "Gen1_MW",
            "--write-real", "Setpoint_Real", "--write-int", "Setpoint_Discrete", "--readback",
        ])
        var calls: [[String: Any]] = []
        for await line in p.lines { if let o = jsonObject(line) { calls.append(o) } }
        let status = await p.wait(seconds: 60)
        _ = await server.stop()
        #expect(status == 0, "\(p.stdout.suffix(2000)) \(p.stderr.suffix(1000))")
        func call(_ name: String, _ extra: (([String: Any]) -> Bool)? = nil) -> [String: Any]? {
            calls.first { $0["call"] as? String == name && (extra?($0) ?? true) }
        }
        #expect(call("connect")?["ok"] as? Bool == true)
        #expect(call("get_domains")?["result"] as? [String] == ["ICC1"])
        let line1 = call("read_point") { $0["name"] as? String == "Line1_MW" }
        #expect(line1?["ok"] as? Bool == true)
        #expect(((line1?["result"] as? [String: Any])?["value"] as? Double).map { $0 > 0 } == true)
        let writes = calls.filter { $0["call"] as? String == "write_point" }
        #expect(writes.count == 2 && writes.allSatisfy { $0["ok"] as? Bool == true })
        let back = calls.filter { $0["after_write"] as? Bool == true }.compactMap { ($0["result"] as? [String: Any])?["value"] as? Double }
        #expect(back == [12.5, 7])
        #expect(call("get_bilateral_table_id")?["result"] as? String == "BLT_ICC1")
    }

    @Test("hat-drivers receives reports by exception (listOfVariable, Transfer_Set_Name first) as the simulator moves points")
    func hatReportByException() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer()
        var dsts = DSTransferSet()
        dsts.dataSetName = .domainSpecific(domain: "ICC1", item: "DS_RBE")
        dsts.conditions = [.objectChange]
        dsts.rbe = true
        dsts.status = true
        let plan: [[String: Any]] = [
            ["op": "define", "domain": "ICC1", "name": "DS_RBE", "members": [
                item("ICC1", "Transfer_Set_Name"), item("ICC1", "DSConditions_Detected"), item("ICC1", "Line1_MW"), item("ICC1", "Gen1_MW"),
            ]],
            ["op": "read", "domain": "ICC1", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC1", "name": "DSTrans1", "value": typed(dsts.data(.v2000)), "component": NSNull()],
            ["op": "wait_reports", "seconds": 6, "min": 3],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(2000))")
        #expect(r[2]?["result"] as? String == "success", "\(String(describing: r[2]))")
        let reports = r[3]?["result"] as? [[String: Any]] ?? []
        #expect(reports.count >= 3, "\(reports.count) reports")
        for rep in reports {
            #expect(rep["form"] as? String == "list_of_variable")
            let items = rep["items"] as? [[String: Any]] ?? []
            #expect(items.first?["name"] as? String == "Transfer_Set_Name" && items.first?["domain"] as? String == "ICC1")
            #expect(items[safe: 1]?["name"] as? String == "DSConditions_Detected")
            #expect(items.count >= 3 && items.count <= 4)
            let values = rep["values"] as? [Any] ?? []
            #expect((values[safe: 1] as? [String: Any])?["bit-string"] as? String == "00100")
        }
    }

    @Test("hat-drivers acknowledges critical reports (Transfer_Report_ACK) and the server clears them")
    func hatAcknowledgesCriticalReports() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(logLevel: "debug")
        var dsts = DSTransferSet()
        dsts.dataSetName = .domainSpecific(domain: "ICC1", item: "DS_Demo")
        dsts.interval = 1
        dsts.conditions = [.intervalTimeOut]
        dsts.critical = true
        dsts.status = true
        let tsName = typed(TASE2Names.objectNameData(.domainSpecific(domain: "ICC1", item: "DSTrans1")))
        let plan: [[String: Any]] = [
            ["op": "read", "domain": "ICC1", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC1", "name": "DSTrans1", "value": typed(dsts.data(.v2000)), "component": NSNull()],
            ["op": "wait_reports", "seconds": 4, "min": 2],
            ["op": "send_report", "items": [item("ICC1", "Transfer_Report_ACK")], "values": [tsName]],
            ["op": "sleep", "seconds": 0.5],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        let log = await server.stop()
        #expect(status == 0, "\(output.suffix(2000))")
        #expect(r[1]?["result"] as? String == "success", "\(String(describing: r[1]))")
        #expect((r[2]?["result"] as? [Any])?.count ?? 0 >= 2)
        #expect(r[3]?["ok"] as? Bool == true, "\(String(describing: r[3]))")
        #expect(log.contains("critical report acknowledged"), "\(log.suffix(2000))")
    }

    @Test("hat-drivers enables IM_Transfer_Set and receives the demo's information messages")
    func hatInformationMessages() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer()
        let plan: [[String: Any]] = [
            ["op": "write", "domain": "@aa", "name": "IM_Transfer_Set", "value": ["boolean": true], "component": NSNull()],
            ["op": "read", "domain": "@aa", "name": "IM_Transfer_Set"],
            ["op": "wait_reports", "seconds": 5, "min": 1],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(2000))")
        #expect(r[0]?["result"] as? String == "success", "\(String(describing: r[0]))")
        #expect((r[1]?["result"] as? [String: Any])?["boolean"] as? Bool == true)
        let reports = r[2]?["result"] as? [[String: Any]] ?? []
        #expect(!reports.isEmpty)
        for rep in reports {
            let items = rep["items"] as? [[String: Any]] ?? []
            #expect(items.first?["name"] as? String == "Info_Mess_Header")
            #expect((items.last?["name"] as? String)?.hasPrefix("Info_Buff_") == true)
            let values = rep["values"] as? [Any] ?? []
            let header = ((values.first as? [String: Any])?["structure"] as? [[String: Any]]) ?? []
            #expect(header.count == 4)
            let size = header.last?["integer"] as? Int ?? -1
            let text = ((values.last as? [String: Any])?["octet-string"] as? String) ?? ""
            #expect(size > 0 && text.count / 2 >= size)
        }
    }

    @Test("hat-drivers selects (Read of _SBO), operates and reads the tag of the demo's devices")
    func hatDeviceControl() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer()
        let plan: [[String: Any]] = [
            ["op": "names", "class": "variable", "domain": "ICC1"],
            ["op": "write", "domain": "ICC1", "name": "Breaker_1_Ctl", "value": ["integer": 1], "component": NSNull()],
            ["op": "read", "domain": "ICC1", "name": "Breaker_1_Ctl_SBO"],
            ["op": "read", "domain": "ICC1", "name": "Breaker_1_Ctl_TAG"],
            ["op": "write", "domain": "ICC1", "name": "Breaker_1_Ctl", "value": ["integer": 1], "component": NSNull()],
            ["op": "write", "domain": "ICC1", "name": "Gen1_MW_SP", "value": ["float": 150.5], "component": NSNull()],
            ["op": "type", "domain": "ICC1", "name": "Breaker_1_Ctl"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        let log = await server.stop()
        #expect(status == 0, "\(output.suffix(2000))")
        let names = r[0]?["result"] as? [String] ?? []
        #expect(names.contains("Breaker_1_Ctl_SBO") && names.contains("Breaker_1_Ctl_TAG") && names.contains("Gen1_MW_SP"))
        // Operate before select: temporarily-unavailable (2); the select answers a CheckBackName.
        #expect((r[1]?["result"] as? [String: Any])?["error"] as? Int == 2, "\(String(describing: r[1]))")
        #expect(((r[2]?["result"] as? [String: Any])?["integer"] as? Int ?? 0) > 0, "\(String(describing: r[2]))")
        // The tag shows the armed bit.
        let tag = (r[3]?["result"] as? [String: Any])?["structure"] as? [[String: Any]]
        #expect(tag?.first?["bit-string"] as? String == "001", "\(String(describing: r[3]))")
        #expect(r[4]?["result"] as? String == "success")
        #expect(r[5]?["result"] as? String == "success")
        #expect(log.contains("device operated"))
    }

    @Test("an unknown AP-title is refused, by either client")
    func unknownPartnerRefused() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer()
        for script in ["probe_hat.py", "probe_iec61850.py"] {
            let (r, status, _) = try await runProbe(script, port: server.port, plan: [["op": "identify"]], extra: ["--ap-title", "1.2.3.4"])
            #expect(status == 2, "\(script)")
            #expect(r[-1]?["ok"] as? Bool == false, "\(script)")
            #expect(r.keys.allSatisfy { $0 < 0 }, "\(script) ran steps without an association")
        }
        let log = await server.stop()
        #expect(log.contains("association refused") && log.contains("1.2.3.4"))
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { i >= 0 && i < count ? self[i] : nil }
}
