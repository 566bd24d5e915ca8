import BER
import MMS

/// The indication point types of TASE.2 (IEC 60870-6-802 §3.4 of our notes), plus the two
/// protection-equipment event types. Member order is normative on the wire.
public enum PointType: String, Sendable, CaseIterable, Hashable {
    case real = "Real", realQ = "RealQ", realQTimeTag = "RealQTimeTag", realExtended = "RealExtended",
        realQTimeTagExtended = "RealQTimeTagExtended"
    case discrete = "Discrete", discreteQ = "DiscreteQ", discreteQTimeTag = "DiscreteQTimeTag",
        discreteExtended = "DiscreteExtended", discreteQTimeTagExtended = "DiscreteQTimeTagExtended"
    case state = "State", stateQ = "StateQ", stateQTimeTag = "StateQTimeTag", stateExtended = "StateExtended",
        stateQTimeTagExtended = "StateQTimeTagExtended"
    case stateSupplemental = "StateSupplemental", stateSupplementalQ = "StateSupplementalQ",
        stateSupplementalQTimeTag = "StateSupplementalQTimeTag", stateSupplementalExtended = "StateSupplementalExtended",
        stateSupplementalQTimeTagExtended = "StateSupplementalQTimeTagExtended"
    case singleProtectionEvent = "SingleProtectionEvent", packedProtectionEvent = "PackedProtectionEvent"

    public enum Base: Sendable { case real, discrete, state, stateSupplemental, protection }
    public enum Family: Sendable { case plain, q, qTimeTag, extended, qTimeTagExtended, protection }

    public var base: Base {
        switch self {
        case .real, .realQ, .realQTimeTag, .realExtended, .realQTimeTagExtended: return .real
        case .discrete, .discreteQ, .discreteQTimeTag, .discreteExtended, .discreteQTimeTagExtended: return .discrete
        case .state, .stateQ, .stateQTimeTag, .stateExtended, .stateQTimeTagExtended: return .state
        case .stateSupplemental, .stateSupplementalQ, .stateSupplementalQTimeTag, .stateSupplementalExtended,
            .stateSupplementalQTimeTagExtended:
            return .stateSupplemental
        case .singleProtectionEvent, .packedProtectionEvent: return .protection
        }
    }

    public var family: Family {
        switch self {
        case .real, .discrete, .state, .stateSupplemental: return .plain
        case .realQ, .discreteQ, .stateQ, .stateSupplementalQ: return .q
        case .realQTimeTag, .discreteQTimeTag, .stateQTimeTag, .stateSupplementalQTimeTag: return .qTimeTag
        case .realExtended, .discreteExtended, .stateExtended, .stateSupplementalExtended: return .extended
        case .realQTimeTagExtended, .discreteQTimeTagExtended, .stateQTimeTagExtended, .stateSupplementalQTimeTagExtended:
            return .qTimeTagExtended
        case .singleProtectionEvent, .packedProtectionEvent: return .protection
        }
    }

    /// Types that exist only from edition 2000.08 on.
    public var requires2000Edition: Bool {
        family == .qTimeTagExtended || base == .stateSupplemental || base == .protection
    }
}

/// The two shapes of Data_StateQ seen in the field (spec note on §3.4).
public enum StateQShape: String, Sendable, Hashable {
    /// SISCO: a single BitString(8), state and quality in one octet (the default).
    case bitString
    /// libtase2: { Value BitString(8), Flags BitString(8) }.
    case valueAndFlags
}
