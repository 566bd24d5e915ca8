import BER
import MMS
import Testing
import TestSupport

/// The byte examples of spec §4, built from values and decoded back.
@Suite("TASE.2 wire examples (spec §4)")
struct WireExampleTests {
    func flags(_ byte: UInt8) -> MMSData { .bitString(BitString(bytes: [byte], count: 8)) }
    func name(_ d: String, _ n: String) -> MMSData { .structure([.unsigned(1), .visibleString(d), .visibleString(n)]) }

    @Test func dataValues() throws {
        let cases: [(MMSData, String)] = [
            (.bitString(BitString(bytes: [0xD8, 0x00], count: 12)), "840304d800"),
            (.structure([.integer(2000), .integer(8)]), "a207850207d0850108"),
            (name("ICC1", "DSTrans1"), "a2138601018a0449434331" + "8a084453547261" + "6e7331"),
            (.structure([.float(12.5), flags(0x20)]), "a20b8705084148000084020020"),
            (.structure([.integer(1_700_000_000), flags(0x80)]), "a20a85046553f10084020080"),
            (.structure([.float(1.5), .structure([.integer(1_700_000_000), .integer(250)]), flags(0)]),
             "a2178705083fc00000a20a85046553f100850200fa84020000"),
            (.structure([.float(1.5), .integer(1_700_000_000), flags(0), .unsigned(7)]),
             "a2148705083fc0000085046553f10084020000860107"),
        ]
        for (value, expected) in cases {
            #expect(hex(value.encoded()) == expected)
            #expect(try MMSData.decode(try hexBytes(expected)) == value)
        }
    }

    @Test func dsTransferSetAndReports() throws {
        var cond = BitString(count: 5)
        cond[bit: 0] = true
        cond[bit: 1] = true
        cond[bit: 2] = true
        let dsts = MMSData.structure([
            name("ICC1", "DS1"), .integer(0), .integer(10), .integer(0), .integer(2), .integer(60), .bitString(cond),
            .boolean(false), .boolean(true), .boolean(true), .boolean(false), .boolean(true), .integer(0),
        ])
        #expect(hex(dsts.encoded()) == "a235a20e8601018a04494343318a0344533185010085010a85010085010285013c840203e08301008301ff8301ff8301008301ff850100")

        var integrity = BitString(count: 5)
        integrity[bit: 1] = true
        let report = MMSPDU.unconfirmed(.informationReport(InformationReport(
            .variableListName(.domainSpecific(domain: "ICC1", item: "DS1")),
            results: [.success(name("ICC1", "DSTrans1")), .success(.integer(1_700_000_000)), .success(.bitString(integrity)),
                      .success(.structure([.float(12.5), flags(0)]))])))
        let expected = "a33fa03da10da10b1a04494343311a03445331a02ca2138601018a04494343318a084453547261" + "6e733185046553f100840203" + "40a20b8705084148000084020000"
        #expect(hex(report.encoded()) == expected)
        #expect(try MMSPDU.decode(try hexBytes(expected)) == report)

        // Write of aa-specific IM_Transfer_Set := TRUE.
        let write = MMSPDU.confirmedRequest(invokeID: 5, .write(WriteRequest(.listOfVariable([VariableAccess(.aaSpecific("IM_Transfer_Set"))]), data: [.boolean(true)])))
        #expect(hex(write.encoded()) == "a021020105a51ca0153013a011820f" + hex(Array("IM_Transfer_Set".utf8)) + "a0038301ff")

        // Component selection of Status inside a listOfVariable item.
        let component = VariableAccess(.domainSpecific(domain: "ICC1", item: "DSTrans1"), alternateAccess: .component("Status"))
        let r = MMSPDU.confirmedRequest(invokeID: 1, .write(WriteRequest(.listOfVariable([component]), data: [.boolean(false)])))
        #expect(hex(r.encoded()).contains("a50881065374617475 73".replacingOccurrences(of: " ", with: "")))
        #expect(try MMSPDU.decode(r.encoded()) == r)
    }

    @Test func typeDescriptions() throws {
        let realQ = TypeSpecification.structure(components: [.init("Value", .float32), .init("Flags", .bitString(8))])
        #expect(hex(realQ.encoded()) == "a223a1213011800556616c7565a108a706020120020108300c8005466c616773a103840108")
        let resp = MMSPDU.confirmedResponse(invokeID: 3, .getVariableAccessAttributes(GetVariableAccessAttributesResponse(typeSpecification: realQ)))
        #expect(hex(resp.encoded()).contains("800100a225a223"))
        #expect(try MMSPDU.decode(resp.encoded()) == resp)
        #expect(realQ.accepts(.structure([.float(1), flags(0)])))
        #expect(!realQ.accepts(.structure([.integer(1), flags(0)])))
    }
}
