import BER
import Foundation
import MMS
import TASE2
import Testing

/// Line numbers in the error tests refer to this text (line 1 = `vcc:`).
private let base = """
    vcc:
      edition: "2000.08"
      port: 102
    bilateral_tables:
      - id: BLT_ICC1
        icc: ICC1
        partner: { ap_title: 1.1.1.999, ae_qualifier: 12 }
        vcc_read: ["*"]
        vcc_write: [Setpoint_Real]
    points:
      - { name: Line1_MW, type: RealQ, scope: VCC, value: 12.5 }
      - { name: Setpoint_Real, type: Real, writable: true }
      - { name: Breaker_1, type: StateQTimeTag, scope: ICC1, state: on }
    data_sets:
      - { name: DS_Analog, scope: ICC1, members: [ICC1/Transfer_Set_Name, Line1_MW, ICC1/Breaker_1] }

    """

private func edited(_ old: String, _ new: String) -> String {
    precondition(base.contains(old), "test text not found: \(old)")
    return base.replacingOccurrences(of: old, with: new)
}

/// Loads `yaml` expecting an error at file:line in `field`; returns it for further checks.
@discardableResult
private func expectError(_ yaml: String, line: Int?, field: String, file: String = "test.yaml",
                         sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
    do {
        let c = try ConfigLoader.load(yaml: yaml, file: file)
        Issue.record("loaded, expected an error at line \(line) in \(field): \(c.points.count) points", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.file == file, sourceLocation: sourceLocation)
        #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
        return error
    }
}

private func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tase2-config-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Suite struct ConfigTests {
    @Test func goodConfigLoads() throws {
        let c = try ConfigLoader.load(yaml: base)
        #expect(c.vcc.edition == .v2000)
        #expect(c.vcc.port == 102)
        #expect(c.bilateralTables.count == 1)
        let t = try #require(c.bilateralTables.first)
        #expect(t.id == "BLT_ICC1" && t.icc == "ICC1")
        #expect(t.partnerAPTitle == [1, 1, 1, 999])
        #expect(t.partnerAEQualifier == 12)
        #expect(t.vccRead == ["*"] && t.vccWrite == ["Setpoint_Real"])
        #expect(t.transferSets == 100)
        #expect(c.points == [
            PointConfig(name: "Line1_MW", type: .realQ, scope: .vcc, initial: .real(12.5)),
            PointConfig(name: "Setpoint_Real", type: .real, scope: .vcc, writable: true),
            PointConfig(name: "Breaker_1", type: .stateQTimeTag, scope: .icc("ICC1"), initial: .state(.on)),
        ])
        #expect(c.dataSets == [DataSetConfig(name: "DS_Analog", scope: .icc("ICC1"), members: [
            .domainSpecific(domain: "ICC1", item: "Transfer_Set_Name"), .vmdSpecific("Line1_MW"),
            .domainSpecific(domain: "ICC1", item: "Breaker_1"),
        ])])
    }

    @Test func allValueFieldsAndSelectors() throws {
        let yaml = """
            vcc: { name: X_VCC, edition: "2000.08", state_q_shape: value_and_flags, host: 127.0.0.1, port: 10102,
                   ap_title: 1.2.3, ae_qualifier: 7, vendor: "A \\"B\\"", model: M, revision: "1.0", open_mode: true, max_pdu_size: 8000 }
            bilateral_tables:
              - id: T1
                icc: ICC_A
                partner: { ap_title: 1.1.1.999, psel: "00000001", ssel: "0001", tsel: "0x0001" }
                vcc_read: [P1]
                vcc_write: []
                transfer_sets: 0
            points:
              - { name: P1, type: RealQTimeTagExtended, value: -1.5e3, quality: suspect, source: estimated, off_normal: true,
                  time_stamp_invalid: true, time_stamp: 1700000000, milliseconds: 999 }
              - { name: P2, type: DiscreteExtended, scope: ICC_A, value: -7, cov: 65535, time_stamp: 5 }
              - { name: P3, type: StateSupplementalQ, scope: ICC_A, value: 255, quality: held }
              - { name: P4, type: PackedProtectionEvent, scope: ICC_A, value: 3, packed_event: 9, operating_time: 40,
                  time_stamp: 11, milliseconds: 12 }
              - { name: P5, type: State, scope: ICC_A, state: invalid, quality: not_valid }
            """
        let c = try ConfigLoader.load(yaml: yaml)
        #expect(c.vcc.stateQShape == .valueAndFlags && c.vcc.openMode && c.vcc.maxPDUSize == 8000 && c.vcc.vendor == "A \"B\"")
        let t = try #require(c.bilateralTables.first)
        #expect(t.partnerAEQualifier == nil)
        #expect(t.partnerPSEL == [0, 0, 0, 1] && t.partnerSSEL == [0, 1] && t.partnerTSEL == [0, 1])
        let p1 = c.points[0].initial
        #expect(p1.real == -1500 && p1.timeStamp == 1_700_000_000 && p1.milliseconds == 999)
        #expect(p1.flags == DataFlags(validity: .suspect, source: .estimated, offNormal: true, timeStampInvalid: true))
        #expect(c.points[1].initial.discrete == -7 && c.points[1].initial.cov == 65535)
        #expect(c.points[2].initial.state == 255 && c.points[2].initial.flags.validity == .held)
        #expect(c.points[3].initial == PointValue(timeStamp: 11, milliseconds: 12, eventFlags: 3, packedEvent: 9, operatingTime: 40))
        #expect(c.points[4].initial == .state(.invalid, flags: DataFlags(validity: .notValid)))
        // Everything above survives the writer.
        #expect(try ConfigLoader.load(yaml: c.yaml()) == c)
    }

    @Test func demoRoundTrip() throws {
        let demo = DemoConfiguration.make()
        try demo.validate()
        #expect(Set(demo.points.map(\.type)) == Set(PointType.allCases))
        let text = demo.yaml()
        let loaded = try ConfigLoader.load(yaml: text, file: "demo.yaml")
        #expect(loaded == demo)
        #expect(DemoConfiguration.make(port: 10102).vcc.port == 10102)
        // Writable set points for pyiec61850 in VCC and ICC1 scope.
        for scope in [ObjectScope.vcc, .icc("ICC1")] {
            #expect(demo.points.contains { $0.name == "Setpoint_Real" && $0.type == .real && $0.scope == scope && $0.writable })
            #expect(demo.points.contains { $0.name == "Setpoint_Discrete" && $0.type == .discrete && $0.scope == scope && $0.writable })
        }
    }

    @Test func csvPoints() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            name,type,scope,value,quality,writable
            # comment
            CSV_MW,RealQ,VCC,1.25,suspect,
            CSV_Brk,StateQ,ICC1,off,,

            CSV_Set,Discrete,ICC1,"42",,true
            """.write(to: dir.appendingPathComponent("points.csv"), atomically: true, encoding: .utf8)
        try (base + "points_csv: points.csv\n").write(to: dir.appendingPathComponent("vcc.yaml"), atomically: true, encoding: .utf8)
        let c = try ConfigLoader.load(file: dir.appendingPathComponent("vcc.yaml").path)
        #expect(c.points.count == 6)
        #expect(c.points[3] == PointConfig(name: "CSV_MW", type: .realQ, scope: .vcc, initial: .real(1.25, flags: DataFlags(validity: .suspect))))
        #expect(c.points[4] == PointConfig(name: "CSV_Brk", type: .stateQ, scope: .icc("ICC1"), initial: .state(.off)))
        #expect(c.points[5] == PointConfig(name: "CSV_Set", type: .discrete, scope: .icc("ICC1"), initial: .discrete(42), writable: true))
    }

    // MARK: Errors: file, line and field

    /// Secure mode in YAML: the `tls:` section (files relative to the configuration) and the
    /// credentials a table binds to its partner; mistakes named by file, line and field.
    @Test func secureModeKeys() throws {
        let yaml = """
            vcc:
              port: 3782
              tls:
                certificate: certs/vcc.pem
                key: certs/vcc.key
                trust_roots: [certs/ca.pem]
                crls: [certs/ca.crl]
            bilateral_tables:
              - id: BLT_ICC1
                icc: ICC1
                partner: { ap_title: 1.1.1.999, ae_qualifier: 12 }
                vcc_read: ["*"]
                password: s3cret
                certificate: { sha256: ["fa:06:71:ac:76:60:62:2b:e7:9b:74:1b:db:29:7e:89:f3:c9:b5:a0:a3:db:35:c8:6d:41:07:2c:68:ef:03:1e"] }

            """
        let c = try ConfigLoader.load(yaml: yaml, file: "vcc.yaml", baseDirectory: "/etc/iccp")
        let tls = try #require(c.vcc.tls)
        #expect(tls.certificate == "/etc/iccp/certs/vcc.pem" && tls.trustRoots == ["/etc/iccp/certs/ca.pem"] && tls.crls == ["/etc/iccp/certs/ca.crl"])
        #expect(tls.requireClientCertificate)
        let t = try #require(c.bilateralTables.first)
        #expect(t.credentials.certificateSHA256 == ["FA:06:71:AC:76:60:62:2B:E7:9B:74:1B:DB:29:7E:89:F3:C9:B5:A0:A3:DB:35:C8:6D:41:07:2C:68:EF:03:1E"])
        #expect(t.credentials.password == "s3cret")
        let badPrint = expectError(yaml.replacingOccurrences(of: "fa:06:71", with: "zz:06:71"), line: 14, field: "bilateral_tables[0].certificate.sha256[0]")
        #expect(badPrint?.message.contains("is not a SHA-256 fingerprint") == true)
        let noRoots = expectError(yaml.replacingOccurrences(of: "    trust_roots: [certs/ca.pem]\n", with: ""), line: 4, field: "vcc.tls.trust_roots")
        #expect(noRoots?.message.contains("require_client_certificate: false") == true, "\(String(describing: noRoots))")
        expectError(yaml.replacingOccurrences(of: "    certificate: { sha256:", with: "    certificate: { sha1:"), line: 14, field: "bilateral_tables[0].certificate.sha1")
        expectError(yaml.replacingOccurrences(of: "    password: s3cret", with: "    password: \"\""), line: 13, field: "bilateral_tables[0].password")
    }

    @Test func badOID() {
        expectError(edited("ap_title: 1.1.1.999,", "ap_title: 1.x.1,"), line: 7, field: "bilateral_tables[0].partner.ap_title")
    }

    @Test func unknownKey() {
        let e = expectError(edited("    vcc_read:", "    vcc_raed:"), line: 8, field: "bilateral_tables[0].vcc_raed")
        #expect(e?.message.contains("did you mean 'vcc_read'") == true)
    }

    @Test func badTypeName() {
        let e = expectError(edited("type: RealQ,", "type: RealQQ,"), line: 11, field: "points[0].type")
        #expect(e?.message.contains("did you mean 'RealQ'") == true)
    }

    @Test func nameTooLong() {
        let long = String(repeating: "A", count: 33)
        expectError(edited("name: Line1_MW,", "name: \(long),"), line: 11, field: "points[0].name")
        // 32 characters is fine.
        let ok = String(repeating: "A", count: 32)
        #expect(throws: Never.self) { try ConfigLoader.load(yaml: edited("Line1_MW", ok)) }
    }

    @Test func dollarInName() {
        let e = expectError(edited("name: Breaker_1,", "name: Breaker$1,"), line: 13, field: "points[2].name")
        #expect(e?.message.contains("$") == true)
    }

    @Test func duplicatePoint() {
        let e = expectError(edited("data_sets:", "  - { name: Line1_MW, type: Real }\ndata_sets:"), line: 14, field: "points[3].name")
        #expect(e?.message.contains("points[0]") == true)
        // The same name in another scope is a different object.
        #expect(throws: Never.self) { try ConfigLoader.load(yaml: edited("data_sets:", "  - { name: Line1_MW, type: Real, scope: ICC1 }\ndata_sets:")) }
    }

    @Test func dataSetMemberMissing() {
        expectError(edited("ICC1/Breaker_1]", "ICC1/Breaker_9]"), line: 15, field: "data_sets[0].members[2]")
        expectError(edited("Line1_MW, ICC1/Breaker_1]", "Nope, ICC1/Breaker_1]"), line: 15, field: "data_sets[0].members[1]")
    }

    @Test func iccWithoutTable() {
        expectError(edited("scope: ICC1, state", "scope: ICC7, state"), line: 13, field: "points[2].scope")
    }

    @Test func editionTooOldForType() {
        let yaml = edited("\"2000.08\"", "\"1996.08\"").replacingOccurrences(of: "type: RealQ,", with: "type: RealQTimeTagExtended,")
        let e = expectError(yaml, line: 11, field: "points[0].type")
        #expect(e?.message.contains("2000.08") == true)
    }

    @Test func badCSVRow() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let csv = dir.appendingPathComponent("points.csv").path
        try "name,type,scope,value\nOK_MW,Real,VCC,1\nBAD_MW,Reel,VCC,2\n".write(toFile: csv, atomically: true, encoding: .utf8)
        try (base + "points_csv: points.csv\n").write(to: dir.appendingPathComponent("vcc.yaml"), atomically: true, encoding: .utf8)
        do {
            _ = try ConfigLoader.load(file: dir.appendingPathComponent("vcc.yaml").path)
            Issue.record("loaded")
        } catch {
            #expect(error.file == csv)
            #expect(error.line == 3)
            #expect(error.field == "type")
            #expect(error.description.hasPrefix("\(csv):3: type: unknown point type 'Reel'"))
        }
        // Windows line ends: still line 3.
        try "name,type,scope,value\r\nOK_MW,Real,VCC,1\r\nBAD_MW,Real,VCC,x\r\n".write(toFile: csv, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigLoader.load(file: dir.appendingPathComponent("vcc.yaml").path)
            Issue.record("loaded")
        } catch {
            #expect(error.file == csv && error.line == 3 && error.field == "value", "\(error)")
        }
        // A semantic error on a CSV row (duplicate of a YAML point) also points into the CSV.
        try "name,type,scope,value\nOK_MW,Real,VCC,1\nLine1_MW,Real,VCC,2\n".write(toFile: csv, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigLoader.load(file: dir.appendingPathComponent("vcc.yaml").path)
            Issue.record("loaded")
        } catch {
            #expect(error.file == csv && error.line == 3 && error.field == "name", "\(error)")
        }
    }

    @Test func devices() throws {
        let ok = try ConfigLoader.load(yaml: base + "devices:\n  - { name: Breaker_1_Ctl, kind: command, scope: ICC1, sbo: true, taggable: true }\n", file: "test.yaml")
        #expect(ok.devices == [DeviceConfig(name: "Breaker_1_Ctl", kind: .command, scope: .icc("ICC1"), sbo: true, taggable: true)])
        expectError(base + "devices:\n  - { name: B, kind: switch, scope: ICC1 }\n", line: 17, field: "devices[0].kind")
        expectError(base + "devices:\n  - { name: \(String(repeating: "D", count: 29)), kind: command, scope: ICC1 }\n", line: 17, field: "devices[0].name")
        expectError(base + "devices:\n  - { name: Breaker_1, kind: command, scope: ICC1 }\n", line: 17, field: "devices[0].name")
        expectError(base + "devices:\n  - { name: D1, kind: command, scope: ICC9 }\n", line: 17, field: "devices[0].scope")
    }

    @Test func informationBuffers() throws {
        let ok = try ConfigLoader.load(yaml: edited("  port: 102", "  port: 102\n  info_buffer_sizes: [32, 512]"), file: "test.yaml")
        #expect(ok.vcc.infoBufferSizes == [32, 512])
        #expect(try ConfigLoader.load(yaml: ok.yaml(), file: "again.yaml") == ok)
        expectError(edited("  port: 102", "  port: 102\n  info_buffer_sizes: [32, 0]"), line: 4, field: "vcc.info_buffer_sizes[1]")
        let rights = try ConfigLoader.load(yaml: edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    vcc_messages: false\n    message_info_references: [1, 7]"),
                                           file: "test.yaml")
        #expect(rights.bilateralTables[0].vccMessages == false && rights.bilateralTables[0].messageInfoReferences == [1, 7])
        #expect(try ConfigLoader.load(yaml: rights.yaml(), file: "again.yaml") == rights)
    }

    @Test func moreErrors() {
        expectError(edited("port: 102", "port: 70000"), line: 3, field: "vcc.port")
        expectError(edited("port: 102", "port: many"), line: 3, field: "vcc.port")
        expectError(edited("vcc_write: [Setpoint_Real]", "vcc_write: [Line1_MW]"), line: 9, field: "bilateral_tables[0].vcc_write[0]")
        expectError(edited("vcc_read: [\"*\"]", "vcc_read: [Nothing]"), line: 8, field: "bilateral_tables[0].vcc_read[0]")
        expectError(edited("value: 12.5", "state: on"), line: 11, field: "points[0].state")
        expectError(edited("state: on", "state: closed"), line: 13, field: "points[2].state")
        expectError(edited("value: 12.5", "value: 12.5, cov: 3"), line: 11, field: "points[0].cov")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    transfer_sets: 1001"),
                    line: 10, field: "bilateral_tables[0].transfer_sets")
        // The data set of ICC1 may not use another ICC's objects.
        expectError(edited("  - id: BLT_ICC1", "  - { id: T2, icc: ICC2, partner: { ap_title: 1.1.2 } }\n  - id: BLT_ICC1")
                        .replacingOccurrences(of: "ICC1/Transfer_Set_Name", with: "ICC2/Transfer_Set_Name"),
                    line: 16, field: "data_sets[0].members[0]")
        expectError("vcc: { port: 1 }\npoints: []\n", line: nil, field: "bilateral_tables")
        expectError(edited("  port: 102", "  port: [102"), line: 4, field: "document")
    }

    /// Every key of the engine rebuild: VCC timers and blocks, partner recognition without an
    /// AP-title, per-partner identity, device rights and check-back IDs, caps, LocalReference,
    /// and the client role on the partner's VCC; they load, validate and round-trip.
    @Test func engineKeysLoadAndRoundTrip() throws {
        let yaml = """
            vcc:
              blocks: [1, 2, 5]
              select_timeout: 12.5
              critical_report_timeout: 45
              minimum_interval: 2
              all_changes_queue_size: 500
              open_mode_transfer_sets: 7
            bilateral_tables:
              - id: BLT_A
                icc: ICC1
                partner: { psel: "0001", tsel: "0002" }
                local: { ap_title: 1.1.1.999.7, ae_qualifier: 33 }
                vcc_select: [VCC_Cmd]
                vcc_operate: [VCC_Cmd]
                vcc_get_tag: []
                vcc_set_tag: []
                check_back_ids: { VCC_Cmd: 4711, Brk: 12 }
                max_data_sets: 3
                max_data_set_members: 50
                message_local_references: [9]
                partner_vcc:
                  connect: ["10.0.0.7:102", "[::1]:10102"]
                  icc: HUB
                  data_set: DS_FROM_PARTNER
                  points: [Freq, HUB/Line7_MW]
                  interval: 5
                  integrity_check: 0
                  rbe: true
                  critical: true
                  ap_title: 1.1.1.777
                  ae_qualifier: 5
                  identify_interval: 78
            devices:
              - { name: VCC_Cmd, kind: command, sbo: true, check_back_id: 99 }
              - { name: Brk, kind: command, scope: ICC1 }
            """
        let c = try ConfigLoader.load(yaml: yaml, file: "engine.yaml")
        #expect(c.vcc.blocks == [1, 2, 5] && c.vcc.selectTimeout == 12.5 && c.vcc.criticalReportTimeout == 45)
        #expect(c.vcc.minimumInterval == 2 && c.vcc.allChangesQueueSize == 500 && c.vcc.openModeTransferSets == 7)
        let t = try #require(c.bilateralTables.first)
        #expect(t.partnerAPTitle == nil && t.partnerPSEL == [0, 1] && t.partnerTSEL == [0, 2])
        #expect(t.localAPTitle == [1, 1, 1, 999, 7] && t.localAEQualifier == 33)
        #expect(t.vccSelect == ["VCC_Cmd"] && t.vccOperate == ["VCC_Cmd"] && t.vccGetTag == [] && t.vccSetTag == [])
        #expect(t.checkBackIDs == ["VCC_Cmd": 4711, "Brk": 12] && t.maxDataSets == 3 && t.maxDataSetMembers == 50)
        #expect(t.messageLocalReferences == [9])
        let p = try #require(t.partnerVCC)
        #expect(p.connect == ["10.0.0.7:102", "[::1]:10102"] && p.icc == "HUB" && p.dataSet == "DS_FROM_PARTNER")
        #expect(p.points == [.vmdSpecific("Freq"), .domainSpecific(domain: "HUB", item: "Line7_MW")])
        #expect(p.identifyInterval == 78)
        #expect(p.interval == 5 && p.integrityCheck == 0 && p.rbe && p.critical && p.remoteAPTitle == [1, 1, 1, 777] && p.remoteAEQualifier == 5)
        #expect(c.devices.first?.checkBackID == 99)
        #expect(PartnerAddress("[::1]:10102") == PartnerAddress(host: "::1", port: 10102))
        #expect(try ConfigLoader.load(yaml: c.yaml(), file: "again.yaml") == c)
        // The demo shows the keys (demo-config is where operators start).
        let demo = DemoConfiguration.make().yaml()
        for key in ["select_timeout:", "critical_report_timeout:", "all_changes_queue_size:", "max_data_sets:", "check_back_id:"] {
            #expect(demo.contains(key), "demo-config lacks \(key)")
        }
    }

    @Test func engineKeyErrorsNameLineAndField() {
        expectError(edited("  port: 102", "  port: 102\n  blocks: [1, 2, 3]"), line: 4, field: "vcc.blocks[2]")
        expectError(edited("  port: 102", "  port: 102\n  blocks: [2, 5]"), line: 4, field: "vcc.blocks")
        expectError(edited("  port: 102", "  port: 102\n  select_timeout: 0"), line: 4, field: "vcc.select_timeout")
        expectError(edited("  port: 102", "  port: 102\n  critical_report_timeout: soon"), line: 4, field: "vcc.critical_report_timeout")
        expectError(edited("  port: 102", "  port: 102\n  all_changes_queue_size: 0"), line: 4, field: "vcc.all_changes_queue_size")
        expectError(edited("partner: { ap_title: 1.1.1.999, ae_qualifier: 12 }", "partner: {}"), line: 7, field: "bilateral_tables[0].partner")
        expectError(edited("partner: { ap_title: 1.1.1.999, ae_qualifier: 12 }", "partner: { psel: xyz }"), line: 7,
                    field: "bilateral_tables[0].partner.psel")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    vcc_select: [Nope]"), line: 10,
                    field: "bilateral_tables[0].vcc_select[0]")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    check_back_ids: { Nope: 3 }"), line: 10,
                    field: "bilateral_tables[0].check_back_ids.Nope")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    check_back_ids: { Nope: 70000 }"), line: 10,
                    field: "bilateral_tables[0].check_back_ids.Nope")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    max_data_set_members: 0"), line: 10,
                    field: "bilateral_tables[0].max_data_set_members")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    local: { ap_title: 7 }"), line: 10,
                    field: "bilateral_tables[0].local.ap_title")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    partner_vcc: { connect: [nohost], points: [X] }"),
                    line: 10, field: "bilateral_tables[0].partner_vcc.connect[0]")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    partner_vcc: { points: [] }"),
                    line: 10, field: "bilateral_tables[0].partner_vcc.points")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    partner_vcc: { points: [X], identify_interval: 0.5 }"),
                    line: 10, field: "bilateral_tables[0].partner_vcc.identify_interval")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    partner_vcc: { points: [X], identify_interval: soon }"),
                    line: 10, field: "bilateral_tables[0].partner_vcc.identify_interval")
        expectError(edited("    vcc_write: [Setpoint_Real]", "    vcc_write: [Setpoint_Real]\n    partner_vcc: { points: [X], pints: 1 }"),
                    line: 10, field: "bilateral_tables[0].partner_vcc.pints")
    }

    @Test func openModeAllowsAnyDomain() throws {
        let c = try ConfigLoader.load(yaml: """
            vcc: { open_mode: true }
            points:
              - { name: X, type: Real, scope: ANY_ICC }
            data_sets:
              - { name: DS, scope: ANY_ICC, members: [ANY_ICC/X, ANY_ICC/Transfer_Set_Name] }
            """)
        #expect(c.points.first?.scope == .icc("ANY_ICC"))
    }
}
