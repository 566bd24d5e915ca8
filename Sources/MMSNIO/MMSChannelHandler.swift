import BER
import Logging
import MMS
import NIOCore
import OSI

/// Timeouts of one connection.
public struct MMSTimeouts: Sendable {
    /// From TCP accept (or connect) until the association is established.
    public var associate: TimeAmount
    /// How long half a TPKT frame or half a TSDU may wait for the rest.
    public var partialPDU: TimeAmount
    /// How long a confirmed request waits for its answer.
    public var request: TimeAmount
    public init(associate: TimeAmount = .seconds(30), partialPDU: TimeAmount = .seconds(10), request: TimeAmount = .seconds(30)) {
        self.associate = associate
        self.partialPDU = partialPDU
        self.request = request
    }
}

/// The one handler of an MMS connection: frames TPKT, feeds the association state machine and
/// carries out its actions. All its state lives on the channel's event loop.
final class MMSChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var machine: MMSConnectionStateMachine
    let device: (any VirtualManufacturingDevice)?
    var logger: Logger
    let timeouts: MMSTimeouts
    let associationID: UInt64
    let reportBufferSize: Int

    var buffer = ByteBuffer()
    var context: ChannelHandlerContext?
    var association: MMSAssociation?
    var associationContext: AssociationContext?
    var peerAddress = "?"

    var pending: [UInt32: EventLoopPromise<ConfirmedServiceResponse>] = [:]
    var waiting = CircularBuffer<(ConfirmedServiceRequest, EventLoopPromise<ConfirmedServiceResponse>)>()
    var nextInvokeID: UInt32 = 1
    /// Invoke IDs whose callers gave up; their late answers are dropped quietly.
    var cancelled: Set<UInt32> = []
    var concludePromise: EventLoopPromise<Void>?
    var establishPromise: EventLoopPromise<MMSAssociation>?
    let closedPromise: EventLoopPromise<Void>
    var associateTimer: Scheduled<Void>?
    var partialTimer: Scheduled<Void>?
    var ended = false

    /// Told when the association is established (with it) and when it ends (with nil).
    var registry: (@Sendable (UInt64, MMSAssociation?) -> Void)?

    let reports: AsyncStream<InformationReport>
    let reportContinuation: AsyncStream<InformationReport>.Continuation

    init(role: MMSConnectionStateMachine.Role, configuration: MMSConnectionStateMachine.Configuration,
         device: (any VirtualManufacturingDevice)?, timeouts: MMSTimeouts, associationID: UInt64,
         reportBufferSize: Int, logger: Logger, eventLoop: any EventLoop) {
        self.machine = MMSConnectionStateMachine(role: role, configuration: configuration)
        self.device = device
        self.timeouts = timeouts
        self.associationID = associationID
        self.reportBufferSize = reportBufferSize
        self.logger = logger
        self.closedPromise = eventLoop.makePromise()
        (reports, reportContinuation) = AsyncStream.makeStream(of: InformationReport.self, bufferingPolicy: .bufferingOldest(reportBufferSize))
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { becameActive(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        becameActive(context)
        context.fireChannelActive()
    }

    var activated = false
    func becameActive(_ context: ChannelHandlerContext) {
        guard !activated else { return }
        activated = true
        peerAddress = context.channel.remoteAddress.map { "\($0)" } ?? "?"
        logger[metadataKey: "peer"] = "\(peerAddress)"
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        associateTimer = context.eventLoop.scheduleTask(in: timeouts.associate) {
            let h = bound.value
            guard h.association == nil else { return }
            h.logger.warning("association not established in time; closing")
            h.perform(h.machine.abort(reason: "association not established within \(h.timeouts.associate)"))
        }
        perform(machine.start())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        while buffer.readableBytes >= TPKT.headerLength, !machine.isClosed {
            let header = buffer.getBytes(at: buffer.readerIndex, length: TPKT.headerLength)!
            let length: Int
            do {
                length = try TPKT.frameLength(header: header) ?? 0
            } catch {
                logger.warning("bad TPKT header: \(error); closing")
                perform(machine.abort(reason: "\(error)"))
                return
            }
            guard buffer.readableBytes >= length else { break }
            buffer.moveReaderIndex(forwardBy: TPKT.headerLength)
            let payload = buffer.readBytes(length: length - TPKT.headerLength)!
            perform(machine.received(tpdu: payload))
        }
        buffer.discardReadBytes()
        armPartialTimer(context)
    }

    /// Drops a peer that leaves half a PDU hanging.
    func armPartialTimer(_ context: ChannelHandlerContext) {
        let partial = buffer.readableBytes > 0 || machine.hasPartialTSDU
        if !partial {
            partialTimer?.cancel()
            partialTimer = nil
        } else if partialTimer == nil {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            partialTimer = context.eventLoop.scheduleTask(in: timeouts.partialPDU) {
                let h = bound.value
                h.partialTimer = nil
                guard h.buffer.readableBytes > 0 || h.machine.hasPartialTSDU else { return }
                h.logger.warning("incomplete PDU for \(h.timeouts.partialPDU); closing")
                h.perform(h.machine.abort(reason: "incomplete PDU"))
            }
        }
    }

    /// Backpressure: while our answers pile up unread (the peer does not read its socket), stop
    /// reading its requests, so that one association cannot make us buffer without bound.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        if !writable { logger.notice("peer is not reading; pausing its requests") }
        context.channel.setOption(ChannelOptions.autoRead, value: writable).whenFailure { _ in }
        if writable { context.read() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(machine.connectionClosed())
        finish(error: .closed("connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("connection error: \(error)")
        perform(machine.abort(reason: "\(error)"))
        context.close(promise: nil)
    }

    // MARK: Actions

    func perform(_ actions: [MMSConnectionStateMachine.Action]) {
        guard let context else { return }
        var wrote = false
        for action in actions {
            switch action {
            case .write(let bytes):
                context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
                wrote = true
            case .requestAcceptance(var request):
                request.peerAddress = peerAddress
                decide(request, context)
            case .associated(let info):
                associated(info, context)
            case .deliver(let pdu):
                deliver(pdu, context)
            case .concluded:
                concludePromise?.succeed(())
                concludePromise = nil
            case .warning(let message):
                logger.warning("\(message)")
            case .close(let reason, let error):
                if wrote { context.flush(); wrote = false }
                if let error, case .protocolError = error {
                    logger.warning("closing: \(reason)")
                } else {
                    logger.debug("closing: \(reason)")
                }
                finish(error: error ?? .closed(reason))
                context.close(promise: nil)
            }
        }
        if wrote { context.flush() }
    }

    func decide(_ request: AssociationRequest, _ context: ChannelHandlerContext) {
        guard let device else {
            perform(machine.accept(.accept))
            return
        }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        Task {
            let decision = await device.accept(request)
            loopBound.eventLoop.execute {
                let handler = loopBound.value
                if case .reject(let diagnostic) = decision {
                    handler.logger.notice("association refused", metadata: [
                        "callingAPTitle": "\(request.callingAPTitle.map { "\($0)" } ?? "-")",
                        "callingAEQualifier": "\(request.callingAEQualifier.map { "\($0)" } ?? "-")",
                        "diagnostic": "\(diagnostic)",
                    ])
                }
                handler.perform(handler.machine.accept(decision))
            }
        }
    }

    func associated(_ info: AssociationInfo, _ context: ChannelHandlerContext) {
        associateTimer?.cancel()
        let ctx = AssociationContext(id: associationID, info: info)
        associationContext = ctx
        let a = MMSAssociation(handler: NIOLoopBound(self, eventLoop: context.eventLoop), channel: context.channel, context: ctx,
                               remoteAddress: peerAddress, reports: reports, closed: closedPromise.futureResult)
        association = a
        logger.info("association established", metadata: [
            "peerAPTitle": "\(info.peerAPTitle.map { "\($0)" } ?? "-")",
            "peerAEQualifier": "\(info.peerAEQualifier.map { "\($0)" } ?? "-")",
            "maxPDUSize": "\(info.parameters.maxPDUSize)",
        ])
        establishPromise?.succeed(a)
        establishPromise = nil
        registry?(associationID, a)
        if let device {
            Task { await device.associationEstablished(ctx) }
        }
    }

    func deliver(_ pdu: MMSPDU, _ context: ChannelHandlerContext) {
        switch pdu {
        case .confirmedRequest(let id, let service):
            serve(id, service, context)
        case .confirmedResponse(let id, let response):
            guard let p = pending.removeValue(forKey: id) else {
                if cancelled.remove(id) == nil { logger.warning("response to unknown invoke ID \(id)") }
                return
            }
            p.succeed(response)
            admitWaiting()
        case .confirmedError(let id, let error):
            pending.removeValue(forKey: id)?.fail(MMSAssociationError.serviceError(error))
            admitWaiting()
        case .reject(let r):
            logger.warning("peer rejected a PDU: \(r.pduType) reason \(r.reason)")
            if let id = r.originalInvokeID, let p = pending.removeValue(forKey: id) {
                p.fail(MMSAssociationError.rejectedByPeer(r))
                admitWaiting()
            }
        case .unconfirmed(.informationReport(let report)):
            if case .dropped = reportContinuation.yield(report) {
                logger.error("informationReport dropped: the report buffer of \(reportBufferSize) is full (nobody reads `informationReports`)")
            }
            if let device, let ctx = associationContext {
                Task { await device.received(report, for: ctx) }
            }
        case .concludeError(let e):
            concludePromise?.fail(MMSAssociationError.serviceError(e))
            concludePromise = nil
        default:
            logger.debug("ignored \(pdu.kindName)")
        }
    }

    func serve(_ id: UInt32, _ service: ConfirmedServiceRequest, _ context: ChannelHandlerContext) {
        guard let device, let ctx = associationContext else {
            respond(id, .reject(1))
            return
        }
        let maxPDU = machine.parameters?.maxPDUSize ?? 65_000
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        Task {
            let result = await VMDDispatcher.serve(service, invokeID: id, device: device, association: ctx, maxPDUSize: maxPDU)
            loopBound.eventLoop.execute { loopBound.value.respond(id, result) }
        }
    }

    func respond(_ id: UInt32, _ result: ConfirmedServiceResult) {
        let pdu: MMSPDU
        switch result {
        case .response(let r): pdu = .confirmedResponse(invokeID: id, r)
        case .error(let e): pdu = .confirmedError(invokeID: id, e)
        case .reject(let reason): pdu = .reject(RejectPDU(originalInvokeID: id, pduType: .confirmedRequest, reason: reason))
        case .encodedResponse(let bytes):
            do {
                perform(try machine.sendEncoded(bytes, answering: id))
                return
            } catch {
                pdu = .confirmedError(invokeID: id, ServiceError(.service, 3, additionalDescription: "response of \(bytes.count) octets exceeds the negotiated PDU size"))
            }
        }
        do {
            perform(try machine.send(pdu))
        } catch MMSAssociationError.pduTooLarge(let size, let limit) {
            logger.warning("response \(id) of \(size) octets exceeds the negotiated \(limit); answering pdu-size")
            perform((try? machine.send(.confirmedError(invokeID: id, ServiceError(.service, 3, additionalDescription: "response of \(size) octets exceeds \(limit)")))) ?? [])
        } catch {
            logger.debug("response \(id) not sent: \(error)")
        }
    }

    // MARK: Requests we issue

    func sendRequest(_ service: ConfirmedServiceRequest, promise: EventLoopPromise<ConfirmedServiceResponse>) {
        guard machine.isAssociated else {
            promise.fail(MMSAssociationError.notAssociated)
            return
        }
        let limit = machine.parameters?.issuedConcurrently(asCalled: machine.role == .called) ?? 1
        if pending.count >= limit {
            waiting.append((service, promise))
            return
        }
        let id = nextInvokeID
        nextInvokeID = nextInvokeID == UInt32.max ? 1 : nextInvokeID + 1
        do {
            let actions = try machine.send(.confirmedRequest(invokeID: id, service))
            pending[id] = promise
            if let context {
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                let timeout = context.eventLoop.scheduleTask(in: timeouts.request) {
                    let h = bound.value
                    guard let p = h.pending.removeValue(forKey: id) else { return }
                    p.fail(MMSAssociationError.timeout)
                    h.admitWaiting()
                }
                promise.futureResult.whenComplete { _ in timeout.cancel() }
            }
            perform(actions)
        } catch {
            promise.fail(error)
        }
    }

    /// The caller gave up waiting (task cancelled).
    func cancel(_ promise: EventLoopPromise<ConfirmedServiceResponse>) {
        if let id = pending.first(where: { $0.value.futureResult === promise.futureResult })?.key {
            pending[id] = nil
            cancelled.insert(id)
        } else if let i = waiting.firstIndex(where: { $0.1.futureResult === promise.futureResult }) {
            waiting.remove(at: i)
        }
        promise.fail(CancellationError())
        admitWaiting()
    }

    func admitWaiting() {
        let limit = machine.parameters?.issuedConcurrently(asCalled: machine.role == .called) ?? 1
        while pending.count < limit, let (service, promise) = waiting.popFirst() {
            sendRequest(service, promise: promise)
        }
    }

    func sendUnconfirmed(_ pdu: MMSPDU) throws {
        perform(try machine.send(pdu))
    }

    func conclude(promise: EventLoopPromise<Void>) {
        do {
            let actions = try machine.conclude()
            concludePromise = promise
            perform(actions)
        } catch {
            promise.fail(error)
        }
    }

    func abort() {
        perform(machine.abort(reason: "aborted by the user"))
    }

    // MARK: End

    func finish(error: MMSAssociationError) {
        guard !ended else { return }
        ended = true
        associateTimer?.cancel()
        partialTimer?.cancel()
        for (_, p) in pending { p.fail(error) }
        pending = [:]
        while let (_, p) = waiting.popFirst() { p.fail(error) }
        concludePromise?.fail(error)
        concludePromise = nil
        establishPromise?.fail(error)
        establishPromise = nil
        reportContinuation.finish()
        closedPromise.succeed(())
        if association != nil { registry?(associationID, nil) }
        if let device, let ctx = associationContext {
            logger.info("association ended: \(error)")
            Task { await device.associationEnded(ctx) }
        }
    }
}
