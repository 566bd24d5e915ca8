import BER
import MMS

/// The model every interop test hosts (the same as interop/fixture.py).
public enum Fixture {
    public static let realQ = TypeSpecification.structure(components: [.init("Value", .float32), .init("Flags", .bitString(8))])
    public static let stateTS = TypeSpecification.structure(components: [.init("TimeStamp", .integer(32)), .init("Flags", .bitString(8))])
    public static let version = TypeSpecification.structure(components: [
        .init("MajorVersionNumber", .integer(16)), .init("MinorVersionNumber", .integer(16)),
    ])
    public static func flags(_ b: UInt8) -> MMSData { .bitString(BitString(bytes: [b], count: 8)) }
    public static let features = BitString(bytes: [0xD8, 0x00], count: 12)

    public static func makeDevice(
        accept: @escaping @Sendable (AssociationRequest) -> AssociationDecision = { _ in .accept },
        onReport: @escaping @Sendable (InformationReport, AssociationContext) -> Void = { _, _ in }
    ) -> InMemoryVMD {
        let vmd = InMemoryVMD(identity: IdentifyResponse(vendorName: "FreeTase2", modelName: "interop", revision: "0.1"),
                              accept: accept, onReport: onReport)
        vmd.setVariable(.vmdSpecific("TASE2_Version"), .init(type: version, value: .structure([.integer(2000), .integer(8)])))
        vmd.setVariable(.vmdSpecific("Supported_Features"), .init(type: .bitString(12), value: .bitString(features)))
        vmd.setVariable(.vmdSpecific("VMD_Real"), .init(type: .float32, value: .float(1.5), writable: true))
        vmd.setVariable(.vmdSpecific("VMD_Counter"), .init(type: .integer(32), value: .integer(42)))
        let icc1 = { (n: String) in ObjectName.domainSpecific(domain: "ICC1", item: n) }
        vmd.setVariable(icc1("Bilateral_Table_ID"), .init(type: .visibleString(32), value: .visibleString("BLT_ICC1")))
        vmd.setVariable(icc1("Voltage_1"), .init(type: realQ, value: .structure([.float(230.5), flags(0)]), writable: true))
        vmd.setVariable(icc1("Values_Array"), .init(type: .array(count: 3, element: .float32), value: .array([.float(1), .float(2), .float(3.5)])))
        vmd.setVariable(icc1("Setpoint_1"), .init(type: .float32, value: .float(42.5), writable: true))
        vmd.setVariable(icc1("Breaker_1"), .init(type: stateTS, value: .structure([.integer(1_700_000_000), flags(0x80)])))
        vmd.setVariable(.domainSpecific(domain: "ICC2", item: "Bilateral_Table_ID"), .init(type: .visibleString(32), value: .visibleString("BLT_ICC2")))
        vmd.setVariable(.domainSpecific(domain: "ICC2", item: "Frequency"), .init(type: .float32, value: .float(50)))
        vmd.defineServerList(icc1("DS_Analog"), members: [icc1("Voltage_1"), icc1("Setpoint_1"), icc1("Values_Array")])
        vmd.defineServerList(.vmdSpecific("VMD_DS"), members: [.vmdSpecific("VMD_Real"), .vmdSpecific("VMD_Counter")])
        return vmd
    }

    /// The two reports a server sends in the interop tests: listOfVariable, and by the vmd-specific list name.
    public static func reports(_ vmd: InMemoryVMD) -> [InformationReport] {
        let v = vmd.value(of: .domainSpecific(domain: "ICC1", item: "Voltage_1")) ?? .structure([])
        let r = vmd.value(of: .vmdSpecific("VMD_Real")) ?? .float(0)
        let c = vmd.value(of: .vmdSpecific("VMD_Counter")) ?? .integer(0)
        return [
            InformationReport(.listOfVariable([VariableAccess(.domainSpecific(domain: "ICC1", item: "Voltage_1")), VariableAccess(.vmdSpecific("VMD_Real"))]),
                              results: [.success(v), .success(r)]),
            InformationReport(.variableListName(.vmdSpecific("VMD_DS")), results: [.success(r), .success(c)]),
        ]
    }
}
