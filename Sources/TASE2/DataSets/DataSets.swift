import BER
import MMS
import Synchronization

/// A named variable list (data set).
struct DataSet: Sendable, Hashable {
    var members: [ObjectName]
    /// Partner-defined lists are deletable; configured ones are not.
    var deletable: Bool
}

/// The VCC- and ICC-scope data sets, with their own lock and their names kept sorted for
/// GetNameList. Association-scope lists live in their `PartnerSession` and end with it.
final class DataSets: Sendable {
    struct State: Sendable {
        var vmd: [String: DataSet] = [:]
        var vmdNames: [String] = []
        var domains: [String: [String: DataSet]] = [:]
        var domainNames: [String: [String]] = [:]
    }

    let state = Mutex(State())
    /// Bumped by every define and delete: a partner's read plan made at this generation still
    /// names the same members, so a data set read again is not looked up again.
    let generation = Atomic<UInt64>(0)

    init(_ configured: [DataSetConfig]) {
        state.withLock { s in
            for d in configured { Self.insert(d.scope.objectName(d.name), DataSet(members: d.members, deletable: false), &s) }
        }
    }

    static func insert(_ name: ObjectName, _ set: DataSet, _ s: inout State) {
        func add(_ n: String, to names: inout [String]) {
            let i = names.firstIndex { !Array($0.utf8).lexicographicallyPrecedes(Array(n.utf8)) } ?? names.count
            names.insert(n, at: i)
        }
        switch name {
        case .vmdSpecific(let n):
            s.vmd[n] = set
            add(n, to: &s.vmdNames)
        case .domainSpecific(let d, let n):
            s.domains[d, default: [:]][n] = set
            add(n, to: &s.domainNames[d, default: []])
        case .aaSpecific: break
        }
    }

    func get(_ name: ObjectName) -> DataSet? {
        state.withLock { s in
            switch name {
            case .vmdSpecific(let n): return s.vmd[n]
            case .domainSpecific(let d, let n): return s.domains[d]?[n]
            case .aaSpecific: return nil
            }
        }
    }

    func names(vmd: Void = ()) -> [String] { state.withLock { $0.vmdNames } }
    func names(domain d: String) -> [String] { state.withLock { $0.domainNames[d] ?? [] } }

    /// Partner-defined lists of an ICC (for the per-partner cap).
    func definedCount(domain d: String) -> Int { state.withLock { s in s.domains[d]?.values.filter(\.deletable).count ?? 0 } }

    /// Defines a list; `cap` checks the count first (under the same lock).
    func define(_ name: ObjectName, _ set: DataSet, cap: (State) -> ServiceError?) throws(ServiceError) {
        try state.withLock { s throws(ServiceError) in
            let exists: Bool
            switch name {
            case .vmdSpecific(let n): exists = s.vmd[n] != nil
            case .domainSpecific(let d, let n): exists = s.domains[d]?[n] != nil
            case .aaSpecific: exists = false
            }
            guard !exists else { throw ServiceError.definitionObjectExists }
            if let e = cap(s) { throw e }
            Self.insert(name, set, &s)
            generation.add(1, ordering: .releasing)
        }
    }

    /// Deletes the named lists that `may` allows and that no enabled transfer set uses.
    func delete(_ names: [ObjectName], may: (ObjectName) -> Bool, inUse: (ObjectName) -> Bool) -> (matched: UInt32, deleted: UInt32) {
        state.withLock { s in
            var matched: UInt32 = 0, deleted: UInt32 = 0
            for n in names where may(n) {
                switch n {
                case .vmdSpecific(let i):
                    guard let ds = s.vmd[i] else { continue }
                    matched += 1
                    if ds.deletable && !inUse(n) {
                        s.vmd[i] = nil
                        s.vmdNames.removeAll { $0 == i }
                        deleted += 1
                    }
                case .domainSpecific(let d, let i):
                    guard let ds = s.domains[d]?[i] else { continue }
                    matched += 1
                    if ds.deletable && !inUse(n) {
                        s.domains[d]![i] = nil
                        s.domainNames[d]!.removeAll { $0 == i }
                        deleted += 1
                    }
                case .aaSpecific: continue
                }
            }
            if deleted > 0 { generation.add(1, ordering: .releasing) }
            return (matched, deleted)
        }
    }

    /// Every list name, for `DeleteNamedVariableList` scopes other than specific.
    var allNames: [ObjectName] {
        state.withLock { s in
            s.vmd.keys.map { ObjectName.vmdSpecific($0) } + s.domains.flatMap { d, l in l.keys.map { ObjectName.domainSpecific(domain: d, item: $0) } }
        }
    }
}
