import Logging
import Synchronization

/// A security event (in the style of IEC 62351-14 and libiec61850's TLS events): what was
/// refused, from where, and why. Codes are ours, stable, and listed in the README.
public struct SecurityEvent: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The TLS handshake failed for a reason BoringSSL names (protocol version, cipher, …).
        case handshakeFailed = "handshake-failed"
        /// The partner sent no certificate though secure mode requires one.
        case certificateRequired = "certificate-required"
        /// The partner's certificate is not signed by a configured trust root.
        case certificateNotTrusted = "certificate-not-trusted"
        case certificateExpired = "certificate-expired"
        case certificateRevoked = "certificate-revoked"
        /// The certificate is valid but not the one the bilateral table names.
        case certificateMismatch = "certificate-mismatch"
        /// The ACSE password is wrong, or a mechanism we do not know.
        case authenticationFailed = "authentication-failed"
        /// The table wants an ACSE password and the AARQ carries none.
        case authenticationRequired = "authentication-required"
        /// No bilateral table matches the partner's AP-title, AE-qualifier or selectors.
        case unknownPartner = "unknown-partner"
        /// Our own certificate expires soon.
        case ownCertificateExpiring = "own-certificate-expiring"

        /// Event codes, numbered in the manner of libiec61850's TLS event codes (alarm 1xx, warning 2xx).
        public var code: Int {
            switch self {
            case .handshakeFailed: return 101
            case .certificateRequired: return 102
            case .certificateNotTrusted: return 103
            case .certificateExpired: return 104
            case .certificateRevoked: return 105
            case .certificateMismatch: return 106
            case .authenticationFailed: return 107
            case .authenticationRequired: return 108
            case .unknownPartner: return 109
            case .ownCertificateExpiring: return 201
            }
        }
    }

    public var kind: Kind
    /// The peer's address (host and port) as the transport saw it.
    public var peer: String
    public var reason: String
    /// The bilateral table concerned, when one was selected.
    public var bilateralTable: String?

    public init(_ kind: Kind, peer: String, reason: String, bilateralTable: String? = nil) {
        self.kind = kind
        self.peer = peer
        self.reason = reason
        self.bilateralTable = bilateralTable
    }

    public var description: String {
        "security event \(kind.code) \(kind.rawValue) from \(peer)\(bilateralTable.map { " (bilateral table \($0))" } ?? ""): \(reason)"
    }
}

/// Logs each security event once, and rate-limits repeats from one address: a TSAP/PSEL or
/// password brute force produces one line per address and kind per `window`, with the count
/// of those suppressed, never a flood. Memory is bounded (`maxSources` addresses remembered).
public final class SecurityEventLog: Sendable {
    let logger: Logger
    let window: Double
    let maxSources: Int
    let clock: @Sendable () -> Double
    let sink: @Sendable (SecurityEvent) -> Void
    struct Entry {
        var since: Double
        var suppressed: Int
    }
    let state = Mutex<[String: Entry]>([:])

    public init(logger: Logger, window: Double = 60, maxSources: Int = 4_096,
                clock: @escaping @Sendable () -> Double = { TASE2Clock.system.monotonic() },
                sink: @escaping @Sendable (SecurityEvent) -> Void = { _ in }) {
        self.logger = logger
        self.window = window
        self.maxSources = maxSources
        self.clock = clock
        self.sink = sink
    }

    /// Records `e`; returns false when it was suppressed by the rate limit.
    @discardableResult
    public func record(_ e: SecurityEvent) -> Bool {
        let host = Self.host(of: e.peer)
        let key = "\(host) \(e.kind.rawValue)"
        let now = clock()
        let (emit, suppressed) = state.withLock { s -> (Bool, Int) in
            if var entry = s[key], now - entry.since < window {
                entry.suppressed += 1
                s[key] = entry
                return (false, 0)
            }
            let before = s[key]?.suppressed ?? 0
            if s.count >= maxSources { s = s.filter { now - $0.value.since < window } }
            if s.count >= maxSources { s.removeAll() }
            s[key] = Entry(since: now, suppressed: 0)
            return (true, before)
        }
        guard emit else { return false }
        var metadata: Logger.Metadata = ["event": "\(e.kind.rawValue)", "code": "\(e.kind.code)", "peer": "\(e.peer)"]
        if let t = e.bilateralTable { metadata["bilateralTable"] = "\(t)" }
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.warning("security: \(e.reason)", metadata: metadata)
        sink(e)
        return true
    }

    /// `[IPv4]127.0.0.1/127.0.0.1:5000` or `1.2.3.4:5000` → the address without its port.
    static func host(of peer: String) -> String {
        var p = Substring(peer)
        if let slash = p.lastIndex(of: "/") { p = p[p.index(after: slash)...] }
        if let colon = p.lastIndex(of: ":"), !p.contains("]") || p.last != "]" { p = p[..<colon] }
        return String(p)
    }
}
