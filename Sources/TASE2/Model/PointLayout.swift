import BER
import MMS

/// One member of a point type on the wire. A point type is its list of members in normative
/// order (`PointType.layout`): the type description, the encoding from storage, the decoding
/// of a written value, the configuration fields and the simulator all read that one table.
public enum PointMember: UInt8, Hashable, Sendable {
    /// Data_Real (float32), Data_Discrete (Integer32) or Data_StateSupplemental (BitString 8).
    case value
    /// Data_State: the state and its quality in one octet.
    case stateOctet
    /// The state bits alone, in libtase2's two-member Data_StateQ.
    case stateValue
    /// Data_Flags: quality.
    case flags
    /// Data_TimeStamp (GMTBasedS).
    case timeStamp
    /// TimeStampExtended { GMTBasedS, Milliseconds }.
    case timeStampExtended
    /// COV_Counter.
    case cov
    /// Protection events.
    case singleEventFlags, packedEvent, packedEventFlags, operatingTime, eventTime

    /// The structure component's name.
    var componentName: String {
        switch self {
        case .value, .stateValue: return "Value"
        case .stateOctet, .flags: return "Flags"
        case .timeStamp, .timeStampExtended: return "TimeStamp"
        case .cov: return "COV"
        case .singleEventFlags: return "SingleEventFlags"
        case .packedEvent: return "PackedEvent"
        case .packedEventFlags: return "PackedEventFlags"
        case .operatingTime: return "OperatingTime"
        case .eventTime: return "EventTime"
        }
    }
}

/// A point type's members, and whether they form a structure (all but the plain types do).
public struct PointLayout: Hashable, Sendable {
    public let members: [PointMember]
    public let isStructure: Bool

    /// Which configurable fields the type carries (only those may be set in a configuration).
    public var carriesFlags: Bool { members.contains(.flags) || members.contains(.stateOctet) }
    public var carriesTimeStamp: Bool { members.contains(.timeStamp) || members.contains(.timeStampExtended) || members.contains(.eventTime) }
    public var carriesMilliseconds: Bool { members.contains(.timeStampExtended) || members.contains(.eventTime) }
    public var carriesCOV: Bool { members.contains(.cov) }
    public var carriesPackedEvent: Bool { members.contains(.packedEvent) }
    public var carriesOperatingTime: Bool { members.contains(.operatingTime) }
}

extension PointType {
    /// The one table of point layouts (spec §3.4). `stateQ` only changes Data_StateQ.
    public func layout(stateQ: StateQShape = .bitString) -> PointLayout {
        if self == .stateQ && stateQ == .valueAndFlags { return Self.stateQValueAndFlags }
        return Self.layouts[ordinal]
    }

    /// The case's position in `allCases`, without hashing (a dictionary lookup hashed the raw
    /// String for every value encoded).
    @inline(__always) var ordinal: Int {
        switch self {
        case .real: 0
        case .realQ: 1
        case .realQTimeTag: 2
        case .realExtended: 3
        case .realQTimeTagExtended: 4
        case .discrete: 5
        case .discreteQ: 6
        case .discreteQTimeTag: 7
        case .discreteExtended: 8
        case .discreteQTimeTagExtended: 9
        case .state: 10
        case .stateQ: 11
        case .stateQTimeTag: 12
        case .stateExtended: 13
        case .stateQTimeTagExtended: 14
        case .stateSupplemental: 15
        case .stateSupplementalQ: 16
        case .stateSupplementalQTimeTag: 17
        case .stateSupplementalExtended: 18
        case .stateSupplementalQTimeTagExtended: 19
        case .singleProtectionEvent: 20
        case .packedProtectionEvent: 21
        }
    }


    static let stateQValueAndFlags = PointLayout(members: [.stateValue, .flags], isStructure: true)

    static let layouts: [PointLayout] = allCases.map { t in
        func s(_ m: [PointMember]) -> PointLayout { PointLayout(members: m, isStructure: true) }
        switch (t.base, t.family) {
        case (.protection, _):
            return t == .singleProtectionEvent
                ? s([.singleEventFlags, .operatingTime, .eventTime])
                : s([.packedEvent, .packedEventFlags, .operatingTime, .eventTime])
        case (.state, .plain), (.state, .q): return PointLayout(members: [.stateOctet], isStructure: false)
        case (.state, .qTimeTag): return s([.timeStamp, .stateOctet])
        case (.state, .extended): return s([.timeStamp, .stateOctet, .cov])
        case (.state, _): return s([.timeStampExtended, .stateOctet])
        case (_, .plain): return PointLayout(members: [.value], isStructure: false)
        case (_, .q): return s([.value, .flags])
        case (_, .qTimeTag): return s([.value, .timeStamp, .flags])
        case (_, .extended): return s([.value, .timeStamp, .flags, .cov])
        default: return s([.value, .timeStampExtended, .flags])
        }
    }

    // MARK: Type description

    func memberType(_ m: PointMember) -> TypeSpecification {
        switch m {
        case .value:
            switch base {
            case .real: return .float32
            case .discrete: return .integer(32)
            default: return .bitString(8)
            }
        case .stateOctet, .stateValue, .flags, .singleEventFlags, .packedEvent, .packedEventFlags: return .bitString(8)
        case .timeStamp: return .integer(32)
        case .timeStampExtended, .eventTime: return .tsx
        case .cov: return .unsigned(16)
        case .operatingTime: return .integer(16)
        }
    }

    /// The MMS type of a point of this type (what GetVariableAccessAttributes answers).
    public func typeSpecification(stateQ: StateQShape = .bitString) -> TypeSpecification {
        let l = layout(stateQ: stateQ)
        guard l.isStructure else { return memberType(l.members[0]) }
        return .structure(components: l.members.map { .init($0.componentName, memberType($0)) })
    }

    // MARK: Values

    /// The point's value as MMS Data.
    public func data(_ v: PointValue, stateQ: StateQShape = .bitString) -> MMSData {
        let l = layout(stateQ: stateQ)
        guard l.isStructure else { return memberData(l.members[0], v) }
        return .structure(l.members.map { memberData($0, v) })
    }

    func memberData(_ m: PointMember, _ v: PointValue) -> MMSData {
        func bits8(_ b: UInt8) -> MMSData { .bitString(BitString(msbFirst: UInt64(b) << 56, count: 8)) }
        switch m {
        case .value:
            switch base {
            case .real: return .float(v.real)
            case .discrete: return .integer(Int64(v.discrete))
            default: return bits8(v.state)
            }
        case .stateOctet: return bits8(v.stateOctet)
        case .stateValue: return bits8(v.state & 0xC0)
        case .flags: return bits8(v.flags.rawValue)
        case .timeStamp: return .integer(Int64(v.timeStamp))
        case .timeStampExtended, .eventTime: return .structure([.integer(Int64(v.timeStamp)), .integer(Int64(v.milliseconds))])
        case .cov: return .unsigned(UInt64(v.cov))
        case .singleEventFlags, .packedEventFlags: return bits8(v.eventFlags)
        case .packedEvent: return bits8(v.packedEvent)
        case .operatingTime: return .integer(Int64(v.operatingTime))
        }
    }

    /// The most octets a value of this type takes on the wire (every field at its widest, either
    /// StateQ shape): reports are cut to the PDU size by it before they are encoded.
    public var maxEncodedSize: Int { PointType.maxEncodedSizes[ordinal] }

    static let maxEncodedSizes: [Int] = PointType.allCases.map { t in
        let worst = PointValue(real: -.greatestFiniteMagnitude, discrete: .min, state: 0xFF, flags: DataFlags(rawValue: 0xFF),
                               timeStamp: .min, milliseconds: .min, cov: .max, eventFlags: 0xFF, packedEvent: 0xFF, operatingTime: .min)
        return [StateQShape.bitString, .valueAndFlags].map { shape in
            var w = BERWriter(capacity: 128)
            t.prepend(worst, stateQ: shape, to: &w)
            return w.count
        }.max() ?? 64
    }

    /// The most octets any point takes on the wire (a PackedProtectionEvent at its widest takes 28).
    public static let maxEncodedSizeOfAnyType = 40

    /// Prepends the point's value straight from storage to a PDU being encoded: the same bytes as
    /// `data(_:stateQ:).prepend(to:)`, without building a value tree. One capacity check per
    /// point, then straight-line stores (this is the loop of every report and list read, where a
    /// loop over `layout`'s members cost 30 ns a point). It follows the layout table member for
    /// member, last first; `everyTypeEncodesTheSameStraightFromStorage` holds the two together.
    @inline(__always)
    public func prepend(_ v: PointValue, stateQ: StateQShape = .bitString, to w: inout BERWriter) {
        withUnsafePointer(to: v) { v in prepend(v, stateQ: stateQ, to: &w) }
    }

    /// The point at `v` (in the store's array): each field is loaded where it is written, not
    /// the whole value copied first (which cost a third of the loop).
    @inline(__always)
    func prepend(_ v: UnsafePointer<PointValue>, stateQ: StateQShape, to w: inout BERWriter) {
        w.prependUnchecked(maxCount: Self.maxEncodedSizeOfAnyType) { c in prepend(v, stateQ: stateQ, to: &c) }
    }

    /// The body of `prepend(_:stateQ:to:)`, into room already reserved.
    @inline(__always)
    func prepend(_ p: UnsafePointer<PointValue>, stateQ: StateQShape, to c: inout BERPrependCursor) {
        @inline(__always) var v: PointValue { _read { yield p.pointee } }
        let end = c.position
        let int = BERTag.context(5), bits = BERTag.context(4)
        @inline(__always) func value(_ c: inout BERPrependCursor) {
            switch base {
            case .real: c.float32(v.real, tag: .context(7))
            case .discrete: c.integer(Int64(v.discrete), tag: int)
            default: c.bitString8(v.state, tag: bits)
            }
        }
        @inline(__always) func timeStampExtended(_ c: inout BERPrependCursor) {
            let end = c.position
            c.integer(Int64(v.milliseconds), tag: int)
            c.integer(Int64(v.timeStamp), tag: int)
            c.header(.contextConstructed(2), length: c.count(since: end))
        }
        let isState = base == .state
        switch family {
        case .plain:
            if isState { c.bitString8(v.stateOctet, tag: bits) } else { value(&c) }
            return
        case .q where isState:
            guard stateQ == .valueAndFlags else {
                c.bitString8(v.stateOctet, tag: bits)
                return
            }
            c.bitString8(v.flags.rawValue, tag: bits)
            c.bitString8(v.state & 0xC0, tag: bits)
        case .q:
            c.bitString8(v.flags.rawValue, tag: bits)
            value(&c)
        case .qTimeTag where isState:
            c.bitString8(v.stateOctet, tag: bits)
            c.integer(Int64(v.timeStamp), tag: int)
        case .qTimeTag:
            c.bitString8(v.flags.rawValue, tag: bits)
            c.integer(Int64(v.timeStamp), tag: int)
            value(&c)
        case .extended where isState:
            c.unsigned(UInt64(v.cov), tag: .context(6))
            c.bitString8(v.stateOctet, tag: bits)
            c.integer(Int64(v.timeStamp), tag: int)
        case .extended:
            c.unsigned(UInt64(v.cov), tag: .context(6))
            c.bitString8(v.flags.rawValue, tag: bits)
            c.integer(Int64(v.timeStamp), tag: int)
            value(&c)
        case .qTimeTagExtended where isState:
            c.bitString8(v.stateOctet, tag: bits)
            timeStampExtended(&c)
        case .qTimeTagExtended:
            c.bitString8(v.flags.rawValue, tag: bits)
            timeStampExtended(&c)
            value(&c)
        case .protection:
            timeStampExtended(&c)
            c.integer(Int64(v.operatingTime), tag: int)
            c.bitString8(v.eventFlags, tag: bits)
            if self == .packedProtectionEvent { c.bitString8(v.packedEvent, tag: bits) }
        }
        c.header(.contextConstructed(2), length: c.count(since: end))
    }

    /// The value a client wrote (whole point), or nil when the data does not have this type's
    /// shape. Fields the type does not carry keep their values from `old`.
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
        let l = layout(stateQ: stateQ)
        var v = old
        let parts: [MMSData]
        if l.isStructure, case .structure(let p) = d { parts = p } else { parts = [d] }
        for (m, x) in zip(l.members, parts) { set(m, from: x, in: &v) }
        return v
    }

    func set(_ m: PointMember, from x: MMSData, in v: inout PointValue) {
        func octet() -> UInt8? { if case .bitString(let b) = x, b.count == 8 { return b.byte(0) } else { return nil } }
        func integer(_ d: MMSData) -> Int64? {
            switch d {
            case .integer(let i): return i
            case .unsigned(let u): return Int64(exactly: u)
            default: return nil
            }
        }
        func int() -> Int64? { integer(x) }
        switch m {
        case .value:
            switch (base, x) {
            case (.real, .floatingPoint(.single(let f))): v.real = f  // as sent: a signalling NaN stays one
            case (.real, .floatingPoint(.double(let d))): v.real = Float(d)
            case (.discrete, _): if let i = int() { v.discrete = Int32(truncatingIfNeeded: i) }
            default: if let o = octet() { v.state = o }
            }
        case .stateOctet:
            if let o = octet() {
                v.state = o & 0xC0
                v.flags = DataFlags(rawValue: o)
            }
        case .stateValue: if let o = octet() { v.state = o & 0xC0 }
        case .flags: if let o = octet() { v.flags = DataFlags(rawValue: o) }
        case .timeStamp: if let t = int() { v.timeStamp = Int32(truncatingIfNeeded: t) }
        case .timeStampExtended, .eventTime:
            if case .structure(let p) = x, p.count == 2, let s = integer(p[0]), let ms = integer(p[1]) {
                v.timeStamp = Int32(truncatingIfNeeded: s)
                v.milliseconds = Int16(truncatingIfNeeded: ms)
            }
        case .cov: if let c = int() { v.cov = UInt16(truncatingIfNeeded: c) }
        case .singleEventFlags, .packedEventFlags: if let o = octet() { v.eventFlags = o }
        case .packedEvent: if let o = octet() { v.packedEvent = o }
        case .operatingTime: if let t = int() { v.operatingTime = Int16(truncatingIfNeeded: t) }
        }
    }
}

extension TypeSpecification {
    static let tsx = TypeSpecification.structure(components: [.init("GMTBasedS", .integer(32)), .init("Milliseconds", .integer(16))])
}
