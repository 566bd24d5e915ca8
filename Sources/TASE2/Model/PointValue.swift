import BER
import MMS

/// The value of one indication point: what every point type can carry. Which fields reach
/// the wire depends on the point's `PointType`.
public struct PointValue: Hashable, Sendable {
    /// Data_Real value.
    public var real: Float
    /// Data_Discrete value.
    public var discrete: Int32
    /// State (Data_State bits 0–1) or the whole Data_StateSupplemental octet.
    public var state: UInt8
    /// Quality. For State types it fills bits 2–7 of the Data_State octet.
    public var flags: DataFlags
    /// GMTBasedS: seconds since 1970-01-01 UTC.
    public var timeStamp: Int32
    /// Milliseconds of TimeStampExtended (0–999).
    public var milliseconds: Int16
    /// COV_Counter, for the Extended types.
    public var cov: UInt16
    /// Protection events: SingleEventFlags, or PackedEventFlags with `packedEvent`.
    public var eventFlags: UInt8
    public var packedEvent: UInt8
    /// OperatingTime of a protection event, in ms.
    public var operatingTime: Int16

    public init(real: Float = 0, discrete: Int32 = 0, state: UInt8 = 0, flags: DataFlags = .valid, timeStamp: Int32 = 0,
                milliseconds: Int16 = 0, cov: UInt16 = 0, eventFlags: UInt8 = 0, packedEvent: UInt8 = 0, operatingTime: Int16 = 0) {
        self.real = real
        self.discrete = discrete
        self.state = state
        self.flags = flags
        self.timeStamp = timeStamp
        self.milliseconds = milliseconds
        self.cov = cov
        self.eventFlags = eventFlags
        self.packedEvent = packedEvent
        self.operatingTime = operatingTime
    }

    public static func real(_ v: Float, flags: DataFlags = .valid, time: Int32 = 0, ms: Int16 = 0) -> PointValue {
        PointValue(real: v, flags: flags, timeStamp: time, milliseconds: ms)
    }
    public static func discrete(_ v: Int32, flags: DataFlags = .valid, time: Int32 = 0, ms: Int16 = 0) -> PointValue {
        PointValue(discrete: v, flags: flags, timeStamp: time, milliseconds: ms)
    }
    public static func state(_ s: StateValue, flags: DataFlags = .valid, time: Int32 = 0, ms: Int16 = 0) -> PointValue {
        PointValue(state: s.rawValue << 6, flags: flags, timeStamp: time, milliseconds: ms)
    }

    /// The Data_State octet (state and quality together).
    public var stateOctet: UInt8 { state & 0xC0 | flags.rawValue }
}

private func bits8(_ b: UInt8) -> MMSData { .bitString(BitString(msbFirst: UInt64(b) << 56, count: 8)) }
private func octet(_ d: MMSData) -> UInt8? {
    if case .bitString(let b) = d, b.count == 8 { return b.byte(0) }
    return nil
}
private func int(_ d: MMSData) -> Int64? {
    switch d {
    case .integer(let v): return v
    case .unsigned(let v): return Int64(exactly: v)
    default: return nil
    }
}

extension PointType {
    /// The point's value as MMS Data.
    public func data(_ v: PointValue, stateQ: StateQShape = .bitString) -> MMSData {
        let flags = bits8(v.flags.rawValue)
        let ts = MMSData.integer(Int64(v.timeStamp))
        let tsx = MMSData.structure([.integer(Int64(v.timeStamp)), .integer(Int64(v.milliseconds))])
        let cov = MMSData.unsigned(UInt64(v.cov))
        switch base {
        case .protection:
            let common: [MMSData] = [.integer(Int64(v.operatingTime)), tsx]
            if self == .singleProtectionEvent { return .structure([bits8(v.eventFlags)] + common) }
            return .structure([bits8(v.packedEvent), bits8(v.eventFlags)] + common)
        case .state:
            let s = bits8(v.stateOctet)
            switch family {
            case .plain: return s
            case .q: return stateQ == .bitString ? s : .structure([bits8(v.state & 0xC0), flags])
            case .qTimeTag: return .structure([ts, s])
            case .extended: return .structure([ts, s, cov])
            default: return .structure([tsx, s])
            }
        default:
            let value: MMSData
            switch base {
            case .real: value = .float(v.real)
            case .discrete: value = .integer(Int64(v.discrete))
            default: value = bits8(v.state)
            }
            switch family {
            case .plain: return value
            case .q: return .structure([value, flags])
            case .qTimeTag: return .structure([value, ts, flags])
            case .extended: return .structure([value, ts, flags, cov])
            default: return .structure([value, tsx, flags])
            }
        }
    }

    /// Prepends the point's value straight from storage to a report being encoded: the same bytes
    /// as `data(_:stateQ:).prepend(to:)`, without building a value tree.
    public func prepend(_ v: PointValue, stateQ: StateQShape = .bitString, to w: inout BERWriter) {
        func flags() { w.prependBitString(BitString(msbFirst: UInt64(v.flags.rawValue) << 56, count: 8), tag: .context(4)) }
        func octetBits(_ b: UInt8) { w.prependBitString(BitString(msbFirst: UInt64(b) << 56, count: 8), tag: .context(4)) }
        func ts() { w.prependInteger(Int64(v.timeStamp), tag: .context(5)) }
        func tsx() {
            let mark = w.count
            w.prependInteger(Int64(v.milliseconds), tag: .context(5))
            w.prependInteger(Int64(v.timeStamp), tag: .context(5))
            w.prependHeader(.contextConstructed(2), length: w.count - mark)
        }
        func cov() { w.prependUnsigned(UInt64(v.cov), tag: .context(6)) }
        func value() {
            switch base {
            case .real: w.prependFloat32(v.real, tag: .context(7))
            case .discrete: w.prependInteger(Int64(v.discrete), tag: .context(5))
            default: octetBits(v.state)
            }
        }
        let mark = w.count
        switch (base, family) {
        case (.protection, _):
            tsx()
            w.prependInteger(Int64(v.operatingTime), tag: .context(5))
            octetBits(v.eventFlags)
            if self == .packedProtectionEvent { octetBits(v.packedEvent) }
        case (.state, .plain):
            octetBits(v.stateOctet)
            return
        case (.state, .q):
            if stateQ == .bitString {
                octetBits(v.stateOctet)
                return
            }
            flags()
            octetBits(v.state & 0xC0)
        case (.state, .qTimeTag):
            octetBits(v.stateOctet)
            ts()
        case (.state, .extended):
            cov()
            octetBits(v.stateOctet)
            ts()
        case (.state, _):
            octetBits(v.stateOctet)
            tsx()
        case (_, .plain):
            value()
            return
        case (_, .q):
            flags()
            value()
        case (_, .qTimeTag):
            flags()
            ts()
            value()
        case (_, .extended):
            cov()
            flags()
            ts()
            value()
        default:
            flags()
            tsx()
            value()
        }
        w.prependHeader(.contextConstructed(2), length: w.count - mark)
    }

    /// The value a client wrote (whole point), or nil when the data does not have this type's shape.
    public func value(from d: MMSData, stateQ: StateQShape = .bitString, keeping old: PointValue = PointValue()) -> PointValue? {
        guard typeSpecification(stateQ: stateQ).accepts(d) else {
            // Lenient: a plain Real also takes an integer, a plain Discrete a float with no fraction.
            var v = old
            switch (self, d) {
            case (.real, .integer(let i)):
                v.real = Float(i)
                return v
            case (.discrete, .floatingPoint(let f)) where f.doubleValue.rounded() == f.doubleValue && abs(f.doubleValue) < 2_147_483_648:
                v.discrete = Int32(f.doubleValue)
                return v
            case (.discrete, .unsigned(let u)) where u <= UInt64(Int32.max):
                v.discrete = Int32(u)
                return v
            default: return nil
            }
        }
        var v = old
        func setTSX(_ x: MMSData) {
            if case .structure(let p) = x, p.count == 2, let s = int(p[0]), let ms = int(p[1]) {
                v.timeStamp = Int32(truncatingIfNeeded: s)
                v.milliseconds = Int16(truncatingIfNeeded: ms)
            }
        }
        func setValue(_ x: MMSData) {
            switch (base, x) {
            case (.real, .floatingPoint(let f)): v.real = Float(f.doubleValue)
            case (.discrete, _): if let i = int(x) { v.discrete = Int32(truncatingIfNeeded: i) }
            default: if let o = octet(x) { v.state = o }
            }
        }
        func setFlags(_ x: MMSData) { if let o = octet(x) { v.flags = DataFlags(rawValue: o) } }
        func setStateOctet(_ x: MMSData) {
            if let o = octet(x) {
                v.state = o & 0xC0
                v.flags = DataFlags(rawValue: o)
            }
        }
        let parts: [MMSData]
        if case .structure(let p) = d { parts = p } else { parts = [d] }
        switch (base, family) {
        case (.protection, _):
            let off = self == .packedProtectionEvent ? 1 : 0
            if off == 1, let o = octet(parts[0]) { v.packedEvent = o }
            if let o = octet(parts[off]) { v.eventFlags = o }
            if let t = int(parts[off + 1]) { v.operatingTime = Int16(truncatingIfNeeded: t) }
            setTSX(parts[off + 2])
        case (.state, .plain): setStateOctet(parts[0])
        case (.state, .q):
            if parts.count == 1 { setStateOctet(parts[0]) } else {
                if let o = octet(parts[0]) { v.state = o & 0xC0 }
                setFlags(parts[1])
            }
        case (.state, .qTimeTag), (.state, .extended):
            if let t = int(parts[0]) { v.timeStamp = Int32(truncatingIfNeeded: t) }
            setStateOctet(parts[1])
            if parts.count > 2, let c = int(parts[2]) { v.cov = UInt16(truncatingIfNeeded: c) }
        case (.state, _):
            setTSX(parts[0])
            setStateOctet(parts[1])
        case (_, .plain): setValue(parts[0])
        case (_, .q):
            setValue(parts[0])
            setFlags(parts[1])
        case (_, .qTimeTag), (_, .extended):
            setValue(parts[0])
            if let t = int(parts[1]) { v.timeStamp = Int32(truncatingIfNeeded: t) }
            setFlags(parts[2])
            if parts.count > 3, let c = int(parts[3]) { v.cov = UInt16(truncatingIfNeeded: c) }
        default:
            setValue(parts[0])
            setTSX(parts[1])
            setFlags(parts[2])
        }
        return v
    }
}
