import BER

/// Object identifiers the upper layers use.
public enum WellKnownOID {
    public static let acseAbstractSyntax: OID = [2, 2, 1, 0, 1]
    public static let mmsAbstractSyntax: OID = [1, 0, 9506, 2, 1]
    public static let berTransferSyntax: OID = [2, 1, 1]
    public static let mmsApplicationContext: OID = [1, 0, 9506, 2, 3]
    /// An older MMS application context name still proposed by ICCP products in the field.
    public static let mmsApplicationContextV1: OID = [1, 0, 9506, 1, 1]
}

/// One entry of a presentation-context-definition-list.
public struct PresentationContextDefinition: Hashable, Sendable {
    public var id: Int64
    public var abstractSyntax: OID
    public var transferSyntaxes: [OID]
    public init(id: Int64, abstractSyntax: OID, transferSyntaxes: [OID] = [WellKnownOID.berTransferSyntax]) {
        self.id = id
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
    }
}

/// One entry of a presentation-context-definition-result-list.
public struct PresentationContextResult: Hashable, Sendable {
    /// 0 acceptance, 1 user-rejection, 2 provider-rejection.
    public var result: Int64
    public var transferSyntax: OID?
    public var providerReason: Int64?
    public init(result: Int64, transferSyntax: OID? = nil, providerReason: Int64? = nil) {
        self.result = result
        self.transferSyntax = transferSyntax
        self.providerReason = providerReason
    }
    public static let accepted = PresentationContextResult(result: 0, transferSyntax: WellKnownOID.berTransferSyntax)
}

/// presentation-data-values of a PDV-list.
public enum PresentationDataValue: Hashable, Sendable {
    /// The complete BER encoding of one value (the contents of `[0]`).
    case singleASN1Type([UInt8])
    case octetAligned([UInt8])
    case arbitrary(BitString)
}

/// PDV-list: one presentation data value for one context.
public struct PDV: Hashable, Sendable {
    public var transferSyntax: OID?
    public var contextID: Int64
    public var value: PresentationDataValue
    public init(transferSyntax: OID? = nil, contextID: Int64, value: PresentationDataValue) {
        self.transferSyntax = transferSyntax
        self.contextID = contextID
        self.value = value
    }

    /// The encoded value, whichever way it was carried.
    public var bytes: [UInt8] {
        switch value {
        case .singleASN1Type(let b), .octetAligned(let b): return b
        case .arbitrary(let b): return b.bytes
        }
    }
}

/// User-data of the presentation layer.
public enum PresentationUserData: Hashable, Sendable {
    case simplyEncoded([UInt8])
    case fullyEncoded([PDV])

    public var pdvs: [PDV] {
        if case .fullyEncoded(let l) = self { return l }
        return []
    }

    static let simplyTag = BERTag(.application, 0)
    static let fullyTag = BERTag(.application, 1, constructed: true)

    static func decode(_ e: BERElement, _ r: BERReader) throws -> PresentationUserData {
        if e.tag == simplyTag { return .simplyEncoded(r.octets(of: e)) }
        guard e.tag == fullyTag else { throw BERError(.unexpectedTag(expected: "User-data", found: e.tag), at: e.offset) }
        var list = try r.contents(of: e)
        var pdvs: [PDV] = []
        while !list.isAtEnd {
            var s = try list.readConstructed(.sequence, "PDV-list")
            let ts = try s.readOptionalElement(.objectIdentifier).map { try s.objectIdentifier(of: $0) }
            let id = try s.integer(of: s.readElement(.integer, "presentation-context-identifier"))
            let v = try s.readElement()
            let value: PresentationDataValue
            switch v.tag {
            case .contextConstructed(0): value = .singleASN1Type(s.octets(of: v))
            case .context(1): value = .octetAligned(s.octets(of: v))
            case .context(2): value = .arbitrary(try s.bitString(of: v))
            default: throw BERError(.unexpectedTag(expected: "presentation-data-values", found: v.tag), at: v.offset)
            }
            try s.expectEnd()
            pdvs.append(PDV(transferSyntax: ts, contextID: id, value: value))
        }
        return .fullyEncoded(pdvs)
    }

    /// Decodes a stand-alone User-data (the PPDU of the data transfer phase, and of release).
    public static func decode(_ bytes: [UInt8], limits: BERLimits = .default) throws -> PresentationUserData {
        try BERReader.withReader(bytes, limits: limits) { r in
            let e = try r.readElement()
            try r.expectEnd()
            return try decode(e, r)
        }
    }

    func prepend(to w: inout BERWriter) {
        switch self {
        case .simplyEncoded(let b):
            w.prependOctetString(b, tag: PresentationUserData.simplyTag)
        case .fullyEncoded(let list):
            w.prependConstructed(PresentationUserData.fullyTag) { w in
                for p in list.reversed() {
                    w.prependConstructed(.sequence) { w in
                        switch p.value {
                        case .singleASN1Type(let b): w.prependConstructed(.contextConstructed(0)) { $0.prepend(b) }
                        case .octetAligned(let b): w.prependOctetString(b, tag: .context(1))
                        case .arbitrary(let b): w.prependBitString(b, tag: .context(2))
                        }
                        w.prependInteger(p.contextID)
                        if let ts = p.transferSyntax { w.prependOID(ts) }
                    }
                }
            }
        }
    }

    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 256)
        prepend(to: &w)
        return w.toArray()
    }

    /// Wraps what `w` holds (exactly one complete BER value) as fully-encoded user data of
    /// `contextID`: `61 L 30 L 02 01 id A0 L <value>`, without copying the value.
    @inlinable
    public static func prependFullyEncoded(contextID: Int64, to w: inout BERWriter) {
        w.prependHeader(.contextConstructed(0), length: w.count)
        w.prependInteger(contextID)
        w.prependHeader(.sequence, length: w.count)
        w.prependHeader(BERTag(.application, 1, constructed: true), length: w.count)
    }
}

private let modeSelectorTag = BERTag.contextConstructed(0)
private let normalModeTag = BERTag.contextConstructed(2)

/// CP-type: the connect presentation PPDU (normal mode).
public struct CPType: Hashable, Sendable {
    public var protocolVersion: BitString?
    public var callingSelector: [UInt8]?
    public var calledSelector: [UInt8]?
    public var contexts: [PresentationContextDefinition]
    public var presentationRequirements: BitString?
    public var userSessionRequirements: BitString?
    public var userData: PresentationUserData?

    public init(
        protocolVersion: BitString? = nil, callingSelector: [UInt8]?, calledSelector: [UInt8]?,
        contexts: [PresentationContextDefinition], presentationRequirements: BitString? = nil,
        userSessionRequirements: BitString? = nil, userData: PresentationUserData?
    ) {
        self.protocolVersion = protocolVersion
        self.callingSelector = callingSelector
        self.calledSelector = calledSelector
        self.contexts = contexts
        self.presentationRequirements = presentationRequirements
        self.userSessionRequirements = userSessionRequirements
        self.userData = userData
    }

    public static func decode(_ bytes: [UInt8], limits: BERLimits = .default) throws -> CPType {
        try BERReader.withReader(bytes, limits: limits) { r in
            var set = try r.readConstructed(.set, "CP-type")
            try r.expectEnd()
            var cp = CPType(callingSelector: nil, calledSelector: nil, contexts: [], userData: nil)
            var sawNormal = false
            while !set.isAtEnd {
                let e = try set.readElement()
                switch e.tag {
                case modeSelectorTag:
                    var m = try set.contents(of: e)
                    let mode = try m.integer(of: m.readElement(.context(0), "mode-value"))
                    guard mode == 1 else { throw OSIError(.presentation, "X.410-1984 mode is not supported") }
                case normalModeTag:
                    sawNormal = true
                    var n = try set.contents(of: e)
                    while !n.isAtEnd {
                        let f = try n.readElement()
                        switch f.tag {
                        case .context(0): cp.protocolVersion = try n.bitString(of: f)
                        case .context(1): cp.callingSelector = n.octets(of: f)
                        case .context(2): cp.calledSelector = n.octets(of: f)
                        case .contextConstructed(4): cp.contexts = try decodeContextList(n.contents(of: f))
                        case .contextConstructed(6): break  // default-context-name: unused in normal MMS stacks
                        case .context(8): cp.presentationRequirements = try n.bitString(of: f)
                        case .context(9): cp.userSessionRequirements = try n.bitString(of: f)
                        case PresentationUserData.simplyTag, PresentationUserData.fullyTag:
                            cp.userData = try PresentationUserData.decode(f, n)
                        default: break  // extensions are ignored, as X.226 asks
                        }
                    }
                default: break
                }
            }
            guard sawNormal else { throw OSIError(.presentation, "CP without normal-mode-parameters") }
            return cp
        }
    }

    static func decodeContextList(_ list: BERReader) throws -> [PresentationContextDefinition] {
        var list = list
        var out: [PresentationContextDefinition] = []
        while !list.isAtEnd {
            var s = try list.readConstructed(.sequence, "Context-list item")
            let id = try s.integer(of: s.readElement(.integer, "presentation-context-identifier"))
            let abs = try s.objectIdentifier(of: s.readElement(.objectIdentifier, "abstract-syntax-name"))
            var tsl = try s.readConstructed(.sequence, "transfer-syntax-name-list")
            var ts: [OID] = []
            while !tsl.isAtEnd { ts.append(try tsl.objectIdentifier(of: tsl.readElement(.objectIdentifier, "transfer-syntax-name"))) }
            out.append(PresentationContextDefinition(id: id, abstractSyntax: abs, transferSyntaxes: ts))
        }
        return out
    }

    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 512)
        w.prependConstructed(.set) { w in
            w.prependConstructed(normalModeTag) { w in
                userData?.prepend(to: &w)
                if let b = userSessionRequirements { w.prependBitString(b, tag: .context(9)) }
                if let b = presentationRequirements { w.prependBitString(b, tag: .context(8)) }
                w.prependConstructed(.contextConstructed(4)) { w in
                    for c in contexts.reversed() {
                        w.prependConstructed(.sequence) { w in
                            w.prependConstructed(.sequence) { w in
                                for t in c.transferSyntaxes.reversed() { w.prependOID(t) }
                            }
                            w.prependOID(c.abstractSyntax)
                            w.prependInteger(c.id)
                        }
                    }
                }
                if let s = calledSelector { w.prependOctetString(s, tag: .context(2)) }
                if let s = callingSelector { w.prependOctetString(s, tag: .context(1)) }
                if let v = protocolVersion { w.prependBitString(v, tag: .context(0)) }
            }
            w.prependConstructed(modeSelectorTag) { $0.prependInteger(1, tag: .context(0)) }
        }
        return w.toArray()
    }
}

func decodeResultList(_ list: BERReader) throws -> [PresentationContextResult] {
    var list = list
    var out: [PresentationContextResult] = []
    while !list.isAtEnd {
        var s = try list.readConstructed(.sequence, "Result-list item")
        var r = PresentationContextResult(result: try s.integer(of: s.readElement(.context(0), "result")))
        if let e = try s.readOptionalElement(.context(1)) { r.transferSyntax = try s.objectIdentifier(of: e) }
        if let e = try s.readOptionalElement(.context(2)) { r.providerReason = try s.integer(of: e) }
        out.append(r)
    }
    return out
}

func prependResultList(_ results: [PresentationContextResult], to w: inout BERWriter) {
    w.prependConstructed(.contextConstructed(5)) { w in
        for r in results.reversed() {
            w.prependConstructed(.sequence) { w in
                if let p = r.providerReason { w.prependInteger(p, tag: .context(2)) }
                if let t = r.transferSyntax { w.prependOID(t, tag: .context(1)) }
                w.prependInteger(r.result, tag: .context(0))
            }
        }
    }
}

/// CPA-PPDU: the accept presentation PPDU (normal mode).
public struct CPAType: Hashable, Sendable {
    public var protocolVersion: BitString?
    public var respondingSelector: [UInt8]?
    public var results: [PresentationContextResult]
    public var presentationRequirements: BitString?
    public var userSessionRequirements: BitString?
    public var userData: PresentationUserData?

    public init(
        protocolVersion: BitString? = nil, respondingSelector: [UInt8]?, results: [PresentationContextResult],
        presentationRequirements: BitString? = nil, userSessionRequirements: BitString? = nil,
        userData: PresentationUserData?
    ) {
        self.protocolVersion = protocolVersion
        self.respondingSelector = respondingSelector
        self.results = results
        self.presentationRequirements = presentationRequirements
        self.userSessionRequirements = userSessionRequirements
        self.userData = userData
    }

    public static func decode(_ bytes: [UInt8], limits: BERLimits = .default) throws -> CPAType {
        try BERReader.withReader(bytes, limits: limits) { r in
            var set = try r.readConstructed(.set, "CPA-PPDU")
            try r.expectEnd()
            var cpa = CPAType(respondingSelector: nil, results: [], userData: nil)
            while !set.isAtEnd {
                let e = try set.readElement()
                guard e.tag == normalModeTag else { continue }
                var n = try set.contents(of: e)
                while !n.isAtEnd {
                    let f = try n.readElement()
                    switch f.tag {
                    case .context(0): cpa.protocolVersion = try n.bitString(of: f)
                    case .context(3): cpa.respondingSelector = n.octets(of: f)
                    case .contextConstructed(5): cpa.results = try decodeResultList(n.contents(of: f))
                    case .context(8): cpa.presentationRequirements = try n.bitString(of: f)
                    case .context(9): cpa.userSessionRequirements = try n.bitString(of: f)
                    case PresentationUserData.simplyTag, PresentationUserData.fullyTag:
                        cpa.userData = try PresentationUserData.decode(f, n)
                    default: break
                    }
                }
            }
            return cpa
        }
    }

    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 512)
        w.prependConstructed(.set) { w in
            w.prependConstructed(normalModeTag) { w in
                userData?.prepend(to: &w)
                if let b = userSessionRequirements { w.prependBitString(b, tag: .context(9)) }
                if let b = presentationRequirements { w.prependBitString(b, tag: .context(8)) }
                prependResultList(results, to: &w)
                if let s = respondingSelector { w.prependOctetString(s, tag: .context(3)) }
                if let v = protocolVersion { w.prependBitString(v, tag: .context(0)) }
            }
            w.prependConstructed(modeSelectorTag) { $0.prependInteger(1, tag: .context(0)) }
        }
        return w.toArray()
    }
}

/// CPR-PPDU: the refuse presentation PPDU (normal mode).
public struct CPRType: Hashable, Sendable {
    public var protocolVersion: BitString?
    public var respondingSelector: [UInt8]?
    public var results: [PresentationContextResult]
    public var defaultContextResult: Int64?
    /// 0 reason-not-specified, 1 temporary-congestion, 2 local-limit-exceeded, 3 called-address-unknown, …
    public var providerReason: Int64?
    public var userData: PresentationUserData?

    public init(
        respondingSelector: [UInt8]? = nil, results: [PresentationContextResult] = [], providerReason: Int64? = nil,
        userData: PresentationUserData? = nil
    ) {
        self.respondingSelector = respondingSelector
        self.results = results
        self.providerReason = providerReason
        self.userData = userData
    }

    public static func decode(_ bytes: [UInt8], limits: BERLimits = .default) throws -> CPRType {
        try BERReader.withReader(bytes, limits: limits) { r in
            var n = try r.readConstructed(.sequence, "CPR-PPDU")
            try r.expectEnd()
            var cpr = CPRType()
            while !n.isAtEnd {
                let f = try n.readElement()
                switch f.tag {
                case .context(0): cpr.protocolVersion = try n.bitString(of: f)
                case .context(3): cpr.respondingSelector = n.octets(of: f)
                case .contextConstructed(5): cpr.results = try decodeResultList(n.contents(of: f))
                case .context(7): cpr.defaultContextResult = try n.integer(of: f)
                case .context(10): cpr.providerReason = try n.integer(of: f)
                case PresentationUserData.simplyTag, PresentationUserData.fullyTag:
                    cpr.userData = try PresentationUserData.decode(f, n)
                default: break
                }
            }
            return cpr
        }
    }

    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 256)
        w.prependConstructed(.sequence) { w in
            userData?.prepend(to: &w)
            if let p = providerReason { w.prependInteger(p, tag: .context(10)) }
            if let d = defaultContextResult { w.prependInteger(d, tag: .context(7)) }
            if !results.isEmpty { prependResultList(results, to: &w) }
            if let s = respondingSelector { w.prependOctetString(s, tag: .context(3)) }
            if let v = protocolVersion { w.prependBitString(v, tag: .context(0)) }
        }
        return w.toArray()
    }
}

/// An abort PPDU: ARU (user abort, normal mode) or ARP (provider abort).
public enum AbortPPDU: Hashable, Sendable {
    case userAbort(contextIDs: [Int64], userData: PresentationUserData?)
    /// `reason`: 0 not specified, 1 unrecognized-ppdu, 2 unexpected-ppdu, 3 unexpected-session-service-primitive,
    /// 4 unrecognized-ppdu-parameter, 5 unexpected-ppdu-parameter, 6 invalid-ppdu-parameter-value.
    case providerAbort(reason: Int64?, eventIdentifier: Int64?)

    public static func decode(_ bytes: [UInt8], limits: BERLimits = .default) throws -> AbortPPDU {
        try BERReader.withReader(bytes, limits: limits) { r in
            let e = try r.readElement()
            try r.expectEnd()
            var c = try r.contents(of: e)
            switch e.tag {
            case .contextConstructed(0):
                var ids: [Int64] = []
                var ud: PresentationUserData?
                while !c.isAtEnd {
                    let f = try c.readElement()
                    if f.tag == .contextConstructed(0) {
                        var l = try c.contents(of: f)
                        while !l.isAtEnd {
                            var s = try l.readConstructed(.sequence, "Presentation-context-identifier-list item")
                            ids.append(try s.integer(of: s.readElement(.integer, "presentation-context-identifier")))
                        }
                    } else if f.tag == PresentationUserData.fullyTag || f.tag == PresentationUserData.simplyTag {
                        ud = try PresentationUserData.decode(f, c)
                    }
                }
                return .userAbort(contextIDs: ids, userData: ud)
            case .sequence:
                let reason = try c.readOptionalElement(.context(0)).map { try c.integer(of: $0) }
                let event = try c.readOptionalElement(.context(1)).map { try c.integer(of: $0) }
                return .providerAbort(reason: reason, eventIdentifier: event)
            default:
                throw BERError(.unexpectedTag(expected: "ARU-PPDU or ARP-PPDU", found: e.tag), at: e.offset)
            }
        }
    }

    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 128)
        switch self {
        case .userAbort(let ids, let ud):
            w.prependConstructed(.contextConstructed(0)) { w in
                ud?.prepend(to: &w)
                if !ids.isEmpty {
                    w.prependConstructed(.contextConstructed(0)) { w in
                        for id in ids.reversed() {
                            w.prependConstructed(.sequence) { w in
                                w.prependOID(WellKnownOID.berTransferSyntax)
                                w.prependInteger(id)
                            }
                        }
                    }
                }
            }
        case .providerAbort(let reason, let event):
            w.prependConstructed(.sequence) { w in
                if let e = event { w.prependInteger(e, tag: .context(1)) }
                if let r = reason { w.prependInteger(r, tag: .context(0)) }
            }
        }
        return w.toArray()
    }
}

extension PresentationUserData {
    /// The one PDV of a fully-encoded User-data, read in place: its presentation context and
    /// where its single-ASN1-type (or octet-aligned) value lies in `bytes`. The data phase's
    /// hot path; anything else a data TSDU may carry is an error.
    public static func singlePDV(in bytes: UnsafeRawBufferPointer, limits: BERLimits = .default) throws -> (contextID: Int64, value: Range<Int>) {
        try BERReader.withReader(bytes, limits: limits) { r in
            let e = try r.readElement()
            try r.expectEnd()
            guard e.tag == fullyTag else { throw OSIError(.presentation, "data transfer that is not fully-encoded User-data") }
            var list = try r.contents(of: e)
            var s = try list.readConstructed(.sequence, "PDV-list")
            guard list.isAtEnd else { throw OSIError(.presentation, "data transfer with more than one PDV (expected one)") }
            _ = try s.readOptionalElement(.objectIdentifier)
            let id = try s.integer(of: s.readElement(.integer, "presentation-context-identifier"))
            let v = try s.readElement()
            try s.expectEnd()
            switch v.tag {
            case .contextConstructed(0), .context(1): return (id, v.contentOffset..<(v.contentOffset + v.contentLength))
            default: throw OSIError(.presentation, "presentation data value of type \(v.tag) (expected single-ASN1-type)")
            }
        }
    }
}
