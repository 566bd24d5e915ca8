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
