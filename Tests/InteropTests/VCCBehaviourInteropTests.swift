import BER
import Foundation
import Logging
import MMS
import NIOCore
import Synchronization
import TASE2
import Testing
import TestSupport

/// Black-box checks of VCC behaviours with a foreign MMS client: hat-drivers, driven by
/// `interop/probe_hat.py` plans (several associations per plan, paused reading, timed steps, the
/// AARE and initiate-Response as hat saw them). The VCC is `Tests/Fixtures/vcc-behaviours.yaml`
/// (and `vcc-behaviours-variant.yaml`), served by `tase2 serve --config` (`DemoServer`) or, where
/// the hosting program has a say (device hooks, information messages), by an in-process
/// `TASE2Server` on the same file. Every check fails when its behaviour is missing.
@Suite("VCC behaviours, black-box with hat-drivers (Tests/Fixtures/vcc-behaviours.yaml)",
       .enabled(if: Interop.requested, "interop runs via scripts/test-all.sh and in CI"), .timeLimit(.minutes(3)), .serialized)
struct VCCBehaviourInteropTests {

    // MARK: 1. Flow control

    @Test("1. RBE changes survive flow control: a partner that stops reading gets every point's latest value, coalesced")
    func flowControl() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let rounds = 80, transferSets = 4
        var plan: [[String: Any]] = [
            ["op": "define", "domain": "ICC_A", "name": "DS_Flow", "members": [VB.a("Transfer_Set_Name"), VB.a("DSConditions_Detected")] + VB.points],
        ]
        // Four RBE transfer sets on the same 100 points: four times the report octets per change,
        // so that the server's socket backs up within seconds.
        for t in 1...transferSets {
            plan += [
                ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
                ["op": "write", "domain": "ICC_A", "name": "DSTrans\(t)", "component": NSNull(),
                 "value": VB.dsts("DS_Flow") { $0.conditions = [.objectChange]; $0.rbe = true }],
            ]
        }
        let pause = plan.count + 1
        let burst = pause + 1
        let resume = burst + 2
        let wait = resume + 1
        plan += [
            ["op": "open", "label": "W", "rcvbuf": NSNull(), "mss": NSNull()],  // the writer: same table, ordinary socket
            ["op": "pause_reading"],
            ["op": "write_burst", "on": "W", "items": VB.points, "rounds": rounds],  // round r: F(k+1) := r*1000 + k
            ["op": "sleep", "seconds": 1],
            ["op": "resume_reading"],
            ["op": "wait_reports", "seconds": 60, "min": 1, "quiet": 2],
            ["op": "identify"],  // the paused association's requests work again
            ["op": "conclude", "on": "W"],
            ["op": "conclude"],
        ]
        // The paused association: a 4 KiB receive buffer and a 536-octet MSS, so that the server's
        // kernel send buffer stays small (on loopback Linux sizes it from the MSS).
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan, extra: ["--rcvbuf", "4096", "--mss", "536"])
        let log = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        let burstResult = VB.result(r, burst) as? [String: Any]
        #expect(VB.num(burstResult?["failures"]) == 0, "\(String(describing: burstResult))")
        // The server saw the partner stop reading (its reports waited), so flow control was exercised.
        #expect(log.contains("partner not reading: reports wait"), "no back-pressure reached the server: \(log.suffix(2000))")
        let reports = VB.reports(r[wait])
        let resumedAt = VB.num(r[resume]?["wall"]) ?? 0
        // Nothing was read while paused.
        #expect(reports.allSatisfy { (VB.num($0["wall"]) ?? 0) >= resumedAt - 0.05 }, "a report was read before resume_reading")
        for t in 1...transferSets {
            let name = "DSTrans\(t)"
            var last: [String: Double] = [:]
            var delivered = 0
            for rep in reports where VB.transferSet(of: rep) == name {
                #expect(rep["form"] as? String == "list_of_variable")
                #expect(Array(VB.names(of: rep).prefix(2)) == ["Transfer_Set_Name", "DSConditions_Detected"])
                for (n, v) in zip(VB.names(of: rep).dropFirst(2), VB.values(of: rep).dropFirst(2)) {
                    last[n] = VB.float(v)
                    delivered += 1
                }
            }
            // Nothing lost: every point's last reported value is its last written one.
            let wrong = (0..<100).filter { last[VB.pointName($0)] != Double(rounds * 1000 + $0) }
            #expect(wrong.isEmpty, "\(name): \(wrong.count) points without their latest value, e.g. \(wrong.prefix(3).map { "\(VB.pointName($0))=\(String(describing: last[VB.pointName($0)]))" })")
            // Coalesced: far fewer values than changes reached the partner.
            #expect(delivered > 0 && delivered < rounds * 100, "\(name): \(delivered) values for \(rounds * 100) changes")
        }
    }

    // MARK: 2. Reports split to the negotiated PDU size

    @Test("2. RBE and AllChangesReported reports are split into listOfVariable reports that fit a 1000-octet PDU, covering every change")
    func reportsFitTheNegotiatedPDU() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let pdu = 1000
        let specials = ["Transfer_Set_Name", "DSConditions_Detected", "Transfer_Set_Time_Stamp"]
        let plan: [[String: Any]] = [
            ["op": "define", "domain": "ICC_A", "name": "DS_Split", "members": specials.map(VB.a) + VB.points],
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC_A", "name": "DSTrans1", "component": NSNull(),
             "value": VB.dsts("DS_Split") { $0.conditions = [.objectChange]; $0.rbe = true; $0.bufferTime = 1 }],
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC_A", "name": "DSTrans2", "component": NSNull(),
             "value": VB.dsts("DS_Split") { $0.conditions = [.objectChange]; $0.rbe = true; $0.allChangesReported = true; $0.bufferTime = 1 }],
            ["op": "open", "label": "W", "local_detail": NSNull()],  // the writer negotiates the server's size
            ["op": "write_burst", "on": "W", "items": VB.points, "rounds": 3],  // every point changes three times within BufferTime
            ["op": "wait_reports", "seconds": 15, "min": 2, "quiet": 2],
            ["op": "conclude", "on": "W"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan, extra: ["--local-detail", "\(pdu)"])
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        #expect(VB.num((r[-1]?["result"] as? [String: Any])?["negotiated_pdu_size"]) == Double(pdu), "\(String(describing: r[-1]))")
        #expect(VB.num((VB.result(r, 5) as? [String: Any])?["negotiated_pdu_size"]) == 65000)
        let reports = VB.reports(r[7])
        for rep in reports {
            #expect(rep["form"] as? String == "list_of_variable")
            let size = VB.num(rep["size"]) ?? -1
            #expect(size > 0 && size <= Double(pdu), "a report of \(size) octets exceeds the negotiated \(pdu)")
            #expect(Array(VB.names(of: rep).prefix(3)) == specials, "\(VB.names(of: rep).prefix(4))")
        }
        // RBE: the changes of all 100 points (about 3 kB as one report) arrive in several parts.
        let rbe = reports.filter { VB.transferSet(of: $0) == "DSTrans1" }
        #expect(rbe.count >= 2, "\(rbe.count) RBE reports")
        var last: [String: Double] = [:]
        for rep in rbe { for (n, v) in zip(VB.names(of: rep).dropFirst(3), VB.values(of: rep).dropFirst(3)) { last[n] = VB.float(v) } }
        #expect(Set(last.keys) == Set((0..<100).map(VB.pointName)), "\(last.count) points reported")
        #expect((0..<100).allSatisfy { last[VB.pointName($0)] == Double(3000 + $0) })
        // AllChangesReported: all 300 changes, each point's three values in order, in more parts still.
        let all = reports.filter { VB.transferSet(of: $0) == "DSTrans2" }
        #expect(all.count >= 2, "\(all.count) AllChangesReported reports")
        var history: [String: [Double]] = [:]
        for rep in all {
            for (n, v) in zip(VB.names(of: rep).dropFirst(3), VB.values(of: rep).dropFirst(3)) { history[n, default: []].append(VB.float(v) ?? -1) }
        }
        #expect(history.values.reduce(0) { $0 + $1.count } == 300)
        for k in 0..<100 {
            #expect(history[VB.pointName(k)] == [1000, 2000, 3000].map { Double($0 + k) }, "\(VB.pointName(k)): \(String(describing: history[VB.pointName(k)]))")
        }
    }

    // MARK: 3. Device hooks (in process)

    @Test("3. The hosting program refuses a select, an operate and a set-tag (local mode) and answers another device 300 ms late")
    func deviceHooks() async throws {
        try Interop.requirePeers()
        let handler = LocalModeHandler()
        try await VB.withServer(handler) { _, port in
            let plan: [[String: Any]] = [
                ["op": "read", "domain": "ICC_A", "name": "Local_Ctl_SBO"],  // 0: select refused
                ["op": "write", "domain": "ICC_A", "name": "Local_Ctl", "value": ["integer": 1], "component": NSNull()],  // 1: not armed
                ["op": "write", "domain": "ICC_A", "name": "Local_Ctl_TAG", "component": NSNull(),
                 "value": ["structure": [["bit-string": "010"], ["visible-string": "maint"]]]],  // 2: set-tag refused
                ["op": "read", "domain": "ICC_A", "name": "Local_Ctl_TAG"],  // 3: tag unchanged
                ["op": "write", "domain": "ICC_A", "name": "Local_SP", "value": ["float": 12.5], "component": NSNull()],  // 4: operate refused
                ["op": "read", "domain": "ICC_A", "name": "Slow_Ctl_SBO"],  // 5: select answered after 300 ms
                ["op": "write", "domain": "ICC_A", "name": "Slow_Ctl", "value": ["integer": 1], "component": NSNull()],  // 6: operate, 300 ms
                ["op": "read", "domain": "ICC_A", "name": "Breaker_A_Ctl_SBO"],  // 7: another device: at once
                ["op": "write", "domain": "ICC_A", "name": "Breaker_A_Ctl", "value": ["integer": 0], "component": NSNull()],
                ["op": "conclude"],
            ]
            let (r, status, output) = try await runProbe("probe_hat.py", port: port, plan: plan)
            #expect(status == 0, "\(output.suffix(3000))")
            VB.expectAllOK(r, plan)
            #expect(VB.dataAccessError(VB.result(r, 0)) == 2, "select of Local_Ctl: \(String(describing: r[0]))")  // temporarily-unavailable
            #expect(VB.dataAccessError(VB.result(r, 1)) == 2, "operate of the unselected Local_Ctl: \(String(describing: r[1]))")
            #expect(VB.dataAccessError(VB.result(r, 2)) == 3, "set-tag of Local_Ctl: \(String(describing: r[2]))")  // object-access-denied
            let tag = (VB.result(r, 3) as? [String: Any])?["structure"] as? [Any]
            #expect(VB.bits(tag?.first) == "000" && VB.string(tag?.last) == "", "\(String(describing: r[3]))")
            #expect(VB.dataAccessError(VB.result(r, 4)) == 3, "operate of Local_SP: \(String(describing: r[4]))")
            // Slow_Ctl: accepted, late (its default CheckBackName: 1 + its position, 5).
            #expect(VB.integer(VB.result(r, 5)) == 5, "\(String(describing: r[5]))")
            #expect((VB.num(r[5]?["ms"]) ?? 0) >= 300, "the select was answered in \(String(describing: r[5]?["ms"])) ms")
            #expect(VB.result(r, 6) as? String == "success", "\(String(describing: r[6]))")
            #expect((VB.num(r[6]?["ms"]) ?? 0) >= 300, "the operate was answered in \(String(describing: r[6]?["ms"])) ms")
            #expect(VB.integer(VB.result(r, 7)) == 4711)
            #expect((VB.num(r[7]?["ms"]) ?? .infinity) < 300)
            #expect(VB.result(r, 8) as? String == "success")
        }
        // What the hosting program was asked, in order, with the partner's table.
        let seen = handler.seen.withLock { $0 }
        #expect(seen.map(\.device) == ["Local_Ctl", "Local_Ctl", "Local_SP", "Slow_Ctl", "Slow_Ctl", "Breaker_A_Ctl", "Breaker_A_Ctl"],
                "\(seen.map { "\($0.device) \($0.kind)" })")
        #expect(seen.allSatisfy { $0.bilateralTable == "BLT_A" && $0.scope == .icc("ICC_A") })
        if case .setTag(let flags, let reason)? = seen[safe: 1]?.kind { #expect(flags == 0x40 && reason == "maint") } else { Issue.record("no set-tag request") }
        if case .operate(let op)? = seen[safe: 2]?.kind { #expect(op.real == 12.5) } else { Issue.record("no operate request for Local_SP") }
        if case .operate(let op)? = seen[safe: 4]?.kind { #expect(op.discrete == 1) } else { Issue.record("no operate request for Slow_Ctl") }
    }

    // MARK: 4. Check-back IDs

    @Test("4. A select answers the table's check_back_ids, else the device's check_back_id, else 1 + its position")
    func checkBackIDs() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let plan: [[String: Any]] = [
            ["op": "read", "domain": "ICC_A", "name": "Breaker_A_Ctl_SBO"],  // 0: BLT_A's check_back_ids: 4711 (device's: 21)
            ["op": "read", "domain": "ICC_A", "name": "Breaker_A2_Ctl_SBO"],  // 1: the device's check_back_id: 22
            ["op": "read", "domain": "ICC_A", "name": "Slow_Ctl_SBO"],  // 2: none configured: 1 + position = 5
            ["op": "read", "domain": NSNull(), "name": "VCC_Breaker_Ctl_SBO"],  // 3: VCC device, BLT_A: its own 33
            ["op": "write", "domain": NSNull(), "name": "VCC_Breaker_Ctl", "value": ["integer": 0], "component": NSNull()],
            ["op": "open", "label": "B", "ap_title": "1.1.1.888"],
            ["op": "read", "on": "B", "domain": NSNull(), "name": "VCC_Breaker_Ctl_SBO"],  // 6: BLT_B's check_back_ids: 808
            ["op": "write", "on": "B", "domain": NSNull(), "name": "VCC_Breaker_Ctl", "value": ["integer": 1], "component": NSNull()],
            // Control for test 12: with select_timeout 30 a selection outlives 1.5 s.
            ["op": "sleep", "seconds": 1.5],
            ["op": "write", "domain": "ICC_A", "name": "Breaker_A_Ctl", "value": ["integer": 1], "component": NSNull()],  // 9
            ["op": "write", "domain": "ICC_A", "name": "Breaker_A2_Ctl", "value": ["integer": 1], "component": NSNull()],
            ["op": "write", "domain": "ICC_A", "name": "Slow_Ctl", "value": ["integer": 0], "component": NSNull()],
            ["op": "conclude", "on": "B"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        #expect(VB.integer(VB.result(r, 0)) == 4711, "\(String(describing: r[0]))")
        #expect(VB.integer(VB.result(r, 1)) == 22, "\(String(describing: r[1]))")
        #expect(VB.integer(VB.result(r, 2)) == 5, "\(String(describing: r[2]))")
        #expect(VB.integer(VB.result(r, 3)) == 33, "\(String(describing: r[3]))")
        #expect(VB.integer(VB.result(r, 6)) == 808, "\(String(describing: r[6]))")
        for i in [4, 7, 9, 10, 11] { #expect(VB.result(r, i) as? String == "success", "step \(i): \(String(describing: r[i]))") }
    }

    // MARK: 5. Next_DSTransfer_Set

    @Test("5. Every read of Next_DSTransfer_Set allocates another transfer set, and both can be enabled")
    func everyReadAllocates() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let plan: [[String: Any]] = [
            ["op": "define", "domain": "ICC_A", "name": "DS_Two", "members": [VB.a("Transfer_Set_Name"), VB.a("A_MW")]],
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],  // 1
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],  // 2
            ["op": "write", "domain": "ICC_A", "name": "DSTrans1", "component": NSNull(),
             "value": VB.dsts("DS_Two") { $0.interval = 1; $0.conditions = [.intervalTimeOut] }],
            ["op": "write", "domain": "ICC_A", "name": "DSTrans2", "component": NSNull(),
             "value": VB.dsts("DS_Two") { $0.interval = 1; $0.conditions = [.intervalTimeOut] }],
            ["op": "read", "domain": "ICC_A", "component": "Status", "name": "DSTrans1"],  // 5
            ["op": "read", "domain": "ICC_A", "component": "Status", "name": "DSTrans2"],  // 6
            ["op": "wait_reports", "seconds": 5, "min": 4],  // 7
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        #expect(VB.isObjectName(VB.result(r, 1), "ICC_A", "DSTrans1"), "\(String(describing: r[1]))")
        #expect(VB.isObjectName(VB.result(r, 2), "ICC_A", "DSTrans2"), "\(String(describing: r[2]))")
        #expect(VB.result(r, 3) as? String == "success" && VB.result(r, 4) as? String == "success")
        #expect((VB.result(r, 5) as? [String: Any])?["boolean"] as? Bool == true)
        #expect((VB.result(r, 6) as? [String: Any])?["boolean"] as? Bool == true)
        let names = VB.reports(r[7]).compactMap(VB.transferSet(of:))
        #expect(names.contains("DSTrans1") && names.contains("DSTrans2"), "\(names)")
    }

    // MARK: 6. Disable and enable again

    @Test("6. A disabled transfer set keeps its attributes: its owner (only) enables it again with Status alone, and reports resume")
    func reEnable() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let plan: [[String: Any]] = [
            ["op": "define", "domain": "ICC_A", "name": "DS_Six", "members": [VB.a("Transfer_Set_Name"), VB.a("DSConditions_Detected"), VB.a("A_MW")]],
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC_A", "name": "DSTrans1", "component": NSNull(),
             "value": VB.dsts("DS_Six") { $0.interval = 1; $0.conditions = [.intervalTimeOut] }],
            ["op": "wait_reports", "seconds": 4, "min": 1],  // 3
            ["op": "write", "domain": "ICC_A", "name": "DSTrans1", "value": ["boolean": false], "component": "Status"],  // 4: disable
            ["op": "read", "domain": "ICC_A", "name": "DSTrans1"],  // 5: attributes kept, Status FALSE
            ["op": "wait_reports", "seconds": 2.5, "min": 1000, "fresh": true],  // 6: no reports while disabled
            ["op": "open", "label": "A2"],  // same table, not the owner
            ["op": "write", "on": "A2", "domain": "ICC_A", "name": "DSTrans1", "value": ["boolean": true], "component": "Status"],  // 8
            ["op": "write", "domain": "ICC_A", "name": "DSTrans1", "value": ["boolean": true], "component": "Status"],  // 9: owner
            ["op": "wait_reports", "seconds": 4, "min": 2],  // 10
            ["op": "conclude", "on": "A2"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        #expect(!VB.reports(r[3]).isEmpty)
        #expect(VB.result(r, 4) as? String == "success", "\(String(describing: r[4]))")
        // DataSetName, Interval and DSConditionsRequested kept; Status FALSE (2000.08: 13 members).
        let kept = (VB.result(r, 5) as? [String: Any])?["structure"] as? [Any] ?? []
        #expect(kept.count == 13 && VB.isObjectName(kept[safe: 0], "ICC_A", "DS_Six") && VB.integer(kept[safe: 2]) == 1
                && VB.bits(kept[safe: 6]) == "10000" && (kept[safe: 11] as? [String: Any])?["boolean"] as? Bool == false,
                "\(String(describing: r[5]))")
        #expect(VB.reports(r[6]).isEmpty, "reports while disabled: \(VB.reports(r[6]).count)")
        #expect(VB.dataAccessError(VB.result(r, 8)) == 3, "another association enabled it: \(String(describing: r[8]))")
        #expect(VB.result(r, 9) as? String == "success", "\(String(describing: r[9]))")
        let resumed = VB.reports(r[10])
        #expect(resumed.count >= 2)
        for rep in resumed {
            #expect(rep["form"] as? String == "list_name" && VB.transferSet(of: rep) == "DSTrans1")
            #expect(VB.bits(VB.values(of: rep)[safe: 1]) == "10000")
        }
    }

    // MARK: 6a, 11. Report layout

    @Test("6a, 11. Transfer_Set_Name comes first in RBE reports whatever the data-set order; VMD-scope specials are data-set members")
    func reportLayout() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let vmd = { (n: String) in item(nil, n) }
        let plan: [[String: Any]] = [
            ["op": "define", "domain": "ICC_A", "name": "DS_Order", "members": [
                VB.a("DSConditions_Detected"), VB.a("Transfer_Set_Time_Stamp"), VB.a("Transfer_Set_Name"), VB.a("F001"), VB.a("F002"),
            ]],
            ["op": "define", "domain": "ICC_A", "name": "DS_VmdSpecials", "members": [
                vmd("Transfer_Set_Name"), vmd("DSConditions_Detected"), vmd("Transfer_Set_Time_Stamp"), VB.a("F003"),
            ]],  // 1
            ["op": "list_attributes", "domain": "ICC_A", "name": "DS_VmdSpecials"],  // 2
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC_A", "name": "DSTrans1", "component": NSNull(),
             "value": VB.dsts("DS_Order") { $0.conditions = [.objectChange]; $0.rbe = true }],  // 4
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC_A", "name": "DSTrans2", "component": NSNull(),
             "value": VB.dsts("DS_VmdSpecials") { $0.conditions = [.objectChange]; $0.rbe = true }],  // 6
            ["op": "open", "label": "W"],
            ["op": "write_many", "on": "W", "items": [VB.a("F002"), VB.a("F003")], "values": [["float": 2.5], ["float": 3.5]]],  // 8
            ["op": "wait_reports", "seconds": 5, "min": 2, "quiet": 0.5],  // 9
            ["op": "conclude", "on": "W"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        let members = ((VB.result(r, 2) as? [String: Any])?["members"] as? [[String: Any]]) ?? []
        #expect(members.prefix(3).allSatisfy { $0["domain"] is NSNull }, "\(members)")
        #expect(VB.result(r, 4) as? String == "success" && VB.result(r, 6) as? String == "success", "\(String(describing: r[6]))")
        let reports = VB.reports(r[9])
        // Both: the transfer-set variables first, Transfer_Set_Name leading, all ICC-scoped, then the change.
        for (ts, point, value) in [("DSTrans1", "F002", 2.5), ("DSTrans2", "F003", 3.5)] {
            let rep = reports.first { VB.transferSet(of: $0) == ts }
            #expect(rep?["form"] as? String == "list_of_variable", "\(ts): \(String(describing: rep))")
            #expect(rep.map(VB.names(of:)) == ["Transfer_Set_Name", "DSConditions_Detected", "Transfer_Set_Time_Stamp", point], "\(ts)")
            #expect(rep.map { VB.domains(of: $0).prefix(3).allSatisfy { $0 == "ICC_A" } } == true, "\(ts)")
            #expect(VB.bits(rep.flatMap { VB.values(of: $0)[safe: 1] }) == "00100")
            #expect(VB.float(rep.flatMap { VB.values(of: $0)[safe: 3] }) == value)
        }
    }

    // MARK: 7. StartTime

    @Test("7. No report before a future StartTime, not even for an object change; integrity and interval due at once give one integrity report")
    func startTimeAndCoincidingReports() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let start = Int(Date().timeIntervalSince1970) + 8  // the probe needs a second or two to start
        let plan: [[String: Any]] = [
            ["op": "define", "domain": "ICC_A", "name": "DS_Start", "members": [
                VB.a("Transfer_Set_Name"), VB.a("DSConditions_Detected"), VB.a("Transfer_Set_Time_Stamp"), VB.a("F010"),
            ]],
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC_A", "name": "DSTrans1", "component": NSNull(),
             "value": VB.dsts("DS_Start") { $0.startTime = Int32(start); $0.interval = 2; $0.conditions = [.intervalTimeOut, .objectChange] }],
            ["op": "open", "label": "W"],
            ["op": "write", "on": "W", "domain": "ICC_A", "name": "F010", "value": ["float": 10.5], "component": NSNull()],  // 4: before StartTime
            ["op": "define", "domain": "ICC_A", "name": "DS_Coincide", "members": [
                VB.a("Transfer_Set_Name"), VB.a("DSConditions_Detected"), VB.a("Transfer_Set_Time_Stamp"), VB.a("A_MW"),
            ]],
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC_A", "name": "DSTrans2", "component": NSNull(),
             "value": VB.dsts("DS_Coincide") { $0.interval = 2; $0.integrityCheck = 4; $0.conditions = [.intervalTimeOut, .integrityTimeOut] }],
            ["op": "wait_reports", "seconds": 15, "min": 1000],  // 8: everything for 15 s (StartTime + 5 s and more)
            ["op": "conclude", "on": "W"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan, except: [8])
        let changedAt = VB.num(r[4]?["wall"]) ?? .infinity
        try #require(changedAt < Double(start) - 1, "the probe was too slow: the change came \(changedAt - Double(start)) s after StartTime")
        let reports = VB.reports(r[8])
        // DSTrans1: nothing before StartTime; the change waits for it and is its first report.
        let first = reports.filter { VB.transferSet(of: $0) == "DSTrans1" }
        #expect(first.count >= 3, "\(first.count) reports of DSTrans1")
        for rep in first {
            #expect((VB.num(rep["wall"]) ?? 0) >= Double(start) - 0.05, "a report at \(String(describing: rep["wall"])) before StartTime \(start)")
            #expect((VB.integer(VB.values(of: rep)[safe: 2]) ?? 0) >= start, "Transfer_Set_Time_Stamp before StartTime: \(rep)")
        }
        #expect(VB.bits(first.first.flatMap { VB.values(of: $0)[safe: 1] }) == "00100", "first report: \(String(describing: first.first))")
        #expect(VB.float(first.first.flatMap { VB.values(of: $0)[safe: 3] }) == 10.5)
        #expect(first.dropFirst().allSatisfy { VB.bits(VB.values(of: $0)[safe: 1]) == "10000" })
        // DSTrans2 (Interval 2, IntegrityCheck 4): interval, integrity, interval, integrity … one report per instant.
        let second = reports.filter { VB.transferSet(of: $0) == "DSTrans2" }
        let causes = second.map { VB.bits(VB.values(of: $0)[safe: 1]) ?? "?" }
        #expect(second.count >= 5, "\(causes)")
        #expect(causes.enumerated().allSatisfy { $0.element == ($0.offset % 2 == 0 ? "10000" : "01000") }, "\(causes)")
        let walls = second.compactMap { VB.num($0["wall"]) }
        #expect(zip(walls, walls.dropFirst()).allSatisfy { $1 - $0 > 1.5 }, "reports closer than the 2 s interval: \(walls)")
    }

    // MARK: 8. Tag rights

    @Test("8. A partner without the get-tag right on a VCC device can neither read its _TAG nor put it in a data set")
    func tagRights() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let tag = item(nil, "VCC_Breaker_Ctl_TAG")
        let plan: [[String: Any]] = [
            ["op": "open", "label": "B", "ap_title": "1.1.1.888"],
            ["op": "read", "on": "B", "domain": NSNull(), "name": "VCC_Breaker_Ctl_TAG"],  // 1
            ["op": "define", "on": "B", "domain": "ICC_B", "name": "DS_Tag", "members": [item("ICC_B", "Transfer_Set_Name"), tag]],  // 2
            ["op": "read", "on": "B", "domain": NSNull(), "name": "VCC_Breaker_Ctl_SBO"],  // 3: B may select it
            ["op": "write", "on": "B", "domain": NSNull(), "name": "VCC_Breaker_Ctl", "value": ["integer": 0], "component": NSNull()],
            ["op": "read", "domain": NSNull(), "name": "VCC_Breaker_Ctl_TAG"],  // 5: BLT_A has the right
            ["op": "define", "domain": "ICC_A", "name": "DS_Tag", "members": [VB.a("Transfer_Set_Name"), tag]],  // 6
            // For comparison: a VCC point BLT_B may not read (vcc_read: [VCC_Line_MW]).
            ["op": "read", "on": "B", "domain": NSNull(), "name": "VCC_Secret_MW"],  // 7
            ["op": "define", "on": "B", "domain": "ICC_B", "name": "DS_Secret", "members": [item("ICC_B", "Transfer_Set_Name"), item(nil, "VCC_Secret_MW")]],  // 8
            ["op": "conclude", "on": "B"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan, except: [2, 8])
        #expect(VB.dataAccessError(VB.result(r, 1)) == 3, "\(String(describing: r[1]))")  // object-access-denied
        #expect(r[2]?["ok"] as? Bool == false, "\(String(describing: r[2]))")
        // Like a data set with a VCC point the partner may not read (steps 7, 8) and like the Read:
        // access/object-access-denied. (Builds before the change in VirtualControlCentre+DataSets.swift
        // that checks the get-tag right answered definition/object-attribute-inconsistent.)
        #expect(r[2]?["error"] as? String == "access/object-access-denied", "\(String(describing: r[2]))")
        #expect(VB.integer(VB.result(r, 3)) == 808)
        #expect(VB.result(r, 4) as? String == "success")
        #expect(VB.bits(((VB.result(r, 5) as? [String: Any])?["structure"] as? [Any])?.first) == "000", "\(String(describing: r[5]))")
        #expect(VB.result(r, 6) as? String == "success", "\(String(describing: r[6]))")
        #expect(VB.dataAccessError(VB.result(r, 7)) == 3, "\(String(describing: r[7]))")
        #expect(r[8]?["ok"] as? Bool == false && r[8]?["error"] as? String == "access/object-access-denied", "\(String(describing: r[8]))")
    }

    // MARK: 9. Selections end with their association

    @Test("9. A selection ends with its association: after A aborts (ACSE A-ABORT, then a TCP abort), B of the same table selects at once")
    func selectionEndsWithAssociation() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let sbo: [String: Any] = ["domain": "ICC_A", "name": "Breaker_A2_Ctl_SBO"]
        func on(_ label: String?, _ step: [String: Any]) -> [String: Any] { label.map { step.merging(["on": $0]) { $1 } } ?? step }
        let plan: [[String: Any]] = [
            ["op": "open", "label": "A1"],
            on("A1", sbo.merging(["op": "read"]) { $1 }),  // 1: A1 selects
            sbo.merging(["op": "read"]) { $1 },  // 2: B (main) cannot while A1 holds it
            ["op": "abort", "on": "A1", "how": "acse"],
            sbo.merging(["op": "poll_read", "seconds": 10]) { $1 },  // 4: B selects
            ["op": "write", "domain": "ICC_A", "name": "Breaker_A2_Ctl", "value": ["integer": 1], "component": NSNull()],
            ["op": "open", "label": "A2"],
            on("A2", sbo.merging(["op": "read"]) { $1 }),  // 7
            sbo.merging(["op": "read"]) { $1 },  // 8
            ["op": "abort", "on": "A2", "how": "tcp"],
            sbo.merging(["op": "poll_read", "seconds": 10]) { $1 },  // 10
            ["op": "write", "domain": "ICC_A", "name": "Breaker_A2_Ctl", "value": ["integer": 1], "component": NSNull()],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        let log = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        for (held, refused, after, operate) in [(1, 2, 4, 5), (7, 8, 10, 11)] {
            #expect(VB.integer(VB.result(r, held)) == 22, "\(String(describing: r[held]))")
            #expect(VB.dataAccessError(VB.result(r, refused)) == 2, "\(String(describing: r[refused]))")
            #expect(VB.integer(VB.result(r, after)) == 22, "\(String(describing: r[after]))")
            // "At once": well inside the 30 s select time-out of the fixture.
            #expect((VB.num(r[after]?["ms"]) ?? .infinity) < 3000, "\(String(describing: r[after]))")
            #expect(VB.result(r, operate) as? String == "success")
        }
        #expect(log.contains("aborted by the peer"))
    }

    // MARK: 10. Association-specific lists, caps

    @Test("10. Association-specific data sets belong to their association; max_data_sets and max_data_set_members give resource/memory-unavailable")
    func associationListsAndCaps() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let c = { (n: String) in item("ICC_C", n) }
        let plan: [[String: Any]] = [
            ["op": "define", "domain": "@aa", "name": "AA_List", "members": [VB.a("A_MW")]],  // 0
            ["op": "open", "label": "A2"],
            ["op": "names", "on": "A2", "class": "list", "domain": "@aa"],  // 2
            ["op": "read_list", "on": "A2", "domain": "@aa", "name": "AA_List"],  // 3
            ["op": "names", "class": "list", "domain": "@aa"],  // 4
            ["op": "read_list", "domain": "@aa", "name": "AA_List"],  // 5
            ["op": "define", "on": "A2", "domain": "@aa", "name": "AA_List", "members": [VB.a("F001")]],  // 6: same name, its own
            ["op": "read_list", "on": "A2", "domain": "@aa", "name": "AA_List"],  // 7
            // BLT_C: max_data_sets 2, max_data_set_members 4 (known by its AE-qualifier, no AP-title)
            ["op": "open", "label": "C", "ap_title": NSNull(), "ae_qualifier": 33],
            ["op": "define", "on": "C", "domain": "ICC_C", "name": "DS_Five", "members": [
                c("Transfer_Set_Name"), c("Transfer_Set_Time_Stamp"), c("DSConditions_Detected"), c("Event_Code_Detected"), c("C_MW"),
            ]],  // 9: 5 members
            ["op": "define", "on": "C", "domain": "ICC_C", "name": "DS_Four", "members": [
                c("Transfer_Set_Name"), c("Transfer_Set_Time_Stamp"), c("DSConditions_Detected"), c("C_MW"),
            ]],  // 10: 4 members
            ["op": "define", "on": "C", "domain": "@aa", "name": "AA_One", "members": [c("C_MW")]],  // 11: the second
            ["op": "define", "on": "C", "domain": "@aa", "name": "AA_Two", "members": [c("C_MW")]],  // 12: a third (aa)
            ["op": "define", "on": "C", "domain": "ICC_C", "name": "DS_Three", "members": [c("C_MW")]],  // 13: a third (ICC)
            ["op": "delete", "on": "C", "domain": "@aa", "name": "AA_One"],  // 14
            ["op": "define", "on": "C", "domain": "@aa", "name": "AA_Two", "members": [c("C_MW")]],  // 15: room again
            ["op": "conclude", "on": "C"],
            ["op": "open", "label": "C2", "ap_title": NSNull(), "ae_qualifier": 33],
            ["op": "define", "on": "C2", "domain": "ICC_C", "name": "DS_Three", "members": [c("C_MW")]],  // 18: C's aa lists ended with it
            ["op": "conclude", "on": "C2"],
            ["op": "conclude", "on": "A2"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan, except: [3, 9, 12, 13])
        #expect(VB.result(r, 0) as? String == "success")
        #expect(VB.result(r, 2) as? [String] == [], "A2 sees A's list: \(String(describing: r[2]))")
        #expect(r[3]?["ok"] as? Bool == false && r[3]?["error"] as? String == "access/object-non-existent", "\(String(describing: r[3]))")
        #expect(VB.result(r, 4) as? [String] == ["AA_List"])
        #expect(shape((VB.result(r, 5) as? [Any])?.first as Any) == "structure(float,bits8)", "A_MW (RealQ): \(String(describing: r[5]))")
        #expect(VB.result(r, 6) as? String == "success")
        #expect(shape((VB.result(r, 7) as? [Any])?.first as Any) == "float", "A2's own list holds F001 (Real): \(String(describing: r[7]))")
        for i in [9, 12, 13] {
            #expect(r[i]?["ok"] as? Bool == false && r[i]?["error"] as? String == "resource/memory-unavailable", "step \(i): \(String(describing: r[i]))")
        }
        for i in [10, 11, 15, 18] { #expect(VB.result(r, i) as? String == "success", "step \(i): \(String(describing: r[i]))") }
        #expect(VB.num((VB.result(r, 14) as? [String: Any])?["deleted"]) == 1)
    }

    // MARK: 12. Configurable settings

    @Test("12. vcc.blocks sets Supported_Features; vcc.select_timeout 1 s makes an operate 1.5 s after the select fail")
    func configuredBlocksAndSelectTimeout() async throws {
        try Interop.requirePeers()
        let usual = try await DemoServer(extra: ["--config", VB.fixture])
        let (m, mStatus, mOutput) = try await runProbe("probe_hat.py", port: usual.port, plan: [
            ["op": "read", "domain": NSNull(), "name": "Supported_Features"], ["op": "conclude"],
        ])
        _ = await usual.stop()
        #expect(mStatus == 0, "\(mOutput.suffix(2000))")
        #expect(VB.bits(VB.result(m, 0)) == "110110000000", "default blocks 1, 2, 4, 5: \(String(describing: m[0]))")

        let server = try await DemoServer(extra: ["--config", VB.variant])
        let plan: [[String: Any]] = [
            ["op": "read", "domain": NSNull(), "name": "Supported_Features"],  // 0
            ["op": "read", "domain": "ICC_A", "name": "Breaker_A_Ctl_SBO"],  // 1
            ["op": "write", "domain": "ICC_A", "name": "Breaker_A_Ctl", "value": ["integer": 1], "component": NSNull()],  // 2: at once: fine
            ["op": "read", "domain": "ICC_A", "name": "Breaker_A_Ctl_SBO"],  // 3
            ["op": "sleep", "seconds": 1.5],
            ["op": "read", "domain": "ICC_A", "name": "Breaker_A_Ctl_TAG"],  // 5: no longer armed
            ["op": "write", "domain": "ICC_A", "name": "Breaker_A_Ctl", "value": ["integer": 1], "component": NSNull()],  // 6
            ["op": "write", "domain": "@aa", "name": "IM_Transfer_Set", "value": ["boolean": true], "component": NSNull()],  // 7: no block 4
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        #expect(VB.bits(VB.result(r, 0)) == "110010000000", "blocks [1, 2, 5]: \(String(describing: r[0]))")
        #expect(VB.integer(VB.result(r, 1)) != nil && VB.integer(VB.result(r, 3)) != nil)
        #expect(VB.result(r, 2) as? String == "success")
        #expect(VB.bits(((VB.result(r, 5) as? [String: Any])?["structure"] as? [Any])?.first) == "000", "\(String(describing: r[5]))")
        #expect(VB.dataAccessError(VB.result(r, 6)) == 2, "operate after the select timed out: \(String(describing: r[6]))")
        #expect(VB.dataAccessError(VB.result(r, 7)) == 10, "\(String(describing: r[7]))")  // object-non-existent
    }

    @Test("12. message_local_references: BLT_A (LocalReference 5 only) gets none of the demo's messages (LocalReference 0), BLT_B gets them")
    func messageFilterWithSimulatedMessages() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture, "--simulate"])
        let plan: [[String: Any]] = [
            ["op": "write", "domain": "@aa", "name": "IM_Transfer_Set", "value": ["boolean": true], "component": NSNull()],
            ["op": "open", "label": "B", "ap_title": "1.1.1.888"],
            ["op": "write", "on": "B", "domain": "@aa", "name": "IM_Transfer_Set", "value": ["boolean": true], "component": NSNull()],
            ["op": "wait_reports", "on": "B", "seconds": 10, "min": 2],  // 3: two messages (one every 2 s)
            ["op": "wait_reports", "seconds": 1, "min": 1000],  // 4: the same messages did not come here
            ["op": "read", "domain": "@aa", "name": "IM_Transfer_Set"],  // 5: although enabled
            ["op": "conclude", "on": "B"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan, except: [4])
        let toB = VB.reports(r[3])
        #expect(toB.count >= 2, "\(toB.count) messages to BLT_B")
        for rep in toB {
            #expect(VB.names(of: rep).first == "Info_Mess_Header")
            let header = (VB.values(of: rep).first as? [String: Any])?["structure"] as? [Any]
            #expect(VB.integer(header?[safe: 1]) == 0, "LocalReference: \(String(describing: header))")
        }
        #expect(VB.reports(r[4]).isEmpty, "BLT_A received \(VB.reports(r[4]).count) messages with LocalReference 0")
        #expect((VB.result(r, 5) as? [String: Any])?["boolean"] as? Bool == true)
    }

    @Test("12. message_local_references (in process): sendInformationMessage reaches BLT_A only with LocalReference 5")
    func messageFilterInProcess() async throws {
        try Interop.requirePeers()
        try await VB.withServer { server, port in
            let plan: [[String: Any]] = [
                ["op": "write", "domain": "@aa", "name": "IM_Transfer_Set", "value": ["boolean": true], "component": NSNull()],
                ["op": "open", "label": "B", "ap_title": "1.1.1.888"],
                ["op": "write", "on": "B", "domain": "@aa", "name": "IM_Transfer_Set", "value": ["boolean": true], "component": NSNull()],  // 2
                ["op": "wait_reports", "on": "B", "seconds": 15, "min": 2],  // 3: both messages
                ["op": "wait_reports", "seconds": 15, "min": 1, "quiet": 1],  // 4: only the second
                ["op": "conclude", "on": "B"],
                ["op": "conclude"],
            ]
            var recipients: [Int] = []
            let (r, status, output) = try await VB.runProbeReacting(port: port, plan: plan) { i, _ in
                // Both partners have enabled IM_Transfer_Set: send one message the filter stops, then one it lets through.
                guard i == 2 else { return }
                recipients.append(try await server.sendInformationMessage("local reference 0", infoReference: 1, localReference: 0, messageID: 1))
                recipients.append(try await server.sendInformationMessage("local reference 5", infoReference: 1, localReference: 5, messageID: 2))
            }
            #expect(status == 0, "\(output.suffix(3000))")
            VB.expectAllOK(r, plan)
            #expect(recipients == [1, 2], "recipients per message: \(recipients)")
            func headers(_ line: [String: Any]?) -> [[Int]] {
                VB.reports(line).map { rep in
                    (((VB.values(of: rep).first as? [String: Any])?["structure"] as? [Any]) ?? []).compactMap(VB.integer)
                }
            }
            #expect(headers(r[3]).map { Array($0.prefix(3)) } == [[1, 0, 1], [1, 5, 2]], "BLT_B: \(headers(r[3]))")
            #expect(headers(r[4]).map { Array($0.prefix(3)) } == [[1, 5, 2]], "BLT_A: \(headers(r[4]))")
        }
    }

    // MARK: a, b. Recognising partners, responding AP-title

    @Test("a, b. Partners without AP-title are recognised by AE-qualifier or selectors; the AARE carries the table's responding AP-title")
    func partnerRecognition() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let plan: [[String: Any]] = [
            ["op": "read", "domain": "ICC_A", "name": "Bilateral_Table_ID"],  // 0
            ["op": "open", "label": "B", "ap_title": "1.1.1.888"],  // 1
            ["op": "read", "on": "B", "domain": "ICC_B", "name": "Bilateral_Table_ID"],
            ["op": "open", "label": "C", "ap_title": NSNull(), "ae_qualifier": 33],  // 3: no AP-title
            ["op": "read", "on": "C", "domain": "ICC_C", "name": "Bilateral_Table_ID"],
            ["op": "names", "on": "C", "class": "domain"],  // 5
            ["op": "open", "label": "D", "ap_title": NSNull(), "ae_qualifier": NSNull(), "psel": 9, "tsel": 7],  // 6: selectors only
            ["op": "read", "on": "D", "domain": "ICC_D", "name": "Bilateral_Table_ID"],
            ["op": "open", "label": "X", "ap_title": NSNull(), "ae_qualifier": NSNull(), "psel": 9, "tsel": 8],  // 8: wrong TSEL
            ["op": "open", "label": "Y", "ap_title": NSNull(), "ae_qualifier": 34],  // 9: unknown AE-qualifier
            ["op": "conclude", "on": "B"],
            ["op": "conclude", "on": "C"],
            ["op": "conclude", "on": "D"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        let log = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan, except: [8, 9])
        // b: BLT_A's `local` title; the others get the VCC's own.
        let first = r[-1]?["result"] as? [String: Any]
        #expect(first?["responding_ap_title"] as? String == "1.1.1.999.7" && VB.num(first?["responding_ae_qualifier"]) == 77, "\(String(describing: first))")
        for i in [1, 3, 6] {
            let a = VB.result(r, i) as? [String: Any]
            #expect(a?["responding_ap_title"] as? String == "1.1.1.999.1" && VB.num(a?["responding_ae_qualifier"]) == 12, "step \(i): \(String(describing: a))")
        }
        #expect((VB.result(r, 3) as? [String: Any])?["calling_ap_title"] is NSNull)
        // a: each gets its table's Bilateral_Table_ID.
        #expect(VB.string(VB.result(r, 0)) == "BLT_A")
        #expect(VB.string(VB.result(r, 2)) == "BLT_B")
        #expect(VB.string(VB.result(r, 4)) == "BLT_C")
        #expect(VB.result(r, 5) as? [String] == ["ICC_C"])
        #expect(VB.string(VB.result(r, 7)) == "BLT_D")
        #expect(r[8]?["ok"] as? Bool == false && r[9]?["ok"] as? Bool == false, "\(String(describing: r[8])) \(String(describing: r[9]))")
        #expect(log.contains("association refused"))
    }

    // MARK: c. A write reaches another association's transfer set

    @Test("c. A partner's write to a writable VCC point reports the change to another partner's RBE transfer set")
    func writeReportsToAnotherAssociation() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let plan: [[String: Any]] = [
            ["op": "define", "domain": "ICC_A", "name": "DS_Shared", "members": [VB.a("Transfer_Set_Name"), VB.a("DSConditions_Detected"), item(nil, "Shared_SP")]],
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
            ["op": "write", "domain": "ICC_A", "name": "DSTrans1", "component": NSNull(),
             "value": VB.dsts("DS_Shared") { $0.conditions = [.objectChange]; $0.rbe = true }],
            ["op": "open", "label": "B", "ap_title": "1.1.1.888"],
            ["op": "write", "on": "B", "domain": NSNull(), "name": "Shared_SP", "value": ["float": 42.5], "component": NSNull()],  // 4
            ["op": "wait_reports", "seconds": 5, "min": 1],  // 5
            ["op": "read", "on": "B", "domain": NSNull(), "name": "Shared_SP"],
            ["op": "conclude", "on": "B"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        #expect(VB.result(r, 4) as? String == "success", "\(String(describing: r[4]))")
        let rep = VB.reports(r[5]).first
        #expect(rep?["form"] as? String == "list_of_variable")
        #expect(rep.map(VB.names(of:)) == ["Transfer_Set_Name", "DSConditions_Detected", "Shared_SP"])
        #expect(rep.map { VB.domains(of: $0) } == ["ICC_A", "ICC_A", nil])
        #expect(VB.float(rep.flatMap { VB.values(of: $0)[safe: 2] }) == 42.5)
        #expect(VB.float(VB.result(r, 6)) == 42.5)
    }

    // MARK: d. StartTime 2 (1970)

    @Test("d. A transfer set with StartTime 2 (1970) and Interval 1 is answered in < 100 ms, and another association's reads are not delayed")
    func startTimeIn1970() async throws {
        try Interop.requirePeers()
        let server = try await DemoServer(extra: ["--config", VB.fixture])
        let delay = 0.03
        let plan: [[String: Any]] = [
            ["op": "define", "domain": "ICC_A", "name": "DS_1970", "members": [VB.a("Transfer_Set_Name"), VB.a("DSConditions_Detected"), VB.a("A_MW")]],
            ["op": "read", "domain": "ICC_A", "name": "Next_DSTransfer_Set"],
            ["op": "open", "label": "R", "ap_title": "1.1.1.888"],
            ["op": "read_loop", "on": "R", "domain": "ICC_B", "name": "B_MW", "count": 5],  // 3: warm-up
            ["op": "parallel", "steps": [
                ["op": "read_loop", "on": "R", "domain": "ICC_B", "name": "B_MW", "count": 60],
                ["op": "write", "delay": delay, "domain": "ICC_A", "name": "DSTrans1", "component": NSNull(),
                 "value": VB.dsts("DS_1970") { $0.startTime = 2; $0.interval = 1; $0.conditions = [.intervalTimeOut] }],
            ]],  // 4
            ["op": "wait_reports", "seconds": 5, "min": 2],  // 5
            ["op": "conclude", "on": "R"],
            ["op": "conclude"],
        ]
        let (r, status, output) = try await runProbe("probe_hat.py", port: server.port, plan: plan)
        _ = await server.stop()
        #expect(status == 0, "\(output.suffix(3000))")
        VB.expectAllOK(r, plan)
        let sub = VB.result(r, 4) as? [[String: Any]] ?? []
        let loop = sub[safe: 0], write = sub[safe: 1]
        #expect(loop?["ok"] as? Bool == true && write?["ok"] as? Bool == true, "\(sub)")
        #expect(write?["result"] as? String == "success", "\(String(describing: write))")
        let writeMS = VB.num(write?["ms"]) ?? .infinity
        #expect(writeMS < 100, "the enable took \(writeMS) ms")
        let reads = loop?["result"] as? [String: Any]
        #expect(VB.num(reads?["failures"]) == 0)
        #expect((VB.num(reads?["max_ms"]) ?? .infinity) < 100, "the other association's slowest read: \(String(describing: reads?["max_ms"])) ms")
        // The reads really ran while the enable was processed.
        #expect((VB.num(loop?["ms"]) ?? 0) > delay * 1000 + writeMS, "\(sub)")
        // And the transfer set reports every second (its schedule rolled forward from 1970).
        let reports = VB.reports(r[5]).filter { VB.transferSet(of: $0) == "DSTrans1" }
        #expect(reports.count >= 2 && reports.allSatisfy { VB.bits(VB.values(of: $0)[safe: 1]) == "10000" }, "\(reports)")
    }
}

/// The hosting program of test 3: Local_Ctl and Local_SP are in local mode (selects, tags and
/// operates refused), Slow_Ctl is answered after 300 ms; it records every request.
final class LocalModeHandler: DeviceHandler {
    let seen = Mutex<[DeviceRequest]>([])

    func handle(_ request: DeviceRequest) async -> DataAccessError? {
        seen.withLock { $0.append(request) }
        switch (request.device, request.kind) {
        case ("Local_Ctl", .select): return .temporarilyUnavailable
        case ("Local_Ctl", .setTag): return .objectAccessDenied
        case ("Local_SP", .operate): return .objectAccessDenied
        case ("Slow_Ctl", _):
            try? await Task.sleep(for: .milliseconds(300))
            return nil
        default: return nil
        }
    }
}

/// Plan building and result reading for `VCCBehaviourInteropTests`.
enum VB {
    static var fixture: String { Fixtures.root.appendingPathComponent("vcc-behaviours.yaml").path }
    static var variant: String { Fixtures.root.appendingPathComponent("vcc-behaviours-variant.yaml").path }

    /// An object of ICC_A.
    static func a(_ name: String) -> [String: Any] { item("ICC_A", name) }
    /// F001 … F100 (ICC_A, Real, writable; Tests/Fixtures/vcc-behaviours-points.csv).
    static func pointName(_ k: Int) -> String { "F" + String(repeating: "0", count: 3 - String(k + 1).count) + String(k + 1) }
    static var points: [[String: Any]] { (0..<100).map { a(pointName($0)) } }

    /// A DSTransferSet on the ICC_A data set `dataSet`, Status TRUE, as typed JSON.
    static func dsts(_ dataSet: String, _ configure: (inout DSTransferSet) -> Void) -> Any {
        var d = DSTransferSet()
        d.dataSetName = .domainSpecific(domain: "ICC_A", item: dataSet)
        d.status = true
        configure(&d)
        return typed(d.data(.v2000))
    }

    static func result(_ r: [Int: [String: Any]], _ i: Int) -> Any? { r[i]?["result"] }
    static func num(_ v: Any?) -> Double? { (v as? NSNumber)?.doubleValue }
    static func dataAccessError(_ v: Any?) -> Int? { num((v as? [String: Any])?["error"]).map { Int($0) } }
    static func integer(_ v: Any?) -> Int? { num((v as? [String: Any])?["integer"]).map { Int($0) } }
    static func float(_ v: Any?) -> Double? { num((v as? [String: Any])?["float"]) }
    static func bits(_ v: Any?) -> String? { (v as? [String: Any])?["bit-string"] as? String }
    static func string(_ v: Any?) -> String? { (v as? [String: Any])?["visible-string"] as? String }

    static func isObjectName(_ v: Any?, _ domain: String, _ name: String) -> Bool {
        guard let s = (v as? [String: Any])?["structure"] as? [Any], s.count == 3 else { return false }
        return num((s[0] as? [String: Any])?["unsigned"]) == 1 && string(s[1]) == domain && string(s[2]) == name
    }

    static func reports(_ line: [String: Any]?) -> [[String: Any]] { line?["result"] as? [[String: Any]] ?? [] }
    static func names(of report: [String: Any]) -> [String] { (report["items"] as? [[String: Any]] ?? []).map { $0["name"] as? String ?? "?" } }
    static func domains(of report: [String: Any]) -> [String?] { (report["items"] as? [[String: Any]] ?? []).map { $0["domain"] as? String } }
    static func values(of report: [String: Any]) -> [Any] { report["values"] as? [Any] ?? [] }
    /// The transfer set named by a report's Transfer_Set_Name (its first value).
    static func transferSet(of report: [String: Any]) -> String? {
        guard let s = (values(of: report).first as? [String: Any])?["structure"] as? [Any], s.count == 3 else { return nil }
        return string(s[2])
    }

    /// Every step ran (ok) except those listed (which the test checks itself).
    static func expectAllOK(_ r: [Int: [String: Any]], _ plan: [[String: Any]], except: Set<Int> = [],
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r[-1]?["ok"] as? Bool == true, "association: \(String(describing: r[-1]))", sourceLocation: sourceLocation)
        for i in plan.indices where !except.contains(i) {
            #expect(r[i]?["ok"] as? Bool == true, "step \(i) \(plan[i]["op"] ?? "?"): \(r[i].map { "\($0)" } ?? "missing")",
                    sourceLocation: sourceLocation)
        }
    }

    /// The fixture's VCC in process (loopback, a free port), with `handler` deciding device requests.
    static func withServer<T>(_ handler: any DeviceHandler = AcceptingDeviceHandler(), _ body: (TASE2Server, Int) async throws -> T)
        async throws -> T
    {
        var c = try ConfigLoader.load(file: fixture)
        c.vcc.host = "127.0.0.1"
        c.vcc.port = 0
        var logger = Logger(label: "test.vcc-behaviours")
        logger.logLevel = .warning
        let server = try TASE2Server(configuration: c, logger: logger, deviceHandler: handler)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.localAddress().port ?? 0
            defer { server.shutdown() }
            let r = try await body(server, port)
            server.shutdown()
            try await group.waitForAll()
            return r
        }
    }

    /// `runProbe` (probe_hat.py), calling `onStep` as each step's line arrives, while the plan runs on.
    static func runProbeReacting(port: Int, plan: [[String: Any]], extra: [String] = [],
                                 onStep: (Int, [String: Any]) async throws -> Void) async throws
        -> (results: [Int: [String: Any]], status: Int32, output: String)
    {
        try Interop.requirePeers()
        let planURL = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: plan).write(to: planURL)
        defer { try? FileManager.default.removeItem(at: planURL) }
        let p = try PeerProcess(Interop.python, [Interop.script("probe_hat.py"), "127.0.0.1", "\(port)", planURL.path] + extra)
        var results: [Int: [String: Any]] = [:]
        for await line in p.lines {
            guard let o = jsonObject(line), let i = o["i"] as? Int else { continue }
            results[i] = o
            try await onStep(i, o)
        }
        let status = await p.wait(seconds: 60)
        return (results, status, p.stdout + p.stderr)
    }
}
