import BER
import Foundation
import MMS
import OSI
import Testing
import TestSupport

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
}
