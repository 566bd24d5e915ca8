import BER
import MMS
import OSI
import Testing
import TestSupport

/// Decodes one captured TCP payload through TPKT, COTP, session, presentation and ACSE.
enum Decoded {
    case cotp(TPDU)
    case message(OSIMessage, tsdu: [UInt8])
}

func decodeVector(_ bytes: [UInt8], contexts: inout PresentationContexts) throws -> [Decoded] {
    var stream = TPKTStreamDecoder()
    stream.append(bytes)
    var reassembler = COTPReassembler()
    var out: [Decoded] = []
    while let payload = try stream.nextPayload() {
        let tpdu = try TPDU.decode(payload)
        switch tpdu {
        case .data(let eot, let data):
            if let tsdu = try reassembler.append(endOfTSDU: eot, data) {
                out.append(.message(try OSIMessage.decode(tsdu: tsdu, contexts: &contexts), tsdu: tsdu))
            }
        default:
            out.append(.cotp(tpdu))
        }
    }
    #expect(stream.pendingCount == 0)
    return out
}

/// What the vector's file name says it holds, in `OSIMessage`/`MMSPDU` terms.
func expectedKind(_ name: String) -> String? {
    let table: [(String, String)] = [
        ("CR_TPDU", "CR"), ("CC_TPDU", "CC"),
        ("initiate_RequestPDU", "initiate-RequestPDU"), ("initiate_ResponsePDU", "initiate-ResponsePDU"),
        ("conclude_RequestPDU", "conclude-RequestPDU"), ("conclude_ResponsePDU", "conclude-ResponsePDU"),
        ("Release_Request", "RLRQ"), ("Release_Response", "RLRE"), ("Abort", "ABRT"),
        ("informationReport", "informationReport"),
    ]
    for (k, v) in table where name.contains(k) { return v }
    // NNN_dir_<service>_req_NN_… / NNN_dir_<service>_resp_NN_…
    let parts = name.split(separator: "_")
    guard parts.count > 3 else { return nil }
    if let i = parts.firstIndex(where: { $0 == "req" || $0 == "resp" }) {
        let service = parts[2..<i].joined(separator: "_").split(separator: "_").first.map(String.init) ?? ""
        return (parts[i] == "req" ? "confirmed-RequestPDU " : "confirmed-ResponsePDU ") + service
    }
    return nil
}

func kind(of d: Decoded) -> String {
    switch d {
    case .cotp(.connectionRequest): return "CR"
    case .cotp(.connectionConfirm): return "CC"
    case .cotp(let t): return "\(t)"
    case .message(let m, _):
        switch m {
        case .acse(_, .releaseRequest): return "RLRQ"
        case .acse(_, .releaseResponse): return "RLRE"
        case .acse(_, .abort): return "ABRT"
        default:
            guard let p = m.mmsPDU else { return "\(m)" }
            if case .confirmedRequest(_, .getNameList) = p { return "confirmed-RequestPDU getNameList" }
            return p.kindName
        }
    }
}

@Suite("Golden captures of libiec61850")
struct VectorTests {
    @Test("every vector decodes through all layers to the service its name says")
    func everyVectorDecodes() throws {
        let files = try Fixtures.vectorFiles()
        #expect(files.count >= 90, "expected the fixture vectors; found \(files.count)")
        var contexts: [String: PresentationContexts] = [:]
        var decodedCount = 0
        for f in files where !f.capture.hasPrefix("06") || !f.name.contains("Malformed") {
            var ctx = contexts[f.capture] ?? PresentationContexts()
            let decoded = try decodeVector(f.bytes, contexts: &ctx)
            contexts[f.capture] = ctx
            #expect(decoded.count == 1, "\(f.name)")
            guard let d = decoded.first, let want = expectedKind(f.name) else {
                Issue.record("cannot tell what \(f.name) should hold")
                continue
            }
            let got = kind(of: d)
            #expect(got.hasPrefix(want), "\(f.capture)/\(f.name): got \(got), want \(want)")
            decodedCount += 1
        }
        #expect(decodedCount == files.count - 1)
    }

    @Test("re-encoding yields equal values, and identical bytes where the capture used minimal lengths")
    func reencodeRoundTrip() throws {
        var identical = 0
        var checked = 0
        for f in try Fixtures.vectorFiles() where !f.name.contains("Malformed") {
            var ctx = PresentationContexts()
            for d in try decodeVector(f.bytes, contexts: &ctx) {
                switch d {
                case .cotp(let t):
                    #expect(t.encoded() == Array(f.bytes.dropFirst(4)), "\(f.name)")
                    #expect(try TPDU.decode(t.encoded()) == t)
                    identical += 1
                case .message(let m, let tsdu):
                    let re = try reencode(m, contexts: ctx)
                    var ctx2 = ctx
                    #expect(try OSIMessage.decode(tsdu: re, contexts: &ctx2) == m, "\(f.name)")
                    if let pdu = m.mmsPDU {
                        let enc = pdu.encoded()
                        #expect(try MMSPDU.decode(enc) == pdu, "\(f.name)")
                    }
                    // libiec61850 writes BOOLEAN TRUE as 01; we write the DER form FF. Apart
                    // from that, every octet must come back.
                    #expect(sameExceptBooleanTrue(re, tsdu), "\(f.name): \(hex(re)) vs \(hex(tsdu))")
                    if sameExceptBooleanTrue(re, tsdu) { identical += 1 }
                }
                checked += 1
            }
        }
        #expect(checked >= 90)
        // libiec61850 writes minimal lengths everywhere: every PDU must come back byte for byte.
        #expect(identical == checked, "identical \(identical) of \(checked)")
    }

    @Test("the negative vector (libiec61850's malformed listOfVariable report) is a typed error")
    func malformedReportRejected() throws {
        let bytes = try Fixtures.vector("06", prefix: "012")
        var ctx = PresentationContexts()
        #expect(throws: BERError.self) { _ = try decodeVector(bytes, contexts: &ctx) }
        // The good report of the same content decodes.
        let good = try Fixtures.vector("01", prefix: "045")
        let d = try decodeVector(good, contexts: &ctx)
        guard case .message(.data(.unconfirmed(.informationReport(let rep))), _)? = d.first else {
            Issue.record("no report")
            return
        }
        #expect(rep.results.count == 5)
        #expect(rep.results[3] == .success(.structure([.float(230.5), .bitString(BitString(count: 8))])))
        #expect(rep.results[4] == .success(.structure([.float(12.25), .bitString(BitString(count: 8))])))
    }
}

func sameExceptBooleanTrue(_ ours: [UInt8], _ theirs: [UInt8]) -> Bool {
    guard ours.count == theirs.count else { return false }
    for i in ours.indices where ours[i] != theirs[i] {
        guard ours[i] == 0xFF, theirs[i] == 0x01, i >= 2, ours[i - 1] == 0x01 else { return false }
    }
    return true
}

/// Length of the session header that precedes the presentation data in a data TSDU.
func dataHeaderLength(_ m: OSIMessage) -> Int {
    if case .data = m { return 4 }
    return 0
}

/// Re-encodes a decoded message layer by layer.
func reencode(_ m: OSIMessage, contexts: PresentationContexts) throws -> [UInt8] {
    func withUserData(_ spdu: SPDU, _ ud: [UInt8]) -> [UInt8] {
        var s = spdu
        s.parameters = s.parameters.map {
            if case .userData(let c, _) = $0 { return .userData(code: c, ud) }
            return $0
        }
        return s.encoded()
    }
    func pdvWith(_ apdu: ACSEAPDU, _ ud: PresentationUserData?) -> PresentationUserData {
        guard case .fullyEncoded(var l)? = ud, !l.isEmpty else { return .fullyEncoded([]) }
        l[0].value = .singleASN1Type(apdu.encoded())
        return .fullyEncoded(l)
    }
    func withMMS(_ ui: [External], _ pdu: MMSPDU?) -> [External] {
        guard var e = ui.first, let p = pdu else { return ui }
        e.encoding = .singleASN1Type(p.encoded())
        return [e] + ui.dropFirst()
    }
    switch m {
    case .connect(let spdu, var cp, var aarq, let mms):
        aarq.userInformation = withMMS(aarq.userInformation, mms)
        cp.userData = pdvWith(.associationRequest(aarq), cp.userData)
        return withUserData(spdu, cp.encoded())
    case .accept(let spdu, var cpa, var aare, let mms):
        aare.userInformation = withMMS(aare.userInformation, mms)
        cpa.userData = pdvWith(.associationResponse(aare), cpa.userData)
        return withUserData(spdu, cpa.encoded())
    case .data(let pdu):
        return OSIEncoder.data(pdu, contexts: contexts)
    case .acse(let spdu, let apdu):
        if spdu.kind == .abort {
            return withUserData(spdu, AbortPPDU.userAbort(contextIDs: [], userData: .fullyEncoded([PDV(contextID: contexts.acse, value: .singleASN1Type(apdu.encoded()))])).encoded())
        }
        let ud = PresentationUserData.fullyEncoded([PDV(contextID: contexts.acse, value: .singleASN1Type(apdu.encoded()))])
        return withUserData(spdu, ud.encoded())
    case .refuse(let spdu, _, _), .abort(let spdu, _), .session(let spdu):
        return spdu.encoded()
    }
}
