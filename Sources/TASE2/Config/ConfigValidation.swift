import MMS

extension TASE2Configuration {
    /// Checks that the configuration can be served: names, scopes, references between points,
    /// data sets and bilateral tables, and edition-dependent types. Errors name the field path
    /// as in the YAML file (`points[3].scope`); `ConfigLoader` adds file and line.
    public func validate() throws(ConfigurationError) {
        func fail(_ field: String, _ message: String) -> ConfigurationError { ConfigurationError(field: field, message) }
        func checkName(_ name: String, _ field: @autoclosure () -> String) throws(ConfigurationError) {
            guard TASE2Names.isValidObjectName(name) else {
                var why = "1–\(MMSIdentifier.maxLength) characters: letters, digits and _, not starting with a digit"
                if name.utf8.count > MMSIdentifier.maxLength { why = "\(name.utf8.count) characters, at most \(MMSIdentifier.maxLength) allowed" }
                if name.contains("$") { why = "`$` is not allowed (libiec61850-based peers drop such names)" }
                throw fail(field(), "'\(name)' is not a valid TASE.2 object name: \(why)")
            }
        }

        // VCC
        try checkName(vcc.name, "vcc.name")
        guard !vcc.host.isEmpty else { throw fail("vcc.host", "must not be empty") }
        // Port 0 asks the system for a free port (tests, ad-hoc runs).
        guard (0...65535).contains(vcc.port) else { throw fail("vcc.port", "\(vcc.port) is not a TCP port (0…65535, 0 = any free port)") }
        for (i, size) in vcc.infoBufferSizes.enumerated() where !(1...60_000).contains(size) {
            throw fail("vcc.info_buffer_sizes[\(i)]", "\(size) is not an information buffer size (1…60000)")
        }
        guard (1024...16_777_216).contains(vcc.maxPDUSize) else {
            throw fail("vcc.max_pdu_size", "\(vcc.maxPDUSize) is not in 1024…16777216")
        }
        if let blocks = vcc.blocks {
            for (i, b) in blocks.enumerated() where ![1, 2, 4, 5].contains(b) {
                throw fail("vcc.blocks[\(i)]", "block \(b) is not implemented (FreeTase2 has blocks 1, 2, 4 and 5)")
            }
            guard blocks.contains(1) && blocks.contains(2) else { throw fail("vcc.blocks", "blocks 1 and 2 are always served; list them") }
            if blocks.contains(4) && vcc.infoBufferSizes.isEmpty {
                throw fail("vcc.blocks", "block 4 needs information buffers (vcc.info_buffer_sizes is empty)")
            }
        }
        for (field, value) in [("vcc.select_timeout", vcc.selectTimeout), ("vcc.critical_report_timeout", vcc.criticalReportTimeout)]
        where !(value > 0 && value <= 86_400) {
            throw fail(field, "\(value) s is not in (0, 86400] seconds")
        }
        guard (0...86_400).contains(vcc.minimumInterval) else {
            throw fail("vcc.minimum_interval", "\(vcc.minimumInterval) is not in 0…86400 seconds")
        }
        guard (1...1_000_000).contains(vcc.allChangesQueueSize) else {
            throw fail("vcc.all_changes_queue_size", "\(vcc.allChangesQueueSize) is not in 1…1000000")
        }
        guard (0...1000).contains(vcc.openModeTransferSets) else {
            throw fail("vcc.open_mode_transfer_sets", "\(vcc.openModeTransferSets) is not in 0…1000")
        }

        // Bilateral tables
        if bilateralTables.isEmpty && !vcc.openMode {
            throw fail("bilateral_tables", "at least one bilateral table is required unless vcc.open_mode is true")
        }
        var tableIDs: [String: Int] = [:]
        var iccTables: [String: Int] = [:]
        for (i, t) in bilateralTables.enumerated() {
            let path = "bilateral_tables[\(i)]"
            try checkName(t.id, "\(path).id")
            if let first = tableIDs[t.id] { throw fail("\(path).id", "duplicate bilateral table ID '\(t.id)' (also bilateral_tables[\(first)])") }
            tableIDs[t.id] = i
            try checkName(t.icc, "\(path).icc")
            guard t.icc != "VCC" else { throw fail("\(path).icc", "'VCC' names the VCC scope; choose another ICC name") }
            if let first = iccTables[t.icc] {
                throw fail("\(path).icc", "ICC '\(t.icc)' already belongs to bilateral_tables[\(first)]; each table has its own ICC")
            }
            iccTables[t.icc] = i
            guard (0...1000).contains(t.transferSets) else { throw fail("\(path).transfer_sets", "\(t.transferSets) is not in 0…1000") }
            if let a = t.partnerAPTitle, a.components.count < 2 { throw fail("\(path).partner.ap_title", "needs at least two arcs") }
            guard t.partnerAPTitle != nil || t.partnerAEQualifier != nil || t.partnerPSEL != nil || t.partnerSSEL != nil || t.partnerTSEL != nil else {
                throw fail("\(path).partner", "names nothing to recognise the partner by; give ap_title, ae_qualifier, psel, ssel or tsel")
            }
            if let a = t.localAPTitle, a.components.count < 2 { throw fail("\(path).local.ap_title", "needs at least two arcs") }
            guard (0...10_000).contains(t.maxDataSets) else { throw fail("\(path).max_data_sets", "\(t.maxDataSets) is not in 0…10000") }
            guard (1...100_000).contains(t.maxDataSetMembers) else {
                throw fail("\(path).max_data_set_members", "\(t.maxDataSetMembers) is not in 1…100000")
            }
            if let p = t.partnerVCC {
                let pp = "\(path).partner_vcc"
                for (j, address) in p.connect.enumerated() where PartnerAddress(address) == nil {
                    throw fail("\(pp).connect[\(j)]", "'\(address)' is not host:port (port 1…65535)")
                }
                if let icc = p.icc { try checkName(icc, "\(pp).icc") }
                try checkName(p.dataSet, "\(pp).data_set")
                guard !p.points.isEmpty else { throw fail("\(pp).points", "list the partner's points to subscribe to") }
                for (j, m) in p.points.enumerated() {
                    guard TASE2Names.isValidObjectName(m.itemName) else {
                        throw fail("\(pp).points[\(j)]", "'\(m.itemName)' is not a valid TASE.2 object name")
                    }
                }
                guard (0...86_400).contains(p.interval), (0...86_400).contains(p.integrityCheck) else {
                    throw fail("\(pp).interval", "interval and integrity_check are seconds in 0…86400")
                }
                guard p.interval > 0 || p.integrityCheck > 0 || p.rbe else {
                    throw fail("\(pp)", "with interval 0, integrity_check 0 and rbe false the partner would never report")
                }
                guard p.identifyInterval == 0 || (1...86_400).contains(p.identifyInterval) else {
                    throw fail("\(pp).identify_interval", "\(p.identifyInterval) is not 0 (none) or seconds in 1…86400")
                }
                if let a = p.remoteAPTitle, a.components.count < 2 { throw fail("\(pp).ap_title", "needs at least two arcs") }
            }
        }

        // ICC domains that exist: those of the tables, or (open server) any domain the model uses.
        var iccs = Set(iccTables.keys)
        let openAnyDomain = vcc.openMode && bilateralTables.isEmpty
        if openAnyDomain {
            for p in points { if case .icc(let d) = p.scope { iccs.insert(d) } }
            for d in dataSets { if case .icc(let n) = d.scope { iccs.insert(n) } }
        }
        var checkedDomains: Set<String> = []
        func checkScope(_ scope: ObjectScope, _ field: @autoclosure () -> String) throws(ConfigurationError) {
            guard case .icc(let d) = scope, !checkedDomains.contains(d) else { return }
            try checkName(d, field())
            guard iccs.contains(d) else {
                let known = iccTables.keys.sorted().joined(separator: ", ")
                throw fail(field(), "no bilateral table has ICC '\(d)'" + (known.isEmpty ? "" : " (ICCs: \(known))"))
            }
            checkedDomains.insert(d)
        }

        // Points
        let reserved: Set<String> = TASE2Names.transferSetSpecials.union([
            TASE2Names.version, TASE2Names.supportedFeatures, TASE2Names.bilateralTableID, TASE2Names.nextDSTransferSet,
            TASE2Names.transferReportACK, TASE2Names.transferReportNACK,
        ])
        var pointIndex: [ObjectScope: [String: Int]] = [:]
        for (i, p) in points.enumerated() {
            // Built only for an error message: 100,000 points would otherwise format 100,000 paths.
            var path: String { "points[\(i)]" }
            try checkName(p.name, "\(path).name")
            guard !reserved.contains(p.name) else { throw fail("\(path).name", "'\(p.name)' is a TASE.2 system variable name") }
            try checkScope(p.scope, "\(path).scope")
            if p.type.requires2000Edition && vcc.edition != .v2000 {
                throw fail("\(path).type", "\(p.type.rawValue) needs edition 2000.08 (vcc.edition is \(vcc.edition.rawValue))")
            }
            if let first = pointIndex[p.scope]?[p.name] {
                throw fail("\(path).name", "duplicate point '\(p.name)' in scope \(p.scope) (also points[\(first)])")
            }
            pointIndex[p.scope, default: [:]][p.name] = i
        }
        func point(_ name: String, in scope: ObjectScope) -> PointConfig? { pointIndex[scope]?[name].map { points[$0] } }

        // Devices: their names, and `<name>_SBO` / `<name>_TAG`, must stay identifiers and not clash with points.
        var deviceIndex: [ObjectScope: [String: Int]] = [:]
        for (i, d) in devices.enumerated() {
            let path = "devices[\(i)]"
            try checkName(d.name, "\(path).name")
            guard d.name.utf8.count <= 28 else { throw fail("\(path).name", "'\(d.name)' is too long: \(d.name)_SBO must fit 32 characters") }
            guard !reserved.contains(d.name) else { throw fail("\(path).name", "'\(d.name)' is a TASE.2 system variable name") }
            try checkScope(d.scope, "\(path).scope")
            for n in [d.name, d.name + "_SBO", d.name + "_TAG"] where point(n, in: d.scope) != nil {
                throw fail("\(path).name", "'\(n)' is also a point in scope \(d.scope)")
            }
            if let first = deviceIndex[d.scope]?[d.name] {
                throw fail("\(path).name", "duplicate device '\(d.name)' in scope \(d.scope) (also devices[\(first)])")
            }
            deviceIndex[d.scope, default: [:]][d.name] = i
        }

        /// `<Dev>_TAG` of a taggable device: a data set may report tags.
        func taggable(_ item: String, in scope: ObjectScope) -> Bool {
            guard item.hasSuffix("_TAG"), let i = deviceIndex[scope]?[String(item.dropLast(4))] else { return false }
            return devices[i].taggable
        }

        // Data sets
        var dataSetIndex: [ObjectScope: [String: Int]] = [:]
        for (i, ds) in dataSets.enumerated() {
            let path = "data_sets[\(i)]"
            try checkName(ds.name, "\(path).name")
            try checkScope(ds.scope, "\(path).scope")
            if let first = dataSetIndex[ds.scope]?[ds.name] {
                throw fail("\(path).name", "duplicate data set '\(ds.name)' in scope \(ds.scope) (also data_sets[\(first)])")
            }
            dataSetIndex[ds.scope, default: [:]][ds.name] = i
            guard !ds.members.isEmpty else { throw fail("\(path).members", "a data set needs at least one member") }
            for (j, m) in ds.members.enumerated() {
                let field = "\(path).members[\(j)]"
                switch m {
                case .vmdSpecific(let item):
                    guard point(item, in: .vcc) != nil || taggable(item, in: .vcc) else { throw fail(field, "no VCC point '\(item)'") }
                case .domainSpecific(let d, let item):
                    guard iccs.contains(d) else { throw fail(field, "no ICC '\(d)'") }
                    guard ds.scope == .icc(d) else {
                        throw fail(field, "a data set in scope \(ds.scope) may use only its own ICC's objects and VCC points, not \(d)/\(item)")
                    }
                    guard point(item, in: .icc(d)) != nil || TASE2Names.transferSetSpecials.contains(item) || taggable(item, in: .icc(d)) else {
                        throw fail(field, "no point '\(item)' in ICC \(d)")
                    }
                case .aaSpecific(let item):
                    throw fail(field, "'\(item)': association-specific members are not allowed")
                }
            }
        }

        // Rights on VCC objects (they refer to points and data sets)
        for (i, t) in bilateralTables.enumerated() {
            let path = "bilateral_tables[\(i)]"
            for (j, name) in t.vccRead.enumerated() where name != "*" {
                guard point(name, in: .vcc) != nil || dataSetIndex[.vcc]?[name] != nil else {
                    throw fail("\(path).vcc_read[\(j)]", "no VCC point or data set '\(name)'")
                }
            }
            for (key, names) in [("vcc_select", t.vccSelect), ("vcc_operate", t.vccOperate), ("vcc_get_tag", t.vccGetTag),
                                 ("vcc_set_tag", t.vccSetTag)] {
                for (j, name) in (names ?? []).enumerated() where deviceIndex[.vcc]?[name] == nil {
                    throw fail("\(path).\(key)[\(j)]", "no VCC device '\(name)'")
                }
            }
            for name in t.checkBackIDs.keys.sorted() where !devices.contains(where: { $0.name == name && ($0.scope == .vcc || $0.scope == .icc(t.icc)) }) {
                throw fail("\(path).check_back_ids.\(name)", "no device '\(name)' in the VCC or ICC \(t.icc)")
            }
            for (j, name) in t.vccWrite.enumerated() {
                let field = "\(path).vcc_write[\(j)]"
                // Writing a VCC device means operating (and selecting, tagging) it.
                if deviceIndex[.vcc]?[name] != nil { continue }
                guard let p = point(name, in: .vcc) else {
                    throw fail(field, name == "*" ? "list the writable VCC points; \"*\" is only for vcc_read" : "no VCC point '\(name)'")
                }
                guard p.writable else { throw fail(field, "VCC point '\(name)' is not writable (set writable: true on the point)") }
            }
        }
    }
}
