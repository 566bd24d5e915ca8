import BER

/// ServiceError: why a whole confirmed request failed (carried in a confirmed-ErrorPDU).
public struct ServiceError: Hashable, Sendable, Error, CustomStringConvertible {
    /// The errorClass CHOICE alternatives of ISO 9506-2.
    public enum ErrorClass: UInt32, Sendable {
        case vmdState = 0, applicationReference, definition, resource, service, servicePreempt,
            timeResolution, access, initiate, conclude, cancel, file, others
    }

    public var errorClass: ErrorClass
    public var code: Int64
    public var additionalCode: Int64?
    public var additionalDescription: String?

    public init(_ errorClass: ErrorClass, _ code: Int64, additionalCode: Int64? = nil, additionalDescription: String? = nil) {
        self.errorClass = errorClass
        self.code = code
        self.additionalCode = additionalCode
        self.additionalDescription = additionalDescription
    }

    // Codes TASE.2 uses (spec §5.8).
    public static let definitionObjectUndefined = ServiceError(.definition, 1)
    public static let definitionObjectExists = ServiceError(.definition, 5)
    public static let definitionObjectAttributeInconsistent = ServiceError(.definition, 6)
    public static let resourceMemoryUnavailable = ServiceError(.resource, 1)
    public static let serviceOther = ServiceError(.service, 0)
    public static let servicePDUSize = ServiceError(.service, 3)
    public static let accessOther = ServiceError(.access, 0)
    public static let accessObjectAccessUnsupported = ServiceError(.access, 1)
    public static let accessObjectNonExistent = ServiceError(.access, 2)
    public static let accessObjectAccessDenied = ServiceError(.access, 3)
    public static let fileNonExistent = ServiceError(.file, 7)

    public var description: String {
        var s = "service error \(errorClass) code \(code)"
        if let d = additionalDescription { s += ": \(d)" }
        return s
    }

    /// Decodes the contents of a ServiceError SEQUENCE (`r` is inside it).
    static func decodeContents(_ r: inout BERReader) throws -> ServiceError {
        var c = try r.readConstructed(.contextConstructed(0), "errorClass")
        let e = try c.readElement()
        try c.expectEnd()
        guard e.tag.tagClass == .contextSpecific, !e.tag.isConstructed, let cls = ErrorClass(rawValue: e.tag.number) else {
            throw BERError(.unexpectedTag(expected: "errorClass", found: e.tag), at: e.offset)
        }
        var err = ServiceError(cls, try c.integer(of: e))
        if let a = try r.readOptionalElement(.context(1)) { err.additionalCode = try r.integer(of: a) }
        if let d = try r.readOptionalElement(.context(2)) { err.additionalDescription = try r.utf8String(of: d) }
        // serviceSpecificInfo [3] is accepted and ignored.
        _ = try r.readOptionalElement(.contextConstructed(3))
        try r.expectEnd()
        return err
    }

    /// Prepends the ServiceError fields (without an outer tag).
    func prependContents(to w: inout BERWriter) {
        if let d = additionalDescription { w.prependString(d, tag: .context(2)) }
        if let a = additionalCode { w.prependInteger(a, tag: .context(1)) }
        w.prependConstructed(.contextConstructed(0)) { $0.prependInteger(code, tag: .context(errorClass.rawValue)) }
    }
}

/// RejectPDU: a PDU that could not be accepted at all.
public struct RejectPDU: Hashable, Sendable {
    /// The rejectReason alternatives: which kind of PDU was rejected.
    public enum PDUType: UInt32, Sendable {
        case confirmedRequest = 1, confirmedResponse, confirmedError, unconfirmed, pduError,
            cancelRequest, cancelResponse, cancelError, concludeRequest, concludeResponse, concludeError
    }
    public var originalInvokeID: UInt32?
    public var pduType: PDUType
    /// For confirmed-requestPDU: 0 other, 1 unrecognized-service, 2 unrecognized-modifier,
    /// 3 invalid-invokeID, 4 invalid-argument, 5 invalid-modifier, 6 max-serv-outstanding-exceeded,
    /// 8 max-recursion-exceeded, 9 value-out-of-range. For pdu-error: 0 unknown-pdu-type,
    /// 1 invalid-pdu, 2 illegal-acse-mapping.
    public var reason: Int64

    public init(originalInvokeID: UInt32?, pduType: PDUType, reason: Int64) {
        self.originalInvokeID = originalInvokeID
        self.pduType = pduType
        self.reason = reason
    }

    public static func unrecognizedService(_ id: UInt32) -> RejectPDU { RejectPDU(originalInvokeID: id, pduType: .confirmedRequest, reason: 1) }
    public static func invalidArgument(_ id: UInt32) -> RejectPDU { RejectPDU(originalInvokeID: id, pduType: .confirmedRequest, reason: 4) }
    public static func maxServOutstandingExceeded(_ id: UInt32) -> RejectPDU { RejectPDU(originalInvokeID: id, pduType: .confirmedRequest, reason: 6) }
    public static func invalidPDU(_ id: UInt32?) -> RejectPDU { RejectPDU(originalInvokeID: id, pduType: .pduError, reason: 1) }
    public static func unknownPDUType() -> RejectPDU { RejectPDU(originalInvokeID: nil, pduType: .pduError, reason: 0) }
}
