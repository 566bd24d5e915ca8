/// Mutations of captured PDUs for the robustness tests.

/// A small deterministic generator, so that a failure reproduces.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public func mutate(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
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

