import OSI
import Testing
import TestSupport

@Suite("COTP and TPKT")
struct COTPTests {
    @Test func connectionRequestFromLibiec61850() throws {
        let bytes = try Fixtures.vector("01", prefix: "004")
        #expect(try TPKT.frameLength(header: bytes) == bytes.count)
        guard case .connectionRequest(let cr) = try TPDU.decode(Array(bytes.dropFirst(4))) else {
            Issue.record("not a CR")
            return
        }
        #expect(cr.sourceReference == 1)
        #expect(cr.tpduSize == 8192)
        #expect(cr.callingTSAP == [0, 1])
        #expect(cr.calledTSAP == [0, 1])
    }

    @Test func reassemblyOverSeveralDataTPDUs() throws {
        let tsdu = [UInt8](0..<200)
        let framed = COTPSegmenter.frames(tsdu, maxTPDUSize: 128)
        var s = TPKTStreamDecoder()
        s.append(framed)
        var r = COTPReassembler()
        var got: [UInt8]?
        var count = 0
        while let p = try s.nextPayload() {
            count += 1
            guard case .data(let eot, let d) = try TPDU.decode(p) else { continue }
            #expect(p.count <= 128)
            got = try r.append(endOfTSDU: eot, d)
        }
        #expect(count == 2)
        #expect(got == tsdu)
    }

    @Test func badTPDUs() {
        #expect(throws: OSIError.self) { try TPDU.decode([0x10, 0xE0]) }  // LI beyond the TPDU
        #expect(throws: OSIError.self) { try TPDU.decode([0x02, 0x10, 0x00]) }  // unknown code
        #expect(throws: OSIError.self) { try TPDU.decode([0x03, 0xF0, 0x80, 0x00]) }  // DT with LI 3
        #expect(throws: OSIError.self) { try TPKT.frameLength(header: [0x04, 0, 0, 10]) }
        var r = COTPReassembler(maxTSDULength: 10)
        #expect(throws: OSIError.self) { try r.append(endOfTSDU: false, [UInt8](repeating: 0, count: 11)[...]) }
    }
}
