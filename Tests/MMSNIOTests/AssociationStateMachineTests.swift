import BER
import MMS
@testable import MMSNIO
import NIOCore
import OSI
import Testing

typealias SM = AssociationStateMachine<Int>

let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
let callingAddress = OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12)
let calledAddress = OSIAddress(apTitle: [1, 3, 9999, 33], aeQualifier: 33)

/// The bytes an action writes, if any.
func written(_ a: SM.Action) -> ByteBuffer? {
    switch a {
    case .write(let b): return b
    case .warning(_, let b), .associated(_, _, let b), .complete(_, _, let b), .fail(_, let b), .cancelled(_, let b): return b
    case .close(let c): return c.write
    default: return nil
    }
}

/// The MMS PDUs in TPKT frames written by the data phase.
func pdus(_ b: ByteBuffer?) throws -> [MMSPDU] {
    guard let b else { return [] }
    var s = TPKTStreamDecoder()
    s.append(Array(b.readableBytesView))
    var out: [MMSPDU] = []
    var r = COTPReassembler()
    while let p = try s.nextPayload() {
        guard case .data(let eot, let d) = try TPDU.decode(p), let tsdu = try r.append(endOfTSDU: eot, d) else { continue }
        var ctx = PresentationContexts()
        if case .data(let pdu) = try OSIMessage.decode(tsdu: tsdu, contexts: &ctx) { out.append(pdu) }
    }
    return out
}

/// A data-phase frame carrying `pdu`, as a peer would send it.
func dataFrame(_ pdu: MMSPDU, tpduSize: Int = 8192) -> ByteBuffer {
    ByteBuffer(bytes: COTPSegmenter.frames(OSIEncoder.data(pdu), maxTPDUSize: tpduSize))
}

func frame(_ tsdu: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: COTPSegmenter.frames(tsdu, maxTPDUSize: 8192)) }

func cotpFrame(_ t: TPDU) -> ByteBuffer {
    let body = t.encoded()
    return ByteBuffer(bytes: TPKT.header(payloadLength: body.count) + body)
}

/// Feeds bytes and returns every action they cause.
func feed(_ m: inout SM, _ bytes: ByteBuffer, now: NIODeadline = t0) -> [SM.Action] {
    m.received(bytes)
    var out: [SM.Action] = []
    while let a = m.nextInbound(now: now) { out.append(a) }
    return out
}

/// A calling machine associated with a scripted peer whose Initiate answer is `response`.
func associatedClient(limits: MMSLimits = MMSLimits(), timeouts: MMSTimeouts = MMSTimeouts(),
                      response: InitiateParameters? = nil) throws -> (SM, [SM.Action]) {
    var c = SM(role: .calling, configuration: .init(local: callingAddress, remote: calledAddress, limits: limits, timeouts: timeouts))
    guard case .write = c.connected(now: t0) else { throw TestFailure("no CR") }
    let cc = feed(&c, cotpFrame(.connectionConfirm(COTPConnection(destinationReference: 1, sourceReference: 7,
        parameters: [COTP.Parameter(code: COTP.ParameterCode.tpduSize, value: [0x0D])]))))
    guard cc.count == 1, case .write = cc[0] else { throw TestFailure("no CN: \(cc)") }
    let initiate = response ?? InitiateParameters.response(to: .request(limits), limits: MMSLimits(maxServOutstandingCalled: 2, maxServOutstandingCalling: 2))
    let ac = OSIEncoder.accept(responding: calledAddress, initiate: .initiateResponse(initiate), contexts: PresentationContexts())
    let actions = feed(&c, frame(ac))
    return (c, actions)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A calling and a called machine talking to each other in memory.
struct Pair {
    var client = SM(role: .calling, configuration: .init(local: callingAddress, remote: calledAddress))
    var server: SM
    var clientEvents: [SM.Action] = []
    var serverEvents: [SM.Action] = []
    var decision: AssociationDecision = .accept
    var now = t0

    init(serverLimits: MMSLimits = MMSLimits(), clientLimits: MMSLimits = MMSLimits(), timeouts: MMSTimeouts = MMSTimeouts()) {
        client = SM(role: .calling, configuration: .init(local: callingAddress, remote: calledAddress, limits: clientLimits, timeouts: timeouts))
        server = SM(role: .called, configuration: .init(local: calledAddress, limits: serverLimits, timeouts: timeouts))
    }

    /// Routes what each side writes to the other until nothing moves.
    mutating func run(client first: SM.Action) {
        var toServer: [ByteBuffer] = []
        var toClient: [ByteBuffer] = []
        record(first, client: true, into: &toServer)
        while !toServer.isEmpty || !toClient.isEmpty {
            for b in toServer {
                for a in feed(&server, b, now: now) {
                    record(a, client: false, into: &toClient)
                    if case .requestAcceptance = a { record(server.accept(decision, now: now), client: false, into: &toClient) }
                }
            }
            toServer = []
            for b in toClient { for a in feed(&client, b, now: now) { record(a, client: true, into: &toServer) } }
            toClient = []
        }
    }

    mutating func run(server first: SM.Action) {
        var toClient: [ByteBuffer] = []
        record(first, client: false, into: &toClient)
        var toServer: [ByteBuffer] = []
        for b in toClient { for a in feed(&client, b, now: now) { record(a, client: true, into: &toServer) } }
        for b in toServer { for a in feed(&server, b, now: now) { record(a, client: false, into: &toClient) } }
    }

    mutating func record(_ a: SM.Action, client: Bool, into out: inout [ByteBuffer]) {
        if let w = written(a) { out.append(w) }
        if case .write = a { return }
        if client { clientEvents.append(a) } else { serverEvents.append(a) }
    }

    mutating func associate() {
        _ = server.connected(now: now)
        run(client: client.connected(now: now))
    }
}

@Suite("Association state machine: phases and the request table")
struct AssociationStateMachineTests {
    @Test func associateRequestAnswerConcludeRelease() throws {
        var p = Pair()
        _ = p.server.connected(now: t0)
        p.run(client: p.client.connected(now: t0))
        #expect(p.client.isAssociated && p.server.isAssociated)
        guard case .associated(let info, let framing, nil)? = p.clientEvents.first else { Issue.record("\(p.clientEvents)"); return }
        #expect(info.peerAPTitle == [1, 3, 9999, 33])
        #expect(framing == Framing(contexts: PresentationContexts(), maxTPDUSize: 8192, maxPDUSize: 65_000))
        #expect(p.serverEvents.contains { if case .requestAcceptance(let r) = $0 { return r.callingAPTitle == [1, 1, 1, 999] } else { return false } })

        // A request travels to the server, which is told to serve it; its answer completes it.
        p.run(client: p.client.sendRequest(.identify, id: RequestID(1), pending: 1, now: t0))
        #expect(p.serverEvents.last == .serve(invokeID: 1, .identify))
        let answer = IdentifyResponse(vendorName: "v", modelName: "m", revision: "r")
        let f = try #require(p.server.framing)
        p.run(server: p.server.respond(invokeID: 1, frame: try f.frame(.confirmedResponse(invokeID: 1, .identify(answer))), now: t0))
        #expect(p.clientEvents.last == .complete(1, .success(.identify(answer)), write: nil))

        // Conclude, then release: the conclude completes when the release is confirmed.
        p.run(client: p.client.conclude(9, now: t0))
        guard case .close(let closing)? = p.clientEvents.last else { Issue.record("\(p.clientEvents)"); return }
        #expect(closing.concluded == 9 && closing.error == nil && closing.failed.isEmpty)
        #expect(p.client.isClosed && p.server.isClosed)
    }

    @Test func queuedRequestsWaitForASlotAndTheirDeadlineRunsFromQueueing() throws {
        // The peer allows two outstanding requests; three are issued.
        let timeouts = MMSTimeouts(request: .seconds(5))
        var (c, actions) = try associatedClient(timeouts: timeouts)
        guard case .associated(let info, _, _)? = actions.first else { throw TestFailure("\(actions)") }
        #expect(info.parameters.maxServOutstandingCalled == 2)
        let sent = (1...3).map { c.sendRequest(.identify, id: RequestID(UInt64($0)), pending: $0, now: t0) }
        #expect(try pdus(written(sent[0])) == [.confirmedRequest(invokeID: 1, .identify)])
        #expect(try pdus(written(sent[1])) == [.confirmedRequest(invokeID: 2, .identify)])
        #expect(sent[2] == SM.Action.none)  // queued: nothing written
        #expect(c.nextDeadline == t0 + .seconds(5))
        // The first answer frees a slot: the third request goes out in the same action.
        let answer = feed(&c, dataFrame(.confirmedResponse(invokeID: 1, .identify(IdentifyResponse(vendorName: "a", modelName: "b", revision: "c")))))
        guard case .complete(1, .success, let write)? = answer.first else { throw TestFailure("\(answer)") }
        #expect(try pdus(write) == [.confirmedRequest(invokeID: 3, .identify)])
        // Nobody answers the others: at the deadline (counted from queueing) both fail.
        #expect(c.timerFired(now: t0 + .seconds(4)) == SM.Action.none)
        let expired = c.timerFired(now: t0 + .seconds(5))
        guard case .fail(let failed, nil) = expired else { throw TestFailure("\(expired)") }
        #expect(Set(failed.map(\.0)) == [2, 3])
        #expect(failed.allSatisfy { $0.1 == .timeout("no answer within 5 s") })
        // Their late answers are dropped quietly.
        #expect(feed(&c, dataFrame(.confirmedResponse(invokeID: 2, .identify(IdentifyResponse(vendorName: "a", modelName: "b", revision: "c"))))) == [SM.Action.none])
    }

    @Test func theQueueOfRequestsIsBounded() throws {
        var (c, _) = try associatedClient(limits: MMSLimits(maxQueuedRequests: 3))
        for i in 1...5 { _ = c.sendRequest(.identify, id: RequestID(UInt64(i)), pending: i, now: t0) }  // 2 sent, 3 queued
        let over = c.sendRequest(.identify, id: RequestID(6), pending: 6, now: t0)
        #expect(over == .fail([(6, .limitExceeded("3 requests already wait for a slot (MMSLimits.maxQueuedRequests)"))], write: nil))
    }

    @Test func cancelFreesTheSlotAndTheLateAnswerIsDropped() throws {
        var (c, _) = try associatedClient()
        _ = c.sendRequest(.identify, id: RequestID(1), pending: 1, now: t0)
        _ = c.sendRequest(.identify, id: RequestID(2), pending: 2, now: t0)
        _ = c.sendRequest(.identify, id: RequestID(3), pending: 3, now: t0)  // queued
        let cancelled = c.cancel(RequestID(1), now: t0)
        guard case .cancelled(1, let w) = cancelled else { throw TestFailure("\(cancelled)") }
        #expect(try pdus(w) == [.confirmedRequest(invokeID: 3, .identify)])
        // A queued request is cancelled without writing anything.
        _ = c.sendRequest(.identify, id: RequestID(4), pending: 4, now: t0)
        #expect(c.cancel(RequestID(4), now: t0) == .cancelled(4, write: nil))
        #expect(c.cancel(RequestID(99), now: t0) == SM.Action.none)
        #expect(feed(&c, dataFrame(.confirmedError(invokeID: 1, ServiceError(.access, 2)))) == [SM.Action.none])
    }

    @Test func answersThatDoNotMatchTheirRequestAreProtocolErrors() throws {
        var (c, _) = try associatedClient()
        let read = ReadRequest(.listOfVariable([VariableAccess(.vmdSpecific("A")), VariableAccess(.vmdSpecific("B"))]))
        _ = c.sendRequest(.read(read), id: RequestID(1), pending: 1, now: t0)
        _ = c.sendRequest(.identify, id: RequestID(2), pending: 2, now: t0)
        // One result for two variables.
        let short = feed(&c, dataFrame(.confirmedResponse(invokeID: 1, .read(ReadResponse(results: [.success(.integer(1))])))))
        #expect(short == [.complete(1, .failure(.protocolError("1 results for 2 variables (invoke ID 1)")), write: nil)])
        // A read answer to an identify.
        let wrong = feed(&c, dataFrame(.confirmedResponse(invokeID: 2, .read(ReadResponse(results: [])))))
        #expect(wrong == [.complete(2, .failure(.protocolError("a read response to a identify request (invoke ID 2)")), write: nil)])
        // An answer to an invoke ID never used is rejected.
        let unknown = feed(&c, dataFrame(.confirmedResponse(invokeID: 77, .identify(IdentifyResponse(vendorName: "", modelName: "", revision: "")))))
        guard case .warning("response for unknown invoke ID 77 rejected", let reject)? = unknown.first else { throw TestFailure("\(unknown)") }
        #expect(try pdus(reject) == [.reject(RejectPDU(originalInvokeID: 77, pduType: .confirmedResponse, reason: 1))])
    }

    @Test func aMalformedAnswerFailsItsRequestAtOnce() throws {
        var (c, _) = try associatedClient()
        _ = c.sendRequest(.identify, id: RequestID(1), pending: 1, now: t0)
        // confirmed-ResponsePDU, invoke ID 1, identify [A2] with a truncated body.
        var w = BERWriter()
        w.prepend([0xA1, 0x07, 0x02, 0x01, 0x01, 0xA2, 0x02, 0x80, 0x05])
        OSIEncoder.prependDataFraming(to: &w, contexts: PresentationContexts())
        COTPSegmenter.prependFrames(to: &w, maxTPDUSize: 8192)
        let actions = feed(&c, ByteBuffer(bytes: w.toArray()))
        guard case .complete(1, .failure(.malformedResponse(let why)), let reject)? = actions.first else { throw TestFailure("\(actions)") }
        #expect(why.hasPrefix("identify response 1: "))
        #expect(try pdus(reject) == [.reject(RejectPDU(originalInvokeID: 1, pduType: .confirmedResponse, reason: 2))])
        #expect(c.isAssociated)
    }

    @Test(arguments: [
        (InitiateParameters(localDetail: 65_000, maxServOutstandingCalling: 0, maxServOutstandingCalled: 5, dataStructureNestingLevel: 10,
                            parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported),
         "negotiated maxServOutstandingCalling 0 is outside 1…10"),
        (InitiateParameters(localDetail: 65_000, maxServOutstandingCalling: 5, maxServOutstandingCalled: -3, dataStructureNestingLevel: 10,
                            parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported),
         "negotiated maxServOutstandingCalled -3 is outside 1…10"),
        (InitiateParameters(localDetail: 65_000, maxServOutstandingCalling: 5, maxServOutstandingCalled: 50, dataStructureNestingLevel: 10,
                            parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported),
         "negotiated maxServOutstandingCalled 50 is outside 1…10"),
        (InitiateParameters(localDetail: 0, maxServOutstandingCalling: 5, maxServOutstandingCalled: 5, dataStructureNestingLevel: 10,
                            parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported),
         "negotiated maximum PDU size 0 is outside 64…65000"),
        (InitiateParameters(localDetail: 100_000, maxServOutstandingCalling: 5, maxServOutstandingCalled: 5, dataStructureNestingLevel: 10,
                            parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported),
         "negotiated maximum PDU size 100000 is outside 64…65000"),
        (InitiateParameters(localDetail: 65_000, maxServOutstandingCalling: 5, maxServOutstandingCalled: 5, dataStructureNestingLevel: 1,
                            parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported),
         "negotiated data structure nesting 1 is outside 2…10"),
        (InitiateParameters(localDetail: 65_000, maxServOutstandingCalling: 5, maxServOutstandingCalled: 5, dataStructureNestingLevel: 20,
                            parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported),
         "negotiated data structure nesting 20 is outside 2…10"),
    ])
    func unacceptableInitiateAnswersRefuseTheAssociation(_ response: InitiateParameters, _ why: String) throws {
        let (c, actions) = try associatedClient(response: response)
        guard case .close(let closing)? = actions.first, actions.count == 1 else { throw TestFailure("\(actions)") }
        #expect(closing.error == .unacceptableParameters(why))
        #expect(closing.write != nil)  // an abort tells the peer
        #expect(c.isClosed)
    }

    @Test func aProposalWithNoOutstandingRequestsIsRefusedByTheServer() throws {
        var s = SM(role: .called, configuration: .init(local: calledAddress))
        _ = s.connected(now: t0)
        _ = feed(&s, cotpFrame(.connectionRequest(COTPConnection(sourceReference: 1, parameters: []))))
        var bad = InitiateParameters.request(MMSLimits())
        bad.maxServOutstandingCalled = 0
        let cn = OSIEncoder.connect(calling: callingAddress, called: calledAddress, initiate: .initiateRequest(bad))
        let actions = feed(&s, frame(cn))
        guard case .close(let closing)? = actions.first else { throw TestFailure("\(actions)") }
        #expect(closing.error == .rejected("unacceptable initiate request: proposedMaxServOutstandingCalled 0 is below 1"))
        #expect(closing.write != nil)  // RF + CPR + AARE rejected
    }

    @Test func thePeersRequestsAreLimitedAndInvokeIDsAreUnique() throws {
        var p = Pair(serverLimits: MMSLimits(maxServOutstandingCalled: 2))
        p.associate()
        // The client machine itself never exceeds the limit; a raw peer might: feed the server directly.
        var s = p.server
        #expect(feed(&s, dataFrame(.confirmedRequest(invokeID: 5, .identify))) == [.serve(invokeID: 5, .identify)])
        let dup = feed(&s, dataFrame(.confirmedRequest(invokeID: 5, .identify)))
        guard case .warning("request 5 reuses an invoke ID being served; rejected", let r)? = dup.first else { throw TestFailure("\(dup)") }
        #expect(try pdus(r) == [.reject(RejectPDU(originalInvokeID: 5, pduType: .confirmedRequest, reason: 3))])
        #expect(feed(&s, dataFrame(.confirmedRequest(invokeID: 6, .identify))) == [.serve(invokeID: 6, .identify)])
        let over = feed(&s, dataFrame(.confirmedRequest(invokeID: 7, .identify)))
        guard case .warning(_, let r7)? = over.first else { throw TestFailure("\(over)") }
        #expect(try pdus(r7) == [.reject(.maxServOutstandingExceeded(7))])
        // Answering one frees its slot.
        let f = try #require(s.framing)
        _ = s.respond(invokeID: 5, frame: try f.frame(.confirmedError(invokeID: 5, ServiceError(.access, 2))), now: t0)
        #expect(feed(&s, dataFrame(.confirmedRequest(invokeID: 8, .identify))) == [.serve(invokeID: 8, .identify)])
        // A peer's conclude while we serve is refused.
        let conclude = feed(&s, dataFrame(.concludeRequest))
        guard case .warning("conclude refused: requests outstanding", let ce)? = conclude.first else { throw TestFailure("\(conclude)") }
        #expect(try pdus(ce) == [.concludeError(ServiceError(.conclude, 1, additionalDescription: "requests outstanding"))])
    }

    @Test func concludeWaitsForOutstandingRequestsAndIsBoundedInTime() throws {
        let timeouts = MMSTimeouts(request: .seconds(5), release: .seconds(2))
        var (c, _) = try associatedClient(timeouts: timeouts)
        _ = c.sendRequest(.identify, id: RequestID(1), pending: 1, now: t0)
        #expect(c.conclude(9, now: t0) == SM.Action.none)  // waits for request 1
        // New requests are refused while concluding.
        #expect(c.sendRequest(.identify, id: RequestID(2), pending: 2, now: t0) == .fail([(2, .notAssociated)], write: nil))
        let answered = feed(&c, dataFrame(.confirmedError(invokeID: 1, ServiceError(.access, 2))))
        guard case .complete(1, .failure(.serviceError), let w)? = answered.first else { throw TestFailure("\(answered)") }
        #expect(try pdus(w) == [.concludeRequest])  // sent as soon as nothing is outstanding
        // The peer never answers the conclude.
        let t = t0 + .seconds(2)
        guard case .close(let closing) = c.timerFired(now: t) else { throw TestFailure("no close") }
        #expect(closing.error == .timeout("conclude not confirmed within 2 s"))
        #expect(closing.failed.map(\.0) == [9])
    }

    @Test func anUnansweredReleaseEndsInBoundedTime() throws {
        var (c, _) = try associatedClient(timeouts: MMSTimeouts(release: .seconds(3)))
        _ = c.conclude(9, now: t0)
        let r = feed(&c, dataFrame(.concludeResponse))
        guard case .write = r.first else { throw TestFailure("no RLRQ: \(r)") }
        guard case .close(let closing) = c.timerFired(now: t0 + .seconds(3)) else { throw TestFailure("no close") }
        #expect(closing.error == .timeout("release not confirmed within 3 s"))
        #expect(closing.failed.map(\.0) == [9])
    }

    @Test func cotpDisconnectAndErrorAndACSEAbortEndTheAssociationAndItsRequests() throws {
        var (c1, _) = try associatedClient()
        _ = c1.sendRequest(.identify, id: RequestID(1), pending: 1, now: t0)
        let dr = feed(&c1, cotpFrame(.disconnectRequest(COTPDisconnect(destinationReference: 1, sourceReference: 7, reason: 128))))
        #expect(dr == [.close(.init(write: nil, reason: "COTP disconnect request (reason 128)", error: .closed("COTP disconnect request (reason 128)"),
                                    failed: [(1, .closed("COTP disconnect request (reason 128)"))], concluded: nil))])

        var (c2, _) = try associatedClient()
        _ = c2.sendRequest(.identify, id: RequestID(1), pending: 1, now: t0)
        let er = feed(&c2, cotpFrame(.error(COTPError(destinationReference: 1, rejectCause: 2))))
        guard case .close(let closing)? = er.first else { throw TestFailure("\(er)") }
        #expect(closing.error == .protocolError("COTP error TPDU (cause 2)") && closing.failed.map(\.0) == [1])

        var (c3, _) = try associatedClient()
        _ = c3.sendRequest(.identify, id: RequestID(1), pending: 1, now: t0)
        let abrt = feed(&c3, frame(OSIEncoder.abort(contexts: PresentationContexts())))
        guard case .close(let c3close)? = abrt.first else { throw TestFailure("\(abrt)") }
        #expect(c3close.error == .closed("aborted by the peer") && c3close.failed.map(\.0) == [1])
        #expect(c1.isClosed && c2.isClosed && c3.isClosed)
    }

    @Test func dataNestedDeeperThanNegotiatedIsRejected() throws {
        // The peer agreed to 3 levels; a report nested 4 deep does not decode.
        let response = InitiateParameters(localDetail: 65_000, maxServOutstandingCalling: 5, maxServOutstandingCalled: 5, dataStructureNestingLevel: 3,
                                          parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported)
        var (c, _) = try associatedClient(response: response)
        func nested(_ n: Int) -> MMSData { n == 0 ? .integer(1) : .structure([nested(n - 1)]) }
        func report(_ n: Int) -> MMSPDU {
            .unconfirmed(.informationReport(InformationReport(.listOfVariable([VariableAccess(.vmdSpecific("X"))]), results: [.success(nested(n))])))
        }
        guard case .report = feed(&c, dataFrame(report(3))).first else { throw TestFailure("a 3-level report must pass") }
        let deep = feed(&c, dataFrame(report(4)))
        guard case .warning(let why, let reject)? = deep.first else { throw TestFailure("\(deep)") }
        #expect(why.contains("nested deeper than the negotiated 3 levels"))
        #expect(try pdus(reject) == [.reject(.invalidPDU(nil))])
    }

    @Test func silentAndHalfSentPeersAreDroppedOnTime() throws {
        let timeouts = MMSTimeouts(associate: .seconds(20), partialPDU: .seconds(4))
        var s = SM(role: .called, configuration: .init(local: calledAddress, timeouts: timeouts))
        #expect(s.connected(now: t0) == SM.Action.none)
        #expect(s.nextDeadline == t0 + .seconds(20))
        // Half a TPKT frame starts the partial-PDU clock.
        #expect(feed(&s, ByteBuffer(bytes: [0x03, 0x00, 0x00, 0x16, 0x11])) == [])
        #expect(s.nextDeadline == t0 + .seconds(4))
        guard case .close(let c) = s.timerFired(now: t0 + .seconds(4)) else { throw TestFailure("no close") }
        #expect(c.error == .protocolError("incomplete PDU for 4 s"))

        var silent = SM(role: .called, configuration: .init(local: calledAddress, timeouts: timeouts))
        _ = silent.connected(now: t0)
        guard case .close(let c2) = silent.timerFired(now: t0 + .seconds(20)) else { throw TestFailure("no close") }
        #expect(c2.error == .timeout("association not established within 20 s") && c2.write == nil)
    }

    @Test func aBadTPKTHeaderAborts() throws {
        var (c, _) = try associatedClient()
        let actions = feed(&c, ByteBuffer(bytes: [0x47, 0x45, 0x54, 0x20, 0x2F, 0x20, 0x48, 0x54]))
        guard case .close(let closing)? = actions.first else { throw TestFailure("\(actions)") }
        #expect(closing.error == .protocolError("TPKT error at offset 0: version 71, expected 3"))
    }

    @Test func aRequestTooLargeForTheNegotiatedPDUFailsAtOnce() throws {
        let response = InitiateParameters(localDetail: 100, maxServOutstandingCalling: 5, maxServOutstandingCalled: 5, dataStructureNestingLevel: 5,
                                          parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported)
        var (c, _) = try associatedClient(response: response)
        let big = ReadRequest(.listOfVariable((0..<20).map { VariableAccess(.vmdSpecific("Variable_\($0)")) }))
        let a = c.sendRequest(.read(big), id: RequestID(1), pending: 1, now: t0)
        guard case .fail(let f, nil) = a, case .pduTooLarge(_, 100) = f[0].1 else { throw TestFailure("\(a)") }
    }
}
