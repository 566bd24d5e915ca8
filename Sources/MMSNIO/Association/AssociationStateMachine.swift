import BER
import MMS
import NIOCore
import OSI

/// Timeouts of one association. Every wait has one, counted on the monotonic clock.
public struct MMSTimeouts: Sendable, Hashable {
    /// From TCP accept (or connect) until the association is established.
    public var associate: TimeAmount
    /// How long half a TPKT frame or half a TSDU may wait for the rest.
    public var partialPDU: TimeAmount
    /// How long one of our confirmed requests may take, from the moment it is queued.
    public var request: TimeAmount
    /// How long each of conclude and release may wait for the peer's answer.
    public var release: TimeAmount

    public init(associate: TimeAmount = .seconds(30), partialPDU: TimeAmount = .seconds(10), request: TimeAmount = .seconds(30),
                release: TimeAmount = .seconds(10)) {
        self.associate = associate
        self.partialPDU = partialPDU
        self.request = request
        self.release = release
    }
}

/// The smallest values of a peer's Initiate that this side accepts.
public enum MMSNegotiationMinimums {
    /// A PDU smaller than this cannot carry a TASE.2 association check.
    public static let maxPDUSize = 64
    /// TASE.2's deepest point types (TimeStampExtended inside a point, MMSObjectName inside a
    /// DSTransferSet) nest two levels.
    public static let dataStructureNesting = 2
}

/// The OSI and MMS life cycle of one connection, for either role, as a pure state machine in
/// the shape of postgres-nio's: each event (bytes, a user request, a timer, the end of the
/// connection) returns one `Action` for the channel handler to perform. It owns the protocol:
/// TPKT framing and COTP reassembly; the COTP, session, presentation, ACSE and Initiate phases;
/// the table of our requests (invoke IDs, both outstanding limits, the waiting queue, a
/// deadline for each from the moment it is queued); the requests we serve; conclude and
/// release with their deadlines; and the checks of everything the peer sends.
///
/// `Pending` is what the handler completes when a request of ours ends (a promise).
public struct AssociationStateMachine<Pending: Sendable>: Sendable {
    public enum Role: Sendable { case called, calling }

    public struct Configuration: Sendable {
        public var local: OSIAddress
        /// For the calling role: whom to call.
        public var remote: OSIAddress
        public var limits: MMSLimits
        public var authentication: AuthenticationValue?
        public var timeouts: MMSTimeouts
        /// False when no model serves the peer's confirmed requests: they are rejected at once.
        public var servesRequests: Bool

        public init(local: OSIAddress, remote: OSIAddress = OSIAddress(), limits: MMSLimits = MMSLimits(),
                    authentication: AuthenticationValue? = nil, timeouts: MMSTimeouts = MMSTimeouts(), servesRequests: Bool = true) {
            self.local = local
            self.remote = remote
            self.limits = limits
            self.authentication = authentication
            self.timeouts = timeouts
            self.servesRequests = servesRequests
        }
    }

    /// How the connection ends: what to write first, why, and whom to tell.
    public struct Closing: Sendable {
        public var write: ByteBuffer?
        public var reason: String
        /// nil for an orderly end (release).
        public var error: MMSAssociationError?
        /// Our requests (and a pending conclude) that end with it.
        public var failed: [(Pending, MMSAssociationError)]
        /// The conclude that this release completes.
        public var concluded: Pending?
    }

    public enum Action: Sendable {
        case none
        case write(ByteBuffer)
        /// Something the peer did wrong that did not end the association; `write` answers it (a reject).
        case warning(String, write: ByteBuffer?)
        /// Called role: ask the model whether to accept; answer with `accept(_:now:)`.
        case requestAcceptance(AssociationRequest)
        /// The association is up; `write` is our AC (called role).
        case associated(AssociationInfo, Framing, write: ByteBuffer?)
        /// A confirmed request of the peer to serve; answer with `respond(invokeID:frame:now:)`.
        case serve(invokeID: UInt32, ConfirmedServiceRequest)
        /// An informationReport from the peer, and its encoded size (for bounded buffers).
        case report(InformationReport, size: Int)
        /// One of our requests ended; `write` sends what that freed (queued requests, a conclude, a reject).
        case complete(Pending, Result<ConfirmedServiceResponse, MMSAssociationError>, write: ByteBuffer?)
        /// Requests of ours that ended without an answer (time-outs, a refused conclude).
        case fail([(Pending, MMSAssociationError)], write: ByteBuffer?)
        /// A request the user cancelled; `write` sends what its slot frees.
        case cancelled(Pending, write: ByteBuffer?)
        /// Close the connection after `Closing.write`; the association is over.
        case close(Closing)
    }

    enum Phase: Sendable {
        case idle
        case awaitingCR
        case awaitingCC
        case awaitingConnect
        case awaitingDecision(AssociationRequest, PresentationContexts, [PresentationContextDefinition])
        case awaitingAccept
        case associated
        /// Our conclude is on its way; release follows its confirmation.
        case concluding
        /// The peer concluded and we confirmed; only its release may follow.
        case concludedByPeer
        /// Our release request is on its way.
        case releasing
        case closed
    }

    public let role: Role
    public let configuration: Configuration
    let allocator: ByteBufferAllocator
    var phase: Phase = .idle
    var framer = TPKTFrameDecoder()
    var assembler: TSDUAssembler
    var tpduSize = 128
    let localReference: UInt16 = 0x0001
    var remoteReference: UInt16 = 0
    var callingTSEL: [UInt8]?
    var calledTSEL: [UInt8]?
    var contexts = PresentationContexts()
    var berLimits: BERLimits
    public private(set) var parameters: NegotiatedParameters?
    public private(set) var framing: Framing?
    var requests = RequestTable<Pending>()
    /// Invoke IDs of the peer's requests we are serving.
    var serving: Set<UInt32> = []
    /// A conclude the user asked for: sent once nothing is outstanding either way.
    var conclude: (pending: Pending, deadline: NIODeadline)?
    var associateDeadline: NIODeadline?
    var partialDeadline: NIODeadline?
    /// A complete TPDU arrived since the partial-PDU deadline was set.
    var progressed = false
    /// Waiting for the peer's release after it concluded (or ours after we sent it).
    var releaseDeadline: NIODeadline?

    public init(role: Role, configuration: Configuration, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.role = role
        self.configuration = configuration
        self.allocator = allocator
        let maxPDU = Int(configuration.limits.maxPDUSize)
        assembler = TSDUAssembler(maxTSDULength: maxPDU + 4096)
        berLimits = BERLimits(maxDepth: max(Int(configuration.limits.dataStructureNestingLevel) * 3 + 24, 48), maxElementLength: maxPDU + 4096,
                              maxInputLength: maxPDU + 4096, maxDataNesting: Int(configuration.limits.dataStructureNestingLevel))
    }

    public var isAssociated: Bool { if case .associated = phase { return true } else { return false } }
    public var isClosed: Bool { if case .closed = phase { return true } else { return false } }

    /// When `timerFired` must next be called, if ever.
    @inline(__always) public var nextDeadline: NIODeadline? {
        // Asked after every action: no array per call.
        @inline(__always) func earlier(_ a: NIODeadline?, _ b: NIODeadline?) -> NIODeadline? {
            guard let a else { return b }
            guard let b else { return a }
            return min(a, b)
        }
        return earlier(earlier(earlier(associateDeadline, partialDeadline), earlier(releaseDeadline, conclude?.deadline)),
                       requests.earliestDeadline)
    }

    // MARK: Connection events

    /// The TCP connection is up: the calling side sends its COTP CR.
    public mutating func connected(now: NIODeadline) -> Action {
        guard case .idle = phase else { return .none }
        associateDeadline = now + configuration.timeouts.associate
        switch role {
        case .called:
            phase = .awaitingCR
            return .none
        case .calling:
            phase = .awaitingCC
            var params = [COTP.Parameter(code: COTP.ParameterCode.tpduSize, value: [COTP.tpduSizeCode(forSize: configuration.limits.maxTPDUSize)])]
            if let t = configuration.remote.tsel { params.append(COTP.Parameter(code: COTP.ParameterCode.calledTSAP, value: t)) }
            if let t = configuration.local.tsel { params.append(COTP.Parameter(code: COTP.ParameterCode.callingTSAP, value: t)) }
            return .write(frame(.connectionRequest(COTPConnection(sourceReference: localReference, parameters: params))))
        }
    }

    /// The TCP connection ended.
    public mutating func connectionClosed() -> Action {
        if case .closed = phase { return .none }
        if case .releasing = phase, let p = conclude?.pending {
            // Conclude confirmed, then the peer closed instead of confirming the release.
            conclude = nil
            return close(write: nil, reason: "the peer closed the connection instead of confirming the release", error: nil, concluded: p)
        }
        return close(write: nil, reason: "connection closed by the peer", error: .closed("connection closed by the peer"))
    }

    /// Aborts (AB + ARU + ABRT once a session exists), then closes.
    public mutating func abort(reason: String, error: MMSAssociationError? = nil) -> Action {
        if case .closed = phase { return .none }
        return close(write: abortFrames(), reason: reason, error: error ?? .closed(reason))
    }

    // MARK: Inbound

    /// Bytes read from the connection; `nextInbound(now:)` then yields what they mean.
    public mutating func received(_ bytes: ByteBuffer) {
        if case .closed = phase { return }
        framer.append(bytes)
    }

    /// The action for the next complete TPDU received, or nil when more bytes are needed.
    public mutating func nextInbound(now: NIODeadline) -> Action? {
        if case .closed = phase { return nil }
        let tpdu: ByteBuffer?
        do { tpdu = try framer.next() } catch { return protocolFailure("\(error)") }
        guard let tpdu else {
            // Half a frame (or half a TSDU) must be completed within partialPDU of the last
            // complete TPDU: a steady stream is progress, a peer that stops halfway is dropped.
            if framer.hasPartialFrame || !assembler.isIdle {
                if partialDeadline == nil || progressed { partialDeadline = now + configuration.timeouts.partialPDU }
            } else {
                partialDeadline = nil
            }
            progressed = false
            return nil
        }
        progressed = true
        if let dt = dataTPDU(tpdu) {
            switch phase {
            case .idle, .awaitingCR, .awaitingCC: return protocolFailure("COTP data before the connection was confirmed")
            default: break
            }
            do {
                guard let tsdu = try assembler.append(endOfTSDU: dt.endOfTSDU, dt.data) else { return Action.none }
                return receivedTSDU(tsdu, now: now)
            } catch { return protocolFailure("\(error)") }
        }
        let decoded: TPDU
        do { decoded = try TPDU.decode(Array(tpdu.readableBytesView)) } catch { return protocolFailure("\(error)") }
        switch (decoded, phase) {
        case (.connectionRequest(let cr), .awaitingCR):
            return receivedCR(cr)
        case (.connectionConfirm(let cc), .awaitingCC):
            remoteReference = cc.sourceReference
            tpduSize = min(cc.tpduSize ?? 128, configuration.limits.maxTPDUSize)
            phase = .awaitingAccept
            let initiate = MMSPDU.initiateRequest(.request(configuration.limits))
            let cn = OSIEncoder.connect(calling: configuration.local, called: configuration.remote, initiate: initiate,
                                        authentication: configuration.authentication)
            return .write(frames(cn))
        case (.disconnectRequest(let dr), _):
            return close(write: nil, reason: "COTP disconnect request (reason \(dr.reason))", error: .closed("COTP disconnect request (reason \(dr.reason))"))
        case (.error(let er), _):
            return close(write: nil, reason: "COTP error TPDU (cause \(er.rejectCause))", error: .protocolError("COTP error TPDU (cause \(er.rejectCause))"))
        default:
            return protocolFailure("unexpected COTP \(decoded) while \(phase)")
        }
    }

    mutating func receivedCR(_ cr: COTPConnection) -> Action {
        remoteReference = cr.sourceReference
        tpduSize = min(cr.tpduSize ?? 128, configuration.limits.maxTPDUSize)
        // Echo the proposal's parameters (TPDU size as agreed, TSAPs as sent).
        var params: [COTP.Parameter] = []
        for p in cr.parameters {
            switch p.code {
            case COTP.ParameterCode.tpduSize: params.append(COTP.Parameter(code: p.code, value: [COTP.tpduSizeCode(forSize: tpduSize)]))
            case COTP.ParameterCode.callingTSAP, COTP.ParameterCode.calledTSAP: params.append(p)
            default: break
            }
        }
        callingTSEL = cr.callingTSAP
        calledTSEL = cr.calledTSAP
        phase = .awaitingConnect
        return .write(frame(.connectionConfirm(COTPConnection(destinationReference: remoteReference, sourceReference: localReference, parameters: params))))
    }

    mutating func receivedTSDU(_ tsdu: ByteBuffer, now: NIODeadline) -> Action {
        switch phase {
        case .associated, .concluding, .concludedByPeer, .releasing:
            return receivedInAssociation(tsdu, now: now)
        case .awaitingConnect:
            return receivedConnect(Array(tsdu.readableBytesView))
        case .awaitingAccept:
            return receivedAccept(Array(tsdu.readableBytesView), now: now)
        default:
            return protocolFailure("data while \(phase)")
        }
    }

    mutating func receivedConnect(_ tsdu: [UInt8]) -> Action {
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
        let request = AssociationRequest(
            callingAPTitle: aarq.calling.apTitle?.oid, callingAEQualifier: aarq.calling.aeQualifier?.integer,
            calledAPTitle: aarq.called.apTitle?.oid, calledAEQualifier: aarq.called.aeQualifier?.integer,
            callingTSEL: callingTSEL, calledTSEL: calledTSEL, callingSSEL: spdu.callingSSEL, calledSSEL: spdu.calledSSEL,
            callingPSEL: cp.callingSelector, calledPSEL: cp.calledSelector, applicationContext: aarq.applicationContext,
            mechanismName: aarq.mechanismName, authentication: aarq.authenticationValue, initiate: initiate)
        guard aarq.applicationContext == WellKnownOID.mmsApplicationContext || aarq.applicationContext == WellKnownOID.mmsApplicationContextV1 else {
            return refuse(.applicationContextNotSupported, ctx, reason: "application context \(aarq.applicationContext) not supported")
        }
        if let problem = Self.problem(withProposal: initiate) {
            return refuse(.noReasonGiven, ctx, reason: "unacceptable initiate request: \(problem)", proposed: cp.contexts,
                          applicationContext: aarq.applicationContext)
        }
        phase = .awaitingDecision(request, ctx, cp.contexts)
        return .requestAcceptance(request)
    }

    /// Why the calling side's Initiate proposal cannot be answered, or nil.
    static func problem(withProposal p: InitiateParameters) -> String? {
        if let pdu = p.localDetail, pdu < MMSNegotiationMinimums.maxPDUSize {
            return "localDetailCalling \(pdu) is below \(MMSNegotiationMinimums.maxPDUSize)"
        }
        if p.maxServOutstandingCalling < 1 { return "proposedMaxServOutstandingCalling \(p.maxServOutstandingCalling) is below 1" }
        if p.maxServOutstandingCalled < 1 { return "proposedMaxServOutstandingCalled \(p.maxServOutstandingCalled) is below 1" }
        if let n = p.dataStructureNestingLevel, n < 0 { return "proposedDataStructureNestingLevel \(n) is negative" }
        return nil
    }

    /// Why the called side's Initiate answer is unacceptable to us (it may lower what we
    /// offered, never raise it, and never go below what TASE.2 needs), or nil.
    func problem(withResponse r: InitiateParameters) -> String? {
        let ours = configuration.limits
        if let pdu = r.localDetail, pdu < MMSNegotiationMinimums.maxPDUSize || pdu > ours.maxPDUSize {
            return "negotiated maximum PDU size \(pdu) is outside \(MMSNegotiationMinimums.maxPDUSize)…\(ours.maxPDUSize)"
        }
        if r.maxServOutstandingCalling < 1 || r.maxServOutstandingCalling > ours.maxServOutstandingCalling {
            return "negotiated maxServOutstandingCalling \(r.maxServOutstandingCalling) is outside 1…\(ours.maxServOutstandingCalling)"
        }
        if r.maxServOutstandingCalled < 1 || r.maxServOutstandingCalled > ours.maxServOutstandingCalled {
            return "negotiated maxServOutstandingCalled \(r.maxServOutstandingCalled) is outside 1…\(ours.maxServOutstandingCalled)"
        }
        if let n = r.dataStructureNestingLevel,
           Int(n) < MMSNegotiationMinimums.dataStructureNesting || n > ours.dataStructureNestingLevel {
            return "negotiated data structure nesting \(n) is outside \(MMSNegotiationMinimums.dataStructureNesting)…\(ours.dataStructureNestingLevel)"
        }
        return nil
    }

    mutating func receivedAccept(_ tsdu: [UInt8], now: NIODeadline) -> Action {
        var ctx = contexts
        let message: OSIMessage
        do { message = try OSIMessage.decode(tsdu: tsdu, contexts: &ctx, limits: berLimits) } catch {
            return protocolFailure("bad accept: \(error)")
        }
        switch message {
        case .accept(_, _, let aare, let mms):
            guard aare.result == .accepted else {
                return close(write: nil, reason: "association rejected", error: .rejected("\(aare.result), diagnostic \(aare.diagnostic)"))
            }
            guard case .initiateResponse(let resp)? = mms else {
                let why: String = if case .initiateError(let e)? = mms { "initiate error: \(e)" } else { "AARE without an MMS initiate response" }
                return close(write: nil, reason: why, error: .rejected(why))
            }
            if let problem = problem(withResponse: resp) {
                return close(write: abortFrames(), reason: problem, error: .unacceptableParameters(problem))
            }
            var effective = resp
            if effective.localDetail == nil { effective.localDetail = configuration.limits.maxPDUSize }
            return established(effective.negotiated(peerServices: resp.servicesSupported, tpduSize: tpduSize),
                               info: { p in
                                   AssociationInfo(isCalled: false, peerAPTitle: aare.responding.apTitle?.oid,
                                                   peerAEQualifier: aare.responding.aeQualifier?.integer,
                                                   applicationContext: aare.applicationContext, parameters: p, request: nil)
                               }, write: nil)
        case .refuse(_, _, let aare):
            let why = aare.map { "diagnostic \($0.diagnostic)" } ?? "session refused"
            return close(write: nil, reason: "association refused: \(why)", error: .rejected(why))
        case .abort, .acse(_, .abort):
            return close(write: nil, reason: "aborted by the peer", error: .closed("aborted by the peer"))
        default:
            return protocolFailure("expected a session ACCEPT, got \(message)")
        }
    }

    mutating func established(_ negotiated: NegotiatedParameters, info: (NegotiatedParameters) -> AssociationInfo, write: ByteBuffer?) -> Action {
        parameters = negotiated
        let f = Framing(contexts: contexts, maxTPDUSize: tpduSize, maxPDUSize: negotiated.maxPDUSize)
        framing = f
        // Decode no deeper than negotiated.
        if let n = negotiated.dataStructureNestingLevel { berLimits.maxDataNesting = n }
        phase = .associated
        associateDeadline = nil
        return .associated(info(negotiated), f, write: write)
    }

    mutating func receivedInAssociation(_ tsdu: ByteBuffer, now: NIODeadline) -> Action {
        // The hot path: Give-Tokens + DT, then one PDV, read in place.
        let located: (context: Int64, range: Range<Int>)?
        do {
            located = try tsdu.withUnsafeReadableBytes { raw -> (Int64, Range<Int>)? in
                guard let ui = try SPDU.dataTransferUserInformation(in: raw) else { return nil }
                let pdv = try PresentationUserData.singlePDV(in: UnsafeRawBufferPointer(rebasing: raw[ui]), limits: berLimits)
                return (pdv.contextID, (ui.lowerBound + pdv.value.lowerBound)..<(ui.lowerBound + pdv.value.upperBound))
            }
        } catch { return protocolFailure("\(error)") }
        guard let (context, range) = located else { return receivedSessionControl(Array(tsdu.readableBytesView), now: now) }
        if context == contexts.acse {
            let apdu = try? tsdu.withUnsafeReadableBytes { raw in try ACSEAPDU.decode(Array(raw[range]), limits: berLimits) }
            if case .abort? = apdu { return close(write: nil, reason: "aborted by the peer", error: .closed("aborted by the peer (ACSE ABRT)")) }
            return protocolFailure("unexpected ACSE PDU in the data phase")
        }
        guard context == contexts.mms else { return protocolFailure("data for presentation context \(context)") }
        let decoded: Result<MMSPDU, any Error> = tsdu.withUnsafeReadableBytes { raw in
            Result { try MMSPDU.decode(UnsafeRawBufferPointer(rebasing: raw[range]), limits: berLimits) }
        }
        switch decoded {
        case .success(let pdu): return receivedPDU(pdu, size: range.count, now: now)
        case .failure(let error):
            let (id, first) = tsdu.withUnsafeReadableBytes { raw in
                let mms = UnsafeRawBufferPointer(rebasing: raw[range])
                return (MMSPDU.salvageInvokeID(mms), mms.first)
            }
            return malformedPDU(error, invokeID: id, firstByte: first, now: now)
        }
    }

    /// A PDU that did not decode: a request is rejected; an answer to one of our requests fails
    /// that request at once with the decode error (and is rejected); anything else is rejected.
    mutating func malformedPDU(_ error: any Error, invokeID id: UInt32?, firstByte: UInt8?, now: NIODeadline) -> Action {
        switch (firstByte, id) {
        case (0xA0?, let id?):
            return .warning("malformed request \(id) rejected: \(error)", write: encode(.reject(.invalidArgument(id))))
        case (0xA1?, let id?), (0xA2?, let id?):
            let kind: RejectPDU.PDUType = firstByte == 0xA1 ? .confirmedResponse : .confirmedError
            let reject = encode(.reject(RejectPDU(originalInvokeID: id, pduType: kind, reason: 2)))
            if let o = requests.answer(id) {
                var out: ByteBuffer? = reject
                append(sendQueued(now: now), to: &out)
                return .complete(o.pending, .failure(.malformedResponse("\(MMSServiceNames.name(o.expectation.serviceTag)) response \(id): \(error)")), write: out)
            }
            return .warning("malformed answer to unknown invoke ID \(id) rejected: \(error)", write: reject)
        default:
            return .warning("malformed MMS PDU rejected: \(error)", write: encode(.reject(.invalidPDU(id))))
        }
    }

    /// Session PDUs of the data phase other than data: release, abort.
    mutating func receivedSessionControl(_ tsdu: [UInt8], now: NIODeadline) -> Action {
        var ctx = contexts
        let message: OSIMessage
        do { message = try OSIMessage.decode(tsdu: tsdu, contexts: &ctx, limits: berLimits) } catch {
            return protocolFailure("\(error)")
        }
        switch message {
        case .acse(_, .releaseRequest):
            // The peer releases (after its conclude, or straight away as some stacks do): RLRE and close.
            let rlre = frames(OSIEncoder.releaseResponse(contexts: contexts))
            return close(write: rlre, reason: "released by the peer", error: nil)
        case .acse(_, .releaseResponse), .session:
            guard case .releasing = phase else { return close(write: nil, reason: "released by the peer", error: nil) }
            let p = conclude?.pending
            conclude = nil
            return close(write: nil, reason: "released", error: nil, concluded: p)
        case .acse(_, .abort), .abort:
            if case .releasing = phase, let p = conclude?.pending {
                // The conclude was confirmed; some stacks (hat-drivers) then abort instead of
                // confirming the release. The association is over either way.
                conclude = nil
                return close(write: nil, reason: "the peer aborted instead of confirming the release", error: nil, concluded: p)
            }
            return close(write: nil, reason: "aborted by the peer", error: .closed("aborted by the peer"))
        default:
            return protocolFailure("unexpected \(message) in the association")
        }
    }

    mutating func receivedPDU(_ pdu: MMSPDU, size: Int, now: NIODeadline) -> Action {
        switch pdu {
        case .confirmedRequest(let id, let service):
            return receivedRequest(id, service)
        case .confirmedResponse(let id, let response):
            guard let o = requests.answer(id) else { return unknownAnswer(id, "response") }
            if let mismatch = o.expectation.mismatch(response) {
                return .complete(o.pending, .failure(.protocolError("\(mismatch) (invoke ID \(id))")), write: sendQueued(now: now))
            }
            return .complete(o.pending, .success(response), write: sendQueued(now: now))
        case .confirmedError(let id, let error):
            guard let o = requests.answer(id) else { return unknownAnswer(id, "error") }
            return .complete(o.pending, .failure(.serviceError(error)), write: sendQueued(now: now))
        case .reject(let r):
            if let id = r.originalInvokeID, let o = requests.answer(id) {
                return .complete(o.pending, .failure(.rejectedByPeer(r)), write: sendQueued(now: now))
            }
            return .warning("the peer rejected a PDU: \(r.pduType) reason \(r.reason)", write: nil)
        case .unconfirmed(.informationReport(let report)):
            return .report(report, size: size)
        case .unconfirmed(.unsupported(let tag, _)):
            return .warning("unconfirmed service [\(tag)] ignored", write: nil)
        case .concludeRequest:
            guard case .associated = phase, serving.isEmpty, requests.isEmpty, conclude == nil else {
                return .warning("conclude refused: requests outstanding",
                                write: encode(.concludeError(ServiceError(.conclude, 1, additionalDescription: "requests outstanding"))))
            }
            phase = .concludedByPeer
            releaseDeadline = now + configuration.timeouts.release
            return .write(encode(.concludeResponse))
        case .concludeResponse:
            guard case .concluding = phase else { return protocolFailure("conclude response without a conclude") }
            // Our conclude was accepted: release the association (RLRQ in FN).
            phase = .releasing
            if let c = conclude { conclude = (c.pending, now + configuration.timeouts.release) }
            return .write(frames(OSIEncoder.releaseRequest(contexts: contexts)))
        case .concludeError(let e):
            guard case .concluding = phase, let c = conclude else { return protocolFailure("conclude error without a conclude") }
            phase = .associated
            conclude = nil
            return .fail([(c.pending, .serviceError(e))], write: sendQueued(now: now))
        case .cancelRequest(let id):
            // Requests are answered as fast as they are served; nothing can be cancelled.
            return .write(encode(.cancelError(invokeID: id, ServiceError(.cancel, 2))))
        case .cancelResponse, .cancelError:
            return .warning("unexpected \(pdu.kindName)", write: nil)
        case .initiateRequest, .initiateResponse, .initiateError:
            return protocolFailure("initiate PDU inside an association")
        }
    }

    mutating func unknownAnswer(_ id: UInt32, _ what: String) -> Action {
        // The late answer to a request that timed out or was cancelled: expected, dropped.
        if requests.isAbandoned(id) { return .none }
        return .warning("\(what) for unknown invoke ID \(id) rejected",
                        write: encode(.reject(RejectPDU(originalInvokeID: id, pduType: what == "error" ? .confirmedError : .confirmedResponse, reason: 1))))
    }

    mutating func receivedRequest(_ id: UInt32, _ service: ConfirmedServiceRequest) -> Action {
        guard case .associated = phase, conclude == nil else {
            return .warning("request \(id) after conclude rejected", write: encode(.reject(RejectPDU(originalInvokeID: id, pduType: .confirmedRequest, reason: 0))))
        }
        if case .unsupported = service { return .warning("request \(id) for an unsupported service rejected", write: encode(.reject(.unrecognizedService(id)))) }
        guard configuration.servesRequests else {
            return .warning("request \(id) rejected: this side serves no requests", write: encode(.reject(.unrecognizedService(id))))
        }
        guard !serving.contains(id) else {
            return .warning("request \(id) reuses an invoke ID being served; rejected",
                            write: encode(.reject(RejectPDU(originalInvokeID: id, pduType: .confirmedRequest, reason: 3))))
        }
        let limit = parameters?.servedConcurrently(asCalled: role == .called) ?? 1
        guard serving.count < limit else {
            return .warning("request \(id) past the negotiated limit of \(limit) outstanding; rejected", write: encode(.reject(.maxServOutstandingExceeded(id))))
        }
        serving.insert(id)
        return .serve(invokeID: id, service)
    }

    // MARK: Called role decision

    /// Called role: the model's answer to `.requestAcceptance`.
    public mutating func accept(_ decision: AssociationDecision, now: NIODeadline) -> Action {
        guard case .awaitingDecision(let request, let ctx, let proposed) = phase else { return .none }
        var responding = configuration.local
        switch decision {
        case .reject(let diagnostic):
            return refuse(diagnostic, ctx, reason: "rejected: diagnostic \(diagnostic)", proposed: proposed, applicationContext: request.applicationContext)
        case .acceptAs(let accepted):
            if let t = accepted.respondingAPTitle { responding.apTitle = t }
            if let q = accepted.respondingAEQualifier { responding.aeQualifier = q }
            fallthrough
        case .accept:
            let response = InitiateParameters.response(to: request.initiate, limits: configuration.limits)
            contexts = ctx
            let ac = OSIEncoder.accept(responding: responding, initiate: .initiateResponse(response), contexts: ctx,
                                       proposed: proposed, applicationContext: request.applicationContext)
            let written = frames(ac)
            return established(response.negotiated(peerServices: request.initiate.servicesSupported, tpduSize: tpduSize),
                               info: { p in
                                   AssociationInfo(isCalled: true, peerAPTitle: request.callingAPTitle, peerAEQualifier: request.callingAEQualifier,
                                                   applicationContext: request.applicationContext, parameters: p, request: request)
                               }, write: written)
        }
    }

    mutating func refuse(_ diagnostic: AARE.Diagnostic, _ ctx: PresentationContexts, reason: String,
                         proposed: [PresentationContextDefinition] = [], applicationContext: OID = WellKnownOID.mmsApplicationContext) -> Action {
        let rf = OSIEncoder.reject(responding: configuration.local, diagnostic: diagnostic, initiateError: nil, contexts: ctx,
                                   proposed: proposed, applicationContext: applicationContext)
        return close(write: frames(rf), reason: reason, error: .rejected(reason))
    }

    // MARK: Requests we issue

    /// Queues one confirmed request; it goes out at once when a slot is free. Its deadline runs
    /// from now, queued or not. A request larger than the negotiated PDU size fails at once.
    public mutating func sendRequest(_ request: ConfirmedServiceRequest, id: RequestID, pending: Pending, now: NIODeadline) -> Action {
        guard case .associated = phase, conclude == nil, let framing else { return .fail([(pending, .notAssociated)], write: nil) }
        guard requests.waiting.count < configuration.limits.maxQueuedRequests else {
            return .fail([(pending, .limitExceeded("\(configuration.limits.maxQueuedRequests) requests already wait for a slot (MMSLimits.maxQueuedRequests)"))], write: nil)
        }
        let invokeID = requests.takeInvokeID()
        let frame: ByteBuffer
        do {
            frame = try framing.frame(capacity: 256, allocator: allocator) { MMSPDU.confirmedRequest(invokeID: invokeID, request).prepend(to: &$0) }
        } catch {
            return .fail([(pending, error as? MMSAssociationError ?? .protocolError("\(error)"))], write: nil)
        }
        requests.enqueue(.init(id: id, invokeID: invokeID, frame: frame, expectation: ResponseExpectation(request), pending: pending,
                               deadline: now + configuration.timeouts.request))
        return sendQueued(now: now).map(Action.write) ?? .none
    }

    /// The user no longer waits for a request (its task was cancelled).
    public mutating func cancel(_ id: RequestID, now: NIODeadline) -> Action {
        guard let pending = requests.cancel(id) else { return .none }
        return .cancelled(pending, write: sendQueued(now: now))
    }

    /// What becomes sendable when a slot frees: queued requests up to the negotiated limit,
    /// else a conclude that waits for the tables to empty.
    mutating func sendQueued(now: NIODeadline) -> ByteBuffer? {
        guard let p = parameters else { return nil }
        let limit = p.issuedConcurrently(asCalled: role == .called)
        var out: ByteBuffer?
        while var b = requests.sendNext(limit: limit) { append(&b, to: &out) }
        append(concludeIfIdle(now: now), to: &out)
        return out
    }

    // MARK: Serving

    /// Called role (or either, in dual role): the framed answer to the peer's request `invokeID`.
    public mutating func respond(invokeID: UInt32, frame: ByteBuffer, now: NIODeadline) -> Action {
        guard serving.remove(invokeID) != nil else { return .none }
        switch phase {
        case .associated:
            var out: ByteBuffer? = frame
            append(concludeIfIdle(now: now), to: &out)
            return .write(out!)
        default:
            return .none
        }
    }

    /// Frames an answer PDU (an error or reject), for the handler when the model's answer could not be encoded.
    public func encodeAnswer(_ pdu: MMSPDU) -> ByteBuffer? {
        guard framing != nil else { return nil }
        return encode(pdu)
    }

    /// Sends an unconfirmed PDU framed by the caller (a report built from storage).
    public func sendUnconfirmed(_ frame: ByteBuffer) throws -> Action {
        guard case .associated = phase else { throw MMSAssociationError.notAssociated }
        return .write(frame)
    }

    // MARK: Conclude and release

    /// Concludes (once nothing is outstanding in either direction), then releases. `pending`
    /// completes when the release is confirmed.
    public mutating func conclude(_ pending: Pending, now: NIODeadline) -> Action {
        guard case .associated = phase, conclude == nil else { return .fail([(pending, .notAssociated)], write: nil) }
        conclude = (pending, now + configuration.timeouts.release + configuration.timeouts.request)
        return concludeIfIdle(now: now).map(Action.write) ?? .none
    }

    mutating func concludeIfIdle(now: NIODeadline) -> ByteBuffer? {
        guard case .associated = phase, let c = conclude, requests.isEmpty, serving.isEmpty else { return nil }
        phase = .concluding
        conclude = (c.pending, now + configuration.timeouts.release)
        return encode(.concludeRequest)
    }

    // MARK: Time

    /// A deadline passed (`nextDeadline`): whatever waited too long ends.
    public mutating func timerFired(now: NIODeadline) -> Action {
        if case .closed = phase { return .none }
        let t = configuration.timeouts
        if let d = associateDeadline, d <= now {
            let why = "association not established within \(seconds(t.associate))"
            return close(write: sessionStarted ? abortFrames() : nil, reason: why, error: .timeout(why))
        }
        if let d = partialDeadline, d <= now {
            let why = "incomplete PDU for \(seconds(t.partialPDU))"
            return close(write: abortFrames(), reason: why, error: .protocolError(why))
        }
        if let c = conclude, c.deadline <= now {
            let what: String = if case .releasing = phase { "release" } else { "conclude" }
            let why = "\(what) not confirmed within \(seconds(t.release))"
            return close(write: abortFrames(), reason: why, error: .timeout(why))
        }
        if let d = releaseDeadline, d <= now {
            let why = "the peer did not release within \(seconds(t.release)) of its conclude"
            return close(write: abortFrames(), reason: why, error: .timeout(why))
        }
        let timeout = MMSAssociationError.timeout("no answer within \(seconds(t.request))")
        let failed = requests.expire(now: now).map { ($0, timeout) }
        guard !failed.isEmpty else { return .none }
        return .fail(failed, write: sendQueued(now: now))
    }

    // MARK: Helpers

    var sessionStarted: Bool {
        switch phase {
        case .idle, .awaitingCR, .awaitingCC, .awaitingConnect: return false
        default: return true
        }
    }

    mutating func close(write: ByteBuffer?, reason: String, error: MMSAssociationError?, concluded: Pending? = nil) -> Action {
        phase = .closed
        let failure = error ?? .closed(reason)
        var failed = requests.removeAll().map { ($0, failure) }
        if let c = conclude { failed.append((c.pending, failure)) }
        conclude = nil
        associateDeadline = nil
        partialDeadline = nil
        releaseDeadline = nil
        return .close(Closing(write: write, reason: reason, error: error, failed: failed, concluded: concluded))
    }

    mutating func protocolFailure(_ reason: String) -> Action {
        close(write: sessionStarted ? abortFrames() : nil, reason: reason, error: .protocolError(reason))
    }

    func abortFrames() -> ByteBuffer? {
        sessionStarted ? frames(OSIEncoder.abort(contexts: contexts)) : nil
    }

    /// An MMS PDU of ours, framed. Our own PDUs (rejects, errors, conclude) are small; should one
    /// not fit the negotiated size, a reject without parameters does.
    func encode(_ pdu: MMSPDU) -> ByteBuffer {
        guard let framing else { return allocator.buffer(capacity: 0) }
        return (try? framing.frame(pdu, allocator: allocator))
            ?? (try? framing.frame(.reject(.unknownPDUType()), allocator: allocator)) ?? allocator.buffer(capacity: 0)
    }

    func frame(_ tpdu: TPDU) -> ByteBuffer {
        let body = tpdu.encoded()
        var b = allocator.buffer(capacity: body.count + TPKT.headerLength)
        b.writeBytes(TPKT.header(payloadLength: body.count))
        b.writeBytes(body)
        return b
    }

    func frames(_ tsdu: [UInt8]) -> ByteBuffer {
        allocator.buffer(bytes: COTPSegmenter.frames(tsdu, maxTPDUSize: tpduSize))
    }

    func append(_ b: ByteBuffer?, to out: inout ByteBuffer?) {
        guard var b else { return }
        append(&b, to: &out)
    }

    func append(_ b: inout ByteBuffer, to out: inout ByteBuffer?) {
        if out == nil { out = b } else { out!.writeBuffer(&b) }
    }
}

func seconds(_ t: TimeAmount) -> String {
    let ms = t.nanoseconds / 1_000_000
    return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
}

extension MMSPDU {
    /// The invoke ID of a confirmed PDU that did not decode, when its first field can still be read.
    public static func salvageInvokeID(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        try? BERReader.withReader(bytes) { r -> UInt32? in
            let e = try r.readElement()
            guard e.tag.tagClass == .contextSpecific, e.tag.isConstructed, e.tag.number <= 2 else { return nil }
            var c = try r.contents(of: e)
            let id = try c.readElement()
            guard id.tag == .integer || id.tag == .context(0) else { return nil }
            return try c.integer(of: id, as: UInt32.self)
        } ?? nil
    }

    /// Prepends a confirmed-RequestPDU without building the PDU value first.
    public static func prependConfirmedRequest(invokeID: UInt32, _ request: ConfirmedServiceRequest, to w: inout BERWriter) {
        MMSPDU.confirmedRequest(invokeID: invokeID, request).prepend(to: &w)
    }
}

extension AssociationStateMachine.Closing: Equatable where Pending: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        a.write == b.write && a.reason == b.reason && a.error == b.error && a.concluded == b.concluded
            && a.failed.count == b.failed.count && zip(a.failed, b.failed).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

extension AssociationStateMachine.Action: Equatable where Pending: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        func same(_ x: [(Pending, MMSAssociationError)], _ y: [(Pending, MMSAssociationError)]) -> Bool {
            x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }
        switch (a, b) {
        case (.none, .none): return true
        case (.write(let x), .write(let y)): return x == y
        case (.warning(let m, let x), .warning(let n, let y)): return m == n && x == y
        case (.requestAcceptance(let x), .requestAcceptance(let y)): return x == y
        case (.associated(let i, let f, let x), .associated(let j, let g, let y)): return i == j && f == g && x == y
        case (.serve(let i, let r), .serve(let j, let s)): return i == j && r == s
        case (.report(let r, let n), .report(let s, let m)): return r == s && n == m
        case (.complete(let p, let r, let x), .complete(let q, let s, let y)): return p == q && r == s && x == y
        case (.fail(let f, let x), .fail(let g, let y)): return same(f, g) && x == y
        case (.cancelled(let p, let x), .cancelled(let q, let y)): return p == q && x == y
        case (.close(let c), .close(let d)): return c == d
        default: return false
        }
    }
}
