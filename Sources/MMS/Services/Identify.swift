import BER

/// Identify-Response: who the VMD is.
public struct IdentifyResponse: Hashable, Sendable {
    public var vendorName: String
    public var modelName: String
    public var revision: String
    public var abstractSyntaxes: [OID]?

    public init(vendorName: String, modelName: String, revision: String, abstractSyntaxes: [OID]? = nil) {
        self.vendorName = vendorName
        self.modelName = modelName
        self.revision = revision
        self.abstractSyntaxes = abstractSyntaxes
    }

    static func decode(_ r: inout BERReader) throws -> IdentifyResponse {
        let v = try r.visibleString(of: r.readElement(.context(0), "vendorName"))
        let m = try r.visibleString(of: r.readElement(.context(1), "modelName"))
        let rev = try r.visibleString(of: r.readElement(.context(2), "revision"))
        var syntaxes: [OID]?
        if let e = try r.readOptionalElement(.contextConstructed(3)) {
            var c = try r.contents(of: e)
            var l: [OID] = []
            while !c.isAtEnd { l.append(try c.objectIdentifier(of: c.readElement(.objectIdentifier, "abstract syntax"))) }
            syntaxes = l
        }
        try r.expectEnd()
        return IdentifyResponse(vendorName: v, modelName: m, revision: rev, abstractSyntaxes: syntaxes)
    }

    func prependContents(to w: inout BERWriter) {
        if let l = abstractSyntaxes {
            w.prependConstructed(.contextConstructed(3)) { w in
                for o in l.reversed() { w.prependOID(o) }
            }
        }
        w.prependString(revision, tag: .context(2))
        w.prependString(modelName, tag: .context(1))
        w.prependString(vendorName, tag: .context(0))
    }
}

/// Status-Response: the VMD's logical and physical state.
public struct StatusResponse: Hashable, Sendable {
    /// 0 state-changes-allowed, 1 no-state-changes-allowed, 2 limited-services-permitted, 3 support-services-allowed.
    public var logicalStatus: Int64
    /// 0 operational, 1 partially-operational, 2 inoperable, 3 needs-commissioning.
    public var physicalStatus: Int64
    public var localDetail: BitString?

    public init(logicalStatus: Int64 = 0, physicalStatus: Int64 = 0, localDetail: BitString? = nil) {
        self.logicalStatus = logicalStatus
        self.physicalStatus = physicalStatus
        self.localDetail = localDetail
    }

    static func decode(_ r: inout BERReader) throws -> StatusResponse {
        let l = try r.integer(of: r.readElement(.context(0), "vmdLogicalStatus"))
        let p = try r.integer(of: r.readElement(.context(1), "vmdPhysicalStatus"))
        let d = try r.readOptionalElement(.context(2)).map { try r.bitString(of: $0) }
        try r.expectEnd()
        return StatusResponse(logicalStatus: l, physicalStatus: p, localDetail: d)
    }

    func prependContents(to w: inout BERWriter) {
        if let d = localDetail { w.prependBitString(d, tag: .context(2)) }
        w.prependInteger(physicalStatus, tag: .context(1))
        w.prependInteger(logicalStatus, tag: .context(0))
    }
}
