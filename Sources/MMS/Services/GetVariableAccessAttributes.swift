import BER

/// GetVariableAccessAttributes-Response: the type of a named variable.
public struct GetVariableAccessAttributesResponse: Hashable, Sendable {
    public var mmsDeletable: Bool
    /// address [1], kept as encoded when present.
    public var address: [UInt8]?
    public var typeSpecification: TypeSpecification

    public init(mmsDeletable: Bool = false, address: [UInt8]? = nil, typeSpecification: TypeSpecification) {
        self.mmsDeletable = mmsDeletable
        self.address = address
        self.typeSpecification = typeSpecification
    }

    static func decode(_ r: inout BERReader) throws -> GetVariableAccessAttributesResponse {
        let del = try r.boolean(of: r.readElement(.context(0), "mmsDeletable"))
        var addr: [UInt8]?
        if let e = try r.readOptionalElement(.contextConstructed(1)) { addr = r.encodedBytes(of: e) }
        var t = try r.readConstructed(.contextConstructed(2), "typeSpecification")
        let type = try TypeSpecification.decode(&t)
        try t.expectEnd()
        try r.expectEnd()
        return GetVariableAccessAttributesResponse(mmsDeletable: del, address: addr, typeSpecification: type)
    }

    func prependContents(to w: inout BERWriter) {
        w.prependConstructed(.contextConstructed(2)) { typeSpecification.prepend(to: &$0) }
        if let a = address { w.prepend(a) }
        w.prependBoolean(mmsDeletable, tag: .context(0))
    }
}
