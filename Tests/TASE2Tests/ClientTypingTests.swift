import BER
import MMS
import MMSNIO
@testable import TASE2
import Testing
import TestSupport

@Suite("Point types a client learns, and values it shows")
struct PointTypingTests {
    /// Every type's own description names it, except where the wire shape is shared: then the
    /// first of the standard's order is taken, as documented.
    @Test func everyTypeDescriptionIsRecognised() {
        for t in PointType.allCases {
            for shape in t == .stateQ ? [StateQShape.bitString, .valueAndFlags] : [.bitString] {
                let got = PointTypeInfo(typeDescription: t.typeSpecification(stateQ: shape))
                let expected: PointTypeInfo = switch (t, shape) {
                case (.stateQ, .bitString), (.stateSupplemental, _): PointTypeInfo(.state)
                case (.stateSupplementalQ, _): PointTypeInfo(.stateQ, stateQ: .valueAndFlags)
                default: PointTypeInfo(t, stateQ: shape)
                }
                #expect(got == expected, "\(t) \(shape)")
            }
        }
        #expect(PointTypeInfo(typeDescription: .visibleString(-32)) == nil)
        #expect(PointTypeInfo(typeDescription: DSTransferSet.typeSpecification(.v2000)) == nil)
    }

    /// Component names tell DiscreteQ from StateQTimeTag (the same wire shape); without names
    /// the first is taken. Names are compared without case.
    @Test func componentNamesDecideWhereShapesAgree() {
        let unnamed = TypeSpecification.structure(components: [.init(nil, .integer(32)), .init(nil, .bitString(8))])
        #expect(PointTypeInfo(typeDescription: unnamed)?.type == .discreteQ)
        let sisco = TypeSpecification.structure(components: [.init("TIMESTAMP", .integer(32)), .init("flags", .bitString(8))])
        #expect(PointTypeInfo(typeDescription: sisco)?.type == .stateQTimeTag)
        #expect(PointTypeInfo(guessingFrom: PointType.stateQTimeTag.data(.state(.on, time: 1))) == PointTypeInfo(.discreteQ))
    }

    /// A reading decodes with the declared type; a value of another shape is kept raw, not forced.
    @Test func readingsDecodeWithTheirTypeOrStayRaw() {
        let v = PointValue.state(.on, flags: DataFlags(validity: .held, source: .entered), time: 1_700_000_000)
        let r = PointReading(name: .vmdSpecific("B"), type: PointTypeInfo(.stateQTimeTag), result: .success(PointType.stateQTimeTag.data(v)))
        #expect(r.value == v && r.type?.type == .stateQTimeTag)
        #expect(r.value?.text(.stateQTimeTag) == "ON held entered 2023-11-14T22:13:20Z")
        let wrong = PointReading(name: .vmdSpecific("B"), type: PointTypeInfo(.realQ), result: .success(.visibleString("x")))
        #expect(wrong.value == nil && wrong.result == .success(.visibleString("x")))
        let notGuessed = PointReading(name: .vmdSpecific("T"), type: nil, result: .success(.integer(5)))
        #expect(notGuessed.type == nil && notGuessed.value == nil)
        let failed = PointReading(name: .vmdSpecific("X"), type: PointTypeInfo(.real), result: .failure(.objectNonExistent))
        #expect(failed.error == .objectNonExistent && failed.value == nil)
        // libtase2's two-member Data_StateQ decodes with its shape.
        let twoMember = PointType.stateQ.data(.state(.off, flags: DataFlags(validity: .notValid)), stateQ: .valueAndFlags)
        let shaped = PointReading(name: .vmdSpecific("S"), type: PointTypeInfo(.stateQ, stateQ: .valueAndFlags), result: .success(twoMember))
        #expect(shaped.value.map { StateValue(octet: $0.state) } == .off && shaped.value?.flags.validity == .notValid)
        #expect(PointTypeInfo(.stateQ).decode(twoMember) == nil, "the one-octet shape does not take the two-member value")
        let both = PointValue(real: 1.5, flags: DataFlags(validity: .suspect, source: .calculated, offNormal: true), timeStamp: 1_700_000_000, milliseconds: 250)
        #expect(both.text(.realQTimeTagExtended) == "1.5 suspect calculated off-normal 2023-11-14T22:13:20.250Z")
    }

    @Test func iso8601() {
        #expect(ISO8601.format(secondsSince1970: 0) == "1970-01-01T00:00:00Z")
        #expect(ISO8601.format(secondsSince1970: 951_782_400) == "2000-02-29T00:00:00Z")
        #expect(ISO8601.format(secondsSince1970: 1_796_113_866, milliseconds: 7) == "2026-12-01T08:31:06.007Z")
        #expect(ISO8601.format(secondsSince1970: -1) == "1969-12-31T23:59:59Z")
        #expect(ISO8601.format(secondsSince1970: Int64(Int32.min)) == "1901-12-13T20:45:52Z")
    }

    /// TagValue close-only "maint": the spec's example bytes (§ encodings).
    @Test func deviceTagEncoding() throws {
        let t = DeviceTag(.closeOnlyInhibit, reason: "maint")
        #expect(t.data.encoded() == [0xA2, 0x0B, 0x84, 0x02, 0x05, 0x80, 0x8A, 0x05] + Array("maint".utf8))
        #expect(DeviceTag(try MMSData.decode(t.data.encoded())) == t)
        let armed = MMSData.structure([.bitString(BitString(msbFirst: 0x60 << 56, count: 3)), .visibleString("")])
        #expect(DeviceTag(armed) == DeviceTag(.openAndCloseInhibit, armed: true))
        #expect(DeviceTag(.visibleString("x")) == nil)
    }
}

@Suite("The TASE.2 client a utility can leave running, against our VCC", .timeLimit(.minutes(1)))
struct ClientBehaviourTests {
    static func config(_ port: Int) -> MMSClient.Configuration {
        var c = MMSClient.Configuration(host: "127.0.0.1", port: port)
        c.local = OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12)
        return c
    }

    @Test func theExpectedBilateralTableChoosesTheICCOrRefusesThePartner() async throws {
        try await withTASE2Server { _, port in
            let icc = try await TASE2Client.withClient(Self.config(port), expectedBilateralTableID: "BLT_A") { c in c.icc }
            #expect(icc == "ICC1")
            await #expect(throws: TASE2ClientError.bilateralTableMismatch(expected: "BLT_B", found: ["ICC1": "BLT_A"])) {
                try await TASE2Client.withClient(Self.config(port), expectedBilateralTableID: "BLT_B") { _ in }
            }
        }
    }

    @Test func readsAndReportsAreTypedFromTheServersDescriptions() async throws {
        try await withTASE2Server { server, port in
            try await TASE2Client.withClient(Self.config(port)) { c in
                let names: [ObjectName] = [.vmdSpecific("Line1_MW"), .domainSpecific(domain: "ICC1", item: "Breaker_1"),
                                           .domainSpecific(domain: "ICC1", item: "Bilateral_Table_ID"), .vmdSpecific("No_Such")]
                let r = try await c.readPoints(names)
                #expect(r.map { $0.type?.type } == [.realQ, .stateQTimeTag, nil, nil])
                #expect(r[0].value?.real == 12.5 && r[0].value?.flags.validity == .suspect)
                #expect(r[1].value.map { StateValue(octet: $0.state) } == .on && r[1].value?.timeStamp == 1_700_000_000)
                #expect(r[2].result == .success(.visibleString("BLT_A")) && r[3].error == .objectNonExistent)
                // A data set, typed member by member (the special members stay raw).
                let ds = try await c.readDataSet(.domainSpecific(domain: "ICC1", item: "DS_Server"))
                #expect(ds.map { $0.type?.type } == [nil, nil, nil, .realQ, .stateQTimeTag], "\(ds)")
                #expect(ds[3].value?.real == 12.5 && ds[4].value?.timeStamp == 1_700_000_000)

                let ts = try await c.startTransfer(dataSet: "DS_Typed", points: [.vmdSpecific("Line1_MW"), .domainSpecific(domain: "ICC1", item: "Bus1_kV")]) { d in
                    d.conditions = [.objectChange]
                    d.rbe = true
                }
                server.update([(server.handle("Bus1_kV", in: .icc("ICC1"))!, .real(2.5, time: 1_700_000_001, ms: 125))])
                var reports = c.transferReports.makeAsyncIterator()
                let report = await reports.next()
                #expect(report?.points.map(\.name) == [.domainSpecific(domain: "ICC1", item: "Bus1_kV")])
                #expect(report?.points.first?.type == PointTypeInfo(.realQTimeTagExtended))
                #expect(report?.points.first?.value.map { ($0.real, $0.timeStamp, $0.milliseconds) } ?? (0, 0, 0) == (2.5, 1_700_000_001, 125))
                try await c.stopTransfer(ts)
            }
        }
    }

    /// Our VCC's RBE reports name their changes as the client encodes its members, so the client
    /// matches them by their octets; forced to decode the names instead, it makes the same report.
    @Test func rbeNamesAreMatchedByTheirOctetsElseDecoded() async throws {
        try await withTASE2Server { server, port in
            try await TASE2Client.withClient(Self.config(port)) { c in
                let line: ObjectName = .vmdSpecific("Line1_MW"), bus: ObjectName = .domainSpecific(domain: "ICC1", item: "Bus1_kV")
                let ts = try await c.startTransfer(dataSet: "DS_Match", points: [line, bus]) { d in
                    d.conditions = [.objectChange]
                    d.rbe = true
                }
                let table = try #require(c.demux.subscription(ts)?.table)
                var reports = c.transferReports.makeAsyncIterator()
                var seen: [TransferReport] = []
                for (round, v) in [Float(7.5), 8.5].enumerated() {
                    if round == 1 { table.inOrder.store(false, ordering: .relaxed) }  // as after a report it could not match
                    server.update([(server.handle("Line1_MW", in: .vcc)!, .real(v, flags: .valid)),
                                   (server.handle("Bus1_kV", in: .icc("ICC1"))!, .real(v, time: 1_700_000_001, ms: 125))])
                    var r = try #require(await reports.next())
                    // The two changes may leave in two reports.
                    while r.points.count < 2, let more = await reports.next() { r.points += more.points }
                    seen.append(r)
                    if round == 0 { #expect(table.matching, "our VCC's names did not match by their octets") }
                }
                for r in seen { #expect(r.transferSet == ts && r.timeStamp != nil && r.conditions == [.objectChange], "\(r)") }
                #expect(seen.map { $0.points.map(\.name) } == [[line, bus], [line, bus]])
                #expect(seen.map { $0.points.map(\.type) } == Array(repeating: [PointTypeInfo(.realQ), PointTypeInfo(.realQTimeTagExtended)], count: 2))
                #expect(seen.map { $0.points.map { $0.value?.real } } == [[7.5, 7.5], [8.5, 8.5]])
                try await c.stopTransfer(ts)
            }
        }
    }

    /// A full report (the data set's form, typed straight from BER) uses the types its
    /// subscription kept from the report before, until a type is declared or learnt: the next
    /// report then has it (here a wrong one, so the value stays raw).
    @Test func aSubscriptionSeesTypesDeclaredSinceItsLastReport() async throws {
        try await withTASE2Server { server, port in
            try await TASE2Client.withClient(Self.config(port)) { c in
                let bus: ObjectName = .domainSpecific(domain: "ICC1", item: "Bus1_kV")
                let ts = try await c.startTransfer(dataSet: "DS_Full", points: [.vmdSpecific("Line1_MW"), bus]) { d in
                    d.conditions = [.objectChange]
                    d.rbe = false
                }
                var reports = c.transferReports.makeAsyncIterator()
                server.update([(server.handle("Bus1_kV", in: .icc("ICC1"))!, .real(2.5, time: 1_700_000_001, ms: 125))])
                let first = await reports.next()
                #expect(first?.points.map(\.name) == [.vmdSpecific("Line1_MW"), bus])
                #expect(first?.points.last?.type == PointTypeInfo(.realQTimeTagExtended))
                #expect(first?.points.last?.value?.real == 2.5)
                c.declare([bus: PointTypeInfo(.realQ)])
                server.update([(server.handle("Bus1_kV", in: .icc("ICC1"))!, .real(3.5, time: 1_700_000_002, ms: 0))])
                let next = await reports.next()
                #expect(next?.points.last?.type == PointTypeInfo(.realQ))
                #expect(next?.points.last?.value == nil)
                #expect(next?.points.first?.value?.real == 12.5)
                try await c.stopTransfer(ts)
            }
        }
    }

    /// A critical report is acknowledged when the caller takes it, never before: a caller that
    /// does not read leaves it unacknowledged (the server says so when its time-out passes).
    @Test func criticalReportsAreAcknowledgedOnlyOnceDelivered() async throws {
        var config = testConfiguration()
        config.vcc.criticalReportTimeout = 2  // long enough for an ACK under a loaded CI machine
        try await withTASE2Server(config) { server, port in
            try await TASE2Client.withClient(Self.config(port)) { c in
                var events = server.events.makeAsyncIterator()
                let ts = try await c.startCriticalTransfer(dataSet: "DS_Crit", points: [.vmdSpecific("Line1_MW")]) { d in
                    d.conditions = [.objectChange]
                    d.rbe = true
                }
                server.update([(server.handle("Line1_MW", in: .vcc)!, .real(1))])
                // Not read yet: the server's time-out passes without an ACK.
                let first = await events.next()
                #expect(first == .criticalReportNotAcknowledged(icc: "ICC1", transferSet: ts.itemName, timeStamp: first.flatMap {
                    if case .criticalReportNotAcknowledged(_, _, let t) = $0 { t } else { nil }
                } ?? -1), "\(String(describing: first))")
                var reports = c.transferReports.makeAsyncIterator()
                _ = await reports.next()  // the late one: its ACK comes after the time-out
                server.update([(server.handle("Line1_MW", in: .vcc)!, .real(2))])
                let second = await reports.next()
                #expect(second?.critical == true && second?.points.first?.value?.real == 2)
                // The answer to the second report: acknowledged (a second time-out fails, not hangs).
                var answer: TASE2Event?
                while let e = await events.next() {
                    if e == .criticalReportAcknowledged(icc: "ICC1", transferSet: ts.itemName) { answer = e; break }
                    if case .criticalReportNotAcknowledged = e { answer = e; break }
                }
                #expect(answer == .criticalReportAcknowledged(icc: "ICC1", transferSet: ts.itemName), "\(String(describing: answer))")
                #expect(server.vcc.outstandingCriticalReports(icc: "ICC1", transferSet: ts.itemName) == 0)
                try await c.stopTransfer(ts)
            }
        }
    }

    /// A report the client cannot match to a transfer set of its own is NACKed, not passed on:
    /// a change report (listOfVariable, naming its transfer set) by the transfer set's name, an
    /// interval report (variableListName) by the data set's, as libtase2 does; our VCC maps the
    /// data set back to the transfer set reporting it.
    @Test func reportsOfAnUnknownTransferSetAreNACKed() async throws {
        try await withTASE2Server { server, port in
            try await TASE2Client.withClient(Self.config(port)) { c in
                var events = server.events.makeAsyncIterator()
                let ts = try await c.startTransfer(dataSet: "DS_N", points: [.vmdSpecific("Line1_MW")]) { d in
                    d.conditions = [.objectChange]
                    d.rbe = true
                }
                c.demux.unsubscribe(ts)  // as after the caller lost its state
                server.update([(server.handle("Line1_MW", in: .vcc)!, .real(3))])
                let e = await events.next()
                #expect(e == .negativeAcknowledgement(icc: "ICC1", transferSet: ts.itemName), "\(String(describing: e))")
                try await c.stopTransfer(ts)
                let ts2 = try await c.startTransfer(dataSet: "DS_N2", points: [.vmdSpecific("Line1_MW")]) { d in
                    d.conditions = [.intervalTimeOut]
                    d.interval = 1
                }
                c.demux.unsubscribe(ts2)
                let e2 = await events.next()
                #expect(e2 == .negativeAcknowledgement(icc: "ICC1", transferSet: ts2.itemName), "\(String(describing: e2))")
                try await c.stopTransfer(ts2)
            }
        }
    }

    @Test func tagsAreReadAndSet() async throws {
        try await withTASE2Server { _, port in
            try await TASE2Client.withClient(Self.config(port)) { c in
                #expect(try await c.tag("Breaker_1_Ctl", in: .icc("ICC1")) == DeviceTag(.none))
                try await c.setTag("Breaker_1_Ctl", in: .icc("ICC1"), DeviceTag(.closeOnlyInhibit, reason: "maint"))
                #expect(try await c.tag("Breaker_1_Ctl", in: .icc("ICC1")) == DeviceTag(.closeOnlyInhibit, reason: "maint"))
                await #expect(throws: DataAccessError.objectNonExistent) { try await c.tag("Gen_SP", in: .icc("ICC1")) }
            }
        }
    }

    /// `maxAssociationAge`: the link concludes an old association and makes a new one (how TLS
    /// 1.2 session keys are renewed without renegotiation), and its transfer set runs again.
    @Test func theLinkRenewsAnAgedAssociation() async throws {
        try await withTASE2Server { _, port in
            var config = TASE2Link.Configuration(addresses: [Self.config(port)])
            config.maxAssociationAge = 2
            config.initialBackoff = 0.1
            let link = TASE2Link(config)
            try await link.addTransfer(dataSet: "DS_AGE", points: [.vmdSpecific("Line1_MW")]) { d in
                d.integrityCheck = 60
                d.conditions = [.integrityTimeOut]
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await link.run() }
                var events = link.events.makeAsyncIterator()
                var seen: [TASE2Link.Event] = []
                var restored = 0
                while let e = await events.next() {
                    seen.append(e)
                    if case .transferRestored = e { restored += 1 }
                    if restored == 2 { break }
                }
                let address = "127.0.0.1:\(port)"
                #expect(seen.contains(.renewing(address: address)) && seen.contains(.disconnected(address: address)), "\(seen)")
                // A renewal calls again after the initial back-off, not a grown one.
                #expect(seen.contains(.waiting(seconds: 0.1)), "\(seen)")
                #expect(seen.filter { if case .connected = $0 { true } else { false } }.count >= 2, "\(seen)")
                group.cancelAll()
            }
        }
    }
}

/// A client types the points of a received report straight from BER; these hold that path to
/// the tree path (`PointTypeInfo.decode` of the decoded `MMSData`) it replaces.
@Suite("Points typed straight from BER")
struct TypedDecodingTests {
    static var infos: [PointTypeInfo] {
        PointType.allCases.flatMap { t in t == .stateQ ? [PointTypeInfo(t), PointTypeInfo(t, stateQ: .valueAndFlags)] : [PointTypeInfo(t)] }
    }

    static func randomValue(_ rng: inout SplitMix64) -> PointValue {
        PointValue(real: Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &rng)) * (Bool.random(using: &rng) ? 1 : -1),
                   discrete: .random(in: .min ... .max, using: &rng), state: .random(in: 0...255, using: &rng),
                   flags: DataFlags(rawValue: .random(in: 0...255, using: &rng)), timeStamp: .random(in: .min ... .max, using: &rng),
                   milliseconds: .random(in: .min ... .max, using: &rng), cov: .random(in: 0 ... .max, using: &rng),
                   eventFlags: .random(in: 0...255, using: &rng), packedEvent: .random(in: 0...255, using: &rng),
                   operatingTime: .random(in: .min ... .max, using: &rng))
    }

    /// The two paths on one encoded value; true when the tree decoder accepts it at all.
    static func agree(_ info: PointTypeInfo, _ bytes: [UInt8], _ note: @autoclosure () -> String) throws -> Bool {
        guard let tree = try? MMSData.decode(bytes) else { return false }
        let typed = try BERReader.withReader(bytes) { r in info.decode(try r.readElement(), in: r) }
        #expect(typed == info.decode(tree), "\(info) \(note())")
        return true
    }

    /// Every type read as itself and as every other type (most do not fit: nil both ways), with
    /// random values and at the ends of every field's range, and every encoding mutated: the
    /// typed decoder gives what the tree path gives, wherever the tree decoder accepts the bytes.
    @Test func typedDecodingAgreesWithTheTree() throws {
        var rng = SplitMix64(state: 0x7E_D0C0_DE)
        var fits = 0, mutatedAccepted = 0
        let extremes = [PointValue(real: -.greatestFiniteMagnitude, discrete: .min, state: 0xFF, flags: DataFlags(rawValue: 0xFF),
                                   timeStamp: .min, milliseconds: .min, cov: .max, eventFlags: 0xFF, packedEvent: 0xFF, operatingTime: .min),
                        PointValue(real: .greatestFiniteMagnitude, discrete: .max, timeStamp: .max, milliseconds: .max, operatingTime: .max),
                        PointValue()]
        for writer in Self.infos {
            for v in extremes + (0..<40).map({ _ in Self.randomValue(&rng) }) {
                var w = BERWriter()
                writer.type.prepend(v, stateQ: writer.stateQ, to: &w)
                let bytes = w.toArray()
                for reader in Self.infos {
                    #expect(try Self.agree(reader, bytes, "from \(writer)"))
                    if reader == writer {
                        let typed = try BERReader.withReader(bytes) { r in reader.decode(try r.readElement(), in: r) }
                        #expect(typed == reader.decode(writer.type.data(v, stateQ: writer.stateQ)), "\(writer)")
                        fits += 1
                    }
                }
                let m = mutate(bytes, &rng)
                for reader in Self.infos where try Self.agree(reader, m, "mutated \(hex(m))") { mutatedAccepted += 1 }
            }
        }
        #expect(fits == Self.infos.count * 43)
        #expect(mutatedAccepted > 1000)
        // Shapes the wire allows that a strict reading refuses: a 5-bit string, an array for a
        // structure, a double for a Real (taken), a negative Integer for an Unsigned16 COV.
        let shapes: [(PointTypeInfo, MMSData)] = [
            (PointTypeInfo(.state), .bitString(BitString(msbFirst: 0, count: 5))),
            (PointTypeInfo(.realQ), .array([.float(1), .bitString(BitString(msbFirst: 0, count: 8))])),
            (PointTypeInfo(.realQ), .structure([.floatingPoint(.double(2.5)), .bitString(BitString(msbFirst: 0, count: 8))])),
            (PointTypeInfo(.stateExtended), .structure([.integer(1), .bitString(BitString(msbFirst: 0, count: 8)), .integer(-1)])),
            (PointTypeInfo(.stateExtended), .structure([.integer(1), .bitString(BitString(msbFirst: 0, count: 8)), .integer(65_535)])),
            (PointTypeInfo(.discrete), .integer(1 << 31)),
            // Each Integer member one past its range.
            (PointTypeInfo(.realQTimeTag), .structure([.float(1), .integer(1 << 31), .bitString(BitString(msbFirst: 0, count: 8))])),
            (PointTypeInfo(.stateQTimeTagExtended), .structure([.structure([.integer(1), .integer(1 << 15)]), .bitString(BitString(msbFirst: 0, count: 8))])),
            (PointTypeInfo(.singleProtectionEvent), .structure([.bitString(BitString(msbFirst: 0, count: 8)), .integer(-(1 << 15) - 1),
                                                                .structure([.integer(1), .integer(2)])])),
            (PointTypeInfo(.realExtended), .structure([.float(1), .integer(1), .bitString(BitString(msbFirst: 0, count: 8)), .unsigned(1 << 16)])),
            (PointTypeInfo(.realQ), .structure([.float(1), .bitString(BitString(msbFirst: 0, count: 8)), .integer(0)])),
        ]
        for (info, d) in shapes { #expect(try Self.agree(info, d.encoded(), "\(d)")) }
        #expect(PointTypeInfo(.realQ).decode(.structure([.floatingPoint(.double(2.5)), .bitString(BitString(msbFirst: 0, count: 8))]))?.real == 2.5)
        // A signalling NaN arrives as sent, both ways (not quietened through a Double).
        var w = BERWriter()
        PointType.real.prepend(PointValue(real: Float(bitPattern: 0x7FA0_0001)), to: &w)
        let nan = w.toArray()
        #expect(try BERReader.withReader(nan) { r in PointTypeInfo(.real).decode(try r.readElement(), in: r) }?.real.bitPattern == 0x7FA0_0001)
        #expect(PointTypeInfo(.real).decode(try MMSData.decode(nan))?.real.bitPattern == 0x7FA0_0001)
    }

    /// A reading of a received result is the reading of the decoded result: value, type, and the
    /// result itself (decoded on demand), for a point, an error, and an undescribed point whose
    /// type is guessed.
    @Test func readingsOfReceivedResultsAreTheDecodedReadings() throws {
        let v = PointValue.real(3.25, flags: DataFlags(validity: .suspect), time: 1_700_000_000)
        let results: [AccessResult] = [.success(PointType.realQTimeTag.data(v)), .failure(.objectAccessDenied), .success(.integer(5))]
        let pdu = MMSPDU.unconfirmed(.informationReport(InformationReport(.variableListName(.vmdSpecific("DS")), results: results))).encoded()
        guard case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode(pdu) else {
            Issue.record("not a report")
            return
        }
        let received = try #require(r.received)
        var got: [PointReading] = []
        let types: [PointTypeInfo?] = [PointTypeInfo(.realQTimeTag), PointTypeInfo(.real), nil]
        try received.forEachElement { e, reader in
            let i = got.count
            got.append(PointReading(name: .vmdSpecific("P\(i)"), type: types[i], received: ReceivedAccessResult(received, offset: e.offset),
                                    element: e, in: reader, guess: i == 2))
        }
        let expected = (0..<3).map { PointReading(name: .vmdSpecific("P\($0)"), type: types[$0], result: results[$0], guess: $0 == 2) }
        #expect(got == expected)
        #expect(got[0].value == v)
        #expect(got[1].error == .objectAccessDenied && got[1].value == nil)
        #expect(got[2].type == PointTypeInfo(.discrete) && got[2].value?.discrete == 5)
        #expect(got.map(\.result) == results)
    }
}

@Suite("RBE names matched to a data set's members by their octets")
struct MemberTableTests {
    static let icc = "ICC1"
    static func n(_ item: String) -> ObjectName { .domainSpecific(domain: icc, item: item) }
    /// Members as `TASE2Client.startTransfer` defines them: the specials, then the points.
    static let members = [n("Transfer_Set_Name"), n("Transfer_Set_Time_Stamp"), n("DSConditions_Detected")]
        + (0..<200).map { n("P\($0)") } + [.vmdSpecific("P7")]

    static func table() -> MemberTable {
        MemberTable(members, isSpecial: members.map { ReportDemux.specials.contains($0.itemName) })
    }

    /// The listOfVariable of a report naming `items` (each an item's octets, as encoded or not),
    /// received: encoded as our VCC encodes its reports, one result (a failure) per item.
    static func received(_ items: [[UInt8]]) throws -> ReceivedVariableList {
        var w = BERWriter(capacity: 4096)
        InformationReport.prependPDU(encodedVariables: { w in for i in items.reversed() { w.prepend(i) } }, to: &w) { w in
            for _ in items { w.prependInteger(DataAccessError.objectNonExistent.code, tag: .context(0)) }
        }
        guard case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode(w.toArray()) else { throw BERError(.trailingData, at: 0) }
        return try #require(r.receivedVariables)
    }

    static func item(_ name: ObjectName) -> [UInt8] { VariableAccess(name).encoded() }

    /// Specials first in the report's own order (libtase2: name, conditions, time stamp), then
    /// the changes in data-set order with gaps: each item is its member.
    @Test func aReportInDataSetOrderMatches() throws {
        let t = Self.table()
        let names = [Self.n("Transfer_Set_Name"), Self.n("DSConditions_Detected"), Self.n("Transfer_Set_Time_Stamp"),
                     Self.n("P0"), Self.n("P5"), Self.n("P6"), Self.n("P199"), .vmdSpecific("P7")]
        let order = try #require(t.match(try Self.received(names.map(Self.item))))
        #expect(order == [0, 2, 1, 3, 8, 9, 202, 203])
        #expect(order.map { Self.members[$0] } == names)
        // Only specials, or nothing at all.
        #expect(t.match(try Self.received([Self.item(Self.n("Transfer_Set_Name"))])) == [0])
        #expect(t.matching)
    }

    /// A report the table cannot match in order gets nil, and so does every report after it (the
    /// client then decodes names): a point out of order, a name of no member, a special's name
    /// after a point, or a member's name encoded with a long-form length.
    @Test func aReportNotInOrderIsNotMatchedAndTheTableStopsTrying() throws {
        let good = try Self.received([Self.n("Transfer_Set_Name"), Self.n("P1"), Self.n("P2")].map(Self.item))
        var longForm = Self.item(Self.n("P2"))
        longForm.insert(0x81, at: 1)  // 30 81 nn …: the same name, another length form
        for bad in [[Self.n("P2"), Self.n("P1")].map(Self.item),
                    [Self.n("P1"), Self.n("P1")].map(Self.item),
                    [Self.n("P1"), Self.n("No_Such")].map(Self.item),
                    [Self.n("P1"), Self.n("Transfer_Set_Name")].map(Self.item),
                    [Self.n("Transfer_Set_Name")].map(Self.item) + [longForm]] {
            let t = Self.table()
            #expect(t.match(good) == [0, 4, 5])
            #expect(t.match(try Self.received(bad)) == nil, "\(hex(bad.flatMap { $0 }))")
            #expect(!t.matching)
            #expect(t.match(good) == nil)
        }
    }
}
