import BER
import Logging
import MMS
import NIOCore
import OSI

/// What the peer asks of the model serving an association, in arrival order: the serving
/// loop (`AssociationServing`) handles one at a time, so a Write is done before the Read after it.
enum AssociationEvent: Sendable {
    /// Called role: decide whether to accept (`MMSChannelHandler.decided`).
    case decide(AssociationRequest)
    /// The association is up; nothing of the peer's is served before the model heard this.
    case established(MMSAssociation)
    case request(invokeID: UInt32, ConfirmedServiceRequest)
    case report(InformationReport)
}

typealias AssociationEventSequence = NIOAsyncSequenceProducer<
    AssociationEvent, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, AssociationEventDelegate
>

/// Resumes reading the socket when the serving loop has caught up.
struct AssociationEventDelegate: NIOAsyncSequenceProducerDelegate {
    let handler: NIOLoopBound<MMSChannelHandler>
    func produceMore() { handler.eventLoop.execute { self.handler.value.eventsWanted() } }
    func didTerminate() {}
}

/// The one handler of an MMS connection. It feeds bytes, user calls and timers into the
/// association state machine and performs the action each returns; all protocol decisions are
/// the state machine's. It lives on the channel's event loop.
final class MMSChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Pending: Sendable {
        case request(EventLoopPromise<ConfirmedServiceResponse>)
        case conclude(EventLoopPromise<Void>)
    }

    var machine: AssociationStateMachine<Pending>
    var logger: Logger
    let associationID: UInt64
    let reports: ReportStream
    let establishPromise: EventLoopPromise<MMSAssociation>
    let closedPromise: EventLoopPromise<Void>
    /// To the serving loop, when a model serves this association.
    var events: AssociationEventSequence.Source?
    /// Requests handed to the serving loop and not answered yet.
    var inServingLoop = 0
    /// Answers a Read from the model's storage here, on the event loop (set by the serving loop
    /// once the model knows the association); nil: the model does not answer it so.
    var inlineRead: (@Sendable (ReadRequest, UInt32) -> ByteBuffer?)?
    /// Told when the association is established (with it) and when it ends (with nil).
    var registry: (@Sendable (UInt64, MMSAssociation?) -> Void)?

    var context: ChannelHandlerContext?
    var association: MMSAssociation?
    /// The model's per-association object: from its accept decision, or given for an
    /// association we call.
    var session: (any AnyObject & Sendable)?
    /// Who waits for the connection to take writes again (report flow control).
    var writableWaiters: [CheckedContinuation<Void, Never>] = []
    var peerAddress = "?"
    /// Asked for the TLS peer certificate when an AARQ arrives (server side).
    var peerCertificate: (@Sendable (any Channel) -> [UInt8]?)?
    var timer: Scheduled<Void>?
    var timerDeadline: NIODeadline?
    /// A read held back: the peer's answers pile up unread, or the serving loop is behind.
    var heldRead = false
    var eventsPaused = false
    var ended = false
    /// Inside `channelRead`: writes wait for its one flush.
    var batching = false
    var unflushed = false
    /// Small frames of this read, gathered for its one write (`emit`).
    var gathered: ByteBuffer?
    static let gatherFrameLimit = 2048
    static let gatherBufferLimit = 16384
    /// Frames written in this read so far, and how many go out before the rest of the read is
    /// handled: half the negotiated window (`associated`). A peer pipelining to the limit then
    /// works on the first half of its answers while we make the second, instead of the two
    /// sides taking turns with the whole window; it costs one more write per full window.
    var framesThisRead = 0
    var framesPerEarlyFlush = Int.max

    let limits: MMSClientLimits

    /// `servesModel`: a serving loop will take the peer's requests (`makeEvents`); reports are
    /// then buffered for `informationReports` only once someone asks for them.
    init(role: AssociationStateMachine<Pending>.Role, configuration: AssociationStateMachine<Pending>.Configuration,
         associationID: UInt64, limits: MMSClientLimits, servesModel: Bool, logger: Logger, eventLoop: any EventLoop) {
        var configuration = configuration
        configuration.servesRequests = servesModel
        machine = AssociationStateMachine(role: role, configuration: configuration, allocator: ByteBufferAllocator())
        self.associationID = associationID
        self.logger = logger
        self.limits = limits
        reports = ReportStream(limit: limits.reportBufferBytes, enabled: !servesModel)
        establishPromise = eventLoop.makePromise()
        closedPromise = eventLoop.makePromise()
    }

    /// Creates the event sequence for a serving loop (before the handler is added).
    func makeEvents(eventLoop: any EventLoop) -> AssociationEventSequence {
        let made = NIOAsyncSequenceProducer.makeSequence(
            elementType: AssociationEvent.self,
            backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 4, highWatermark: 32),
            finishOnDeinit: true,
            delegate: AssociationEventDelegate(handler: NIOLoopBound(self, eventLoop: eventLoop)))
        events = made.source
        return made.sequence
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { becameActive(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        // A connection closed before it became active (evicted while being set up) never sees
        // channelInactive: whoever waits on it is still told.
        if !ended {
            if activated { perform(machine.connectionClosed()) }
            finish(error: .closed("connection closed before it was set up"))
        }
        self.context = nil
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
        perform(machine.connected(now: self.clockNow))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        machine.received(unwrapInboundIn(data))
        let now = clockNow
        // What the requests of this read produce goes out with one flush (one write system
        // call for a burst of pipelined answers, not one per answer).
        batching = true
        while let action = machine.nextInbound(now: now) { perform(action) }
        batching = false
        flushBatch(context)
        rearmTimer()
    }

    /// Writes `buffer`: flushed at once, or with the rest of the read being handled. Inside a
    /// read, small frames (pipelined answers, the requests made in answers' callbacks) are
    /// gathered into one buffer: a copy of a hundred octets costs less than a write through the
    /// pipeline for each, and the kernel gets one iovec. Larger frames are written as they are.
    /// Every `framesPerEarlyFlush` frames the read's writes so far are flushed.
    func emit(_ buffer: ByteBuffer, _ context: ChannelHandlerContext) {
        guard batching else {
            writeGathered(context)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            return
        }
        gather(buffer, context)
        framesThisRead += 1
        if framesThisRead >= framesPerEarlyFlush { flushBatch(context) }
    }

    func gather(_ buffer: ByteBuffer, _ context: ChannelHandlerContext) {
        unflushed = true
        if buffer.readableBytes <= Self.gatherFrameLimit {
            guard var g = gathered else {
                gathered = buffer
                return
            }
            if g.readableBytes + buffer.readableBytes <= Self.gatherBufferLimit {
                gathered = nil  // unique, so the append does not copy what is there
                if g.writableBytes < buffer.readableBytes {
                    // The first frame was encoded to its size: move it to room for a burst.
                    var room = context.channel.allocator.buffer(capacity: min(Self.gatherBufferLimit, 8 * (g.readableBytes + buffer.readableBytes)))
                    room.writeImmutableBuffer(g)
                    g = room
                }
                g.writeImmutableBuffer(buffer)
                gathered = g
                return
            }
            // Full: out with what is gathered, and gather anew from this frame.
            writeGathered(context)
            gathered = buffer
            return
        }
        writeGathered(context)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    /// Writes (without flushing) what `emit` gathered, before anything written after it.
    func writeGathered(_ context: ChannelHandlerContext) {
        guard let g = gathered else { return }
        gathered = nil
        context.write(wrapOutboundOut(g), promise: nil)
    }

    func flushBatch(_ context: ChannelHandlerContext) {
        framesThisRead = 0
        guard unflushed else { return }
        unflushed = false
        writeGathered(context)
        context.flush()
    }

    /// Backpressure: while our answers pile up unread (the peer does not read its socket), or the
    /// serving loop is behind, stop reading, so that no peer can make us buffer without bound.
    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable && !eventsPaused {
            context.read()
        } else {
            heldRead = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable { logger.notice("peer is not reading; pausing its requests") }
        if context.channel.isWritable { resumeWritableWaiters() }
        resumeReadingIfPossible()
        context.fireChannelWritabilityChanged()
    }

    func eventsWanted() {
        eventsPaused = false
        resumeReadingIfPossible()
    }

    func resumeReadingIfPossible() {
        guard let context, heldRead, context.channel.isWritable, !eventsPaused else { return }
        heldRead = false
        context.read()
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

    func waitUntilWritable(_ c: CheckedContinuation<Void, Never>) {
        if ended || context?.channel.isWritable != false { c.resume() } else { writableWaiters.append(c) }
    }

    func resumeWritableWaiters() {
        let w = writableWaiters
        writableWaiters = []
        for c in w { c.resume() }
    }

    // MARK: Timers

    /// The event loop's monotonic clock (virtual in `EmbeddedChannel` tests).
    var clockNow: NIODeadline { context?.eventLoop.now ?? .now() }

    func rearmTimer() {
        guard let context else { return }
        // Read in place, through a pointer: `machine.nextDeadline` on a property of a class
        // copied the whole machine (and retained all it holds) after every action, even inlined.
        let next = withUnsafeMutablePointer(to: &machine) { $0.pointee.nextDeadline }
        guard next != timerDeadline else { return }
        // A timer due no later than the next deadline stays: when it fires early, the machine
        // finds nothing expired and the timer is set again. A client with requests in flight
        // moves its deadline with every answer; this way it is not cancelled and scheduled
        // again per answer.
        if let scheduled = timerDeadline, let next, scheduled <= next { return }
        timer?.cancel()
        timerDeadline = next
        guard let next else {
            timer = nil
            return
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: next) {
            let h = bound.value
            h.timerDeadline = nil
            h.timer = nil
            h.perform(h.machine.timerFired(now: h.clockNow))
        }
    }

    // MARK: Actions

    func perform(_ action: AssociationStateMachine<Pending>.Action) {
        // Inside `channelRead` the timer is set once, after the last action of the read.
        defer { if !batching { rearmTimer() } }
        guard let context else {
            // Gone from the pipeline: nothing can be written, but whoever waits is still told
            // (a request made after the end fails at once instead of waiting for ever).
            settle(action)
            return
        }
        switch action {
        case .none:
            break
        case .write(let buffer):
            emit(buffer, context)
        case .warning(let message, let write):
            logger.warning("\(message)")
            if let write { emit(write, context) }
        case .requestAcceptance(var request):
            request.peerAddress = peerAddress
            request.peerCertificate = peerCertificate?(context.channel)
            if let events {
                deliver(.decide(request), to: events)
            } else {
                perform(machine.accept(.accept, now: self.clockNow))
            }
        case .associated(let info, let framing, let write):
            if let write { emit(write, context) }
            associated(info, framing, context)
        case .serve(let id, let request):
            if let events {
                // Only when nothing earlier is still being served: a Write before it must be done.
                if inServingLoop == 0, case .read(let q) = request, let inlineRead, let frame = inlineRead(q, id) {
                    respond(id, frame: frame)
                    return
                }
                inServingLoop += 1
                deliver(.request(invokeID: id, request), to: events)
            } else if let reject = machine.encodeAnswer(.reject(.unrecognizedService(id))) {
                perform(machine.respond(invokeID: id, frame: reject, now: self.clockNow))
            }
        case .report(let report, let size):
            if let events { deliver(.report(report), to: events) }
            if reports.isEnabled && !reports.yield(report, size: size) {
                // Once, then every 10,000th: a flood must not flood the log too.
                let dropped = reports.droppedCount
                if dropped == 1 || dropped % 10_000 == 0 {
                    logger.error("informationReports dropped: the report buffer of \(reports.limit) octets is full (nobody reads `informationReports`)",
                                 metadata: ["dropped": "\(dropped)"])
                }
            }
        case .complete(_, _, let write), .fail(_, let write), .cancelled(_, let write):
            if let write { emit(write, context) }
            settle(action)
        case .close(let closing):
            if let write = closing.write { emit(write, context) }
            if case .protocolError? = closing.error {
                logger.warning("closing: \(closing.reason)")
            } else {
                logger.debug("closing: \(closing.reason)")
            }
            settle(action)
            finish(error: closing.error ?? .closed(closing.reason))
            flushBatch(context)
            context.close(promise: nil)
        }
    }

    /// Completes the promises an action answers (its writes are the caller's).
    func settle(_ action: AssociationStateMachine<Pending>.Action) {
        switch action {
        case .complete(let pending, let result, _):
            if case .request(let p) = pending { p.completeWith(result.mapError { $0 as any Error }) }
        case .fail(let failed, _):
            for (pending, error) in failed { fail(pending, error) }
        case .cancelled(let pending, _):
            fail(pending, CancellationError())
        case .close(let closing):
            for (pending, error) in closing.failed { fail(pending, error) }
            if case .conclude(let p)? = closing.concluded { p.succeed(()) }
        default:
            break
        }
    }

    func fail(_ pending: Pending, _ error: any Error) {
        switch pending {
        case .request(let p): p.fail(error)
        case .conclude(let p): p.fail(error)
        }
    }

    /// Hands an event to the serving loop; pauses reading while it is behind.
    func deliver(_ event: AssociationEvent, to source: AssociationEventSequence.Source) {
        switch source.yield(event) {
        case .produceMore: break
        case .stopProducing: eventsPaused = true
        case .dropped: logger.debug("event dropped: the serving loop has ended")
        }
    }

    func associated(_ info: AssociationInfo, _ framing: Framing, _ context: ChannelHandlerContext) {
        let ctx = AssociationContext(id: associationID, info: info, session: session)
        let a = MMSAssociation(handler: NIOLoopBound(self, eventLoop: context.eventLoop), channel: context.channel, context: ctx,
                               framing: framing, remoteAddress: peerAddress, reports: reports, closed: closedPromise.futureResult,
                               limits: limits)
        association = a
        let window = max(info.parameters.maxServOutstandingCalling, info.parameters.maxServOutstandingCalled)
        framesPerEarlyFlush = max(2, (window + 1) / 2)
        logger.info("association established", metadata: [
            "peerAPTitle": "\(info.peerAPTitle.map { "\($0)" } ?? "-")",
            "peerAEQualifier": "\(info.peerAEQualifier.map { "\($0)" } ?? "-")",
            "maxPDUSize": "\(info.parameters.maxPDUSize)",
        ])
        if let events { deliver(.established(a), to: events) }
        establishPromise.succeed(a)
        registry?(associationID, a)
    }

    // MARK: User calls (on the event loop)

    func decided(_ decision: AssociationDecision, for request: AssociationRequest) {
        if case .acceptAs(let accepted) = decision { session = accepted.session }
        if case .reject(let diagnostic) = decision {
            logger.notice("association refused", metadata: [
                "callingAPTitle": "\(request.callingAPTitle.map { "\($0)" } ?? "-")",
                "callingAEQualifier": "\(request.callingAEQualifier.map { "\($0)" } ?? "-")",
                "diagnostic": "\(diagnostic)",
            ])
        }
        perform(machine.accept(decision, now: self.clockNow))
    }

    func sendRequest(_ service: ConfirmedServiceRequest, id: RequestID, promise: EventLoopPromise<ConfirmedServiceResponse>) {
        perform(machine.sendRequest(service, id: id, pending: .request(promise), now: self.clockNow))
    }

    func cancel(_ id: RequestID) {
        perform(machine.cancel(id, now: self.clockNow))
    }

    func respond(_ id: UInt32, frame: ByteBuffer) {
        perform(machine.respond(invokeID: id, frame: frame, now: self.clockNow))
    }

    func respondFromServingLoop(_ id: UInt32, frame: ByteBuffer) {
        inServingLoop -= 1
        respond(id, frame: frame)
    }

    func sendUnconfirmed(_ frame: ByteBuffer) throws {
        perform(try machine.sendUnconfirmed(frame))
    }

    func conclude(promise: EventLoopPromise<Void>) {
        perform(machine.conclude(.conclude(promise), now: self.clockNow))
    }

    func abort(reason: String = "aborted by the user") {
        perform(machine.abort(reason: reason))
    }

    // MARK: End

    func finish(error: MMSAssociationError) {
        guard !ended else { return }
        ended = true
        timer?.cancel()
        timer = nil
        establishPromise.fail(error)
        reports.finish()
        resumeWritableWaiters()
        events?.finish()
        events = nil
        // The server forgets the association before anyone waiting for its end hears of it.
        if association != nil {
            logger.info("association ended: \(error)")
            registry?(associationID, nil)
        }
        closedPromise.succeed(())
    }
}
