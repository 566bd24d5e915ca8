/// An ASN.1 BER identifier: class, primitive/constructed flag and tag number.
///
/// Kept as two small integers so that comparing tags on the hot decode path is
/// a couple of integer compares, never a byte-array compare.
public struct BERTag: Hashable, Sendable, CustomStringConvertible {
    public enum TagClass: UInt8, Sendable {
        case universal = 0x00
        case application = 0x40
        case contextSpecific = 0x80
        case `private` = 0xC0
    }

    /// Class bits (0xC0) and constructed bit (0x20) of the first identifier octet.
    @usableFromInline let leading: UInt8
    public let number: UInt32

    @inlinable
    public init(_ tagClass: TagClass, _ number: UInt32, constructed: Bool = false) {
        self.leading = tagClass.rawValue | (constructed ? 0x20 : 0)
        self.number = number
    }

    @inlinable
    init(leading: UInt8, number: UInt32) {
        self.leading = leading & 0xE0
        self.number = number
    }

    @inlinable public var tagClass: TagClass { TagClass(rawValue: leading & 0xC0)! }
    @inlinable public var isConstructed: Bool { leading & 0x20 != 0 }

    /// Context-specific primitive `[n] IMPLICIT`.
    @inlinable public static func context(_ n: UInt32) -> BERTag { BERTag(.contextSpecific, n) }
    /// Context-specific constructed `[n]` (a SEQUENCE, or an explicit wrapper).
    @inlinable public static func contextConstructed(_ n: UInt32) -> BERTag {
        BERTag(.contextSpecific, n, constructed: true)
    }
    @inlinable public static func application(_ n: UInt32, constructed: Bool = true) -> BERTag {
        BERTag(.application, n, constructed: constructed)
    }

    public static let endOfContents = BERTag(.universal, 0)
    public static let boolean = BERTag(.universal, 1)
    public static let integer = BERTag(.universal, 2)
    public static let bitString = BERTag(.universal, 3)
    public static let octetString = BERTag(.universal, 4)
    public static let null = BERTag(.universal, 5)
    public static let objectIdentifier = BERTag(.universal, 6)
    public static let objectDescriptor = BERTag(.universal, 7)
    public static let external = BERTag(.universal, 8, constructed: true)
    public static let enumerated = BERTag(.universal, 10)
    public static let utf8String = BERTag(.universal, 12)
    public static let sequence = BERTag(.universal, 16, constructed: true)
    public static let set = BERTag(.universal, 17, constructed: true)
    public static let visibleString = BERTag(.universal, 26)
    public static let graphicString = BERTag(.universal, 25)

    /// Number of identifier octets this tag occupies.
    @inlinable public var encodedLength: Int {
        if number < 31 { return 1 }
        var n = number
        var count = 1
        while n > 0 {
            count += 1
            n >>= 7
        }
        return count
    }

    public var description: String {
        let cls: String
        switch tagClass {
        case .universal: cls = "UNIVERSAL "
        case .application: cls = "APPLICATION "
        case .contextSpecific: cls = ""
        case .private: cls = "PRIVATE "
        }
        return "[\(cls)\(number)\(isConstructed ? " c" : "")]"
    }
}
