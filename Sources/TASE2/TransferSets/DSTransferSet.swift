import BER
import MMS

/// The value of a DS transfer set (spec §3.9): what a partner writes to start, change and stop
/// the transfer of a data set.
public struct DSTransferSet: Hashable, Sendable {
    public var dataSetName: ObjectName?
    /// GMTBasedS; 0 = now.
    public var startTime: Int32 = 0
    public var interval: Int32 = 0
    public var tle: Int32 = 0
    public var bufferTime: Int32 = 0
    public var integrityCheck: Int32 = 0
    public var conditions: DSConditions = []
    public var blockData = false
    public var critical = false
    public var rbe = false
    public var allChangesReported = false
    public var status = false
    public var eventCodeRequested: Int16 = 0

    public init() {}

    /// The members of a DSTransferSet, in wire order (spec §3.9): the one list every
    /// encoding, decoding and type description of a transfer set follows.
    public enum Member: String, CaseIterable, Sendable {
        case dataSetName = "DataSetName", startTime = "StartTime", interval = "Interval", tle = "TLE", bufferTime = "BufferTime",
            integrityCheck = "IntegrityCheck", conditionsRequested = "DSConditionsRequested", blockData = "BlockData",
            critical = "Critical", rbe = "RBE", allChangesReported = "AllChangesReported", status = "Status",
            eventCodeRequested = "EventCodeRequested"

        /// The members of an edition: 1996.08 has no AllChangesReported.
        public static func members(_ e: Edition) -> [Member] { e == .v2000 ? allCases : allCases.filter { $0 != .allChangesReported } }

        var type: TypeSpecification {
            switch self {
            case .dataSetName: return TASE2Names.objectNameType
            case .startTime, .interval, .tle, .bufferTime, .integrityCheck: return .integer(32)
            case .conditionsRequested: return .bitString(5)
            case .blockData, .critical, .rbe, .allChangesReported, .status: return .boolean
            case .eventCodeRequested: return .integer(16)
            }
        }
    }

    public static func typeSpecification(_ e: Edition) -> TypeSpecification {
        .structure(components: Member.members(e).map { .init($0.rawValue, $0.type) })
    }

    func value(_ m: Member) -> MMSData {
        switch m {
        case .dataSetName: return dataSetName.map(TASE2Names.objectNameData) ?? .structure([.unsigned(0), .visibleString(""), .visibleString("")])
        case .startTime: return .integer(Int64(startTime))
        case .interval: return .integer(Int64(interval))
        case .tle: return .integer(Int64(tle))
        case .bufferTime: return .integer(Int64(bufferTime))
        case .integrityCheck: return .integer(Int64(integrityCheck))
        case .conditionsRequested: return .bitString(conditions.bitString)
        case .blockData: return .boolean(blockData)
        case .critical: return .boolean(critical)
        case .rbe: return .boolean(rbe)
        case .allChangesReported: return .boolean(allChangesReported)
        case .status: return .boolean(status)
        case .eventCodeRequested: return .integer(Int64(eventCodeRequested))
        }
    }

    public func data(_ e: Edition) -> MMSData { .structure(Member.members(e).map(value)) }

    /// Sets one member from written data; false when the data does not fit the member.
    mutating func set(_ m: Member, _ d: MMSData) -> Bool {
        func int32() -> Int32? {
            switch d {
            case .integer(let v): return Int32(exactly: v)
            case .unsigned(let v): return Int32(exactly: v)
            default: return nil
            }
        }
        func bool() -> Bool? { if case .boolean(let b) = d { return b } else { return nil } }
        switch m {
        case .dataSetName:
            guard let n = TASE2Names.objectName(from: d) else { return false }
            dataSetName = n
        case .startTime: guard let v = int32() else { return false }; startTime = v
        case .interval: guard let v = int32(), v >= 0 else { return false }; interval = v
        case .tle: guard let v = int32(), v >= 0 else { return false }; tle = v
        case .bufferTime: guard let v = int32(), v >= 0 else { return false }; bufferTime = v
        case .integrityCheck: guard let v = int32(), v >= 0 else { return false }; integrityCheck = v
        case .conditionsRequested:
            guard case .bitString(let b) = d, b.count <= 8 else { return false }
            conditions = DSConditions(bitString: b)
        case .blockData: guard let v = bool() else { return false }; blockData = v
        case .critical: guard let v = bool() else { return false }; critical = v
        case .rbe: guard let v = bool() else { return false }; rbe = v
        case .allChangesReported: guard let v = bool() else { return false }; allChangesReported = v
        case .status: guard let v = bool() else { return false }; status = v
        case .eventCodeRequested:
            guard let v = int32(), let s = Int16(exactly: v) else { return false }
            eventCodeRequested = s
        }
        return true
    }

    /// A whole DSTransferSet as written by a partner: 12 members (1996.08) or 13 (2000.08).
    init?(_ d: MMSData, edition: Edition) {
        guard case .structure(let parts) = d, parts.count == edition.dsTransferSetMembers else { return nil }
        self.init()
        for (m, value) in zip(Member.members(edition), parts) where !set(m, value) { return nil }
    }
}

/// DSConditions (BitString 5, spec §3.5): what may trigger a report, and what did.
public struct DSConditions: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0xF8 }

    public static let intervalTimeOut = DSConditions(rawValue: 0x80)
    public static let integrityTimeOut = DSConditions(rawValue: 0x40)
    public static let objectChange = DSConditions(rawValue: 0x20)
    public static let operatorRequest = DSConditions(rawValue: 0x10)
    public static let otherExternalEvent = DSConditions(rawValue: 0x08)

    init(bitString b: BitString) { self.init(rawValue: b.count == 0 ? 0 : b.byte(0)) }
    public var bitString: BitString { BitString(msbFirst: UInt64(rawValue) << 56, count: 5) }
}
