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
        var peer = SM(role: .called, configuration: .init(local: calledAddress))
        var peerEvents: [SM.Action] = []

        init(timeouts: MMSTimeouts = MMSTimeouts()) throws {
            var logger = Logger(label: "test.handler")
            logger.logLevel = .critical
            handler = MMSChannelHandler(role: .calling, configuration: .init(local: callingAddress, remote: calledAddress, timeouts: timeouts),
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
