import BER
import MMS
import MMSNIO

/// A device's tag as a client reads and sets it (TagValue, spec §3.6): who may operate it, why,
/// and whether it is armed by a select.
public struct DeviceTag: Hashable, Sendable, CustomStringConvertible {
    /// TagValue.Flags bits 0–1 as (HI, LO).
    public enum Kind: UInt8, Sendable, CaseIterable {
        case none = 0
        /// LO: neither open nor close may be operated.
        case openAndCloseInhibit = 1
        /// HI: close may not be operated.
        case closeOnlyInhibit = 2
        /// Both bits: not a tag a partner may set (the server refuses it).
        case invalid = 3

        public var name: String {
            switch self {
            case .none: return "no-tag"
            case .openAndCloseInhibit: return "open-and-close-inhibit"
            case .closeOnlyInhibit: return "close-only-inhibit"
            case .invalid: return "invalid"
            }
        }
    }

    public var kind: Kind
    /// Flags bit 2: selected and waiting for its operate.
    public var armed: Bool
    public var reason: String

    public init(_ kind: Kind, reason: String = "", armed: Bool = false) {
        self.kind = kind
        self.reason = reason
        self.armed = armed
    }

    /// The TagValue structure `{Flags BitString(3), Reason VisibleString}`; nil for any other shape.
    public init?(_ d: MMSData) {
        guard case .structure(let p) = d, p.count == 2, case .bitString(let f) = p[0], f.count == 3,
              case .visibleString(let r) = p[1] else { return nil }
        let octet = f.byte(0)
        kind = Kind(rawValue: octet >> 6)!
        armed = octet & 0x20 != 0
        reason = r
    }

    /// What SetTag writes (the armed bit is the server's, never written).
    public var data: MMSData {
        .structure([.bitString(BitString(msbFirst: UInt64(kind.rawValue << 6) << 56, count: 3)), .visibleString(reason)])
    }

    public var description: String { kind.name + (armed ? " armed" : "") + (reason.isEmpty ? "" : " \(escaped(reason))") }
}
