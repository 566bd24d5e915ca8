import BER
import OSI

/// Errors an association reports to its user.
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
    /// No answer within the time allowed.
    case timeout
    /// The peer answered with a response of another service.
    case unexpectedResponse(String)

    public var description: String {
        switch self {
        case .pduTooLarge(let s, let l): return "PDU of \(s) octets exceeds the negotiated maximum of \(l)"
        case .notAssociated: return "not associated"
        case .rejected(let r): return "association rejected: \(r)"
        case .rejectedByPeer(let r): return "request rejected by the peer (\(r.pduType), reason \(r.reason))"
        case .serviceError(let e): return "\(e)"
        case .protocolError(let s): return "protocol error: \(s)"
        case .closed(let s): return "connection closed: \(s)"
        case .timeout: return "timed out"
        case .unexpectedResponse(let s): return "unexpected response: \(s)"
        }
    }
}

/// The OSI and MMS association life cycle of one TCP connection, for either role, as a pure
/// state machine: it is fed TPKT payloads and user requests, and answers with actions
/// (bytes to write, PDUs to deliver, when to close). It owns COTP reassembly, the session
/// and presentation framing, Initiate negotiation, conclude and release, and the count of
/// requests being served (so that requests past the negotiated limit are rejected).
public struct MMSConnectionStateMachine: Sendable {
    public enum Role: Sendable { case called, calling }

    public struct Configuration: Sendable {
        public var local: OSIAddress
        /// For the calling role: whom to call.
        public var remote: OSIAddress
        public var limits: MMSLimits
        public var authentication: AuthenticationValue?
        public init(local: OSIAddress, remote: OSIAddress = OSIAddress(), limits: MMSLimits = MMSLimits(), authentication: AuthenticationValue? = nil) {
            self.local = local
            self.remote = remote
            self.limits = limits
            self.authentication = authentication
        }
    }

    public enum Action: Sendable, Equatable {
        /// Write these TPKT frames.
        case write([UInt8])
        /// Called role: ask the user whether to accept; answer with `accept(_:)`.
        case requestAcceptance(AssociationRequest)
        case associated(AssociationInfo)
        /// An MMS PDU for the user (requests to serve, responses, reports, rejects).
        case deliver(MMSPDU)
        /// Calling role: the peer confirmed our conclude; release follows.
        case concluded
        /// Something the peer did wrong that did not end the association (to be logged).
        case warning(String)
        /// Close the connection after the writes before it; the association is over.
        case close(reason: String, error: MMSAssociationError?)
    }

    enum State: Sendable {
        case awaitingCR
        case awaitingCC
        case awaitingConnect
        case awaitingAcceptDecision(AssociationRequest, PresentationContexts, [PresentationContextDefinition])
        case awaitingAccept
        case associated
        /// A conclude was exchanged; only release may follow.
        case concluded
        case releasing
        case closed
    }

    public let role: Role
    public let configuration: Configuration
    var state: State
    var contexts = PresentationContexts()
    var reassembler: COTPReassembler
    var tpduSize = 128
    var localReference: UInt16 = 0x0001
    var remoteReference: UInt16 = 0
    public private(set) var parameters: NegotiatedParameters?
    /// Invoke IDs of the peer's requests we are serving.
    var serving: Set<UInt32> = []
    var berLimits: BERLimits

    public init(role: Role, configuration: Configuration) {
        self.role = role
        self.configuration = configuration
        self.state = role == .called ? .awaitingCR : .awaitingCC
        let maxPDU = Int(configuration.limits.maxPDUSize)
        self.reassembler = COTPReassembler(maxTSDULength: maxPDU + 4096)
        self.berLimits = BERLimits(maxDepth: max(Int(configuration.limits.dataStructureNestingLevel) * 2 + 24, 48), maxElementLength: maxPDU + 4096, maxInputLength: maxPDU + 4096)
    }

    public var isAssociated: Bool { if case .associated = state { return true } else { return false } }
    public var isClosed: Bool { if case .closed = state { return true } else { return false } }
    /// True while a TSDU is only partly received.
    public var hasPartialTSDU: Bool { !reassembler.isIdle }

    // MARK: Calling role

    /// Calling role: the TCP connection is up; send CR.
    public mutating func start() -> [Action] {
        guard role == .calling, case .awaitingCC = state else { return [] }
        var params: [COTP.Parameter] = [COTP.Parameter(code: COTP.ParameterCode.tpduSize, value: [COTP.tpduSizeCode(forSize: configuration.limits.maxTPDUSize)])]
        if let t = configuration.remote.tsel { params.append(COTP.Parameter(code: COTP.ParameterCode.calledTSAP, value: t)) }
        if let t = configuration.local.tsel { params.append(COTP.Parameter(code: COTP.ParameterCode.callingTSAP, value: t)) }
        let cr = TPDU.connectionRequest(COTPConnection(sourceReference: localReference, parameters: params))
        return [.write(frame(cr))]
    }

    // MARK: Inbound

    /// One TPKT payload (a TPDU) arrived.
    public mutating func received(tpdu bytes: [UInt8]) -> [Action] {
        if case .closed = state { return [] }
        let tpdu: TPDU
        do { tpdu = try TPDU.decode(bytes) } catch { return protocolFailure("\(error)") }
        switch (tpdu, state) {
        case (.connectionRequest(let cr), .awaitingCR):
            return receivedCR(cr)
        case (.connectionConfirm(let cc), .awaitingCC):
            remoteReference = cc.sourceReference
            tpduSize = min(cc.tpduSize ?? 128, configuration.limits.maxTPDUSize)
            state = .awaitingAccept
            let initiate = MMSPDU.initiateRequest(.request(configuration.limits))
            let cn = OSIEncoder.connect(calling: configuration.local, called: configuration.remote, initiate: initiate, authentication: configuration.authentication)
            return [.write(frames(cn))]
        case (.data(let eot, let data), _):
            do {
                guard let tsdu = try reassembler.append(endOfTSDU: eot, data) else { return [] }
                return receivedTSDU(tsdu)
            } catch { return protocolFailure("\(error)") }
        case (.disconnectRequest(let dr), _):
            state = .closed
            return [.close(reason: "COTP disconnect request (reason \(dr.reason))", error: .closed("disconnect request"))]
        case (.error(let er), _):
            state = .closed
            return [.close(reason: "COTP error TPDU (cause \(er.rejectCause))", error: .protocolError("COTP ER"))]
        default:
            return protocolFailure("unexpected \(tpdu) in state \(state)")
        }
    }

    mutating func receivedCR(_ cr: COTPConnection) -> [Action] {
        remoteReference = cr.sourceReference
        let proposed = cr.tpduSize ?? 128
        tpduSize = min(proposed, configuration.limits.maxTPDUSize)
        // Echo the proposal's parameters (TPDU size as agreed, TSAPs as sent).
        var params: [COTP.Parameter] = []
        for p in cr.parameters {
            switch p.code {
            case COTP.ParameterCode.tpduSize: params.append(COTP.Parameter(code: p.code, value: [COTP.tpduSizeCode(forSize: tpduSize)]))
            case COTP.ParameterCode.callingTSAP, COTP.ParameterCode.calledTSAP: params.append(p)
            default: break
            }
        }
        let cc = TPDU.connectionConfirm(COTPConnection(destinationReference: remoteReference, sourceReference: localReference, parameters: params))
        callingTSEL = cr.callingTSAP
        calledTSEL = cr.calledTSAP
        state = .awaitingConnect
        return [.write(frame(cc))]
    }

    var callingTSEL: [UInt8]?
    var calledTSEL: [UInt8]?

    mutating func receivedTSDU(_ tsdu: [UInt8]) -> [Action] {
        switch state {
        case .associated, .concluded, .releasing:
            return receivedInAssociation(tsdu)
        case .awaitingConnect:
            var ctx = PresentationContexts()
            let message: OSIMessage
            do { message = try OSIMessage.decode(tsdu: tsdu, contexts: &ctx, limits: berLimits) } catch {
                return protocolFailure("bad connect: \(error)")
            }
            guard case .connect(let spdu, let cp, let aarq, let mms) = message else {
                return protocolFailure("expected a session CONNECT, got \(message)")
            }
            guard case .initiateRequest(let initiate)? = mms else {
                return refuse(.noReasonGiven, ctx, reason: "AARQ without an MMS initiate request")
            }
            contexts = ctx
            let request = AssociationRequest(
                callingAPTitle: aarq.calling.apTitle?.oid, callingAEQualifier: aarq.calling.aeQualifier?.integer,
                calledAPTitle: aarq.called.apTitle?.oid, calledAEQualifier: aarq.called.aeQualifier?.integer,
                callingTSEL: callingTSEL, calledTSEL: calledTSEL, callingSSEL: spdu.callingSSEL, calledSSEL: spdu.calledSSEL,
                callingPSEL: cp.callingSelector, calledPSEL: cp.calledSelector, applicationContext: aarq.applicationContext,
                mechanismName: aarq.mechanismName, authentication: aarq.authenticationValue, initiate: initiate)
            guard aarq.applicationContext == WellKnownOID.mmsApplicationContext || aarq.applicationContext == WellKnownOID.mmsApplicationContextV1 else {
                return refuse(.applicationContextNotSupported, ctx, reason: "application context \(aarq.applicationContext) not supported")
            }
            state = .awaitingAcceptDecision(request, ctx, cp.contexts)
            return [.requestAcceptance(request)]
        case .awaitingAccept:
            var ctx = contexts
            let message: OSIMessage
            do { message = try OSIMessage.decode(tsdu: tsdu, contexts: &ctx, limits: berLimits) } catch {
                return protocolFailure("bad accept: \(error)")
            }
            switch message {
            case .accept(_, _, let aare, let mms):
                guard aare.result == .accepted else {
                    state = .closed
                    return [.close(reason: "association rejected", error: .rejected("\(aare.result), diagnostic \(aare.diagnostic)"))]
                }
                guard case .initiateResponse(let resp)? = mms else {
                    state = .closed
                    let why: String = if case .initiateError(let e)? = mms { "initiate error: \(e)" } else { "AARE without an MMS initiate response" }
                    return [.close(reason: why, error: .rejected(why))]
                }
                let negotiated = resp.negotiated(peerServices: resp.servicesSupported, tpduSize: tpduSize)
                parameters = negotiated
                state = .associated
                return [.associated(AssociationInfo(
                    isCalled: false, peerAPTitle: aare.responding.apTitle?.oid, peerAEQualifier: aare.responding.aeQualifier?.integer,
                    applicationContext: aare.applicationContext, parameters: negotiated, request: nil))]
            case .refuse(_, _, let aare):
                state = .closed
                let why = aare.map { "diagnostic \($0.diagnostic)" } ?? "session refused"
                return [.close(reason: "association refused: \(why)", error: .rejected(why))]
            case .abort, .acse(_, .abort):
                state = .closed
                return [.close(reason: "aborted by the peer", error: .closed("aborted by the peer"))]
            default:
                return protocolFailure("expected a session ACCEPT, got \(message)")
            }
        default:
            return protocolFailure("data in state \(state)")
        }
    }

    mutating func receivedInAssociation(_ tsdu: [UInt8]) -> [Action] {
        let spdu: SPDU
        do { spdu = try SPDU.decode(tsdu) } catch { return protocolFailure("\(error)") }
        guard spdu.kind == .data else {
            var ctx = contexts
            let message: OSIMessage
            do { message = try OSIMessage.decode(tsdu: tsdu, contexts: &ctx, limits: berLimits) } catch {
                return protocolFailure("\(error)")
            }
            switch message {
            case .acse(_, .releaseRequest):
                // The peer releases: answer RLRE and close.
                state = .closed
                return [.write(frames(OSIEncoder.releaseResponse(contexts: contexts))), .close(reason: "released by the peer", error: nil)]
            case .acse(_, .releaseResponse), .session(_):
                state = .closed
                return [.close(reason: "released", error: nil)]
            case .acse(_, .abort), .abort:
                state = .closed
                return [.close(reason: "aborted by the peer", error: .closed("aborted by the peer"))]
            default:
                return protocolFailure("unexpected \(spdu.kind) SPDU in the association")
            }
        }
        // Data transfer: presentation, then MMS.
        let mmsBytes: [UInt8]
        do {
            let ud = try PresentationUserData.decode(spdu.userInformation, limits: berLimits)
            guard ud.pdvs.count == 1, let pdv = ud.pdvs.first else { return protocolFailure("data with \(ud.pdvs.count) PDVs") }
            if pdv.contextID == contexts.acse {
                // ACSE in the data phase: only ABRT makes sense.
                if case .abort = try ACSEAPDU.decode(pdv.bytes, limits: berLimits) {
                    state = .closed
                    return [.close(reason: "aborted by the peer", error: .closed("aborted by the peer"))]
                }
                return protocolFailure("unexpected ACSE PDU in the data phase")
            }
            guard pdv.contextID == contexts.mms else { return protocolFailure("data for presentation context \(pdv.contextID)") }
            mmsBytes = pdv.bytes
        } catch { return protocolFailure("\(error)") }
        let pdu: MMSPDU
        do { pdu = try MMSPDU.decode(mmsBytes, limits: berLimits) } catch {
            // A malformed MMS PDU: reject it (with its invoke ID when one can be read) and go on.
            let id = MMSPDU.salvageInvokeID(mmsBytes)
            let reject: RejectPDU = if let id, mmsBytes.first == 0xA0 { .invalidArgument(id) } else { .invalidPDU(id) }
            return [.warning("malformed MMS PDU rejected: \(error)")] + ((try? sendActions(.reject(reject))) ?? [])
        }
        return receivedPDU(pdu)
    }

    mutating func receivedPDU(_ pdu: MMSPDU) -> [Action] {
        switch pdu {
        case .confirmedRequest(let id, let service):
            if case .concluded = state { return (try? sendActions(.reject(RejectPDU(originalInvokeID: id, pduType: .confirmedRequest, reason: 0)))) ?? [] }
            if case .unsupported = service { return (try? sendActions(.reject(.unrecognizedService(id)))) ?? [] }
            guard !serving.contains(id) else {
                return (try? sendActions(.reject(RejectPDU(originalInvokeID: id, pduType: .confirmedRequest, reason: 3)))) ?? []
            }
            let limit = parameters?.servedConcurrently(asCalled: role == .called) ?? 1
            guard serving.count < limit else {
                return [.warning("request \(id) past the negotiated limit of \(limit) outstanding; rejected")]
                    + ((try? sendActions(.reject(.maxServOutstandingExceeded(id)))) ?? [])
            }
            serving.insert(id)
            return [.deliver(pdu)]
        case .concludeRequest:
            guard serving.isEmpty else {
                return (try? sendActions(.concludeError(ServiceError(.conclude, 1, additionalDescription: "requests outstanding")))) ?? []
            }
            state = .concluded
            return (try? sendActions(.concludeResponse)) ?? []
        case .concludeResponse:
            // Our conclude was accepted: release the association (RLRQ in FN).
            state = .releasing
            return [.concluded, .write(frames(OSIEncoder.releaseRequest(contexts: contexts)))]
        case .concludeError(let e):
            state = .associated
            return [.deliver(.concludeError(e))]
        case .cancelRequest(let id):
            // Requests are answered as fast as they are served; nothing can be cancelled.
            return (try? sendActions(.cancelError(invokeID: id, ServiceError(.cancel, 2)))) ?? []
        case .initiateRequest, .initiateResponse, .initiateError:
            return protocolFailure("initiate PDU inside an association")
        default:
            return [.deliver(pdu)]
        }
    }

    // MARK: Called role decisions

    /// Called role: the user's answer to `.requestAcceptance`.
    public mutating func accept(_ decision: AssociationDecision) -> [Action] {
        guard case .awaitingAcceptDecision(let request, let ctx, let proposed) = state else { return [] }
        switch decision {
        case .reject(let diagnostic):
            return refuse(diagnostic, ctx, reason: "rejected: diagnostic \(diagnostic)", proposed: proposed, applicationContext: request.applicationContext)
        case .accept:
            let response = InitiateParameters.response(to: request.initiate, limits: configuration.limits)
            let negotiated = response.negotiated(peerServices: request.initiate.servicesSupported, tpduSize: tpduSize)
            parameters = negotiated
            contexts = ctx
            state = .associated
            let ac = OSIEncoder.accept(responding: configuration.local, initiate: .initiateResponse(response), contexts: ctx,
                                       proposed: proposed, applicationContext: request.applicationContext)
            return [.write(frames(ac)), .associated(AssociationInfo(
                isCalled: true, peerAPTitle: request.callingAPTitle, peerAEQualifier: request.callingAEQualifier,
                applicationContext: request.applicationContext, parameters: negotiated, request: request))]
        }
    }

    mutating func refuse(_ diagnostic: AARE.Diagnostic, _ ctx: PresentationContexts, reason: String,
                         proposed: [PresentationContextDefinition] = [], applicationContext: OID = WellKnownOID.mmsApplicationContext) -> [Action] {
        state = .closed
        let rf = OSIEncoder.reject(responding: configuration.local, diagnostic: diagnostic, initiateError: nil, contexts: ctx,
                                   proposed: proposed, applicationContext: applicationContext)
        return [.write(frames(rf)), .close(reason: reason, error: .rejected(reason))]
    }

    // MARK: Outbound

    /// Frames one MMS PDU for the association. Fails when it is larger than negotiated.
    public mutating func send(_ pdu: MMSPDU) throws -> [Action] {
        switch state {
        case .associated, .concluded: break
        default: throw MMSAssociationError.notAssociated
        }
        return try sendActions(pdu)
    }

    mutating func sendActions(_ pdu: MMSPDU) throws -> [Action] {
        var w = BERWriter(capacity: 512)
        pdu.prepend(to: &w)
        if let limit = parameters?.maxPDUSize, w.count > limit {
            throw MMSAssociationError.pduTooLarge(size: w.count, limit: limit)
        }
        switch pdu {
        case .confirmedResponse(let id, _), .confirmedError(let id, _): serving.remove(id)
        case .reject(let r): if let id = r.originalInvokeID { serving.remove(id) }
        default: break
        }
        OSIEncoder.prependDataFraming(to: &w, contexts: contexts)
        if COTPSegmenter.prependSingleFrame(to: &w, maxTPDUSize: tpduSize) {
            return [.write(w.toArray())]
        }
        return [.write(COTPSegmenter.frames(w.toArray(), maxTPDUSize: tpduSize))]
    }

    /// Frames an unconfirmed MMS PDU that the caller encoded itself (reports built straight from
    /// storage). Fails when it is larger than negotiated.
    /// `answering` is the invoke ID of the request a pre-encoded response answers.
    public mutating func sendEncoded(_ mms: [UInt8], answering: UInt32? = nil) throws -> [Action] {
        switch state {
        case .associated, .concluded: break
        default: throw MMSAssociationError.notAssociated
        }
        if let limit = parameters?.maxPDUSize, mms.count > limit {
            throw MMSAssociationError.pduTooLarge(size: mms.count, limit: limit)
        }
        if let id = answering { serving.remove(id) }
        var w = BERWriter(capacity: mms.count + 32)
        w.prepend(mms)
        OSIEncoder.prependDataFraming(to: &w, contexts: contexts)
        if COTPSegmenter.prependSingleFrame(to: &w, maxTPDUSize: tpduSize) {
            return [.write(w.toArray())]
        }
        return [.write(COTPSegmenter.frames(w.toArray(), maxTPDUSize: tpduSize))]
    }

    /// Size of `pdu` as encoded, for callers that must check before sending.
    public func fits(_ pdu: MMSPDU) -> Bool {
        guard let limit = parameters?.maxPDUSize else { return false }
        var w = BERWriter(capacity: 512)
        pdu.prepend(to: &w)
        return w.count <= limit
    }

    /// Calling role (or either): conclude, then release.
    public mutating func conclude() throws -> [Action] {
        guard case .associated = state else { throw MMSAssociationError.notAssociated }
        return try sendActions(.concludeRequest)
    }

    /// Abort: AB + ARU + ABRT, then close.
    public mutating func abort(reason: String = "aborted") -> [Action] {
        switch state {
        case .closed: return []
        case .associated, .concluded, .releasing, .awaitingAccept, .awaitingAcceptDecision:
            state = .closed
            return [.write(frames(OSIEncoder.abort(contexts: contexts))), .close(reason: reason, error: .closed(reason))]
        default:
            state = .closed
            return [.close(reason: reason, error: .closed(reason))]
        }
    }

    /// The TCP connection ended.
    public mutating func connectionClosed() -> [Action] {
        if case .closed = state { return [] }
        state = .closed
        return [.close(reason: "connection closed by the peer", error: .closed("connection closed by the peer"))]
    }

    // MARK: Helpers

    mutating func protocolFailure(_ reason: String) -> [Action] {
        let abort = abort(reason: reason)
        return abort.map {
            if case .close = $0 { return .close(reason: reason, error: .protocolError(reason)) }
            return $0
        }
    }

    func frame(_ tpdu: TPDU) -> [UInt8] {
        let body = tpdu.encoded()
        return TPKT.header(payloadLength: body.count) + body
    }

    func frames(_ tsdu: [UInt8]) -> [UInt8] {
        COTPSegmenter.frames(tsdu, maxTPDUSize: tpduSize)
    }
}

extension MMSPDU {
    /// The invoke ID of a confirmed PDU that did not decode, when its first field can still be read.
    public static func salvageInvokeID(_ bytes: [UInt8]) -> UInt32? {
        try? BERReader.withReader(bytes) { r -> UInt32? in
            let e = try r.readElement()
            guard e.tag.tagClass == .contextSpecific, e.tag.isConstructed, e.tag.number <= 2 else { return nil }
            var c = try r.contents(of: e)
            let id = try c.readElement()
            guard id.tag == .integer || id.tag == .context(0) else { return nil }
            return try c.integer(of: id, as: UInt32.self)
        } ?? nil
    }
}
