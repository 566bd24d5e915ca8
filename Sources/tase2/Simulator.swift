import Foundation
import Logging
import ServiceLifecycle
import TASE2

/// Moves the demo model's values once a second so that a partner sees reads change and
/// RBE transfer sets fire without anyone feeding data. Writable points are left alone: those
/// belong to the partners. Generic over the server's point handle so that it does not depend on
/// the server's internals.
struct Simulator<Handle: Sendable>: Service, CustomStringConvertible {
    let points: [(handle: Handle, type: PointType)]
    let read: @Sendable (Handle) -> PointValue
    let write: @Sendable ([(Handle, PointValue)]) -> Void
    let logger: Logger
    var interval: Duration = .seconds(1)

    /// Short, for ServiceLifecycle's logs (the default would dump every point).
    var description: String { "Simulator(\(points.count) points)" }

    func run() async throws {
        // The configured values are the centres the analog walks are pulled back to.
        let centres = points.map { read($0.handle) }
        logger.info("simulator: moving \(points.count) points every \(interval)")
        await cancelWhenGracefulShutdown {
            var rng = SystemRandomNumberGenerator()
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                let t = Date().timeIntervalSince1970
                let now = (seconds: Int32(clamping: Int64(t)), ms: Int16(clamping: Int64(t * 1000) % 1000))
                var updates: [(Handle, PointValue)] = []
                for (i, p) in points.enumerated() {
                    let old = read(p.handle)
                    let new = Self.step(old, type: p.type, centre: centres[i], now: now, using: &rng)
                    if new != old { updates.append((p.handle, new)) }
                }
                if !updates.isEmpty { write(updates) }
                logger.trace("simulator: \(updates.count) points changed")
            }
        }
        logger.info("simulator stopped")
    }

    /// One tick for one point: analog values walk around their configured value, states toggle now
    /// and then, protection events occur rarely, quality is mostly valid. A changed point gets the
    /// current time as its time stamp and (Extended types) a COV counter one higher.
    static func step(_ v: PointValue, type: PointType, centre: PointValue, now: (seconds: Int32, ms: Int16),
                     using rng: inout some RandomNumberGenerator) -> PointValue {
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
        var n = v
        let layout = type.layout()
        switch type.base {
        case .real:
            let scale = max(abs(centre.real), 1) * 0.01
            n.real = v.real + (centre.real - v.real) * 0.1 + Float.random(in: -scale...scale, using: &rng)
        case .discrete:
            if chance(0.2) {
                let away = v.discrete - centre.discrete
                let step: Int32 = away > 2 ? -1 : away < -2 ? 1 : (Bool.random(using: &rng) ? 1 : -1)
                n.discrete = v.discrete &+ step
            }
        case .state:
            if chance(0.05) { n.state = (StateValue(octet: v.state) == .on ? StateValue.off : .on).rawValue << 6 }
        case .stateSupplemental:
            // The two state bits toggle like a State; the other six bits keep their meaning.
            if chance(0.05) { n.state = (v.state & 0x3F) | (StateValue(octet: v.state) == .on ? StateValue.off : .on).rawValue << 6 }
        case .protection:
            if chance(0.02) {
                // Topical event, EventState ON; packed events name a random phase.
                n.eventFlags = 0x12
                if layout.carriesPackedEvent { n.packedEvent = 0x80 | ([UInt8(0x40), 0x20, 0x10].randomElement(using: &rng) ?? 0x40) }
                n.operatingTime = Int16.random(in: 20...80, using: &rng)
            } else if v.eventFlags != 0 && chance(0.3) {
                n.eventFlags = 0x10 | 0x01
            }
        }
        // Types whose quality reaches the wire (the point layout says which).
        if layout.carriesFlags {
            if n.flags.validity == .valid {
                if chance(0.01) { n.flags.validity = chance(0.5) ? .suspect : .held }
            } else if chance(0.3) {
                n.flags.validity = .valid
            }
        }
        if n != v {
            n.timeStamp = now.seconds
            n.milliseconds = now.ms
            if layout.carriesCOV { n.cov &+= 1 }
        }
        return n
    }
}
