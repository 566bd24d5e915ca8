import BER
import MMS

/// A bilateral table as the VCC uses it: who the partner is, which ICC it sees, what it may do.
public struct BilateralTable: Hashable, Sendable {
    public let config: BilateralTableConfig
    let readAll: Bool
    let readable: Set<String>
    let writable: Set<String>

    init(_ c: BilateralTableConfig) {
        config = c
        readAll = c.vccRead.contains("*")
        readable = Set(c.vccRead)
        writable = Set(c.vccWrite)
    }

    public var id: String { config.id }
    public var icc: String { config.icc }

    /// True when the association request comes from this table's partner.
    public func matches(_ r: AssociationRequest) -> Bool {
        guard r.callingAPTitle == config.partnerAPTitle else { return false }
        if let q = config.partnerAEQualifier, r.callingAEQualifier != q { return false }
        if let p = config.partnerPSEL, r.callingPSEL != p { return false }
        if let s = config.partnerSSEL, r.callingSSEL != s { return false }
        if let t = config.partnerTSEL, r.callingTSEL != t { return false }
        return true
    }

    func mayRead(vcc name: String) -> Bool { readAll || readable.contains(name) || writable.contains(name) }
    func mayWrite(vcc name: String) -> Bool { writable.contains(name) }
}
