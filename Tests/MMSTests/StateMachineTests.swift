import BER
import MMS
import OSI
import Testing
import TestSupport

/// Drives a calling and a called state machine against each other, in memory.
struct Loopback {
    var client = MMSConnectionStateMachine(role: .calling, configuration: .init(
        local: OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12), remote: OSIAddress(apTitle: [1, 1, 1, 999, 1], aeQualifier: 12)))
    var server: MMSConnectionStateMachine
    var clientEvents: [MMSConnectionStateMachine.Action] = []
    var serverEvents: [MMSConnectionStateMachine.Action] = []
    var decision: AssociationDecision = .accept

    init(serverLimits: MMSLimits = MMSLimits()) {
        server = MMSConnectionStateMachine(role: .called, configuration: .init(local: OSIAddress(apTitle: [1, 3, 9999, 33], aeQualifier: 33), limits: serverLimits))
    }

    /// Routes writes to the other side until nothing moves.
    mutating func run(_ fromClient: [MMSConnectionStateMachine.Action], _ fromServer: [MMSConnectionStateMachine.Action] = []) throws {
        var toServer: [[UInt8]] = []
        var toClient: [[UInt8]] = []
        func route(_ actions: [MMSConnectionStateMachine.Action], into q: inout [[UInt8]], events: inout [MMSConnectionStateMachine.Action]) throws {
            for a in actions {
                if case .write(let bytes) = a {
                    var s = TPKTStreamDecoder()
                    s.append(bytes)
                    while let p = try s.nextPayload() { q.append(p) }
                } else {
                    events.append(a)
                }
            }
        }
        try route(fromClient, into: &toServer, events: &clientEvents)
        try route(fromServer, into: &toClient, events: &serverEvents)
        while !toServer.isEmpty || !toClient.isEmpty {
            for p in toServer {
                var out = server.received(tpdu: p)
                if let req = out.compactMap({ if case .requestAcceptance(let r) = $0 { return r } else { return nil } }).first {
                    _ = req
                    out += server.accept(decision)
                }
                try route(out, into: &toClient, events: &serverEvents)
            }
            toServer = []
            for p in toClient { try route(client.received(tpdu: p), into: &toServer, events: &clientEvents) }
            toClient = []
        }
    }
}

@Suite("Association state machine")
struct StateMachineTests {
    @Test func associateRequestReleaseInMemory() throws {
        var l = Loopback()
        try l.run(l.client.start())
        #expect(l.client.isAssociated && l.server.isAssociated)
        guard case .associated(let info)? = l.clientEvents.first else { Issue.record("no association"); return }
        #expect(info.peerAPTitle == [1, 3, 9999, 33])
        #expect(info.parameters.maxServOutstandingCalled == 10)
        guard case .associated(let sinfo)? = l.serverEvents.first(where: { if case .associated = $0 { return true } else { return false } }) else { Issue.record("no association"); return }
        #expect(sinfo.request?.callingAPTitle == [1, 1, 1, 999])

        // A request travels to the server and its response back.
        try l.run(try l.client.send(.confirmedRequest(invokeID: 1, .identify)))
        #expect(l.serverEvents.last == .deliver(.confirmedRequest(invokeID: 1, .identify)))
        let resp = MMSPDU.confirmedResponse(invokeID: 1, .identify(IdentifyResponse(vendorName: "v", modelName: "m", revision: "r")))
        try l.run([], try l.server.send(resp))
        #expect(l.clientEvents.last == .deliver(resp))

        // Conclude and release.
        try l.run(try l.client.conclude())
        #expect(l.clientEvents.contains(.concluded))
        #expect(l.client.isClosed && l.server.isClosed)
    }

    @Test func rejectsPastTheOutstandingLimitAndOversizedPDUs() throws {
        var l = Loopback(serverLimits: MMSLimits(maxPDUSize: 1000, maxServOutstandingCalled: 2))
        try l.run(l.client.start())
        for id in 1...3 { try l.run(try l.client.send(.confirmedRequest(invokeID: UInt32(id), .identify))) }
        #expect(l.clientEvents.contains(.deliver(.reject(.maxServOutstandingExceeded(3)))))
        // A response larger than the negotiated PDU size is refused before it is written.
        let big = MMSPDU.confirmedResponse(invokeID: 1, .read(ReadResponse(results: Array(repeating: .success(.float(1)), count: 200))))
        #expect(throws: MMSAssociationError.self) { _ = try l.server.send(big) }
        // A large PDU within the limit is segmented over several DT TPDUs (TPDU size 8192 here).
        var l2 = Loopback()
        try l2.run(l2.client.start())
        let report = MMSPDU.unconfirmed(.informationReport(InformationReport(.listOfVariable([VariableAccess(.vmdSpecific("X"))]),
            results: [.success(.octetString([UInt8](repeating: 7, count: 20_000)))])))
        let out = try l2.server.send(report)
        guard case .write(let bytes)? = out.first else { Issue.record("no write"); return }
        #expect(bytes.count > 20_000)
        try l2.run([], out)
        #expect(l2.clientEvents.last == .deliver(report))
    }

    @Test func refusedAssociationAndMalformedPDUs() throws {
        var l = Loopback()
        l.decision = .reject(.callingAPTitleNotRecognized)
        try l.run(l.client.start())
        #expect(l.client.isClosed)
        guard case .close(_, let err)? = l.clientEvents.last, case .rejected? = err else { Issue.record("\(l.clientEvents)"); return }

        var m = Loopback()
        try m.run(m.client.start())
        // A confirmed request whose service body is garbage: rejected with its invoke ID.
        var w = BERWriter()
        w.prepend([0xA0, 0x08, 0x02, 0x01, 0x07, 0xA4, 0x03, 0xFF, 0xFF, 0xFF])
        OSIEncoder.prependDataFraming(to: &w, contexts: PresentationContexts())
        _ = COTPSegmenter.prependSingleFrame(to: &w, maxTPDUSize: 8192)
        let actions = m.server.received(tpdu: Array(w.toArray().dropFirst(4)))
        #expect(actions.contains { if case .warning = $0 { return true } else { return false } })
        try m.run([], actions.filter { if case .write = $0 { return true } else { return false } })
        #expect(m.clientEvents.last == .deliver(.reject(.invalidArgument(7))))
        #expect(m.server.isAssociated)
    }
}

@Suite("Connect variants seen in the field")
struct ConnectVariantTests {
    /// ICCP products in the production capture propose 1.0.9506.1.1 and a third context: the
    /// server accepts, echoes the context, and refuses the unknown presentation context only.
    @Test func olderApplicationContextAndExtraPresentationContext() throws {
        var server = MMSConnectionStateMachine(role: .called, configuration: .init(local: OSIAddress(apTitle: [1, 3, 9999, 33], aeQualifier: 33)))
        let cr = TPDU.connectionRequest(COTPConnection(sourceReference: 7, parameters: [COTP.Parameter(code: 0xC0, value: [0x0A])]))
        let cc = server.received(tpdu: cr.encoded())
        guard case .write(let ccBytes)? = cc.first, case .connectionConfirm(let conf) = try TPDU.decode(Array(ccBytes.dropFirst(4))) else {
            Issue.record("no CC")
            return
        }
        #expect(conf.tpduSize == 1024)
        // A CP with three contexts (the third unknown) and the older MMS application context.
        var cn = OSIEncoder.connect(calling: OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12), called: OSIAddress(),
                                    initiate: .initiateRequest(.request(MMSLimits())), applicationContext: WellKnownOID.mmsApplicationContextV1)
        var ctx = PresentationContexts()
        guard case .connect(let spdu, var cp, let aarq, _) = try OSIMessage.decode(tsdu: cn, contexts: &ctx) else { Issue.record("no CN"); return }
        cp.contexts.append(PresentationContextDefinition(id: 5, abstractSyntax: [1, 2, 3]))
        var s = spdu
        s.parameters = s.parameters.map { if case .userData(let c, _) = $0 { return .userData(code: c, cp.encoded()) } else { return $0 } }
        cn = s.encoded()
        #expect(aarq.applicationContext == WellKnownOID.mmsApplicationContextV1)
        var actions: [MMSConnectionStateMachine.Action] = []
        for frame in [COTPSegmenter.frames(cn, maxTPDUSize: 1024)] {
            var st = TPKTStreamDecoder()
            st.append(frame)
            while let p = try st.nextPayload() { actions += server.received(tpdu: p) }
        }
        #expect(actions.contains { if case .requestAcceptance = $0 { return true } else { return false } })
        let accepted = server.accept(.accept)
        guard case .write(let acBytes)? = accepted.first else { Issue.record("no AC"); return }
        var st = TPKTStreamDecoder()
        st.append(acBytes)
        var r = COTPReassembler()
        var tsdu: [UInt8]?
        while let p = try st.nextPayload() {
            #expect(p.count <= 1024)
            if case .data(let eot, let d) = try TPDU.decode(p) { tsdu = try r.append(endOfTSDU: eot, d) ?? tsdu }
        }
        var c2 = PresentationContexts()
        guard let ac = tsdu, case .accept(_, let cpa, let aare, _) = try OSIMessage.decode(tsdu: ac, contexts: &c2) else { Issue.record("no AC"); return }
        #expect(aare.applicationContext == WellKnownOID.mmsApplicationContextV1)
        #expect(cpa.results.map(\.result) == [0, 0, 2])
    }
}
