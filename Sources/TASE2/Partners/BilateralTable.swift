import BER
import MMS

/// A bilateral table as the VCC applies it: who the partner is, which ICC it sees, what it may
/// read, write and control, and which messages it gets.
public struct BilateralTable: Hashable, Sendable {
    public let config: BilateralTableConfig
    let readAll: Bool
    let readable: Set<String>
    let writable: Set<String>
    let select: Set<String>
    let operate: Set<String>
    let getTag: Set<String>
    let setTag: Set<String>

    public init(_ c: BilateralTableConfig) {
        config = c
        readAll = c.vccRead.contains("*")
        readable = Set(c.vccRead)
        writable = Set(c.vccWrite)
        select = Set(c.vccSelect ?? c.vccWrite)
        operate = Set(c.vccOperate ?? c.vccWrite)
        getTag = Set(c.vccGetTag ?? c.vccWrite)
        setTag = Set(c.vccSetTag ?? c.vccWrite)
    }

    public var id: String { config.id }
    public var icc: String { config.icc }

    /// True when the association request comes from this table's partner: every address part
    /// the table names must equal what the partner sent (libtase2's rule). A table that names
    /// nothing matches nobody.
    public func matches(_ r: AssociationRequest) -> Bool {
        let c = config
        guard c.partnerAPTitle != nil || c.partnerAEQualifier != nil || c.partnerPSEL != nil || c.partnerSSEL != nil || c.partnerTSEL != nil
        else { return false }
        if let t = c.partnerAPTitle, r.callingAPTitle != t { return false }
        if let q = c.partnerAEQualifier, r.callingAEQualifier != q { return false }
        if let p = c.partnerPSEL, r.callingPSEL != p { return false }
        if let s = c.partnerSSEL, r.callingSSEL != s { return false }
        if let t = c.partnerTSEL, r.callingTSEL != t { return false }
        return true
    }

    func mayRead(vcc name: String) -> Bool { readAll || readable.contains(name) || writable.contains(name) }
    func mayWrite(vcc name: String) -> Bool { writable.contains(name) }

    /// The four device rights (libtase2): on VCC devices as listed, on the table's own ICC's devices all.
    enum DeviceRight { case select, operate, getTag, setTag }

    func may(_ right: DeviceRight, device name: String, scope: ObjectScope) -> Bool {
        if case .icc(let d) = scope { return d == icc }
        switch right {
        case .select: return select.contains(name)
        case .operate: return operate.contains(name)
        case .getTag: return getTag.contains(name)
        case .setTag: return setTag.contains(name)
        }
    }

    /// May this partner receive an information message of this scope and these references?
    func mayReceive(scope: ObjectScope, infoReference: Int32, localReference: Int32) -> Bool {
        switch scope {
        case .icc(let d): guard d == icc else { return false }
        case .vcc: guard config.vccMessages else { return false }
        }
        let infos = config.messageInfoReferences, locals = config.messageLocalReferences
        return (infos.isEmpty || infos.contains(infoReference)) && (locals.isEmpty || locals.contains(localReference))
    }
}
