import BER
import Testing

private func read<T>(_ bytes: [UInt8], limits: BERLimits = .default, _ body: (inout BERReader) throws -> T) throws -> T {
    try BERReader.withReader(bytes, limits: limits, body)
}

private func expectKind(_ bytes: [UInt8], limits: BERLimits = .default, _ check: (BERError.Kind) -> Bool,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try read(bytes, limits: limits) { r in try readAll(&r) }
        Issue.record("no error for \(bytes.prefix(16))", sourceLocation: sourceLocation)
    } catch let e as BERError {
        #expect(check(e.kind), "unexpected \(e)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
    }
}

/// Walks every element, descending into constructed ones.
@discardableResult
private func readAll(_ r: inout BERReader) throws -> Int {
    var n = 0
    while !r.isAtEnd {
        let e = try r.readElement()
        n += 1
        if e.tag.isConstructed {
            var c = try r.contents(of: e)
            n += try readAll(&c)
        }
    }
    return n
}

@Suite("BER reader")
struct BERReaderTests {
    @Test func shortAndLongForms() throws {
        // [5] INTEGER 300, long-form length 0x81 0x02.
        try read([0x85, 0x81, 0x02, 0x01, 0x2C]) { r in
            let e = try r.readElement()
            #expect(e.tag == .context(5))
            #expect(try r.integer(of: e) == 300)
            #expect(!e.hasMinimalLength)
        }
        // Long-form tag number 79: 9F 4F.
        try read([0x9F, 0x4F, 0x01, 0x07]) { r in
            let e = try r.readElement()
            #expect(e.tag == .context(79))
            #expect(try r.integer(of: e) == 7)
        }
        // Negative integers sign-extend.
        try read([0x02, 0x02, 0xFF, 0x38]) { r in
            let v = try r.integer(of: r.readElement())
            #expect(v == -200)
        }
        // Unsigned with a leading zero octet.
        try read([0x86, 0x05, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]) { r in
            let v = try r.unsigned(of: r.readElement())
            #expect(v == 0xFFFF_FFFF)
        }
    }

    @Test func indefiniteLength() throws {
        // SEQUENCE (indefinite) { INTEGER 1, SEQUENCE (indefinite) { BOOLEAN TRUE } }
        let bytes: [UInt8] = [0x30, 0x80, 0x02, 0x01, 0x01, 0x30, 0x80, 0x01, 0x01, 0xFF, 0x00, 0x00, 0x00, 0x00]
        try read(bytes) { r in
            let e = try r.readElement()
            #expect(e.isIndefinite)
            #expect(r.isAtEnd)
            var c = try r.contents(of: e)
            #expect(try c.integer(of: c.readElement()) == 1)
            var inner = try c.readConstructed(.sequence, "inner")
            #expect(try inner.boolean(of: inner.readElement()))
            #expect(c.isAtEnd)
        }
    }

    @Test func typedErrors() {
        // Truncated header and contents.
        expectKind([0x30]) { $0 == .truncated }
        expectKind([0x04, 0x05, 0x01]) { $0 == .truncated }
        // A length beyond the buffer.
        expectKind([0x04, 0x82, 0x10, 0x00, 0x01]) { $0 == .truncated }
        // Nine length octets, and the reserved 0xFF.
        expectKind([0x04, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]) { $0 == .unsupportedLengthForm }
        expectKind([0x04, 0xFF, 0]) { $0 == .unsupportedLengthForm }
        // An 8-octet length larger than the limit.
        expectKind([0x04, 0x88, 0x7F, 0, 0, 0, 0, 0, 0, 0]) { if case .elementTooLarge = $0 { return true } else { return false } }
        // Indefinite length without end-of-contents, and on a primitive.
        expectKind([0x30, 0x80, 0x02, 0x01, 0x01]) { $0 == .missingEndOfContents }
        expectKind([0x04, 0x80, 0x00, 0x00]) { $0 == .indefiniteLengthOnPrimitive }
        // A tag number over 32 bits.
        expectKind([0x9F, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00]) { $0 == .invalidTag }
    }

    @Test func nestingTenThousandDeep() {
        // 10,000 nested definite-length SEQUENCEs.
        var bytes: [UInt8] = []
        for _ in 0..<10_000 {
            let l = bytes.count
            var hdr: [UInt8] = [0x30]
            if l < 128 { hdr.append(UInt8(l)) } else if l < 256 { hdr += [0x81, UInt8(l)] } else if l < 65536 {
                hdr += [0x82, UInt8(l >> 8), UInt8(l & 0xFF)]
            } else { hdr += [0x83, UInt8(l >> 16), UInt8(l >> 8 & 0xFF), UInt8(l & 0xFF)] }
            bytes = hdr + bytes
        }
        expectKind(bytes) { if case .nestingTooDeep = $0 { return true } else { return false } }
        // The same depth with indefinite lengths.
        var indefinite: [UInt8] = []
        for _ in 0..<10_000 { indefinite += [0x30, 0x80] }
        for _ in 0..<10_000 { indefinite += [0x00, 0x00] }
        expectKind(indefinite) { if case .nestingTooDeep = $0 { return true } else { return false } }
    }

    @Test func bitStrings() throws {
        try read([0x03, 0x02, 0x03, 0xE0]) { r in
            let b = try r.bitString(of: r.readElement())
            #expect(b.count == 5)
            #expect(b[bit: 0] && b[bit: 1] && b[bit: 2] && !b[bit: 3])
        }
        expectKindBitString([0x03, 0x02, 0x08, 0xFF])
        expectKindBitString([0x03, 0x01, 0x01])
        expectKindBitString([0x03, 0x00])
    }

    private func expectKindBitString(_ bytes: [UInt8]) {
        #expect(throws: BERError.self) { try read(bytes) { r in _ = try r.bitString(of: r.readElement()) } }
    }

    @Test func inputLimit() {
        #expect(throws: BERError.self) {
            try read([UInt8](repeating: 0, count: 100), limits: BERLimits(maxInputLength: 10)) { _ in () }
        }
    }

    @Test func objectIdentifiers() throws {
        let oid: OID = [1, 0, 9506, 2, 1]
        #expect(oid.berContents == [0x28, 0xCA, 0x22, 0x02, 0x01])
        #expect(OID("1.0.9506.2.3") == [1, 0, 9506, 2, 3])
        #expect(OID("1.x") == nil)
        try read([0x06, 0x05, 0x28, 0xCA, 0x22, 0x02, 0x01]) { r in
            let v = try r.objectIdentifier(of: r.readElement())
            #expect(v == oid)
        }
        #expect(throws: BERError.self) { try read([0x06, 0x02, 0x28, 0xCA]) { r in _ = try r.objectIdentifier(of: r.readElement()) } }
    }
}

@Suite("Object identifiers from users and peers")
struct OIDInputTests {
    /// The largest arcs encode without overflow; our decoder refuses arcs over 64 bits with a typed error.
    @Test func hugeArcsNeverTrap() throws {
        let oid = try #require(OID("2.18446744073709551615"))
        let c = oid.berContents
        #expect(c == [0x82] + [UInt8](repeating: 0x80, count: 8) + [0x4F])
        #expect(throws: BERError.self) { try c.withUnsafeBytes { try OID(berContents: $0, at: 0) } }
        #expect(OID("2.5.18446744073709551615")?.berContents.count == 11)
        #expect(OID("1.18446744073709551616") == nil)
        #expect(OID("1.40") == nil && OID("3.1") == nil && OID("1") == nil && OID("1..2") == nil && OID("1.-2") == nil)
    }
}
