import Synchronization

/// Values received from RBE reports and sampled change→wire latencies (µs), per measuring step.
final class RBECounter: Sendable {
    struct State {
        var values = 0
        var reports = 0
        var latencies: [Float] = []
    }
    let state = Mutex(State())

    /// One report's stamped values, received at `now`. Every 16th value over the whole run is
    /// sampled, not every 16th of each report: at low rates a report holds fewer than 16
    /// changes, and none of them would be.
    func received(_ stamps: some Sequence<Float>, at now: Float) {
        state.withLock { s in
            s.reports += 1
            for v in stamps {
                s.values += 1
                if s.values & 15 == 0, s.latencies.count < 1_000_000 { s.latencies.append(Self.elapsed(now - v)) }
            }
        }
    }

    /// `d`, a difference of two stamps modulo 2^24 µs, in µs.
    static func elapsed(_ d: Float) -> Float { d < 0 ? d + 16_777_216 : d }

    func reset() { state.withLock { $0 = State() } }

    /// values, reports, p50 and p99 in µs.
    func snapshot() -> (Int, Int, Double, Double) {
        let s = state.withLock { $0 }
        let sorted = s.latencies.sorted()
        func p(_ q: Double) -> Double { sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) }
        return (s.values, s.reports, p(0.5), p(0.99))
    }
}
