import BER
import MMS
import Synchronization

/// A subscription's data-set members as a report names them: each a listOfVariable item encoded
/// as we encode it (as our VCC and libtase2 send them). An RBE report names every change it
/// carries; matched here by their octets, in data-set order, its names are not decoded into
/// Strings and looked up one by one (together about 380 ns a point, seven times its value).
final class MemberTable: Sendable {
    /// The members' items, one after another; member k is `bytes[starts[k]..<starts[k + 1]]`.
    let bytes: [UInt8]
    let starts: [Int]
    /// Member index of each transfer-set special, by item name. A report lists the specials first,
    /// in an order of its own (libtase2: name, conditions, time stamp), and always ICC-scoped:
    /// they are told by name.
    let specials: [String: Int]
    /// False once a report named a variable not found in order: a partner that encodes or orders
    /// names otherwise. Its reports are matched by name from then on, so a miss costs one scan of
    /// the table once, not once per report.
    let inOrder = Atomic<Bool>(true)
    var matching: Bool { inOrder.load(ordering: .relaxed) }

    init(_ members: [ObjectName], isSpecial: [Bool]) {
        var bytes: [UInt8] = []
        var starts = [0]
        var specials: [String: Int] = [:]
        for (k, m) in members.enumerated() {
            bytes += VariableAccess(m).encoded()
            starts.append(bytes.count)
            if isSpecial[k], specials[m.itemName] == nil { specials[m.itemName] = k }
        }
        self.bytes = bytes
        self.starts = starts
        self.specials = specials
    }

    /// The member index of each item of `list`, in order: the leading specials by name, then
    /// each item the next member after the previous one's with the same octets. Nil when an item
    /// is not found so (the caller then decodes the names), and from then on.
    func match(_ list: ReceivedVariableList) -> [Int]? {
        guard matching else { return nil }
        let order: [Int]? = bytes.withUnsafeBytes { table in
            try? BERReader.withReader(list.bytes, limits: list.limits) { r -> [Int]? in
                var out: [Int] = []
                out.reserveCapacity(list.count)
                var o = 0, next = 0
                var leading = true
                while o < r.end {
                    let e = try r.element(at: o)
                    o = e.endOffset
                    if leading {
                        if let n = ReceivedVariableList.name(of: e, in: r), let k = specials[n.itemName] {
                            out.append(k)
                            continue
                        }
                        leading = false
                    }
                    guard let k = find(r.elementBytes(of: e), from: next, in: table) else { return nil }
                    out.append(k)
                    next = k + 1
                }
                return out
            }
        }
        if order == nil { inOrder.store(false, ordering: .relaxed) }
        return order
    }

    /// The first member from `first` on whose octets are `item`'s.
    /// Compared from the end: names of one data set share their scope and differ last.
    func find(_ item: UnsafeRawBufferPointer, from first: Int, in table: UnsafeRawBufferPointer) -> Int? {
        let n = item.count
        var k = first
        while k + 1 < starts.count {
            let s = starts[k]
            if starts[k + 1] - s == n {
                var i = n - 1
                while i >= 0, table[s + i] == item[i] { i -= 1 }
                if i < 0 { return k }
            }
            k += 1
        }
        return nil
    }
}
