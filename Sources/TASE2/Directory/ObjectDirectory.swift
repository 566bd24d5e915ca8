import BER
import MMS

/// The four report-only variables of a transfer set (spec §3.10).
public enum TransferSetSpecial: String, CaseIterable, Sendable {
    case name = "Transfer_Set_Name"
    case timeStamp = "Transfer_Set_Time_Stamp"
    case conditions = "DSConditions_Detected"
    case eventCode = "Event_Code_Detected"

    /// libtase2's order in a listOfVariable report, which SISCO clients require to begin with the
    /// transfer set's name.
    static let reportOrder: [TransferSetSpecial] = [.name, .conditions, .eventCode, .timeStamp]
}

/// What a name denotes in its scope.
enum ObjectKind: Hashable, Sendable {
    case point(Int32)
    case device(Int32), deviceSBO(Int32), deviceTag(Int32)
    /// A DS transfer set: its slot in the ICC's pool.
    case transferSet(Int32)
    case version, features, bilateralTableID, nextDSTransferSet
    case special(TransferSetSpecial)
    case infoMessageHeader
    case infoBuffer(Int32)
}

/// Every named variable of the VCC, by scope: built once, names kept sorted, so a name resolves
/// by binary search and GetNameList pages read straight off the sorted order (no list is
/// rebuilt or sorted per request). Data sets, which come and go, are apart (`DataSets`).
struct ObjectDirectory: Sendable {
    private(set) var names = NameTable()
    private(set) var kinds: [ObjectKind] = []
    private(set) var vcc = SortedNames()
    private(set) var iccs: [String: SortedNames] = [:]
    /// ICC names, ascending.
    private(set) var iccNames: [String] = []
    /// The directory entry of each point (for its name).
    private(set) var pointEntries: [UInt32] = []

    struct Builder {
        var names = NameTable()
        var kinds: [ObjectKind] = []
        var vcc: [Int] = []
        var iccs: [String: [Int]] = [:]
        var pointEntries: [UInt32] = []

        mutating func add(_ name: String, _ kind: ObjectKind, _ scope: ObjectScope) {
            let e = names.append(name)
            kinds.append(kind)
            switch scope {
            case .vcc: vcc.append(e)
            case .icc(let d): iccs[d, default: []].append(e)
            }
            if case .point = kind { pointEntries.append(UInt32(e)) }
        }

        mutating func addICC(_ d: String) { if iccs[d] == nil { iccs[d] = [] } }

        func build() -> ObjectDirectory {
            var d = ObjectDirectory()
            d.names = names
            d.kinds = kinds
            d.vcc = SortedNames(vcc, in: names)
            d.iccs = iccs.mapValues { SortedNames($0, in: names) }
            d.iccNames = iccs.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            d.pointEntries = pointEntries
            return d
        }
    }

    func sorted(_ scope: ObjectScope) -> SortedNames? {
        switch scope {
        case .vcc: return vcc
        case .icc(let d): return iccs[d]
        }
    }

    func hasICC(_ d: String) -> Bool { iccs[d] != nil }

    /// What `name` denotes in `scope`, if anything.
    func resolve(_ name: String, in scope: ObjectScope) -> ObjectKind? {
        guard let s = sorted(scope), let e = s.find(name, in: names) else { return nil }
        return kinds[e]
    }

    func name(_ entry: Int) -> String { names.name(entry) }
    func pointName(_ point: Int) -> String { names.name(Int(pointEntries[point])) }

    /// One GetNameList page: names after `continueAfter` that `visible` lets through, as many as
    /// fit `budget` octets.
    func page(_ scope: ObjectScope, after: String?, budget: Int, visible: (ObjectKind) -> Bool) -> GetNameListResponse {
        guard let s = sorted(scope) else { return GetNameListResponse(identifiers: [], moreFollows: false) }
        var k = after.map { s.position(after: $0, in: names) } ?? 0
        var left = budget
        var out: [String] = []
        while k < s.count {
            let e = s[k]
            if visible(kinds[e]) {
                let n = names.name(e)
                let cost = n.utf8.count + 2
                if cost > left && !out.isEmpty { break }
                left -= cost
                out.append(n)
            }
            k += 1
        }
        // More only if something visible remains.
        while k < s.count, !visible(kinds[s[k]]) { k += 1 }
        return GetNameListResponse(identifiers: out, moreFollows: k < s.count)
    }

    var memoryFootprint: Int { names.memoryFootprint + kinds.capacity * MemoryLayout<ObjectKind>.stride + pointEntries.capacity * 4 + vcc.count * 4 }
}

/// A page of sorted names from any sorted list (data sets), for GetNameList.
func sortedNamePage(_ sorted: [String], after: String?, budget: Int) -> GetNameListResponse {
    VMDDispatcher.page(sorted, after: after, maxPDUSize: budget + 24)
}
