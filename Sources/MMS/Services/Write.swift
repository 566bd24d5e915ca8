import BER

/// Write-Request.
public struct WriteRequest: Hashable, Sendable {
    public var variableAccessSpecification: VariableAccessSpecification
    public var data: [MMSData]

    public init(_ spec: VariableAccessSpecification, data: [MMSData]) {
        self.variableAccessSpecification = spec
        self.data = data
    }

    static func decode(_ r: inout BERReader) throws -> WriteRequest {
        let spec = try VariableAccessSpecification.decode(&r)
        var list = try r.readConstructed(.contextConstructed(0), "listOfData")
        var data: [MMSData] = []
        while !list.isAtEnd { data.append(try MMSData.decode(&list)) }
        try r.expectEnd()
        return WriteRequest(spec, data: data)
    }

    func prependContents(to w: inout BERWriter) {
        w.prependConstructed(.contextConstructed(0)) { w in
            for d in data.reversed() { d.prepend(to: &w) }
        }
        variableAccessSpecification.prepend(to: &w)
    }
}

/// One result of a Write-Response.
public enum WriteResult: Hashable, Sendable {
    case success
    case failure(DataAccessError)

    static func decodeList(_ r: inout BERReader) throws -> [WriteResult] {
        var out: [WriteResult] = []
        while !r.isAtEnd {
            let e = try r.readElement()
            switch e.tag {
            case .context(0): out.append(.failure(DataAccessError(code: try r.integer(of: e))))
            case .context(1): try r.null(of: e); out.append(.success)
            default: throw BERError(.unexpectedTag(expected: "Write-Response item", found: e.tag), at: e.offset)
            }
        }
        return out
    }

    static func prependList(_ list: [WriteResult], to w: inout BERWriter) {
        for item in list.reversed() {
            switch item {
            case .success: w.prependNull(tag: .context(1))
            case .failure(let e): w.prependInteger(e.code, tag: .context(0))
            }
        }
    }
}
