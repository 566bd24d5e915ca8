import BER
import MMS
import Synchronization

/// The DS transfer sets of one ICC, shared by the associations of its bilateral table (spec
/// §5.2 life cycle): FREE → RESERVED(association) by a read of Next_DSTransfer_Set (every read
/// takes another one) → ENABLED by a valid write with Status TRUE; Status FALSE returns it to
/// RESERVED with its attributes kept, so its owner may enable it again; the association's end
/// frees everything it held.
final class TransferSetPool: Sendable {
    enum SlotState: Hashable, Sendable {
        case free
        case reserved(UInt64)
        case enabled(UInt64)
        var owner: UInt64? {
            switch self {
            case .free: return nil
            case .reserved(let a), .enabled(let a): return a
            }
        }
    }

    struct Slot: Sendable {
        let name: String
        var value = DSTransferSet()
        var state = SlotState.free
    }

    let icc: String
    let state: Mutex<[Slot]>

    init(icc: String, names: [String]) {
        self.icc = icc
        state = Mutex(names.map { Slot(name: $0) })
    }

    var names: [String] { state.withLock { $0.map(\.name) } }

    /// Next_DSTransfer_Set: a free transfer set, now reserved for `owner`; nil when none is free.
    func reserve(for owner: UInt64) -> (slot: Int, name: String)? {
        state.withLock { slots in
            guard let i = slots.firstIndex(where: { $0.state == .free }) else { return nil }
            slots[i].state = .reserved(owner)
            slots[i].value = DSTransferSet()
            return (i, slots[i].name)
        }
    }

    func slot(_ i: Int) -> Slot? { state.withLock { slots in slots.indices.contains(i) ? slots[i] : nil } }

    /// Sets a slot's value and state, if `owner` holds it.
    func update(_ i: Int, owner: UInt64, value: DSTransferSet, state new: SlotState) -> Bool {
        state.withLock { slots in
            guard slots.indices.contains(i), slots[i].state.owner == owner else { return false }
            slots[i].value = value
            slots[i].state = new
            return true
        }
    }

    /// Frees every slot `owner` holds; returns those that were enabled.
    func release(owner: UInt64) -> [Int] {
        state.withLock { slots in
            var enabled: [Int] = []
            for i in slots.indices where slots[i].state.owner == owner {
                if case .enabled = slots[i].state { enabled.append(i) }
                slots[i] = Slot(name: slots[i].name)
            }
            return enabled
        }
    }

    /// True when an enabled transfer set reports the data set `name`.
    func uses(_ name: ObjectName) -> Bool {
        state.withLock { slots in slots.contains { if case .enabled = $0.state { return $0.value.dataSetName == name } else { return false } } }
    }
}
