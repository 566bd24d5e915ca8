import BER
import MMS
import NIOCore
import OSI
import Synchronization

/// An established MMS association, from either side. Both roles may issue requests on it
/// (ICCP partners do), send informationReports, and read the ones that arrive.
public final class MMSAssociation: Sendable {
    let handler: NIOLoopBound<MMSChannelHandler>
    let channel: any Channel
    public let context: AssociationContext
    /// How PDUs are framed for this association: encode reports and answers straight into the
    /// buffer that is written (`Framing.frame`), from any thread.
    public let framing: Framing
    /// The peer's socket address, for logs.
    public let remoteAddress: String
    let reports: ReportStream
    let closed: EventLoopFuture<Void>
    /// Bounds on what the peer's answers may make us hold.
    public let limits: MMSClientLimits
    static let requestIDs = Atomic<UInt64>(1)
    /// Size of the last answer to a Read of a named variable list: the next one is encoded into a
    /// buffer that large (a list read again is the common case), not grown from 1 kB by copies.
    let listAnswerSize = Atomic<Int>(0)

    init(handler: NIOLoopBound<MMSChannelHandler>, channel: any Channel, context: AssociationContext, framing: Framing,
         remoteAddress: String, reports: ReportStream, closed: EventLoopFuture<Void>, limits: MMSClientLimits) {
        self.limits = limits
        self.handler = handler
        self.channel = channel
        self.context = context
        self.framing = framing
        self.remoteAddress = remoteAddress
        self.reports = reports
        self.closed = closed
    }

    public var info: AssociationInfo { context.info }
    public var parameters: NegotiatedParameters { context.info.parameters }
    public var isOpen: Bool { channel.isActive }
    /// The allocator of this connection, for frames encoded by the caller.
    public var allocator: ByteBufferAllocator { channel.allocator }

    /// informationReports from the peer, in arrival order; finishes when the association ends.
    /// Bounded in bytes (`MMSClient.Configuration.reportBufferBytes`): past it, reports are
    /// dropped and counted (`informationReports.droppedCount`), never buffered without bound.
    public var informationReports: ReportStream {
        reports.enabled.store(true, ordering: .relaxed)
        return reports
    }

    // MARK: Generic requests

    /// Sends one confirmed request and waits for its answer. Requests beyond the negotiated
    /// number outstanding wait their turn (their time-out runs from now); a peer's error,
    /// reject, malformed or mismatched answer is thrown.
    public func request(_ service: ConfirmedServiceRequest) async throws -> ConfirmedServiceResponse {
        let id = Self.nextRequestID()
        let handler = self.handler
        return try await withTaskCancellationHandler {
            try await send(service, id: id).get()
        } onCancel: {
            // The answer, if it still comes, is dropped; the slot is freed at once.
            handler.eventLoop.execute { handler.value.cancel(id) }
        }
    }

    /// The event loop this association's channel runs on: `submit` called from it sends at once.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Sends one confirmed request and returns its answer as a future, completed on `eventLoop`.
    /// For code that already runs on the loop (a NIO pipeline, a gateway, a load generator):
    /// called there, the request goes out without a thread hop, and a request made in the
    /// callback of an answer leaves with the other answers of the same read, in one write.
    /// `request(_:)` costs two hops per call instead (to the loop and back to the caller's task).
    public func submit(_ service: ConfirmedServiceRequest) -> EventLoopFuture<ConfirmedServiceResponse> {
        send(service, id: Self.nextRequestID())
    }

    static func nextRequestID() -> RequestID { RequestID(requestIDs.add(1, ordering: .relaxed).newValue) }

    /// Hands request `id` to the association: at once on the event loop, else through it.
    func send(_ service: ConfirmedServiceRequest, id: RequestID) -> EventLoopFuture<ConfirmedServiceResponse> {
        let promise = channel.eventLoop.makePromise(of: ConfirmedServiceResponse.self)
        if handler.eventLoop.inEventLoop {
            handler.value.sendRequest(service, id: id, promise: promise)
        } else {
            let handler = self.handler
            handler.eventLoop.execute { handler.value.sendRequest(service, id: id, promise: promise) }
        }
        return promise.futureResult
    }

    /// Sends `services` in this order, pipelined (up to the negotiated outstanding limit, the
    /// rest queued in order), and returns each one's result. The peer serves them in order too,
    /// so a Write followed by a Read reads what was written.
    public func requests(_ services: [ConfirmedServiceRequest]) async -> [Result<ConfirmedServiceResponse, any Error>] {
        let calls = services.map { (Self.nextRequestID(), $0, channel.eventLoop.makePromise(of: ConfirmedServiceResponse.self)) }
        let handler = self.handler
        return await withTaskCancellationHandler {
            handler.eventLoop.execute { for (id, s, p) in calls { handler.value.sendRequest(s, id: id, promise: p) } }
            var out: [Result<ConfirmedServiceResponse, any Error>] = []
            for (_, _, p) in calls {
                do { out.append(.success(try await p.futureResult.get())) } catch { out.append(.failure(error)) }
            }
            return out
        } onCancel: {
            handler.eventLoop.execute { for (id, _, _) in calls { handler.value.cancel(id) } }
        }
    }

    func expect<T>(_ service: ConfirmedServiceRequest, _ pick: (ConfirmedServiceResponse) -> T?) async throws -> T {
        let r = try await request(service)
        guard let v = pick(r) else { throw MMSAssociationError.unexpectedResponse(r.serviceName) }
        return v
    }

    // MARK: Unconfirmed

    /// Sends an informationReport. Fails (and sends nothing) when it exceeds the negotiated PDU size.
    public func send(_ report: InformationReport) async throws {
        try await send(frame: try framing.frame(capacity: 512, allocator: allocator) {
            MMSPDU.unconfirmed(.informationReport(report)).prepend(to: &$0)
        })
    }

    /// Sends an unconfirmed PDU the caller framed (`framing.frame`), e.g. a report encoded
    /// straight from point storage.
    public func send(frame: ByteBuffer) async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        handler.eventLoop.execute {
            do {
                try handler.value.sendUnconfirmed(frame)
                promise.succeed(())
            } catch {
                promise.fail(error)
            }
        }
        try await promise.futureResult.get()
    }

    /// Sends an unconfirmed PDU the caller encoded as bytes (one copy into the frame).
    public func send(encodedUnconfirmedPDU mms: [UInt8]) async throws {
        try await send(frame: try framing.frame(capacity: mms.count, allocator: allocator) { $0.prepend(mms) })
    }

    /// True when the connection can take more data now (for report flow control).
    public var isWritable: Bool { channel.isWritable }

    /// Returns when the connection can take more data (at once if it can), or has ended.
    public func waitUntilWritable() async {
        let handler = self.handler
        await withCheckedContinuation { c in handler.eventLoop.execute { handler.value.waitUntilWritable(c) } }
    }

    // MARK: Ending

    /// MMS conclude (once nothing is outstanding), then ACSE release; returns when the peer has
    /// confirmed both, or throws when it does not within `MMSTimeouts.release` each.
    public func conclude() async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        handler.eventLoop.execute { handler.value.conclude(promise: promise) }
        do {
            try await promise.futureResult.get()
        } catch MMSAssociationError.serviceError(let e) {
            // The peer refused the conclude: the association goes on.
            throw MMSAssociationError.serviceError(e)
        } catch {
            await waitUntilClosed()
            throw error
        }
        try? await channel.closeFuture.get()
    }

    /// Aborts the association (session AB with ACSE ABRT) and closes the connection.
    public func abort() async {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.abort() }
        try? await closed.get()
        try? await channel.closeFuture.get()
    }

    /// Starts an abort without waiting for it (from a cancellation handler, which cannot await).
    public func requestAbort(reason: String = "aborted by the user") {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.abort(reason: reason) }
    }

    /// Returns when the association has ended, however it ended.
    /// Runs `body` on the association's channel, on its event loop: what the transport below
    /// MMS knows (a TLS handler's version and peer certificate, `TASE2TLS.session`). nil once the
    /// channel is gone.
    public func transport<T: Sendable>(_ body: @escaping @Sendable (any Channel) -> T) async -> T? {
        let channel = self.channel
        return try? await channel.eventLoop.submit { body(channel) }.get()
    }

    public func waitUntilClosed() async {
        try? await closed.get()
        try? await channel.closeFuture.get()
    }
}
