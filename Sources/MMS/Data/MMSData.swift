import BER

/// MMS `Data` (ISO 9506-2): the values read, written and reported.
///
/// Not `indirect`: the recursion goes through arrays, so a scalar value costs no
/// heap allocation, and a structure one (its element array).
public enum MMSData: Hashable, Sendable {
    case array([MMSData])
    case structure([MMSData])
    case boolean(Bool)
    case bitString(BitString)
    case integer(Int64)
    case unsigned(UInt64)
    case floatingPoint(FloatingPoint)
    case octetString([UInt8])
    case visibleString(String)
    case generalizedTime(String)
    case binaryTime(TimeOfDay)
    case bcd(Int64)
    case booleanArray(BitString)
    case objectIdentifier(OID)
    case mmsString(String)
    case utcTime(UtcTime)

    /// MMS floating point: the format (single or double) is kept so that re-encoding is exact.
    public enum FloatingPoint: Hashable, Sendable {
        case single(Float)
        case double(Double)
        public var doubleValue: Double {
            switch self {
            case .single(let f): return Double(f)
            case .double(let d): return d
            }
        }
    }

    /// A single-precision float, the form TASE.2 uses.
    public static func float(_ v: Float) -> MMSData { .floatingPoint(.single(v)) }

    // MARK: Tags

    enum T {
        static let array = BERTag.contextConstructed(1)
        static let structure = BERTag.contextConstructed(2)
    }

    // MARK: Decoding

    /// Reads one Data element.
    public static func decode(_ r: inout BERReader) throws -> MMSData {
        let e = try r.readElement()
        return try decode(e, in: r)
    }

    /// Decodes the Data element `e` found by `r`. Structures and arrays may nest no deeper
    /// than `r.limits.maxDataNesting` (the negotiated dataStructureNestingLevel).
    public static func decode(_ e: BERElement, in r: BERReader) throws -> MMSData {
        try decode(e, in: r, nesting: 0)
    }

    static func decode(_ e: BERElement, in r: BERReader, nesting: Int) throws -> MMSData {
        guard e.tag.isConstructed else { return try decodePrimitive(e, in: r) }
        let c = try members(of: e, in: r, nesting: nesting)
        var items: [MMSData] = []
        items.reserveCapacity(min(e.contentLength / 5 + 1, 64))
        var o = c.offset
        while o < c.end {
            let child = try c.element(at: o)
            o = child.endOffset
            items.append(child.tag.isConstructed ? try decode(child, in: c, nesting: nesting + 1) : try decodePrimitive(child, in: c))
        }
        return e.tag.number == 1 ? .array(items) : .structure(items)
    }

    /// Checks the Data element `e` as `decode` would, building nothing but the rare values that
    /// own storage (strings, OIDs, long bit strings): the walk a received report gets before its
    /// results are kept encoded. It shares `members` and the primitive decoders with `decode`,
    /// so what one accepts the other does (`theCheckAtReceiptIsExactlyAsStrictAsDecoding`).
    static func validate(_ e: BERElement, in r: BERReader, nesting: Int) throws {
        try validateInline(e, in: r, nesting: nesting)
    }

    /// `validate`, inlined into the loop over a list's results: a point's structure is checked
    /// without a call, and only nested structures recurse.
    @inline(__always)
    static func validateInline(_ e: BERElement, in r: BERReader, nesting: Int) throws {
        guard e.tag.isConstructed else { return try validatePrimitive(e, in: r) }
        let c = try members(of: e, in: r, nesting: nesting)
        var o = c.offset
        while o < c.end {
            let child = try c.element(at: o)
            o = child.endOffset
            // Leaves are checked here, not by a call per leaf: a structure's members mostly are.
            if child.tag.isConstructed { try validate(child, in: c, nesting: nesting + 1) } else { try validatePrimitive(child, in: c) }
        }
    }

    /// The scalars of every point are checked by the functions that decode them, without
    /// building an MMSData (a bit string of 8 bits and a single float, always valid, without a
    /// call); an OctetString (an information buffer) has nothing to check; the rest is decoded
    /// and dropped.
    @inline(__always)
    static func validatePrimitive(_ e: BERElement, in r: BERReader) throws {
        // Inline first: a bit string of 8 bits and a single-precision float, each always valid.
        let first = e.contentLength > 0 ? r.byte(at: e.contentOffset) : 0xFF
        switch e.tag {
        case .context(4), .context(14):
            if e.contentLength != 2 || first != 0 { _ = try BitString.bitCount(berContents: r.contentBytes(of: e), at: e.offset) }
        case .context(5): _ = try r.integer(of: e)
        case .context(6): _ = try r.unsigned(of: e)
        case .context(7): if e.contentLength != 5 || first != 8 { _ = try floatingPoint(e, in: r) }
        case .context(9): break
        default: _ = try decodePrimitive(e, in: r)
        }
    }

    /// A reader over the members of the constructed Data element `e` (an array or a structure).
    @inline(__always)
    static func members(of e: BERElement, in r: BERReader, nesting: Int) throws -> BERReader {
        let tag = e.tag
        guard tag.tagClass == .contextSpecific, tag.number == 1 || tag.number == 2 else {
            throw BERError(.unexpectedTag(expected: "Data", found: tag), at: e.offset)
        }
        guard nesting < r.limits.maxDataNesting else {
            throw BERError(.invalidValue("data nested deeper than the negotiated \(r.limits.maxDataNesting) levels"), at: e.offset)
        }
        return try r.contents(of: e)
    }

    /// A primitive Data element.
    static func decodePrimitive(_ e: BERElement, in r: BERReader) throws -> MMSData {
        let tag = e.tag
        guard tag.tagClass == .contextSpecific else {
            throw BERError(.unexpectedTag(expected: "Data", found: tag), at: e.offset)
        }
        switch tag.number {
        case 3: return .boolean(try r.boolean(of: e))
        case 4: return .bitString(try r.bitString(of: e))
        case 5: return .integer(try r.integer(of: e))
        case 6: return .unsigned(try r.unsigned(of: e))
        case 7: return .floatingPoint(try floatingPoint(e, in: r))
        case 9: return .octetString(r.octets(of: e))
        case 10: return .visibleString(try r.visibleString(of: e))
        case 11: return .generalizedTime(try r.visibleString(of: e))
        case 12: return .binaryTime(try TimeOfDay(r.contentBytes(of: e), at: e.offset))
        case 13:
            let v = try r.integer(of: e)
            guard v >= 0 else { throw BERError(.valueOutOfRange("negative BCD"), at: e.offset) }
            return .bcd(v)
        case 14: return .booleanArray(try r.bitString(of: e))
        case 15: return .objectIdentifier(try r.objectIdentifier(of: e))
        case 16: return .mmsString(try r.utf8String(of: e))
        case 17: return .utcTime(try UtcTime(r.contentBytes(of: e), at: e.offset))
        default:
            throw BERError(.unexpectedTag(expected: "Data", found: tag), at: e.offset)
        }
    }

    /// The FloatingPoint element `e` (single or double precision), as `decode` reads it.
    public static func floatingPoint(_ e: BERElement, in r: BERReader) throws -> FloatingPoint {
        let p = e.contentOffset
        switch e.contentLength {
        case 5:
            guard r.byte(at: p) == 8 else {
                throw BERError(.invalidValue("floating-point exponent width \(r.byte(at: p)) with 32-bit format"), at: e.offset)
            }
            var bits: UInt32 = 0
            for i in 1...4 { bits = bits << 8 | UInt32(r.byte(at: p + i)) }
            return .single(Float(bitPattern: bits))
        case 9:
            guard r.byte(at: p) == 11 else {
                throw BERError(.invalidValue("floating-point exponent width \(r.byte(at: p)) with 64-bit format"), at: e.offset)
            }
            var bits: UInt64 = 0
            for i in 1...8 { bits = bits << 8 | UInt64(r.byte(at: p + i)) }
            return .double(Double(bitPattern: bits))
        default:
            throw BERError(.invalidValue("floating-point of \(e.contentLength) octets (only IEEE 754 single and double)"), at: e.offset)
        }
    }

    /// Decodes one complete Data value from `bytes`.
    public static func decode(_ bytes: [UInt8], limits: BERLimits = .default) throws -> MMSData {
        try BERReader.withReader(bytes, limits: limits) { r in
            let v = try decode(&r)
            try r.expectEnd()
            return v
        }
    }

    // MARK: Encoding

    /// Prepends the BER encoding of this value (see `BERWriter` on back-to-front writing).
    public func prepend(to w: inout BERWriter) {
        switch self {
        case .structure(let items):
            MMSData.prependMembers(items, tag: T.structure, to: &w)
        case .array(let items):
            MMSData.prependMembers(items, tag: T.array, to: &w)
        case .boolean(let b): w.prependBoolean(b, tag: .context(3))
        case .bitString(let b): w.prependBitString(b, tag: .context(4))
        case .integer(let v): w.prependInteger(v, tag: .context(5))
        case .unsigned(let v): w.prependUnsigned(v, tag: .context(6))
        case .floatingPoint(.single(let f)):
            w.prependFloat32(f, tag: .context(7))
        case .floatingPoint(.double(let d)):
            w.prepend(bigEndian: d.bitPattern, width: 8)
            w.prepend(11)
            w.prependHeader(.context(7), length: 9)
        case .octetString(let b): w.prependOctetString(b, tag: .context(9))
        case .visibleString(let s): w.prependString(s, tag: .context(10))
        case .generalizedTime(let s): w.prependString(s, tag: .context(11))
        case .binaryTime(let t): t.prepend(to: &w)
        case .bcd(let v): w.prependInteger(v, tag: .context(13))
        case .booleanArray(let b): w.prependBitString(b, tag: .context(14))
        case .objectIdentifier(let o): w.prependOID(o, tag: .context(15))
        case .mmsString(let s): w.prependString(s, tag: .context(16))
        case .utcTime(let t): t.prepend(to: &w)
        }
    }

    static func prependMembers(_ items: [MMSData], tag: BERTag, to w: inout BERWriter) {
        let mark = w.count
        items.withUnsafeBufferPointer { buf in
            var i = buf.count - 1
            while i >= 0 {
                buf[i].prepend(to: &w)
                i -= 1
            }
        }
        w.prependHeader(tag, length: w.count - mark)
    }

    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 64)
        prepend(to: &w)
        return w.toArray()
    }
}

/// MMS TimeOfDay (binary-time): milliseconds since midnight, and optionally days since 1984-01-01.
public struct TimeOfDay: Hashable, Sendable {
    public var millisecondsSinceMidnight: UInt32
    public var daysSince1984: UInt16?

    public init(millisecondsSinceMidnight: UInt32, daysSince1984: UInt16? = nil) {
        self.millisecondsSinceMidnight = millisecondsSinceMidnight
        self.daysSince1984 = daysSince1984
    }

    init(_ c: UnsafeRawBufferPointer, at offset: Int) throws {
        guard c.count == 4 || c.count == 6 else {
            throw BERError(.invalidValue("binary-time of \(c.count) octets (4 or 6)"), at: offset)
        }
        var ms: UInt32 = 0
        for i in 0..<4 { ms = ms << 8 | UInt32(c[i]) }
        guard ms < 86_400_000 else { throw BERError(.valueOutOfRange("binary-time past midnight"), at: offset) }
        millisecondsSinceMidnight = ms
        daysSince1984 = c.count == 6 ? UInt16(c[4]) << 8 | UInt16(c[5]) : nil
    }

    func prepend(to w: inout BERWriter) {
        if let d = daysSince1984 { w.prepend(bigEndian: UInt64(d), width: 2) }
        w.prepend(bigEndian: UInt64(millisecondsSinceMidnight), width: 4)
        w.prependHeader(.context(12), length: daysSince1984 == nil ? 4 : 6)
    }
}

/// MMS UtcTime: seconds since 1970, a 24-bit binary fraction of a second, and a quality octet.
public struct UtcTime: Hashable, Sendable {
    public var secondsSinceEpoch: UInt32
    /// Fraction of a second in units of 2^-24 s.
    public var fraction: UInt32
    /// Leap-second-known, clock-failure, clock-not-synchronized and accuracy bits.
    public var quality: UInt8

    public init(secondsSinceEpoch: UInt32, fraction: UInt32 = 0, quality: UInt8 = 0) {
        self.secondsSinceEpoch = secondsSinceEpoch
        self.fraction = fraction & 0xFF_FFFF
        self.quality = quality
    }

    init(_ c: UnsafeRawBufferPointer, at offset: Int) throws {
        guard c.count == 8 else { throw BERError(.invalidValue("utc-time of \(c.count) octets (8)"), at: offset) }
        var s: UInt32 = 0
        for i in 0..<4 { s = s << 8 | UInt32(c[i]) }
        secondsSinceEpoch = s
        fraction = UInt32(c[4]) << 16 | UInt32(c[5]) << 8 | UInt32(c[6])
        quality = c[7]
    }

    func prepend(to w: inout BERWriter) {
        w.prepend(quality)
        w.prepend(bigEndian: UInt64(fraction), width: 3)
        w.prepend(bigEndian: UInt64(secondsSinceEpoch), width: 4)
        w.prependHeader(.context(17), length: 8)
    }
}
