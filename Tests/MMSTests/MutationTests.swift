import BER
import Foundation
import MMS
import OSI
import Testing
import TestSupport

/// A small deterministic generator, so that a failure reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func mutate(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var b = bytes
    guard !b.isEmpty else { return [UInt8.random(in: 0...255, using: &rng)] }
    for _ in 0..<Int.random(in: 1...4, using: &rng) {
        let i = Int.random(in: 0..<b.count, using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: b[i] = UInt8.random(in: 0...255, using: &rng)
        case 1: b[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
        case 2: b.removeSubrange(i..<min(b.count, i + Int.random(in: 1...8, using: &rng)))
        case 3: b.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: i)
        case 4: b[i] = [0x80, 0x81, 0x82, 0x84, 0x88, 0x89, 0xFF, 0x00, 0x7F][Int.random(in: 0..<9, using: &rng)]  // length forms
        default: b = Array(b.prefix(i))
        }
        if b.isEmpty { break }
    }
    return b
}

@Suite("Mutated captures never trap")
struct MutationTests {
    /// 300 mutations per vector in CI; set FREETASE2_MUTATIONS for a longer hunt.
    static let rounds = Int(ProcessInfo.processInfo.environment["FREETASE2_MUTATIONS"] ?? "") ?? 300

    /// Every vector, mutated thousands of times, through every decoder: only typed errors come out.
    @Test func decodersOnlyThrowTypedErrors() throws {
        var rng = SplitMix64(state: 0xF7EE_7A5E_2026)
        var decoded = 0, failed = 0
        for v in try Fixtures.vectorFiles() {
            let tsdu = Array(v.bytes.dropFirst(7))
            for _ in 0..<Self.rounds {
                let m = mutate(tsdu, &rng)
                var ctx = PresentationContexts()
                do {
                    _ = try OSIMessage.decode(tsdu: m, contexts: &ctx)
                    decoded += 1
                } catch is BERError { failed += 1 } catch is OSIError { failed += 1 } catch {
                    Issue.record("untyped error \(error) for \(hex(m))")
                }
                do { _ = try TPDU.decode(mutate(Array(v.bytes.dropFirst(4)), &rng)) } catch is OSIError {} catch {
                    Issue.record("untyped COTP error \(error)")
                }
            }
        }
        #expect(decoded + failed > 20_000)
        #expect(failed > decoded)
    }

    /// A server state machine fed mutated PDUs keeps answering or aborts cleanly.
    @Test func stateMachineSurvivesGarbage() throws {
        var rng = SplitMix64(state: 42)
        let datas = try Fixtures.vectorFiles().filter { $0.capture.hasPrefix("01") && $0.name.contains("_c2s_") && $0.name.contains("confirmed") }
        #expect(!datas.isEmpty)
        for round in 0..<200 {
            var l = Loopback()
            try l.run(l.client.start())
            #expect(l.server.isAssociated)
            for _ in 0..<20 where !l.server.isClosed {
                let v = datas[Int.random(in: 0..<datas.count, using: &rng)]
                let tpdu = mutate(Array(v.bytes.dropFirst(4)), &rng)
                let actions = l.server.received(tpdu: tpdu)
                for a in actions {
                    if case .write(let bytes) = a {
                        // Whatever the server writes is well-framed TPKT.
                        var s = TPKTStreamDecoder()
                        s.append(bytes)
                        while let p = try s.nextPayload() { _ = try TPDU.decode(p) }
                        #expect(s.pendingCount == 0, "round \(round)")
                    }
                }
            }
        }
    }
}
