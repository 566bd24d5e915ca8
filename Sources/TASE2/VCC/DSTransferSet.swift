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

    static let memberNames2000 = [
        "DataSetName", "StartTime", "Interval", "TLE", "BufferTime", "IntegrityCheck", "DSConditionsRequested",
        "BlockData", "Critical", "RBE", "AllChangesReported", "Status", "EventCodeRequested",
    ]

    static func memberNames(_ e: Edition) -> [String] {
        e == .v2000 ? memberNames2000 : memberNames2000.filter { $0 != "AllChangesReported" }
    }

    public static func typeSpecification(_ e: Edition) -> TypeSpecification {
        let types: [String: TypeSpecification] = [
            "DataSetName": TASE2Names.objectNameType, "StartTime": .integer(32), "Interval": .integer(32), "TLE": .integer(32),
            "BufferTime": .integer(32), "IntegrityCheck": .integer(32), "DSConditionsRequested": .bitString(5),
            "BlockData": .boolean, "Critical": .boolean, "RBE": .boolean, "AllChangesReported": .boolean, "Status": .boolean,
            "EventCodeRequested": .integer(16),
        ]
        return .structure(components: memberNames(e).map { .init($0, types[$0]!) })
    }

    func member(_ name: String) -> MMSData? {
        switch name {
        case "DataSetName": return dataSetName.map(TASE2Names.objectNameData) ?? .structure([.unsigned(0), .visibleString(""), .visibleString("")])
        case "StartTime": return .integer(Int64(startTime))
        case "Interval": return .integer(Int64(interval))
        case "TLE": return .integer(Int64(tle))
        case "BufferTime": return .integer(Int64(bufferTime))
        case "IntegrityCheck": return .integer(Int64(integrityCheck))
        case "DSConditionsRequested": return .bitString(conditions.bitString)
        case "BlockData": return .boolean(blockData)
        case "Critical": return .boolean(critical)
        case "RBE": return .boolean(rbe)
        case "AllChangesReported": return .boolean(allChangesReported)
        case "Status": return .boolean(status)
        case "EventCodeRequested": return .integer(Int64(eventCodeRequested))
        default: return nil
        }
    }

    public func data(_ e: Edition) -> MMSData { .structure(DSTransferSet.memberNames(e).map { member($0)! }) }

    /// Sets one member from written data; false when the data does not fit the member.
    mutating func set(_ name: String, _ d: MMSData) -> Bool {
        func int32() -> Int32? {
            switch d {
            case .integer(let v): return Int32(exactly: v)
            case .unsigned(let v): return Int32(exactly: v)
            default: return nil
            }
        }
        func bool() -> Bool? { if case .boolean(let b) = d { return b } else { return nil } }
        switch name {
        case "DataSetName":
            guard let n = TASE2Names.objectName(from: d) else { return false }
            dataSetName = n
        case "StartTime": guard let v = int32() else { return false }; startTime = v
        case "Interval": guard let v = int32(), v >= 0 else { return false }; interval = v
        case "TLE": guard let v = int32(), v >= 0 else { return false }; tle = v
        case "BufferTime": guard let v = int32(), v >= 0 else { return false }; bufferTime = v
        case "IntegrityCheck": guard let v = int32(), v >= 0 else { return false }; integrityCheck = v
        case "DSConditionsRequested":
            guard case .bitString(let b) = d, b.count <= 8 else { return false }
            conditions = DSConditions(bitString: b)
        case "BlockData": guard let v = bool() else { return false }; blockData = v
        case "Critical": guard let v = bool() else { return false }; critical = v
        case "RBE": guard let v = bool() else { return false }; rbe = v
        case "AllChangesReported": guard let v = bool() else { return false }; allChangesReported = v
        case "Status": guard let v = bool() else { return false }; status = v
        case "EventCodeRequested":
            guard let v = int32(), let s = Int16(exactly: v) else { return false }
            eventCodeRequested = s
        default: return false
        }
        return true
    }

    /// A whole DSTransferSet as written by a partner: 12 members (1996.08) or 13 (2000.08).
    init?(_ d: MMSData, edition: Edition) {
        guard case .structure(let parts) = d, parts.count == edition.dsTransferSetMembers else { return nil }
        self.init()
        for (name, value) in zip(DSTransferSet.memberNames(edition), parts) where !set(name, value) { return nil }
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
