import BER
import MMS
import Synchronization
import Testing
@testable import TASE2

/// The defects the engine rebuild fixed, one test each, on a fake clock and without a network
/// (the same behaviours over TCP, with foreign clients, are in the interop tests).
@Suite("VCC engine: the review's defects", .timeLimit(.minutes(1)))
struct VCCDefectTests {
    /// A VCC with `n` writable RealQ points in ICC1 and an RBE-able data set of all of them.
    static func manyPoints(_ n: Int, specialsFirst: [String] = ["Transfer_Set_Name", "Transfer_Set_Time_Stamp", "DSConditions_Detected"])
        -> TASE2Configuration
    {
        var c = testConfiguration()
        for i in 0..<n { c.points.append(PointConfig(name: "P\(i)", type: .realQ, scope: .icc("ICC1"), initial: .real(0), writable: true)) }
        c.dataSets.append(DataSetConfig(name: "DS_Many", scope: .icc("ICC1"),
                                        members: specialsFirst.map { icc1($0) } + (0..<n).map { icc1("P\($0)") }))
        return c
    }

    func enable(_ vcc: VirtualControlCentre, _ ctx: AssociationContext, slot: String = "DSTrans1", _ configure: (inout DSTransferSet) -> Void)
        async -> WriteResult
    {
        var d = DSTransferSet()
        configure(&d)
        d.status = true
        return await vcc.write([VariableAccess(icc1(slot))], values: [d.data(.v2000)], for: ctx)[0]
    }

    func reserve(_ vcc: VirtualControlCentre, _ ctx: AssociationContext) async -> MMSData? {
        guard case .success(let v) = await vcc.read([VariableAccess(icc1("Next_DSTransfer_Set"))], for: ctx).first else { return nil }
        return v
    }

    // 1. Changes survive flow control: a report the loop could not send takes nothing; the
    // changes wait in their change set, coalesced per point, and go with the next report.
    @Test func changesHeldBackByFlowControlAreCoalescedNotLost() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(Self.manyPoints(3), clock)
        let ctx = try await attach(vcc, id: 1)
        _ = await reserve(vcc, ctx)
        #expect(await enable(vcc, ctx) { d in
            d.dataSetName = icc1("DS_Many")
            d.rbe = true
            d.conditions = [.objectChange]
        } == .success)
        let s = try #require(vcc.partnerSessions.first)
        let p = (0..<3).map { vcc.handle("P\($0)", in: .icc("ICC1"))! }
        vcc.update([(p[0], .real(1)), (p[1], .real(1))])
        // The job is due, but the partner is not writable: the loop does not build it.
        let held = vcc.jobs(s, now: clock.now())
        #expect(held.count == 1)
        vcc.update([(p[0], .real(2)), (p[2], .real(7))])
        let later = vcc.jobs(s, now: clock.now())
        // Writable again: one report with the latest value of each changed point, once.
        let pdus = (held + later).flatMap { vcc.reportPDUs($0, s, maxPDUSize: 65_000) }
        #expect(pdus.count == 1)
        let items = try #require(pdus.first?.members)
        #expect(items.map(\.member).sorted() == [3, 4, 5])  // P0, P1, P2 after the three specials
        var w = BERWriter(capacity: 1024)
        vcc.prepend(pdus[0], to: &w)
        guard case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode(w.toArray()) else { Issue.record("not a report"); return }
        #expect(Array(r.results.suffix(3)) == [.success(PointType.realQ.data(.real(2))), .success(PointType.realQ.data(.real(1))),
                                                .success(PointType.realQ.data(.real(7)))])
    }

    // 2. RBE and AllChangesReported reports are split to fit the partner's PDU.
    @Test(arguments: [false, true]) func reportsAreSplitToFitThePDU(allChanges: Bool) async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(Self.manyPoints(300), clock)
        let ctx = try await attach(vcc, id: 1, associationRequest(pduSize: 1200))
        _ = await reserve(vcc, ctx)
        // A full report of 300 RealQ points (~3 kB) would not fit 1200 bytes: enable refuses it
        // unless the reports are by exception.
        #expect(await enable(vcc, ctx) { d in
            d.dataSetName = icc1("DS_Many")
            d.rbe = true
            d.allChangesReported = allChanges
            d.conditions = [.objectChange]
        } == .success)
        vcc.update((0..<300).map { (vcc.handle("P\($0)", in: .icc("ICC1"))!, .real(Float($0) + 0.5)) })
        let due = vcc.dueReports(at: clock.now())
        #expect(due.count > 2)
        #expect(due.allSatisfy { $0.pdu.count <= 1200 }, "sizes \(due.map(\.pdu.count))")
        var seen: Set<String> = []
        for r in try informationReports(due) {
            guard case .listOfVariable(let items) = r.variableAccessSpecification else { Issue.record("not RBE"); continue }
            #expect(items.first?.variable.name == icc1("Transfer_Set_Name"))
            for i in items { if let n = i.variable.name?.itemName, n.hasPrefix("P") { seen.insert(n) } }
        }
        #expect(seen.count == 300)
    }

    // 3. The hosting program decides selects, operates and tags, and may answer later.
    @Test func deviceHooksRefuseAndAnswerLate() async throws {
        final class Gate: DeviceHandler, Sendable {
            let waiting = Mutex<[CheckedContinuation<Void, Never>]>([])
            let seen = Mutex<[DeviceRequest]>([])
            func handle(_ request: DeviceRequest) async -> DataAccessError? {
                seen.withLock { $0.append(request) }
                if request.device == "Gen_SP" { return .temporarilyUnavailable }  // "local mode"
                if case .setTag = request.kind { return .objectAccessDenied }
                await withCheckedContinuation { c in waiting.withLock { $0.append(c) } }
                return nil
            }
            var pending: Int { waiting.withLock { $0.count } }
            func open() { for c in waiting.withLock({ w in defer { w = [] }; return w }) { c.resume() } }
        }
        let gate = Gate()
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock, handler: gate)
        let ctx = try await attach(vcc, id: 1)
        #expect(await vcc.write([VariableAccess(icc1("Gen_SP"))], values: [.float(5)], for: ctx) == [.failure(.temporarilyUnavailable)])
        let tag = MMSData.structure([.bitString(BitString(msbFirst: 0x80 << 56, count: 3)), .visibleString("x")])
        #expect(await vcc.write([VariableAccess(icc1("Breaker_1_Ctl_TAG"))], values: [tag], for: ctx) == [.failure(.objectAccessDenied)])
        // The select waits for the program's answer.
        let select = Task { await vcc.read([VariableAccess(icc1("Breaker_1_Ctl_SBO"))], for: ctx) }
        while gate.pending == 0 { await Task.yield() }
        gate.open()
        guard case .success(.integer) = await select.value.first else { Issue.record("select failed"); return }
        #expect(gate.seen.withLock { $0.map(\.kind) }.contains(.select))
    }

    // 4. CheckBackName: the table's configured ID, else the device's, else its position.
    @Test func checkBackIDsAreConfigured() async throws {
        var c = testConfiguration()
        c.devices[0].checkBackID = 300
        c.bilateralTables[0].checkBackIDs = ["Breaker_1_Ctl": 4711]
        c.devices.append(DeviceConfig(name: "Brk2_Ctl", kind: .command, scope: .icc("ICC1"), sbo: true))
        c.devices[3].checkBackID = 55
        let vcc = try makeVCC(c, FakeClock())
        let ctx = try await attach(vcc, id: 1)
        #expect(await vcc.read([VariableAccess(icc1("Breaker_1_Ctl_SBO"))], for: ctx) == [.success(.integer(4711))])
        #expect(await vcc.read([VariableAccess(icc1("Brk2_Ctl_SBO"))], for: ctx) == [.success(.integer(55))])
    }

    // 5 and 6. Every read of Next_DSTransfer_Set takes another one; a disabled transfer set is
    // enabled again by its owner, with its attributes kept, and reports again.
    @Test func allocationPerReadAndReEnable() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock)
        let ctx = try await attach(vcc, id: 1)
        #expect(await reserve(vcc, ctx) == TASE2Names.objectNameData(icc1("DSTrans1")))
        #expect(await reserve(vcc, ctx) == TASE2Names.objectNameData(icc1("DSTrans2")))
        for slot in ["DSTrans1", "DSTrans2"] {
            #expect(await enable(vcc, ctx, slot: slot) { d in
                d.dataSetName = icc1("DS_Server")
                d.interval = slot == "DSTrans1" ? 5 : 10
                d.conditions = [.intervalTimeOut]
            } == .success)
        }
        let t0 = clock.now()
        #expect(vcc.dueReports(at: t0 + 5).count == 1)
        #expect(await vcc.write([VariableAccess(icc1("DSTrans1"), alternateAccess: .component("Status"))], values: [.boolean(false)], for: ctx)
                == [.success])
        #expect(vcc.dueReports(at: t0 + 10).count == 1)  // only DSTrans2
        // Enabled again by Status alone: the kept attributes (Interval 5) apply.
        #expect(await vcc.write([VariableAccess(icc1("DSTrans1"), alternateAccess: .component("Status"))], values: [.boolean(true)], for: ctx)
                == [.success])
        guard case .success(let v) = await vcc.read([VariableAccess(icc1("DSTrans1"))], for: ctx).first,
              let kept = DSTransferSet(v, edition: .v2000) else { Issue.record("unreadable"); return }
        #expect(kept.interval == 5 && kept.status)
        // DSTrans1 again every 5 s from its re-enable, DSTrans2 every 10 s: both at t0 + 20.
        #expect(vcc.dueReports(at: t0 + 20).count == 2)
    }

    // 6a. Transfer_Set_Name first in a by-exception report, whatever the data set's order.
    @Test func transferSetNameLeadsEveryRBEReport() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(Self.manyPoints(2, specialsFirst: ["DSConditions_Detected", "Transfer_Set_Time_Stamp", "Transfer_Set_Name"]), clock)
        let ctx = try await attach(vcc, id: 1)
        _ = await reserve(vcc, ctx)
        #expect(await enable(vcc, ctx) { d in
            d.dataSetName = icc1("DS_Many")
            d.rbe = true
            d.conditions = [.objectChange]
        } == .success)
        vcc.update(vcc.handle("P1", in: .icc("ICC1"))!, to: .real(3))
        let r = try informationReports(vcc.dueReports(at: clock.now()))
        guard case .listOfVariable(let items)? = r.first?.variableAccessSpecification else { Issue.record("no RBE report"); return }
        #expect(items.map { $0.variable.name?.itemName } == ["Transfer_Set_Name", "DSConditions_Detected", "Transfer_Set_Time_Stamp", "P1"])
    }

    // 7. StartTime gates object-change reports too; a periodic report later than TLE is not sent.
    @Test func startTimeGatesChangesAndTLESkipsLateReports() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock)
        let ctx = try await attach(vcc, id: 1)
        _ = await reserve(vcc, ctx)
        _ = await reserve(vcc, ctx)
        let t0 = clock.now()
        #expect(await enable(vcc, ctx) { d in
            d.dataSetName = icc1("DS_Server")
            d.startTime = Int32(clock.wallNow() + 30)
            d.conditions = [.objectChange]
        } == .success)
        vcc.update(vcc.handle("Breaker_1", in: .icc("ICC1"))!, to: .state(.off))
        #expect(vcc.dueReports(at: t0 + 29).isEmpty)
        #expect(vcc.dueReports(at: t0 + 30).count == 1)
        // TLE 2 on an Interval of 5: the loop was held up 4 s past the due time.
        #expect(await enable(vcc, ctx, slot: "DSTrans2") { d in
            d.dataSetName = icc1("DS_Server")
            d.interval = 5
            d.tle = 2
            d.conditions = [.intervalTimeOut]
        } == .success)
        var events = vcc.events.makeAsyncIterator()
        #expect(vcc.dueReports(at: t0 + 9).isEmpty)
        #expect(await events.next() == .staleReportSkipped(icc: "ICC1", transferSet: "DSTrans2"))
    }

    // 8. Tags of VCC devices follow the get-tag right: no right, no read and no data set.
    @Test func tagRightsAreChecked() async throws {
        var c = testConfiguration()
        c.devices.append(DeviceConfig(name: "VCC_Brk", kind: .command, scope: .vcc, sbo: true, taggable: true))
        c.bilateralTables[0].vccSelect = ["VCC_Brk"]
        c.bilateralTables[0].vccOperate = ["VCC_Brk"]
        c.bilateralTables[0].vccGetTag = []
        c.bilateralTables[0].vccSetTag = []
        let vcc = try makeVCC(c, FakeClock())
        let ctx = try await attach(vcc, id: 1)
        #expect(await vcc.read([VariableAccess(.vmdSpecific("VCC_Brk_TAG"))], for: ctx) == [.failure(.objectAccessDenied)])
        await #expect(throws: ServiceError.accessObjectAccessDenied) {
            try await vcc.defineList(DefineNamedVariableListRequest(name: icc1("DS_Tag"), variables: [VariableAccess(.vmdSpecific("VCC_Brk_TAG"))]),
                                     for: ctx)
        }
        // The select right it has works.
        guard case .success(.integer) = await vcc.read([VariableAccess(.vmdSpecific("VCC_Brk_SBO"))], for: ctx).first else {
            Issue.record("select refused")
            return
        }
        // BLT_B has none of the four rights.
        let b = try await attach(vcc, id: 2, associationRequest(apTitle: [1, 1, 1, 888], aeQualifier: nil))
        #expect(await vcc.read([VariableAccess(.vmdSpecific("VCC_Brk_SBO"))], for: b) == [.failure(.objectAccessDenied)])
    }

    // 9. A selection ends with its association: a redundant link can select at once.
    @Test func aSelectionEndsWithItsAssociation() async throws {
        let vcc = try makeVCC(testConfiguration(), FakeClock())
        let a = try await attach(vcc, id: 1)
        let b = try await attach(vcc, id: 2)
        guard case .success(.integer) = await vcc.read([VariableAccess(icc1("Breaker_1_Ctl_SBO"))], for: a).first else { Issue.record(); return }
        #expect(await vcc.read([VariableAccess(icc1("Breaker_1_Ctl_SBO"))], for: b) == [.failure(.temporarilyUnavailable)])
        await vcc.associationEnded(a)
        guard case .success(.integer) = await vcc.read([VariableAccess(icc1("Breaker_1_Ctl_SBO"))], for: b).first else {
            Issue.record("the selection outlived its association")
            return
        }
    }

    // 10. Association-scope lists belong to their session; per-partner caps answer resource errors.
    @Test func associationScopeIsPerSessionAndCapped() async throws {
        var c = testConfiguration()
        c.bilateralTables[0].maxDataSets = 2
        c.bilateralTables[0].maxDataSetMembers = 3
        let vcc = try makeVCC(c, FakeClock())
        let a = try await attach(vcc, id: 1)
        let b = try await attach(vcc, id: 2)
        let members = [VariableAccess(.vmdSpecific("Line1_MW"))]
        try await vcc.defineList(DefineNamedVariableListRequest(name: .aaSpecific("AA1"), variables: members), for: a)
        #expect(try await vcc.names(of: .namedVariableList, in: .aaSpecific, for: a) == ["AA1"])
        #expect(try await vcc.names(of: .namedVariableList, in: .aaSpecific, for: b) == [])
        await #expect(throws: ServiceError.self) { _ = try await vcc.read(list: .aaSpecific("AA1"), for: b) }
        // Caps: members per data set, then data sets per partner (ICC and association scope together).
        let four = Array(repeating: VariableAccess(.vmdSpecific("Line1_MW")), count: 4)
        await #expect(throws: ServiceError(.resource, 1, additionalDescription: "more than 3 members (the bilateral table's max_data_set_members)")) {
            try await vcc.defineList(DefineNamedVariableListRequest(name: icc1("DS4"), variables: four), for: a)
        }
        try await vcc.defineList(DefineNamedVariableListRequest(name: icc1("DS_A"), variables: members), for: a)
        do {
            try await vcc.defineList(DefineNamedVariableListRequest(name: icc1("DS_B"), variables: members), for: a)
            Issue.record("a third data set was accepted")
        } catch {
            #expect(error.errorClass == .resource)
        }
        // The association's end frees its lists (and its share of the cap).
        await vcc.associationEnded(a)
        #expect(try await vcc.names(of: .namedVariableList, in: .aaSpecific, for: b) == [])
        try await vcc.defineList(DefineNamedVariableListRequest(name: .aaSpecific("AA2"), variables: members), for: b)
    }

    // 11. VMD-scope transfer-set variables are data-set members (libtase2 accepts them).
    @Test func vmdScopeSpecialsAreAccepted() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock)
        let ctx = try await attach(vcc, id: 1)
        try await vcc.defineList(DefineNamedVariableListRequest(name: icc1("DS_V"), variables: [
            VariableAccess(.vmdSpecific("Transfer_Set_Name")), VariableAccess(.vmdSpecific("DSConditions_Detected")),
            VariableAccess(.vmdSpecific("Line1_MW")),
        ]), for: ctx)
        _ = await reserve(vcc, ctx)
        #expect(await enable(vcc, ctx) { d in
            d.dataSetName = icc1("DS_V")
            d.interval = 2
            d.conditions = [.intervalTimeOut]
        } == .success)
        let r = try informationReports(vcc.dueReports(at: clock.now() + 2))
        #expect(r.first?.results.first == .success(TASE2Names.objectNameData(icc1("DSTrans1"))))
    }

    // 12. Blocks, select time-out, minimum interval, AllChangesReported queue and LocalReference
    // come from the configuration.
    @Test func timersBlocksAndReferencesAreConfigured() async throws {
        var c = testConfiguration()
        c.vcc.blocks = [1, 2, 5]
        c.vcc.selectTimeout = 2
        c.vcc.minimumInterval = 5
        c.vcc.allChangesQueueSize = 2
        c.bilateralTables[0].messageLocalReferences = [9]
        let clock = FakeClock()
        let vcc = try makeVCC(c, clock)
        let ctx = try await attach(vcc, id: 1)
        #expect(await vcc.read([VariableAccess(.vmdSpecific("Supported_Features"))], for: ctx)
                == [.success(.bitString(ConformanceBlocks([1, 2, 5]).bitString))])
        // Without block 4 there is no information-message machinery.
        #expect(await vcc.read([VariableAccess(.vmdSpecific("Info_Mess_Header"))], for: ctx) == [.failure(.objectNonExistent)])
        // Select time-out 2 s.
        guard case .success(.integer) = await vcc.read([VariableAccess(icc1("Breaker_1_Ctl_SBO"))], for: ctx).first else { Issue.record(); return }
        clock.advance(2.5)
        #expect(await vcc.write([VariableAccess(icc1("Breaker_1_Ctl"))], values: [.integer(1)], for: ctx) == [.failure(.temporarilyUnavailable)])
        // Minimum interval 5 s.
        _ = await reserve(vcc, ctx)
        #expect(await enable(vcc, ctx) { d in
            d.dataSetName = icc1("DS_Server")
            d.interval = 2
            d.conditions = [.intervalTimeOut]
        } == .failure(.objectAttributeInconsistent))
        // AllChangesReported keeps 2 changes; the third drops the oldest and says so.
        #expect(await enable(vcc, ctx) { d in
            d.dataSetName = icc1("DS_Server")
            d.rbe = true
            d.allChangesReported = true
            d.conditions = [.objectChange]
        } == .success)
        let line = vcc.handle("Line1_MW", in: .vcc)!
        for v in [1, 2, 3] as [Float] { vcc.update(line, to: .real(v)) }
        var events = vcc.events.makeAsyncIterator()
        let r = try informationReports(vcc.dueReports(at: clock.now()))
        #expect(r.count == 1 && r[0].results.suffix(2) == [.success(PointType.realQ.data(.real(2))), .success(PointType.realQ.data(.real(3)))])
        #expect(await events.next() == .changesDropped(icc: "ICC1", transferSet: "DSTrans1", count: 1))

        // LocalReference: only 9 reaches BLT_A.
        var m = testConfiguration()
        m.bilateralTables[0].messageLocalReferences = [9]
        let mv = try makeVCC(m, clock)
        let mctx = try await attach(mv, id: 3)
        #expect(await mv.write([VariableAccess(.aaSpecific("IM_Transfer_Set"))], values: [.boolean(true)], for: mctx) == [.success])
        #expect(try mv.informationMessage(Array("x".utf8), infoReference: 1, localReference: 8, messageID: 1, scope: .vcc).isEmpty)
        #expect(try mv.informationMessage(Array("x".utf8), infoReference: 1, localReference: 9, messageID: 2, scope: .vcc).count == 1)
    }

    // 13. Schedules run on the monotonic clock: the wall clock stepping back an hour stops nothing.
    @Test func aWallClockStepDoesNotStopReports() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock)
        let ctx = try await attach(vcc, id: 1)
        _ = await reserve(vcc, ctx)
        #expect(await enable(vcc, ctx) { d in
            d.dataSetName = icc1("DS_Server")
            d.interval = 2
            d.conditions = [.intervalTimeOut]
        } == .success)
        clock.advance(2)
        #expect(vcc.dueReports(at: clock.now()).count == 1)
        clock.stepWall(-3600)
        for _ in 0..<3 {
            clock.advance(2)
            #expect(vcc.dueReports(at: clock.now()).count == 1)
        }
        // Reports are stamped with the wall clock as it is now.
        clock.advance(2)
        let r = try informationReports(vcc.dueReports(at: clock.now()))
        #expect(r.first?.results[1] == .success(.integer(Int64(clock.wallNow()))))
    }

    /// A partner's write runs the same change detection as the program's update: another
    /// association's RBE transfer set reports it.
    @Test func aPartnerWriteIsReportedByException() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(Self.manyPoints(2), clock)
        let watcher = try await attach(vcc, id: 1)
        let writer = try await attach(vcc, id: 2)
        _ = await reserve(vcc, watcher)
        #expect(await enable(vcc, watcher) { d in
            d.dataSetName = icc1("DS_Many")
            d.rbe = true
            d.conditions = [.objectChange]
        } == .success)
        #expect(await vcc.write([VariableAccess(icc1("P1"))], values: [PointType.realQ.data(.real(42))], for: writer) == [.success])
        let r = try informationReports(vcc.dueReports(at: clock.now()))
        guard case .listOfVariable(let items)? = r.first?.variableAccessSpecification else { Issue.record("no report"); return }
        #expect(items.last?.variable.name == icc1("P1"))
        #expect(r.first?.results.last == .success(PointType.realQ.data(.real(42))))
    }

    /// Open mode has DS transfer sets (open_mode_transfer_sets per ICC).
    @Test func openModeHasTransferSets() async throws {
        var c = testConfiguration()
        c.bilateralTables = []
        c.vcc.openMode = true
        c.vcc.openModeTransferSets = 2
        let clock = FakeClock()
        let vcc = try makeVCC(c, clock)
        let ctx = try await attach(vcc, id: 1, associationRequest(apTitle: nil, aeQualifier: nil))
        #expect(await reserve(vcc, ctx) == TASE2Names.objectNameData(icc1("DSTrans1")))
        #expect(await enable(vcc, ctx) { d in
            d.dataSetName = icc1("DS_Server")
            d.interval = 1
            d.conditions = [.intervalTimeOut]
        } == .success)
        #expect(vcc.dueReports(at: clock.now() + 1).count == 1)
        _ = await reserve(vcc, ctx)
        #expect(await vcc.read([VariableAccess(icc1("Next_DSTransfer_Set"))], for: ctx) == [.failure(.temporarilyUnavailable)])
    }

    /// A partner without an AP-title is known by its selectors or AE-qualifier; every field a
    /// table gives must match (libtase2's address matching).
    @Test func partnersAreMatchedByAnyAddressField() async throws {
        var c = testConfiguration()
        c.bilateralTables.append(BilateralTableConfig(id: "BLT_SEL", icc: "ICC3", partnerAPTitle: nil, transferSets: 1))
        c.bilateralTables[2].partnerPSEL = [0, 0, 0, 7]
        c.bilateralTables.append(BilateralTableConfig(id: "BLT_AE", icc: "ICC4", partnerAPTitle: nil, partnerAEQualifier: 4242, transferSets: 1))
        c.bilateralTables[3].localAPTitle = [1, 3, 9999, 4]
        c.bilateralTables[3].localAEQualifier = 77
        let vcc = try makeVCC(c, FakeClock())
        #expect(vcc.table(for: associationRequest(apTitle: nil, aeQualifier: nil, psel: [0, 0, 0, 7]))?.id == "BLT_SEL")
        #expect(vcc.table(for: associationRequest(apTitle: nil, aeQualifier: nil, psel: [0, 0, 0, 8])) == nil)
        #expect(vcc.table(for: associationRequest(apTitle: nil, aeQualifier: 4242))?.id == "BLT_AE")
        // BLT_A gives AP-title and AE-qualifier: both must match.
        #expect(vcc.table(for: associationRequest(apTitle: [1, 1, 1, 999], aeQualifier: 13)) == nil)
        #expect(vcc.table(for: associationRequest(apTitle: nil, aeQualifier: nil)) == nil)
        // Per-partner identity in the answer.
        guard case .acceptAs(let accepted) = await vcc.accept(associationRequest(apTitle: nil, aeQualifier: 4242)) else { Issue.record(); return }
        #expect(accepted.respondingAPTitle == [1, 3, 9999, 4] && accepted.respondingAEQualifier == 77)
        guard case .acceptAs(let plain) = await vcc.accept(associationRequest()) else { Issue.record(); return }
        #expect(plain.respondingAPTitle == nil)
    }
}
