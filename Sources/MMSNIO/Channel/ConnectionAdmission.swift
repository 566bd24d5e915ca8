import NIOCore
import Synchronization

/// Decides which connections a server keeps. Strangers cannot lock partners out: at the
/// connection cap, or at the cap of not-yet-associated connections from one address, a new
/// connection evicts the oldest connection that has not completed its association (from that
/// address, for the second cap). A connection that completed its association is never evicted
/// by newcomers; when every slot holds one, the newcomer is refused.
final class ConnectionAdmission: Sendable {
    struct Entry {
        let channel: any Channel
        let source: String
        let order: UInt64
        var associated = false
    }

    struct State {
        var entries: [UInt64: Entry] = [:]
        var nextOrder: UInt64 = 0
    }

    enum Decision {
        case admit(evicting: [any Channel])
        case refuse(String)
    }

    let maxConnections: Int
    let maxPendingPerSource: Int
    let state = Mutex(State())

    init(maxConnections: Int, maxPendingPerSource: Int) {
        self.maxConnections = maxConnections
        self.maxPendingPerSource = maxPendingPerSource
    }

    var count: Int { state.withLock { $0.entries.count } }

    func admit(_ id: UInt64, channel: any Channel, source: String) -> Decision {
        state.withLock { s in
            var evict: [UInt64] = []
            func oldestPending(from source: String?) -> UInt64? {
                s.entries.filter { !$0.value.associated && !evict.contains($0.key) && (source == nil || $0.value.source == source) }
                    .min { $0.value.order < $1.value.order }?.key
            }
            let pendingHere = s.entries.values.filter { !$0.associated && $0.source == source }.count
            if pendingHere >= maxPendingPerSource, let victim = oldestPending(from: source) { evict.append(victim) }
            if s.entries.count - evict.count >= maxConnections {
                guard let victim = oldestPending(from: nil) else {
                    return .refuse("\(s.entries.count) associations already established (the limit)")
                }
                evict.append(victim)
            }
            let channels = evict.compactMap { s.entries.removeValue(forKey: $0)?.channel }
            s.entries[id] = Entry(channel: channel, source: source, order: s.nextOrder)
            s.nextOrder += 1
            return .admit(evicting: channels)
        }
    }

    func associated(_ id: UInt64) {
        state.withLock { $0.entries[id]?.associated = true }
    }

    /// Connections that have not associated (for shutdown: they have nothing to abort).
    var pendingChannels: [any Channel] { state.withLock { $0.entries.values.filter { !$0.associated }.map(\.channel) } }

    func removed(_ id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }
}
