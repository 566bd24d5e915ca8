import BER
import Logging
import MMS
@testable import MMSNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import OSI
import Testing

/// The channel handler on an `EmbeddedChannel`: it only carries bytes, calls and timers to the
/// state machine and performs its actions. A called state machine plays the peer.
@Suite("MMS channel handler")
struct ChannelHandlerTests {
    /// A calling handler on an embedded channel, associated with an in-memory peer.
    final class Harness {
        let channel = EmbeddedChannel()
        let handler: MMSChannelHandler
        var peer: SM
        var peerEvents: [SM.Action] = []

        /// `limits`: both sides'.
        init(timeouts: MMSTimeouts = MMSTimeouts(), limits: MMSLimits = MMSLimits()) throws {
            var logger = Logger(label: "test.handler")
            logger.logLevel = .critical
            peer = SM(role: .called, configuration: .init(local: calledAddress, limits: limits))
            handler = MMSChannelHandler(role: .calling, configuration: .init(local: callingAddress, remote: calledAddress, limits: limits, timeouts: timeouts),
                                        associationID: 1, limits: MMSClientLimits(), servesModel: false, logger: logger,
                                        eventLoop: channel.embeddedEventLoop)
            try channel.pipeline.syncOperations.addHandler(handler)
            _ = peer.connected(now: channel.embeddedEventLoop.now)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 102)).wait()
            try exchange()
        }

        /// Sends an Identify as request `id` and carries it to the peer.
        func sendIdentify(_ id: UInt64) throws -> EventLoopPromise<ConfirmedServiceResponse> {
            let promise = channel.eventLoop.makePromise(of: ConfirmedServiceResponse.self)
            handler.sendRequest(.identify, id: RequestID(id), promise: promise)
            try exchange()
            return promise
        }

        /// Sends an Identify whose answer's callback runs `then` (requests made there leave
        /// while the answer's read is handled), answers it, and returns what that read wrote.
        func writtenInAnswerCallback(_ then: @escaping @Sendable (MMSAssociation) -> Void) throws -> [ByteBuffer] {
            let association = try handler.establishPromise.futureResult.wait()
            association.submit(.identify).whenSuccess { _ in then(association) }
            try exchange()
            return try answerFirstIdentify()
        }

        /// Answers the first Identify the peer was asked, in one read, and returns what the
        /// handler wrote during that read (the buffers as they were written).
        func answerFirstIdentify() throws -> [ByteBuffer] {
            let id = try #require(peerEvents.compactMap { if case .serve(let id, .identify) = $0 { id } else { nil } }.first)
            let answer = IdentifyResponse(vendorName: "peer", modelName: "m", revision: "1")
            let frame = try #require(peer.framing).frame(.confirmedResponse(invokeID: id, .identify(answer)))
            try channel.writeInbound(try #require(written(peer.respond(invokeID: id, frame: frame, now: channel.embeddedEventLoop.now))))
            var buffers: [ByteBuffer] = []
            while let b = try channel.readOutbound(as: ByteBuffer.self) { buffers.append(b) }
            return buffers
        }

        /// The requests the peer is asked in `buffers`, in wire order.
        func served(_ buffers: [ByteBuffer]) -> [(UInt32, ConfirmedServiceRequest)] {
            var all = channel.allocator.buffer(capacity: buffers.reduce(0) { $0 + $1.readableBytes })
            for var b in buffers { all.writeBuffer(&b) }
            return feed(&peer, all, now: channel.embeddedEventLoop.now).compactMap { if case .serve(let id, let r) = $0 { (id, r) } else { nil } }
        }

        /// Moves bytes both ways until neither side writes.
        func exchange() throws {
            while let out = try channel.readOutbound(as: ByteBuffer.self) {
                for a in feed(&peer, out, now: channel.embeddedEventLoop.now) {
                    var action = a
                    if case .requestAcceptance = a { action = peer.accept(.accept, now: channel.embeddedEventLoop.now) }
                    if let w = written(action) { try channel.writeInbound(w) }
                    if case .write = action {} else { peerEvents.append(action) }
                }
            }
        }
    }

    @Test func associatesRequestsAndIsAnswered() throws {
        let h = try Harness()
        let association = try h.handler.establishPromise.futureResult.wait()
        #expect(association.framing.maxPDUSize == 65_000)
        #expect(h.peer.isAssociated)
        let promise = h.channel.eventLoop.makePromise(of: ConfirmedServiceResponse.self)
        h.handler.sendRequest(.identify, id: RequestID(1), promise: promise)
        try h.exchange()
        #expect(h.peerEvents.last == .serve(invokeID: 1, .identify))
        let answer = IdentifyResponse(vendorName: "peer", modelName: "m", revision: "1")
        let frame = try #require(h.peer.framing).frame(.confirmedResponse(invokeID: 1, .identify(answer)))
        if let w = written(h.peer.respond(invokeID: 1, frame: frame, now: h.channel.embeddedEventLoop.now)) { try h.channel.writeInbound(w) }
        #expect(try promise.futureResult.wait() == .identify(answer))
        _ = try h.channel.finish(acceptAlreadyClosed: true)
    }

    /// `submit` on the event loop sends at once (no task hop); requests made in the callbacks
    /// of answers that arrive in one read leave together, gathered into one buffer, with one
    /// flush after the read.
    @Test func requestsSubmittedInAnswerCallbacksLeaveWithOneFlush() throws {
        let h = try Harness()
        let association = try h.handler.establishPromise.futureResult.wait()
        let flushes = FlushCounter()
        try h.channel.pipeline.syncOperations.addHandler(flushes, position: .first)
        let followUps = NIOLockedValueBox<[EventLoopFuture<ConfirmedServiceResponse>]>([])
        for _ in 0..<2 {
            association.submit(.identify).whenSuccess { _ in
                followUps.withLockedValue { $0.append(association.submit(.identify)) }
            }
        }
        #expect(flushes.count == 2)
        try h.exchange()
        let first = h.peerEvents.compactMap { if case .serve(let id, .identify) = $0 { id } else { nil } }
        #expect(first.count == 2)
        // Both answers in one read.
        let answer = IdentifyResponse(vendorName: "peer", modelName: "m", revision: "1")
        var both = h.channel.allocator.buffer(capacity: 256)
        for id in first {
            let frame = try #require(h.peer.framing).frame(.confirmedResponse(invokeID: id, .identify(answer)))
            var w = try #require(written(h.peer.respond(invokeID: id, frame: frame, now: h.channel.embeddedEventLoop.now)))
            both.writeBuffer(&w)
        }
        try h.channel.writeInbound(both)
        #expect(followUps.withLockedValue { $0.count } == 2)
        #expect(flushes.count == 3)
        // Gathered: one buffer holds both requests.
        let out = try #require(try h.channel.readOutbound(as: ByteBuffer.self))
        #expect(try h.channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try pdus(out).count == 2)
        let served = feed(&h.peer, out, now: h.channel.embeddedEventLoop.now)
        #expect(served.filter { if case .serve(_, .identify) = $0 { true } else { false } }.count == 2)
        _ = try h.channel.finish(acceptAlreadyClosed: true)
    }

    /// A frame too large to gather (over 2 kB) is written as it is, after the small ones
    /// gathered before it and before those after it: the wire keeps the order of the calls.
    @Test func aLargeFrameKeepsItsPlaceAmongGatheredOnes() throws {
        let h = try Harness()
        let big = blobWrite(3000)
        let buffers = try h.writtenInAnswerCallback { a in
            _ = a.submit(.identify)
            _ = a.submit(big)
            _ = a.submit(.status(extendedDerivation: false))
        }
        #expect(buffers.count == 3)
        #expect(buffers.count == 3 && buffers[1].readableBytes > 3000)
        let services = h.served(buffers).map { (_, r) -> String in
            switch r {
            case .identify: "identify"
            case .write: "write"
            case .status: "status"
            default: "other"
            }
        }
        #expect(services == ["identify", "write", "status"])
        _ = try h.channel.finish(acceptAlreadyClosed: true)
    }

    /// Gathering is bounded: frames past 16 kB start a new buffer, in order. With a window of
    /// 20, each half (10 frames of 1.8 kB, 18 kB) passes 16 kB: 8 frames, then the other 2.
    @Test func gatheringStopsAtSixteenKilobytes() throws {
        let h = try Harness(limits: MMSLimits(maxServOutstandingCalled: 20, maxServOutstandingCalling: 20))
        let write = blobWrite(1800)
        let buffers = try h.writtenInAnswerCallback { a in
            for _ in 0..<20 { _ = a.submit(write) }  // the negotiated 20 go out
        }
        #expect(buffers.count == 4)
        #expect(buffers.allSatisfy { $0.readableBytes <= 16384 })
        #expect(buffers.map { (try? pdus($0).count) ?? -1 } == [8, 2, 8, 2])
        let ids = h.served(buffers).compactMap { id, r -> UInt32? in if case .write = r { id } else { nil } }
        #expect(ids.count == 20)
        #expect(ids == ids.sorted())
        _ = try h.channel.finish(acceptAlreadyClosed: true)
    }

    /// A read that makes a whole window of frames flushes its first half before it makes the
    /// second: the peer works on those while we do the rest (negotiated 10: two writes of 5,
    /// two flushes). Fewer than half go out with the read's one flush.
    @Test func aFullWindowLeavesInTwoHalves() throws {
        let h = try Harness()
        let flushes = FlushCounter()
        try h.channel.pipeline.syncOperations.addHandler(flushes, position: .first)
        let buffers = try h.writtenInAnswerCallback { a in
            for _ in 0..<10 { _ = a.submit(.identify) }
        }
        #expect(buffers.map { (try? pdus($0).count) ?? -1 } == [5, 5])
        #expect(flushes.count == 1 + 2)  // the first Identify's, then this read's two
        _ = try h.channel.finish(acceptAlreadyClosed: true)
        let h2 = try Harness()
        let few = try h2.writtenInAnswerCallback { a in
            for _ in 0..<4 { _ = a.submit(.identify) }
        }
        #expect(few.map { (try? pdus($0).count) ?? -1 } == [4])
        _ = try h2.channel.finish(acceptAlreadyClosed: true)
    }

    /// The handler arms the state machine's deadline on the event loop: a request with no
    /// answer fails when the (virtual) clock reaches it, and not before.
    @Test func requestDeadlinesFireOnTheEventLoopClock() throws {
        let h = try Harness(timeouts: MMSTimeouts(request: .seconds(5)))
        _ = try h.handler.establishPromise.futureResult.wait()
        let promise = try h.sendIdentify(1)
        let failure = NIOLockedValueBox<(any Error)?>(nil)
        promise.futureResult.whenFailure { e in failure.withLockedValue { $0 = e } }
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(failure.withLockedValue { $0 } == nil)
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(failure.withLockedValue { $0 } as? MMSAssociationError == .timeout("no answer within 5 s"))
        _ = try h.channel.finish(acceptAlreadyClosed: true)
    }

    /// The timer is not moved back for a later deadline: it fires at the earlier one, finds
    /// nothing expired, and is set again. A second request sent 3 s after the first, whose
    /// answer comes, still fails at its own deadline (8 s) and not at the first one's (5 s).
    @Test func aLaterDeadlineStillFiresAfterATimerKeptEarly() throws {
        let h = try Harness(timeouts: MMSTimeouts(request: .seconds(5)))
        _ = try h.handler.establishPromise.futureResult.wait()
        let first = try h.sendIdentify(1)
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        let second = try h.sendIdentify(2)
        #expect(h.handler.timerDeadline == h.channel.embeddedEventLoop.now + .seconds(2))  // still the first's
        let answer = IdentifyResponse(vendorName: "peer", modelName: "m", revision: "1")
        let frame = try #require(h.peer.framing).frame(.confirmedResponse(invokeID: 1, .identify(answer)))
        if let w = written(h.peer.respond(invokeID: 1, frame: frame, now: h.channel.embeddedEventLoop.now)) { try h.channel.writeInbound(w) }
        #expect(try first.futureResult.wait() == .identify(answer))
        let failure = NIOLockedValueBox<(any Error)?>(nil)
        second.futureResult.whenFailure { e in failure.withLockedValue { $0 = e } }
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(2))  // t = 5 s: the kept timer fires, nothing expires
        #expect(failure.withLockedValue { $0 } == nil)
        #expect(h.handler.timerDeadline == h.channel.embeddedEventLoop.now + .seconds(3))
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(2))  // t = 7 s
        #expect(failure.withLockedValue { $0 } == nil)
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(1))  // t = 8 s
        #expect(failure.withLockedValue { $0 } as? MMSAssociationError == .timeout("no answer within 5 s"))
        _ = try h.channel.finish(acceptAlreadyClosed: true)
    }

    /// A peer that closes ends everything outstanding with a clear error, and the handler closes.
    @Test func theEndOfTheConnectionFailsWhatIsOutstanding() throws {
        let h = try Harness()
        _ = try h.handler.establishPromise.futureResult.wait()
        let promise = h.channel.eventLoop.makePromise(of: ConfirmedServiceResponse.self)
        h.handler.sendRequest(.identify, id: RequestID(1), promise: promise)
        h.channel.pipeline.fireChannelInactive()
        #expect(throws: MMSAssociationError.closed("connection closed by the peer")) { try promise.futureResult.wait() }
        #expect(h.handler.ended)
        _ = try? h.channel.finish(acceptAlreadyClosed: true)
    }

    /// A connection closed before it ever became active (evicted while being set up) never sees
    /// channelInactive: the handler still ends, so no serving loop waits on it for ever.
    @Test func aConnectionClosedBeforeItWasActiveStillEnds() throws {
        let channel = EmbeddedChannel()
        var logger = Logger(label: "test.handler")
        logger.logLevel = .critical
        let handler = MMSChannelHandler(role: .called, configuration: .init(local: calledAddress), associationID: 1,
                                        limits: MMSClientLimits(), servesModel: true, logger: logger, eventLoop: channel.embeddedEventLoop)
        let events = handler.makeEvents(eventLoop: channel.embeddedEventLoop)
        try channel.pipeline.syncOperations.addHandler(handler)
        #expect(!channel.isActive)
        _ = try channel.pipeline.syncOperations.removeHandler(handler).wait()
        #expect(handler.ended)
        #expect(throws: MMSAssociationError.closed("connection closed before it was set up")) { try handler.establishPromise.futureResult.wait() }
        _ = events
    }

    /// Backpressure: while the connection cannot take our writes, the handler holds reads back.
    @Test func readsAreHeldWhileTheConnectionIsNotWritable() throws {
        let h = try Harness()
        _ = try h.handler.establishPromise.futureResult.wait()
        let reads = ReadCounter()
        try h.channel.pipeline.syncOperations.addHandler(reads, position: .first)
        h.channel.isWritable = false
        h.channel.read()
        #expect(reads.count == 0 && h.handler.heldRead)
        h.channel.isWritable = true
        h.channel.pipeline.fireChannelWritabilityChanged()
        #expect(reads.count == 1 && !h.handler.heldRead)
        _ = try h.channel.finish(acceptAlreadyClosed: true)
    }

    /// Counts the reads that reach the channel.
    final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        var count = 0
        func read(context: ChannelHandlerContext) {
            count += 1
            context.read()
        }
    }
}

/// A Write of `octets` octets to `Blob`: a request frame of about that size.
func blobWrite(_ octets: Int) -> ConfirmedServiceRequest {
    .write(WriteRequest(.listOfVariable([VariableAccess(.vmdSpecific("Blob"))]), data: [.octetString([UInt8](repeating: 7, count: octets))]))
}

/// Counts the flushes that pass it (placed next to the head, it sees every one of the handler's).
final class FlushCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var count = 0
    func flush(context: ChannelHandlerContext) {
        count += 1
        context.flush()
    }
}
