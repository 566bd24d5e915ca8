import BER

/// MMS Identifier rules: VisibleString of at most 32 characters (ISO 9506-2).
public enum MMSIdentifier {
    public static let maxLength = 32

    /// Reads an Identifier from a primitive element, enforcing the length limit.
    public static func decode(_ e: BERElement, in r: BERReader) throws -> String {
        try check(e, in: r)
        return String(decoding: r.contentBytes(of: e), as: UTF8.self)
    }

    /// Checks an Identifier element as `decode` does, building no String.
    @inlinable @inline(__always)
    public static func check(_ e: BERElement, in r: BERReader) throws {
        guard e.contentLength <= maxLength else {
            throw BERError(.valueOutOfRange("identifier of \(e.contentLength) characters (max \(maxLength))"), at: e.offset)
        }
        try r.checkVisibleString(of: e)
    }

    /// True when `name` is a well-formed identifier: 1–32 characters, letters, digits,
    /// `_` and `$`, not starting with a digit.
    public static func isValid(_ name: String) -> Bool {
        let u = name.utf8  // not copied: names are checked on every request and every config point
        guard let first = u.first, u.count <= maxLength else { return false }
        if (0x30...0x39).contains(first) { return false }
        return u.allSatisfy { c in
            (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x5F || c == 0x24
        }
    }
}

/// MMS ObjectName: the scope of a named object and its name.
public enum ObjectName: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// VMD scope (TASE.2: VCC objects).
    case vmdSpecific(String)
    /// Domain scope (TASE.2: ICC objects, the domain is the ICC).
    case domainSpecific(domain: String, item: String)
    /// Association scope (TASE.2: `IM_Transfer_Set`).
    case aaSpecific(String)

    public var itemName: String {
        switch self {
        case .vmdSpecific(let n), .aaSpecific(let n), .domainSpecific(_, let n): return n
        }
    }

    public var domain: String? {
        if case .domainSpecific(let d, _) = self { return d }
        return nil
    }

    public var description: String {
        switch self {
        case .vmdSpecific(let n): return n
        case .domainSpecific(let d, let i): return "\(d)/\(i)"
        case .aaSpecific(let n): return "@\(n)"
        }
    }

    public static func < (a: ObjectName, b: ObjectName) -> Bool { a.description < b.description }

    /// The scope of an ObjectName CHOICE element and its identifier elements (for VMD and
    /// association scope `domain` and `item` are the same element), checked. `decode` builds its
    /// Strings from them and `check` stops here, so the two accept exactly the same names.
    @inline(__always)
    static func identifiers(_ e: BERElement, in r: BERReader) throws -> (scope: UInt32, domain: BERElement, item: BERElement) {
        switch e.tag {
        case .context(0), .context(2):
            try MMSIdentifier.check(e, in: r)
            return (e.tag.number, e, e)
        case .contextConstructed(1):
            var c = try r.contents(of: e)
            let d = try c.readElement(.visibleString, "domainId")
            try MMSIdentifier.check(d, in: c)
            let i = try c.readElement(.visibleString, "itemId")
            try MMSIdentifier.check(i, in: c)
            try c.expectEnd()
            return (1, d, i)
        default:
            throw BERError(.unexpectedTag(expected: "ObjectName", found: e.tag), at: e.offset)
        }
    }

    /// Decodes the ObjectName CHOICE element `e`.
    public static func decode(_ e: BERElement, in r: BERReader) throws -> ObjectName {
        let (scope, d, i) = try identifiers(e, in: r)
        func text(_ x: BERElement) -> String { String(decoding: r.contentBytes(of: x), as: UTF8.self) }
        switch scope {
        case 0: return .vmdSpecific(text(i))
        case 2: return .aaSpecific(text(i))
        default: return .domainSpecific(domain: text(d), item: text(i))
        }
    }

    public static func decode(_ r: inout BERReader) throws -> ObjectName {
        let e = try r.readElement()
        return try decode(e, in: r)
    }

    /// The ObjectName element inside the explicit tag element `e`, and the reader it lies in.
    @inline(__always)
    static func explicitElement(_ e: BERElement, in r: BERReader) throws -> (BERElement, BERReader) {
        var c = try r.contents(of: e)
        let n = try c.readElement()
        try c.expectEnd()
        return (n, c)
    }

    /// Decodes an ObjectName wrapped in an explicit tag element `e`.
    static func decodeExplicit(_ e: BERElement, in r: BERReader) throws -> ObjectName {
        let (n, c) = try explicitElement(e, in: r)
        return try decode(n, in: c)
    }

    /// Checks an ObjectName wrapped in an explicit tag element `e` as `decodeExplicit` does.
    @inline(__always)
    static func checkExplicit(_ e: BERElement, in r: BERReader) throws {
        let (n, c) = try explicitElement(e, in: r)
        _ = try identifiers(n, in: c)
    }

    public func prepend(to w: inout BERWriter) {
        switch self {
        case .vmdSpecific(let n): w.prependString(n, tag: .context(0))
        case .aaSpecific(let n): w.prependString(n, tag: .context(2))
        case .domainSpecific(let d, let i):
            w.prependConstructed(.contextConstructed(1)) { w in
                w.prependString(i, tag: .visibleString)
                w.prependString(d, tag: .visibleString)
            }
        }
    }
}
