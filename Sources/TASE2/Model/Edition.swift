import BER
import MMS

/// The TASE.2 edition a VCC speaks (TASE2_Version and the DSTransferSet shape follow it).
public enum Edition: String, Sendable, Hashable {
    case v1996 = "1996.08"
    case v2000 = "2000.08"

    public var version: (major: Int16, minor: Int16) { self == .v1996 ? (1996, 8) : (2000, 8) }
    /// Members of a DSTransferSet: 12 in 1996.08, 13 (with AllChangesReported) in 2000.08.
    public var dsTransferSetMembers: Int { self == .v1996 ? 12 : 13 }

    public var versionData: MMSData { .structure([.integer(Int64(version.major)), .integer(Int64(version.minor))]) }
    public static let versionType = TypeSpecification.structure(components: [
        .init("MajorVersionNumber", .integer(16)), .init("MinorVersionNumber", .integer(16)),
    ])
}

/// Conformance blocks as advertised in Supported_Features (BitString 12; bit n = block n + 1).
public struct ConformanceBlocks: Hashable, Sendable {
    public var blocks: Set<Int>
    public init(_ blocks: Set<Int>) { self.blocks = blocks }

    public var bitString: BitString {
        var b = BitString(count: 12)
        for n in blocks where n >= 1 && n <= 12 { b[bit: n - 1] = true }
        return b
    }
}

/// Names TASE.2 gives its system and special variables.
public enum TASE2Names {
    public static let version = "TASE2_Version"
    public static let supportedFeatures = "Supported_Features"
    public static let bilateralTableID = "Bilateral_Table_ID"
    public static let nextDSTransferSet = "Next_DSTransfer_Set"
    public static let transferSetName = "Transfer_Set_Name"
    public static let transferSetTimeStamp = "Transfer_Set_Time_Stamp"
    public static let dsConditionsDetected = "DSConditions_Detected"
    public static let eventCodeDetected = "Event_Code_Detected"
    public static let transferReportACK = "Transfer_Report_ACK"
    public static let transferReportNACK = "Transfer_Report_NACK"
    public static let imTransferSet = "IM_Transfer_Set"
    public static let infoMessHeader = "Info_Mess_Header"
    public static func infoBuffer(_ size: Int) -> String { "Info_Buff_\(size)" }

    /// InfoMessHeader: { InfoReference, LocalReference, MessageId, Size }, all Integer32.
    public static let infoMessHeaderType = TypeSpecification.structure(components: [
        .init("InfoReference", .integer(32)), .init("LocalReference", .integer(32)), .init("MessageId", .integer(32)), .init("Size", .integer(32)),
    ])

    /// Report-only variables: members of data sets, never read directly.
    public static let transferSetSpecials: Set<String> = [transferSetName, transferSetTimeStamp, dsConditionsDetected, eventCodeDetected]

    /// A TASE.2 object name: an MMS identifier, without `$` (libiec61850-based peers drop such names).
    public static func isValidObjectName(_ name: String) -> Bool {
        MMSIdentifier.isValid(name) && !name.utf8.contains(UInt8(ascii: "$"))
    }

    /// MMSObjectName as TASE.2 carries it in values: { Scope, DomainName, Name }.
    public static func objectNameData(_ n: ObjectName) -> MMSData {
        switch n {
        case .domainSpecific(let d, let i): return .structure([.unsigned(1), .visibleString(d), .visibleString(i)])
        case .vmdSpecific(let i), .aaSpecific(let i): return .structure([.unsigned(0), .visibleString(""), .visibleString(i)])
        }
    }

    public static func objectName(from d: MMSData) -> ObjectName? {
        guard case .structure(let p) = d, p.count == 3, case .visibleString(let dom) = p[1], case .visibleString(let n) = p[2] else { return nil }
        let scope: Int64
        switch p[0] {
        case .unsigned(let u): scope = Int64(u)
        case .integer(let i): scope = i
        default: return nil
        }
        return scope == 0 ? .vmdSpecific(n) : .domainSpecific(domain: dom, item: n)
    }

    public static let objectNameType = TypeSpecification.structure(components: [
        .init("Scope", .unsigned(8)), .init("DomainName", .visibleString(-32)), .init("Name", .visibleString(-32)),
    ])
}
