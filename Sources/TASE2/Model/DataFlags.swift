/// Data_Flags (quality) of an indication point: one octet, bit n = ASN.1 bit n (wire mask `0x80 >> n`).
/// Bits 0–1 are unused in Data_Flags and carry the state in Data_State.
public struct DataFlags: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x3F }

    /// Validity (bits 2–3 as HI, LO).
    public enum Validity: UInt8, Sendable, CaseIterable { case valid = 0, held = 1, suspect = 2, notValid = 3 }
    /// CurrentSource (bits 4–5 as HI, LO).
    public enum CurrentSource: UInt8, Sendable, CaseIterable { case telemetered = 0, calculated = 1, entered = 2, estimated = 3 }

    public init(validity: Validity = .valid, source: CurrentSource = .telemetered, offNormal: Bool = false, timeStampInvalid: Bool = false) {
        rawValue = validity.rawValue << 4 | source.rawValue << 2 | (offNormal ? 0x02 : 0) | (timeStampInvalid ? 0x01 : 0)
    }

    public static let valid = DataFlags()

    public var validity: Validity {
        get { Validity(rawValue: rawValue >> 4 & 3)! }
        set { rawValue = rawValue & ~0x30 | newValue.rawValue << 4 }
    }
    public var currentSource: CurrentSource {
        get { CurrentSource(rawValue: rawValue >> 2 & 3)! }
        set { rawValue = rawValue & ~0x0C | newValue.rawValue << 2 }
    }
    /// NormalValue: set when the value is off-normal.
    public var offNormal: Bool {
        get { rawValue & 0x02 != 0 }
        set { rawValue = newValue ? rawValue | 0x02 : rawValue & ~0x02 }
    }
    /// TimeStampQuality: set when the time stamp is invalid.
    public var timeStampInvalid: Bool {
        get { rawValue & 0x01 != 0 }
        set { rawValue = newValue ? rawValue | 0x01 : rawValue & ~0x01 }
    }

    public var description: String { "\(validity),\(currentSource)\(offNormal ? ",off-normal" : "")\(timeStampInvalid ? ",time-invalid" : "")" }
}

/// The two state bits of Data_State (bits 0–1 as HI, LO).
public enum StateValue: UInt8, Sendable, CaseIterable {
    case between = 0
    /// OFF / TRIPPED / OPEN (LO only).
    case off = 1
    /// ON / CLOSED (HI only).
    case on = 2
    case invalid = 3

    /// The Data_State octet: state in bits 0–1, quality in bits 2–7.
    public func octet(with flags: DataFlags) -> UInt8 { rawValue << 6 | flags.rawValue }
    public init(octet: UInt8) { self = StateValue(rawValue: octet >> 6)! }
}
