// The YAML configuration file of a FreeTase2 VCC (also described in docs/configuration.md).
//
// ```yaml
// vcc:                          # optional; every key has a default
//   name: DEMO_VCC              # object-name rules (≤ 32 characters, identifier, no `$`)
//   edition: "2000.08"          # or "1996.08"
//   state_q_shape: bit_string   # or value_and_flags (libtase2's Data_StateQ)
//   host: 0.0.0.0
//   port: 102
//   ap_title: 1.1.1.999.1       # our responding AP-title
//   ae_qualifier: 12
//   vendor: FreeTase2
//   model: FreeTase2 VCC
//   revision: "0.1"
//   open_mode: false            # true + no bilateral_tables: accept any partner
//   max_pdu_size: 65000
//   info_buffer_sizes: [64, 256, 1024, 4096]   # Info_Buff_<n> for information messages
// bilateral_tables:             # at least one unless open_mode
//   - id: BLT_ICC1              # returned by Bilateral_Table_ID
//     icc: ICC1                 # the partner's MMS domain
//     partner: { ap_title: 1.1.1.999, ae_qualifier: 12 }   # ae_qualifier optional; psel/ssel/tsel: hex strings
//     vcc_read: ["*"]           # VCC points / data sets the partner may read, or "*" for all
//     vcc_write: [Setpoint_Real]  # writable VCC points the partner may write
//     transfer_sets: 100        # DS transfer sets in the ICC (0…1000)
//     vcc_messages: true        # may receive VCC-scope information messages
//     message_info_references: []   # only these InfoReference values (empty: any)
// points:
//   - { name: Line1_MW, type: RealQ, scope: VCC, value: 12.5, quality: valid, writable: false }
//   - { name: Breaker_1, type: StateQTimeTag, scope: ICC1, state: on }
// points_csv: points.csv        # optional, relative to this file
// data_sets:
//   - { name: DS_Analog, scope: ICC1, members: [ICC1/Transfer_Set_Name, Line1_MW, ICC1/Breaker_1] }
// ```
//
// Point keys: `name`, `type` (a `PointType` raw value such as `RealQ`), `scope` (`VCC`, the default,
// or an ICC name), `writable`, and the value fields the type carries on the wire:
// `value` (number for Real/Discrete, octet 0–255 for StateSupplemental, SingleEventFlags /
// PackedEventFlags for protection events), `state` (between|off|on|invalid, State types),
// `quality` (valid|held|suspect|not_valid), `source` (telemetered|calculated|entered|estimated),
// `off_normal`, `time_stamp_invalid`, `time_stamp` (GMTBasedS), `milliseconds`, `cov`,
// `packed_event`, `operating_time`. A key the type does not carry is an error rather than
// silently ignored. Data set members are `Name` (VCC scope) or `ICC/Name` (domain scope).
//
// The CSV file has a header naming its columns: `name,type,scope,value` and optionally
// `quality,writable`; `value` holds the state name for State types. Blank lines and lines
// starting with `#` are skipped.

import BER
import Foundation
import MMS
import Yams

/// Loads and validates a VCC configuration from YAML. Every error names the file, the 1-based line
/// and the field path (`bilateral_tables[1].partner.ap_title`), so an operator can fix it without
/// reading code.
public enum ConfigLoader {
    /// Loads the file at `path`; a `points_csv` is resolved relative to the file's directory.
    public static func load(file path: String) throws(ConfigurationError) -> TASE2Configuration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: path, field: "file", "cannot read: \(error.localizedDescription)")
        }
        let dir = (path as NSString).deletingLastPathComponent
        return try load(yaml: text, file: path, baseDirectory: dir.isEmpty ? nil : dir)
    }

    /// Loads a configuration from YAML text. `file` is only used in error messages;
    /// `baseDirectory` resolves a relative `points_csv` (the current directory when nil).
    public static func load(yaml: String, file: String = "<string>", baseDirectory: String? = nil)
        throws(ConfigurationError) -> TASE2Configuration
    {
        var reader = YAMLConfigReader(file: file, baseDirectory: baseDirectory)
        let config = try reader.read(yaml)
        do {
            try config.validate()
        } catch {
            throw reader.locate(error)
        }
        return config
    }
}

/// Where a field came from: validation reports field paths, the loader maps them back to lines.
struct FieldLocation {
    var file: String
    var line: Int?
    /// The field as the operator wrote it (a CSV column name for CSV points).
    var field: String
}

/// One textual point field (a YAML scalar or a CSV cell) with its location.
struct PointCell {
    var text: String
    var location: FieldLocation

    func error(_ message: String) -> ConfigurationError {
        ConfigurationError(file: location.file, line: location.line, field: location.field, message)
    }
}

private let pointKeys = [
    "name", "type", "scope", "value", "state", "quality", "source", "off_normal", "time_stamp_invalid", "time_stamp",
    "milliseconds", "cov", "packed_event", "operating_time", "writable",
]

private struct YAMLConfigReader {
    let file: String
    let baseDirectory: String?
    /// Field path → where it was written; validation errors are located through it.
    var locations: [String: FieldLocation] = [:]
    /// Points read from `points_csv`, located by line.
    var csvRows: CSVRows?

    init(file: String, baseDirectory: String?) {
        self.file = file
        self.baseDirectory = baseDirectory
    }

    /// Adds file and line to a validation error by its field path (or the nearest enclosing one).
    func locate(_ e: ConfigurationError) -> ConfigurationError {
        var path = e.field
        if let loc = csvRows?.locate(path) {
            var r = e
            r.file = loc.file
            r.line = loc.line
            r.field = loc.field
            return r
        }
        while true {
            if let loc = locations[path] {
                var r = e
                r.file = loc.file
                r.line = loc.line
                r.field = loc.field + e.field.dropFirst(path.count)
                return r
            }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            path = String(path[..<cut])
        }
        var r = e
        r.file = file
        return r
    }

    func fail(_ path: String, _ node: Node?, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: node?.mark?.line, field: path, message)
    }

    mutating func note(_ path: String, _ node: Node) {
        locations[path] = FieldLocation(file: file, line: node.mark?.line, field: path)
    }

    // MARK: Node access

    /// The entries of a mapping; keys outside `allowed` are rejected so that typos do not pass silently.
    /// `allowed` nil: any key (a mapping keyed by names, such as check_back_ids).
    mutating func mapping(_ node: Node, _ path: String, allowed: [String]?) throws(ConfigurationError) -> [String: Node] {
        guard case .mapping(let m) = node else { throw fail(path, node, "expected a mapping (key: value)") }
        var out: [String: Node] = [:]
        for (k, v) in m {
            guard case .scalar(let ks) = k else { throw fail(path, k, "keys must be plain names") }
            let key = ks.string
            let sub = path.isEmpty ? key : "\(path).\(key)"
            if let allowed, !allowed.contains(key) {
                throw fail(sub, k, "unknown key '\(key)'" + suggestion(key, allowed) + "; allowed: \(allowed.joined(separator: ", "))")
            }
            note(sub, v)
            out[key] = v
        }
        return out
    }

    /// A sequence's items; an empty value (`key:`) is an empty list.
    func sequence(_ node: Node, _ path: String) throws(ConfigurationError) -> [Node] {
        switch node {
        case .sequence(let s): return Array(s)
        case .scalar(let s) where s.tag.rawValue == Tag.Name.null.rawValue || s.string.isEmpty: return []
        default: throw fail(path, node, "expected a list")
        }
    }

    func string(_ node: Node, _ path: String) throws(ConfigurationError) -> String {
        guard case .scalar(let s) = node else { throw fail(path, node, "expected a single value, not a list or mapping") }
        return s.string
    }

    func nonEmpty(_ node: Node, _ path: String) throws(ConfigurationError) -> String {
        let s = try string(node, path)
        guard !s.isEmpty else { throw fail(path, node, "must not be empty") }
        return s
    }

    func integer<T: FixedWidthInteger>(_ node: Node, _ path: String, _: T.Type) throws(ConfigurationError) -> T {
        let s = try string(node, path)
        guard let v = T(s) else { throw fail(path, node, "'\(s)' is not an integer in \(T.min)…\(T.max)") }
        return v
    }

    /// A duration in seconds (a number; fractions allowed).
    func seconds(_ node: Node, _ path: String) throws(ConfigurationError) -> Double {
        let s = try string(node, path)
        guard let v = Double(s), v.isFinite else { throw fail(path, node, "'\(s)' is not a number of seconds") }
        return v
    }

    func bool(_ node: Node, _ path: String) throws(ConfigurationError) -> Bool {
        let s = try string(node, path)
        guard let b = parseBool(s) else { throw fail(path, node, "'\(s)' is not true or false") }
        return b
    }

    func oid(_ node: Node, _ path: String) throws(ConfigurationError) -> OID {
        let s = try string(node, path)
        guard let o = OID(s) else { throw fail(path, node, "'\(s)' is not a dotted object identifier such as 1.1.1.999") }
        return o
    }

    func hex(_ node: Node, _ path: String) throws(ConfigurationError) -> [UInt8] {
        let s = try string(node, path)
        guard let b = parseHex(s) else { throw fail(path, node, "'\(s)' is not a hex string such as 0001") }
        return b
    }

    func stringList(_ node: Node, _ path: String) throws(ConfigurationError) -> [String] {
        var out: [String] = []
        for (j, item) in try sequence(node, path).enumerated() {
            out.append(try nonEmpty(item, "\(path)[\(j)]"))
        }
        return out
    }

    // MARK: Document

    mutating func read(_ yaml: String) throws(ConfigurationError) -> TASE2Configuration {
        let root: Node
        do {
            guard let r = try Yams.compose(yaml: yaml) else {
                throw ConfigurationError(file: file, line: 1, field: "document", "the configuration is empty")
            }
            root = r
        } catch let e as ConfigurationError {
            throw e
        } catch let e as YamlError {
            throw yamlError(e)
        } catch {
            throw ConfigurationError(file: file, field: "document", "\(error)")
        }
        let top = try mapping(root, "", allowed: ["vcc", "bilateral_tables", "points", "points_csv", "data_sets", "devices"])
        var config = TASE2Configuration()
        if let v = top["vcc"] { config.vcc = try vcc(v) }
        if let b = top["bilateral_tables"] {
            for (i, n) in try sequence(b, "bilateral_tables").enumerated() {
                note("bilateral_tables[\(i)]", n)
                config.bilateralTables.append(try table(n, "bilateral_tables[\(i)]"))
            }
        }
        if let p = top["points"] {
            for (i, n) in try sequence(p, "points").enumerated() {
                note("points[\(i)]", n)
                config.points.append(try point(n, "points[\(i)]"))
            }
        }
        if let c = top["points_csv"] {
            let rel = try nonEmpty(c, "points_csv")
            let path = rel.hasPrefix("/") || baseDirectory == nil ? rel : "\(baseDirectory ?? ".")/\(rel)"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw fail("points_csv", c, "cannot read '\(path)'")
            }
            try csvPoints([UInt8](data), file: path, into: &config.points)
        }
        if let d = top["data_sets"] {
            for (i, n) in try sequence(d, "data_sets").enumerated() {
                note("data_sets[\(i)]", n)
                config.dataSets.append(try dataSet(n, "data_sets[\(i)]"))
            }
        }
        if let d = top["devices"] {
            for (i, n) in try sequence(d, "devices").enumerated() {
                note("devices[\(i)]", n)
                config.devices.append(try device(n, "devices[\(i)]"))
            }
        }
        return config
    }

    func yamlError(_ e: YamlError) -> ConfigurationError {
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let what = context.map { "\($0.text): " } ?? ""
            return ConfigurationError(file: file, line: mark.line, field: "document", "YAML syntax: \(what)\(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigurationError(file: file, line: context.mark.line, field: "document",
                                      "duplicate key \(duplicates.joined(separator: ", "))")
        default:
            return ConfigurationError(file: file, field: "document", "YAML: \(e)")
        }
    }

    mutating func vcc(_ node: Node) throws(ConfigurationError) -> VCCSettings {
        let m = try mapping(node, "vcc", allowed: [
            "name", "edition", "state_q_shape", "host", "port", "ap_title", "ae_qualifier", "vendor", "model", "revision",
            "open_mode", "max_pdu_size", "info_buffer_sizes", "blocks", "select_timeout", "critical_report_timeout",
            "minimum_interval", "all_changes_queue_size", "open_mode_transfer_sets", "tls",
        ])
        var v = VCCSettings()
        if let n = m["tls"] { v.tls = try tls(n, "vcc.tls") }
        if let n = m["name"] { v.name = try string(n, "vcc.name") }
        if let n = m["edition"] {
            let s = try string(n, "vcc.edition")
            guard let e = Edition(rawValue: s) else { throw fail("vcc.edition", n, "'\(s)' is not an edition; use \"2000.08\" or \"1996.08\"") }
            v.edition = e
        }
        if let n = m["state_q_shape"] {
            let s = try string(n, "vcc.state_q_shape")
            guard let q = StateQShape(configName: s) else {
                throw fail("vcc.state_q_shape", n, "'\(s)' is not a StateQ shape; use bit_string or value_and_flags")
            }
            v.stateQShape = q
        }
        if let n = m["host"] { v.host = try string(n, "vcc.host") }
        if let n = m["port"] { v.port = try integer(n, "vcc.port", Int.self) }
        if let n = m["ap_title"] { v.apTitle = try oid(n, "vcc.ap_title") }
        if let n = m["ae_qualifier"] { v.aeQualifier = try integer(n, "vcc.ae_qualifier", Int64.self) }
        if let n = m["vendor"] { v.vendor = try string(n, "vcc.vendor") }
        if let n = m["model"] { v.model = try string(n, "vcc.model") }
        if let n = m["revision"] { v.revision = try string(n, "vcc.revision") }
        if let n = m["open_mode"] { v.openMode = try bool(n, "vcc.open_mode") }
        if let n = m["max_pdu_size"] { v.maxPDUSize = try integer(n, "vcc.max_pdu_size", Int32.self) }
        if let n = m["info_buffer_sizes"] {
            var sizes: [Int] = []
            for (i, item) in try sequence(n, "vcc.info_buffer_sizes").enumerated() {
                note("vcc.info_buffer_sizes[\(i)]", item)
                sizes.append(try integer(item, "vcc.info_buffer_sizes[\(i)]", Int.self))
            }
            v.infoBufferSizes = sizes
        }
        if let n = m["blocks"] {
            var blocks: [Int] = []
            for (i, item) in try sequence(n, "vcc.blocks").enumerated() {
                note("vcc.blocks[\(i)]", item)
                blocks.append(try integer(item, "vcc.blocks[\(i)]", Int.self))
            }
            v.blocks = blocks
        }
        if let n = m["select_timeout"] { v.selectTimeout = try seconds(n, "vcc.select_timeout") }
        if let n = m["critical_report_timeout"] { v.criticalReportTimeout = try seconds(n, "vcc.critical_report_timeout") }
        if let n = m["minimum_interval"] { v.minimumInterval = try integer(n, "vcc.minimum_interval", Int32.self) }
        if let n = m["all_changes_queue_size"] { v.allChangesQueueSize = try integer(n, "vcc.all_changes_queue_size", Int.self) }
        if let n = m["open_mode_transfer_sets"] { v.openModeTransferSets = try integer(n, "vcc.open_mode_transfer_sets", Int.self) }
        return v
    }

    mutating func table(_ node: Node, _ path: String) throws(ConfigurationError) -> BilateralTableConfig {
        let m = try mapping(node, path, allowed: [
            "id", "icc", "partner", "local", "vcc_read", "vcc_write", "vcc_select", "vcc_operate", "vcc_get_tag", "vcc_set_tag",
            "check_back_ids", "transfer_sets", "max_data_sets", "max_data_set_members", "vcc_messages", "message_info_references",
            "message_local_references", "partner_vcc", "certificate", "password",
        ])
        guard let idNode = m["id"] else { throw fail("\(path).id", node, "missing (the bilateral table ID)") }
        guard let iccNode = m["icc"] else { throw fail("\(path).icc", node, "missing (the partner's ICC domain name)") }
        guard let partnerNode = m["partner"] else {
            throw fail("\(path).partner", node, "missing (how the partner is recognised: ap_title, ae_qualifier, psel, ssel, tsel)")
        }
        let p = try mapping(partnerNode, "\(path).partner", allowed: ["ap_title", "ae_qualifier", "psel", "ssel", "tsel"])
        var t = BilateralTableConfig(id: try nonEmpty(idNode, "\(path).id"), icc: try nonEmpty(iccNode, "\(path).icc"),
                                     partnerAPTitle: try p["ap_title"].map { n throws(ConfigurationError) in try oid(n, "\(path).partner.ap_title") })
        if let n = p["ae_qualifier"] { t.partnerAEQualifier = try integer(n, "\(path).partner.ae_qualifier", Int64.self) }
        if let n = p["psel"] { t.partnerPSEL = try hex(n, "\(path).partner.psel") }
        if let n = p["ssel"] { t.partnerSSEL = try hex(n, "\(path).partner.ssel") }
        if let n = p["tsel"] { t.partnerTSEL = try hex(n, "\(path).partner.tsel") }
        if let l = m["local"] {
            let lm = try mapping(l, "\(path).local", allowed: ["ap_title", "ae_qualifier"])
            if let n = lm["ap_title"] { t.localAPTitle = try oid(n, "\(path).local.ap_title") }
            if let n = lm["ae_qualifier"] { t.localAEQualifier = try integer(n, "\(path).local.ae_qualifier", Int64.self) }
        }
        if let n = m["vcc_read"] { t.vccRead = try notedStringList(n, "\(path).vcc_read") }
        if let n = m["vcc_write"] { t.vccWrite = try notedStringList(n, "\(path).vcc_write") }
        if let n = m["vcc_select"] { t.vccSelect = try notedStringList(n, "\(path).vcc_select") }
        if let n = m["vcc_operate"] { t.vccOperate = try notedStringList(n, "\(path).vcc_operate") }
        if let n = m["vcc_get_tag"] { t.vccGetTag = try notedStringList(n, "\(path).vcc_get_tag") }
        if let n = m["vcc_set_tag"] { t.vccSetTag = try notedStringList(n, "\(path).vcc_set_tag") }
        if let n = m["check_back_ids"] {
            let ids = try mapping(n, "\(path).check_back_ids", allowed: nil)
            for (device, v) in ids { t.checkBackIDs[device] = try integer(v, "\(path).check_back_ids.\(device)", Int16.self) }
        }
        if let n = m["transfer_sets"] { t.transferSets = try integer(n, "\(path).transfer_sets", Int.self) }
        if let n = m["max_data_sets"] { t.maxDataSets = try integer(n, "\(path).max_data_sets", Int.self) }
        if let n = m["max_data_set_members"] { t.maxDataSetMembers = try integer(n, "\(path).max_data_set_members", Int.self) }
        if let n = m["vcc_messages"] { t.vccMessages = try bool(n, "\(path).vcc_messages") }
        if let n = m["message_info_references"] {
            for (i, item) in try sequence(n, "\(path).message_info_references").enumerated() {
                t.messageInfoReferences.append(try integer(item, "\(path).message_info_references[\(i)]", Int32.self))
            }
        }
        if let n = m["message_local_references"] {
            for (i, item) in try sequence(n, "\(path).message_local_references").enumerated() {
                t.messageLocalReferences.append(try integer(item, "\(path).message_local_references[\(i)]", Int32.self))
            }
        }
        if let n = m["partner_vcc"] { t.partnerVCC = try partnerVCC(n, "\(path).partner_vcc") }
        if let n = m["certificate"] {
            let c = try mapping(n, "\(path).certificate", allowed: ["sha256", "subject", "issuer"])
            if let f = c["sha256"] {
                let list = try notedStringList(f, "\(path).certificate.sha256")
                for (i, text) in list.enumerated() {
                    guard let normal = SHA256.normalizedFingerprint(text) else {
                        throw fail("\(path).certificate.sha256[\(i)]", f, "'\(text)' is not a SHA-256 fingerprint (32 hex octets, as openssl x509 -fingerprint -sha256 prints)")
                    }
                    t.credentials.certificateSHA256.append(normal)
                }
            }
            if let f = c["subject"] { t.credentials.certificateSubject = try nonEmpty(f, "\(path).certificate.subject") }
            if let f = c["issuer"] { t.credentials.certificateIssuer = try nonEmpty(f, "\(path).certificate.issuer") }
            guard t.credentials.requiresCertificate else {
                throw fail("\(path).certificate", n, "names no certificate: give sha256, or subject (and issuer)")
            }
        }
        if let n = m["password"] { t.credentials.password = try nonEmpty(n, "\(path).password") }
        return t
    }

    /// `vcc.tls`: files are relative to the configuration file.
    mutating func tls(_ node: Node, _ path: String) throws(ConfigurationError) -> TLSSettings {
        let m = try mapping(node, path, allowed: ["certificate", "key", "trust_roots", "crls", "require_client_certificate", "expiry_warning_days", "plain_port"])
        func file(_ n: Node, _ field: String) throws(ConfigurationError) -> String {
            let rel = try nonEmpty(n, field)
            return rel.hasPrefix("/") || baseDirectory == nil ? rel : "\(baseDirectory ?? ".")/\(rel)"
        }
        guard let c = m["certificate"] else { throw fail("\(path).certificate", node, "missing (PEM file of this VCC's certificate chain)") }
        guard let k = m["key"] else { throw fail("\(path).key", node, "missing (PEM file of the certificate's private key)") }
        var t = TLSSettings(certificate: try file(c, "\(path).certificate"), key: try file(k, "\(path).key"))
        if let n = m["trust_roots"] {
            for (i, item) in try sequence(n, "\(path).trust_roots").enumerated() { t.trustRoots.append(try file(item, "\(path).trust_roots[\(i)]")) }
        }
        if let n = m["crls"] {
            for (i, item) in try sequence(n, "\(path).crls").enumerated() { t.crls.append(try file(item, "\(path).crls[\(i)]")) }
        }
        if let n = m["require_client_certificate"] { t.requireClientCertificate = try bool(n, "\(path).require_client_certificate") }
        if let n = m["expiry_warning_days"] { t.expiryWarningDays = try integer(n, "\(path).expiry_warning_days", Int.self) }
        if let n = m["plain_port"] { t.plainPort = try integer(n, "\(path).plain_port", Int.self) }
        if t.requireClientCertificate && t.trustRoots.isEmpty {
            throw fail("\(path).trust_roots", node, "missing: secure mode verifies partners' certificates against these roots (or set require_client_certificate: false)")
        }
        return t
    }

    mutating func partnerVCC(_ node: Node, _ path: String) throws(ConfigurationError) -> PartnerVCCConfig {
        let m = try mapping(node, path, allowed: [
            "connect", "icc", "data_set", "points", "interval", "integrity_check", "rbe", "critical", "ap_title", "ae_qualifier",
            "identify_interval",
        ])
        var c = PartnerVCCConfig()
        if let n = m["connect"] { c.connect = try notedStringList(n, "\(path).connect") }
        if let n = m["icc"] { c.icc = try nonEmpty(n, "\(path).icc") }
        if let n = m["data_set"] { c.dataSet = try nonEmpty(n, "\(path).data_set") }
        if let n = m["points"] {
            for (j, item) in try sequence(n, "\(path).points").enumerated() {
                let p = "\(path).points[\(j)]"
                note(p, item)
                let s = try nonEmpty(item, p)
                guard let name = parseMember(s) else { throw fail(p, item, "'\(s)' is not NAME (the partner's VCC) or ICC/NAME") }
                c.points.append(name)
            }
        }
        if let n = m["interval"] { c.interval = try integer(n, "\(path).interval", Int32.self) }
        if let n = m["integrity_check"] { c.integrityCheck = try integer(n, "\(path).integrity_check", Int32.self) }
        if let n = m["rbe"] { c.rbe = try bool(n, "\(path).rbe") }
        if let n = m["critical"] { c.critical = try bool(n, "\(path).critical") }
        if let n = m["identify_interval"] {
            let v = try nonEmpty(n, "\(path).identify_interval")
            guard let x = Double(v), x.isFinite else { throw fail("\(path).identify_interval", n, "'\(v)' is not a number of seconds") }
            c.identifyInterval = x
        }
        if let n = m["ap_title"] { c.remoteAPTitle = try oid(n, "\(path).ap_title") }
        if let n = m["ae_qualifier"] { c.remoteAEQualifier = try integer(n, "\(path).ae_qualifier", Int64.self) }
        return c
    }

    /// `stringList` that also records each item's line for validation errors.
    mutating func notedStringList(_ node: Node, _ path: String) throws(ConfigurationError) -> [String] {
        for (j, item) in try sequence(node, path).enumerated() { note("\(path)[\(j)]", item) }
        return try stringList(node, path)
    }

    mutating func point(_ node: Node, _ path: String) throws(ConfigurationError) -> PointConfig {
        let m = try mapping(node, path, allowed: pointKeys)
        var cells: [String: PointCell] = [:]
        for (k, v) in m {
            cells[k] = PointCell(text: try string(v, "\(path).\(k)"), location: FieldLocation(file: file, line: v.mark?.line, field: "\(path).\(k)"))
        }
        return try makePoint(cells, row: FieldLocation(file: file, line: node.mark?.line, field: path), stateInValue: false)
    }

    mutating func dataSet(_ node: Node, _ path: String) throws(ConfigurationError) -> DataSetConfig {
        let m = try mapping(node, path, allowed: ["name", "scope", "members"])
        guard let nameNode = m["name"] else { throw fail("\(path).name", node, "missing") }
        guard let membersNode = m["members"] else { throw fail("\(path).members", node, "missing (the data set's variables)") }
        var scope = ObjectScope.vcc
        if let n = m["scope"] { scope = parseScope(try string(n, "\(path).scope")) }
        var members: [ObjectName] = []
        for (j, item) in try sequence(membersNode, "\(path).members").enumerated() {
            let p = "\(path).members[\(j)]"
            note(p, item)
            let s = try nonEmpty(item, p)
            guard let name = parseMember(s) else { throw fail(p, item, "'\(s)' is not NAME (VCC) or ICC/NAME") }
            members.append(name)
        }
        return DataSetConfig(name: try nonEmpty(nameNode, "\(path).name"), scope: scope, members: members)
    }

    mutating func device(_ node: Node, _ path: String) throws(ConfigurationError) -> DeviceConfig {
        let m = try mapping(node, path, allowed: ["name", "kind", "scope", "sbo", "taggable", "check_back_id"])
        guard let nameNode = m["name"] else { throw fail("\(path).name", node, "missing") }
        guard let kindNode = m["kind"] else { throw fail("\(path).kind", node, "missing (command, setpoint_real or setpoint_discrete)") }
        let k = try string(kindNode, "\(path).kind")
        guard let kind = DeviceConfig.Kind(rawValue: k) else {
            throw fail("\(path).kind", kindNode, "'\(k)' is not a device kind; use command, setpoint_real or setpoint_discrete")
        }
        var d = DeviceConfig(name: try nonEmpty(nameNode, "\(path).name"), kind: kind, scope: .vcc)
        if let n = m["scope"] { d.scope = parseScope(try string(n, "\(path).scope")) }
        if let n = m["sbo"] { d.sbo = try bool(n, "\(path).sbo") }
        if let n = m["taggable"] { d.taggable = try bool(n, "\(path).taggable") }
        if let n = m["check_back_id"] { d.checkBackID = try integer(n, "\(path).check_back_id", Int16.self) }
        return d
    }

    // MARK: CSV

    /// Appends the points of a CSV file; each row's fields are located in the CSV file for
    /// validation errors. Parsed from bytes, one row at a time: a utility's export of 100,000
    /// points loads in well under a second and keeps one line number per point, not a location
    /// per field.
    mutating func csvPoints(_ bytes: [UInt8], file csv: String, into points: inout [PointConfig]) throws(ConfigurationError) {
        let allowed = ["name", "type", "scope", "value", "quality", "writable"]
        var header: [String]?
        let first = points.count
        var lines: [Int32] = []
        var row: [String: PointCell] = [:]
        var line = 0
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            defer { start = end + 1 }
            line += 1
            let raw = trimmedASCII(bytes, start, end)
            if raw.isEmpty || bytes[raw.lowerBound] == UInt8(ascii: "#") { continue }
            let cells = splitCSV(bytes, raw)
            guard let columns = header else {
                let cols = cells.map { $0.lowercased() }
                for c in cols where !allowed.contains(c) {
                    throw ConfigurationError(file: csv, line: line, field: c.isEmpty ? "header" : c,
                                             "unknown column '\(c)'" + suggestion(c, allowed) + "; allowed: \(allowed.joined(separator: ", "))")
                }
                for required in ["name", "type"] where !cols.contains(required) {
                    throw ConfigurationError(file: csv, line: line, field: "header", "missing column '\(required)'")
                }
                if Set(cols).count != cols.count { throw ConfigurationError(file: csv, line: line, field: "header", "a column is named twice") }
                header = cols
                continue
            }
            guard cells.count == columns.count else {
                throw ConfigurationError(file: csv, line: line, field: "row", "expected \(columns.count) cells, found \(cells.count)")
            }
            row.removeAll(keepingCapacity: true)
            for (c, v) in zip(columns, cells) where !v.isEmpty {
                row[c] = PointCell(text: v, location: FieldLocation(file: csv, line: line, field: c))
            }
            points.append(try makePoint(row, row: FieldLocation(file: csv, line: line, field: "row"), stateInValue: true))
            lines.append(Int32(clamping: line))
        }
        csvRows = CSVRows(file: csv, first: first, lines: lines)
    }
}

/// The CSV line of each point read from `points_csv` (points `first…`), so that a validation
/// error on `points[i].field` names the file, line and column.
struct CSVRows {
    var file: String
    var first: Int
    var lines: [Int32]

    /// The location of a field path `points[i]…` when point i came from the CSV.
    func locate(_ path: String) -> FieldLocation? {
        guard path.hasPrefix("points["), let close = path.firstIndex(of: "]") else { return nil }
        guard let i = Int(path[path.index(path.startIndex, offsetBy: 7)..<close]), i >= first, i - first < lines.count else { return nil }
        let rest = path[path.index(after: close)...]
        let field = rest.isEmpty ? "row" : String(rest.drop(while: { $0 == "." }))
        return FieldLocation(file: file, line: Int(lines[i - first]), field: field)
    }
}

/// The range of `bytes[start..<end]` without leading and trailing ASCII white space (and CR).
func trimmedASCII(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Range<Int> {
    var a = start, b = end
    while a < b && (bytes[a] == 0x20 || bytes[a] == 0x09 || bytes[a] == 0x0D) { a += 1 }
    while b > a && (bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09 || bytes[b - 1] == 0x0D) { b -= 1 }
    return a..<b
}

/// The cells of one CSV line: comma-separated, a cell may be quoted ("a, b"; "" is a quote),
/// each trimmed of white space outside quotes.
func splitCSV(_ bytes: [UInt8], _ range: Range<Int>) -> [String] {
    var cells: [String] = []
    var i = range.lowerBound
    while true {
        var cellStart = i
        while cellStart < range.upperBound && (bytes[cellStart] == 0x20 || bytes[cellStart] == 0x09) { cellStart += 1 }
        if cellStart < range.upperBound && bytes[cellStart] == UInt8(ascii: "\"") {
            // Quoted: up to the closing quote, "" for a quote; anything after it up to the comma is kept.
            var cell: [UInt8] = []
            var j = cellStart + 1
            while j < range.upperBound {
                if bytes[j] == UInt8(ascii: "\"") {
                    if j + 1 < range.upperBound && bytes[j + 1] == UInt8(ascii: "\"") {
                        cell.append(UInt8(ascii: "\""))
                        j += 2
                        continue
                    }
                    j += 1
                    break
                }
                cell.append(bytes[j])
                j += 1
            }
            var k = j
            while k < range.upperBound && bytes[k] != UInt8(ascii: ",") { k += 1 }
            let tail = trimmedASCII(bytes, j, k)
            cell.append(contentsOf: bytes[tail])
            cells.append(String(decoding: cell, as: UTF8.self))
            guard k < range.upperBound else { return cells }
            i = k + 1
        } else {
            var k = cellStart
            while k < range.upperBound && bytes[k] != UInt8(ascii: ",") { k += 1 }
            cells.append(String(decoding: bytes[trimmedASCII(bytes, cellStart, k)], as: UTF8.self))
            guard k < range.upperBound else { return cells }
            i = k + 1
        }
    }
}

// MARK: Points

/// Builds a point from its textual fields. `stateInValue`: the CSV `value` column holds the state
/// name of State points (the CSV has one value column for every type).
func makePoint(_ f: [String: PointCell], row: FieldLocation, stateInValue: Bool) throws(ConfigurationError) -> PointConfig {
    func missing(_ key: String) -> ConfigurationError {
        ConfigurationError(file: row.file, line: row.line, field: row.field == "row" ? key : "\(row.field).\(key)", "missing")
    }
    guard let nameCell = f["name"] else { throw missing("name") }
    guard let typeCell = f["type"] else { throw missing("type") }
    guard let type = PointType(rawValue: typeCell.text) else {
        let names = PointType.allCases.map(\.rawValue)
        throw typeCell.error("unknown point type '\(typeCell.text)'" + suggestion(typeCell.text, names) + "; types: \(names.joined(separator: ", "))")
    }
    let scope = f["scope"].map { parseScope($0.text) } ?? .vcc
    var v = PointValue()
    let carries = PointFields(type)

    func number<T: FixedWidthInteger>(_ c: PointCell, _: T.Type) throws(ConfigurationError) -> T {
        guard let n = T(c.text) else { throw c.error("'\(c.text)' is not an integer in \(T.min)…\(T.max)") }
        return n
    }
    func state(_ c: PointCell) throws(ConfigurationError) -> UInt8 {
        guard let s = StateValue(configName: c.text) else { throw c.error("'\(c.text)' is not a state; use between, off, on or invalid") }
        return s.rawValue << 6
    }
    func reject(_ c: PointCell, _ what: String) -> ConfigurationError { c.error("a \(type.rawValue) point has no \(what)") }

    if let c = f["value"] {
        switch type.base {
        case .real:
            guard let x = Float(c.text), x.isFinite else { throw c.error("'\(c.text)' is not a finite number") }
            v.real = x
        case .discrete: v.discrete = try number(c, Int32.self)
        case .stateSupplemental: v.state = try number(c, UInt8.self)
        case .protection: v.eventFlags = try number(c, UInt8.self)
        case .state:
            guard stateInValue else { throw c.error("a \(type.rawValue) point takes `state: between|off|on|invalid`, not a value") }
            v.state = try state(c)
        }
    }
    if let c = f["state"] {
        guard type.base == .state else {
            throw c.error("only State types take `state`; a \(type.rawValue) point takes `value`")
        }
        v.state = try state(c)
    }
    if let c = f["quality"] {
        guard carries.flags else { throw reject(c, "quality flags") }
        guard let q = DataFlags.Validity(configName: c.text) else {
            throw c.error("'\(c.text)' is not a quality; use valid, held, suspect or not_valid")
        }
        v.flags.validity = q
    }
    if let c = f["source"] {
        guard carries.flags else { throw reject(c, "quality flags") }
        guard let s = DataFlags.CurrentSource(configName: c.text) else {
            throw c.error("'\(c.text)' is not a source; use telemetered, calculated, entered or estimated")
        }
        v.flags.currentSource = s
    }
    if let c = f["off_normal"] {
        guard carries.flags else { throw reject(c, "quality flags") }
        guard let b = parseBool(c.text) else { throw c.error("'\(c.text)' is not true or false") }
        v.flags.offNormal = b
    }
    if let c = f["time_stamp_invalid"] {
        guard carries.flags else { throw reject(c, "quality flags") }
        guard let b = parseBool(c.text) else { throw c.error("'\(c.text)' is not true or false") }
        v.flags.timeStampInvalid = b
    }
    if let c = f["time_stamp"] {
        guard carries.timeStamp else { throw reject(c, "time stamp") }
        v.timeStamp = try number(c, Int32.self)
    }
    if let c = f["milliseconds"] {
        guard carries.milliseconds else { throw reject(c, "milliseconds (only TimeStampExtended types do)") }
        let ms = try number(c, Int16.self)
        guard (0...999).contains(ms) else { throw c.error("\(ms) is not in 0…999") }
        v.milliseconds = ms
    }
    if let c = f["cov"] {
        guard carries.cov else { throw reject(c, "COV counter (only Extended types do)") }
        v.cov = try number(c, UInt16.self)
    }
    if let c = f["packed_event"] {
        guard type.layout().carriesPackedEvent else { throw reject(c, "packed_event") }
        v.packedEvent = try number(c, UInt8.self)
    }
    if let c = f["operating_time"] {
        guard type.layout().carriesOperatingTime else { throw reject(c, "operating_time") }
        v.operatingTime = try number(c, Int16.self)
    }
    var writable = false
    if let c = f["writable"] {
        guard let b = parseBool(c.text) else { throw c.error("'\(c.text)' is not true or false") }
        writable = b
    }
    return PointConfig(name: nameCell.text, type: type, scope: scope, initial: v, writable: writable)
}

/// Which `PointValue` fields a point type puts on the wire (and so may be configured): read off
/// the type's layout, the one table of point types.
struct PointFields {
    var flags: Bool
    var timeStamp: Bool
    var milliseconds: Bool
    var cov: Bool

    init(_ t: PointType) {
        let l = t.layout()
        flags = l.carriesFlags
        timeStamp = l.carriesTimeStamp
        milliseconds = l.carriesMilliseconds
        cov = l.carriesCOV
    }
}

// MARK: Small parsers shared with the writer

func parseScope(_ s: String) -> ObjectScope { s.isEmpty || s == "VCC" ? .vcc : .icc(s) }

/// `NAME` → VCC scope, `ICC/NAME` → that domain.
func parseMember(_ s: String) -> ObjectName? {
    let parts = s.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    switch parts.count {
    case 1: return .vmdSpecific(parts[0])
    case 2 where !parts[0].isEmpty && !parts[1].isEmpty: return .domainSpecific(domain: parts[0], item: parts[1])
    default: return nil
    }
}

func memberText(_ n: ObjectName) -> String {
    switch n {
    case .vmdSpecific(let i), .aaSpecific(let i): return i
    case .domainSpecific(let d, let i): return "\(d)/\(i)"
    }
}

func parseBool(_ s: String) -> Bool? {
    switch s.lowercased() {
    case "true", "yes": return true
    case "false", "no": return false
    default: return nil
    }
}

func parseHex(_ s: String) -> [UInt8]? {
    var h = Substring(s)
    if h.hasPrefix("0x") || h.hasPrefix("0X") { h = h.dropFirst(2) }
    let digits = Array(h)
    guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    for i in stride(from: 0, to: digits.count, by: 2) {
        guard let b = UInt8(String(digits[i...i + 1]), radix: 16) else { return nil }
        out.append(b)
    }
    return out
}

/// ` (did you mean 'x'?)` for a near miss, so a typo names its fix.
func suggestion(_ word: String, _ candidates: [String]) -> String {
    let w = Array(word.lowercased())
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(w, Array(c.lowercased()))
        if d <= max(1, min(3, w.count / 3)), d < (best?.1 ?? Int.max) { best = (c, d) }
    }
    return best.map { " (did you mean '\($0.0)'?)" } ?? ""
}

private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    var prev = Array(0...b.count)
    for i in 1...a.count {
        var cur = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[b.count]
}

// MARK: Names in the file

extension StateQShape {
    init?(configName: String) {
        switch configName {
        case "bit_string": self = .bitString
        case "value_and_flags": self = .valueAndFlags
        default: return nil
        }
    }
    var configName: String { self == .bitString ? "bit_string" : "value_and_flags" }
}

extension StateValue {
    static let configNames: [StateValue: String] = [.between: "between", .off: "off", .on: "on", .invalid: "invalid"]
    init?(configName: String) {
        guard let s = StateValue.configNames.first(where: { $0.value == configName.lowercased() })?.key else { return nil }
        self = s
    }
    var configName: String { StateValue.configNames[self] ?? "between" }
}

extension DataFlags.Validity {
    static let configNames: [DataFlags.Validity: String] = [.valid: "valid", .held: "held", .suspect: "suspect", .notValid: "not_valid"]
    init?(configName: String) {
        guard let s = Self.configNames.first(where: { $0.value == configName.lowercased() })?.key else { return nil }
        self = s
    }
    var configName: String { Self.configNames[self] ?? "valid" }
}

extension DataFlags.CurrentSource {
    static let configNames: [DataFlags.CurrentSource: String] = [
        .telemetered: "telemetered", .calculated: "calculated", .entered: "entered", .estimated: "estimated",
    ]
    init?(configName: String) {
        guard let s = Self.configNames.first(where: { $0.value == configName.lowercased() })?.key else { return nil }
        self = s
    }
    var configName: String { Self.configNames[self] ?? "telemetered" }
}
