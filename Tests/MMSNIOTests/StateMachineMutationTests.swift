import BER
import MMS
@testable import MMSNIO
import NIOCore
import OSI
import Testing
import TestSupport

@Suite("The association state machine survives garbage")
struct StateMachineMutationTests {
    /// 200 server associations, each fed up to 20 mutated requests: every action is well
    /// formed, whatever the server writes is well-framed TPKT, and it answers or aborts cleanly.
    @Test func serverSurvivesMutatedRequests() throws {
        var rng = SplitMix64(state: 42)
        let requests = try Fixtures.vectorFiles().filter { $0.capture.hasPrefix("01") && $0.name.contains("_c2s_") && $0.name.contains("confirmed") }
        #expect(!requests.isEmpty)
        var fed = 0
        for round in 0..<200 {
            var p = Pair()
            p.associate()
            #expect(p.server.isAssociated)
            for _ in 0..<20 where !p.server.isClosed {
                let v = requests[Int.random(in: 0..<requests.count, using: &rng)]
                let bytes = mutate(v.bytes, &rng)
                fed += 1
                for a in feed(&p.server, ByteBuffer(bytes: bytes)) {
                    guard let w = written(a) else { continue }
                    var s = TPKTStreamDecoder()
                    s.append(Array(w.readableBytesView))
                    while let payload = try s.nextPayload() { _ = try TPDU.decode(payload) }
                    #expect(s.pendingCount == 0, "round \(round)")
                }
            }
        }
        #expect(fed > 600)
    }
}
