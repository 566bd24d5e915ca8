#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The two clocks of a VCC. Schedules, time-outs and BufferTime run on the monotonic clock, so a
/// step of the wall clock (NTP, an operator) neither stops nor floods reports; the wall clock
/// only stamps reports and places a transfer set's StartTime.
public struct TASE2Clock: Sendable {
    /// Seconds on a clock that never steps (any origin).
    public var monotonic: @Sendable () -> Double
    /// Seconds since 1970-01-01 UTC, as TASE.2 time stamps count them.
    public var wall: @Sendable () -> Double

    public init(monotonic: @escaping @Sendable () -> Double, wall: @escaping @Sendable () -> Double) {
        self.monotonic = monotonic
        self.wall = wall
    }

    public static let system = TASE2Clock(monotonic: { clockSeconds(CLOCK_MONOTONIC) }, wall: { clockSeconds(CLOCK_REALTIME) })
}

func clockSeconds(_ id: clockid_t) -> Double {
    var t = timespec()
    clock_gettime(id, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Seconds since 1970 (UTC), as TASE.2 time stamps count them.
public func currentTime() -> Double { clockSeconds(CLOCK_REALTIME) }
