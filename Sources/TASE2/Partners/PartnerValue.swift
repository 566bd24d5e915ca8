import MMS

/// A value from a partner's VCC, received by our client role on that partner's association
/// (`partner_vcc` in its bilateral table): the counterpart of `PointWrite` for data flowing to us.
public struct PartnerValue: Sendable {
    /// Our bilateral table of the partner.
    public var bilateralTable: String
    /// The point on the partner's VCC (`.vmdSpecific` or `.domainSpecific`).
    public var name: ObjectName
    /// Its value as reported, or the partner's DataAccessError for it.
    public var result: AccessResult
    /// Why the partner reported (interval, integrity, change…), and its Transfer_Set_Time_Stamp.
    public var conditions: DSConditions?
    public var timeStamp: Int32?
}
