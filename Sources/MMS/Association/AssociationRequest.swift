import BER
import OSI

/// Everything the called side knows about a proposed association when it decides to accept it.
public struct AssociationRequest: Hashable, Sendable {
    public var callingAPTitle: OID?
    public var callingAEQualifier: Int64?
    public var calledAPTitle: OID?
    public var calledAEQualifier: Int64?
    public var callingTSEL: [UInt8]?
    public var calledTSEL: [UInt8]?
    public var callingSSEL: [UInt8]?
    public var calledSSEL: [UInt8]?
    public var callingPSEL: [UInt8]?
    public var calledPSEL: [UInt8]?
    public var applicationContext: OID
    public var mechanismName: OID?
    public var authentication: AuthenticationValue?
    public var initiate: InitiateParameters
    /// The peer's address as the transport saw it (filled by the network layer), for logs.
    public var peerAddress: String?
    /// The DER certificate the peer presented in the TLS handshake (IEC 62351-4), filled by the
    /// network layer when the transport is TLS; nil on plain TCP or when it sent none.
    public var peerCertificate: [UInt8]?

    public init(callingAPTitle: OID? = nil, callingAEQualifier: Int64? = nil, calledAPTitle: OID? = nil, calledAEQualifier: Int64? = nil,
                callingTSEL: [UInt8]? = nil, calledTSEL: [UInt8]? = nil, callingSSEL: [UInt8]? = nil, calledSSEL: [UInt8]? = nil,
                callingPSEL: [UInt8]? = nil, calledPSEL: [UInt8]? = nil, applicationContext: OID, mechanismName: OID? = nil,
                authentication: AuthenticationValue? = nil, initiate: InitiateParameters, peerAddress: String? = nil) {
        self.callingAPTitle = callingAPTitle
        self.callingAEQualifier = callingAEQualifier
        self.calledAPTitle = calledAPTitle
        self.calledAEQualifier = calledAEQualifier
        self.callingTSEL = callingTSEL
        self.calledTSEL = calledTSEL
        self.callingSSEL = callingSSEL
        self.calledSSEL = calledSSEL
        self.callingPSEL = callingPSEL
        self.calledPSEL = calledPSEL
        self.applicationContext = applicationContext
        self.mechanismName = mechanismName
        self.authentication = authentication
        self.initiate = initiate
        self.peerAddress = peerAddress
    }

    /// The password, when the peer used the ACSE password mechanism.
    public var password: String? {
        if case .charString(let s)? = authentication { return s }
        return nil
    }
}

/// The called side's answer to an `AssociationRequest`.
public enum AssociationDecision: Sendable {
    /// Accept, answering with the server's own AP-title and AE-qualifier.
    case accept
    /// Accept with what the model chose for this partner: the AP-title and AE-qualifier to answer
    /// with (ICCP hubs answer each partner as that partner called them), and the model's own
    /// per-association object, which every later call for the association carries
    /// (`AssociationContext.session`).
    case acceptAs(AcceptedAssociation)
    /// Refuse with an ACSE diagnostic, e.g. `.callingAPTitleNotRecognized`.
    case reject(AARE.Diagnostic)
}

/// What a model attaches to an association it accepts.
public struct AcceptedAssociation: Sendable {
    /// Answer with this AP-title / AE-qualifier instead of the server's (nil: the server's).
    public var respondingAPTitle: OID?
    public var respondingAEQualifier: Int64?
    /// The model's per-association state, handed back in `AssociationContext.session`. A class:
    /// a model looks it up on every request, and a cast to a class is a compare, where a cast
    /// out of `any Sendable` went through the runtime's generic cast.
    public var session: (any AnyObject & Sendable)?

    public init(respondingAPTitle: OID? = nil, respondingAEQualifier: Int64? = nil, session: (any AnyObject & Sendable)? = nil) {
        self.respondingAPTitle = respondingAPTitle
        self.respondingAEQualifier = respondingAEQualifier
        self.session = session
    }
}

/// An established association, as either side sees it.
public struct AssociationInfo: Hashable, Sendable {
    public var isCalled: Bool
    public var peerAPTitle: OID?
    public var peerAEQualifier: Int64?
    public var applicationContext: OID
    public var parameters: NegotiatedParameters
    public var request: AssociationRequest?

    public init(isCalled: Bool, peerAPTitle: OID? = nil, peerAEQualifier: Int64? = nil, applicationContext: OID,
                parameters: NegotiatedParameters, request: AssociationRequest? = nil) {
        self.isCalled = isCalled
        self.peerAPTitle = peerAPTitle
        self.peerAEQualifier = peerAEQualifier
        self.applicationContext = applicationContext
        self.parameters = parameters
        self.request = request
    }
}
