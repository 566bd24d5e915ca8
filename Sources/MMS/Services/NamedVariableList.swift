import BER

/// DefineNamedVariableList-Request: create a data set.
public struct DefineNamedVariableListRequest: Hashable, Sendable {
    public var name: ObjectName
    public var variables: [VariableAccess]

    public init(name: ObjectName, variables: [VariableAccess]) {
        self.name = name
        self.variables = variables
    }

    static func decode(_ r: inout BERReader) throws -> DefineNamedVariableListRequest {
        let name = try ObjectName.decode(&r)
        var list = try r.readConstructed(.contextConstructed(0), "listOfVariable")
        let vars = try VariableAccess.decodeList(&list)
        try r.expectEnd()
        return DefineNamedVariableListRequest(name: name, variables: vars)
    }

    func prependContents(to w: inout BERWriter) {
        w.prependConstructed(.contextConstructed(0)) { VariableAccess.prependList(variables, to: &$0) }
        name.prepend(to: &w)
    }
}

/// GetNamedVariableListAttributes-Response: a data set's members.
public struct GetNamedVariableListAttributesResponse: Hashable, Sendable {
    public var mmsDeletable: Bool
    public var variables: [VariableAccess]

    public init(mmsDeletable: Bool, variables: [VariableAccess]) {
        self.mmsDeletable = mmsDeletable
        self.variables = variables
    }

    static func decode(_ r: inout BERReader) throws -> GetNamedVariableListAttributesResponse {
        let del = try r.boolean(of: r.readElement(.context(0), "mmsDeletable"))
        var list = try r.readConstructed(.contextConstructed(1), "listOfVariable")
        let vars = try VariableAccess.decodeList(&list)
        try r.expectEnd()
        return GetNamedVariableListAttributesResponse(mmsDeletable: del, variables: vars)
    }

    func prependContents(to w: inout BERWriter) {
        w.prependConstructed(.contextConstructed(1)) { VariableAccess.prependList(variables, to: &$0) }
        w.prependBoolean(mmsDeletable, tag: .context(0))
    }
}

/// DeleteNamedVariableList-Request.
public struct DeleteNamedVariableListRequest: Hashable, Sendable {
    public enum Scope: Int64, Sendable { case specific = 0, aaSpecific = 1, domain = 2, vmd = 3 }
    /// nil when the element was omitted (its DEFAULT is `specific`); kept for exact re-encoding.
    public var scopeOfDelete: Scope?
    public var names: [ObjectName]?
    public var domainName: String?

    public init(scopeOfDelete: Scope? = .specific, names: [ObjectName]?, domainName: String? = nil) {
        self.scopeOfDelete = scopeOfDelete
        self.names = names
        self.domainName = domainName
    }

    public var effectiveScope: Scope { scopeOfDelete ?? .specific }

    /// The lists this request names, among `existing` (every list the association may see).
    public func targets(among existing: some Sequence<ObjectName>) -> [ObjectName] {
        switch effectiveScope {
        case .specific: return names ?? []
        case .domain: return existing.filter { $0.domain != nil && $0.domain == domainName }
        case .vmd: return existing.filter { if case .vmdSpecific = $0 { return true } else { return false } }
        case .aaSpecific: return existing.filter { if case .aaSpecific = $0 { return true } else { return false } }
        }
    }

    static func decode(_ r: inout BERReader) throws -> DeleteNamedVariableListRequest {
        var scope: Scope?
        if let e = try r.readOptionalElement(.context(0)) {
            guard let s = Scope(rawValue: try r.integer(of: e)) else {
                throw BERError(.valueOutOfRange("scopeOfDelete"), at: e.offset)
            }
            scope = s
        }
        var names: [ObjectName]?
        if let e = try r.readOptionalElement(.contextConstructed(1)) {
            var c = try r.contents(of: e)
            var l: [ObjectName] = []
            while !c.isAtEnd { l.append(try ObjectName.decode(&c)) }
            names = l
        }
        let domain = try r.readOptionalElement(.context(2)).map { try MMSIdentifier.decode($0, in: r) }
        try r.expectEnd()
        return DeleteNamedVariableListRequest(scopeOfDelete: scope, names: names, domainName: domain)
    }

    func prependContents(to w: inout BERWriter) {
        if let d = domainName { w.prependString(d, tag: .context(2)) }
        if let l = names {
            w.prependConstructed(.contextConstructed(1)) { w in
                for n in l.reversed() { n.prepend(to: &w) }
            }
        }
        if let s = scopeOfDelete { w.prependInteger(s.rawValue, tag: .context(0)) }
    }
}

/// DeleteNamedVariableList-Response.
public struct DeleteNamedVariableListResponse: Hashable, Sendable {
    public var numberMatched: UInt32
    public var numberDeleted: UInt32

    public init(numberMatched: UInt32, numberDeleted: UInt32) {
        self.numberMatched = numberMatched
        self.numberDeleted = numberDeleted
    }

    static func decode(_ r: inout BERReader) throws -> DeleteNamedVariableListResponse {
        let m = try r.integer(of: r.readElement(.context(0), "numberMatched"), as: UInt32.self)
        let d = try r.integer(of: r.readElement(.context(1), "numberDeleted"), as: UInt32.self)
        try r.expectEnd()
        return DeleteNamedVariableListResponse(numberMatched: m, numberDeleted: d)
    }

    func prependContents(to w: inout BERWriter) {
        w.prependInteger(Int64(numberDeleted), tag: .context(1))
        w.prependInteger(Int64(numberMatched), tag: .context(0))
    }
}
