import BER
@testable import MMS
import Testing
import TestSupport

/// A received informationReport keeps its results encoded after a check at receipt; these tests
/// hold that check to the decoder and the kept results to what decoding would have given.
@Suite("Received informationReports: checked at receipt, decoded on demand")
struct ReceivedResultsTests {
    /// One value of every kind of Data, nested and not.
    static let samples: [MMSData] = [
        .structure([.float(12.5), .bitString(BitString(msbFirst: 0x40 << 56, count: 8))]),
        .structure([.integer(-7), .structure([.integer(1_700_000_000), .integer(250)]), .bitString(BitString(msbFirst: 0, count: 8)), .unsigned(3)]),
        .array([.boolean(true), .boolean(false)]),
        .structure([.floatingPoint(.double(-1e300)), .octetString([1, 2, 3]), .visibleString("Line 7"), .generalizedTime("20261201083106Z")]),
        .structure([.binaryTime(TimeOfDay(millisecondsSinceMidnight: 1000, daysSince1984: 15_000)), .bcd(42),
                    .booleanArray(BitString(msbFirst: 0xA0 << 56, count: 3)), .objectIdentifier(OID([1, 0, 9506, 2, 1])),
                    .mmsString("Zürich"), .utcTime(UtcTime(secondsSinceEpoch: 1_764_577_866, fraction: 0x80_0000, quality: 0x0A))]),
        .structure([.structure([.structure([.integer(1)])])]),
        .bitString(BitString(bytes: [UInt8](repeating: 0xF0, count: 12), count: 96)),
        .float(-0.25),
    ]

    /// `body`'s result, or its BERError; any other error is recorded as a failure.
    static func outcome<T>(_ body: () throws -> T) -> Result<T, BERError>? {
        do { return .success(try body()) } catch let e as BERError { return .failure(e) } catch {
            Issue.record("not a BERError: \(error)")
            return nil
        }
    }

    /// Feeds each of `encodings`, then 599 mutations of it, under each of `limits`, to `decode`
    /// and `check` (each giving a count of what it read): both must accept the same bytes with
    /// the same count and reject the rest with the same error. Returns how many were accepted
    /// and rejected, so that a caller can hold the mutations to having reached both.
    static func agree(_ encodings: [[UInt8]], seed: UInt64, limits: [BERLimits],
                      decode: ([UInt8], BERLimits) throws -> Int, check: ([UInt8], BERLimits) throws -> Int) -> (accepted: Int, rejected: Int) {
        var rng = SplitMix64(state: seed)
        var accepted = 0, rejected = 0
        for bytes in encodings {
            for round in 0..<600 {
                let m = round == 0 ? bytes : mutate(bytes, &rng)
                for l in limits {
                    guard let decoded = outcome({ try decode(m, l) }), let checked = outcome({ try check(m, l) }) else { continue }
                    switch (decoded, checked) {
                    case (.success(let a), .success(let b)):
                        accepted += 1
                        #expect(a == b, "\(hex(m))")
                    case (.failure(let a), .failure(let b)):
                        rejected += 1
                        #expect(a == b, "\(hex(m))")
                    case (let a, let b):
                        Issue.record("decode \(a) but check \(b) for \(hex(m))")
                    }
                }
            }
        }
        return (accepted, rejected)
    }

    /// Over every kind of value, mutated, and under a nesting limit that some exceed, the check
    /// and the decoder accept the same bytes and reject the rest with the same error.
    @Test func theCheckAtReceiptIsExactlyAsStrictAsDecoding() {
        let n = Self.agree(Self.samples.map { $0.encoded() }, seed: 0x5EC0_11EC_7ED5, limits: [.default, BERLimits(maxDataNesting: 2)],
            decode: { m, l in try BERReader.withReader(m, limits: l) { r in _ = try MMSData.decode(try r.readElement(), in: r, nesting: 0); return 1 } },
            check: { m, l in try BERReader.withReader(m, limits: l) { r in try MMSData.validate(try r.readElement(), in: r, nesting: 0); return 1 } })
        #expect(n.accepted > 500)
        #expect(n.rejected > 2000)
    }

    /// The informationReport that `pdu`'s encoding decodes to.
    static func received(_ pdu: MMSPDU) throws -> InformationReport {
        guard case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode(pdu.encoded()) else { throw BERError(.trailingData, at: 0) }
        return r
    }

    static func reportPDU(_ results: [AccessResult]) -> MMSPDU {
        .unconfirmed(.informationReport(InformationReport(.variableListName(.domainSpecific(domain: "ICC1", item: "DS_1")), results: results)))
    }

    /// A decoded report keeps its results encoded; decoded on demand, whole or one by one, they
    /// are what was sent, and the report encodes to the bytes it came from.
    @Test func resultsAreKeptEncodedAndDecodedOnDemand() throws {
        let results: [AccessResult] = Self.samples.map(AccessResult.success) + [.failure(.objectNonExistent)]
        let pdu = Self.reportPDU(results)
        let bytes = pdu.encoded()
        let r = try Self.received(pdu)
        let received = try #require(r.received)
        #expect(r.resultCount == results.count)
        #expect(received.count == results.count)
        #expect(r.results == results)
        #expect(try received.decoded() == results)
        var one: [AccessResult] = []
        try received.forEachElement { e, reader in
            one.append(try AccessResult(e, in: reader))
            #expect(ReceivedAccessResult(received, offset: e.offset).result == one.last)
        }
        #expect(one == results)
        #expect(MMSPDU.unconfirmed(.informationReport(r)).encoded() == bytes)
        #expect(MMSPDU.unconfirmed(.informationReport(r)) == pdu)
        // An offset that is no result's is an error, never a read outside the bytes.
        for bad in [-5, -1, received.bytes.count, received.bytes.count + 7] {
            #expect(throws: BERError.self) { try received.result(at: bad) }
            #expect(ReceivedAccessResult(received, offset: bad).result == .failure(.objectValueInvalid))
        }
        #expect(throws: BERError.self) { try BERReader.withReader([0xA2, 0x00]) { r in try r.element(at: -1) } }
        // A report built here has nothing received.
        #expect(InformationReport(.variableListName(.vmdSpecific("X")), results: results).received == nil)
        // Replacing the results replaces what is kept.
        var edited = r
        edited.results = [.success(.integer(1))]
        #expect(edited.received == nil)
        #expect(edited.resultCount == 1)
    }

    /// A bad value anywhere in a report fails its decoding at receipt, with the decoder's error
    /// at the offending element (a float of an unknown format, data nested past the limit).
    @Test func aBadResultFailsTheReportAtReceipt() throws {
        var results: [AccessResult] = (0..<100).map { .success(.structure([.float(Float($0)), .bitString(BitString(msbFirst: 0, count: 8))])) }
        let good = Self.reportPDU(results).encoded()
        // Data_Real 50's exponent-width octet 8 becomes 9.
        let float50 = Array(MMSData.float(50).encoded())
        var bad = good
        let at = try #require(firstIndex(of: float50, in: good))
        bad[at + 2] = 9
        #expect(throws: BERError.self) { try MMSPDU.decode(bad) }
        do {
            _ = try MMSPDU.decode(bad)
        } catch let e as BERError {
            #expect(e.offset == at)
            guard case .invalidValue = e.kind else {
                Issue.record("wrong error \(e)")
                return
            }
        }
        // Nested deeper than the negotiated limit.
        results[3] = .success(.structure([.structure([.structure([.integer(1)])])]))
        let deep = Self.reportPDU(results).encoded()
        #expect(throws: BERError.self) { try MMSPDU.decode(deep, limits: BERLimits(maxDataNesting: 2)) }
        #expect(throws: Never.self) { try MMSPDU.decode(deep, limits: BERLimits(maxDataNesting: 3)) }
    }

    /// Lists of variables of every form a report's listOfVariable can take: names in all three
    /// scopes (one of the longest an identifier may be), another variable specification, and an
    /// alternate access.
    static let variableLists: [[VariableAccess]] = [
        [VariableAccess(.domainSpecific(domain: "ICC1", item: "Transfer_Set_Name")), VariableAccess(.vmdSpecific("Point_00017")),
         VariableAccess(.aaSpecific("IM_Transfer_Set"))],
        [VariableAccess(.domainSpecific(domain: String(repeating: "D", count: 32), item: String(repeating: "i", count: 32)))],
        [VariableAccess(.other(tag: 1, encoded: [0x81, 0x02, 0x00, 0x07])), VariableAccess(.vmdSpecific("A$b"))],
        [VariableAccess(.domainSpecific(domain: "ICC1", item: "DSTrans1"), alternateAccess: .path(["Status", "Value"]))],
    ]

    static func listBytes(_ l: [VariableAccess]) -> [UInt8] {
        var w = BERWriter(capacity: 256)
        VariableAccess.prependList(l, to: &w)
        return w.toArray()
    }

    /// Mutated, and under a nesting limit that some exceed, a listOfVariable is accepted by the
    /// check at receipt exactly when the decoder accepts it, and rejected with the same error.
    @Test func theNamesCheckIsExactlyAsStrictAsDecoding() {
        let n = Self.agree(Self.variableLists.map(Self.listBytes), seed: 0x0B1E_C7_4A3E5, limits: [.default, BERLimits(maxDepth: 4)],
            decode: { m, l in try BERReader.withReader(m, limits: l) { r in try VariableAccess.decodeList(&r).count } },
            check: { m, l in try BERReader.withReader(m, limits: l) { r in try VariableAccess.validateList(&r) } })
        #expect(n.accepted > 300)
        #expect(n.rejected > 2000)
    }

    /// A received listOfVariable is kept encoded: decoded on demand it is what was sent, its
    /// first name is told without decoding the rest, and the report encodes to its own bytes.
    @Test func namesAreKeptEncodedAndDecodedOnDemand() throws {
        for l in Self.variableLists {
            let results = l.indices.map { AccessResult.success(.integer(Int64($0))) }
            let pdu = MMSPDU.unconfirmed(.informationReport(InformationReport(.listOfVariable(l), results: results)))
            let bytes = pdu.encoded()
            let r = try Self.received(pdu)
            let names = try #require(r.receivedVariables)
            #expect(names.count == l.count)
            #expect(names.bytes == Self.listBytes(l))
            #expect(try names.decoded() == l)
            #expect(names.firstName == l[0].variable.name)
            #expect(r.variableAccessSpecification == VariableAccessSpecification.listOfVariable(l))
            #expect(MMSPDU.unconfirmed(.informationReport(r)).encoded() == bytes)
            #expect(MMSPDU.unconfirmed(.informationReport(r)) == pdu)
            var edited = r
            edited.variableAccessSpecification = VariableAccessSpecification.variableListName(.vmdSpecific("X"))
            #expect(edited.receivedVariables == nil)
        }
        // A report naming a data set keeps no list.
        let ds = MMSPDU.unconfirmed(.informationReport(InformationReport(.variableListName(.vmdSpecific("DS")), results: [.success(.integer(1))])))
        let r = try Self.received(ds)
        #expect(r.receivedVariables == nil)
        #expect(r.variableAccessSpecification == .variableListName(.vmdSpecific("DS")))
    }

    /// A hostile name anywhere in a report's listOfVariable fails the report at receipt, with
    /// the decoder's error at the offending element: an identifier one character too long, a
    /// control octet in a name, a name of no scope MMS has, a count that does not match.
    @Test func aBadNameFailsTheReportAtReceipt() throws {
        func report(_ l: [VariableAccess], results: Int? = nil) -> [UInt8] {
            MMSPDU.unconfirmed(.informationReport(InformationReport(.listOfVariable(l),
                results: (0..<(results ?? l.count)).map { .success(.integer(Int64($0))) }))).encoded()
        }
        let points = (0..<50).map { VariableAccess(.domainSpecific(domain: "ICC1", item: "P\($0)")) }
        func failure(_ bytes: [UInt8]) -> BERError? {
            do { _ = try MMSPDU.decode(bytes); return nil } catch let e as BERError { return e } catch { Issue.record("\(error)"); return nil }
        }
        #expect(failure(report(points)) == nil)
        var long = points
        long[31] = VariableAccess(.domainSpecific(domain: "ICC1", item: String(repeating: "x", count: 33)))
        guard case .valueOutOfRange? = failure(report(long))?.kind else { Issue.record("a 33-character name was accepted"); return }
        // P7 → P\u{7}: a control octet.
        var ctl = report(points)
        let p7 = Array("P7".utf8)
        let at = try #require(firstIndex(of: [0x1A, 0x02] + p7, in: ctl))
        ctl[at + 3] = 0x07
        let e = try #require(failure(ctl))
        guard case .invalidValue = e.kind else { Issue.record("wrong error \(e)"); return }
        #expect(e.offset == at)
        // The name's CHOICE tag [0] becomes [3]: no ObjectName.
        var scope = report(points)
        let p8 = try #require(firstIndex(of: [0xA1, 0x0A, 0x1A, 0x04] + Array("ICC1".utf8) + [0x1A, 0x02] + Array("P8".utf8), in: scope))
        scope[p8] = 0xA3
        guard case .unexpectedTag? = failure(scope)?.kind else { Issue.record("a name of no scope was accepted"); return }
        guard case .invalidValue? = failure(report(points, results: 49))?.kind else { Issue.record("49 results for 50 names accepted"); return }
    }

    func firstIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        return (0...(hay.count - needle.count)).first { Array(hay[$0..<($0 + needle.count)]) == needle }
    }
}
