import BER

/// MMS TypeSpecification / TypeDescription: the shape of a variable, as answered by
/// GetVariableAccessAttributes.
public indirect enum TypeSpecification: Hashable, Sendable {
    case typeName(ObjectName)
    case array(packed: Bool = false, count: UInt32, element: TypeSpecification)
    case structure(packed: Bool = false, components: [StructureComponent])
    case boolean
    /// Size in bits; negative means variable length of at most `-size`.
    case bitString(Int32)
    /// Size in bits (8, 16, 32, 64).
    case integer(UInt8)
    case unsigned(UInt8)
    case floatingPoint(formatWidth: UInt8, exponentWidth: UInt8)
    case octetString(Int32)
    case visibleString(Int32)
    case generalizedTime
    case binaryTime(includesDate: Bool)
    case bcd(UInt8)
    case objectIdentifier
    case mmsString(Int32)
    case utcTime

    /// IEEE 754 single precision, the TASE.2 float.
    public static let float32 = TypeSpecification.floatingPoint(formatWidth: 32, exponentWidth: 8)
    public static let float64 = TypeSpecification.floatingPoint(formatWidth: 64, exponentWidth: 11)

    public struct StructureComponent: Hashable, Sendable {
        public var name: String?
        public var type: TypeSpecification
        public init(_ name: String?, _ type: TypeSpecification) {
            self.name = name
            self.type = type
        }
    }

    // MARK: Decoding

    public static func decode(_ r: inout BERReader) throws -> TypeSpecification {
        let e = try r.readElement()
        return try decode(e, in: r)
    }

    /// Decodes a type description; structures and arrays nest no deeper than `r.limits.maxDataNesting`.
    public static func decode(_ e: BERElement, in r: BERReader) throws -> TypeSpecification {
        try decode(e, in: r, nesting: 0)
    }

    static func decode(_ e: BERElement, in r: BERReader, nesting: Int) throws -> TypeSpecification {
        if e.tag == .contextConstructed(1) || e.tag == .contextConstructed(2), nesting >= r.limits.maxDataNesting {
            throw BERError(.invalidValue("type nested deeper than the negotiated \(r.limits.maxDataNesting) levels"), at: e.offset)
        }
        func decodeInner(_ t: inout BERReader) throws -> TypeSpecification {
            let inner = try t.readElement()
            return try decode(inner, in: t, nesting: nesting + 1)
        }
        func width(_ what: String) throws -> UInt8 { try r.integer(of: e, as: UInt8.self) }
        func size() throws -> Int32 { try r.integer(of: e, as: Int32.self) }
        switch e.tag {
        case .contextConstructed(0): return .typeName(try ObjectName.decodeExplicit(e, in: r))
        case .contextConstructed(1):
            var c = try r.contents(of: e)
            let packed = try c.readOptionalElement(.context(0)).map { try c.boolean(of: $0) } ?? false
            let n = try c.readElement(.context(1), "numberOfElements")
            let count = try c.integer(of: n, as: UInt32.self)
            var t = try c.readConstructed(.contextConstructed(2), "elementType")
            let element = try decodeInner(&t)
            try t.expectEnd()
            try c.expectEnd()
            return .array(packed: packed, count: count, element: element)
        case .contextConstructed(2):
            var c = try r.contents(of: e)
            let packed = try c.readOptionalElement(.context(0)).map { try c.boolean(of: $0) } ?? false
            var list = try c.readConstructed(.contextConstructed(1), "components")
            try c.expectEnd()
            var comps: [StructureComponent] = []
            while !list.isAtEnd {
                var s = try list.readConstructed(.sequence, "component")
                let name = try s.readOptionalElement(.context(0)).map { try MMSIdentifier.decode($0, in: s) }
                var t = try s.readConstructed(.contextConstructed(1), "componentType")
                comps.append(StructureComponent(name, try decodeInner(&t)))
                try t.expectEnd()
                try s.expectEnd()
            }
            return .structure(packed: packed, components: comps)
        case .context(3): try r.null(of: e); return .boolean
        case .context(4): return .bitString(try size())
        case .context(5): return .integer(try width("integer"))
        case .context(6): return .unsigned(try width("unsigned"))
        case .contextConstructed(7):
            var c = try r.contents(of: e)
            let f = try c.integer(of: c.readElement(.integer, "format-width"), as: UInt8.self)
            let x = try c.integer(of: c.readElement(.integer, "exponent-width"), as: UInt8.self)
            try c.expectEnd()
            guard (f == 32 && x == 8) || (f == 64 && x == 11) else {
                throw BERError(.invalidValue("floating-point format \(f)/\(x) (only 32/8 and 64/11)"), at: e.offset)
            }
            return .floatingPoint(formatWidth: f, exponentWidth: x)
        case .context(9): return .octetString(try size())
        case .context(10): return .visibleString(try size())
        case .context(11): try r.null(of: e); return .generalizedTime
        case .context(12): return .binaryTime(includesDate: try r.boolean(of: e))
        case .context(13): return .bcd(try width("bcd"))
        case .context(15): try r.null(of: e); return .objectIdentifier
        case .context(16): return .mmsString(try size())
        case .context(17): try r.null(of: e); return .utcTime
        default:
            throw BERError(.unexpectedTag(expected: "TypeSpecification", found: e.tag), at: e.offset)
        }
    }

    // MARK: Encoding

    public func prepend(to w: inout BERWriter) {
        switch self {
        case .typeName(let n): w.prependConstructed(.contextConstructed(0)) { n.prepend(to: &$0) }
        case .array(let packed, let count, let element):
            w.prependConstructed(.contextConstructed(1)) { w in
                w.prependConstructed(.contextConstructed(2)) { element.prepend(to: &$0) }
                w.prependInteger(Int64(count), tag: .context(1))
                if packed { w.prependBoolean(true, tag: .context(0)) }
            }
        case .structure(let packed, let comps):
            w.prependConstructed(.contextConstructed(2)) { w in
                w.prependConstructed(.contextConstructed(1)) { w in
                    for c in comps.reversed() {
                        w.prependConstructed(.sequence) { w in
                            w.prependConstructed(.contextConstructed(1)) { c.type.prepend(to: &$0) }
                            if let n = c.name { w.prependString(n, tag: .context(0)) }
                        }
                    }
                }
                if packed { w.prependBoolean(true, tag: .context(0)) }
            }
        case .boolean: w.prependNull(tag: .context(3))
        case .bitString(let n): w.prependInteger(Int64(n), tag: .context(4))
        case .integer(let n): w.prependInteger(Int64(n), tag: .context(5))
        case .unsigned(let n): w.prependInteger(Int64(n), tag: .context(6))
        case .floatingPoint(let f, let x):
            w.prependConstructed(.contextConstructed(7)) { w in
                w.prependInteger(Int64(x))
                w.prependInteger(Int64(f))
            }
        case .octetString(let n): w.prependInteger(Int64(n), tag: .context(9))
        case .visibleString(let n): w.prependInteger(Int64(n), tag: .context(10))
        case .generalizedTime: w.prependNull(tag: .context(11))
        case .binaryTime(let d): w.prependBoolean(d, tag: .context(12))
        case .bcd(let n): w.prependInteger(Int64(n), tag: .context(13))
        case .objectIdentifier: w.prependNull(tag: .context(15))
        case .mmsString(let n): w.prependInteger(Int64(n), tag: .context(16))
        case .utcTime: w.prependNull(tag: .context(17))
        }
    }

    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 128)
        prepend(to: &w)
        return w.toArray()
    }

    // MARK: Conformance of values

    /// True when `data` has this type's shape (used to validate writes).
    public func accepts(_ data: MMSData) -> Bool {
        switch (self, data) {
        case (.structure(_, let comps), .structure(let items)):
            return comps.count == items.count && zip(comps, items).allSatisfy { $0.type.accepts($1) }
        case (.array(_, let n, let el), .array(let items)):
            return items.count == Int(n) && items.allSatisfy { el.accepts($0) }
        case (.boolean, .boolean): return true
        case (.bitString(let n), .bitString(let b)):
            return n >= 0 ? b.count == Int(n) : b.count <= Int(-n)
        case (.integer(let bits), .integer(let v)):
            guard bits < 64 else { return true }
            let limit = Int64(1) << (Int64(bits) - 1)
            return v >= -limit && v < limit
        case (.unsigned(let bits), .unsigned(let v)):
            return bits >= 64 || v < (UInt64(1) << UInt64(bits))
        case (.unsigned(let bits), .integer(let v)):
            return v >= 0 && (bits >= 64 || UInt64(v) < (UInt64(1) << UInt64(bits)))
        case (.floatingPoint, .floatingPoint): return true
        case (.octetString(let n), .octetString(let b)): return n >= 0 ? b.count == Int(n) : b.count <= Int(-n)
        case (.visibleString(let n), .visibleString(let s)):
            return n >= 0 ? s.utf8.count <= Int(n) : s.utf8.count <= Int(-n)
        case (.mmsString(let n), .mmsString(let s)):
            return n >= 0 ? s.utf8.count <= Int(n) : s.utf8.count <= Int(-n)
        case (.generalizedTime, .generalizedTime), (.binaryTime, .binaryTime), (.bcd, .bcd),
            (.objectIdentifier, .objectIdentifier), (.utcTime, .utcTime):
            return true
        default: return false
        }
    }
}
