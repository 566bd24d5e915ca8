import BER
import MMS
import Synchronization

/// A partner's operation of a device, as the hosting program hears it.
public struct DeviceOperation: Hashable, Sendable {
    public var device: String
    public var scope: ObjectScope
    /// The command (0 = TRIP/OPEN/OFF/LOWER, 1 = CLOSE/ON/RAISE) or discrete setpoint, as written.
    public var discrete: Int16?
    /// A real setpoint, as written.
    public var real: Float?
    /// The bilateral table of the partner that operated it (nil in open mode).
    public var bilateralTable: String?
}

/// What a partner asks of a device, for the hosting program's decision.
public struct DeviceRequest: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case select
        case operate(DeviceOperation)
        case setTag(flags: UInt8, reason: String)
    }
    public var device: String
    public var scope: ObjectScope
    public var kind: Kind
    public var bilateralTable: String?
}

/// The hosting program's say over device control: it may refuse a select, an operate or a tag
/// (a device in local mode, an interlock), and may take its time to answer (the partner's
/// request waits; its association's other requests wait behind it, in order). Return nil to
/// accept, or the DataAccessError the partner gets.
public protocol DeviceHandler: Sendable {
    func handle(_ request: DeviceRequest) async -> DataAccessError?
}

/// Accepts everything (the default).
public struct AcceptingDeviceHandler: DeviceHandler {
    public init() {}
    public func handle(_ request: DeviceRequest) async -> DataAccessError? { nil }
}

/// Device tag (TagValue.Flags, spec §3.6): (HI, LO) = close-only inhibit / open-and-close inhibit; bit 2 = armed.
enum TagFlags {
    static let closeInhibit: UInt8 = 0x80
    static let openAndCloseInhibit: UInt8 = 0x40
    static let armed: UInt8 = 0x20
}

/// The devices of the VCC (conformance block 5, spec §5.5), with their own lock: select by Read
/// of `<Dev>_SBO`, operate by Write of `<Dev>`, tags through `<Dev>_TAG`, with libtase2's error
/// rules, the bilateral table's four rights, configured CheckBackNames, and a selection that
/// ends with the association that made it.
final class Devices: Sendable {
    struct Device: Sendable {
        let config: DeviceConfig
        let index: Int
        /// The session that selected it, and until when (monotonic).
        var armedBy: UInt64?
        var armedUntil: Double = 0
        var tag: UInt8 = 0
        var tagReason = ""
        /// The bilateral table that set the tag (others may not change it).
        var tagOwner: String?

        mutating func expire(_ now: Double) {
            if armedBy != nil && now >= armedUntil { armedBy = nil }
        }

        var tagFlags: UInt8 { tag | (armedBy != nil ? TagFlags.armed : 0) }
    }

    let configs: [DeviceConfig]
    let state: Mutex<[Device]>
    let selectTimeout: Double

    init(_ configs: [DeviceConfig], selectTimeout: Double) {
        self.configs = configs
        self.selectTimeout = selectTimeout
        state = Mutex(configs.enumerated().map { Device(config: $1, index: $0) })
    }

    var count: Int { configs.count }

    func may(_ right: BilateralTable.DeviceRight, _ i: Int, _ session: PartnerSession) -> Bool {
        guard let t = session.table else { return true }
        return t.may(right, device: configs[i].name, scope: configs[i].scope)
    }

    /// The CheckBackName this partner gets for device `i`.
    func checkBack(_ i: Int, _ session: PartnerSession) -> Int16 {
        session.table?.config.checkBackIDs[configs[i].name] ?? configs[i].checkBackID ?? Int16(truncatingIfNeeded: i + 1)
    }

    /// Select: arms an SBO device for this session and answers its CheckBackName.
    func select(_ i: Int, _ session: PartnerSession, now: Double, handler: any DeviceHandler) async -> AccessResult {
        let c = configs[i]
        guard may(.select, i, session) else { return .failure(.objectAccessDenied) }
        guard c.sbo else { return .failure(.objectAttributeInconsistent) }
        if let e = check({ d in
            // Already armed, or tagged open-and-close inhibit: not now.
            d.armedBy == nil && d.tag != TagFlags.openAndCloseInhibit ? nil : .temporarilyUnavailable
        }, i, now) { return .failure(e) }
        if let refused = await handler.handle(DeviceRequest(device: c.name, scope: c.scope, kind: .select, bilateralTable: session.tableID)) {
            return .failure(refused)
        }
        let armed = state.withLock { s -> Bool in
            s[i].expire(now)
            guard s[i].armedBy == nil else { return false }
            s[i].armedBy = session.id
            s[i].armedUntil = now + selectTimeout
            return true
        }
        guard armed else { return .failure(.temporarilyUnavailable) }
        return .success(.integer(Int64(checkBack(i, session))))
    }

    func check(_ rule: (Device) -> DataAccessError?, _ i: Int, _ now: Double) -> DataAccessError? {
        state.withLock { s in
            s[i].expire(now)
            return rule(s[i])
        }
    }

    /// GetTag (expired selections no longer show as armed).
    func readTag(_ i: Int, _ session: PartnerSession, now: Double) -> AccessResult {
        guard configs[i].taggable else { return .failure(.objectNonExistent) }
        guard may(.getTag, i, session) else { return .failure(.objectAccessDenied) }
        return .success(state.withLock { s in
            s[i].expire(now)
            return Self.tagData(s[i])
        })
    }

    static func tagData(_ d: Device) -> MMSData {
        .structure([.bitString(BitString(msbFirst: UInt64(d.tagFlags) << 56, count: 3)), .visibleString(d.tagReason)])
    }

    /// An upper bound of a tag's encoded size: the flags and a reason of at most 255 octets
    /// (what a set-tag write may carry).
    func tagSizeBound(_ i: Int) -> Int { 4 + 5 + 3 + 255 }

    /// The tag, for a report (data sets may hold `<Dev>_TAG`).
    func prependTag(_ i: Int, to w: inout BERWriter) {
        let d = state.withLock { $0[i] }
        Self.tagData(d).prepend(to: &w)
    }

    /// Operate: a command or setpoint written to the device.
    func operate(_ i: Int, _ data: MMSData, _ session: PartnerSession, now: Double, handler: any DeviceHandler) async
        -> Result<DeviceOperation, DataAccessError>
    {
        let c = configs[i]
        guard may(.operate, i, session) else { return .failure(.objectAccessDenied) }
        var op = DeviceOperation(device: c.name, scope: c.scope, bilateralTable: session.tableID)
        switch (c.kind, data) {
        case (.setpointReal, .floatingPoint(let f)): op.real = Float(f.doubleValue)
        case (.setpointReal, .integer(let v)): op.real = Float(v)
        case (.command, .integer(let v)), (.setpointDiscrete, .integer(let v)):
            guard let v16 = Int16(exactly: v) else { return .failure(.objectValueInvalid) }
            if c.kind == .command && v16 != 0 && v16 != 1 { return .failure(.objectValueInvalid) }
            op.discrete = v16
        default:
            return .failure(.typeInconsistent)
        }
        let rule = { (d: Device) -> DataAccessError? in
            // Tags: open-and-close inhibit blocks everything, close-only inhibit blocks CLOSE (1).
            let tag = d.tag & (TagFlags.closeInhibit | TagFlags.openAndCloseInhibit)
            if tag == TagFlags.openAndCloseInhibit || (tag == TagFlags.closeInhibit && c.kind == .command && op.discrete == 1) {
                return .temporarilyUnavailable
            }
            // Select before operate: armed, by this association.
            if c.sbo && d.armedBy != session.id { return .temporarilyUnavailable }
            return nil
        }
        if let e = check(rule, i, now) { return .failure(e) }
        if let refused = await handler.handle(DeviceRequest(device: c.name, scope: c.scope, kind: .operate(op), bilateralTable: session.tableID)) {
            return .failure(refused)
        }
        // Commit: the rules still hold (the handler may have taken its time).
        let error = state.withLock { s -> DataAccessError? in
            s[i].expire(now)
            if let e = rule(s[i]) { return e }
            if c.sbo { s[i].armedBy = nil }
            return nil
        }
        if let error { return .failure(error) }
        return .success(op)
    }

    /// SetTag; true in `changed` when the tag changed (data sets holding it then report).
    func setTag(_ i: Int, _ data: MMSData, _ session: PartnerSession, now: Double, handler: any DeviceHandler) async
        -> (result: WriteResult, changed: Bool)
    {
        let c = configs[i]
        guard c.taggable else { return (.failure(.objectNonExistent), false) }
        guard may(.setTag, i, session) else { return (.failure(.objectAccessDenied), false) }
        guard case .structure(let parts) = data, parts.count == 2, case .bitString(let flags) = parts[0], flags.count <= 8,
              case .visibleString(let reason) = parts[1], reason.utf8.count <= 255 else { return (.failure(.typeInconsistent), false) }
        let tag = flags.count == 0 ? 0 : flags.byte(0) & (TagFlags.closeInhibit | TagFlags.openAndCloseInhibit)
        if tag == TagFlags.closeInhibit | TagFlags.openAndCloseInhibit { return (.failure(.objectValueInvalid), false) }
        let me = session.tableID
        let rule = { (d: Device) -> DataAccessError? in
            if d.armedBy != nil { return .temporarilyUnavailable }
            if d.tag != 0, let owner = d.tagOwner, owner != me { return .temporarilyUnavailable }
            return nil
        }
        if let e = check(rule, i, now) { return (.failure(e), false) }
        if let refused = await handler.handle(DeviceRequest(device: c.name, scope: c.scope, kind: .setTag(flags: tag, reason: reason), bilateralTable: me)) {
            return (.failure(refused), false)
        }
        return state.withLock { s in
            s[i].expire(now)
            if let e = rule(s[i]) { return (.failure(e), false) }
            let changed = s[i].tag != tag || s[i].tagReason != reason
            s[i].tag = tag
            s[i].tagReason = reason
            s[i].tagOwner = tag == 0 ? nil : me
            return (.success, changed)
        }
    }

    /// The association's end: its selections end with it.
    func release(_ session: PartnerSession) {
        state.withLock { s in
            for i in s.indices where s[i].armedBy == session.id { s[i].armedBy = nil }
        }
    }
}
