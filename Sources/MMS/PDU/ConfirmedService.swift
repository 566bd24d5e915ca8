import BER

/// The confirmed services FreeTase2 speaks, as requests.
public enum ConfirmedServiceRequest: Hashable, Sendable {
    case status(extendedDerivation: Bool)
    case getNameList(GetNameListRequest)
    case identify
    case read(ReadRequest)
    case write(WriteRequest)
    case getVariableAccessAttributes(VariableSpecification)
    case defineNamedVariableList(DefineNamedVariableListRequest)
    case getNamedVariableListAttributes(ObjectName)
    case deleteNamedVariableList(DeleteNamedVariableListRequest)
    /// Any other service, kept as encoded so that it can be rejected (unrecognized-service).
    case unsupported(tag: UInt32, encoded: [UInt8])

    /// The ConfirmedServiceRequest CHOICE tag number.
    public var serviceTag: UInt32 {
        switch self {
        case .status: return 0
        case .getNameList: return 1
        case .identify: return 2
        case .read: return 4
        case .write: return 5
        case .getVariableAccessAttributes: return 6
        case .defineNamedVariableList: return 11
        case .getNamedVariableListAttributes: return 12
        case .deleteNamedVariableList: return 13
        case .unsupported(let t, _): return t
        }
    }

    public var serviceName: String { MMSServiceNames.name(serviceTag) }

    static func decode(_ e: BERElement, in r: BERReader) throws -> ConfirmedServiceRequest {
        guard e.tag.tagClass == .contextSpecific else {
            throw BERError(.unexpectedTag(expected: "ConfirmedServiceRequest", found: e.tag), at: e.offset)
        }
        switch (e.tag.number, e.tag.isConstructed) {
        case (0, false): return .status(extendedDerivation: try r.boolean(of: e))
        case (1, true):
            var c = try r.contents(of: e)
            return .getNameList(try GetNameListRequest.decode(&c))
        case (2, false):
            try r.null(of: e)
            return .identify
        case (4, true):
            var c = try r.contents(of: e)
            return .read(try ReadRequest.decode(&c))
        case (5, true):
            var c = try r.contents(of: e)
            return .write(try WriteRequest.decode(&c))
        case (6, true):
            var c = try r.contents(of: e)
            let v = try VariableSpecification.decode(c.readElement(), in: c)
            try c.expectEnd()
            return .getVariableAccessAttributes(v)
        case (11, true):
            var c = try r.contents(of: e)
            return .defineNamedVariableList(try DefineNamedVariableListRequest.decode(&c))
        case (12, true):
            return .getNamedVariableListAttributes(try ObjectName.decodeExplicit(e, in: r))
        case (13, true):
            var c = try r.contents(of: e)
            return .deleteNamedVariableList(try DeleteNamedVariableListRequest.decode(&c))
        case (0, true), (1, false), (2, true), (4, false), (5, false), (6, false), (11, false), (12, false), (13, false):
            throw BERError(.invalidValue("\(MMSServiceNames.name(e.tag.number)) request with the wrong form"), at: e.offset)
        default:
            return .unsupported(tag: e.tag.number, encoded: r.encodedBytes(of: e))
        }
    }

    func prepend(to w: inout BERWriter) {
        switch self {
        case .status(let x): w.prependBoolean(x, tag: .context(0))
        case .getNameList(let g): w.prependConstructed(.contextConstructed(1)) { g.prependContents(to: &$0) }
        case .identify: w.prependNull(tag: .context(2))
        case .read(let q): w.prependConstructed(.contextConstructed(4)) { q.prependContents(to: &$0) }
        case .write(let q): w.prependConstructed(.contextConstructed(5)) { q.prependContents(to: &$0) }
        case .getVariableAccessAttributes(let v): w.prependConstructed(.contextConstructed(6)) { v.prepend(to: &$0) }
        case .defineNamedVariableList(let q): w.prependConstructed(.contextConstructed(11)) { q.prependContents(to: &$0) }
        case .getNamedVariableListAttributes(let n): w.prependConstructed(.contextConstructed(12)) { n.prepend(to: &$0) }
        case .deleteNamedVariableList(let q): w.prependConstructed(.contextConstructed(13)) { q.prependContents(to: &$0) }
        case .unsupported(_, let b): w.prepend(b)
        }
    }
}

/// The confirmed services FreeTase2 speaks, as responses.
public enum ConfirmedServiceResponse: Hashable, Sendable {
    case status(StatusResponse)
    case getNameList(GetNameListResponse)
    case identify(IdentifyResponse)
    case read(ReadResponse)
    case write([WriteResult])
    case getVariableAccessAttributes(GetVariableAccessAttributesResponse)
    case defineNamedVariableList
    case getNamedVariableListAttributes(GetNamedVariableListAttributesResponse)
    case deleteNamedVariableList(DeleteNamedVariableListResponse)
    case unsupported(tag: UInt32, encoded: [UInt8])

    public var serviceTag: UInt32 {
        switch self {
        case .status: return 0
        case .getNameList: return 1
        case .identify: return 2
        case .read: return 4
        case .write: return 5
        case .getVariableAccessAttributes: return 6
        case .defineNamedVariableList: return 11
        case .getNamedVariableListAttributes: return 12
        case .deleteNamedVariableList: return 13
        case .unsupported(let t, _): return t
        }
    }

    public var serviceName: String { MMSServiceNames.name(serviceTag) }

    static func decode(_ e: BERElement, in r: BERReader) throws -> ConfirmedServiceResponse {
        guard e.tag.tagClass == .contextSpecific else {
            throw BERError(.unexpectedTag(expected: "ConfirmedServiceResponse", found: e.tag), at: e.offset)
        }
        switch (e.tag.number, e.tag.isConstructed) {
        case (0, true):
            var c = try r.contents(of: e)
            return .status(try StatusResponse.decode(&c))
        case (1, true):
            var c = try r.contents(of: e)
            return .getNameList(try GetNameListResponse.decode(&c))
        case (2, true):
            var c = try r.contents(of: e)
            return .identify(try IdentifyResponse.decode(&c))
        case (4, true):
            var c = try r.contents(of: e)
            return .read(try ReadResponse.decode(&c))
        case (5, true):
            var c = try r.contents(of: e)
            return .write(try WriteResult.decodeList(&c))
        case (6, true):
            var c = try r.contents(of: e)
            return .getVariableAccessAttributes(try GetVariableAccessAttributesResponse.decode(&c))
        case (11, false):
            try r.null(of: e)
            return .defineNamedVariableList
        case (12, true):
            var c = try r.contents(of: e)
            return .getNamedVariableListAttributes(try GetNamedVariableListAttributesResponse.decode(&c))
        case (13, true):
            var c = try r.contents(of: e)
            return .deleteNamedVariableList(try DeleteNamedVariableListResponse.decode(&c))
        case (0, false), (1, false), (2, false), (4, false), (5, false), (6, false), (11, true), (12, false), (13, false):
            throw BERError(.invalidValue("\(MMSServiceNames.name(e.tag.number)) response with the wrong form"), at: e.offset)
        default:
            return .unsupported(tag: e.tag.number, encoded: r.encodedBytes(of: e))
        }
    }

    func prepend(to w: inout BERWriter) {
        switch self {
        case .status(let s): w.prependConstructed(.contextConstructed(0)) { s.prependContents(to: &$0) }
        case .getNameList(let g): w.prependConstructed(.contextConstructed(1)) { g.prependContents(to: &$0) }
        case .identify(let i): w.prependConstructed(.contextConstructed(2)) { i.prependContents(to: &$0) }
        case .read(let q): w.prependConstructed(.contextConstructed(4)) { q.prependContents(to: &$0) }
        case .write(let l): w.prependConstructed(.contextConstructed(5)) { WriteResult.prependList(l, to: &$0) }
        case .getVariableAccessAttributes(let g): w.prependConstructed(.contextConstructed(6)) { g.prependContents(to: &$0) }
        case .defineNamedVariableList: w.prependNull(tag: .context(11))
        case .getNamedVariableListAttributes(let g): w.prependConstructed(.contextConstructed(12)) { g.prependContents(to: &$0) }
        case .deleteNamedVariableList(let d): w.prependConstructed(.contextConstructed(13)) { d.prependContents(to: &$0) }
        case .unsupported(_, let b): w.prepend(b)
        }
    }
}

/// Unconfirmed services: informationReport, and others kept as encoded.
public enum UnconfirmedService: Hashable, Sendable {
    case informationReport(InformationReport)
    case unsupported(tag: UInt32, encoded: [UInt8])
}

/// Names of confirmed services by CHOICE tag, for logs and statistics.
public enum MMSServiceNames {
    static let names: [UInt32: String] = [
        0: "status", 1: "getNameList", 2: "identify", 3: "rename", 4: "read", 5: "write",
        6: "getVariableAccessAttributes", 7: "defineNamedVariable", 11: "defineNamedVariableList",
        12: "getNamedVariableListAttributes", 13: "deleteNamedVariableList", 72: "fileOpen", 73: "fileRead",
        74: "fileClose", 76: "fileDelete", 77: "fileDirectory",
    ]
    public static func name(_ tag: UInt32) -> String { names[tag] ?? "service[\(tag)]" }
}
