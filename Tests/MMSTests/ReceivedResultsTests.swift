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

    static func decode(_ bytes: [UInt8], _ limits: BERLimits) -> Result<MMSData, BERError>? {
        outcome { try BERReader.withReader(bytes, limits: limits) { r in try MMSData.decode(try r.readElement(), in: r, nesting: 0) } }
    }

    static func check(_ bytes: [UInt8], _ limits: BERLimits) -> Result<Void, BERError>? {
        outcome { try BERReader.withReader(bytes, limits: limits) { r in try MMSData.validate(try r.readElement(), in: r, nesting: 0) } }
    }

    /// Over every kind of value, mutated, and under a nesting limit that some exceed, the check
    /// and the decoder accept the same bytes and reject the rest with the same error.
    @Test func theCheckAtReceiptIsExactlyAsStrictAsDecoding() {
        var rng = SplitMix64(state: 0x5EC0_11EC_7ED5)
        var accepted = 0, rejected = 0
        for d in Self.samples {
            let bytes = d.encoded()
            for round in 0..<600 {
                let m = round == 0 ? bytes : mutate(bytes, &rng)
                for limits in [BERLimits.default, BERLimits(maxDataNesting: 2)] {
                    guard let decoded = Self.decode(m, limits), let checked = Self.check(m, limits) else { continue }
                    switch (decoded, checked) {
                    case (.success, .success): accepted += 1
                    case (.failure(let a), .failure(let b)):
                        rejected += 1
                        #expect(a == b, "\(hex(m))")
                    case (let a, let b):
                        Issue.record("decode \(a) but check \(b) for \(hex(m))")
                    }
                }
            }
        }
        #expect(accepted > 500)
        #expect(rejected > 2000)
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
        guard case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode(bytes) else {
            Issue.record("not a report")
            return
        }
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

    func firstIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        return (0...(hay.count - needle.count)).first { Array(hay[$0..<($0 + needle.count)]) == needle }
    }
}
