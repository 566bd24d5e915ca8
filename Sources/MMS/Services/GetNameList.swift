import BER

/// GetNameList-Request: the names of objects of one class in one scope, page by page.
public struct GetNameListRequest: Hashable, Sendable {
    /// basicObjectClass values TASE.2 uses: namedVariable 0, namedVariableList 2, domain 9.
    public enum ObjectClass: Hashable, Sendable {
        case basic(Int64)
        case cs(Int64)
        public static let namedVariable = ObjectClass.basic(0)
        public static let scatteredAccess = ObjectClass.basic(1)
        public static let namedVariableList = ObjectClass.basic(2)
        public static let namedType = ObjectClass.basic(3)
        public static let domain = ObjectClass.basic(9)
    }

    public enum ObjectScope: Hashable, Sendable {
        case vmdSpecific
        case domainSpecific(String)
        case aaSpecific
    }

    public var objectClass: ObjectClass
    public var scope: ObjectScope
    public var continueAfter: String?

    public init(objectClass: ObjectClass, scope: ObjectScope, continueAfter: String? = nil) {
        self.objectClass = objectClass
        self.scope = scope
        self.continueAfter = continueAfter
    }

    static func decode(_ r: inout BERReader) throws -> GetNameListRequest {
        var oc = try r.readConstructed(.contextConstructed(0), "objectClass")
        let c = try oc.readElement()
        try oc.expectEnd()
        let cls: ObjectClass
        switch c.tag {
        case .context(0): cls = .basic(try oc.integer(of: c))
        case .context(1): cls = .cs(try oc.integer(of: c))
        default: throw BERError(.unexpectedTag(expected: "objectClass", found: c.tag), at: c.offset)
        }
        var sc = try r.readConstructed(.contextConstructed(1), "objectScope")
        let s = try sc.readElement()
        try sc.expectEnd()
        let scope: ObjectScope
        switch s.tag {
        case .context(0): try sc.null(of: s); scope = .vmdSpecific
        case .context(1): scope = .domainSpecific(try MMSIdentifier.decode(s, in: sc))
        case .context(2): try sc.null(of: s); scope = .aaSpecific
        default: throw BERError(.unexpectedTag(expected: "objectScope", found: s.tag), at: s.offset)
        }
        let after = try r.readOptionalElement(.context(2)).map { try MMSIdentifier.decode($0, in: r) }
        try r.expectEnd()
        return GetNameListRequest(objectClass: cls, scope: scope, continueAfter: after)
    }

    func prependContents(to w: inout BERWriter) {
        if let a = continueAfter { w.prependString(a, tag: .context(2)) }
        w.prependConstructed(.contextConstructed(1)) { w in
            switch scope {
            case .vmdSpecific: w.prependNull(tag: .context(0))
            case .domainSpecific(let d): w.prependString(d, tag: .context(1))
            case .aaSpecific: w.prependNull(tag: .context(2))
            }
        }
        w.prependConstructed(.contextConstructed(0)) { w in
            switch objectClass {
            case .basic(let v): w.prependInteger(v, tag: .context(0))
            case .cs(let v): w.prependInteger(v, tag: .context(1))
            }
        }
    }
}

/// GetNameList-Response. `moreFollows` defaults to TRUE in the ASN.1, so the last page
/// must say FALSE explicitly; the encoder always writes it.
public struct GetNameListResponse: Hashable, Sendable {
    public var identifiers: [String]
    public var moreFollows: Bool

    public init(identifiers: [String], moreFollows: Bool) {
        self.identifiers = identifiers
        self.moreFollows = moreFollows
    }

    static func decode(_ r: inout BERReader) throws -> GetNameListResponse {
        var list = try r.readConstructed(.contextConstructed(0), "listOfIdentifier")
        var ids: [String] = []
        while !list.isAtEnd { ids.append(try MMSIdentifier.decode(list.readElement(.visibleString, "Identifier"), in: list)) }
        let more = try r.readOptionalElement(.context(1)).map { try r.boolean(of: $0) } ?? true
        try r.expectEnd()
        return GetNameListResponse(identifiers: ids, moreFollows: more)
    }

    func prependContents(to w: inout BERWriter) {
        w.prependBoolean(moreFollows, tag: .context(1))
        w.prependConstructed(.contextConstructed(0)) { w in
            for id in identifiers.reversed() { w.prependString(id, tag: .visibleString) }
        }
    }
}
