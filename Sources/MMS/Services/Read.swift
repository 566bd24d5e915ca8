import BER

/// Read-Request.
public struct ReadRequest: Hashable, Sendable {
    public var specificationWithResult: Bool
    public var variableAccessSpecification: VariableAccessSpecification

    public init(specificationWithResult: Bool = false, _ spec: VariableAccessSpecification) {
        self.specificationWithResult = specificationWithResult
        self.variableAccessSpecification = spec
    }

    static func decode(_ r: inout BERReader) throws -> ReadRequest {
        let swr = try r.readOptionalElement(.context(0)).map { try r.boolean(of: $0) } ?? false
        var c = try r.readConstructed(.contextConstructed(1), "variableAccessSpecification")
        let spec = try VariableAccessSpecification.decode(&c)
        try c.expectEnd()
        try r.expectEnd()
        return ReadRequest(specificationWithResult: swr, spec)
    }

    func prependContents(to w: inout BERWriter) {
        w.prependConstructed(.contextConstructed(1)) { variableAccessSpecification.prepend(to: &$0) }
        if specificationWithResult { w.prependBoolean(true, tag: .context(0)) }
    }
}

/// Read-Response.
public struct ReadResponse: Hashable, Sendable {
    public var variableAccessSpecification: VariableAccessSpecification?
    public var results: [AccessResult]

    public init(variableAccessSpecification: VariableAccessSpecification? = nil, results: [AccessResult]) {
        self.variableAccessSpecification = variableAccessSpecification
        self.results = results
    }

    static func decode(_ r: inout BERReader) throws -> ReadResponse {
        var spec: VariableAccessSpecification?
        if let e = try r.readOptionalElement(.contextConstructed(0)) {
            var c = try r.contents(of: e)
            spec = try VariableAccessSpecification.decode(&c)
            try c.expectEnd()
        }
        var list = try r.readConstructed(.contextConstructed(1), "listOfAccessResult")
        let results = try AccessResult.decodeList(&list)
        try r.expectEnd()
        return ReadResponse(variableAccessSpecification: spec, results: results)
    }

    func prependContents(to w: inout BERWriter) {
        w.prependConstructed(.contextConstructed(1)) { AccessResult.prependList(results, to: &$0) }
        if let s = variableAccessSpecification {
            w.prependConstructed(.contextConstructed(0)) { s.prepend(to: &$0) }
        }
    }
}

extension ReadResponse {
    /// Prepends a whole confirmed-ResponsePDU for a Read whose access results `results` prepends
    /// (last first): a server answers a large read straight from its storage, with no value tree.
    public static func prependPDU(invokeID: UInt32, specification: VariableAccessSpecification?, to w: inout BERWriter,
                                  results: (inout BERWriter) -> Void) {
        let start = w.count
        let mark = w.count
        results(&w)
        w.prependHeader(.contextConstructed(1), length: w.count - mark)
        if let s = specification {
            let m = w.count
            s.prepend(to: &w)
            w.prependHeader(.contextConstructed(0), length: w.count - m)
        }
        w.prependHeader(.contextConstructed(4), length: w.count - start)
        w.prependInteger(Int64(invokeID))
        w.prependHeader(.contextConstructed(1), length: w.count - start)
    }
}
