import BER
import InteropFixture
import MMS
import MMSNIO
import NIOCore
import Synchronization
import Testing
import TestSupport
@testable import TASE2

/// A small VCC: two partners with their own ICCs, points of a few types in both scopes.
func testConfiguration(port: Int = 0) -> TASE2Configuration {
    var c = TASE2Configuration()
    c.vcc.host = "127.0.0.1"
    c.vcc.port = port
    c.bilateralTables = [
        BilateralTableConfig(id: "BLT_A", icc: "ICC1", partnerAPTitle: [1, 1, 1, 999], partnerAEQualifier: 12,
                             vccRead: ["Line1_MW", "Setpoint_Real"], vccWrite: ["Setpoint_Real"], transferSets: 3),
        BilateralTableConfig(id: "BLT_B", icc: "ICC2", partnerAPTitle: [1, 1, 1, 888], transferSets: 2),
    ]
    c.points = [
        PointConfig(name: "Line1_MW", type: .realQ, scope: .vcc, initial: .real(12.5, flags: DataFlags(validity: .suspect))),
        PointConfig(name: "Hidden_MW", type: .real, scope: .vcc, initial: .real(1)),
        PointConfig(name: "Setpoint_Real", type: .real, scope: .vcc, initial: .real(0), writable: true),
        PointConfig(name: "Breaker_1", type: .stateQTimeTag, scope: .icc("ICC1"), initial: .state(.on, time: 1_700_000_000)),
        PointConfig(name: "Bus1_kV", type: .realQTimeTagExtended, scope: .icc("ICC1"), initial: .real(1.5, time: 1_700_000_000, ms: 250)),
        PointConfig(name: "Tap_Pos", type: .discreteExtended, scope: .icc("ICC1"), initial: PointValue(discrete: 7, timeStamp: 1_700_000_000, cov: 3), writable: true),
        PointConfig(name: "Line9_MW", type: .realQ, scope: .icc("ICC2"), initial: .real(9)),
    ]
    c.devices = [
        DeviceConfig(name: "Breaker_1_Ctl", kind: .command, scope: .icc("ICC1"), sbo: true, taggable: true),
        DeviceConfig(name: "Gen_SP", kind: .setpointReal, scope: .icc("ICC1")),
        DeviceConfig(name: "VCC_Cmd", kind: .command, scope: .vcc),
    ]
    c.dataSets = [
        DataSetConfig(name: "DS_Server", scope: .icc("ICC1"), members: [
            .domainSpecific(domain: "ICC1", item: "Transfer_Set_Name"), .domainSpecific(domain: "ICC1", item: "Transfer_Set_Time_Stamp"),
            .domainSpecific(domain: "ICC1", item: "DSConditions_Detected"), .vmdSpecific("Line1_MW"),
            .domainSpecific(domain: "ICC1", item: "Breaker_1"),
        ]),
    ]
    return c
}

func icc1(_ n: String) -> ObjectName { .domainSpecific(domain: "ICC1", item: n) }

/// Associates (id 11), reserves DSTrans1 and enables it on DS_Server with `configure` applied.
func enableDSTrans1(_ vcc: VirtualControlCentre, _ clock: FakeClock, id: UInt64 = 11,
                    _ configure: (inout DSTransferSet) -> Void) async throws -> (AssociationContext, Double) {
    let ctx = try await attach(vcc, id: id)
    _ = await vcc.read([VariableAccess(icc1("Next_DSTransfer_Set"))], for: ctx)
    var d = DSTransferSet()
    d.dataSetName = icc1("DS_Server")
    configure(&d)
    d.status = true
    #expect(await vcc.write([VariableAccess(icc1("DSTrans1"))], values: [d.data(.v2000)], for: ctx) == [.success])
    return (ctx, clock.now())
}

/// Both clocks of a VCC, under the test's control (they start equal; `stepWall` moves the wall clock alone).
final class FakeClock: Sendable {
    let t = Mutex<(mono: Double, wall: Double)>((1_800_000_000, 1_800_000_000))
    func now() -> Double { t.withLock { $0.mono } }
    func wallNow() -> Double { t.withLock { $0.wall } }
    func advance(_ s: Double) {
        t.withLock {
            $0.mono += s
            $0.wall += s
        }
    }
    func stepWall(_ s: Double) { t.withLock { $0.wall += s } }
    var clock: TASE2Clock { TASE2Clock(monotonic: { self.now() }, wall: { self.wallNow() }) }
}

/// A VCC on a fake clock.
func makeVCC(_ c: TASE2Configuration = testConfiguration(), _ clock: FakeClock, handler: any DeviceHandler = AcceptingDeviceHandler()) throws
    -> VirtualControlCentre
{
    try VirtualControlCentre(configuration: c, clock: clock.clock, deviceHandler: handler)
}

/// An association request from a partner (BLT_A's 1.1.1.999/12 by default).
func associationRequest(apTitle: OID? = [1, 1, 1, 999], aeQualifier: Int64? = 12, psel: [UInt8]? = nil, pduSize: Int32 = 65_000) -> AssociationRequest {
    var initiate = InitiateParameters.request(MMSLimits())
    initiate.localDetail = pduSize
    return AssociationRequest(callingAPTitle: apTitle, callingAEQualifier: aeQualifier, callingPSEL: psel, applicationContext: [1, 0, 9506, 2, 3],
                              initiate: initiate)
}

/// Drives a VCC without a network: accepts `request` as the MMS layer would and returns the
/// association's context (with its session).
func attach(_ vcc: VirtualControlCentre, id: UInt64, _ request: AssociationRequest = associationRequest()) async throws -> AssociationContext {
    guard case .acceptAs(let accepted) = await vcc.accept(request) else { throw PeerError("refused") }
    let parameters = NegotiatedParameters(maxPDUSize: Int(request.initiate.localDetail ?? 65_000), maxServOutstandingCalling: 5,
                                          maxServOutstandingCalled: 5, versionNumber: 1, parameterCBB: BitString(count: 11),
                                          peerServices: BitString(count: 85), maxTPDUSize: 8192)
    let ctx = AssociationContext(id: id, info: AssociationInfo(isCalled: true, peerAPTitle: request.callingAPTitle, applicationContext: [1, 0, 9506, 2, 3],
                                                               parameters: parameters, request: request), session: accepted.session)
    await vcc.associationEstablished(ctx)
    return ctx
}

/// An association context the VCC never accepted.
func strangerAssociation(id: UInt64) -> AssociationContext {
    let parameters = NegotiatedParameters(maxPDUSize: 65_000, maxServOutstandingCalling: 5, maxServOutstandingCalled: 5, versionNumber: 1,
                                          parameterCBB: BitString(count: 11), peerServices: BitString(count: 85), maxTPDUSize: 8192)
    return AssociationContext(id: id, info: AssociationInfo(isCalled: true, peerAPTitle: [1, 1, 1, 999], applicationContext: [1, 0, 9506, 2, 3],
                                                            parameters: parameters, request: associationRequest()))
}

/// Decodes DueReports as informationReports.
func informationReports(_ due: [DueReport]) throws -> [InformationReport] {
    try due.map {
        guard case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode($0.pdu) else { throw PeerError("not a report") }
        return r
    }
}

/// Runs a TASE2Server on a loopback port for `body`.
func withTASE2Server<T>(_ configuration: TASE2Configuration = testConfiguration(),
                        pipelinePrelude: (@Sendable (any Channel) throws -> Void)? = nil, timeouts: MMSTimeouts = MMSTimeouts(),
                        _ body: (TASE2Server, Int) async throws -> T) async throws -> T {
    var logger = Logger(label: "test.tase2")
    logger.logLevel = .warning
    let server = try TASE2Server(configuration: configuration, logger: logger, pipelinePrelude: pipelinePrelude, timeouts: timeouts)
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

func connect(_ port: Int, apTitle: OID = [1, 1, 1, 999], aeQualifier: Int64 = 12) async throws -> MMSAssociation {
    var c = MMSClient.Configuration(host: "127.0.0.1", port: port)
    c.local.apTitle = apTitle
    c.local.aeQualifier = aeQualifier
    return try await MMSClient.connect(c)
}

import Logging

@Suite("Point types on the wire (spec §3.4, §4)", .timeLimit(.minutes(1)))
struct PointTypeTests {
    /// The layout table is indexed by `ordinal`, a switch written out by hand: it must follow `allCases`.
    @Test func ordinalsFollowAllCases() {
        #expect(PointType.allCases.enumerated().allSatisfy { $0.offset == $0.element.ordinal })
        #expect(PointType.allCases.allSatisfy { $0.maxEncodedSize >= 2 && $0.maxEncodedSize <= PointType.maxEncodedSizeOfAnyType })
    }

    /// Every field at both ends of its range: the unchecked encoder writes what the tree does.
    @Test func extremeValuesEncodeTheSameStraightFromStorage() {
        let ends: [PointValue] = [
            PointValue(real: -.greatestFiniteMagnitude, discrete: .min, state: 0xFF, flags: DataFlags(rawValue: 0xFF), timeStamp: .min,
                       milliseconds: .min, cov: .max, eventFlags: 0xFF, packedEvent: 0xFF, operatingTime: .min),
            PointValue(real: .infinity, discrete: .max, timeStamp: .max, milliseconds: .max, cov: 0, operatingTime: .max),
            PointValue(discrete: 127, timeStamp: 128, milliseconds: -128, cov: 127, operatingTime: -129),
            PointValue(discrete: -1, timeStamp: 0, milliseconds: 255, cov: 128, operatingTime: 256),
        ]
        for v in ends {
            for t in PointType.allCases {
                for shape in [StateQShape.bitString, .valueAndFlags] {
                    var w = BERWriter(capacity: 16)
                    w.prepend(0xEE)  // what was written before stays behind the point
                    t.prepend(v, stateQ: shape, to: &w)
                    #expect(w.toArray() == t.data(v, stateQ: shape).encoded() + [0xEE], "\(t) \(shape) \(v)")
                }
            }
        }
    }

    @Test func everyTypeEncodesTheSameStraightFromStorage() throws {
        let v = PointValue(real: 1.5, discrete: -7, state: 0x80, flags: DataFlags(validity: .held, source: .entered), timeStamp: 1_700_000_000,
                           milliseconds: 250, cov: 300, eventFlags: 0x11, packedEvent: 0x42, operatingTime: 12)
        for t in PointType.allCases {
            for shape in [StateQShape.bitString, .valueAndFlags] {
                let data = t.data(v, stateQ: shape)
                #expect(t.typeSpecification(stateQ: shape).accepts(data), "\(t)")
                var w = BERWriter()
                t.prepend(v, stateQ: shape, to: &w)
                #expect(w.toArray() == data.encoded(), "\(t) \(shape)")
                // A write of the whole value comes back to the same value.
                let back = try #require(t.value(from: data, stateQ: shape))
                #expect(t.data(back, stateQ: shape) == data, "\(t)")
            }
        }
    }

    @Test func specExamples() throws {
        // Data_RealQ 12.5, SUSPECT; Data_StateQTimeTag ON at 1700000000.
        #expect(hex(PointType.realQ.data(.real(12.5, flags: DataFlags(validity: .suspect))).encoded()) == "a20b8705084148000084020020")
        #expect(hex(PointType.stateQTimeTag.data(.state(.on, time: 1_700_000_000)).encoded()) == "a20a85046553f10084020080")
        #expect(hex(PointType.realQTimeTagExtended.data(.real(1.5, time: 1_700_000_000, ms: 250)).encoded())
                == "a2178705083fc00000a20a85046553f100850200fa84020000")
        #expect(hex(PointType.realExtended.data(PointValue(real: 1.5, timeStamp: 1_700_000_000, cov: 7)).encoded())
                == "a2148705083fc0000085046553f10084020000860107")
        #expect(try VirtualControlCentre(configuration: testConfiguration()).blocks.bitString == BitString(bytes: [0xD8, 0x00], count: 12))
        #expect(hex(ConformanceBlocks([1, 2, 4, 5]).bitString.bytes) == "d800")
    }
}

@Suite("A VCC over MMS, with our client", .timeLimit(.minutes(1)))
struct VCCServerTests {
    @Test func associationCheckDiscoveryAndAccess() async throws {
        try await withTASE2Server { server, port in
            let a = try await connect(port)
            // The association check in one Read (as SISCO does): BLT ID, version, features.
            let check = try await a.read([VariableAccess(icc1("Bilateral_Table_ID")), VariableAccess(.vmdSpecific("TASE2_Version")),
                                          VariableAccess(.vmdSpecific("Supported_Features"))])
            #expect(check == [.success(.visibleString("BLT_A")), .success(.structure([.integer(2000), .integer(8)])),
                              .success(.bitString(server.vcc.blocks.bitString))])
            #expect(try await a.getNameList(.domain, scope: .vmdSpecific) == ["ICC1"])
            // VCC objects not granted to BLT_A are neither listed nor readable.
            #expect(try await a.getNameList(.namedVariable, scope: .vmdSpecific) == [
                "Info_Buff_1024", "Info_Buff_256", "Info_Buff_4096", "Info_Buff_64", "Info_Mess_Header", "Line1_MW", "Setpoint_Real",
                "Supported_Features", "TASE2_Version",
            ])  // VCC_Cmd is not granted to BLT_A
            await #expect(throws: DataAccessError.objectAccessDenied) { try await a.read(.vmdSpecific("Hidden_MW")) }
            let iccNames = try await a.getNameList(.namedVariable, scope: .domainSpecific("ICC1"))
            #expect(iccNames.contains("Next_DSTransfer_Set") && iccNames.contains("DSTrans1") && iccNames.contains("Breaker_1"))
            // Reads of points, bytes as spec §4.
            #expect(try await a.read(.vmdSpecific("Line1_MW")).encoded() == (try hexBytes("a20b8705084148000084020020")))
            #expect(try await a.read(icc1("Breaker_1")).encoded() == (try hexBytes("a20a85046553f10084020080")))
            // Another ICC is off limits; special variables are report-only.
            await #expect(throws: DataAccessError.objectAccessDenied) { try await a.read(.domainSpecific(domain: "ICC2", item: "Line9_MW")) }
            await #expect(throws: MMSAssociationError.self) { _ = try await a.getNameList(.namedVariable, scope: .domainSpecific("ICC2")) }
            await #expect(throws: DataAccessError.objectAccessDenied) { try await a.read(icc1("Transfer_Set_Name")) }
            await #expect(throws: DataAccessError.objectNonExistent) { try await a.read(icc1("No_Such_Point")) }
            // Writes: granted and writable yes; read-only no; wrong type no.
            try await a.write(.vmdSpecific("Setpoint_Real"), .float(42))
            #expect(server.value(of: server.handle("Setpoint_Real", in: .vcc)!).real == 42)
            await #expect(throws: DataAccessError.objectAccessDenied) { try await a.write(.vmdSpecific("Line1_MW"), .float(1)) }
            await #expect(throws: DataAccessError.typeInconsistent) { try await a.write(.vmdSpecific("Setpoint_Real"), .visibleString("x")) }
            // The application's updates are visible at once.
            server.update([(server.handle("Line1_MW", in: .vcc)!, .real(99))])
            #expect(try await a.read(.vmdSpecific("Line1_MW")) == .structure([.float(99), .bitString(BitString(count: 8))]))
            try await a.conclude()
        }
    }

    @Test func unknownPartnersAreRefusedAndTablesAreSeparate() async throws {
        try await withTASE2Server { _, port in
            await #expect(throws: MMSAssociationError.self) { _ = try await connect(port, apTitle: [1, 2, 3, 4]) }
            await #expect(throws: MMSAssociationError.self) { _ = try await connect(port, aeQualifier: 13) }
            let b = try await connect(port, apTitle: [1, 1, 1, 888], aeQualifier: 77)
            #expect(try await b.read(.domainSpecific(domain: "ICC2", item: "Bilateral_Table_ID")) == .visibleString("BLT_B"))
            await #expect(throws: DataAccessError.objectAccessDenied) { try await b.read(icc1("Breaker_1")) }
            await #expect(throws: MMSAssociationError.self) {
                try await b.defineList(icc1("X"), members: [VariableAccess(.domainSpecific(domain: "ICC2", item: "Line9_MW"))])
            }
            try await b.conclude()
        }
    }

    @Test func dataSetsAndTransferSets() async throws {
        try await withTASE2Server { server, port in
            let a = try await connect(port)
            // Client-defined data set in its ICC.
            let ds = icc1("DS_Client")
            let members = [icc1("Transfer_Set_Name"), icc1("Transfer_Set_Time_Stamp"), icc1("DSConditions_Detected"),
                           .vmdSpecific("Line1_MW"), icc1("Breaker_1")]
            try await a.defineList(ds, members: members.map { VariableAccess($0) })
            let read = try await a.read(list: ds)
            #expect(read.prefix(3).allSatisfy { $0 == .failure(.objectAccessDenied) })
            #expect(read[3] == .success(PointType.realQ.data(.real(12.5, flags: DataFlags(validity: .suspect)))))
            await #expect(throws: MMSAssociationError.serviceError(.definitionObjectUndefined)) {
                try await a.defineList(icc1("DS_Bad"), members: [VariableAccess(icc1("Nope"))])
            }
            await #expect(throws: MMSAssociationError.serviceError(.accessObjectAccessDenied)) {
                try await a.defineList(.vmdSpecific("DS_Vmd"), members: [VariableAccess(.vmdSpecific("Line1_MW"))])
            }
            // Next_DSTransfer_Set: every read takes another transfer set (libtase2, SISCO, the ABB hub).
            let ts1 = try await a.read(icc1("Next_DSTransfer_Set"))
            let ts2 = try await a.read(icc1("Next_DSTransfer_Set"))
            #expect(ts1 == .structure([.unsigned(1), .visibleString("ICC1"), .visibleString("DSTrans1")]))
            #expect(ts2 == .structure([.unsigned(1), .visibleString("ICC1"), .visibleString("DSTrans2")]))
            var dsts = DSTransferSet()
            dsts.dataSetName = ds
            dsts.interval = 1
            dsts.integrityCheck = 3
            dsts.conditions = [.intervalTimeOut, .integrityTimeOut]
            dsts.status = true
            try await a.write(icc1("DSTrans1"), dsts.data(.v2000))
            #expect(try await a.read(icc1("DSTrans1")) == dsts.data(.v2000))
            // Not deletable while an enabled transfer set uses it.
            #expect(try await a.deleteLists([ds]) == DeleteNamedVariableListResponse(numberMatched: 1, numberDeleted: 0))
            // Reports: two interval reports and one integrity report within 3.5 s.
            var interval = 0, integrity = 0
            let deadline = currentTime() + 6
            for await r in a.informationReports {
                #expect(r.variableAccessSpecification == .variableListName(ds))
                #expect(r.results.count == 5)
                #expect(r.results[0] == .success(.structure([.unsigned(1), .visibleString("ICC1"), .visibleString("DSTrans1")])))
                guard case .success(.integer(let t)) = r.results[1] else { Issue.record("no time stamp"); break }
                #expect(abs(Double(t) - currentTime()) < 3)
                guard case .success(.bitString(let cause)) = r.results[2] else { Issue.record("no conditions"); break }
                if cause[bit: 0] { interval += 1 }
                if cause[bit: 1] { integrity += 1 }
                #expect(r.results[4] == .success(PointType.stateQTimeTag.data(.state(.on, time: 1_700_000_000))))
                if (interval >= 2 && integrity >= 1) || currentTime() > deadline { break }
            }
            #expect(interval >= 2 && integrity >= 1)
            // Disable by a component write of Status; then the data set can go.
            try await a.write(icc1("DSTrans1"), .boolean(false), alternateAccess: .component("Status"))
            #expect(server.vcc.enabledTransferSets.isEmpty)
            #expect(try await a.deleteLists([ds]).numberDeleted == 1)
            try await a.conclude()
        }
    }

    @Test func transferSetRules() async throws {
        try await withTASE2Server { server, port in
            let a = try await connect(port)
            let b = try await connect(port)
            // Writing a transfer set that is not reserved by this association is refused.
            var dsts = DSTransferSet()
            dsts.dataSetName = icc1("DS_Server")
            dsts.interval = 5
            dsts.conditions = [.intervalTimeOut]
            dsts.status = true
            await #expect(throws: DataAccessError.objectAccessDenied) { try await a.write(icc1("DSTrans1"), dsts.data(.v2000)) }
            #expect(try await a.read(icc1("Next_DSTransfer_Set")) == TASE2Names.objectNameData(icc1("DSTrans1")))
            #expect(try await b.read(icc1("Next_DSTransfer_Set")) == TASE2Names.objectNameData(icc1("DSTrans2")))
            // 12 members is the 1996 shape: refused by a 2000.08 VCC.
            await #expect(throws: DataAccessError.objectAttributeInconsistent) {
                try await a.write(icc1("DSTrans1"), dsts.data(.v1996))
            }
            // Unknown data set, block data: refused on enable.
            var bad = dsts
            bad.dataSetName = icc1("Nope")
            await #expect(throws: DataAccessError.objectAttributeInconsistent) { try await a.write(icc1("DSTrans1"), bad.data(.v2000)) }
            bad = dsts
            bad.blockData = true
            await #expect(throws: DataAccessError.objectAttributeInconsistent) { try await a.write(icc1("DSTrans1"), bad.data(.v2000)) }
            // Component by component, Status last.
            try await a.write(icc1("DSTrans1"), TASE2Names.objectNameData(icc1("DS_Server")), alternateAccess: .component("DataSetName"))
            try await a.write(icc1("DSTrans1"), .integer(5), alternateAccess: .component("Interval"))
            try await a.write(icc1("DSTrans1"), .bitString(DSConditions.intervalTimeOut.bitString), alternateAccess: .component("DSConditionsRequested"))
            try await a.write(icc1("DSTrans1"), .boolean(true), alternateAccess: .component("Status"))
            #expect(server.vcc.enabledTransferSets.map(\.name) == ["DSTrans1"])
            // Changing an attribute while enabled is refused.
            await #expect(throws: DataAccessError.objectAttributeInconsistent) {
                try await a.write(icc1("DSTrans1"), .integer(9), alternateAccess: .component("Interval"))
            }
            // The third reservation exhausts the pool of 3; a fourth is temporarily unavailable.
            let c = try await connect(port)
            _ = try await c.read(icc1("Next_DSTransfer_Set"))
            let d = try await connect(port)
            await #expect(throws: DataAccessError.temporarilyUnavailable) { try await d.read(icc1("Next_DSTransfer_Set")) }
            // Transfer sets stop when their association ends, and reservations are freed.
            let aSession = try #require(server.vcc.partnerSessions.min { $0.id < $1.id })
            await a.abort()
            await aSession.waitUntilEnded()
            #expect(server.vcc.enabledTransferSets.isEmpty)
            #expect(try await d.read(icc1("Next_DSTransfer_Set")) == TASE2Names.objectNameData(icc1("DSTrans1")))
            for x in [b, c, d] { try await x.conclude() }
        }
    }
}

@Suite("Transfer-set timing on an injectable clock", .timeLimit(.minutes(1)))
struct TransferSetTimingTests {
    @Test func intervalAndIntegritySchedule() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock)
        let (ctx, _) = try await enableDSTrans1(vcc, clock, id: 7) { dsts in
            dsts.interval = 2
            dsts.integrityCheck = 5
            dsts.conditions = [.intervalTimeOut, .integrityTimeOut]
            dsts.startTime = Int32(clock.now()) + 10
        }
        // Nothing before StartTime + Interval.
        #expect(vcc.dueReports(at: clock.now() + 11.9).isEmpty)
        #expect(vcc.nextDueTime() == clock.now() + 12)
        var kinds: [String] = []
        for step in stride(from: 12.0, through: 20.0, by: 1.0) {
            for due in vcc.dueReports(at: clock.now() + step) {
                let (a, pdu) = (due.association, due.pdu)
                #expect(a == 7)
                guard case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode(pdu), case .success(.bitString(let c)) = r.results[2] else {
                    Issue.record("not a report")
                    continue
                }
                kinds.append("\(Int(step)):\(c[bit: 0] ? "interval" : "integrity")")
                if case .success(.integer(let t)) = r.results[1] { #expect(Double(t) == clock.wallNow().rounded(.down)) }
            }
        }
        // At 20 both fall due: the integrity report goes alone (SISCO).
        #expect(kinds == ["12:interval", "14:interval", "15:integrity", "16:interval", "18:interval", "20:integrity"])
        // The association ends: the transfer set stops.
        await vcc.associationEnded(ctx)
        #expect(vcc.dueReports(at: clock.now() + 100).isEmpty)
    }
}

@Suite("Reads straight from storage", .timeLimit(.minutes(1)))
struct StorageReadTests {
    /// A data set read again is answered from its resolved plan, 64 points per reservation: the
    /// values must be those of the typed encoder, for every type, across reservations and across
    /// an update between reads, and the answer must fit the buffer sized from the last one.
    @Test func aDataSetReadAgainGivesTheTypedEncodersValues() async throws {
        var c = testConfiguration()
        c.vcc.edition = .v2000
        let types = PointType.allCases
        for i in 0..<300 {
            c.points.append(PointConfig(name: "M\(i)", type: types[i % types.count], scope: .icc("ICC1"),
                                        initial: PointValue(real: Float(i) + 0.25, discrete: Int32(i * 1000 - 150_000), state: 0x80,
                                                            timeStamp: 1_700_000_000 + Int32(i), milliseconds: Int16(i % 1000), cov: UInt16(i))))
        }
        c.dataSets.append(DataSetConfig(name: "DS_Mixed", scope: .icc("ICC1"), members: (0..<300).map { icc1("M\($0)") }))
        try await withTASE2Server(c) { server, port in
            let a = try await connect(port)
            func expected() -> [AccessResult] {
                (0..<300).map { i in
                    let h = server.handle("M\(i)", in: .icc("ICC1"))!
                    return .success(types[i % types.count].data(server.vcc.value(of: h)))
                }
            }
            let first = try await a.read(list: icc1("DS_Mixed"))
            #expect(first == expected())
            let second = try await a.read(list: icc1("DS_Mixed"))
            #expect(second == first)
            server.update((0..<300).map { (server.handle("M\($0)", in: .icc("ICC1"))!, PointValue(real: -1e30, discrete: .min, state: 0x40, flags: DataFlags(rawValue: 0xFC), timeStamp: .max, milliseconds: 999, cov: .max, eventFlags: 0xFF, packedEvent: 0x55, operatingTime: .min)) })
            let third = try await a.read(list: icc1("DS_Mixed"))
            #expect(third == expected())
            #expect(third != first)
            try await a.conclude()
        }
    }


    /// A read plan is used without looking the list up only while no list was defined or
    /// deleted; after that the list is looked up, and a list redefined under the same name (in
    /// any scope) is answered with its new members, a deleted one with an error.
    @Test func aListRedefinedUnderTheSameNameIsReadWithItsNewMembers() async throws {
        var c = testConfiguration()
        for i in 0..<4 { c.points.append(PointConfig(name: "Q\(i)", type: .real, scope: .icc("ICC1"), initial: .real(Float(i) + 0.5))) }
        try await withTASE2Server(c) { server, port in
            let a = try await connect(port)
            let b = try await connect(port, apTitle: [1, 1, 1, 888])
            let line9 = VariableAccess(.domainSpecific(domain: "ICC2", item: "Line9_MW"))
            let q = (0..<4).map { icc1("Q\($0)") }
            func values(_ names: [Int]) -> [AccessResult] { names.map { .success(.float(Float($0) + 0.5)) } }
            for name in [icc1("DS_P"), .aaSpecific("AA_P")] {
                try await a.defineList(name, members: [VariableAccess(q[0]), VariableAccess(q[1])])
                for _ in 0..<2 { #expect(try await a.read(list: name) == values([0, 1])) }
                // Someone else's define moves the generation: looked up again, still the same list.
                try await b.defineList(.aaSpecific("AA_\(name.itemName)"), members: [line9])
                try await b.defineList(.domainSpecific(domain: "ICC2", item: "DS_B_\(name.itemName)"), members: [line9])
                for _ in 0..<2 { #expect(try await a.read(list: name) == values([0, 1])) }
                // Redefined with other members.
                _ = try await a.deleteLists([name])
                try await a.defineList(name, members: [VariableAccess(q[2]), VariableAccess(q[3]), VariableAccess(q[0])])
                for _ in 0..<2 { #expect(try await a.read(list: name) == values([2, 3, 0])) }
                // Deleted: an error, not the last plan.
                _ = try await a.deleteLists([name])
                await #expect(throws: MMSAssociationError.serviceError(.accessObjectNonExistent)) { _ = try await a.read(list: name) }
            }
            try await a.conclude()
            try await b.conclude()
        }
    }
}

@Suite("Edition and PDU-size rules", .timeLimit(.minutes(1)))
struct EditionTests {
    @Test func edition1996TransferSetsHaveTwelveMembersAndOversizeReportsAreRefused() async throws {
        var c = testConfiguration()
        c.vcc.edition = .v1996
        c.points = c.points.filter { !$0.type.requires2000Edition }
        c.dataSets = []
        // Enough points that a full report of all of them cannot fit a 2,000-octet PDU.
        for i in 0..<200 { c.points.append(PointConfig(name: "P\(i)", type: .realQTimeTag, scope: .icc("ICC1"), initial: .real(Float(i)))) }
        c.dataSets = [DataSetConfig(name: "DS_Big", scope: .icc("ICC1"), members: (0..<200).map { icc1("P\($0)") }),
                      DataSetConfig(name: "DS_Small", scope: .icc("ICC1"), members: [icc1("P1")])]
        c.vcc.maxPDUSize = 2000
        try await withTASE2Server(c) { server, port in
            let a = try await connect(port)
            #expect(try await a.read(.vmdSpecific("TASE2_Version")) == .structure([.integer(1996), .integer(8)]))
            _ = try await a.read(icc1("Next_DSTransfer_Set"))
            var dsts = DSTransferSet()
            dsts.dataSetName = icc1("DS_Big")
            dsts.interval = 1
            dsts.conditions = [.intervalTimeOut]
            dsts.status = true
            // 13 members is the 2000.08 shape: refused by a 1996.08 VCC.
            await #expect(throws: DataAccessError.objectAttributeInconsistent) { try await a.write(icc1("DSTrans1"), dsts.data(.v2000)) }
            // The full report would exceed the negotiated PDU size: refused at enable, never sent oversize.
            await #expect(throws: DataAccessError.objectAttributeInconsistent) { try await a.write(icc1("DSTrans1"), dsts.data(.v1996)) }
            // A read of the whole big data set would not fit either: a pdu-size error, not an oversize PDU.
            do {
                _ = try await a.read(list: icc1("DS_Big"))
                Issue.record("oversize read answered")
            } catch MMSAssociationError.serviceError(let e) {
                #expect(e.errorClass == .service && e.code == 3)
            }
            // Reads straight from storage give the same values as the typed encoder.
            #expect(try await a.read(list: icc1("DS_Small")) == [.success(PointType.realQTimeTag.data(.real(1)))])
            dsts.dataSetName = icc1("DS_Small")
            try await a.write(icc1("DSTrans1"), dsts.data(.v1996))
            var it = a.informationReports.makeAsyncIterator()
            let r = await it.next()
            #expect(r?.results == [.success(PointType.realQTimeTag.data(.real(1)))])
            #expect(server.vcc.enabledTransferSets.count == 1)
            try await a.conclude()
        }
    }
}

@Suite("Open mode", .timeLimit(.minutes(1)))
struct OpenModeTests {
    @Test func anyPartnerSeesEveryICC() async throws {
        var c = TASE2Configuration()
        c.vcc.host = "127.0.0.1"
        c.vcc.port = 0
        c.vcc.openMode = true
        c.points = [PointConfig(name: "A", type: .real, scope: .icc("ICC_A"), initial: .real(1)),
                    PointConfig(name: "B", type: .real, scope: .vcc, initial: .real(2))]
        try await withTASE2Server(c) { _, port in
            let a = try await connect(port, apTitle: [1, 2, 3, 4, 5], aeQualifier: 99)
            #expect(try await a.getNameList(.domain, scope: .vmdSpecific) == ["ICC_A"])
            #expect(try await a.read(.domainSpecific(domain: "ICC_A", item: "A")) == .float(1))
            #expect(try await a.read(.vmdSpecific("B")) == .float(2))
            try await a.conclude()
        }
    }

    @Test func noTablesWithoutOpenModeIsAConfigurationError() {
        var c = TASE2Configuration()
        c.points = [PointConfig(name: "B", type: .real, scope: .vcc)]
        #expect(throws: ConfigurationError.self) { try c.validate() }
    }
}

@Suite("Report by exception on an injectable clock", .timeLimit(.minutes(1)))
struct ReportByExceptionTests {
    func setUp(rbe: Bool) async throws -> (VirtualControlCentre, FakeClock, AssociationContext) {
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock)
        let (ctx, _) = try await enableDSTrans1(vcc, clock, id: 9) { dsts in
            dsts.integrityCheck = 10
            dsts.bufferTime = 2
            dsts.rbe = rbe
            dsts.conditions = [.objectChange, .integrityTimeOut]
        }
        return (vcc, clock, ctx)
    }

    func reports(_ vcc: VirtualControlCentre, at t: Double) throws -> [InformationReport] {
        try vcc.dueReports(at: t).map {
            guard case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode($0.pdu) else { throw PeerError("not a report") }
            return r
        }
    }

    @Test func changesAreBufferedMergedAndNamed() async throws {
        let (vcc, clock, _) = try await setUp(rbe: true)
        let t0 = clock.now()
        let line = vcc.handle("Line1_MW", in: .vcc)!
        let breaker = vcc.handle("Breaker_1", in: .icc("ICC1"))!
        clock.advance(1)
        vcc.update([(line, .real(13))])
        #expect(try reports(vcc, at: t0 + 2.9).isEmpty)  // BufferTime 2 s from the first change
        let r = try reports(vcc, at: t0 + 3)
        #expect(r.count == 1)
        // The transfer-set variables first, in libtase2's order (name, conditions, time stamp), then the change.
        let names = [icc1("Transfer_Set_Name"), icc1("DSConditions_Detected"), icc1("Transfer_Set_Time_Stamp"), ObjectName.vmdSpecific("Line1_MW")]
        #expect(r.first?.variableAccessSpecification == .listOfVariable(names.map { VariableAccess($0) }))
        #expect(r.first?.results[1] == .success(.bitString(DSConditions.objectChange.bitString)))
        #expect(r.first?.results[3] == .success(PointType.realQ.data(.real(13))))
        // The same value again is no change; two changes within BufferTime make one report.
        vcc.update([(line, .real(13))])
        #expect(try reports(vcc, at: t0 + 6).isEmpty)
        clock.advance(4)  // t0 + 5
        vcc.update([(breaker, .state(.off, time: 1_800_000_005))])
        clock.advance(1)
        vcc.update([(line, .real(14))])
        let merged = try reports(vcc, at: t0 + 7)
        #expect(merged.count == 1)
        guard case .listOfVariable(let items)? = merged.first?.variableAccessSpecification else { Issue.record("not RBE"); return }
        #expect(items.suffix(2).map(\.variable.name) == [.vmdSpecific("Line1_MW"), icc1("Breaker_1")])  // data-set order
        // The integrity report is full (by the data set's name).
        let integrity = try reports(vcc, at: t0 + 10)
        #expect(integrity.count == 1 && integrity.first?.variableAccessSpecification == .variableListName(icc1("DS_Server")))
    }

    @Test func withoutRBEAChangeSendsTheWholeDataSet() async throws {
        let (vcc, clock, ctx) = try await setUp(rbe: false)
        let t0 = clock.now()
        vcc.update([(vcc.handle("Breaker_1", in: .icc("ICC1"))!, .state(.off))])
        let r = try reports(vcc, at: t0 + 2)
        #expect(r.count == 1 && r.first?.variableAccessSpecification == .variableListName(icc1("DS_Server")) && r.first?.results.count == 5)
        // Disabled or ended: changes no longer reported.
        await vcc.associationEnded(ctx)
        vcc.update([(vcc.handle("Breaker_1", in: .icc("ICC1"))!, .state(.on))])
        #expect(try reports(vcc, at: t0 + 100).isEmpty)
    }
}

@Suite("Critical transfers and AllChangesReported", .timeLimit(.minutes(1)))
struct CriticalTransferTests {
    @Test func acknowledgementsClearOutstandingReportsAndTimeOutsAreReported() async throws {
        let clock = FakeClock()
        var c = testConfiguration()
        c.vcc.criticalReportTimeout = 5
        let vcc = try makeVCC(c, clock)
        let (ctx, t0) = try await enableDSTrans1(vcc, clock) { d in
            d.interval = 1
            d.conditions = [.intervalTimeOut]
            d.critical = true
        }
        clock.advance(1)
        #expect(vcc.dueReports(at: clock.now()).first?.critical == true)
        clock.advance(1)
        _ = vcc.dueReports(at: clock.now())
        #expect(vcc.outstandingCriticalReports(icc: "ICC1", transferSet: "DSTrans1") == 2)
        // The partner acknowledges the first report (by its time stamp).
        let tsName = TASE2Names.objectNameData(icc1("DSTrans1"))
        await vcc.received(InformationReport(.listOfVariable([VariableAccess(icc1("Transfer_Report_ACK")), VariableAccess(icc1("Transfer_Set_Time_Stamp"))]),
                                             results: [.success(tsName), .success(.integer(Int64(t0) + 1))]), for: ctx)
        #expect(vcc.outstandingCriticalReports(icc: "ICC1", transferSet: "DSTrans1") == 1)
        var events = vcc.events.makeAsyncIterator()
        #expect(await events.next() == .criticalReportAcknowledged(icc: "ICC1", transferSet: "DSTrans1"))
        // The second is never acknowledged: after the time-out the application hears of it.
        clock.advance(5.5)
        _ = vcc.dueReports(at: clock.now())
        #expect(await events.next() == .criticalReportNotAcknowledged(icc: "ICC1", transferSet: "DSTrans1", timeStamp: Int32(t0) + 2))
        // An ACK without a time stamp clears all; a NACK is reported.
        await vcc.received(InformationReport(.listOfVariable([VariableAccess(icc1("Transfer_Report_ACK"))]), results: [.success(tsName)]), for: ctx)
        #expect(vcc.outstandingCriticalReports(icc: "ICC1", transferSet: "DSTrans1") == 0)
        #expect(await events.next() == .criticalReportAcknowledged(icc: "ICC1", transferSet: "DSTrans1"))
        await vcc.received(InformationReport(.listOfVariable([VariableAccess(icc1("Transfer_Report_NACK"))]), results: [.success(tsName)]), for: ctx)
        #expect(await events.next() == .negativeAcknowledgement(icc: "ICC1", transferSet: "DSTrans1"))
    }

    @Test func allChangesReportedSendsEveryIntermediateValue() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock)
        let (_, t0) = try await enableDSTrans1(vcc, clock) { d in
            d.conditions = [.objectChange]
            d.rbe = true
            d.allChangesReported = true
            d.bufferTime = 1
        }
        let line = vcc.handle("Line1_MW", in: .vcc)!
        for v: Float in [1, 2, 3] { vcc.update([(line, .real(v))]) }
        let due = vcc.dueReports(at: t0 + 1)
        #expect(due.count == 1)
        guard case .unconfirmed(.informationReport(let r))? = try due.first.map({ try MMSPDU.decode($0.pdu) }) else { Issue.record("no report"); return }
        #expect(r.results.suffix(3) == [1, 2, 3].map { .success(PointType.realQ.data(.real($0))) })
        guard case .listOfVariable(let items) = r.variableAccessSpecification else { Issue.record("not RBE"); return }
        #expect(items.suffix(3).allSatisfy { $0.variable.name == .vmdSpecific("Line1_MW") })
    }

}

@Suite("Operator requests and external events", .timeLimit(.minutes(1)))
struct RequestedReportTests {
    @Test func operatorRequestAndExternalEventsReportTheWholeDataSet() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock)
        let (_, t0) = try await enableDSTrans1(vcc, clock) { d in
            d.conditions = [.operatorRequest, .otherExternalEvent]
            d.eventCodeRequested = 7
        }
        #expect(vcc.dueReports(at: t0 + 1).isEmpty)
        #expect(vcc.requestReport() == 1)
        #expect(vcc.nextDueTime() <= t0)
        var due = vcc.dueReports(at: t0 + 1)
        guard case .unconfirmed(.informationReport(let r))? = try due.first.map({ try MMSPDU.decode($0.pdu) }) else { Issue.record("no report"); return }
        #expect(r.variableAccessSpecification == .variableListName(icc1("DS_Server")))
        #expect(r.results[2] == .success(.bitString(DSConditions.operatorRequest.bitString)))
        // Another event code is not this transfer set's; code 7 is.
        #expect(vcc.signalExternalEvent(code: 3) == 0)
        #expect(vcc.signalExternalEvent(code: 7) == 1)
        due = vcc.dueReports(at: t0 + 2)
        guard case .unconfirmed(.informationReport(let e))? = try due.first.map({ try MMSPDU.decode($0.pdu) }) else { Issue.record("no report"); return }
        #expect(e.results[2] == .success(.bitString(DSConditions.otherExternalEvent.bitString)))
        #expect(vcc.dueReports(at: t0 + 3).isEmpty)
    }
}

@Suite("Information messages (Block 4)", .timeLimit(.minutes(1)))
struct InformationMessageTests {
    @Test func messagesGoToAssociationsThatEnabledThem() async throws {
        var c = testConfiguration()
        c.bilateralTables[1].vccMessages = false
        c.bilateralTables[1].messageInfoReferences = [5]
        try await withTASE2Server(c) { server, port in
            let a = try await connect(port)
            let b = try await connect(port, apTitle: [1, 1, 1, 888])
            #expect(try await a.getNameList(.namedVariable, scope: .aaSpecific) == ["IM_Transfer_Set"])
            #expect(try await a.read(.aaSpecific("IM_Transfer_Set")) == .boolean(false))
            try await a.write(.aaSpecific("IM_Transfer_Set"), .boolean(true))
            #expect(try await a.read(.aaSpecific("IM_Transfer_Set")) == .boolean(true))
            await #expect(throws: DataAccessError.typeInconsistent) { try await a.write(.aaSpecific("IM_Transfer_Set"), .integer(1)) }
            await #expect(throws: DataAccessError.objectAccessDenied) { try await a.read(.vmdSpecific("Info_Mess_Header")) }
            // Only `a` enabled messages; ICC2 messages are not for BLT_A.
            #expect(try await server.sendInformationMessage("hello", infoReference: 1, messageID: 7) == 1)
            #expect(try await server.sendInformationMessage("not yours", infoReference: 1, messageID: 8, scope: .icc("ICC2")) == 0)
            await #expect(throws: InformationMessageError.self) {
                try await server.sendInformationMessage(String(repeating: "x", count: 5000), infoReference: 1, messageID: 9)
            }
            var it = a.informationReports.makeAsyncIterator()
            let r = await it.next()
            #expect(r?.variableAccessSpecification == .listOfVariable([VariableAccess(.vmdSpecific("Info_Mess_Header")), VariableAccess(.vmdSpecific("Info_Buff_64"))]))
            #expect(r?.results.first == .success(.structure([.integer(1), .integer(0), .integer(7), .integer(5)])))
            #expect(r?.results.last == .success(.octetString(Array("hello".utf8) + [UInt8](repeating: 0, count: 59))))
            // Rights: BLT_B receives no VCC messages, and only InfoReference 5.
            try await b.write(.aaSpecific("IM_Transfer_Set"), .boolean(true))
            #expect(try await server.sendInformationMessage("vcc", infoReference: 5, messageID: 20) == 1)  // a only (b: no VCC scope)
            #expect(try await server.sendInformationMessage("icc2", infoReference: 4, messageID: 21, scope: .icc("ICC2")) == 0)
            #expect(try await server.sendInformationMessage("icc2", infoReference: 5, messageID: 22, scope: .icc("ICC2")) == 1)
            _ = await it.next()
            // Disabled again: nothing more is sent.
            try await a.write(.aaSpecific("IM_Transfer_Set"), .boolean(false))
            #expect(try await server.sendInformationMessage("bye", infoReference: 1, messageID: 10) == 0)
            try await b.write(.aaSpecific("IM_Transfer_Set"), .boolean(false))
            try await a.conclude()
            try await b.conclude()
        }
    }
}

@Suite("Device control (Block 5)", .timeLimit(.minutes(1)))
struct DeviceControlTests {
    @Test func selectOperateAndTags() async throws {
        try await withTASE2Server { server, port in
            let a = try await connect(port)
            let b = try await connect(port)
            let names = try await a.getNameList(.namedVariable, scope: .domainSpecific("ICC1"))
            #expect(names.contains("Breaker_1_Ctl") && names.contains("Breaker_1_Ctl_SBO") && names.contains("Breaker_1_Ctl_TAG") && names.contains("Gen_SP"))
            #expect(!names.contains("Gen_SP_SBO"))
            #expect(try await a.variableAccessAttributes(icc1("Breaker_1_Ctl_TAG")).typeSpecification
                    == .structure(components: [.init("Flags", .bitString(3)), .init("Reason", .visibleString(-255))]))
            var ops = server.deviceOperations.makeAsyncIterator()
            // Direct operate of a setpoint; wrong type refused; a VCC device not granted is denied.
            try await a.write(icc1("Gen_SP"), .float(105.5))
            #expect(await ops.next()?.real == 105.5)
            await #expect(throws: DataAccessError.typeInconsistent) { try await a.write(icc1("Gen_SP"), .visibleString("x")) }
            await #expect(throws: DataAccessError.objectAccessDenied) { try await a.write(.vmdSpecific("VCC_Cmd"), .integer(1)) }
            // SBO: operate without select is refused; select arms for this association only.
            await #expect(throws: DataAccessError.temporarilyUnavailable) { try await a.write(icc1("Breaker_1_Ctl"), .integer(1)) }
            await #expect(throws: DataAccessError.objectAttributeInconsistent) { try await a.read(icc1("Gen_SP_SBO")) }
            guard case .integer(let checkBack) = try await a.read(icc1("Breaker_1_Ctl_SBO")) else { Issue.record("no CheckBackName"); return }
            #expect(checkBack > 0)
            await #expect(throws: DataAccessError.temporarilyUnavailable) { try await b.read(icc1("Breaker_1_Ctl_SBO")) }
            await #expect(throws: DataAccessError.temporarilyUnavailable) { try await b.write(icc1("Breaker_1_Ctl"), .integer(1)) }
            // The armed bit shows in the tag; commands other than 0/1 are invalid.
            guard case .structure(let tag) = try await a.read(icc1("Breaker_1_Ctl_TAG")), case .bitString(let f) = tag[0] else { Issue.record("no tag"); return }
            #expect(f[bit: 2])
            await #expect(throws: DataAccessError.objectValueInvalid) { try await a.write(icc1("Breaker_1_Ctl"), .integer(2)) }
            try await a.write(icc1("Breaker_1_Ctl"), .integer(1))
            #expect(await ops.next()?.discrete == 1)
            // Operating disarms: a second operate needs a new select.
            await #expect(throws: DataAccessError.temporarilyUnavailable) { try await a.write(icc1("Breaker_1_Ctl"), .integer(0)) }
            // Tags: close-only inhibit blocks CLOSE but not OPEN; invalid flags refused.
            let closeOnly = MMSData.structure([.bitString(BitString(msbFirst: 0x80 << 56, count: 3)), .visibleString("maint")])
            try await a.write(icc1("Breaker_1_Ctl_TAG"), closeOnly)
            #expect(try await a.read(icc1("Breaker_1_Ctl_TAG")) == closeOnly)
            await #expect(throws: DataAccessError.objectValueInvalid) {
                try await a.write(icc1("Breaker_1_Ctl_TAG"), .structure([.bitString(BitString(msbFirst: 0xC0 << 56, count: 3)), .visibleString("")]))
            }
            _ = try await a.read(icc1("Breaker_1_Ctl_SBO"))
            await #expect(throws: DataAccessError.temporarilyUnavailable) { try await a.write(icc1("Breaker_1_Ctl"), .integer(1)) }
            try await a.write(icc1("Breaker_1_Ctl"), .integer(0))
            #expect(await ops.next()?.discrete == 0)
            // Open-and-close inhibit: no select at all.
            try await a.write(icc1("Breaker_1_Ctl_TAG"), .structure([.bitString(BitString(msbFirst: 0x40 << 56, count: 3)), .visibleString("work")]))
            await #expect(throws: DataAccessError.temporarilyUnavailable) { try await a.read(icc1("Breaker_1_Ctl_SBO")) }
            // Devices cannot be data-set members.
            await #expect(throws: MMSAssociationError.self) { try await a.defineList(icc1("DS_Dev"), members: [VariableAccess(icc1("Breaker_1_Ctl"))]) }
            try await a.conclude()
            try await b.conclude()
        }
    }

    @Test func selectTimesOut() async throws {
        let clock = FakeClock()
        var c = testConfiguration()
        c.vcc.selectTimeout = 10
        let vcc = try makeVCC(c, clock)
        let (ctx, _) = try await enableDSTrans1(vcc, clock) { d in
            d.interval = 1
            d.conditions = [.intervalTimeOut]
        }
        guard case .success(.integer) = await vcc.read([VariableAccess(icc1("Breaker_1_Ctl_SBO"))], for: ctx).first else { Issue.record("no select"); return }
        clock.advance(11)
        #expect(await vcc.write([VariableAccess(icc1("Breaker_1_Ctl"))], values: [.integer(1)], for: ctx) == [.failure(.temporarilyUnavailable)])
    }
}

@Suite("The TASE.2 client against our VCC", .timeLimit(.minutes(1)))
struct TASE2ClientTests {
    @Test func associationCheckReadsTransfersDevicesAndMessages() async throws {
        try await withTASE2Server { server, port in
            var config = MMSClient.Configuration(host: "127.0.0.1", port: port)
            config.local = OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12)
            try await TASE2Client.withClient(config) { c in
                #expect(c.icc == "ICC1" && c.bilateralTableID == "BLT_A" && c.edition == .v2000 && c.supportedBlocks == [1, 2, 4, 5])
                let line = try await c.read("Line1_MW", in: .vcc, as: .realQ)
                #expect(line.real == 12.5 && line.flags.validity == .suspect)

                // Report by exception: an application update reaches the client decoded.
                let ts = try await c.startTransfer(dataSet: "DS_Client", points: [.vmdSpecific("Line1_MW"), icc1("Breaker_1")]) { d in
                    d.conditions = [.objectChange]
                    d.rbe = true
                }
                #expect(ts == icc1("DSTrans1"))
                server.update([(server.handle("Line1_MW", in: .vcc)!, .real(77))])
                var reports = c.transferReports.makeAsyncIterator()
                let r = await reports.next()
                #expect(r?.transferSet == ts && r?.conditions == .objectChange)
                #expect(r?.values.map(\.name) == [.vmdSpecific("Line1_MW")])
                #expect(r?.values.first?.result == .success(PointType.realQ.data(.real(77))))
                try await c.stopTransfer(ts)

                // A critical transfer is acknowledged automatically.
                let crit = try await c.startCriticalTransfer(dataSet: "DS_Crit", points: [icc1("Breaker_1")]) { d in
                    d.interval = 1
                    d.conditions = [.intervalTimeOut]
                }
                let first = await reports.next()
                #expect(first?.transferSet == crit)
                for await e in server.events {
                    if e == .criticalReportAcknowledged(icc: "ICC1", transferSet: crit.itemName) { break }
                }
                #expect(server.vcc.outstandingCriticalReports(icc: "ICC1", transferSet: crit.itemName) == 0)
                try await c.stopTransfer(crit)

                // Devices and messages.
                var ops = server.deviceOperations.makeAsyncIterator()
                #expect(try await c.select("Breaker_1_Ctl", in: .icc("ICC1")) > 0)
                try await c.operate("Breaker_1_Ctl", in: .icc("ICC1"), command: 1)
                #expect(await ops.next()?.discrete == 1)
                try await c.enableInformationMessages()
                #expect(try await server.sendInformationMessage("check the tie line", infoReference: 4, messageID: 12) == 1)
                var messages = c.informationMessages.makeAsyncIterator()
                let m = await messages.next()
                #expect(m?.messageID == 12 && m.map { String(decoding: $0.text, as: UTF8.self) } == "check the tie line" && m?.scope == .vcc)
            }
        }
    }
}

@Suite("Tags in data sets", .timeLimit(.minutes(1)))
struct TagReportTests {
    @Test func aTagChangeIsReported() async throws {
        let clock = FakeClock()
        let vcc = try makeVCC(testConfiguration(), clock)
        let ctx = try await attach(vcc, id: 21)
        try await vcc.defineList(DefineNamedVariableListRequest(name: icc1("DS_Tags"), variables: [
            VariableAccess(icc1("Transfer_Set_Name")), VariableAccess(icc1("Breaker_1_Ctl_TAG")), VariableAccess(icc1("Breaker_1")),
        ]), for: ctx)
        let read = try await vcc.read(list: icc1("DS_Tags"), for: ctx)
        #expect(read[1] == .success(.structure([.bitString(BitString(count: 3)), .visibleString("")])))
        _ = await vcc.read([VariableAccess(icc1("Next_DSTransfer_Set"))], for: ctx)
        var d = DSTransferSet()
        d.dataSetName = icc1("DS_Tags")
        d.conditions = [.objectChange]
        d.rbe = true
        d.status = true
        #expect(await vcc.write([VariableAccess(icc1("DSTrans1"))], values: [d.data(.v2000)], for: ctx) == [.success])
        let tag = MMSData.structure([.bitString(BitString(msbFirst: 0x80 << 56, count: 3)), .visibleString("line work")])
        #expect(await vcc.write([VariableAccess(icc1("Breaker_1_Ctl_TAG"))], values: [tag], for: ctx) == [.success])
        let due = vcc.dueReports(at: clock.now())
        guard case .unconfirmed(.informationReport(let r))? = try due.first.map({ try MMSPDU.decode($0.pdu) }) else { Issue.record("no report"); return }
        #expect(r.variableAccessSpecification == .listOfVariable([VariableAccess(icc1("Transfer_Set_Name")), VariableAccess(icc1("Breaker_1_Ctl_TAG"))]))
        #expect(r.results.last == .success(tag))
    }
}

@Suite("An association without a binding is denied everything", .timeLimit(.minutes(1)))
struct UnboundAssociationTests {
    /// Whatever reaches the VCC for an association it never bound (no accept decision, or
    /// already ended) is denied, in open mode too.
    @Test(arguments: [false, true])
    func nothingIsAllowed(openMode: Bool) async throws {
        var config = testConfiguration()
        if openMode {
            config.bilateralTables = []
            config.vcc.openMode = true
        }
        let vcc = try VirtualControlCentre(configuration: config)
        let stranger = strangerAssociation(id: 99)
        #expect(await vcc.read([VariableAccess(.vmdSpecific("Line1_MW")), VariableAccess(.vmdSpecific("TASE2_Version")),
                                VariableAccess(icc1("Bilateral_Table_ID"))], for: stranger)
                == [.failure(.objectAccessDenied), .failure(.objectAccessDenied), .failure(.objectAccessDenied)])
        #expect(await vcc.write([VariableAccess(.vmdSpecific("Setpoint_Real"))], values: [.float(1)], for: stranger) == [.failure(.objectAccessDenied)])
        await #expect(throws: ServiceError.accessObjectAccessDenied) { _ = try await vcc.names(of: .domain, in: .vmdSpecific, for: stranger) }
        await #expect(throws: ServiceError.accessObjectAccessDenied) {
            try await vcc.defineList(DefineNamedVariableListRequest(name: icc1("DS_X"), variables: [VariableAccess(icc1("Breaker_1"))]), for: stranger)
        }
        // Once accepted, an association may; once ended, it may not again.
        let partner = try await attach(vcc, id: 98)
        #expect(await vcc.read([VariableAccess(.vmdSpecific("TASE2_Version"))], for: partner).first.map { if case .success = $0 { true } else { false } } == true)
        await vcc.associationEnded(partner)
        #expect(await vcc.read([VariableAccess(.vmdSpecific("TASE2_Version"))], for: partner) == [.failure(.objectAccessDenied)])
    }
}
