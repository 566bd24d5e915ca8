import Synchronization

/// Values received from RBE reports and sampled change→wire latencies (µs), per measuring step.
final class RBECounter: Sendable {
    struct State {
        var values = 0
        var reports = 0
        var latencies: [Float] = []
    }
    let state = Mutex(State())

    func add(_ values: Int) { state.withLock { $0.values += values; $0.reports += 1 } }

    /// `d` is a difference of two stamps modulo 2^24 µs.
    func latency(_ d: Float) {
        let us = d < 0 ? d + 16_777_216 : d
        state.withLock { if $0.latencies.count < 1_000_000 { $0.latencies.append(us) } }
    }

    func reset() { state.withLock { $0 = State() } }

    /// values, reports, p50 and p99 in µs.
    func snapshot() -> (Int, Int, Double, Double) {
        let s = state.withLock { $0 }
        let sorted = s.latencies.sorted()
        func p(_ q: Double) -> Double { sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) }
        return (s.values, s.reports, p(0.5), p(0.99))
    }
}
