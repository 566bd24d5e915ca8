/// An ASN.1 OBJECT IDENTIFIER (application contexts, AP-titles, transfer syntaxes).
public struct OID: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var components: [UInt64]

    public init(_ components: [UInt64]) { self.components = components }
    public init(arrayLiteral elements: UInt64...) { self.components = elements }

    /// Parses dotted notation such as "1.0.9506.2.1"; nil when malformed.
    public init?(_ dotted: String) {
        var parts: [UInt64] = []
        for p in dotted.split(separator: ".", omittingEmptySubsequences: false) {
            guard let v = UInt64(p) else { return nil }
            parts.append(v)
        }
        guard parts.count >= 2, parts[0] <= 2, parts[0] == 2 || parts[1] < 40 else { return nil }
        self.components = parts
    }

    public var description: String { components.map(String.init).joined(separator: ".") }

    public init(berContents c: UnsafeRawBufferPointer, at offset: Int) throws {
        guard !c.isEmpty else { throw BERError(.invalidValue("empty OBJECT IDENTIFIER"), at: offset) }
        var arcs: [UInt64] = []
        var v: UInt64 = 0
        var inArc = false
        for b in c {
            if !inArc && b == 0x80 { throw BERError(.invalidValue("non-minimal OID arc"), at: offset) }
            guard v >> 57 == 0 else { throw BERError(.valueOutOfRange("OID arc over 64 bits"), at: offset) }
            v = (v << 7) | UInt64(b & 0x7F)
            inArc = true
            if b & 0x80 == 0 {
                if arcs.isEmpty {
                    let first: UInt64 = v < 40 ? 0 : (v < 80 ? 1 : 2)
                    arcs.append(first)
                    arcs.append(v - first * 40)
                } else {
                    arcs.append(v)
                }
                v = 0
                inArc = false
            }
        }
        guard !inArc else { throw BERError(.invalidValue("OID ends inside an arc"), at: offset) }
        self.components = arcs
    }

    /// The BER contents octets (without tag and length). The first subidentifier is
    /// `first * 40 + second`, computed in 128 bits: any components encode, none traps.
    public var berContents: [UInt8] {
        guard components.count >= 2 else { return [] }
        var out: [UInt8] = []
        func arc(_ v: UInt128) {
            var tmp: [UInt8] = [UInt8(v & 0x7F)]
            var x = v >> 7
            while x > 0 {
                tmp.append(UInt8(x & 0x7F) | 0x80)
                x >>= 7
            }
            out.append(contentsOf: tmp.reversed())
        }
        arc(UInt128(components[0]) * 40 + UInt128(components[1]))
        for c in components.dropFirst(2) { arc(UInt128(c)) }
        return out
    }
}
