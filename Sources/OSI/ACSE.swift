import BER

/// AP-title: form 2 (an OBJECT IDENTIFIER) is what MMS stacks send; form 1 (a directory
/// name) is kept as its encoded bytes.
public enum APTitle: Hashable, Sendable, CustomStringConvertible {
    case objectIdentifier(OID)
    case form1([UInt8])
    public var description: String {
        switch self {
        case .objectIdentifier(let o): return o.description
        case .form1(let b): return "form1(\(b.count) bytes)"
        }
    }
    public var oid: OID? { if case .objectIdentifier(let o) = self { return o } else { return nil } }
}

/// AE-qualifier: form 2 (an INTEGER) in practice; form 1 kept as encoded bytes.
public enum AEQualifier: Hashable, Sendable, CustomStringConvertible {
    case integer(Int64)
    case form1([UInt8])
    public var description: String {
        switch self {
        case .integer(let i): return String(i)
        case .form1(let b): return "form1(\(b.count) bytes)"
        }
    }
    public var integer: Int64? { if case .integer(let i) = self { return i } else { return nil } }
}

/// The title, qualifier and invocation identifiers of one application entity.
public struct ApplicationEntity: Hashable, Sendable {
    public var apTitle: APTitle?
    public var aeQualifier: AEQualifier?
    public var apInvocationID: Int64?
    public var aeInvocationID: Int64?
    public init(apTitle: APTitle? = nil, aeQualifier: AEQualifier? = nil, apInvocationID: Int64? = nil, aeInvocationID: Int64? = nil) {
        self.apTitle = apTitle
        self.aeQualifier = aeQualifier
        self.apInvocationID = apInvocationID
        self.aeInvocationID = aeInvocationID
    }
    public init(apTitle: OID?, aeQualifier: Int64?) {
        self.init(apTitle: apTitle.map(APTitle.objectIdentifier), aeQualifier: aeQualifier.map(AEQualifier.integer))
    }
    var isEmpty: Bool { apTitle == nil && aeQualifier == nil && apInvocationID == nil && aeInvocationID == nil }

    /// Reads the explicit field with tag number `base + k` (k = 0 title, 1 qualifier, 2 AP-inv, 3 AE-inv).
    mutating func take(_ f: BERElement, base: UInt32, _ r: BERReader) throws -> Bool {
        guard f.tag.tagClass == .contextSpecific, f.tag.isConstructed, f.tag.number >= base, f.tag.number < base + 4 else {
            return false
        }
        var c = try r.contents(of: f)
        let inner = try c.readElement()
        try c.expectEnd()
        switch f.tag.number - base {
        case 0: apTitle = inner.tag == .objectIdentifier ? .objectIdentifier(try c.objectIdentifier(of: inner)) : .form1(c.encodedBytes(of: inner))
        case 1: aeQualifier = inner.tag == .integer ? .integer(try c.integer(of: inner)) : .form1(c.encodedBytes(of: inner))
        case 2: apInvocationID = try c.integer(of: inner)
        default: aeInvocationID = try c.integer(of: inner)
        }
        return true
    }

    func prepend(base: UInt32, to w: inout BERWriter) {
        if let v = aeInvocationID { w.prependConstructed(.contextConstructed(base + 3)) { $0.prependInteger(v) } }
        if let v = apInvocationID { w.prependConstructed(.contextConstructed(base + 2)) { $0.prependInteger(v) } }
        switch aeQualifier {
        case .integer(let i)?: w.prependConstructed(.contextConstructed(base + 1)) { $0.prependInteger(i) }
        case .form1(let b)?: w.prependConstructed(.contextConstructed(base + 1)) { $0.prepend(b) }
        case nil: break
        }
        switch apTitle {
        case .objectIdentifier(let o)?: w.prependConstructed(.contextConstructed(base)) { $0.prependOID(o) }
        case .form1(let b)?: w.prependConstructed(.contextConstructed(base)) { $0.prepend(b) }
        case nil: break
        }
    }
}

/// ASN.1 EXTERNAL, as used in ACSE user-information to carry the MMS initiate PDU.
public struct External: Hashable, Sendable {
    public enum Encoding: Hashable, Sendable {
        case singleASN1Type([UInt8])
        case octetAligned([UInt8])
        case arbitrary(BitString)
    }
    public var directReference: OID?
    public var indirectReference: Int64?
    public var encoding: Encoding

    public init(directReference: OID? = nil, indirectReference: Int64?, encoding: Encoding) {
        self.directReference = directReference
        self.indirectReference = indirectReference
        self.encoding = encoding
    }

    public var bytes: [UInt8] {
        switch encoding {
        case .singleASN1Type(let b), .octetAligned(let b): return b
        case .arbitrary(let b): return b.bytes
        }
    }

    static func decode(_ r: inout BERReader, tag: BERTag = .external) throws -> External {
        var s = try r.readConstructed(tag, "EXTERNAL")
        let direct = try s.readOptionalElement(.objectIdentifier).map { try s.objectIdentifier(of: $0) }
        let indirect = try s.readOptionalElement(.integer).map { try s.integer(of: $0) }
        _ = try s.readOptionalElement(.objectDescriptor)
        let e = try s.readElement()
        let enc: Encoding
        switch e.tag {
        case .contextConstructed(0): enc = .singleASN1Type(s.octets(of: e))
        case .context(1): enc = .octetAligned(s.octets(of: e))
        case .context(2): enc = .arbitrary(try s.bitString(of: e))
        default: throw BERError(.unexpectedTag(expected: "EXTERNAL encoding", found: e.tag), at: e.offset)
        }
        try s.expectEnd()
        return External(directReference: direct, indirectReference: indirect, encoding: enc)
    }

    func prepend(to w: inout BERWriter, tag: BERTag = .external) {
        w.prependConstructed(tag) { w in
            switch encoding {
            case .singleASN1Type(let b): w.prependConstructed(.contextConstructed(0)) { $0.prepend(b) }
            case .octetAligned(let b): w.prependOctetString(b, tag: .context(1))
            case .arbitrary(let b): w.prependBitString(b, tag: .context(2))
            }
            if let i = indirectReference { w.prependInteger(i) }
            if let d = directReference { w.prependOID(d) }
        }
    }
}

/// Authentication-value of AARQ/AARE.
public enum AuthenticationValue: Hashable, Sendable {
    /// `charstring`: a password (the "password" mechanism 2.2.3.1).
    case charString(String)
    case bitString(BitString)
    case external(External)
    case other(mechanism: OID, value: [UInt8])

    static func decode(_ f: BERElement, _ r: BERReader) throws -> AuthenticationValue {
        var c = try r.contents(of: f)
        if try c.peekTag() == .contextConstructed(2) {
            return .external(try External.decode(&c, tag: .contextConstructed(2)))
        }
        let e = try c.readElement()
        switch e.tag {
        case .context(0): return .charString(try c.utf8String(of: e))
        case .context(1): return .bitString(try c.bitString(of: e))
        case .contextConstructed(3):
            var s = try c.contents(of: e)
            let m = try s.objectIdentifier(of: s.readElement(.objectIdentifier, "other-mechanism-name"))
            let v = try s.readElement()
            return .other(mechanism: m, value: s.encodedBytes(of: v))
        default:
            throw BERError(.unexpectedTag(expected: "Authentication-value", found: e.tag), at: e.offset)
        }
    }

    func prepend(tag: BERTag, to w: inout BERWriter) {
        w.prependConstructed(tag) { w in
            switch self {
            case .charString(let s): w.prependString(s, tag: .context(0))
            case .bitString(let b): w.prependBitString(b, tag: .context(1))
            case .external(let e): e.prepend(to: &w, tag: .contextConstructed(2))
            case .other(let m, let v):
                w.prependConstructed(.contextConstructed(3)) { w in
                    w.prepend(v)
                    w.prependOID(m)
                }
            }
        }
    }

    /// The password mechanism name 2.2.3.1 (ISO 8650 authentication, password).
    public static let passwordMechanism: OID = [2, 2, 3, 1]
}

/// AARQ-apdu.
public struct AARQ: Hashable, Sendable {
    public var protocolVersion: BitString?
    public var applicationContext: OID
    public var called: ApplicationEntity
    public var calling: ApplicationEntity
    public var senderRequirements: BitString?
    public var mechanismName: OID?
    public var authenticationValue: AuthenticationValue?
    public var implementationInformation: String?
    public var userInformation: [External]

    public init(
        applicationContext: OID = WellKnownOID.mmsApplicationContext, called: ApplicationEntity = .init(),
        calling: ApplicationEntity = .init(), mechanismName: OID? = nil, authenticationValue: AuthenticationValue? = nil,
        userInformation: [External]
    ) {
        self.applicationContext = applicationContext
        self.called = called
        self.calling = calling
        self.mechanismName = mechanismName
        self.authenticationValue = authenticationValue
        if authenticationValue != nil { senderRequirements = BitString(msbFirst: 1 << 63, count: 1) }
        self.userInformation = userInformation
    }
}

/// AARE-apdu.
public struct AARE: Hashable, Sendable {
    public enum Result: Int64, Sendable { case accepted = 0, rejectedPermanent = 1, rejectedTransient = 2 }
    public enum Diagnostic: Hashable, Sendable, CustomStringConvertible {
        case serviceUser(Int64)
        case serviceProvider(Int64)

        /// X.227 names, as an operator reads them in an error.
        public var description: String {
            switch self {
            case .serviceUser(let v):
                let names: [Int64: String] = [
                    0: "null", 1: "no reason given", 2: "application context name not supported", 3: "calling AP-title not recognized",
                    4: "calling AP invocation-identifier not recognized", 5: "calling AE-qualifier not recognized",
                    6: "calling AE invocation-identifier not recognized", 7: "called AP-title not recognized",
                    8: "called AP invocation-identifier not recognized", 9: "called AE-qualifier not recognized",
                    10: "called AE invocation-identifier not recognized", 11: "authentication mechanism name not recognized",
                    12: "authentication mechanism name required", 13: "authentication failure", 14: "authentication required",
                ]
                return names[v] ?? "service-user diagnostic \(v)"
            case .serviceProvider(let v):
                let names: [Int64: String] = [0: "null", 1: "no reason given", 2: "no common ACSE version"]
                return names[v] ?? "service-provider diagnostic \(v)"
            }
        }
        public static let null = Diagnostic.serviceUser(0)
        public static let noReasonGiven = Diagnostic.serviceUser(1)
        public static let applicationContextNotSupported = Diagnostic.serviceUser(2)
        public static let callingAPTitleNotRecognized = Diagnostic.serviceUser(3)
        public static let callingAEQualifierNotRecognized = Diagnostic.serviceUser(5)
        public static let calledAPTitleNotRecognized = Diagnostic.serviceUser(7)
        public static let calledAEQualifierNotRecognized = Diagnostic.serviceUser(9)
        public static let authenticationMechanismNotRecognized = Diagnostic.serviceUser(11)
        public static let authenticationMechanismRequired = Diagnostic.serviceUser(12)
        public static let authenticationFailure = Diagnostic.serviceUser(13)
        public static let authenticationRequired = Diagnostic.serviceUser(14)
    }
    public var protocolVersion: BitString?
    public var applicationContext: OID
    public var result: Result
    public var diagnostic: Diagnostic
    public var responding: ApplicationEntity
    public var responderRequirements: BitString?
    public var mechanismName: OID?
    public var authenticationValue: AuthenticationValue?
    public var implementationInformation: String?
    public var userInformation: [External]

    public init(
        applicationContext: OID = WellKnownOID.mmsApplicationContext, result: Result, diagnostic: Diagnostic = .null,
        responding: ApplicationEntity = .init(), userInformation: [External]
    ) {
        self.applicationContext = applicationContext
        self.result = result
        self.diagnostic = diagnostic
        self.responding = responding
        self.userInformation = userInformation
    }
}

/// The ACSE APDUs.
public enum ACSEAPDU: Hashable, Sendable {
    case associationRequest(AARQ)
    case associationResponse(AARE)
    /// RLRQ: reason 0 normal, 1 urgent, 30 user-defined.
    case releaseRequest(reason: Int64?, userInformation: [External])
    /// RLRE: reason 0 normal, 1 not-finished, 30 user-defined.
    case releaseResponse(reason: Int64?, userInformation: [External])
    /// ABRT: source 0 acse-service-user, 1 acse-service-provider.
    case abort(source: Int64, diagnostic: Int64?, userInformation: [External])

    static let userInfoTag = BERTag.contextConstructed(30)
    static let implInfoTag = BERTag.context(29)

    static func readUserInformation(_ f: BERElement, _ r: BERReader) throws -> [External] {
        var c = try r.contents(of: f)
        var out: [External] = []
        while !c.isAtEnd { out.append(try External.decode(&c)) }
        return out
    }

    static func prependUserInformation(_ list: [External], to w: inout BERWriter) {
        guard !list.isEmpty else { return }
        w.prependConstructed(userInfoTag) { w in
            for e in list.reversed() { e.prepend(to: &w) }
        }
    }

    public static func decode(_ bytes: [UInt8], limits: BERLimits = .default) throws -> ACSEAPDU {
        try BERReader.withReader(bytes, limits: limits) { r in
            let top = try r.readElement()
            try r.expectEnd()
            guard top.tag.tagClass == .application, top.tag.isConstructed else {
                throw BERError(.unexpectedTag(expected: "ACSE APDU", found: top.tag), at: top.offset)
            }
            var s = try r.contents(of: top)
            switch top.tag.number {
            case 0:
                var a = AARQ(applicationContext: [], userInformation: [])
                var sawContext = false
                while !s.isAtEnd {
                    let f = try s.readElement()
                    if try a.called.take(f, base: 2, s) || a.calling.take(f, base: 6, s) { continue }
                    switch f.tag {
                    case .context(0): a.protocolVersion = try s.bitString(of: f)
                    case .contextConstructed(1):
                        var c = try s.contents(of: f)
                        a.applicationContext = try c.objectIdentifier(of: c.readElement(.objectIdentifier, "application-context-name"))
                        sawContext = true
                    case .context(10): a.senderRequirements = try s.bitString(of: f)
                    case .context(11): a.mechanismName = try s.objectIdentifier(of: f)
                    case .contextConstructed(12): a.authenticationValue = try AuthenticationValue.decode(f, s)
                    case implInfoTag: a.implementationInformation = try s.utf8String(of: f)
                    case userInfoTag: a.userInformation = try readUserInformation(f, s)
                    default: break
                    }
                }
                guard sawContext else { throw OSIError(.acse, "AARQ without application-context-name") }
                return .associationRequest(a)
            case 1:
                var a = AARE(applicationContext: [], result: .accepted, userInformation: [])
                var sawResult = false
                while !s.isAtEnd {
                    let f = try s.readElement()
                    if try a.responding.take(f, base: 4, s) { continue }
                    switch f.tag {
                    case .context(0): a.protocolVersion = try s.bitString(of: f)
                    case .contextConstructed(1):
                        var c = try s.contents(of: f)
                        a.applicationContext = try c.objectIdentifier(of: c.readElement(.objectIdentifier, "application-context-name"))
                    case .contextConstructed(2):
                        var c = try s.contents(of: f)
                        let e = try c.readElement(.integer, "Associate-result")
                        guard let res = AARE.Result(rawValue: try c.integer(of: e)) else {
                            throw BERError(.valueOutOfRange("Associate-result"), at: e.offset)
                        }
                        a.result = res
                        sawResult = true
                    case .contextConstructed(3):
                        var c = try s.contents(of: f)
                        let d = try c.readElement()
                        var dc = try c.contents(of: d)
                        let v = try dc.integer(of: dc.readElement(.integer, "diagnostic"))
                        a.diagnostic = d.tag == .contextConstructed(2) ? .serviceProvider(v) : .serviceUser(v)
                    case .context(8): a.responderRequirements = try s.bitString(of: f)
                    case .context(9): a.mechanismName = try s.objectIdentifier(of: f)
                    case .contextConstructed(10): a.authenticationValue = try AuthenticationValue.decode(f, s)
                    case implInfoTag: a.implementationInformation = try s.utf8String(of: f)
                    case userInfoTag: a.userInformation = try readUserInformation(f, s)
                    default: break
                    }
                }
                guard sawResult else { throw OSIError(.acse, "AARE without result") }
                return .associationResponse(a)
            case 2, 3:
                var reason: Int64?
                var ui: [External] = []
                while !s.isAtEnd {
                    let f = try s.readElement()
                    if f.tag == .context(0) { reason = try s.integer(of: f) }
                    if f.tag == userInfoTag { ui = try readUserInformation(f, s) }
                }
                return top.tag.number == 2
                    ? .releaseRequest(reason: reason, userInformation: ui)
                    : .releaseResponse(reason: reason, userInformation: ui)
            case 4:
                var source: Int64?
                var diag: Int64?
                var ui: [External] = []
                while !s.isAtEnd {
                    let f = try s.readElement()
                    switch f.tag {
                    case .context(0): source = try s.integer(of: f)
                    case .context(1): diag = try s.integer(of: f)
                    case userInfoTag: ui = try readUserInformation(f, s)
                    default: break
                    }
                }
                guard let src = source else { throw OSIError(.acse, "ABRT without abort-source") }
                return .abort(source: src, diagnostic: diag, userInformation: ui)
            default:
                throw OSIError(.acse, "unsupported ACSE APDU [APPLICATION \(top.tag.number)]")
            }
        }
    }

    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 256)
        switch self {
        case .associationRequest(let a):
            w.prependConstructed(.application(0)) { w in
                ACSEAPDU.prependUserInformation(a.userInformation, to: &w)
                if let s = a.implementationInformation { w.prependString(s, tag: ACSEAPDU.implInfoTag) }
                a.authenticationValue?.prepend(tag: .contextConstructed(12), to: &w)
                if let m = a.mechanismName { w.prependOID(m, tag: .context(11)) }
                if let b = a.senderRequirements { w.prependBitString(b, tag: .context(10)) }
                a.calling.prepend(base: 6, to: &w)
                a.called.prepend(base: 2, to: &w)
                w.prependConstructed(.contextConstructed(1)) { $0.prependOID(a.applicationContext) }
                if let v = a.protocolVersion { w.prependBitString(v, tag: .context(0)) }
            }
        case .associationResponse(let a):
            w.prependConstructed(.application(1)) { w in
                ACSEAPDU.prependUserInformation(a.userInformation, to: &w)
                if let s = a.implementationInformation { w.prependString(s, tag: ACSEAPDU.implInfoTag) }
                a.authenticationValue?.prepend(tag: .contextConstructed(10), to: &w)
                if let m = a.mechanismName { w.prependOID(m, tag: .context(9)) }
                if let b = a.responderRequirements { w.prependBitString(b, tag: .context(8)) }
                a.responding.prepend(base: 4, to: &w)
                w.prependConstructed(.contextConstructed(3)) { w in
                    switch a.diagnostic {
                    case .serviceUser(let v): w.prependConstructed(.contextConstructed(1)) { $0.prependInteger(v) }
                    case .serviceProvider(let v): w.prependConstructed(.contextConstructed(2)) { $0.prependInteger(v) }
                    }
                }
                w.prependConstructed(.contextConstructed(2)) { $0.prependInteger(a.result.rawValue) }
                w.prependConstructed(.contextConstructed(1)) { $0.prependOID(a.applicationContext) }
                if let v = a.protocolVersion { w.prependBitString(v, tag: .context(0)) }
            }
        case .releaseRequest(let reason, let ui), .releaseResponse(let reason, let ui):
            let n: UInt32 = if case .releaseRequest = self { 2 } else { 3 }
            w.prependConstructed(.application(n)) { w in
                ACSEAPDU.prependUserInformation(ui, to: &w)
                if let r = reason { w.prependInteger(r, tag: .context(0)) }
            }
        case .abort(let source, let diag, let ui):
            w.prependConstructed(.application(4)) { w in
                ACSEAPDU.prependUserInformation(ui, to: &w)
                if let d = diag { w.prependInteger(d, tag: .context(1)) }
                w.prependInteger(source, tag: .context(0))
            }
        }
        return w.toArray()
    }
}
