import BER
import MMS
@testable import MMSNIO
import NIOCore
import OSI
import Testing

@Suite("Connect variants seen in the field")
struct ConnectVariantTests {
    /// ICCP products in the production capture propose 1.0.9506.1.1 and a third context: the
    /// server accepts, echoes the context, and refuses the unknown presentation context only.
    @Test func olderApplicationContextAndExtraPresentationContext() throws {
        var server = SM(role: .called, configuration: .init(local: calledAddress))
        _ = server.connected(now: t0)
        let cr = TPDU.connectionRequest(COTPConnection(sourceReference: 7, parameters: [COTP.Parameter(code: 0xC0, value: [0x0A])]))
        let cc = feed(&server, cotpFrame(cr))
        guard case .write(let ccBytes)? = cc.first, case .connectionConfirm(let conf) = try TPDU.decode(Array(ccBytes.readableBytesView.dropFirst(4))) else {
            Issue.record("no CC")
            return
        }
        #expect(conf.tpduSize == 1024)
        // A CP with three contexts (the third unknown) and the older MMS application context.
        var cn = OSIEncoder.connect(calling: callingAddress, called: OSIAddress(),
                                    initiate: .initiateRequest(.request(MMSLimits())), applicationContext: WellKnownOID.mmsApplicationContextV1)
        var ctx = PresentationContexts()
        guard case .connect(let spdu, var cp, let aarq, _) = try OSIMessage.decode(tsdu: cn, contexts: &ctx) else { Issue.record("no CN"); return }
        cp.contexts.append(PresentationContextDefinition(id: 5, abstractSyntax: [1, 2, 3]))
        var s = spdu
        s.parameters = s.parameters.map { if case .userData(let c, _) = $0 { return .userData(code: c, cp.encoded()) } else { return $0 } }
        cn = s.encoded()
        #expect(aarq.applicationContext == WellKnownOID.mmsApplicationContextV1)
        let actions = feed(&server, ByteBuffer(bytes: COTPSegmenter.frames(cn, maxTPDUSize: 1024)))
        #expect(actions.contains { if case .requestAcceptance = $0 { return true } else { return false } })
        guard case .associated(_, let framing, let ac?) = server.accept(.accept, now: t0) else { Issue.record("no AC"); return }
        #expect(framing.maxTPDUSize == 1024)
        var st = TPKTStreamDecoder()
        st.append(Array(ac.readableBytesView))
        var r = COTPReassembler()
        var tsdu: [UInt8]?
        while let p = try st.nextPayload() {
            #expect(p.count <= 1024)
            if case .data(let eot, let d) = try TPDU.decode(p) { tsdu = try r.append(endOfTSDU: eot, d) ?? tsdu }
        }
        var c2 = PresentationContexts()
        guard let acBytes = tsdu, case .accept(_, let cpa, let aare, _) = try OSIMessage.decode(tsdu: acBytes, contexts: &c2) else { Issue.record("no AC"); return }
        #expect(aare.applicationContext == WellKnownOID.mmsApplicationContextV1)
        #expect(cpa.results.map(\.result) == [0, 0, 2])
    }

    /// A refused partner gets RF + CPR + AARE rejected with the diagnostic.
    @Test func refusedAssociation() throws {
        var p = Pair()
        p.decision = .reject(.callingAPTitleNotRecognized)
        p.associate()
        #expect(p.client.isClosed && p.server.isClosed)
        guard case .close(let c)? = p.clientEvents.last, case .rejected? = c.error else { Issue.record("\(p.clientEvents)"); return }
    }

    /// A confirmed request whose body is garbage is rejected with its invoke ID; the association stays.
    @Test func malformedRequestIsRejected() throws {
        var p = Pair()
        p.associate()
        var w = BERWriter()
        w.prepend([0xA0, 0x08, 0x02, 0x01, 0x07, 0xA4, 0x03, 0xFF, 0xFF, 0xFF])
        OSIEncoder.prependDataFraming(to: &w, contexts: PresentationContexts())
        COTPSegmenter.prependFrames(to: &w, maxTPDUSize: 8192)
        let actions = feed(&p.server, ByteBuffer(bytes: w.toArray()))
        guard case .warning(_, let reject)? = actions.first else { Issue.record("\(actions)"); return }
        #expect(try pdus(reject) == [.reject(.invalidArgument(7))])
        #expect(p.server.isAssociated)
    }

    /// A PDU larger than the TPDU size is cut into several DTs in place, and reassembled.
    @Test func largePDUsAreSegmentedInPlace() throws {
        var p = Pair(serverLimits: MMSLimits(maxTPDUSize: 1024), clientLimits: MMSLimits(maxTPDUSize: 1024))
        p.associate()
        let f = try #require(p.server.framing)
        #expect(f.maxTPDUSize == 1024)
        let report = MMSPDU.unconfirmed(.informationReport(InformationReport(.listOfVariable([VariableAccess(.vmdSpecific("X"))]),
            results: [.success(.octetString([UInt8](repeating: 7, count: 20_000)))])))
        let framed = try f.frame(report)
        // The same bytes as segmenting a copy would give.
        #expect(Array(framed.readableBytesView) == COTPSegmenter.frames(OSIEncoder.data(report), maxTPDUSize: 1024))
        p.run(server: try p.server.sendUnconfirmed(framed))
        #expect(p.clientEvents.last == .report(InformationReport(.listOfVariable([VariableAccess(.vmdSpecific("X"))]),
            results: [.success(.octetString([UInt8](repeating: 7, count: 20_000)))]), size: report.encoded().count))
    }
}
