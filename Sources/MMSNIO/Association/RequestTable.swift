import MMS
import NIOCore

/// Identifies one request of ours for its whole life (queued, outstanding, answered), so the
/// caller can cancel it before it has an invoke ID.
public struct RequestID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { "#\(value)" }
}

/// What a response must look like to answer a request: the same service, and for reads and
/// writes of listed variables one result per variable.
struct ResponseExpectation: Sendable, Hashable {
    let serviceTag: UInt32
    let resultCount: Int?

    init(_ request: ConfirmedServiceRequest) {
        serviceTag = request.serviceTag
        switch request {
        case .read(let r):
            if case .listOfVariable(let l) = r.variableAccessSpecification { resultCount = l.count } else { resultCount = nil }
        case .write(let w):
            if case .listOfVariable(let l) = w.variableAccessSpecification { resultCount = l.count } else { resultCount = nil }
        default: resultCount = nil
        }
    }

    /// Why `response` does not answer the request, or nil when it does.
    func mismatch(_ response: ConfirmedServiceResponse) -> String? {
        guard response.serviceTag == serviceTag else {
            return "a \(response.serviceName) response to a \(MMSServiceNames.name(serviceTag)) request"
        }
        guard let n = resultCount else { return nil }
        let got: Int
        switch response {
        case .read(let r): got = r.results.count
        case .write(let w): got = w.count
        default: return nil
        }
        return got == n ? nil : "\(got) results for \(n) variables"
    }
}

/// Our confirmed requests on one association: those waiting for a slot (in order), those
/// outstanding at the peer by invoke ID, and a deadline for each from the moment it was queued.
struct RequestTable<Pending: Sendable>: Sendable {
    /// Encoded when queued (so a request too large for the negotiated PDU fails at once), with
    /// its invoke ID.
    struct Queued: Sendable {
        let id: RequestID
        let invokeID: UInt32
        let frame: ByteBuffer
        let expectation: ResponseExpectation
        let pending: Pending
        let deadline: NIODeadline
    }

    struct Outstanding: Sendable {
        let id: RequestID
        let expectation: ResponseExpectation
        let pending: Pending
        let deadline: NIODeadline
    }

    private(set) var waiting = CircularBuffer<Queued>()
    private var queuedIDs: Set<UInt32> = []
    private(set) var outstanding: [UInt32: Outstanding] = [:]
    private var nextInvokeID: UInt32 = 1
    /// Invoke IDs whose requests timed out or were cancelled: their late answers are dropped
    /// quietly. Bounded (oldest forgotten first).
    private var abandoned: Set<UInt32> = []
    private var abandonedOrder = CircularBuffer<UInt32>()
    static var abandonedLimit: Int { 1024 }

    var isEmpty: Bool { waiting.isEmpty && outstanding.isEmpty }

    mutating func enqueue(_ q: Queued) {
        waiting.append(q)
        queuedIDs.insert(q.invokeID)
    }

    /// The next invoke ID not in use (queued, outstanding, or awaiting a late answer).
    mutating func takeInvokeID() -> UInt32 {
        while outstanding[nextInvokeID] != nil || queuedIDs.contains(nextInvokeID) || abandoned.contains(nextInvokeID) {
            nextInvokeID = nextInvokeID == UInt32.max ? 1 : nextInvokeID + 1
        }
        defer { nextInvokeID = nextInvokeID == UInt32.max ? 1 : nextInvokeID + 1 }
        return nextInvokeID
    }

    /// The next queued request, now outstanding, when fewer than `limit` were.
    mutating func sendNext(limit: Int) -> ByteBuffer? {
        guard outstanding.count < limit, let q = waiting.popFirst() else { return nil }
        queuedIDs.remove(q.invokeID)
        outstanding[q.invokeID] = Outstanding(id: q.id, expectation: q.expectation, pending: q.pending, deadline: q.deadline)
        return q.frame
    }

    mutating func answer(_ invokeID: UInt32) -> Outstanding? { outstanding.removeValue(forKey: invokeID) }

    func isAbandoned(_ invokeID: UInt32) -> Bool { abandoned.contains(invokeID) }

    private mutating func abandon(_ invokeID: UInt32) {
        guard abandoned.insert(invokeID).inserted else { return }
        abandonedOrder.append(invokeID)
        if abandonedOrder.count > Self.abandonedLimit, let old = abandonedOrder.popFirst() { abandoned.remove(old) }
    }

    /// Removes a request, wherever it is.
    mutating func cancel(_ id: RequestID) -> Pending? {
        if let (invokeID, o) = outstanding.first(where: { $0.value.id == id }) {
            outstanding[invokeID] = nil
            abandon(invokeID)
            return o.pending
        }
        if let i = waiting.firstIndex(where: { $0.id == id }) {
            let q = waiting.remove(at: i)
            queuedIDs.remove(q.invokeID)
            return q.pending
        }
        return nil
    }

    /// Removes every request whose deadline has passed.
    mutating func expire(now: NIODeadline) -> [Pending] {
        var out: [Pending] = []
        for (invokeID, o) in outstanding where o.deadline <= now {
            outstanding[invokeID] = nil
            abandon(invokeID)
            out.append(o.pending)
        }
        // Queued in order with one timeout: the earliest deadlines are at the front.
        while let first = waiting.first, first.deadline <= now {
            queuedIDs.remove(first.invokeID)
            out.append(waiting.removeFirst().pending)
        }
        return out
    }

    /// Every request, for failing them all when the association ends.
    mutating func removeAll() -> [Pending] {
        let all = outstanding.values.map(\.pending) + waiting.map(\.pending)
        outstanding = [:]
        waiting.removeAll()
        queuedIDs = []
        return all
    }

    @inline(__always) var earliestDeadline: NIODeadline? {
        var d = waiting.first?.deadline
        for o in outstanding.values where d == nil || o.deadline < d! { d = o.deadline }
        return d
    }
}
