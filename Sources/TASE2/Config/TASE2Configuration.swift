import BER
import MMS

/// Everything a VCC is configured with. Built by hand, by `ConfigLoader` from a YAML file, or
/// by `DemoConfiguration`.
public struct TASE2Configuration: Hashable, Sendable {
    public var vcc: VCCSettings
    /// Empty (with `vcc.openMode`) means an open server: any partner, everything allowed.
    public var bilateralTables: [BilateralTableConfig]
    public var points: [PointConfig]
    public var dataSets: [DataSetConfig]
    /// Control points (conformance block 5).
    public var devices: [DeviceConfig]

    public init(vcc: VCCSettings = VCCSettings(), bilateralTables: [BilateralTableConfig] = [], points: [PointConfig] = [],
                dataSets: [DataSetConfig] = [], devices: [DeviceConfig] = []) {
        self.vcc = vcc
        self.bilateralTables = bilateralTables
        self.points = points
        self.dataSets = dataSets
        self.devices = devices
    }
}

public struct VCCSettings: Hashable, Sendable {
    /// Secure mode: TLS with the IEC 62351-3 profile (nil: plain TCP).
    public var tls: TLSSettings?
    public var name: String
    public var edition: Edition
    public var stateQShape: StateQShape
    public var host: String
    public var port: Int
    /// The server's own AP-title and AE-qualifier (sent in the AARE).
    public var apTitle: OID
    public var aeQualifier: Int64
    public var vendor: String
    public var model: String
    public var revision: String
    /// Accept any partner when no bilateral table is configured.
    public var openMode: Bool
    /// Largest MMS PDU offered in Initiate.
    public var maxPDUSize: Int32
    /// Sizes of the information buffers (`Info_Buff_<n>`) messages are sent in (Block 4).
    public var infoBufferSizes: [Int] = [64, 256, 1024, 4096]
    /// Conformance blocks advertised in Supported_Features; nil: what is configured (1 and 2
    /// always, 4 with information buffers, 5 with devices).
    public var blocks: [Int]?
    /// How long a select (SBO) stays armed, in seconds.
    public var selectTimeout: Double = 30
    /// How long a critical report may wait for its acknowledgement, in seconds.
    public var criticalReportTimeout: Double = 30
    /// Smallest Interval and IntegrityCheck a transfer set may ask for, in seconds.
    public var minimumInterval: Int32 = 1
    /// Most changes an AllChangesReported transfer set queues between reports (the oldest go first).
    public var allChangesQueueSize: Int = 10_000
    /// DS transfer sets per ICC in open mode.
    public var openModeTransferSets: Int = 100

    /// The blocks Supported_Features advertises.
    public func advertisedBlocks(devices: Bool) -> Set<Int> {
        if let blocks { return Set(blocks) }
        var b: Set<Int> = [1, 2]
        if !infoBufferSizes.isEmpty { b.insert(4) }
        if devices { b.insert(5) }
        return b
    }

    public init(name: String = "VCC", edition: Edition = .v2000, stateQShape: StateQShape = .bitString, host: String = "0.0.0.0",
                port: Int = 102, apTitle: OID = [1, 1, 1, 999, 1], aeQualifier: Int64 = 12, vendor: String = "FreeTase2",
                model: String = "FreeTase2 VCC", revision: String = "0.1", openMode: Bool = false, maxPDUSize: Int32 = 65_000) {
        self.name = name
        self.edition = edition
        self.stateQShape = stateQShape
        self.host = host
        self.port = port
        self.apTitle = apTitle
        self.aeQualifier = aeQualifier
        self.vendor = vendor
        self.model = model
        self.revision = revision
        self.openMode = openMode
        self.maxPDUSize = maxPDUSize
    }
}

/// A bilateral table: one partner, its ICC domain and its rights on VCC objects.
public struct BilateralTableConfig: Hashable, Sendable {
    public var id: String
    /// The ICC (MMS domain) this partner sees.
    public var icc: String
    /// Who the partner is: the table matches an association when every one of these that is set
    /// equals what the partner sent (libtase2's rule); at least one must be set. AP-titles are
    /// optional in ACSE, so a partner can be known by its selectors alone.
    public var partnerAPTitle: OID?
    public var partnerAEQualifier: Int64?
    public var partnerPSEL: [UInt8]?
    public var partnerSSEL: [UInt8]?
    public var partnerTSEL: [UInt8]?
    /// What we answer this partner with (AARE responding AP-title / AE-qualifier); nil: the VCC's.
    public var localAPTitle: OID?
    public var localAEQualifier: Int64?
    /// VCC points (and VCC data sets) this partner may read; `["*"]` for all.
    public var vccRead: [String]
    /// VCC points this partner may write (they must be writable points).
    public var vccWrite: [String]
    /// VCC devices this partner may select, operate, read the tag of and set the tag of
    /// (libtase2's four device rights); nil: the devices listed in `vccWrite`.
    public var vccSelect: [String]?
    public var vccOperate: [String]?
    public var vccGetTag: [String]?
    public var vccSetTag: [String]?
    /// CheckBackName answered to this partner's selects, by device name (else the device's own).
    public var checkBackIDs: [String: Int16] = [:]
    /// What the partner must prove: its certificate and ACSE password (secure ICCP, IEC 62351-4).
    public var credentials = PartnerCredentials()
    /// DS transfer sets in this ICC.
    public var transferSets: Int
    /// Most data sets the partner may define (its ICC and association scope together), and
    /// members per data set.
    public var maxDataSets: Int = 100
    public var maxDataSetMembers: Int = 2000
    /// Information messages (Block 4) this partner may receive: VCC-scope ones at all, and only
    /// these InfoReference and LocalReference values (empty: any). ICC-scope messages of its
    /// own ICC always go (subject to the references).
    public var vccMessages = true
    public var messageInfoReferences: [Int32] = []
    public var messageLocalReferences: [Int32] = []
    /// Our client role on the partner's VCC over the same association (ICCP hubs do both).
    public var partnerVCC: PartnerVCCConfig?

    public init(id: String, icc: String, partnerAPTitle: OID?, partnerAEQualifier: Int64? = nil, vccRead: [String] = ["*"],
                vccWrite: [String] = [], transferSets: Int = 100) {
        self.id = id
        self.icc = icc
        self.partnerAPTitle = partnerAPTitle
        self.partnerAEQualifier = partnerAEQualifier
        self.vccRead = vccRead
        self.vccWrite = vccWrite
        self.transferSets = transferSets
    }
}

extension BilateralTableConfig {
    /// How the partner is recognised, for logs: `ap_title=1.1.1.999 ae_qualifier=12 psel=0001`.
    public var partnerDescription: String {
        func hex(_ b: [UInt8]) -> String { b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        var parts: [String] = []
        if let a = partnerAPTitle { parts.append("ap_title=\(a)") }
        if let q = partnerAEQualifier { parts.append("ae_qualifier=\(q)") }
        if let s = partnerPSEL { parts.append("psel=\(hex(s))") }
        if let s = partnerSSEL { parts.append("ssel=\(hex(s))") }
        if let s = partnerTSEL { parts.append("tsel=\(hex(s))") }
        return parts.joined(separator: " ")
    }
}

/// What we take from a partner's VCC as its client, on every association with it (whichever
/// side called), and where to call it.
public struct PartnerVCCConfig: Hashable, Sendable {
    /// The partner's addresses to call, tried in turn (host:port); empty: wait for it to call.
    public var connect: [String] = []
    /// Our ICC on the partner's VCC; nil: the first its GetNameList shows.
    public var icc: String?
    /// The data set we define there, and its points (`NAME` VCC, `ICC/NAME` an ICC's).
    public var dataSet: String = "FT2_SUBSCRIPTION"
    public var points: [ObjectName] = []
    /// The transfer set we enable on it.
    public var interval: Int32 = 10
    public var integrityCheck: Int32 = 60
    public var rbe: Bool = true
    public var critical: Bool = false
    /// Seconds between the Identify requests that keep the association checked (an ICCP hub
    /// sends one about every 78 s); one not answered in time aborts the association, and a
    /// call-out calls again. 0: none.
    public var identifyInterval: Double = 60
    /// The partner's AP-title and AE-qualifier when we call it (the table's partner fields by default).
    public var remoteAPTitle: OID?
    public var remoteAEQualifier: Int64?

    public init(connect: [String] = [], icc: String? = nil, dataSet: String = "FT2_SUBSCRIPTION", points: [ObjectName] = []) {
        self.connect = connect
        self.icc = icc
        self.dataSet = dataSet
        self.points = points
    }
}

/// Where a point or data set lives: the VCC (VMD scope) or one ICC (its domain).
public enum ObjectScope: Hashable, Sendable, CustomStringConvertible {
    case vcc
    case icc(String)
    public var description: String {
        switch self {
        case .vcc: return "VCC"
        case .icc(let d): return d
        }
    }
    public func objectName(_ item: String) -> ObjectName {
        switch self {
        case .vcc: return .vmdSpecific(item)
        case .icc(let d): return .domainSpecific(domain: d, item: item)
        }
    }
}

public struct PointConfig: Hashable, Sendable {
    public var name: String
    public var type: PointType
    public var scope: ObjectScope
    public var initial: PointValue
    /// Partners may write it (subject to their bilateral table for VCC points).
    public var writable: Bool

    public init(name: String, type: PointType, scope: ObjectScope, initial: PointValue = PointValue(), writable: Bool = false) {
        self.name = name
        self.type = type
        self.scope = scope
        self.initial = initial
        self.writable = writable
    }
}

/// A control point (device): operated by a Write of `<name>`, selected (SBO) by a Read of
/// `<name>_SBO`, tagged through `<name>_TAG`.
public struct DeviceConfig: Hashable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Control_Command: Integer16, 0 = TRIP/OPEN/OFF/LOWER, 1 = CLOSE/ON/RAISE.
        case command
        /// Control_Setpoint_Real: float32.
        case setpointReal = "setpoint_real"
        /// Control_Setpoint_Discrete: Integer16.
        case setpointDiscrete = "setpoint_discrete"
    }
    public var name: String
    public var kind: Kind
    public var scope: ObjectScope
    /// Select-before-operate: a Read of `<name>_SBO` must arm it first.
    public var sbo: Bool
    public var taggable: Bool
    /// The CheckBackName a select answers (a bilateral table may give its own); nil: 1 + the
    /// device's position.
    public var checkBackID: Int16?

    public init(name: String, kind: Kind, scope: ObjectScope, sbo: Bool = false, taggable: Bool = false) {
        self.name = name
        self.kind = kind
        self.scope = scope
        self.sbo = sbo
        self.taggable = taggable
    }
}

/// A server-defined data set (named variable list).
public struct DataSetConfig: Hashable, Sendable {
    public var name: String
    public var scope: ObjectScope
    /// Members as `Name` (VCC) or `ICC/Name` (an ICC's object, including the transfer-set specials).
    public var members: [ObjectName]

    public init(name: String, scope: ObjectScope, members: [ObjectName]) {
        self.name = name
        self.scope = scope
        self.members = members
    }
}

/// A configuration that cannot be served, with where it came from.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    public var field: String
    public var message: String

    public init(file: String? = nil, line: Int? = nil, field: String, _ message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var s = ""
        if let f = file { s += f }
        if let l = line { s += ":\(l)" }
        if !s.isEmpty { s += ": " }
        return s + "\(field): \(message)"
    }
}
