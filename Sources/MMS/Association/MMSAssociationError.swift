/// Errors an association reports to its user. Each says what failed and why, in words an
/// operator can act on.
public enum MMSAssociationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The PDU would exceed the negotiated maximum PDU size.
    case pduTooLarge(size: Int, limit: Int)
    /// The association is not (or no longer) established.
    case notAssociated
    /// The peer refused the association (ACSE diagnostic) or the connection.
    case rejected(String)
    /// The peer answered with a reject PDU.
    case rejectedByPeer(RejectPDU)
    /// The peer answered with a confirmed-ErrorPDU.
    case serviceError(ServiceError)
    /// The peer sent something that violates the protocol.
    case protocolError(String)
    /// The connection ended (abort, release or TCP close) before an answer came.
    case closed(String)
    /// No answer within the time allowed: what was waited for, and how long.
    case timeout(String)
    /// The peer answered with a response of another service.
    case unexpectedResponse(String)
    /// The answer to a request did not decode (its invoke ID could still be read).
    case malformedResponse(String)
    /// The peer negotiated parameters this side refuses (outstanding limits, PDU size, nesting).
    case unacceptableParameters(String)
    /// A documented limit of ours was reached (e.g. names in a GetNameList, bytes of reports).
    case limitExceeded(String)

    public var description: String {
        switch self {
        case .pduTooLarge(let s, let l): return "PDU of \(s) octets exceeds the negotiated maximum of \(l)"
        case .notAssociated: return "not associated"
        case .rejected(let r): return "association rejected: \(r)"
        case .rejectedByPeer(let r): return "request rejected by the peer (\(r.pduType), reason \(r.reason))"
        case .serviceError(let e): return "\(e)"
        case .protocolError(let s): return "protocol error: \(s)"
        case .closed(let s): return "connection closed: \(s)"
        case .timeout(let s): return "timed out: \(s)"
        case .unexpectedResponse(let s): return "unexpected response: \(s)"
        case .malformedResponse(let s): return "malformed response: \(s)"
        case .unacceptableParameters(let s): return "unacceptable association parameters: \(s)"
        case .limitExceeded(let s): return "limit reached: \(s)"
        }
    }
}
