import BER
import MMS
import Synchronization

/// A handle on one point, for fast updates.
public struct PointHandle: Hashable, Sendable {
    public let index: Int
    public init(index: Int) { self.index = index }
}

/// The values of every point, with their own lock, and change detection for report by
/// exception. The hosting program's updates and partners' writes take the same path, so both
/// are detected. Transfer sets register the points they watch as a `ChangeSet`; an update marks
/// the members that really changed (coalesced per member, or every change with its value for
/// AllChangesReported, bounded) and tells the owner when a change set turns dirty. Reports take
/// the changes only when they are sent, so a report held back by flow control loses nothing.
///
/// Device tags can be data-set members too: they are watched under keys past the points.
public final class PointStore: Sendable {
    public let count: Int
    public let types: [PointType]
    let writable: [Bool]
    let state: Mutex<State>

    /// A watched key: a point (`< count`) or a device tag (`count + device`).
    typealias Key = Int32

    struct Watch: Sendable {
        let changeSet: Int32
        let member: Int32
    }

    struct ChangeSet: Sendable {
        var changed: [Bool]
        var order: [Int32] = []
        /// AllChangesReported: every change with its value, oldest first; nil otherwise.
        var log: [(member: Int32, value: PointValue)]?
        let logLimit: Int
        var dropped = 0
        /// Monotonic time of the first change since the last take.
        var dirtySince: Double?
        let onDirty: @Sendable (Double) -> Void
    }

    struct State: Sendable {
        var values: [PointValue]
        var watched: [Bool]
        var watchers: [Key: [Watch]] = [:]
        var changeSets: [Int32: ChangeSet] = [:]
        var nextChangeSet: Int32 = 1
    }

    public init(types: [PointType], initial: [PointValue], writable: [Bool], tags: Int = 0) {
        count = types.count
        self.types = types
        self.writable = writable
        state = Mutex(State(values: initial, watched: [Bool](repeating: false, count: types.count + tags)))
    }

    public func value(of h: PointHandle) -> PointValue { state.withLock { $0.values[h.index] } }

    public func isWritable(_ h: PointHandle) -> Bool { writable[h.index] }

    /// Runs `body` with the values under the lock (reads and reports encode from them in place).
    func withValues<R>(_ body: (borrowing [PointValue]) throws -> R) rethrows -> R {
        try state.withLock { s in try body(s.values) }
    }

    /// Updates many points under one lock; visible to reads and reports at once. `now` is the
    /// monotonic time (BufferTime counts from the first change).
    public func update(_ updates: some Collection<(PointHandle, PointValue)>, now: Double) {
        var dirtied: [(@Sendable (Double) -> Void)] = []
        state.withLock { s in
            for (h, v) in updates where h.index >= 0 && h.index < count {
                let i = h.index
                if s.watched[i] && s.values[i] != v { Self.mark(Key(i), value: v, now: now, &s, &dirtied) }
                s.values[i] = v
            }
        }
        for d in dirtied { d(now) }
    }

    /// A device tag changed: data sets holding `<Dev>_TAG` report it.
    func tagChanged(device: Int, now: Double) {
        var dirtied: [(@Sendable (Double) -> Void)] = []
        state.withLock { s in
            let key = Key(count + device)
            if Int(key) < s.watched.count, s.watched[Int(key)] { Self.mark(key, value: PointValue(), now: now, &s, &dirtied) }
        }
        for d in dirtied { d(now) }
    }

    static func mark(_ key: Key, value: PointValue, now: Double, _ s: inout State, _ dirtied: inout [(@Sendable (Double) -> Void)]) {
        for w in s.watchers[key] ?? [] {
            guard var c = s.changeSets[w.changeSet] else { continue }
            let m = Int(w.member)
            if !c.changed[m] {
                c.changed[m] = true
                c.order.append(w.member)
            }
            if c.log != nil {
                c.log!.append((w.member, value))
                if c.log!.count > c.logLimit {
                    c.log!.removeFirst()
                    c.dropped += 1
                }
            }
            if c.dirtySince == nil {
                c.dirtySince = now
                dirtied.append(c.onDirty)
            }
            s.changeSets[w.changeSet] = c
        }
    }

    // MARK: Change sets

    /// Watches `keys` (one per data-set member; nil for members that are no point or tag).
    /// `allChanges`: keep every change with its value, at most this many.
    func register(_ keys: [Key?], allChanges: Int?, onDirty: @escaping @Sendable (Double) -> Void) -> Int32 {
        state.withLock { s in
            let id = s.nextChangeSet
            s.nextChangeSet += 1
            s.changeSets[id] = ChangeSet(changed: [Bool](repeating: false, count: keys.count), log: allChanges.map { _ in [] },
                                         logLimit: allChanges ?? 0, onDirty: onDirty)
            for (m, k) in keys.enumerated() {
                guard let k, Int(k) < s.watched.count else { continue }
                s.watchers[k, default: []].append(Watch(changeSet: id, member: Int32(m)))
                s.watched[Int(k)] = true
            }
            return id
        }
    }

    func unregister(_ id: Int32) {
        state.withLock { s in
            guard s.changeSets.removeValue(forKey: id) != nil else { return }
            for (k, list) in s.watchers where list.contains(where: { $0.changeSet == id }) {
                let rest = list.filter { $0.changeSet != id }
                s.watchers[k] = rest.isEmpty ? nil : rest
                s.watched[Int(k)] = !rest.isEmpty
            }
        }
    }

    /// What changed since the last take.
    struct Changes: Sendable {
        /// Members that changed, in data-set order.
        var members: [Int32]
        /// AllChangesReported: every change in order, with its value then.
        var log: [(member: Int32, value: PointValue)]?
        var dropped: Int
        var isEmpty: Bool { members.isEmpty }
    }

    /// Takes (and clears) the changes of a change set: call only when the report is sent.
    func takeChanges(_ id: Int32) -> Changes {
        state.withLock { s in
            guard var c = s.changeSets[id] else { return Changes(members: [], log: nil, dropped: 0) }
            let members = c.order.sorted()
            for m in c.order { c.changed[Int(m)] = false }
            c.order.removeAll(keepingCapacity: true)
            let log = c.log
            if c.log != nil { c.log!.removeAll(keepingCapacity: true) }
            let dropped = c.dropped
            c.dropped = 0
            c.dirtySince = nil
            s.changeSets[id] = c
            return Changes(members: members, log: log, dropped: dropped)
        }
    }

    /// Forgets the changes (a full report carried every member).
    func clearChanges(_ id: Int32) { _ = takeChanges(id) }

    /// When the change set turned dirty, if it is.
    func dirtySince(_ id: Int32) -> Double? { state.withLock { $0.changeSets[id]?.dirtySince } }

    /// Bytes this store holds (for the memory benchmark).
    public var memoryFootprint: Int {
        state.withLock { s in
            s.values.capacity * MemoryLayout<PointValue>.stride + s.watched.capacity + types.capacity + writable.capacity
        }
    }
}
