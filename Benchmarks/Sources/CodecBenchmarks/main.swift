// Codec speed: ns per value to encode and decode MMS PDUs of 100 Data_RealQ values, with heap
// allocations counted, and the same work done by swift-asn1's generic BER/DER codec in the same
// run for a ratio. Build in release: `swift run -c release --package-path Benchmarks`.
import AllocationCounter
import BER
import Glibc
import MMS
import MMSNIO
import NIOCore
import OSI
import SwiftASN1
import TASE2

/// Fixed-point text without Foundation.
func f(_ x: Double, _ digits: Int = 1, width: Int = 7) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let v = (x * scale).rounded() / scale
    var s = "\(v)"
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        if decimals > digits { s = String(s.prefix(s.distance(from: s.startIndex, to: dot) + 1 + digits)) }
    }
    return String(repeating: " ", count: max(0, width - s.count)) + s
}

func now() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// Best time per value over several runs of `iterations` calls, and allocations per call.
func measure(_ name: String, values: Int, iterations: Int, _ body: () throws -> Int) rethrows -> Double {
    var sink = 0
    for _ in 0..<max(iterations / 10, 1) { sink &+= try body() }  // warm up
    var best = Double.infinity
    for _ in 0..<7 {
        let t0 = now()
        for _ in 0..<iterations { sink &+= try body() }
        let ns = Double(now() - t0) / Double(iterations * values)
        best = min(best, ns)
    }
    allocation_counter_start()
    for _ in 0..<100 { sink &+= try body() }
    let allocs = Double(allocation_counter_stop()) / 100
    let pad = String(repeating: " ", count: max(0, 58 - name.count))
    print("\(name)\(pad)\(f(best)) ns/value  \(f(allocs, 2)) allocs/PDU   (\(sink & 1))")
    return best
}

let values = 100
let points: [MMSData] = (0..<values).map { i in
    .structure([.float(Float(i) * 1.25 + 0.5), .bitString(BitString(bytes: [UInt8(i % 4) << 4], count: 8))])
}
let readResponse = MMSPDU.confirmedResponse(invokeID: 42, .read(ReadResponse(results: points.map(AccessResult.success))))
let report = MMSPDU.unconfirmed(.informationReport(InformationReport(
    .variableListName(.domainSpecific(domain: "ICC1", item: "DS_Analog")), results: points.map(AccessResult.success))))
let contexts = PresentationContexts()

print("FreeTase2 codec benchmark — \(values) Data_RealQ values per PDU, release build, one core")
print(String(repeating: "-", count: 100))

var writer = BERWriter(capacity: 8192)
let encRead = measure("encode read response (MMS PDU)", values: values, iterations: 20_000) {
    writer.reset()
    readResponse.prepend(to: &writer)
    return writer.count
}
let encReport = measure("encode informationReport (MMS PDU)", values: values, iterations: 20_000) {
    writer.reset()
    report.prepend(to: &writer)
    return writer.count
}
_ = measure("encode informationReport framed (+pres, session, COTP, TPKT)", values: values, iterations: 20_000) {
    writer.reset()
    report.prepend(to: &writer)
    OSIEncoder.prependDataFraming(to: &writer, contexts: contexts)
    _ = COTPSegmenter.prependSingleFrame(to: &writer, maxTPDUSize: 8192)
    return writer.count
}

// MARK: One copy out, slices in

print("")
print("The association's data path — the same informationReport, framed for the wire and read back")
print(String(repeating: "-", count: 100))
let framing = Framing(contexts: contexts, maxTPDUSize: 8192, maxPDUSize: 65_000)
let allocator = ByteBufferAllocator()
var stage = BERWriter(capacity: 8192)
let copiedOut = measure("out, copied per step: PDU → [UInt8] → framing → ByteBuffer", values: values, iterations: 20_000) {
    writer.reset()
    report.prepend(to: &writer)
    let pdu = writer.toArray()
    stage.reset()
    stage.prepend(pdu)
    OSIEncoder.prependDataFraming(to: &stage, contexts: contexts)
    COTPSegmenter.prependFrames(to: &stage, maxTPDUSize: 8192)
    let buffer = allocator.buffer(bytes: stage.toArray())
    return buffer.readableBytes
}
let onceOut = try measure("out, encoded once into the ByteBuffer written (Framing.frame)", values: values, iterations: 20_000) {
    try framing.frame(capacity: 2048, allocator: allocator) { report.prepend(to: &$0) }.readableBytes
}
let framed = try framing.frame(capacity: 2048, allocator: allocator) { report.prepend(to: &$0) }
let framedBytes = Array(framed.readableBytesView)
let copiedIn = try measure("in, copied per layer: TPDU, session, presentation, then MMS", values: values, iterations: 20_000) {
    var ctx = contexts
    guard case .data(_, let d) = try TPDU.decode(Array(framedBytes.dropFirst(TPKT.headerLength))),
          case .data(.unconfirmed(.informationReport(let r))) = try OSIMessage.decode(tsdu: Array(d), contexts: &ctx) else { return 0 }
    return r.results.count
}
// The real inbound path: an associated state machine reads the frame from the socket's buffer.
var receiver = inMemoryAssociation()
let slicedIn = measure("in, sliced: the association state machine's data path", values: values, iterations: 20_000) {
    receiver.received(framed)
    guard case .report(let r, _)? = receiver.nextInbound(now: .now()) else { return 0 }
    _ = receiver.nextInbound(now: .now())
    return r.results.count
}
print(String(repeating: "-", count: 100))
print("out: \(f(copiedOut, width: 0)) → \(f(onceOut, width: 0)) ns/value; in: \(f(copiedIn, width: 0)) → \(f(slicedIn, width: 0)) ns/value (allocations above)")

/// A calling state machine associated with an in-memory called one.
func inMemoryAssociation() -> AssociationStateMachine<Int> {
    var client = AssociationStateMachine<Int>(role: .calling, configuration: .init(local: OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12)))
    var server = AssociationStateMachine<Int>(role: .called, configuration: .init(local: OSIAddress(apTitle: [1, 1, 1, 999, 1], aeQualifier: 12)))
    _ = server.connected(now: .now())
    var toServer: [ByteBuffer] = []
    var toClient: [ByteBuffer] = []
    func writes(_ a: AssociationStateMachine<Int>.Action) -> ByteBuffer? {
        switch a {
        case .write(let b): return b
        case .associated(_, _, let b): return b
        default: return nil
        }
    }
    if let w = writes(client.connected(now: .now())) { toServer.append(w) }
    while !toServer.isEmpty || !toClient.isEmpty {
        for b in toServer {
            server.received(b)
            while let a = server.nextInbound(now: .now()) {
                var action = a
                if case .requestAcceptance = a { action = server.accept(.accept, now: .now()) }
                if let w = writes(action) { toClient.append(w) }
            }
        }
        toServer = []
        for b in toClient {
            client.received(b)
            while let a = client.nextInbound(now: .now()) { if let w = writes(a) { toServer.append(w) } }
        }
        toClient = []
    }
    precondition(client.isAssociated, "the in-memory association did not come up")
    return client
}

let readBytes = readResponse.encoded()
let reportBytes = report.encoded()
let decRead = try measure("decode read response (MMS PDU → MMSData tree)", values: values, iterations: 20_000) {
    if case .confirmedResponse(_, .read(let r)) = try MMSPDU.decode(readBytes) { return r.results.count }
    return 0
}
let decReport = try measure("decode informationReport (checked, then → MMSData tree)", values: values, iterations: 20_000) {
    if case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode(reportBytes) { return r.results.count }
    return 0
}
// What a TASE.2 client does with a report: the association checks the results at receipt and
// keeps them encoded; the client types each value straight from its element.
func decodeTyped(_ bytes: [UInt8]) throws -> Int {
    guard case .unconfirmed(.informationReport(let r)) = try MMSPDU.decode(bytes), let received = r.received else { return 0 }
    var n = 0
    try received.forEachElement { e, reader in
        if let v = PointType.realQ.value(e, in: reader) { n &+= Int(v.flags.rawValue) &+ Int(v.real) }
    }
    return n
}
let decTyped = try measure("decode informationReport as a client: checked, typed from BER", values: values, iterations: 20_000) {
    try decodeTyped(reportBytes)
}
// An RBE report (the listOfVariable form): the same values, each named (ICC1/P0 …). Its names
// are checked at receipt and kept encoded (a TASE2Client matches them to the data set's members
// by their octets): this row minus the one above is what naming costs a client per value.
let rbeReportBytes = MMSPDU.unconfirmed(.informationReport(InformationReport(
    .listOfVariable((0..<values).map { VariableAccess(.domainSpecific(domain: "ICC1", item: "P\($0)")) }),
    results: points.map(AccessResult.success)))).encoded()
_ = try measure("decode RBE informationReport (names checked), typed from BER", values: values, iterations: 20_000) {
    try decodeTyped(rbeReportBytes)
}

// The peer: swift-asn1 parses the same bytes into its generic node tree, then reads every value.
func asn1Decode(_ bytes: [UInt8]) throws -> Int {
    var n = 0
    func walk(_ node: ASN1Node) {
        switch node.content {
        case .constructed(let children):
            for c in children { walk(c) }
        case .primitive(let bytes):
            if node.identifier.tagNumber == 7, bytes.count == 5 {
                var bits: UInt32 = 0
                for b in bytes.dropFirst() { bits = bits << 8 | UInt32(b) }
                n &+= Int(Float(bitPattern: bits))
            } else {
                n &+= bytes.count
            }
        }
    }
    walk(try BER.parse(bytes))
    return n
}
let peerDec = try measure("swift-asn1: BER.parse + walk of the same read response", values: values, iterations: 5_000) {
    try asn1Decode(readBytes)
}

func asn1Encode() throws -> Int {
    var s = DER.Serializer()
    try s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) { s in
        try s.serialize(Int(42))
        s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 4, tagClass: .contextSpecific)) { s in
            s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) { s in
                for i in 0..<values {
                    s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)) { s in
                        let bits = (Float(i) * 1.25 + 0.5).bitPattern
                        s.appendPrimitiveNode(identifier: ASN1Identifier(tagWithNumber: 7, tagClass: .contextSpecific)) { b in
                            b.append(8)
                            b.append(UInt8(bits >> 24)); b.append(UInt8(bits >> 16 & 0xFF))
                            b.append(UInt8(bits >> 8 & 0xFF)); b.append(UInt8(bits & 0xFF))
                        }
                        s.appendPrimitiveNode(identifier: ASN1Identifier(tagWithNumber: 4, tagClass: .contextSpecific)) { b in
                            b.append(0); b.append(UInt8(i % 4) << 4)
                        }
                    }
                }
            }
        }
    }
    return s.serializedBytes.count
}
let peerEnc = try measure("swift-asn1: DER.Serializer of the same read response", values: values, iterations: 5_000) {
    try asn1Encode()
}
let peerSize = try asn1Encode()
precondition(peerSize == readBytes.count, "the peer must produce the same PDU size")

print(String(repeating: "-", count: 100))
print("encode: FreeTase2 \(f(encRead, width: 0)) ns/value (report \(f(encReport, width: 0))) vs swift-asn1 \(f(peerEnc, width: 0)) → \(f(peerEnc / encRead, width: 0))× faster; target ≤ 20")
print("decode: FreeTase2 \(f(decRead, width: 0)) ns/value to a tree (report \(f(decReport, width: 0))) vs swift-asn1 \(f(peerDec, width: 0)) → \(f(peerDec / decRead, width: 0))× faster; a report typed from BER \(f(decTyped, width: 0)); target ≤ 60")

// MARK: TASE.2 server hot paths

print("")
print("TASE.2 VCC — 100,000 points, one data set of 1,000 RealQ points reported in full")
print(String(repeating: "-", count: 100))
var config = TASE2Configuration()
config.vcc.openMode = true
config.bilateralTables = [BilateralTableConfig(id: "BLT", icc: "ICC1", partnerAPTitle: [1, 1, 1, 999])]
for i in 0..<100_000 {
    config.points.append(PointConfig(name: "P\(i)", type: i % 2 == 0 ? .realQ : .stateQTimeTag, scope: .icc("ICC1")))
}
config.dataSets = [DataSetConfig(name: "DS", scope: .icc("ICC1"), members: (0..<1000).map { .domainSpecific(domain: "ICC1", item: "P\($0 * 2)") })]
let vcc = try VirtualControlCentre(configuration: config)
let handles = (0..<100_000).map { vcc.handle("P\($0)", in: .icc("ICC1"))! }
var batch = handles.map { ($0, PointValue.real(1)) }
var tick: Float = 0
_ = measure("update 100,000 points in one batch (per point)", values: 100_000, iterations: 20) {
    tick += 1
    for i in batch.indices { batch[i].1.real = tick }
    vcc.update(batch)
    return batch.count
}
let realQ = PointType.realQ
var reportWriter = BERWriter(capacity: 32_768)
let stored = (0..<1000).map { PointValue.real(Float($0), flags: DataFlags(validity: .held)) }
/// A full report of the 1,000 stored points, encoded from storage as the server does.
func prependStoredReport(to w: inout BERWriter) {
    InformationReport.prependPDU(.variableListName(.domainSpecific(domain: "ICC1", item: "DS")), to: &w) { w in
        var i = stored.count - 1
        while i >= 0 {
            realQ.prepend(stored[i], to: &w)
            i -= 1
        }
    }
}
_ = measure("encode a full report of 1,000 RealQ points from storage", values: 1000, iterations: 2000) {
    reportWriter.reset()
    prependStoredReport(to: &reportWriter)
    return reportWriter.count
}
_ = measure("… the same report framed (+pres, session, COTP, TPKT)", values: 1000, iterations: 2000) {
    reportWriter.reset()
    prependStoredReport(to: &reportWriter)
    OSIEncoder.prependDataFraming(to: &reportWriter, contexts: contexts)
    COTPSegmenter.prependFrames(to: &reportWriter, maxTPDUSize: 65_531)
    return reportWriter.count
}
