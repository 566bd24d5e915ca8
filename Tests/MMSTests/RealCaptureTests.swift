import BER
import MMS
import OSI
import Testing
import TestSupport

/// Everything decoded from the production capture, in capture order.
struct CaptureDecode {
    var pdus: [(flow: FlowKey, message: OSIMessage)] = []
    var disconnectRequests = 0
    var multiSegmentTSDUs = 0
    var connectionRequests = 0

    init(_ file: String) throws {
        let packets = try readPcap(try Fixtures.data(file))
        var tcp = TCPReassembler()
        struct Stream {
            var tpkt = TPKTStreamDecoder()
            var cotp = COTPReassembler()
            var segments = 0
        }
        var streams: [String: Stream] = [:]
        var contexts: [String: PresentationContexts] = [:]
        for p in packets where p.srcPort == 102 || p.dstPort == 102 {
            let (flow, generation, bytes) = tcp.feed(p)
            let key = "\(flow)#\(generation)"
            let connection = flow.srcPort == 102 ? "\(flow.reversed)" : "\(flow)"
            var s = streams[key] ?? Stream()
            s.tpkt.append(bytes)
            while let payload = try s.tpkt.nextPayload() {
                switch try TPDU.decode(payload) {
                case .data(let eot, let data):
                    s.segments += 1
                    guard let tsdu = try s.cotp.append(endOfTSDU: eot, data) else { continue }
                    var ctx = contexts[connection] ?? PresentationContexts()
                    let m = try OSIMessage.decode(tsdu: tsdu, contexts: &ctx)
                    if s.segments > 1, case .data = m { multiSegmentTSDUs += 1 }
                    s.segments = 0
                    contexts[connection] = ctx
                    pdus.append((flow, m))
                case .disconnectRequest: disconnectRequests += 1
                case .connectionRequest: connectionRequests += 1
                default: break
                }
            }
            streams[key] = s
        }
    }

    var mms: [MMSPDU] { pdus.compactMap { $0.message.mmsPDU } }
}

@Suite("Production capture between utility control centres")
struct RealCaptureTests {
    static let file = "real/iccp_utility_switchover_anon.pcap"

    @Test("every MMS PDU decodes; counts by service match the capture")
    func countsByService() throws {
        let d = try CaptureDecode(Self.file)
        var requests: [UInt32: Int] = [:]
        var responses: [UInt32: Int] = [:]
        var reports = 0, errors = 0, initiateRequests = 0, initiateResponses = 0
        for p in d.mms {
            switch p {
            case .confirmedRequest(_, let s): requests[s.serviceTag, default: 0] += 1
            case .confirmedResponse(_, let s): responses[s.serviceTag, default: 0] += 1
            case .confirmedError: errors += 1
            case .unconfirmed(.informationReport): reports += 1
            case .initiateRequest: initiateRequests += 1
            case .initiateResponse: initiateResponses += 1
            default: Issue.record("unexpected \(p.kindName)")
            }
        }
        // Ground truth from tshark over the same file.
        #expect(d.mms.count == 2600)
        #expect(reports == 1896)
        #expect(initiateRequests == 9 && initiateResponses == 9)
        #expect(errors == 15)
        #expect(requests == [1: 4, 2: 121, 4: 90, 5: 64, 11: 41, 13: 23])
        #expect(responses == [1: 4, 2: 121, 4: 90, 5: 63, 11: 36, 13: 14])
        #expect(d.multiSegmentTSDUs == 756)
        #expect(d.disconnectRequests == 2)
        // No PDU is unsupported: each decoded to a typed service.
        for p in d.mms {
            if case .confirmedRequest(_, .unsupported) = p { Issue.record("unsupported request") }
            if case .confirmedResponse(_, .unsupported) = p { Issue.record("unsupported response") }
        }
    }

    @Test("every MMS PDU re-encodes to bytes that decode to the same value")
    func roundTrip() throws {
        let d = try CaptureDecode(Self.file)
        var w = BERWriter(capacity: 4096)
        for p in d.mms {
            w.reset()
            p.prepend(to: &w)
            let again = try MMSPDU.decode(w.toArray())
            #expect(again == p)
        }
    }

    @Test("decoded values: associations, transfer sets, reports")
    func decodedValues() throws {
        let d = try CaptureDecode(Self.file)
        // Association requests carry real AP-titles and AE-qualifiers that are not 12.
        let aarqs: [AARQ] = d.pdus.compactMap { if case .connect(_, _, let a, _) = $0.message { return a } else { return nil } }
        #expect(aarqs.count == 9)
        // Two application contexts in the field: the MMS one (1.0.9506.2.3) and the older
        // 1.0.9506.1.1 that some ICCP products still propose; a server must accept both.
        #expect(aarqs.filter { $0.applicationContext == WellKnownOID.mmsApplicationContext }.count == 3)
        #expect(aarqs.filter { $0.applicationContext == WellKnownOID.mmsApplicationContextV1 }.count == 6)
        #expect(aarqs.contains { $0.calling.aeQualifier?.integer.map { $0 != 12 } ?? false })
        // AAREs answer with the responder's own AP-title (spec §6).
        let aares: [AARE] = d.pdus.compactMap { if case .accept(_, _, let a, _) = $0.message { return a } else { return nil } }
        #expect(aares.count == 9)
        #expect(aares.allSatisfy { $0.result == .accepted && $0.responding.apTitle != nil })

        // Next_DSTransfer_Set answers: {Scope 1, ICC, vendor-specific name}.
        let tsNames: [String] = d.mms.compactMap {
            guard case .confirmedResponse(_, .read(let r)) = $0, r.results.count == 1,
                case .success(.structure(let m))? = r.results.first, m.count == 3,
                case .unsigned(1) = m[0], case .visibleString(let name) = m[2]
            else { return nil }
            return name
        }
        #expect(!tsNames.isEmpty)
        #expect(tsNames.contains { $0.hasSuffix("_TS0") || $0.hasPrefix("NM__STA") || $0.contains("_TS") })

        // Full DSTransferSet writes: 13 members (2000.08), Status TRUE last but one.
        let dstsWrites: [[MMSData]] = d.mms.compactMap {
            guard case .confirmedRequest(_, .write(let w)) = $0, case .structure(let m)? = w.data.first, m.count == 13 else { return nil }
            return m
        }
        #expect(!dstsWrites.isEmpty)
        #expect(dstsWrites.allSatisfy { if case .boolean = $0[11] { return true } else { return false } })

        // Full reports name the data set (variableListName); RBE reports list variables,
        // and the first item of those is Transfer_Set_Name when the data set has it.
        var byName = 0, byList = 0
        for p in d.mms {
            guard case .unconfirmed(.informationReport(let r)) = p else { continue }
            switch r.variableAccessSpecification {
            case .variableListName: byName += 1
            case .listOfVariable(let l):
                byList += 1
                #expect(l.count == r.results.count)
            }
        }
        #expect(byName > 0 && byList > 0 && byName + byList == 1896)
    }
}
