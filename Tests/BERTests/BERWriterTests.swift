import BER
import Testing

@Suite("BER writer")
struct BERWriterTests {
    @Test func integersAreMinimal() {
        let cases: [(Int64, [UInt8])] = [
            (0, [0x00]), (127, [0x7F]), (128, [0x00, 0x80]), (-1, [0xFF]), (-128, [0x80]), (-129, [0xFF, 0x7F]),
            (2000, [0x07, 0xD0]), (1_700_000_000, [0x65, 0x53, 0xF1, 0x00]), (Int64.min, [0x80, 0, 0, 0, 0, 0, 0, 0]),
        ]
        for (v, contents) in cases {
            var w = BERWriter(capacity: 16)
            w.prependInteger(v)
            #expect(w.toArray() == [0x02, UInt8(contents.count)] + contents, "\(v)")
        }
        var w = BERWriter()
        w.prependUnsigned(0xFF, tag: .context(6))
        #expect(w.toArray() == [0x86, 0x02, 0x00, 0xFF])
        w.reset()
        w.prependUnsigned(UInt64.max, tag: .context(6))
        #expect(w.toArray() == [0x86, 0x09, 0x00] + [UInt8](repeating: 0xFF, count: 8))
    }

    /// The unchecked cursor writes what the checked writer does, and the writer grows for it.
    @Test func prependCursorMatchesTheWriter() {
        let ints: [Int64] = [0, 1, 127, 128, 255, 256, -1, -128, -129, 32767, -32768, 1_700_000_000, .max, .min]
        for v in ints {
            var a = BERWriter(capacity: 16)
            a.prepend(0x55)
            a.prependUnchecked(maxCount: 10) { c in c.integer(v, tag: .context(5)) }
            var g = BERWriter(capacity: 16)
            g.prepend(0x55)
            g.prependInteger(v, tag: .context(5))
            #expect(a.toArray() == g.toArray(), "\(v)")
        }
        for u: UInt64 in [0, 127, 128, 0xFFFF, 0x8000, .max] {
            var a = BERWriter(capacity: 16)
            a.prependUnchecked(maxCount: 11) { c in c.unsigned(u, tag: .context(6)) }
            var g = BERWriter(capacity: 16)
            g.prependUnsigned(u, tag: .context(6))
            #expect(a.toArray() == g.toArray(), "\(u)")
        }
        // A structure of float and flags, into a writer that must grow to hold it.
        var a = BERWriter(capacity: 16)
        for _ in 0..<3 { a.prependUnchecked(maxCount: 40) { c in
            let end = c.position
            c.bitString8(0x20, tag: .context(4))
            c.float32(12.5, tag: .context(7))
            c.header(.contextConstructed(2), length: c.count(since: end))
        } }
        #expect(a.count == 39)
    }

    @Test func lengthsAndGrowth() throws {
        var w = BERWriter(capacity: 16)
        let payload = [UInt8](repeating: 0xAB, count: 300)
        w.prependConstructed(.sequence) { w in
            w.prependOctetString(payload)
            w.prependInteger(5)
        }
        let bytes = w.toArray()
        #expect(Array(bytes.prefix(4)) == [0x30, 0x82, 0x01, 0x33])
        try BERReader.withReader(bytes) { r in
            var s = try r.readConstructed(.sequence, "seq")
            #expect(try s.integer(of: s.readElement()) == 5)
            #expect(s.octets(of: try s.readElement()) == payload)
        }
    }

    /// The one-step 8-bit BIT STRING writes what the general one does.
    @Test func bitString8MatchesTheGeneralForm() {
        for b: UInt8 in [0, 1, 0x80, 0xC4, 0xFF] {
            var a = BERWriter(capacity: 2)
            a.prependBitString8(b, tag: .context(4))
            var g = BERWriter(capacity: 8)
            g.prependBitString(BitString(msbFirst: UInt64(b) << 56, count: 8), tag: .context(4))
            #expect(a.toArray() == g.toArray())
        }
    }

    @Test func tagsAndBitStrings() {
        var w = BERWriter()
        w.prependNull(tag: .context(79))
        #expect(w.toArray() == [0x9F, 0x4F, 0x00])
        w.reset()
        var b = BitString(count: 12)
        b[bit: 0] = true
        b[bit: 1] = true
        b[bit: 3] = true
        b[bit: 4] = true
        w.prependBitString(b, tag: .context(4))
        #expect(w.toArray() == [0x84, 0x03, 0x04, 0xD8, 0x00])
        // Long bit strings (85 services-supported bits) live on the heap.
        var long = BitString(count: 85)
        long[bit: 84] = true
        w.reset()
        w.prependBitString(long)
        #expect(w.toArray().count == 2 + 12)
        #expect(w.toArray()[2] == 3)
    }
}
