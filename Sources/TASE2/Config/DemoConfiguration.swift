import BER
import MMS

/// A ready-to-serve model for trying FreeTase2 against a peer without writing a file: two bilateral
/// tables (ICC1 for libiec61850 / pyiec61850's default calling AP-title 1.1.1.999, ICC2 for
/// 1.1.1.888), a point of every `PointType`, writable set points and a server data set.
public enum DemoConfiguration {
    public static func make(port: Int = 102) -> TASE2Configuration {
        var vcc = VCCSettings(name: "DEMO_VCC", edition: .v2000, port: port)
        vcc.model = "FreeTase2 demo VCC"
        let tables = [
            BilateralTableConfig(id: "BLT_ICC1", icc: "ICC1", partnerAPTitle: [1, 1, 1, 999], partnerAEQualifier: 12,
                                 vccRead: ["*"], vccWrite: ["Setpoint_Real", "Setpoint_Discrete"], transferSets: 100),
            BilateralTableConfig(id: "BLT_ICC2", icc: "ICC2", partnerAPTitle: [1, 1, 1, 888], partnerAEQualifier: 12,
                                 vccRead: ["*"], vccWrite: [], transferSets: 100),
        ]
        let icc1 = ObjectScope.icc("ICC1")
        let icc2 = ObjectScope.icc("ICC2")
        let points: [PointConfig] = [
            // Real family
            PointConfig(name: "System_Frequency", type: .real, scope: .vcc, initial: .real(50.0)),
            PointConfig(name: "Line1_MW", type: .realQ, scope: .vcc, initial: .real(12.5)),
            PointConfig(name: "Line1_MW", type: .realQ, scope: icc1, initial: .real(12.5)),
            PointConfig(name: "Bus1_kV", type: .realQTimeTag, scope: .vcc, initial: .real(230.0)),
            PointConfig(name: "Line2_MVAr", type: .realExtended, scope: icc1, initial: .real(-4.2)),
            PointConfig(name: "Gen1_MW", type: .realQTimeTagExtended, scope: icc1, initial: .real(185.0)),
            PointConfig(name: "Tie_Line_MW", type: .realQ, scope: icc2, initial: .real(-75.0)),
            // Discrete family
            PointConfig(name: "Xfmr1_Tap", type: .discrete, scope: .vcc, initial: .discrete(9)),
            PointConfig(name: "Xfmr2_Tap", type: .discreteQ, scope: icc1, initial: .discrete(11)),
            PointConfig(name: "Gen1_Starts", type: .discreteQTimeTag, scope: icc2, initial: .discrete(412)),
            PointConfig(name: "Cap1_Steps", type: .discreteExtended, scope: icc1, initial: .discrete(2)),
            PointConfig(name: "Feeder3_Trips", type: .discreteQTimeTagExtended, scope: icc2, initial: .discrete(7)),
            // State family
            PointConfig(name: "Isolator_1", type: .state, scope: .vcc, initial: .state(.on)),
            PointConfig(name: "Breaker_2", type: .stateQ, scope: .vcc, initial: .state(.on)),
            PointConfig(name: "Breaker_1", type: .stateQTimeTag, scope: icc1, initial: .state(.on)),
            PointConfig(name: "Breaker_3", type: .stateExtended, scope: icc1, initial: .state(.off)),
            PointConfig(name: "Breaker_4", type: .stateQTimeTagExtended, scope: icc2, initial: .state(.on)),
            // StateSupplemental family (the value is the whole octet)
            PointConfig(name: "Gen1_Mode", type: .stateSupplemental, scope: .vcc, initial: PointValue(state: 0x80)),
            PointConfig(name: "AVR1_Mode", type: .stateSupplementalQ, scope: icc1, initial: PointValue(state: 0x80)),
            PointConfig(name: "Relay1_Status", type: .stateSupplementalQTimeTag, scope: icc2, initial: PointValue(state: 0x40)),
            PointConfig(name: "Xfmr1_Cooling", type: .stateSupplementalExtended, scope: icc1, initial: PointValue(state: 0x80)),
            PointConfig(name: "Gen2_Mode", type: .stateSupplementalQTimeTagExtended, scope: icc2, initial: PointValue(state: 0x40)),
            // Protection events
            PointConfig(name: "Line1_Prot_Trip", type: .singleProtectionEvent, scope: icc1),
            PointConfig(name: "Line2_Prot_Events", type: .packedProtectionEvent, scope: icc2),
            // Set points the partners write (pyiec61850 writes to ICC1/<name>)
            PointConfig(name: "Setpoint_Real", type: .real, scope: .vcc, initial: .real(0), writable: true),
            PointConfig(name: "Setpoint_Discrete", type: .discrete, scope: .vcc, initial: .discrete(0), writable: true),
            PointConfig(name: "Setpoint_Real", type: .real, scope: icc1, initial: .real(0), writable: true),
            PointConfig(name: "Setpoint_Discrete", type: .discrete, scope: icc1, initial: .discrete(0), writable: true),
        ]
        let members: [ObjectName] = [
            .domainSpecific(domain: "ICC1", item: TASE2Names.transferSetName),
            .domainSpecific(domain: "ICC1", item: TASE2Names.transferSetTimeStamp),
            .domainSpecific(domain: "ICC1", item: TASE2Names.dsConditionsDetected),
            .domainSpecific(domain: "ICC1", item: "Line1_MW"),
            .domainSpecific(domain: "ICC1", item: "Gen1_MW"),
            .vmdSpecific("Line1_MW"),
            .vmdSpecific("Bus1_kV"),
            .domainSpecific(domain: "ICC1", item: "Breaker_1"),
            .vmdSpecific("Breaker_2"),
        ]
        // A breaker control (select before operate, taggable; its selects answer CheckBackName 1)
        // and a generator setpoint (direct).
        var breaker = DeviceConfig(name: "Breaker_1_Ctl", kind: .command, scope: icc1, sbo: true, taggable: true)
        breaker.checkBackID = 1
        return TASE2Configuration(vcc: vcc, bilateralTables: tables, points: points,
                                  dataSets: [DataSetConfig(name: "DS_Demo", scope: icc1, members: members)],
                                  devices: [breaker, DeviceConfig(name: "Gen1_MW_SP", kind: .setpointReal, scope: icc1)])
    }
}
