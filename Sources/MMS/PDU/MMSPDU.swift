import BER

/// An MMS PDU (ISO 9506-2 MMSpdu).
public enum MMSPDU: Hashable, Sendable {
    case confirmedRequest(invokeID: UInt32, ConfirmedServiceRequest)
    case confirmedResponse(invokeID: UInt32, ConfirmedServiceResponse)
    case confirmedError(invokeID: UInt32, ServiceError)
    case unconfirmed(UnconfirmedService)
    case reject(RejectPDU)
    case cancelRequest(invokeID: UInt32)
    case cancelResponse(invokeID: UInt32)
    case cancelError(invokeID: UInt32, ServiceError)
    case initiateRequest(InitiateParameters)
    case initiateResponse(InitiateParameters)
    case initiateError(ServiceError)
    case concludeRequest
    case concludeResponse
    case concludeError(ServiceError)

    /// Short name of the PDU (and service), as Wireshark would show it.
    public var kindName: String {
        switch self {
        case .confirmedRequest(_, let s): return "confirmed-RequestPDU \(s.serviceName)"
        case .confirmedResponse(_, let s): return "confirmed-ResponsePDU \(s.serviceName)"
        case .confirmedError: return "confirmed-ErrorPDU"
        case .unconfirmed(.informationReport): return "informationReport"
        case .unconfirmed(.unsupported(let t, _)): return "unconfirmed[\(t)]"
        case .reject: return "rejectPDU"
        case .cancelRequest: return "cancel-RequestPDU"
        case .cancelResponse: return "cancel-ResponsePDU"
        case .cancelError: return "cancel-ErrorPDU"
        case .initiateRequest: return "initiate-RequestPDU"
        case .initiateResponse: return "initiate-ResponsePDU"
        case .initiateError: return "initiate-ErrorPDU"
        case .concludeRequest: return "conclude-RequestPDU"
        case .concludeResponse: return "conclude-ResponsePDU"
        case .concludeError: return "conclude-ErrorPDU"
        }
    }

    /// The invoke ID of a confirmed PDU, if it has one.
    public var invokeID: UInt32? {
        switch self {
        case .confirmedRequest(let i, _), .confirmedResponse(let i, _), .confirmedError(let i, _),
            .cancelRequest(let i), .cancelResponse(let i), .cancelError(let i, _):
            return i
        case .reject(let r): return r.originalInvokeID
        default: return nil
        }
    }

    // MARK: Decoding

    /// Decodes one MMS PDU; every malformed input is a `BERError`.
    public static func decode(_ bytes: some BERInput, limits: BERLimits = .default) throws -> MMSPDU {
        try BERReader.withReader(bytes, limits: limits) { r in
            let pdu = try decode(&r)
            try r.expectEnd()
            return pdu
        }
    }

    public static func decode(_ r: inout BERReader) throws -> MMSPDU {
        let e = try r.readElement()
        guard e.tag.tagClass == .contextSpecific else {
            throw BERError(.unexpectedTag(expected: "MMSpdu", found: e.tag), at: e.offset)
        }
        func invokeID(_ x: BERElement, _ rr: BERReader) throws -> UInt32 {
            try rr.integer(of: x, as: UInt32.self)
        }
        switch (e.tag.number, e.tag.isConstructed) {
        case (0, true):
            var c = try r.contents(of: e)
            let id = try invokeID(c.readElement(.integer, "invokeID"), c)
            _ = try c.readOptionalElement(.sequence)  // listOfModifier: accepted, not used by TASE.2
            let s = try c.readElement()
            let service = try ConfirmedServiceRequest.decode(s, in: c)
            // CS-Request-Detail [79] may follow; nothing else may.
            if !c.isAtEnd {
                let extra = try c.readElement()
                guard extra.tag.number == 79 else { throw BERError(.trailingData, at: extra.offset) }
            }
            return .confirmedRequest(invokeID: id, service)
        case (1, true):
            var c = try r.contents(of: e)
            let id = try invokeID(c.readElement(.integer, "invokeID"), c)
            let s = try c.readElement()
            let service = try ConfirmedServiceResponse.decode(s, in: c)
            if !c.isAtEnd {
                let extra = try c.readElement()
                guard extra.tag.number == 79 else { throw BERError(.trailingData, at: extra.offset) }
            }
            return .confirmedResponse(invokeID: id, service)
        case (2, true):
            var c = try r.contents(of: e)
            let id = try invokeID(c.readElement(.context(0), "invokeID"), c)
            _ = try c.readOptionalElement(.context(1))  // modifierPosition
            var se = try c.readConstructed(.contextConstructed(2), "serviceError")
            try c.expectEnd()
            return .confirmedError(invokeID: id, try ServiceError.decodeContents(&se))
        case (3, true):
            var c = try r.contents(of: e)
            let s = try c.readElement()
            let svc: UnconfirmedService
            if s.tag == .contextConstructed(0) {
                var rc = try c.contents(of: s)
                svc = .informationReport(try InformationReport.decode(&rc))
            } else {
                guard s.tag.tagClass == .contextSpecific else {
                    throw BERError(.unexpectedTag(expected: "UnconfirmedService", found: s.tag), at: s.offset)
                }
                svc = .unsupported(tag: s.tag.number, encoded: c.encodedBytes(of: s))
            }
            if !c.isAtEnd {
                let extra = try c.readElement()
                guard extra.tag.number == 79 else { throw BERError(.trailingData, at: extra.offset) }
            }
            return .unconfirmed(svc)
        case (4, true):
            var c = try r.contents(of: e)
            let id = try c.readOptionalElement(.context(0)).map { try invokeID($0, c) }
            let reason = try c.readElement()
            try c.expectEnd()
            guard reason.tag.tagClass == .contextSpecific, !reason.tag.isConstructed,
                let type = RejectPDU.PDUType(rawValue: reason.tag.number)
            else { throw BERError(.unexpectedTag(expected: "rejectReason", found: reason.tag), at: reason.offset) }
            return .reject(RejectPDU(originalInvokeID: id, pduType: type, reason: try c.integer(of: reason)))
        case (5, false): return .cancelRequest(invokeID: try invokeID(e, r))
        case (6, false): return .cancelResponse(invokeID: try invokeID(e, r))
        case (7, true):
            var c = try r.contents(of: e)
            let id = try invokeID(c.readElement(.context(0), "originalInvokeID"), c)
            var se = try c.readConstructed(.contextConstructed(1), "serviceError")
            try c.expectEnd()
            return .cancelError(invokeID: id, try ServiceError.decodeContents(&se))
        case (8, true):
            var c = try r.contents(of: e)
            return .initiateRequest(try InitiateParameters.decode(&c))
        case (9, true):
            var c = try r.contents(of: e)
            return .initiateResponse(try InitiateParameters.decode(&c))
        case (10, true):
            var c = try r.contents(of: e)
            return .initiateError(try ServiceError.decodeContents(&c))
        case (11, false):
            try r.null(of: e)
            return .concludeRequest
        case (12, false):
            try r.null(of: e)
            return .concludeResponse
        case (13, true):
            var c = try r.contents(of: e)
            return .concludeError(try ServiceError.decodeContents(&c))
        default:
            throw BERError(.unexpectedTag(expected: "MMSpdu", found: e.tag), at: e.offset)
        }
    }

    // MARK: Encoding

    /// Prepends this PDU to `w` (which may already hold nothing, or the lower layers' work).
    public func prepend(to w: inout BERWriter) {
        switch self {
        case .confirmedRequest(let id, let s):
            w.prependConstructed(.contextConstructed(0)) { w in
                s.prepend(to: &w)
                w.prependInteger(Int64(id))
            }
        case .confirmedResponse(let id, let s):
            w.prependConstructed(.contextConstructed(1)) { w in
                s.prepend(to: &w)
                w.prependInteger(Int64(id))
            }
        case .confirmedError(let id, let err):
            w.prependConstructed(.contextConstructed(2)) { w in
                w.prependConstructed(.contextConstructed(2)) { err.prependContents(to: &$0) }
                w.prependInteger(Int64(id), tag: .context(0))
            }
        case .unconfirmed(let svc):
            w.prependConstructed(.contextConstructed(3)) { w in
                switch svc {
                case .informationReport(let rep):
                    w.prependConstructed(.contextConstructed(0)) { rep.prependContents(to: &$0) }
                case .unsupported(_, let b): w.prepend(b)
                }
            }
        case .reject(let rej):
            w.prependConstructed(.contextConstructed(4)) { w in
                w.prependInteger(rej.reason, tag: .context(rej.pduType.rawValue))
                if let id = rej.originalInvokeID { w.prependInteger(Int64(id), tag: .context(0)) }
            }
        case .cancelRequest(let id): w.prependInteger(Int64(id), tag: .context(5))
        case .cancelResponse(let id): w.prependInteger(Int64(id), tag: .context(6))
        case .cancelError(let id, let err):
            w.prependConstructed(.contextConstructed(7)) { w in
                w.prependConstructed(.contextConstructed(1)) { err.prependContents(to: &$0) }
                w.prependInteger(Int64(id), tag: .context(0))
            }
        case .initiateRequest(let p): w.prependConstructed(.contextConstructed(8)) { p.prependContents(to: &$0) }
        case .initiateResponse(let p): w.prependConstructed(.contextConstructed(9)) { p.prependContents(to: &$0) }
        case .initiateError(let err): w.prependConstructed(.contextConstructed(10)) { err.prependContents(to: &$0) }
        case .concludeRequest: w.prependNull(tag: .context(11))
        case .concludeResponse: w.prependNull(tag: .context(12))
        case .concludeError(let err): w.prependConstructed(.contextConstructed(13)) { err.prependContents(to: &$0) }
        }
    }

    public func encoded() -> [UInt8] {
        var w = BERWriter(capacity: 256)
        prepend(to: &w)
        return w.toArray()
    }
}
