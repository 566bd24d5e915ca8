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
        /// Index in `State.slots` (the hot path does no lookup by id).
        let slot: Int32
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
        /// The watched keys, to unregister.
        let keys: [Key]

        /// Marks `member` changed; returns `onDirty` when the set turns dirty with it. The
        /// AllChangesReported log may grow to twice its limit before the oldest entries are
        /// dropped in one go, so a full log costs O(1) per change, not a shift of the whole log.
        mutating func mark(_ member: Int32, value: PointValue, now: Double) -> (@Sendable (Double) -> Void)? {
            let m = Int(member)
            if !changed[m] {
                changed[m] = true
                order.append(member)
            }
            if log != nil {
                log!.append((member, value))
                if log!.count >= 2 * max(logLimit, 1) { trimLog() }
            }
            guard dirtySince == nil else { return nil }
            dirtySince = now
            return onDirty
        }

        mutating func trimLog() {
            guard let n = log?.count, n > logLimit else { return }
            log!.removeFirst(n - logLimit)
            dropped += n - logLimit
        }

        /// Takes the changes and clears them, in place.
        mutating func take() -> Changes {
            trimLog()
            // Data-set order: many changes are read off the bitmap (no sort), a few are sorted.
            var members: [Int32]
            if order.count * 16 >= changed.count {
                members = []
                members.reserveCapacity(order.count)
                for i in changed.indices where changed[i] { members.append(Int32(i)) }
            } else {
                members = order.sorted()
            }
            for m in order { changed[Int(m)] = false }
            order.removeAll(keepingCapacity: true)
            var taken: [(member: Int32, value: PointValue)]? = nil
            if log != nil { swap(&taken, &log); log = [] }
            let d = dropped
            dropped = 0
            dirtySince = nil
            return Changes(members: members, log: taken, dropped: d)
        }
    }

    struct State: Sendable {
        var values: [PointValue]
        var watched: [Bool]
        /// Per key (points, then tags): the change sets watching it.
        var watchers: [[Watch]]
        /// The change sets, in slots reused once freed (so a partner enabling and disabling
        /// transfer sets for ever does not grow them). An update marks a slot in place: a
        /// dictionary of change sets copied one, and with it its arrays, on every change.
        var slots: [ChangeSet?] = []
        var freeSlots: [Int32] = []
        /// Change-set id → slot, for the calls that come once per report.
        var slotOfID: [Int32: Int32] = [:]
        var nextChangeSet: Int32 = 1

        /// The change set with `id`, changed in place.
        mutating func withChangeSet<R>(_ id: Int32, _ body: (inout ChangeSet) -> R) -> R? {
            guard let slot = slotOfID[id] else { return nil }
            return body(&slots[Int(slot)]!)
        }
    }

    public init(types: [PointType], initial: [PointValue], writable: [Bool], tags: Int = 0) {
        count = types.count
        self.types = types
        self.writable = writable
        state = Mutex(State(values: initial, watched: [Bool](repeating: false, count: types.count + tags),
                            watchers: [[Watch]](repeating: [], count: types.count + tags)))
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
        let k = Int(key)
        var j = 0
        // By index, in place: no copy of the watcher list or of a change set per change.
        while j < s.watchers[k].count {
            let w = s.watchers[k][j]
            if let onDirty = s.slots[Int(w.slot)]!.mark(w.member, value: value, now: now) { dirtied.append(onDirty) }
            j += 1
        }
    }

    // MARK: Change sets

    /// Watches `keys` (one per data-set member; nil for members that are no point or tag).
    /// `allChanges`: keep every change with its value, at most this many.
    func register(_ keys: [Key?], allChanges: Int?, onDirty: @escaping @Sendable (Double) -> Void) -> Int32 {
        state.withLock { s in
            let id = s.nextChangeSet
            s.nextChangeSet &+= 1
            let slot: Int32
            if let free = s.freeSlots.popLast() {
                slot = free
            } else {
                slot = Int32(s.slots.count)
                s.slots.append(nil)
            }
            var watchedKeys: [Key] = []
            for (m, k) in keys.enumerated() {
                guard let k, k >= 0, Int(k) < s.watched.count else { continue }
                s.watchers[Int(k)].append(Watch(slot: slot, member: Int32(m)))
                s.watched[Int(k)] = true
                watchedKeys.append(k)
            }
            s.slots[Int(slot)] = ChangeSet(changed: [Bool](repeating: false, count: keys.count), log: allChanges.map { _ in [] },
                                           logLimit: allChanges ?? 0, onDirty: onDirty, keys: watchedKeys)
            s.slotOfID[id] = slot
            return id
        }
    }

    func unregister(_ id: Int32) {
        state.withLock { s in
            guard let slot = s.slotOfID.removeValue(forKey: id), let c = s.slots[Int(slot)] else { return }
            for k in c.keys {
                s.watchers[Int(k)].removeAll { $0.slot == slot }
                s.watched[Int(k)] = !s.watchers[Int(k)].isEmpty
            }
            s.slots[Int(slot)] = nil
            s.freeSlots.append(slot)
        }
    }

    /// Change sets registered, and slots held for them (for tests of reuse).
    var changeSetCounts: (registered: Int, slots: Int) { state.withLock { ($0.slotOfID.count, $0.slots.count) } }

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
        state.withLock { s in s.withChangeSet(id) { $0.take() } ?? Changes(members: [], log: nil, dropped: 0) }
    }

    /// Forgets the changes (a full report carried every member).
    func clearChanges(_ id: Int32) { _ = takeChanges(id) }

    /// When the change set turned dirty, if it is.
    func dirtySince(_ id: Int32) -> Double? { state.withLock { s in s.withChangeSet(id) { $0.dirtySince } ?? nil } }

    /// Bytes this store holds (for the memory benchmark).
    public var memoryFootprint: Int {
        state.withLock { s in
            s.values.capacity * MemoryLayout<PointValue>.stride + s.watched.capacity + types.capacity + writable.capacity
        }
    }
}
