import BER
import MMS
import Synchronization

/// What a data-set member is when a report is built: resolved once, when its transfer set is
/// enabled, so reports never look names up.
enum ReportMember: Hashable, Sendable {
    case point(Int32)
    case tag(Int32)
    case special(TransferSetSpecial)
    /// A member that no longer resolves: reported as object-non-existent.
    case missing
}

/// A transfer set this association enabled, as its reports need it.
struct EnabledTransferSet: Sendable {
    let key: TransferSetKey
    let name: String
    let dataSet: ObjectName
    let members: [ObjectName]
    let sources: [ReportMember]
    /// The change set watching its members (for RBE and ObjectChange), if any.
    let changeSet: Int32?
    let settings: DSTransferSet
    /// What a listOfVariable report of it needs, computed once at enable.
    let layout: ReportLayout
}

/// A transfer set's listOfVariable report, prepared when it is enabled: each member's entry
/// encoded once (a report by exception copies the bytes instead of building names), where the
/// transfer-set variables stand, and an upper bound of each member's encoded size, so that a
/// report is cut to fit the partner's PDU before it is encoded, and encoded once.
struct ReportLayout: Sendable {
    /// Concatenated listOfVariable entries; member i is `names[ends[i-1]..<ends[i]]`.
    let names: [UInt8]
    let ends: [Int32]
    /// Member index and variable of each transfer-set variable, in libtase2's report order.
    let specials: [(member: Int, special: TransferSetSpecial)]
    /// Upper bound of member i's entry plus its value, in octets.
    let bounds: [Int32]

    func name(_ i: Int) -> ArraySlice<UInt8> { names[(i == 0 ? 0 : Int(ends[i - 1]))..<Int(ends[i])] }
}

/// One partner's association, made by the accept decision: its bilateral table (nil in open
/// mode), its association-scope data sets, the transfer sets it enabled with their schedule, and
/// whether it takes information messages. It has its own lock; the association's end frees
/// everything it holds (`VirtualControlCentre.associationEnded`), and its report loop stops.
public final class PartnerSession: Sendable {
    /// The VCC's own number for the session (transfer-set reservations are held by it).
    public let id: UInt64
    public let table: BilateralTable?
    /// The largest MMS PDU the partner accepts (the negotiated size, known when it is accepted).
    public let maxPDUSize: Int
    /// The partner's AP-title, for logs and events.
    public let partner: String

    /// A data set of points this partner read: its members resolved once (rights are fixed
    /// per session, point names per VCC), so reading it again resolves no names.
    struct ReadPlan: Sendable {
        let members: [ObjectName]
        let points: [Int]
        /// `DataSets.generation` when made, for a VCC- or ICC-scope list (nil for the
        /// partner's own association-scope lists, which are looked up each time).
        let generation: UInt64?
    }

    struct State: Sendable {
        var aaLists: [String: DataSet] = [:]
        var readPlans: [ObjectName: ReadPlan] = [:]
        var imEnabled = false
        var engine = TransferSetEngine()
        var enabled: [TransferSetKey: EnabledTransferSet] = [:]
        var ended = false
        var association: UInt64?
        /// Whoever waits for something to do (the report loop).
        var waiter: CheckedContinuation<Void, Never>?
        var woken = false
        /// Everything the session held is freed; who waits for that (tools and tests).
        var released = false
        var endWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let state = Mutex(State())
    let sent = Atomic<Int>(0)

    /// Reports sent to this partner so far (for status views and tests).
    public var reportsSent: Int { sent.load(ordering: .relaxed) }

    init(id: UInt64, table: BilateralTable?, maxPDUSize: Int, partner: String) {
        self.id = id
        self.table = table
        self.maxPDUSize = maxPDUSize
        self.partner = partner
    }

    /// The ICC this partner uses (nil in open mode: every ICC).
    public var icc: String? { table?.icc }
    public var tableID: String? { table?.id }

    var isEnded: Bool { state.withLock { $0.ended } }
    var imEnabled: Bool { state.withLock { $0.imEnabled } }

    /// Wakes the report loop (a change, an enable, a request, the end).
    func wake() {
        let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
            // Nobody waits: the next wait returns at once.
            guard let w = s.waiter else {
                s.woken = true
                return nil
            }
            s.waiter = nil
            return w
        }
        w?.resume()
    }

    /// Waits until `wake()` (at once if it was called since the last wait).
    func waitForWake() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.woken || s.ended {
                    s.woken = false
                    return true
                }
                s.waiter = c
                return false
            }
            if now { c.resume() }
        }
    }

    /// Returns once the session has ended (its association is gone and everything it held freed).
    public func waitUntilEnded() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.released { return true }
                s.endWaiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    func end() -> [EnabledTransferSet] {
        let (w, enabled) = state.withLock { s -> (CheckedContinuation<Void, Never>?, [EnabledTransferSet]) in
            s.ended = true
            let e = Array(s.enabled.values)
            s.enabled = [:]
            s.engine = TransferSetEngine()
            s.aaLists = [:]
            s.imEnabled = false
            defer { s.waiter = nil }
            return (s.waiter, e)
        }
        w?.resume()
        return enabled
    }

    /// The VCC freed what the session held: `waitUntilEnded` returns.
    func released() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.released = true
            defer { s.endWaiters = [] }
            return s.endWaiters
        }
        for w in waiters { w.resume() }
    }
}
