import BER
import MMS
import OSI
import Testing
import TestSupport

@Suite("Bad input is a typed error, never a trap")
struct MalformedInputTests {
    /// Every strict prefix of several vectors fails with a typed error (or, for prefixes that cut
    /// at a TPKT boundary, yields nothing yet).
    @Test(arguments: ["008", "011", "019", "045", "052", "065", "070"])
    func everyTruncation(prefix: String) throws {
        let full = try Fixtures.vector("01", prefix: prefix)
        var ctx = PresentationContexts()
        let tsdu = Array(full.dropFirst(7))  // after TPKT and the DT header
        for n in 0..<tsdu.count {
            do {
                _ = try OSIMessage.decode(tsdu: Array(tsdu.prefix(n)), contexts: &ctx)
                Issue.record("prefix \(n) of \(prefix) decoded")
            } catch is BERError {
            } catch is OSIError {
            } catch {
                Issue.record("untyped \(error)")
            }
        }
        // The MMS PDU alone, truncated anywhere.
        if case .data(let pdu) = try OSIMessage.decode(tsdu: tsdu, contexts: &ctx) {
            let bytes = pdu.encoded()
            for n in 0..<bytes.count {
                #expect(throws: BERError.self) { _ = try MMSPDU.decode(Array(bytes.prefix(n))) }
            }
        }
    }

    @Test func lengthBeyondBufferAndLongLengths() {
        // Read request whose inner length runs past the end.
        #expect(throws: BERError.self) { try MMSPDU.decode([0xA0, 0x05, 0x02, 0x01, 0x01, 0xA4, 0x7F]) }
        // Nine length octets.
        #expect(throws: BERError.self) { try MMSPDU.decode([0xA0, 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0]) }
        // Indefinite length without end-of-contents.
        #expect(throws: BERError.self) { try MMSPDU.decode([0xA0, 0x80, 0x02, 0x01, 0x01]) }
    }

    @Test func deepNesting() {
        // 10,000 nested structures in a Data value.
        var bytes: [UInt8] = []
        for _ in 0..<10_000 { bytes += [0xA2, 0x80] }
        for _ in 0..<10_000 { bytes += [0, 0] }
        #expect(throws: BERError.self) { _ = try MMSData.decode(bytes) }
    }

    @Test func dataValues() {
        // Bit-string with 8 unused bits.
        #expect(throws: BERError.self) { _ = try MMSData.decode([0x84, 0x02, 0x08, 0x00]) }
        // Floats with exponent width 9 (single) and 8 (double), and a 3-octet float.
        #expect(throws: BERError.self) { _ = try MMSData.decode([0x87, 0x05, 0x09, 0x41, 0x48, 0, 0]) }
        #expect(throws: BERError.self) { _ = try MMSData.decode([0x87, 0x09, 0x08, 0, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(throws: BERError.self) { _ = try MMSData.decode([0x87, 0x03, 0x08, 0, 0]) }
        // A type description with exponent width 7.
        #expect(throws: BERError.self) {
            try BERReader.withReader([0xA7, 0x06, 0x02, 0x01, 0x20, 0x02, 0x01, 0x07]) { r in _ = try TypeSpecification.decode(&r) }
        }
        // Boolean of two octets, unknown Data tag, integer of nine octets.
        #expect(throws: BERError.self) { _ = try MMSData.decode([0x83, 0x02, 0x00, 0x00]) }
        #expect(throws: BERError.self) { _ = try MMSData.decode([0x88, 0x00]) }
        #expect(throws: BERError.self) { _ = try MMSData.decode([0x85, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0]) }
        // Binary time of 5 octets, UTC time of 7.
        #expect(throws: BERError.self) { _ = try MMSData.decode([0x8C, 0x05, 0, 0, 0, 0, 0]) }
        #expect(throws: BERError.self) { _ = try MMSData.decode([0x91, 0x07, 0, 0, 0, 0, 0, 0, 0]) }
    }

    @Test func namesOverThirtyTwoCharacters() {
        let long = String(repeating: "A", count: 33)
        let read = MMSPDU.confirmedRequest(invokeID: 1, .read(ReadRequest(.listOfVariable([VariableAccess(.vmdSpecific(long))]))))
        do {
            _ = try MMSPDU.decode(read.encoded())
            Issue.record("a 33-character name decoded")
        } catch let e as BERError {
            guard case .valueOutOfRange = e.kind else {
                Issue.record("wrong error \(e)")
                return
            }
        } catch { Issue.record("untyped \(error)") }
        let ok = MMSPDU.confirmedRequest(invokeID: 1, .read(ReadRequest(.listOfVariable([VariableAccess(.vmdSpecific(String(long.dropFirst())))]))))
        #expect(throws: Never.self) { _ = try MMSPDU.decode(ok.encoded()) }
    }

    @Test func osiLayers() {
        var ctx = PresentationContexts()
        // Session: unknown SPDU, length past the end, data without a presentation PDU.
        #expect(throws: OSIError.self) { _ = try OSIMessage.decode(tsdu: [0x77, 0x00], contexts: &ctx) }
        #expect(throws: OSIError.self) { _ = try OSIMessage.decode(tsdu: [0x0D, 0x10, 0x05], contexts: &ctx) }
        #expect(throws: BERError.self) { _ = try OSIMessage.decode(tsdu: [0x01, 0x00, 0x01, 0x00], contexts: &ctx) }
        // Data for a presentation context nobody defined.
        var w = BERWriter()
        MMSPDU.concludeRequest.prepend(to: &w)
        PresentationUserData.prependFullyEncoded(contextID: 7, to: &w)
        #expect(throws: OSIError.self) { _ = try OSIMessage.decode(tsdu: SPDU.dataHeader + w.toArray(), contexts: &ctx) }
    }
}
