import BER
import MMS

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

/// Device tag (TagValue.Flags, spec §3.6): (HI, LO) = close-only inhibit / open-and-close inhibit; bit 2 = armed.
enum TagFlags {
    static let closeInhibit: UInt8 = 0x80
    static let openAndCloseInhibit: UInt8 = 0x40
    static let armed: UInt8 = 0x20
}

/// Device control (conformance block 5, spec §5.5): select by Read of `<Dev>_SBO`, operate by
/// Write of `<Dev>`, tags through `<Dev>_TAG`, with libtase2's error rules.
extension VirtualControlCentre {
    struct Device: Sendable {
        let config: DeviceConfig
        var armedBy: UInt64?
        var armedUntil: Double = 0
        var checkBack: Int16 = 0
        var tag: UInt8 = 0
        var tagReason = ""
        /// The bilateral table that set the tag (others may not change it).
        var tagOwner: String?

        mutating func expire(_ now: Double) {
            if armedBy != nil && now >= armedUntil { armedBy = nil }
        }
    }

    /// The device, or device part (`_SBO`, `_TAG`), a name denotes in a scope.
    func deviceTarget(_ n: String, _ scope: ObjectScope, _ s: State) -> Target? {
        let index = s.deviceIndex[scope] ?? [:]
        if let i = index[n] { return .device(i) }
        if n.hasSuffix("_SBO"), let i = index[String(n.dropLast(4))] { return .deviceSBO(i) }
        if n.hasSuffix("_TAG"), let i = index[String(n.dropLast(4))] { return .deviceTag(i) }
        return nil
    }

    /// May this association operate, select and tag the device?
    func mayControl(_ i: Int, _ s: State, _ a: AssociationContext) -> Bool {
        let d = s.devices[i].config
        guard let table = scope(s, a).table else { return true }
        if case .vcc = d.scope { return table.mayWrite(vcc: d.name) }
        return true  // ICC devices: their own table (the ICC was already checked)
    }

    func deviceNames(_ scope: ObjectScope, _ s: State, _ a: AssociationContext) -> [String] {
        s.devices.indices.filter { s.devices[$0].config.scope == scope && (scope != .vcc || mayControl($0, s, a)) }.flatMap { i -> [String] in
            let d = s.devices[i].config
            return [d.name] + (d.sbo ? [d.name + "_SBO"] : []) + (d.taggable ? [d.name + "_TAG"] : [])
        }
    }

    /// Select: arms an SBO device for this association and answers its CheckBackName.
    func select(_ i: Int, _ s: inout State, _ a: AssociationContext) -> AccessResult {
        let now = clock()
        s.devices[i].expire(now)
        let d = s.devices[i]
        guard mayControl(i, s, a) else { return .failure(.objectAccessDenied) }
        guard d.config.sbo else { return .failure(.objectAttributeInconsistent) }
        // Already armed, or tagged open-and-close inhibit: not now.
        guard d.armedBy == nil, d.tag != TagFlags.openAndCloseInhibit else { return .failure(.temporarilyUnavailable) }
        s.nextCheckBack = s.nextCheckBack == Int16.max ? 1 : s.nextCheckBack + 1
        s.devices[i].armedBy = a.id
        s.devices[i].armedUntil = now + selectTimeout
        s.devices[i].checkBack = s.nextCheckBack
        logger.info("device selected", metadata: ["device": "\(d.config.scope)/\(d.config.name)", "checkBack": "\(s.nextCheckBack)"])
        return .success(.integer(Int64(s.nextCheckBack)))
    }

    func readTag(_ i: Int, _ s: inout State) -> AccessResult {
        s.devices[i].expire(clock())
        let d = s.devices[i]
        guard d.config.taggable else { return .failure(.objectNonExistent) }
        let flags = d.tag | (d.armedBy != nil ? TagFlags.armed : 0)
        return .success(.structure([.bitString(BitString(msbFirst: UInt64(flags) << 56, count: 3)), .visibleString(d.tagReason)]))
    }

    /// Operate: a command or setpoint written to the device.
    func operate(_ i: Int, _ data: MMSData, _ s: inout State, _ a: AssociationContext, _ ops: inout [DeviceOperation]) -> WriteResult {
        let now = clock()
        s.devices[i].expire(now)
        let d = s.devices[i]
        guard mayControl(i, s, a) else { return .failure(.objectAccessDenied) }
        var op = DeviceOperation(device: d.config.name, scope: d.config.scope, bilateralTable: scope(s, a).table?.id)
        switch (d.config.kind, data) {
        case (.setpointReal, .floatingPoint(let f)): op.real = Float(f.doubleValue)
        case (.setpointReal, .integer(let v)): op.real = Float(v)
        case (.command, .integer(let v)), (.setpointDiscrete, .integer(let v)):
            guard let v16 = Int16(exactly: v) else { return .failure(.objectValueInvalid) }
            if d.config.kind == .command && v16 != 0 && v16 != 1 { return .failure(.objectValueInvalid) }
            op.discrete = v16
        default:
            return .failure(.typeInconsistent)
        }
        // Tags: open-and-close inhibit blocks everything, close-only inhibit blocks CLOSE (1).
        let tag = d.tag & (TagFlags.closeInhibit | TagFlags.openAndCloseInhibit)
        if tag == TagFlags.openAndCloseInhibit || (tag == TagFlags.closeInhibit && d.config.kind == .command && op.discrete == 1) {
            return .failure(.temporarilyUnavailable)
        }
        if d.config.sbo {
            guard d.armedBy == a.id else { return .failure(.temporarilyUnavailable) }
            s.devices[i].armedBy = nil
        }
        ops.append(op)
        logger.info("device operated", metadata: ["device": "\(d.config.scope)/\(d.config.name)", "value": "\(op.real.map { "\($0)" } ?? op.discrete.map { "\($0)" } ?? "-")"])
        return .success
    }

    /// SetTag.
    func setTag(_ i: Int, _ data: MMSData, _ s: inout State, _ a: AssociationContext) -> WriteResult {
        s.devices[i].expire(clock())
        let d = s.devices[i]
        guard d.config.taggable else { return .failure(.objectNonExistent) }
        guard mayControl(i, s, a) else { return .failure(.objectAccessDenied) }
        guard case .structure(let parts) = data, parts.count == 2, case .bitString(let flags) = parts[0], flags.count <= 8,
              case .visibleString(let reason) = parts[1], reason.utf8.count <= 255 else { return .failure(.typeInconsistent) }
        let tag = flags.byte(0) & (TagFlags.closeInhibit | TagFlags.openAndCloseInhibit)
        if tag == TagFlags.closeInhibit | TagFlags.openAndCloseInhibit { return .failure(.objectValueInvalid) }
        if d.armedBy != nil { return .failure(.temporarilyUnavailable) }
        let me = scope(s, a).table?.id
        if d.tag != 0, let owner = d.tagOwner, owner != me { return .failure(.temporarilyUnavailable) }
        let changed = s.devices[i].tag != tag || s.devices[i].tagReason != reason
        s.devices[i].tag = tag
        s.devices[i].tagReason = reason
        s.devices[i].tagOwner = tag == 0 ? nil : me
        // A tag change reports for the data sets that contain `<Dev>_TAG` (spec §5.5).
        if changed { markChanged(tagKey(i), value: PointValue(), at: clock(), &s) }
        logger.info("device tag set", metadata: ["device": "\(d.config.scope)/\(d.config.name)", "tag": "\(tag)", "reason": "\(reason)"])
        return .success
    }
}
