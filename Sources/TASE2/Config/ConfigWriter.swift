import BER
import MMS

extension TASE2Configuration {
    /// The configuration in the file format `ConfigLoader` reads, so that a generated file
    /// (`tase2 demo-config`) loads back to the same value. Point fields that the point's type
    /// does not carry on the wire are not written (and so do not survive the round trip).
    public func yaml() -> String {
        var out = "# FreeTase2 VCC configuration (format: docs/configuration.md)\n"
        out += "vcc:\n"
        let v = vcc
        let vccFields: [(String, String)] = [
            ("name", yamlString(v.name)), ("edition", quoted(v.edition.rawValue)), ("state_q_shape", v.stateQShape.configName),
            ("host", yamlString(v.host)), ("port", "\(v.port)"), ("ap_title", v.apTitle.description),
            ("ae_qualifier", "\(v.aeQualifier)"), ("vendor", yamlString(v.vendor)), ("model", yamlString(v.model)),
            ("revision", yamlString(v.revision)), ("open_mode", "\(v.openMode)"), ("max_pdu_size", "\(v.maxPDUSize)"),
            ("info_buffer_sizes", "[" + v.infoBufferSizes.map(String.init).joined(separator: ", ") + "]"),
        ] + (v.blocks.map { [("blocks", "[" + $0.map(String.init).joined(separator: ", ") + "]")] } ?? []) + [
            ("select_timeout", seconds(v.selectTimeout)), ("critical_report_timeout", seconds(v.criticalReportTimeout)),
            ("minimum_interval", "\(v.minimumInterval)"), ("all_changes_queue_size", "\(v.allChangesQueueSize)"),
            ("open_mode_transfer_sets", "\(v.openModeTransferSets)"),
        ]
        for (k, value) in vccFields { out += "  \(k): \(value)\n" }

        out += bilateralTables.isEmpty ? "bilateral_tables: []\n" : "bilateral_tables:\n"
        for t in bilateralTables {
            var partner: [(String, String)] = t.partnerAPTitle.map { [("ap_title", $0.description)] } ?? []
            if let q = t.partnerAEQualifier { partner.append(("ae_qualifier", "\(q)")) }
            if let s = t.partnerPSEL { partner.append(("psel", quoted(hexString(s)))) }
            if let s = t.partnerSSEL { partner.append(("ssel", quoted(hexString(s)))) }
            if let s = t.partnerTSEL { partner.append(("tsel", quoted(hexString(s)))) }
            out += "  - id: \(yamlString(t.id))\n"
            out += "    icc: \(yamlString(t.icc))\n"
            out += "    partner: \(flowMapping(partner))\n"
            var local: [(String, String)] = t.localAPTitle.map { [("ap_title", $0.description)] } ?? []
            if let q = t.localAEQualifier { local.append(("ae_qualifier", "\(q)")) }
            if !local.isEmpty { out += "    local: \(flowMapping(local))\n" }
            out += "    vcc_read: \(flowList(t.vccRead))\n"
            out += "    vcc_write: \(flowList(t.vccWrite))\n"
            for (k, names) in [("vcc_select", t.vccSelect), ("vcc_operate", t.vccOperate), ("vcc_get_tag", t.vccGetTag), ("vcc_set_tag", t.vccSetTag)] {
                if let names { out += "    \(k): \(flowList(names))\n" }
            }
            if !t.checkBackIDs.isEmpty {
                out += "    check_back_ids: \(flowMapping(t.checkBackIDs.sorted { $0.key < $1.key }.map { (yamlString($0.key), "\($0.value)") }))\n"
            }
            out += "    transfer_sets: \(t.transferSets)\n"
            out += "    max_data_sets: \(t.maxDataSets)\n"
            out += "    max_data_set_members: \(t.maxDataSetMembers)\n"
            if !t.vccMessages { out += "    vcc_messages: false\n" }
            if !t.messageInfoReferences.isEmpty {
                out += "    message_info_references: [" + t.messageInfoReferences.map(String.init).joined(separator: ", ") + "]\n"
            }
            if !t.messageLocalReferences.isEmpty {
                out += "    message_local_references: [" + t.messageLocalReferences.map(String.init).joined(separator: ", ") + "]\n"
            }
            if let p = t.partnerVCC {
                out += "    partner_vcc:\n"
                if !p.connect.isEmpty { out += "      connect: \(flowList(p.connect))\n" }
                if let icc = p.icc { out += "      icc: \(yamlString(icc))\n" }
                out += "      data_set: \(yamlString(p.dataSet))\n"
                out += "      points: \(flowList(p.points.map(memberText)))\n"
                out += "      interval: \(p.interval)\n"
                out += "      integrity_check: \(p.integrityCheck)\n"
                out += "      rbe: \(p.rbe)\n"
                if p.critical { out += "      critical: true\n" }
                if p.identifyInterval != 60 { out += "      identify_interval: \(p.identifyInterval)\n" }
                if let a = p.remoteAPTitle { out += "      ap_title: \(a)\n" }
                if let q = p.remoteAEQualifier { out += "      ae_qualifier: \(q)\n" }
            }
        }

        out += points.isEmpty ? "points: []\n" : "points:\n"
        for p in points { out += "  - \(flowMapping(p.yamlFields))\n" }

        out += dataSets.isEmpty ? "data_sets: []\n" : "data_sets:\n"
        for d in dataSets {
            out += "  - \(flowMapping([("name", yamlString(d.name)), ("scope", yamlString(d.scope.description)), ("members", flowList(d.members.map(memberText)))]))\n"
        }
        if !devices.isEmpty {
            out += "devices:\n"
            for d in devices {
                out += "  - \(flowMapping([("name", yamlString(d.name)), ("kind", d.kind.rawValue), ("scope", yamlString(d.scope.description)), ("sbo", d.sbo ? "true" : "false"), ("taggable", d.taggable ? "true" : "false")] + (d.checkBackID.map { [("check_back_id", "\($0)")] } ?? [])))\n"
            }
        }
        return out
    }
}

extension PointConfig {
    /// The point's keys in file order; only the value fields its type carries, and only when not the default.
    var yamlFields: [(String, String)] {
        var f: [(String, String)] = [("name", yamlString(name)), ("type", type.rawValue), ("scope", yamlString(scope.description))]
        let v = initial
        let zero = PointValue()
        let carries = PointFields(type)
        switch type.base {
        case .real: f.append(("value", "\(v.real)"))
        case .discrete: f.append(("value", "\(v.discrete)"))
        case .stateSupplemental: f.append(("value", "\(v.state)"))
        case .protection: f.append(("value", "\(v.eventFlags)"))
        case .state: f.append(("state", StateValue(octet: v.state).configName))
        }
        if carries.flags {
            f.append(("quality", v.flags.validity.configName))
            if v.flags.currentSource != zero.flags.currentSource { f.append(("source", v.flags.currentSource.configName)) }
            if v.flags.offNormal { f.append(("off_normal", "true")) }
            if v.flags.timeStampInvalid { f.append(("time_stamp_invalid", "true")) }
        }
        if carries.timeStamp && v.timeStamp != zero.timeStamp { f.append(("time_stamp", "\(v.timeStamp)")) }
        if carries.milliseconds && v.milliseconds != zero.milliseconds { f.append(("milliseconds", "\(v.milliseconds)")) }
        if carries.cov && v.cov != zero.cov { f.append(("cov", "\(v.cov)")) }
        if type.layout().carriesPackedEvent && v.packedEvent != zero.packedEvent { f.append(("packed_event", "\(v.packedEvent)")) }
        if type.layout().carriesOperatingTime && v.operatingTime != zero.operatingTime { f.append(("operating_time", "\(v.operatingTime)")) }
        if writable { f.append(("writable", "true")) }
        return f
    }
}

/// Seconds as written: an integer when whole.
private func seconds(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? "\(Int64(v))" : "\(v)" }

private func flowMapping(_ fields: [(String, String)]) -> String {
    "{ " + fields.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + " }"
}

private func flowList(_ items: [String]) -> String { "[" + items.map(yamlString).joined(separator: ", ") + "]" }

private func hexString(_ b: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(b.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
}

/// Plain when the text is an identifier-like word, double-quoted otherwise.
private func yamlString(_ s: String) -> String {
    let safe = !s.isEmpty && s.unicodeScalars.allSatisfy { c in
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "." || c == "/"
    }
    // A leading digit, dot or slash would read as a number or look odd to other YAML tools.
    let letterFirst = s.unicodeScalars.first.map { $0 == "_" || ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") } ?? false
    return safe && letterFirst ? s : quoted(s)
}

private func quoted(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if c.value < 0x20 || c.value == 0x7F {
                out += "\\x" + String(c.value, radix: 16).leftPadded(to: 2)
            } else {
                out.unicodeScalars.append(c)
            }
        }
    }
    return out + "\""
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
