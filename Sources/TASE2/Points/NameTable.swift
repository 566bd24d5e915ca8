/// Names stored once, back to back, and looked up by binary search over a sorted index: a few
/// bytes per name instead of a String and a dictionary entry each (100,000 points must fit in
/// tens of megabytes). Immutable once built.
struct NameTable: Sendable {
    private(set) var bytes: [UInt8] = []
    private(set) var offsets: [UInt32] = [0]

    var count: Int { offsets.count - 1 }

    /// Adds a name; returns its index.
    @discardableResult
    mutating func append(_ name: String) -> Int {
        bytes.append(contentsOf: name.utf8)
        offsets.append(UInt32(bytes.count))
        return count - 1
    }

    func name(_ i: Int) -> String {
        let a = Int(offsets[i]), b = Int(offsets[i + 1])
        return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[a..<b]), as: UTF8.self) }
    }

    /// Byte order of entry `i` against `key` (-1, 0, 1).
    func compare(_ i: Int, _ key: UnsafeBufferPointer<UInt8>) -> Int {
        let a = Int(offsets[i]), b = Int(offsets[i + 1])
        return bytes.withUnsafeBufferPointer { all in
            let e = UnsafeBufferPointer(rebasing: all[a..<b])
            let n = min(e.count, key.count)
            for k in 0..<n where e[k] != key[k] { return e[k] < key[k] ? -1 : 1 }
            return e.count == key.count ? 0 : (e.count < key.count ? -1 : 1)
        }
    }

    func compare(_ i: Int, _ j: Int) -> Int {
        let a = Int(offsets[j]), b = Int(offsets[j + 1])
        return bytes.withUnsafeBufferPointer { all in compare(i, UnsafeBufferPointer(rebasing: all[a..<b])) }
    }

    var memoryFootprint: Int { bytes.capacity + offsets.capacity * 4 }
}

/// A sorted view (by name bytes) over some entries of a `NameTable`.
struct SortedNames: Sendable {
    private(set) var order: [UInt32] = []

    init() {}

    init(_ entries: [Int], in table: NameTable) {
        order = entries.map(UInt32.init).sorted { table.compare(Int($0), Int($1)) < 0 }
    }

    var count: Int { order.count }
    subscript(_ k: Int) -> Int { Int(order[k]) }

    /// The entry named `name`, if any.
    func find(_ name: String, in table: NameTable) -> Int? {
        var s = name
        return s.withUTF8 { key in
            let k = lowerBound(key, in: table)
            return k < order.count && table.compare(Int(order[k]), key) == 0 ? Int(order[k]) : nil
        }
    }

    /// Position of the first entry not less than `key`.
    func lowerBound(_ key: UnsafeBufferPointer<UInt8>, in table: NameTable) -> Int {
        var lo = 0, hi = order.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if table.compare(Int(order[mid]), key) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Position of the first entry greater than `name` (GetNameList's continueAfter).
    func position(after name: String, in table: NameTable) -> Int {
        var s = name
        return s.withUTF8 { key in
            var k = lowerBound(key, in: table)
            if k < order.count && table.compare(Int(order[k]), key) == 0 { k += 1 }
            return k
        }
    }
}
