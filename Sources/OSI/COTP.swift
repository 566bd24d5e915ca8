/// ISO 8073 / X.224 class 0 transport protocol data units (the TPDU inside a TPKT).
public enum COTP {
    /// Variable-part parameter codes used by class 0.
    public enum ParameterCode {
        public static let tpduSize: UInt8 = 0xC0
        public static let callingTSAP: UInt8 = 0xC1
        public static let calledTSAP: UInt8 = 0xC2
        public static let checksum: UInt8 = 0xC3
        public static let version: UInt8 = 0xC4
        public static let additionalOptions: UInt8 = 0xC6
        public static let preferredMaxTPDUSize: UInt8 = 0xF0
        /// In an ER TPDU: the rejected TPDU header.
        public static let invalidTPDU: UInt8 = 0xC1
        public static let disconnectInfo: UInt8 = 0xE0
    }

    /// One variable-part parameter, kept in arrival order so that re-encoding is byte-exact.
    public struct Parameter: Hashable, Sendable {
        public var code: UInt8
        public var value: [UInt8]
        public init(code: UInt8, value: [UInt8]) {
            self.code = code
            self.value = value
        }
    }

    /// The TPDU sizes class 0 can negotiate: code 7 = 128 … code 13 = 8192 octets.
    public static func tpduSize(code: UInt8) -> Int? {
        (7...13).contains(code) ? 1 << Int(code) : nil
    }

    public static func tpduSizeCode(forSize size: Int) -> UInt8 {
        var code: UInt8 = 13
        while code > 7 && (1 << Int(code)) > size { code -= 1 }
        return code
    }
}

/// CR and CC share one layout.
public struct COTPConnection: Hashable, Sendable {
    public var destinationReference: UInt16
    public var sourceReference: UInt16
    /// Class in the high nibble, options in the low nibble (class 0: 0x00).
    public var classOption: UInt8
    public var credit: UInt8
    public var parameters: [COTP.Parameter]

    public init(
        destinationReference: UInt16 = 0, sourceReference: UInt16, classOption: UInt8 = 0,
        credit: UInt8 = 0, parameters: [COTP.Parameter] = []
    ) {
        self.destinationReference = destinationReference
        self.sourceReference = sourceReference
        self.classOption = classOption
        self.credit = credit
        self.parameters = parameters
    }

    public func parameter(_ code: UInt8) -> [UInt8]? { parameters.first { $0.code == code }?.value }
    public var callingTSAP: [UInt8]? { parameter(COTP.ParameterCode.callingTSAP) }
    public var calledTSAP: [UInt8]? { parameter(COTP.ParameterCode.calledTSAP) }
    /// Proposed maximum TPDU size in octets (class 0 default 128 when absent).
    public var tpduSize: Int? {
        guard let v = parameter(COTP.ParameterCode.tpduSize), v.count == 1 else { return nil }
        return COTP.tpduSize(code: v[0])
    }
}

public struct COTPDisconnect: Hashable, Sendable {
    public var destinationReference: UInt16
    public var sourceReference: UInt16
    public var reason: UInt8
    public var parameters: [COTP.Parameter]
    public init(destinationReference: UInt16, sourceReference: UInt16, reason: UInt8, parameters: [COTP.Parameter] = []) {
        self.destinationReference = destinationReference
        self.sourceReference = sourceReference
        self.reason = reason
        self.parameters = parameters
    }
}

public struct COTPError: Hashable, Sendable {
    public var destinationReference: UInt16
    public var rejectCause: UInt8
    public var parameters: [COTP.Parameter]
    public init(destinationReference: UInt16, rejectCause: UInt8, parameters: [COTP.Parameter] = []) {
        self.destinationReference = destinationReference
        self.rejectCause = rejectCause
        self.parameters = parameters
    }
}

/// A class 0 TPDU.
public enum TPDU: Hashable, Sendable {
    case connectionRequest(COTPConnection)
    case connectionConfirm(COTPConnection)
    case disconnectRequest(COTPDisconnect)
    case disconnectConfirm(destinationReference: UInt16, sourceReference: UInt16)
    /// DT: `endOfTSDU` marks the last TPDU of a TSDU (the EOT bit).
    case data(endOfTSDU: Bool, userData: ArraySlice<UInt8>)
    case error(COTPError)

    static let cr: UInt8 = 0xE0, cc: UInt8 = 0xD0, dr: UInt8 = 0x80, dc: UInt8 = 0xC0, dt: UInt8 = 0xF0, er: UInt8 = 0x70

    /// Decodes one TPDU (a TPKT payload).
    public static func decode(_ b: [UInt8]) throws -> TPDU {
        guard b.count >= 2 else { throw OSIError(.cotp, "TPDU shorter than its header") }
        let li = Int(b[0])
        guard li >= 1, li != 255, li + 1 <= b.count else {
            throw OSIError(.cotp, "length indicator \(li) exceeds the TPDU of \(b.count) octets")
        }
        let code = b[1] & 0xF0
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
        func params(from start: Int) throws -> [COTP.Parameter] {
            var out: [COTP.Parameter] = []
            var i = start
            while i < li + 1 {
                guard i + 2 <= li + 1 else { throw OSIError(.cotp, "truncated parameter", at: i) }
                let c = b[i], l = Int(b[i + 1])
                guard i + 2 + l <= li + 1 else { throw OSIError(.cotp, "parameter 0x\(String(c, radix: 16)) overruns the header", at: i) }
                out.append(COTP.Parameter(code: c, value: Array(b[(i + 2)..<(i + 2 + l)])))
                i += 2 + l
            }
            return out
        }
        switch code {
        case cr, cc:
            guard li >= 6 else { throw OSIError(.cotp, "CR/CC header too short") }
            let conn = COTPConnection(
                destinationReference: u16(2), sourceReference: u16(4), classOption: b[6],
                credit: b[1] & 0x0F, parameters: try params(from: 7))
            guard conn.classOption >> 4 == 0 else {
                throw OSIError(.cotp, "transport class \(conn.classOption >> 4) requested; only class 0 is supported")
            }
            if let size = conn.parameter(COTP.ParameterCode.tpduSize) {
                guard size.count == 1, COTP.tpduSize(code: size[0]) != nil else {
                    throw OSIError(.cotp, "invalid TPDU size parameter")
                }
            }
            if let t = conn.callingTSAP, t.isEmpty || t.count > 32 { throw OSIError(.cotp, "invalid calling TSAP length") }
            if let t = conn.calledTSAP, t.isEmpty || t.count > 32 { throw OSIError(.cotp, "invalid called TSAP length") }
            guard li + 1 == b.count else { throw OSIError(.cotp, "CR/CC carries user data (not allowed in class 0)") }
            return code == cr ? .connectionRequest(conn) : .connectionConfirm(conn)
        case dr:
            guard li >= 6 else { throw OSIError(.cotp, "DR header too short") }
            return .disconnectRequest(
                COTPDisconnect(destinationReference: u16(2), sourceReference: u16(4), reason: b[6], parameters: try params(from: 7)))
        case dc:
            guard li >= 5 else { throw OSIError(.cotp, "DC header too short") }
            return .disconnectConfirm(destinationReference: u16(2), sourceReference: u16(4))
        case dt:
            guard li == 2 else { throw OSIError(.cotp, "class 0 DT with length indicator \(li)") }
            return .data(endOfTSDU: b[2] & 0x80 != 0, userData: b[3...])
        case er:
            guard li >= 4 else { throw OSIError(.cotp, "ER header too short") }
            return .error(COTPError(destinationReference: u16(2), rejectCause: b[4], parameters: try params(from: 5)))
        default:
            throw OSIError(.cotp, "TPDU code 0x\(String(b[1], radix: 16)) not supported in class 0")
        }
    }

    /// Encodes this TPDU (without the TPKT header).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func hdr(_ code: UInt8, _ fixed: [UInt8], _ params: [COTP.Parameter]) {
            var body = fixed
            for p in params { body += [p.code, UInt8(p.value.count)] + p.value }
            out = [UInt8(body.count + 1), code] + body
        }
        func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        switch self {
        case .connectionRequest(let c):
            hdr(TPDU.cr | c.credit, u16(c.destinationReference) + u16(c.sourceReference) + [c.classOption], c.parameters)
        case .connectionConfirm(let c):
            hdr(TPDU.cc | c.credit, u16(c.destinationReference) + u16(c.sourceReference) + [c.classOption], c.parameters)
        case .disconnectRequest(let d):
            hdr(TPDU.dr, u16(d.destinationReference) + u16(d.sourceReference) + [d.reason], d.parameters)
        case .disconnectConfirm(let d, let s):
            hdr(TPDU.dc, u16(d) + u16(s), [])
        case .data(let eot, let data):
            out = [2, TPDU.dt, eot ? 0x80 : 0x00] + data
        case .error(let e):
            hdr(TPDU.er, u16(e.destinationReference) + [e.rejectCause], e.parameters)
        }
        return out
    }

    /// The 3-octet class 0 DT header.
    public static func dataHeader(endOfTSDU: Bool) -> [UInt8] { [2, dt, endOfTSDU ? 0x80 : 0x00] }
}

/// Joins the DT TPDUs of one TSDU (ISO 8073 class 0 has no other segmentation).
public struct COTPReassembler: Sendable {
    public let maxTSDULength: Int
    private var pending: [UInt8] = []

    public init(maxTSDULength: Int = 1 << 20) { self.maxTSDULength = maxTSDULength }

    /// Adds one DT; returns the whole TSDU when `endOfTSDU` is set.
    public mutating func append(endOfTSDU: Bool, _ data: ArraySlice<UInt8>) throws -> [UInt8]? {
        guard pending.count + data.count <= maxTSDULength else {
            pending = []
            throw OSIError(.cotp, "TSDU longer than the limit of \(maxTSDULength) octets")
        }
        if endOfTSDU && pending.isEmpty { return Array(data) }
        pending.append(contentsOf: data)
        guard endOfTSDU else { return nil }
        defer { pending = [] }
        return pending
    }

    public var isIdle: Bool { pending.isEmpty }
}
