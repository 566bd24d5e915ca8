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

    /// The password, when the peer used the ACSE password mechanism.
    public var password: String? {
        if case .charString(let s)? = authentication { return s }
        return nil
    }
}

/// The called side's answer to an `AssociationRequest`.
public enum AssociationDecision: Hashable, Sendable {
    case accept
    /// Refuse with an ACSE diagnostic, e.g. `.callingAPTitleNotRecognized`.
    case reject(AARE.Diagnostic)
}

/// An established association, as either side sees it.
public struct AssociationInfo: Hashable, Sendable {
    public var isCalled: Bool
    public var peerAPTitle: OID?
    public var peerAEQualifier: Int64?
    public var applicationContext: OID
    public var parameters: NegotiatedParameters
    public var request: AssociationRequest?
}
