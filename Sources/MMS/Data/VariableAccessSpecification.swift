import BER

/// VariableSpecification: how one variable is named. TASE.2 uses names only; other
/// forms are kept as their encoding so that they can be refused precisely.
public enum VariableSpecification: Hashable, Sendable {
    case name(ObjectName)
    /// address [1], variableDescription [2], scatteredAccessDescription [3], invalidated [4], as encoded.
    case other(tag: UInt32, encoded: [UInt8])

    public var name: ObjectName? { if case .name(let n) = self { return n } else { return nil } }

    static func decode(_ e: BERElement, in r: BERReader) throws -> VariableSpecification {
        guard e.tag.tagClass == .contextSpecific, e.tag.number <= 4 else {
            throw BERError(.unexpectedTag(expected: "VariableSpecification", found: e.tag), at: e.offset)
        }
        if e.tag == .contextConstructed(0) { return .name(try ObjectName.decodeExplicit(e, in: r)) }
        return .other(tag: e.tag.number, encoded: r.encodedBytes(of: e))
    }

    /// Checks the element as `decode` does, building nothing.
    @inline(__always)
    static func check(_ e: BERElement, in r: BERReader) throws {
        guard e.tag.tagClass == .contextSpecific, e.tag.number <= 4 else {
            throw BERError(.unexpectedTag(expected: "VariableSpecification", found: e.tag), at: e.offset)
        }
        if e.tag == .contextConstructed(0) { try ObjectName.checkExplicit(e, in: r) }
    }

    func prepend(to w: inout BERWriter) {
        switch self {
        case .name(let n): w.prependConstructed(.contextConstructed(0)) { n.prepend(to: &$0) }
        case .other(_, let b): w.prepend(b)
        }
    }
}

/// One entry of a listOfVariable: a variable and, optionally, the part of it selected.
public struct VariableAccess: Hashable, Sendable {
    public var variable: VariableSpecification
    public var alternateAccess: AlternateAccess?

    public init(_ variable: VariableSpecification, alternateAccess: AlternateAccess? = nil) {
        self.variable = variable
        self.alternateAccess = alternateAccess
    }

    public init(_ name: ObjectName, alternateAccess: AlternateAccess? = nil) {
        self.init(.name(name), alternateAccess: alternateAccess)
    }

    static func decodeList(_ r: inout BERReader) throws -> [VariableAccess] {
        var out: [VariableAccess] = []
        while !r.isAtEnd { out.append(try decode(r.readElement(), in: r)) }
        return out
    }

    /// Checks a list as `decodeList` would and counts it, building no names.
    static func validateList(_ r: inout BERReader) throws -> Int {
        var n = 0
        while !r.isAtEnd {
            try parts(r.readElement(), in: r) { v, aa, s in
                try VariableSpecification.check(v, in: s)
                if let aa { _ = try AlternateAccess.decode(aa, in: s) }  // rare in reports: decoded to be checked
            }
            n += 1
        }
        return n
    }

    /// Decodes one listOfVariable item, the SEQUENCE element `e`.
    static func decode(_ e: BERElement, in r: BERReader) throws -> VariableAccess {
        try parts(e, in: r) { v, aa, s in
            VariableAccess(try VariableSpecification.decode(v, in: s), alternateAccess: try aa.map { try AlternateAccess.decode($0, in: s) })
        }
    }

    /// The elements of one item, the SEQUENCE element `e`: its variable and its alternateAccess,
    /// with the reader they lie in. Decoding and checking both take an item apart here.
    @inline(__always)
    static func parts<T>(_ e: BERElement, in r: BERReader, _ body: (BERElement, BERElement?, BERReader) throws -> T) throws -> T {
        guard e.tag == .sequence else { throw BERError(.unexpectedTag(expected: "listOfVariable item", found: e.tag), at: e.offset) }
        var s = try r.contents(of: e)
        let v = try s.readElement()
        let aa = try s.readOptionalElement(.contextConstructed(5))
        try s.expectEnd()
        return try body(v, aa, s)
    }

    /// This entry as it appears in a listOfVariable (a SEQUENCE), for callers that cache it.
    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 64)
        Self.prependList([self], to: &w)
        return w.toArray()
    }

    static func prependList(_ list: [VariableAccess], to w: inout BERWriter) {
        for v in list.reversed() {
            w.prependConstructed(.sequence) { w in
                if let aa = v.alternateAccess {
                    w.prependConstructed(.contextConstructed(5)) { aa.prependContents(to: &$0) }
                }
                v.variable.prepend(to: &w)
            }
        }
    }
}

/// VariableAccessSpecification: a list of variables, or the name of a named variable list (a data set).
public enum VariableAccessSpecification: Hashable, Sendable {
    case listOfVariable([VariableAccess])
    case variableListName(ObjectName)

    static func decode(_ e: BERElement, in r: BERReader) throws -> VariableAccessSpecification {
        switch e.tag {
        case .contextConstructed(0):
            var c = try r.contents(of: e)
            return .listOfVariable(try VariableAccess.decodeList(&c))
        case .contextConstructed(1):
            return .variableListName(try ObjectName.decodeExplicit(e, in: r))
        default:
            throw BERError(.unexpectedTag(expected: "VariableAccessSpecification", found: e.tag), at: e.offset)
        }
    }

    static func decode(_ r: inout BERReader) throws -> VariableAccessSpecification {
        let e = try r.readElement()
        return try decode(e, in: r)
    }

    func prepend(to w: inout BERWriter) {
        switch self {
        case .listOfVariable(let l): w.prependConstructed(.contextConstructed(0)) { VariableAccess.prependList(l, to: &$0) }
        case .variableListName(let n): w.prependConstructed(.contextConstructed(1)) { n.prepend(to: &$0) }
        }
    }
}
