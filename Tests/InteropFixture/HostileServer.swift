import BER
import Foundation
import MMS
import NIOCore
import NIOPosix
import OSI

/// An MMS server of our own that associates correctly and then misbehaves in one chosen way,
/// to prove that our client side (MMSClient, TASE2Client, the `tase2` commands) ends every
/// such case in bounded time and memory, with a clear error and never a trap. It speaks
/// through our codecs but keeps no protocol state of ours: each behaviour is scripted here.
public final class HostileServer: Sendable {
    public enum Behavior: String, Sendable, CaseIterable {
        /// Read answered with fewer results than variables requested.
        case readFewerResults
        /// Read answered with no results.
        case readNoResults
        /// Read answered with more results than variables requested.
        case readExtraResults
        /// Initiate answer with maxServOutstanding 0.
        case initiateZeroOutstanding
        /// Initiate answer with a negative maxServOutstanding.
        case initiateNegativeOutstanding
        /// Initiate answer with a PDU size of 0.
        case initiatePDUSizeZero
        /// Initiate answer with more nesting than we offered.
        case initiateNestingTooDeep
        /// Conclude never answered.
        case silentConclude
        /// The release request (after a confirmed conclude) never answered.
        case silentRelease
        /// Every request answered after 20 s.
        case slowAnswers
        /// GetNameList answers moreFollows TRUE forever, with new names.
        case nameListForever
        /// GetNameList answers the same names again and again with moreFollows TRUE.
        case nameListRepeats
        /// GetNameList returns an empty name.
        case nameListEmptyName
        /// GetNameList returns a name that is no MMS identifier (with an escape sequence).
        case nameListBadName
        /// 300,000 unsolicited informationReports of 1 kB right after the association.
        case reportFlood
        /// Responses that are truncated inside, with the invoke ID readable.
        case malformedTruncated
        /// Responses with a length that overruns the PDU.
        case malformedBadLength
        /// Responses with a bit string whose unused-bits count is invalid.
        case malformedBitString
        /// Responses with a floating-point value of the wrong size.
        case malformedFloat
        /// Responses nested deeper than negotiated.
        case deepNesting
        /// Answers of another service (a read answered by an identify response).
        case wrongService
    }

    public let behavior: Behavior
    let channel: any Channel
    public let port: Int

    /// `floodReports`: how many 1 kB reports `.reportFlood` sends (in thousands of reports).
    public init(_ behavior: Behavior, floodReports: Int = 300_000) async throws {
        self.behavior = behavior
        let batches = max(floodReports / 1000, 1)
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(HostileHandler(behavior, floodBatches: batches)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    public func stop() async {
        try? await channel.close()
    }
}

final class HostileHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let behavior: HostileServer.Behavior
    var stream = TPKTStreamDecoder()
    var reassembler = COTPReassembler()
    var contexts = PresentationContexts()
    var associated = false
    var pagesSent = 0
    let floodBatches: Int

    init(_ behavior: HostileServer.Behavior, floodBatches: Int) {
        self.behavior = behavior
        self.floodBatches = floodBatches
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        stream.append(b.readBytes(length: b.readableBytes) ?? [])
        while let payload = try? stream.nextPayload() {
            guard let tpdu = try? TPDU.decode(payload) else { return }
            switch tpdu {
            case .connectionRequest(let cr):
                let cc = TPDU.connectionConfirm(COTPConnection(destinationReference: cr.sourceReference, sourceReference: 9, parameters: cr.parameters))
                write(context, TPKT.header(payloadLength: cc.encoded().count) + cc.encoded())
            case .data(let eot, let d):
                guard let tsdu = try? reassembler.append(endOfTSDU: eot, d) else { continue }
                handle(tsdu, context)
            default:
                context.close(promise: nil)
            }
        }
    }

    func write(_ context: ChannelHandlerContext, _ bytes: [UInt8]) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    func send(_ context: ChannelHandlerContext, _ mms: [UInt8]) {
        var w = BERWriter(capacity: mms.count + 64)
        w.prepend(mms)
        OSIEncoder.prependDataFraming(to: &w, contexts: contexts)
        COTPSegmenter.prependFrames(to: &w, maxTPDUSize: 8192)
        write(context, w.toArray())
    }

    func send(_ context: ChannelHandlerContext, _ pdu: MMSPDU) { send(context, pdu.encoded()) }

    func handle(_ tsdu: [UInt8], _ context: ChannelHandlerContext) {
        guard let message = try? OSIMessage.decode(tsdu: tsdu, contexts: &contexts) else { return }
        switch message {
        case .connect(_, let cp, _, let mms):
            guard case .initiateRequest(let offer)? = mms else { return }
            var answer = InitiateParameters.response(to: offer, limits: MMSLimits())
            switch behavior {
            case .initiateZeroOutstanding: answer.maxServOutstandingCalled = 0
            case .initiateNegativeOutstanding: answer.maxServOutstandingCalling = -1
            case .initiatePDUSizeZero: answer.localDetail = 0
            case .initiateNestingTooDeep: answer.dataStructureNestingLevel = 100
            default: break
            }
            let ac = OSIEncoder.accept(responding: OSIAddress(apTitle: [1, 1, 1, 999, 1], aeQualifier: 12), initiate: .initiateResponse(answer),
                                       contexts: contexts, proposed: cp.contexts)
            write(context, COTPSegmenter.frames(ac, maxTPDUSize: 8192))
            associated = true
            if behavior == .reportFlood { flood(context) }
        case .data(.confirmedRequest(let id, let request)):
            answer(id, request, context)
        case .data(.concludeRequest):
            if behavior != .silentConclude { send(context, .concludeResponse) }
        case .acse(_, .releaseRequest):
            if behavior != .silentRelease {
                write(context, COTPSegmenter.frames(OSIEncoder.releaseResponse(contexts: contexts), maxTPDUSize: 8192))
                context.close(promise: nil)
            }
        default:
            break
        }
    }

    /// Reports of about 1 kB, a thousand per batch, written as fast as the socket takes them.
    func flood(_ context: ChannelHandlerContext) {
        let report = MMSPDU.unconfirmed(.informationReport(InformationReport(.listOfVariable([VariableAccess(.vmdSpecific("Flood"))]),
            results: [.success(.octetString([UInt8](repeating: 0x5A, count: 1000)))])))
        var w = BERWriter()
        report.prepend(to: &w)
        OSIEncoder.prependDataFraming(to: &w, contexts: contexts)
        COTPSegmenter.prependFrames(to: &w, maxTPDUSize: 8192)
        let frame = w.toArray()
        var batch = context.channel.allocator.buffer(capacity: frame.count * 1000)
        for _ in 0..<1000 { batch.writeBytes(frame) }
        for _ in 0..<floodBatches { context.write(wrapOutboundOut(batch), promise: nil) }
        context.flush()
    }

    /// A confirmed-ResponsePDU of `id` whose service part is `body`, as raw bytes.
    func rawResponse(_ id: UInt32, _ body: [UInt8]) -> [UInt8] {
        var w = BERWriter()
        w.prepend(body)
        w.prependInteger(Int64(id))
        w.prependHeader(.contextConstructed(1), length: w.count)
        return w.toArray()
    }

    func answer(_ id: UInt32, _ request: ConfirmedServiceRequest, _ context: ChannelHandlerContext) {
        switch behavior {
        case .slowAnswers:
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .seconds(20)) { bound.value.answerNormally(id, request, ctx.value) }
            return
        case .malformedTruncated:
            // read [A4] claiming 10 octets of which 2 follow: the outer lengths are right.
            send(context, rawResponse(id, [0xA4, 0x02, 0xA1, 0x0A]))
            return
        case .malformedBadLength:
            send(context, rawResponse(id, [0xA4, 0x04, 0xA1, 0x7F, 0x85, 0x01]))
            return
        case .malformedBitString:
            // read response, one result: a bit string with 9 unused bits.
            send(context, rawResponse(id, [0xA4, 0x05, 0xA1, 0x03, 0x84, 0x01, 0x09]))
            return
        case .malformedFloat:
            send(context, rawResponse(id, [0xA4, 0x06, 0xA1, 0x04, 0x87, 0x02, 0x08, 0x41]))
            return
        case .wrongService:
            if case .read = request {
                send(context, .confirmedResponse(invokeID: id, .identify(IdentifyResponse(vendorName: "x", modelName: "y", revision: "z"))))
                return
            }
        default:
            break
        }
        answerNormally(id, request, context)
    }

    func answerNormally(_ id: UInt32, _ request: ConfirmedServiceRequest, _ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        switch request {
        case .identify:
            send(context, .confirmedResponse(invokeID: id, .identify(IdentifyResponse(vendorName: "Hostile", modelName: "h", revision: "1"))))
        case .getNameList(let q):
            send(context, .confirmedResponse(invokeID: id, .getNameList(page(q))))
        case .read(let r):
            guard case .listOfVariable(let vars) = r.variableAccessSpecification else {
                send(context, .confirmedError(invokeID: id, ServiceError(.access, 2)))
                return
            }
            var results = vars.map { value(for: $0) }
            switch behavior {
            case .readFewerResults: results = Array(results.dropLast())
            case .readNoResults: results = []
            case .readExtraResults: results += [.success(.integer(7))]
            case .deepNesting:
                func nested(_ n: Int) -> MMSData { n == 0 ? .integer(1) : .structure([nested(n - 1)]) }
                results = results.map { _ in .success(nested(20)) }
            default: break
            }
            send(context, .confirmedResponse(invokeID: id, .read(ReadResponse(results: results))))
        case .write(let w):
            send(context, .confirmedResponse(invokeID: id, .write(w.data.map { _ in .success })))
            // Once information messages are enabled, one whose text would drive a terminal.
            if case .listOfVariable(let vars) = w.variableAccessSpecification, vars.first?.variable.name == .aaSpecific("IM_Transfer_Set") {
                let text = Array("clear\u{1b}[2J\u{7}screen".utf8)
                let header = MMSData.structure([.integer(1), .integer(0), .integer(99), .integer(Int64(text.count))])
                send(context, .unconfirmed(.informationReport(InformationReport(
                    .listOfVariable([VariableAccess(.vmdSpecific("Info_Mess_Header")), VariableAccess(.vmdSpecific("Info_Buff_64"))]),
                    results: [.success(header), .success(.octetString(text + [UInt8](repeating: 0, count: 64 - text.count)))]))))
            }
        case .defineNamedVariableList:
            send(context, .confirmedResponse(invokeID: id, .defineNamedVariableList))
        case .deleteNamedVariableList:
            send(context, .confirmedResponse(invokeID: id, .deleteNamedVariableList(DeleteNamedVariableListResponse(numberMatched: 0, numberDeleted: 0))))
        default:
            send(context, .reject(.unrecognizedService(id)))
        }
    }

    func page(_ q: GetNameListRequest) -> GetNameListResponse {
        if case .domain = q.objectClass, !isFlood { return GetNameListResponse(identifiers: ["ICC1"], moreFollows: false) }
        pagesSent += 1
        switch behavior {
        case .nameListForever:
            // New names every page, each greater than the last: only a bound stops it.
            let names = (0..<1000).map { "P\(String(format: "%08d", pagesSent * 1000 + $0))" }
            return GetNameListResponse(identifiers: names, moreFollows: true)
        case .nameListRepeats:
            return GetNameListResponse(identifiers: ["A", "B", "C"], moreFollows: true)
        case .nameListEmptyName:
            return GetNameListResponse(identifiers: ["A", ""], moreFollows: false)
        case .nameListBadName:
            return GetNameListResponse(identifiers: ["A", "Bad Name-1"], moreFollows: false)
        default:
            return GetNameListResponse(identifiers: ["Bilateral_Table_ID", "Point_1"], moreFollows: false)
        }
    }

    var isFlood: Bool { behavior == .nameListForever || behavior == .nameListRepeats }

    func value(for v: VariableAccess) -> AccessResult {
        switch v.variable.name?.itemName {
        case "Bilateral_Table_ID": return .success(.visibleString("BLT_HOSTILE"))
        case "TASE2_Version": return .success(.structure([.integer(2000), .integer(8)]))
        case "Supported_Features": return .success(.bitString(BitString(bytes: [0xD8, 0x00], count: 12)))
        case "Next_DSTransfer_Set":
            return .success(.structure([.unsigned(1), .visibleString("ICC1"), .visibleString("DSTrans1")]))
        case let n? where n.hasSuffix("_SBO"): return .success(.integer(5))
        default: return .success(.structure([.float(1.5), .bitString(BitString(bytes: [0], count: 8))]))
        }
    }
}
