/// An ASN.1 BIT STRING. Bit 0 is the most significant bit of the first octet,
/// as in X.690 and as TASE.2 numbers its quality bits.
///
/// Strings of up to 64 bits (every TASE.2 flag field) live inline, so decoding a
/// quality octet never allocates.
public struct BitString: Hashable, Sendable, CustomStringConvertible {
    /// Number of bits.
    public let count: Int
    @usableFromInline var storage: Storage

    /// Inline for up to 64 bits (no reference to retain when a value is copied), else on the heap.
    @usableFromInline
    enum Storage: Hashable, Sendable {
        /// Octet 0 in the most significant byte.
        case inline(UInt64)
        case heap([UInt8])
    }

    /// A string of `count` zero bits.
    @inlinable
    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        self.storage = count > 64 ? .heap([UInt8](repeating: 0, count: (count + 7) / 8)) : .inline(0)
    }

    /// Bits taken MSB-first from `bytes`; octets past `(count + 7) / 8` are ignored.
    public init(bytes: some Sequence<UInt8>, count: Int) {
        self.init(count: count)
        var i = 0
        for b in bytes where i < byteCount {
            setByte(i, b)
            i += 1
        }
    }

    /// A string of `count` bits whose bit n is set when `value`'s bit n (MSB-first) is.
    @inlinable
    public init(msbFirst value: UInt64, count: Int) {
        precondition(count <= 64)
        self.count = count
        self.storage = .inline(value)
    }

    /// Octets needed to hold the bits.
    @inlinable public var byteCount: Int { (count + 7) / 8 }
    /// Unused bits in the last octet as encoded in BER.
    @inlinable public var unusedBits: Int { (8 - count % 8) % 8 }

    @inlinable
    public func byte(_ i: Int) -> UInt8 {
        switch storage {
        case .inline(let v): return UInt8(truncatingIfNeeded: v >> UInt64(56 - 8 * i))
        case .heap(let h): return h[i]
        }
    }

    @inlinable
    mutating func setByte(_ i: Int, _ b: UInt8) {
        switch storage {
        case .inline(let v):
            let shift = UInt64(56 - 8 * i)
            storage = .inline((v & ~(0xFF << shift)) | (UInt64(b) << shift))
        case .heap(var h):
            storage = .inline(0)  // drop the reference so that `h` is unique
            h[i] = b
            storage = .heap(h)
        }
    }

    public var bytes: [UInt8] { (0..<byteCount).map { byte($0) } }

    /// Bit `i`, 0 being the most significant bit of the first octet.
    @inlinable
    public subscript(bit bit: Int) -> Bool {
        get {
            guard bit >= 0, bit < count else { return false }
            return byte(bit / 8) & (0x80 >> UInt8(bit % 8)) != 0
        }
        set {
            precondition(bit >= 0 && bit < count, "bit index out of range")
            let mask: UInt8 = 0x80 >> UInt8(bit % 8)
            let old = byte(bit / 8)
            setByte(bit / 8, newValue ? old | mask : old & ~mask)
        }
    }

    /// The first 64 bits, octet 0 in the most significant byte.
    @inlinable public var leadingBits: UInt64 {
        switch storage {
        case .inline(let v): return v
        case .heap(let h):
            var v: UInt64 = 0
            for i in 0..<8 { v = (v << 8) | UInt64(h[i]) }
            return v
        }
    }

    /// Decodes BER BIT STRING contents (the unused-bits octet, then the bits).
    public init(berContents c: UnsafeRawBufferPointer, at offset: Int) throws {
        let bits = try BitString.bitCount(berContents: c, at: offset)
        self.count = bits
        if bits <= 64 {
            var v: UInt64 = 0
            for i in 0..<(c.count - 1) { v |= UInt64(c[i + 1]) << UInt64(56 - 8 * i) }
            storage = .inline(v)
        } else {
            storage = .heap(Array(c[1...]))
        }
    }

    /// The number of bits of BER contents `c`, or the reason they are no BIT STRING (what
    /// `init(berContents:at:)` checks, without building the string).
    public static func bitCount(berContents c: UnsafeRawBufferPointer, at offset: Int) throws -> Int {
        guard let unused = c.first else {
            throw BERError(.invalidValue("BIT STRING with no content octets"), at: offset)
        }
        guard unused <= 7 else {
            throw BERError(.invalidValue("BIT STRING with \(unused) unused bits"), at: offset)
        }
        guard c.count > 1 || unused == 0 else {
            throw BERError(.invalidValue("empty BIT STRING with unused bits"), at: offset)
        }
        return (c.count - 1) * 8 - Int(unused)
    }

    public var description: String {
        var s = ""
        for i in 0..<count { s += self[bit: i] ? "1" : "0" }
        return "'\(s)'B"
    }
}
