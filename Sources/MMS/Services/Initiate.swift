import BER

/// The negotiated parameters of MMS Initiate (request and response share this shape).
public struct InitiateParameters: Hashable, Sendable {
    /// localDetailCalling / localDetailCalled: the largest PDU this side accepts.
    public var localDetail: Int32?
    public var maxServOutstandingCalling: Int16
    public var maxServOutstandingCalled: Int16
    public var dataStructureNestingLevel: Int8?
    public var versionNumber: Int16
    public var parameterCBB: BitString
    public var servicesSupported: BitString

    public init(
        localDetail: Int32?, maxServOutstandingCalling: Int16, maxServOutstandingCalled: Int16,
        dataStructureNestingLevel: Int8?, versionNumber: Int16 = 1, parameterCBB: BitString,
        servicesSupported: BitString
    ) {
        self.localDetail = localDetail
        self.maxServOutstandingCalling = maxServOutstandingCalling
        self.maxServOutstandingCalled = maxServOutstandingCalled
        self.dataStructureNestingLevel = dataStructureNestingLevel
        self.versionNumber = versionNumber
        self.parameterCBB = parameterCBB
        self.servicesSupported = servicesSupported
    }

    static func decode(_ r: inout BERReader) throws -> InitiateParameters {
        let local = try r.readOptionalElement(.context(0)).map { try r.integer(of: $0, as: Int32.self) }
        let calling = try r.integer(of: r.readElement(.context(1), "maxServOutstandingCalling"), as: Int16.self)
        let called = try r.integer(of: r.readElement(.context(2), "maxServOutstandingCalled"), as: Int16.self)
        let nesting = try r.readOptionalElement(.context(3)).map { try r.integer(of: $0, as: Int8.self) }
        var d = try r.readConstructed(.contextConstructed(4), "initRequestDetail")
        let version = try d.integer(of: d.readElement(.context(0), "versionNumber"), as: Int16.self)
        let cbb = try d.bitString(of: d.readElement(.context(1), "parameterCBB"))
        let services = try d.bitString(of: d.readElement(.context(2), "servicesSupported"))
        // Later MMS editions add fields to the detail; they are accepted and ignored.
        try r.expectEnd()
        return InitiateParameters(
            localDetail: local, maxServOutstandingCalling: calling, maxServOutstandingCalled: called,
            dataStructureNestingLevel: nesting, versionNumber: version, parameterCBB: cbb, servicesSupported: services)
    }

    func prependContents(to w: inout BERWriter) {
        w.prependConstructed(.contextConstructed(4)) { w in
            w.prependBitString(servicesSupported, tag: .context(2))
            w.prependBitString(parameterCBB, tag: .context(1))
            w.prependInteger(Int64(versionNumber), tag: .context(0))
        }
        if let n = dataStructureNestingLevel { w.prependInteger(Int64(n), tag: .context(3)) }
        w.prependInteger(Int64(maxServOutstandingCalled), tag: .context(2))
        w.prependInteger(Int64(maxServOutstandingCalling), tag: .context(1))
        if let l = localDetail { w.prependInteger(Int64(l), tag: .context(0)) }
    }
}
