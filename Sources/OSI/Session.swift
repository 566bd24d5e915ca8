/// ISO 8327-1 session protocol data units, kernel and duplex functional units.
public enum SessionParameter: Hashable, Sendable {
    /// A parameter (PI code and value).
    case pi(code: UInt8, value: [UInt8])
    /// A parameter group (PGI code and its parameters).
    case pgi(code: UInt8, [SessionParameter])
    /// A PGI whose value is opaque user data (User Data 193, Extended User Data 194).
    case userData(code: UInt8, [UInt8])

    public enum Code {
        public static let connectAcceptItem: UInt8 = 5
        public static let transportDisconnect: UInt8 = 17
        public static let protocolOptions: UInt8 = 19
        public static let sessionUserRequirements: UInt8 = 20
        public static let tsduMaximumSize: UInt8 = 21
        public static let versionNumber: UInt8 = 22
        public static let enclosureItem: UInt8 = 25
        public static let reasonCode: UInt8 = 50
        public static let callingSSEL: UInt8 = 51
        /// Called SSEL in CN, responding SSEL in AC.
        public static let calledSSEL: UInt8 = 52
        public static let userData: UInt8 = 193
        public static let extendedUserData: UInt8 = 194
    }

    var code: UInt8 {
        switch self {
        case .pi(let c, _), .pgi(let c, _), .userData(let c, _): return c
        }
    }
}

/// One SPDU. Parameters stay in arrival order so that re-encoding is byte-exact.
public struct SPDU: Hashable, Sendable {
    public enum Kind: UInt8, Sendable {
        case connect = 13  // CN
        case accept = 14  // AC
        case refuse = 12  // RF
        case finish = 9  // FN
        case disconnect = 10  // DN
        case abort = 25  // AB
        case abortAccept = 26  // AA
        /// Data transfer: a Give-Tokens SPDU (SI 1) followed by DT (SI 1) in category 0 concatenation.
        case data = 1
        case notFinished = 8  // NF
    }

    public var kind: Kind
    public var parameters: [SessionParameter]
    /// For `.data`: the user information that follows the DT SPDU header.
    public var userInformation: [UInt8]

    public init(kind: Kind, parameters: [SessionParameter] = [], userInformation: [UInt8] = []) {
        self.kind = kind
        self.parameters = parameters
        self.userInformation = userInformation
    }

    // MARK: Accessors

    func find(_ code: UInt8, in list: [SessionParameter]) -> SessionParameter? {
        for p in list {
            if p.code == code { return p }
            if case .pgi(_, let inner) = p, let f = find(code, in: inner) { return f }
        }
        return nil
    }

    public func value(_ code: UInt8) -> [UInt8]? {
        switch find(code, in: parameters) {
        case .pi(_, let v)?, .userData(_, let v)?: return v
        default: return nil
        }
    }

    /// Presentation PDU carried by this SPDU (User Data or Extended User Data; for DT the user information).
    public var userData: [UInt8]? {
        if kind == .data { return userInformation }
        return value(SessionParameter.Code.userData) ?? value(SessionParameter.Code.extendedUserData)
    }

    public var callingSSEL: [UInt8]? { value(SessionParameter.Code.callingSSEL) }
    public var calledSSEL: [UInt8]? { value(SessionParameter.Code.calledSSEL) }
    public var versionNumber: UInt8? { value(SessionParameter.Code.versionNumber)?.first }
    public var sessionUserRequirements: UInt16? {
        guard let v = value(SessionParameter.Code.sessionUserRequirements), v.count == 2 else { return nil }
        return UInt16(v[0]) << 8 | UInt16(v[1])
    }
    public var reasonCode: UInt8? { value(SessionParameter.Code.reasonCode)?.first }
    public var transportDisconnect: UInt8? { value(SessionParameter.Code.transportDisconnect)?.first }

    // MARK: Builders (parameter order as commonly seen on the wire)

    static func common(
        _ callingSSEL: [UInt8]?, _ calledSSEL: [UInt8]?, requirements: UInt16, userData: [UInt8]?
    ) -> [SessionParameter] {
        var p: [SessionParameter] = [
            .pgi(code: 5, [.pi(code: 19, value: [0]), .pi(code: 22, value: [2])]),
            .pi(code: 20, value: [UInt8(requirements >> 8), UInt8(requirements & 0xFF)]),
        ]
        if let s = callingSSEL { p.append(.pi(code: 51, value: s)) }
        if let s = calledSSEL { p.append(.pi(code: 52, value: s)) }
        if let u = userData { p.append(.userData(code: u.count > 512 ? 194 : 193, u)) }
        return p
    }

    /// CN with version 2 and the duplex functional unit.
    public static func connect(callingSSEL: [UInt8]?, calledSSEL: [UInt8]?, userData: [UInt8]) -> SPDU {
        SPDU(kind: .connect, parameters: common(callingSSEL, calledSSEL, requirements: 0x0002, userData: userData))
    }

    /// AC with version 2 and the duplex functional unit.
    public static func accept(respondingSSEL: [UInt8]?, userData: [UInt8]) -> SPDU {
        SPDU(kind: .accept, parameters: common(nil, respondingSSEL, requirements: 0x0002, userData: userData))
    }

    /// RF: `reason` 0 = rejection by the called SS-user (user data follows), 2 = SSAP unknown, …
    public static func refuse(reason: UInt8, userData: [UInt8]? = nil) -> SPDU {
        var p: [SessionParameter] = [.pi(code: 17, value: [1])]
        p.append(.pi(code: 50, value: [reason] + (userData ?? [])))
        return SPDU(kind: .refuse, parameters: p)
    }

    public static func finish(userData: [UInt8]) -> SPDU {
        SPDU(kind: .finish, parameters: [.pi(code: 17, value: [1]), .userData(code: 193, userData)])
    }

    public static func disconnect(userData: [UInt8]) -> SPDU {
        SPDU(kind: .disconnect, parameters: [.userData(code: 193, userData)])
    }

    /// AB: transport disconnect 0x0B (release transport, user abort).
    public static func abort(userData: [UInt8]?) -> SPDU {
        var p: [SessionParameter] = [.pi(code: 17, value: [0x0B])]
        if let u = userData { p.append(.userData(code: 193, u)) }
        return SPDU(kind: .abort, parameters: p)
    }

    public static func data(_ userInformation: [UInt8]) -> SPDU {
        SPDU(kind: .data, userInformation: userInformation)
    }

    /// The four octets that precede every data transfer: Give-Tokens, then DT, both empty.
    public static let dataHeader: [UInt8] = [0x01, 0x00, 0x01, 0x00]

    // MARK: Codec

    /// Decodes the SPDU(s) of one TSDU.
    public static func decode(_ b: [UInt8]) throws -> SPDU {
        var i = 0
        func readLI() throws -> Int {
            guard i < b.count else { throw OSIError(.session, "truncated length", at: i) }
            let l = b[i]
            i += 1
            if l < 255 { return Int(l) }
            guard i + 2 <= b.count else { throw OSIError(.session, "truncated length", at: i) }
            defer { i += 2 }
            return Int(b[i]) << 8 | Int(b[i + 1])
        }
        guard !b.isEmpty else { throw OSIError(.session, "empty TSDU") }
        var si = b[0]
        i = 1
        var li = try readLI()
        if si == 1 {
            // Category 0 Give-Tokens (possibly with a token item) must be followed by DT.
            guard i + li <= b.count else { throw OSIError(.session, "Give-Tokens overruns the TSDU", at: 0) }
            i += li
            guard i < b.count else { throw OSIError(.session, "Give-Tokens without a following SPDU", at: i) }
            si = b[i]
            i += 1
            li = try readLI()
            guard si == 1 else { throw OSIError(.session, "SPDU \(si) after Give-Tokens; only DT is supported", at: i) }
            guard i + li <= b.count else { throw OSIError(.session, "DT header overruns the TSDU", at: i) }
            let params = try parseParameters(b, i, i + li, depth: 0)
            return SPDU(kind: .data, parameters: params, userInformation: Array(b[(i + li)...]))
        }
        guard let kind = Kind(rawValue: si), kind != .data else {
            throw OSIError(.session, "unsupported SPDU type \(si)", at: 0)
        }
        guard i + li == b.count else {
            throw OSIError(.session, "SPDU length \(li) does not match the TSDU of \(b.count) octets", at: 0)
        }
        let params = try parseParameters(b, i, i + li, depth: 0)
        let spdu = SPDU(kind: kind, parameters: params)
        if kind == .connect || kind == .accept {
            if let v = spdu.versionNumber, v & 0x02 == 0 {
                throw OSIError(.session, "session version 2 not proposed")
            }
        }
        return spdu
    }

    static func parseParameters(_ b: [UInt8], _ start: Int, _ end: Int, depth: Int) throws -> [SessionParameter] {
        var out: [SessionParameter] = []
        var i = start
        while i < end {
            let code = b[i]
            i += 1
            guard i < end else { throw OSIError(.session, "truncated parameter", at: i) }
            var l = Int(b[i])
            i += 1
            if l == 255 {
                guard i + 2 <= end else { throw OSIError(.session, "truncated parameter length", at: i) }
                l = Int(b[i]) << 8 | Int(b[i + 1])
                i += 2
            }
            guard i + l <= end else { throw OSIError(.session, "parameter \(code) overruns its SPDU", at: i) }
            let value = Array(b[i..<(i + l)])
            switch code {
            case SessionParameter.Code.userData, SessionParameter.Code.extendedUserData:
                out.append(.userData(code: code, value))
            case 1, 5, 33, 34, 40, 41:
                // Parameter groups (connection identifier, connect/accept item, …).
                guard depth == 0 else { throw OSIError(.session, "nested parameter group", at: i) }
                out.append(.pgi(code: code, try parseParameters(b, i, i + l, depth: 1)))
            default:
                out.append(.pi(code: code, value: value))
            }
            i += l
        }
        return out
    }

    /// Encodes the SPDU (for `.data` the Give-Tokens + DT header, then the user information).
    public func encoded() -> [UInt8] {
        if kind == .data { return SPDU.dataHeader + userInformation }
        var body: [UInt8] = []
        SPDU.encodeParameters(parameters, into: &body)
        var out: [UInt8] = [kind.rawValue]
        SPDU.appendLength(body.count, to: &out)
        return out + body
    }

    static func appendLength(_ l: Int, to out: inout [UInt8]) {
        if l < 255 {
            out.append(UInt8(l))
        } else {
            out += [255, UInt8(l >> 8), UInt8(l & 0xFF)]
        }
    }

    static func encodeParameters(_ list: [SessionParameter], into out: inout [UInt8]) {
        for p in list {
            switch p {
            case .pi(let c, let v), .userData(let c, let v):
                out.append(c)
                appendLength(v.count, to: &out)
                out += v
            case .pgi(let c, let inner):
                var body: [UInt8] = []
                encodeParameters(inner, into: &body)
                out.append(c)
                appendLength(body.count, to: &out)
                out += body
            }
        }
    }
}

extension SPDU {
    /// Where the user information of a data-transfer TSDU (Give-Tokens + DT) lies in `b`, read
    /// in place for the data phase's hot path; nil when the TSDU holds another SPDU (which
    /// `decode` handles). Every length is checked against the TSDU.
    public static func dataTransferUserInformation(in b: UnsafeRawBufferPointer) throws -> Range<Int>? {
        guard let first = b.first, first == Kind.data.rawValue else { return nil }
        var i = 0
        func header() throws -> Int {
            guard i + 2 <= b.count else { throw OSIError(.session, "truncated SPDU header", at: i) }
            i += 1
            var li = Int(b[i])
            i += 1
            if li == 255 {
                guard i + 2 <= b.count else { throw OSIError(.session, "truncated length", at: i) }
                li = Int(b[i]) << 8 | Int(b[i + 1])
                i += 2
            }
            guard i + li <= b.count else { throw OSIError(.session, "SPDU parameters overrun the TSDU", at: i) }
            return li
        }
        i += try header()  // Give-Tokens (category 0), possibly with a token item
        guard i < b.count else { throw OSIError(.session, "Give-Tokens without a following SPDU", at: i) }
        guard b[i] == Kind.data.rawValue else { throw OSIError(.session, "SPDU \(b[i]) after Give-Tokens; only DT is supported", at: i) }
        i += try header()  // DT
        return i..<b.count
    }
}
