import ArgumentParser
import BER
import Foundation
import Logging
import MMS
import MMSNIO
import NIOSSL
import TASE2
import TASE2TLS

/// Where the remote VCC is and who we are to it.
struct PartnerOptions: ParsableArguments {
    @Option(name: .long, help: "Host of the remote VCC.")
    var host: String = "127.0.0.1"
    @Option(name: .long, help: "TCP port of the remote VCC.")
    var port: Int = 102
    @Option(name: .long, help: "Our AP-title (the partner's bilateral table must know it).")
    var apTitle: String = "1.1.1.999"
    @Option(name: .long, help: "Our AE-qualifier.")
    var aeQualifier: Int64 = 12
    @Option(name: .long, help: "The remote AP-title.")
    var remoteApTitle: String = "1.1.1.999.1"
    @Option(name: .long, help: "The remote AE-qualifier.")
    var remoteAeQualifier: Int64 = 12
    @Option(name: .long, help: "TLS (IEC 62351-4): PEM certificate(s) to trust for the remote VCC.")
    var tlsCa: String?
    @Option(name: .long, help: "Most names one GetNameList may return (all pages); a partner that sends more is an error.")
    var maxNames: Int = MMSClientLimits().maxNames
    @Option(name: .long, help: "Seconds one request may wait for its answer.")
    var requestTimeout: Double = 10
    @Option(name: .long, help: "Seconds the whole command may take; 0: no limit (default 120 for browse, read and control; none for watch and messages).")
    var timeout: Double?

    func validate() throws {
        guard OID(apTitle) != nil else { throw ValidationError("--ap-title \(escaped(apTitle)) is not a dotted object identifier such as 1.1.1.999") }
        guard OID(remoteApTitle) != nil else {
            throw ValidationError("--remote-ap-title \(escaped(remoteApTitle)) is not a dotted object identifier such as 1.1.1.999.1")
        }
        guard maxNames > 0 else { throw ValidationError("--max-names must be positive") }
        guard requestTimeout > 0, requestTimeout <= 86_400 else { throw ValidationError("--request-timeout must be between 0 and 86400 seconds") }
        if let timeout, timeout < 0 || timeout > 86_400 { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
    }

    func configuration() throws -> MMSClient.Configuration {
        guard let local = OID(apTitle), let remote = OID(remoteApTitle) else {
            throw ValidationError("AP-titles are dotted object identifiers, e.g. 1.1.1.999")
        }
        var config = MMSClient.Configuration(host: host, port: port, local: OSIAddress(apTitle: local, aeQualifier: aeQualifier),
                                             remote: OSIAddress(apTitle: remote, aeQualifier: remoteAeQualifier))
        config.timeouts.request = .nanoseconds(Int64(requestTimeout * 1e9))
        config.timeouts.associate = .nanoseconds(Int64(max(requestTimeout, 10) * 1e9))
        config.timeouts.release = .nanoseconds(Int64(min(requestTimeout, 10) * 1e9))
        config.connectTimeout = .nanoseconds(Int64(max(requestTimeout, 10) * 1e9))
        config.clientLimits.maxNames = maxNames
        guard let tlsCa else { return config }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(tlsCa))
        return try config.withTLS(tls, serverHostname: host)
    }

    var logger: Logger {
        var logger = Logger(label: "tase2")
        logger.logLevel = .warning
        return logger
    }

    /// Runs `body` on a plain MMS association (browse and read work with any MMS server), within
    /// `--timeout`; concludes at the end.
    func withMMS(_ what: String, _ body: @escaping @Sendable (MMSAssociation) async throws -> Void) async throws {
        let config = try configuration()
        let logger = self.logger
        try await withDeadline(what, seconds: timeout ?? 120) {
            let a = try await MMSClient.connect(config, logger: logger)
            do {
                try await body(a)
                try await a.conclude()
            } catch {
                await a.abort()
                throw error
            }
        }
    }

    /// Runs `body` on a TASE.2 association, after the association check. `limited`: within `--timeout`.
    func withTASE2(_ what: String, icc: String? = nil, limited: Bool = true, _ body: @escaping @Sendable (TASE2Client) async throws -> Void) async throws {
        let config = try configuration()
        let logger = self.logger
        try await withDeadline(what, seconds: timeout ?? (limited ? 120 : 0)) {
            try await TASE2Client.withClient(config, icc: icc, logger: logger, body)
        }
    }
}

/// Runs `body`, failing with a clear error when it takes longer than `seconds` (0: no limit).
func withDeadline(_ what: String, seconds: Double, _ body: @escaping @Sendable () async throws -> Void) async throws {
    guard seconds > 0 else { return try await body() }
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return false
        }
        defer { group.cancelAll() }
        guard try await group.next() == true else {
            throw MMSAssociationError.timeout("\(what) did not finish within \(Int(seconds)) s (--timeout)")
        }
    }
}

/// A name given on the command line, checked: MMS identifiers only.
func checkedObjectName(_ text: String) throws -> ObjectName {
    let n = objectName(text)
    guard MMSIdentifier.isValid(n.itemName), n.domain.map(MMSIdentifier.isValid) ?? true else {
        throw ValidationError("\(escaped(text)) is not NAME or ICC/NAME with MMS identifiers (letters, digits, _ and $, at most 32, not starting with a digit)")
    }
    return n
}

/// `ICC1/Name` is an ICC object, `Name` a VCC one.
func objectName(_ text: String) -> ObjectName {
    let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
    return parts.count == 2 ? .domainSpecific(domain: parts[0], item: parts[1]) : .vmdSpecific(text)
}

/// A value as an operator reads it.
func describe(_ d: MMSData) -> String {
    switch d {
    case .floatingPoint(let f): return "\(f.doubleValue)"
    case .integer(let v): return "\(v)"
    case .unsigned(let v): return "\(v)u"
    case .boolean(let b): return b ? "TRUE" : "FALSE"
    case .bitString(let b): return "'" + (0..<b.count).map { b[bit: $0] ? "1" : "0" }.joined() + "'B"
    case .visibleString(let s), .mmsString(let s): return escaped(s)
    case .octetString(let o): return "0x" + o.map { String(format: "%02x", $0) }.joined()
    case .structure(let items): return "{" + items.map(describe).joined(separator: ", ") + "}"
    case .array(let items): return "[" + items.map(describe).joined(separator: ", ") + "]"
    default: return "\(d)"
    }
}

func describe(_ r: AccessResult) -> String {
    switch r {
    case .success(let d): return describe(d)
    case .failure(let e): return "error: \(e)"
    }
}

struct BrowseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "browse", abstract: "Associate with a remote VCC, run the association check and list what it shows us.")
    @OptionGroup var partner: PartnerOptions

    func run() async throws {
        try await partner.withMMS("browse") { a in try await Self.browse(a) }
    }

    static func browse(_ a: MMSAssociation) async throws {
        let id = try await a.identify()
        print("partner: \(escaped(id.vendorName)) \(escaped(id.modelName)) \(escaped(id.revision)) (AP-title \(a.info.peerAPTitle.map { "\($0)" } ?? "-"))")
        let domains = try await a.getNameList(.domain, scope: .vmdSpecific)
        let check = try await a.read([VariableAccess(.vmdSpecific(TASE2Names.version)), VariableAccess(.vmdSpecific(TASE2Names.supportedFeatures))]
            + domains.map { VariableAccess(.domainSpecific(domain: $0, item: TASE2Names.bilateralTableID)) })
        print("TASE2_Version: \(describe(check[0]))")
        if case .success(.bitString(let f)) = check[1] {
            print("Supported_Features: blocks " + (0..<f.count).filter { f[bit: $0] }.map { "\($0 + 1)" }.joined(separator: ", "))
        } else {
            print("Supported_Features: \(describe(check[1]))")
        }
        print("VCC variables: " + (try await a.getNameList(.namedVariable, scope: .vmdSpecific)).joined(separator: " "))
        print("VCC data sets: " + (try await a.getNameList(.namedVariableList, scope: .vmdSpecific)).joined(separator: " "))
        for (k, d) in domains.enumerated() {
            print("ICC \(d): Bilateral_Table_ID \(describe(check[2 + k]))")
            print("  variables: " + (try await a.getNameList(.namedVariable, scope: .domainSpecific(d))).joined(separator: " "))
            print("  data sets: " + (try await a.getNameList(.namedVariableList, scope: .domainSpecific(d))).joined(separator: " "))
        }
    }
}

struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Read variables of a remote VCC in one request (NAME for VCC scope, ICC/NAME for an ICC).")
    @OptionGroup var partner: PartnerOptions
    @Argument(help: "Variables to read.")
    var names: [String]

    func validate() throws {
        for n in names { _ = try checkedObjectName(n) }
    }

    func run() async throws {
        let names = self.names
        try await partner.withMMS("read") { a in
            // The association guarantees one result per variable.
            let results = try await a.read(names.map { VariableAccess(objectName($0)) })
            for (n, r) in zip(names, results) { print("\(n) = \(describe(r))") }
        }
    }
}

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Define a data set of the given points in our ICC, start a DS transfer set on it and print its reports.")
    @OptionGroup var partner: PartnerOptions
    @Option(name: .long, help: "Our ICC on the remote VCC (default: the first domain it lists).")
    var icc: String?
    @Option(name: .long, help: "Seconds between interval reports (0: none).")
    var interval: Int32 = 5
    @Option(name: .long, help: "Seconds between integrity reports (0: none).")
    var integrity: Int32 = 0
    @Flag(name: .long, help: "Report by exception: changes as they happen.")
    var rbe = false
    @Option(name: .long, help: "Stop after this many reports (0: until Ctrl-C).")
    var count: Int = 0
    @Argument(help: "Points (NAME for VCC scope, ICC/NAME for the ICC).")
    var points: [String]

    func validate() throws {
        for p in points { _ = try checkedObjectName(p) }
        guard interval >= 0, integrity >= 0 else { throw ValidationError("--interval and --integrity are seconds, 0 or more") }
    }

    func run() async throws {
        let (interval, integrity, rbe, count, points) = (self.interval, self.integrity, self.rbe, self.count, self.points)
        try await partner.withTASE2("watch", icc: icc, limited: false) { c in
            var conditions: DSConditions = []
            if interval > 0 { conditions.insert(.intervalTimeOut) }
            if integrity > 0 { conditions.insert(.integrityTimeOut) }
            if rbe { conditions.insert(.objectChange) }
            let ts = try await c.startTransfer(dataSet: "FT2_WATCH", points: points.map(objectName)) { d in
                d.interval = interval
                d.integrityCheck = integrity
                d.conditions = conditions
                d.rbe = rbe
            }
            print("watching \(ts) on data set \(c.icc)/FT2_WATCH (\(points.count) points)")
            var seen = 0
            for await report in c.transferReports {
                print("report:")
                if let t = report.transferSet { print("  \(c.icc)/Transfer_Set_Name = \(describe(TASE2Names.objectNameData(t)))") }
                if let t = report.timeStamp { print("  \(c.icc)/Transfer_Set_Time_Stamp = \(t)") }
                if let k = report.conditions { print("  \(c.icc)/DSConditions_Detected = \(describe(.bitString(k.bitString)))") }
                for (n, r) in report.values { print("  \(escaped(n.description, quoted: false)) = \(describe(r))") }
                seen += 1
                if count > 0 && seen >= count { break }
            }
            try await c.stopTransfer(ts)
            _ = try? await c.association.deleteLists([.domainSpecific(domain: c.icc, item: "FT2_WATCH")])
        }
    }
}

struct ControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Operate a device of a remote VCC: select it first (--select, for select-before-operate devices), then write the command or setpoint.")
    @OptionGroup var partner: PartnerOptions
    @Argument(help: "The device: NAME (VCC) or ICC/NAME.")
    var device: String
    @Option(name: .long, help: "Command: 0 = TRIP/OPEN/OFF/LOWER, 1 = CLOSE/ON/RAISE (also a discrete setpoint).")
    var command: Int16?
    @Option(name: .long, help: "A real setpoint.")
    var setpoint: Float?
    @Flag(name: .long, help: "Select before operate: Read <device>_SBO first.")
    var select = false

    func validate() throws {
        guard (command == nil) != (setpoint == nil) else { throw ValidationError("give exactly one of --command and --setpoint") }
    }

    func run() async throws {
        let (device, select, setpoint, command) = (self.device, self.select, self.setpoint, self.command)
        let name = try checkedObjectName(device)
        let scope: ObjectScope = name.domain.map { .icc($0) } ?? .vcc
        do {
            try await partner.withTASE2("control") { c in
                if select { print("selected: CheckBackName \(try await c.select(name.itemName, in: scope))") }
                if let setpoint {
                    try await c.operate(name.itemName, in: scope, setpoint: setpoint)
                } else {
                    try await c.operate(name.itemName, in: scope, command: command ?? 0)
                }
                print("operated \(device)")
            }
        } catch let e as DataAccessError {
            printError("\(device): \(e)")
            throw ExitCode.failure
        }
    }
}

struct MessagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages", abstract: "Enable information messages (IM_Transfer_Set) on a remote VCC and print those that arrive.")
    @OptionGroup var partner: PartnerOptions
    @Option(name: .long, help: "Stop after this many messages (0: until Ctrl-C).")
    var count: Int = 0

    func run() async throws {
        let count = self.count
        try await partner.withTASE2("messages", limited: false) { c in
            try await c.enableInformationMessages()
            print("information messages enabled")
            var seen = 0
            for await m in c.informationMessages {
                // Text from the partner: control characters never reach the terminal.
                print("message \(m.messageID) (InfoReference \(m.infoReference)): \(escaped(String(decoding: m.text, as: UTF8.self), quoted: false))")
                seen += 1
                if count > 0 && seen >= count { break }
            }
        }
    }
}
