import MMS
import NIOCore
import Synchronization

/// The informationReports a peer sent, for one reader, in arrival order. Bounded in bytes (the
/// reports' encoded size), not in count: a peer that floods reports nobody reads costs at most
/// `limit` octets; what does not fit is dropped and counted, never buffered.
public final class ReportStream: AsyncSequence, Sendable {
    public typealias Element = InformationReport

    struct State {
        var queue = CircularBuffer<(InformationReport, Int)>()
        var bytes = 0
        var waiter: CheckedContinuation<InformationReport?, Never>?
        var finished = false
        var dropped = 0
    }

    /// Most encoded octets of reports kept for a reader that falls behind.
    public let limit: Int
    let state = Mutex(State())
    /// Reports are kept only once someone may read them: always for a plain client, and on a
    /// served association once `informationReports` was asked for (the model gets them anyway).
    let enabled: Atomic<Bool>

    init(limit: Int, enabled: Bool = true) {
        self.limit = limit
        self.enabled = Atomic(enabled)
    }

    var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Reports dropped so far because the buffer was full.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Octets of reports waiting to be read.
    public var bufferedBytes: Int { state.withLock { $0.bytes } }

    /// Adds a report; false when it was dropped (the buffer is full, or the stream ended).
    @discardableResult
    func yield(_ report: InformationReport, size: Int) -> Bool {
        let (accepted, waiter) = state.withLock { s -> (Bool, CheckedContinuation<InformationReport?, Never>?) in
            guard !s.finished else { return (false, nil) }
            if let w = s.waiter {
                s.waiter = nil
                return (true, w)
            }
            guard s.bytes + size <= limit else {
                s.dropped += 1
                return (false, nil)
            }
            s.queue.append((report, size))
            s.bytes += size
            return (true, nil)
        }
        waiter?.resume(returning: report)
        return accepted
    }

    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<InformationReport?, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: nil)
    }

    func next() async -> InformationReport? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<InformationReport?, Never>) in
                let ready = state.withLock { s -> InformationReport?? in
                    if let (r, size) = s.queue.popFirst() {
                        s.bytes -= size
                        return .some(r)
                    }
                    if s.finished || Task.isCancelled { return .some(nil) }
                    s.waiter = c
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<InformationReport?, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ReportStream
        public mutating func next() async -> InformationReport? { await stream.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}
