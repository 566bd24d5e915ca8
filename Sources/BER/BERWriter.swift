/// A BER writer that fills its buffer from the back.
///
/// Writing back to front lets every length be known when its header is written, in
/// one pass and without moving bytes: the contents of a constructed value are
/// prepended first, then its length and tag. The price is that children are
/// prepended **last child first**. Lower layers can keep prepending their headers
/// to the same buffer (MMS, then presentation, session, COTP, TPKT), so a PDU is
/// framed without a copy. `reset()` keeps the capacity, so a writer reused for
/// reports allocates nothing per report.
///
/// A writer can also fill memory it does not own (`withExternalStorage`), such as the
/// buffer that will be written to the socket, so that a PDU is encoded exactly once, in
/// place. Should the PDU outgrow that memory, the writer moves to storage of its own and
/// carries on; the caller sees it in `usesExternalStorage`.
public struct BERWriter: ~Copyable, @unchecked Sendable {
    // A uniquely owned buffer (the type is non-copyable), so writes need no
    // uniqueness or bounds checks beyond `reserve`.
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    /// Index of the first written byte in the buffer.
    @usableFromInline var start: Int
    /// False while writing into borrowed memory (which this writer must never free).
    @usableFromInline var ownsStorage: Bool

    public init(capacity: Int = 512) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
        start = self.capacity
        ownsStorage = true
    }

    init(borrowing storage: UnsafeMutableRawBufferPointer) {
        capacity = storage.count
        base = storage.baseAddress!.bindMemory(to: UInt8.self, capacity: storage.count)
        start = capacity
        ownsStorage = false
    }

    deinit { if ownsStorage { base.deallocate() } }

    /// Runs `body` with a writer that fills `storage` from its end. When `body` returns,
    /// either the bytes are the last `count` bytes of `storage` (`usesExternalStorage` is
    /// true), or the PDU did not fit and the writer holds them in memory of its own.
    /// The writer must not escape `body`.
    public static func withExternalStorage<R>(
        _ storage: UnsafeMutableRawBufferPointer, _ body: (inout BERWriter) throws -> R
    ) rethrows -> R {
        guard storage.count >= 16, storage.baseAddress != nil else {
            var w = BERWriter(capacity: 512)
            return try body(&w)
        }
        var w = BERWriter(borrowing: storage)
        return try body(&w)
    }

    /// True while the bytes are in the borrowed memory of `withExternalStorage`.
    public var usesExternalStorage: Bool { !ownsStorage }

    /// Bytes written so far.
    @inlinable public var count: Int { capacity - start }

    /// Forgets what was written, keeping the buffer.
    @inlinable public mutating func reset() { start = capacity }

    /// The written bytes as a new array.
    public func toArray() -> [UInt8] {
        Array(UnsafeBufferPointer(start: base + start, count: count))
    }

    /// Gives access to the written bytes without copying.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base + start, count: count))
    }

    @inlinable @inline(__always)
    mutating func reserve(_ n: Int) {
        if start >= n { return }
        grow(n)
    }

    @usableFromInline
    mutating func grow(_ n: Int) {
        let used = count
        var newCapacity = capacity * 2
        while newCapacity - used < n { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        (newBase + (newCapacity - used)).update(from: base + start, count: used)
        if ownsStorage { base.deallocate() }
        base = newBase
        capacity = newCapacity
        start = newCapacity - used
        ownsStorage = true
    }

    /// Makes room for `n` bytes in front of what is written, leaving them uninitialised for
    /// the caller to fill through `withUnsafeMutableWrittenBytes` (lower layers that must
    /// rearrange what is written, such as COTP segmentation).
    public mutating func prependUninitialized(_ n: Int) {
        precondition(n >= 0)
        reserve(n)
        start -= n
    }

    /// Gives mutable access to the written bytes (`count` of them, first to last).
    public mutating func withUnsafeMutableWrittenBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: base + start, count: count))
    }

    // MARK: Raw bytes

    @inlinable @inline(__always)
    public mutating func prepend(_ byte: UInt8) {
        reserve(1)
        start -= 1
        base[start] = byte
    }

    @inlinable
    public mutating func prepend(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        reserve(n)
        start -= n
        UnsafeMutableRawPointer(base + start).copyMemory(from: bytes.baseAddress!, byteCount: n)
    }

    @inlinable
    public mutating func prepend(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { prepend($0) }
    }

    @inlinable
    public mutating func prepend(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { prepend($0) }
    }

    /// Prepends the UTF-8 bytes of `string`.
    @inlinable
    public mutating func prepend(utf8 string: String) {
        var s = string
        s.withUTF8 { prepend(UnsafeRawBufferPointer($0)) }
    }

    /// Prepends `value` as `width` big-endian octets.
    @inlinable
    public mutating func prepend(bigEndian value: UInt64, width: Int) {
        reserve(width)
        var v = value
        var i = 0
        while i < width {
            start -= 1
            base[start] = UInt8(truncatingIfNeeded: v)
            v >>= 8
            i += 1
        }
    }

    /// Prepends a complete single-precision MMS floating-point element: `87 05 08 <IEEE 754>`
    /// (or with another context tag), the hottest value of TASE.2 reports.
    @inlinable @inline(__always)
    public mutating func prependFloat32(_ value: Float, tag: BERTag) {
        reserve(7)
        start -= 7
        let p = base + start
        let bits = value.bitPattern.bigEndian
        p[0] = tag.leading | UInt8(truncatingIfNeeded: tag.number)
        p[1] = 5
        p[2] = 8
        UnsafeMutableRawPointer(p + 3).storeBytes(of: bits, as: UInt32.self)
    }

    /// A BIT STRING of exactly 8 bits with a low-numbered tag (TASE.2 quality flags, the commonest
    /// element of a report), written in one step.
    public mutating func prependBitString8(_ byte: UInt8, tag: BERTag) {
        precondition(tag.number < 31)
        reserve(4)
        start -= 4
        let p = base + start
        p[0] = tag.leading | UInt8(truncatingIfNeeded: tag.number)
        p[1] = 2
        p[2] = 0
        p[3] = byte
    }

    /// Runs `body` with a cursor over at least `maxCount` free bytes in front of what is written,
    /// and keeps what it prepends. The cursor checks no bounds: `body` must prepend at most
    /// `maxCount` bytes. For the encoders of fixed-shape values (a point from storage) that would
    /// otherwise check the capacity once per element.
    @inlinable @inline(__always)
    public mutating func prependUnchecked(maxCount: Int, _ body: (inout BERPrependCursor) -> Void) {
        reserve(maxCount)
        var c = BERPrependCursor(base + start)
        body(&c)
        let n = (base + start) - c.p
        precondition(n >= 0 && n <= maxCount, "BERPrependCursor wrote past its reservation")
        start -= n
    }

    // MARK: Headers

    /// Octets a definite length of `length` takes in the shortest form.
    @inlinable
    public static func lengthOfLength(_ length: Int) -> Int {
        if length < 0x80 { return 1 }
        var n = 1
        var l = length
        while l > 0 {
            n += 1
            l >>= 8
        }
        return n
    }

    @inlinable
    public mutating func prependLength(_ length: Int) {
        if length < 0x80 {
            prepend(UInt8(length))
        } else {
            var n = 0
            var l = length
            while l > 0 {
                n += 1
                l >>= 8
            }
            prepend(bigEndian: UInt64(length), width: n)
            prepend(0x80 | UInt8(n))
        }
    }

    @inlinable
    public mutating func prependTag(_ tag: BERTag) {
        if tag.number < 31 {
            prepend(tag.leading | UInt8(tag.number))
        } else {
            var n = tag.number
            prepend(UInt8(n & 0x7F))
            n >>= 7
            while n > 0 {
                prepend(UInt8(n & 0x7F) | 0x80)
                n >>= 7
            }
            prepend(tag.leading | 0x1F)
        }
    }

    @inlinable @inline(__always)
    public mutating func prependHeader(_ tag: BERTag, length: Int) {
        if tag.number < 31 && length < 0x80 {
            reserve(2)
            start -= 2
            base[start] = tag.leading | UInt8(truncatingIfNeeded: tag.number)
            base[start + 1] = UInt8(truncatingIfNeeded: length)
            return
        }
        prependLength(length)
        prependTag(tag)
    }

    /// Prepends a constructed (or wrapping) element whose contents `body` prepends.
    /// Inside `body`, prepend the children **last first**.
    @inlinable
    public mutating func prependConstructed(_ tag: BERTag, _ body: (inout BERWriter) throws -> Void) rethrows {
        let mark = count
        try body(&self)
        prependHeader(tag, length: count - mark)
    }

    // MARK: Primitive values

    @inlinable
    public mutating func prependBoolean(_ value: Bool, tag: BERTag = .boolean) {
        prepend(value ? 0xFF : 0x00)
        prependHeader(tag, length: 1)
    }

    /// Octets the minimal two's-complement encoding of `value` takes.
    @inlinable
    public static func integerLength(_ value: Int64) -> Int {
        var n = 1
        var v = value
        while v > 127 || v < -128 {
            v >>= 8
            n += 1
        }
        return n
    }

    @inlinable
    public mutating func prependInteger(_ value: Int64, tag: BERTag = .integer) {
        let n = BERWriter.integerLength(value)
        prepend(bigEndian: UInt64(bitPattern: value), width: n)
        prependHeader(tag, length: n)
    }

    @inlinable
    public mutating func prependInteger(_ value: some BinaryInteger, tag: BERTag = .integer) {
        prependInteger(Int64(value), tag: tag)
    }

    /// A non-negative INTEGER, with a leading zero octet when the top bit is set.
    @inlinable
    public mutating func prependUnsigned(_ value: UInt64, tag: BERTag) {
        var n = 1
        var v = value >> 7
        while v > 0 {
            n += 1
            v >>= 8
        }
        prepend(bigEndian: value, width: min(n, 8))
        if n > 8 { prepend(0) }
        prependHeader(tag, length: n)
    }

    @inlinable
    public mutating func prependOctetString(_ bytes: [UInt8], tag: BERTag = .octetString) {
        prepend(bytes)
        prependHeader(tag, length: bytes.count)
    }

    @inlinable
    public mutating func prependString(_ string: String, tag: BERTag = .visibleString) {
        let mark = count
        prepend(utf8: string)
        prependHeader(tag, length: count - mark)
    }

    public mutating func prependOID(_ oid: OID, tag: BERTag = .objectIdentifier) {
        let c = oid.berContents
        prepend(c)
        prependHeader(tag, length: c.count)
    }

    @inlinable @inline(__always)
    public mutating func prependBitString(_ bits: BitString, tag: BERTag = .bitString) {
        let n = bits.byteCount
        reserve(n + 1)
        var i = n - 1
        while i >= 0 {
            start -= 1
            base[start] = bits.byte(i)
            i -= 1
        }
        start -= 1
        base[start] = UInt8(bits.unusedBits)
        prependHeader(tag, length: n + 1)
    }

    @inlinable
    public mutating func prependNull(tag: BERTag = .null) {
        prependHeader(tag, length: 0)
    }
}

/// Writes backwards from `p` without bounds checks, inside `BERWriter.prependUnchecked`, which
/// reserved the room. Each method prepends one complete element.
@frozen
public struct BERPrependCursor {
    @usableFromInline var p: UnsafeMutablePointer<UInt8>

    @inlinable init(_ p: UnsafeMutablePointer<UInt8>) { self.p = p }

    /// An identifier of a low tag number (< 31) and a short definite length (< 128).
    @inlinable @inline(__always)
    public mutating func header(_ tag: BERTag, length: Int) {
        p -= 2
        p[0] = tag.leading | UInt8(truncatingIfNeeded: tag.number)
        p[1] = UInt8(truncatingIfNeeded: length)
    }

    /// `tag 05 08 <IEEE 754 single>`.
    @inlinable @inline(__always)
    public mutating func float32(_ value: Float, tag: BERTag) {
        p -= 7
        p[0] = tag.leading | UInt8(truncatingIfNeeded: tag.number)
        p[1] = 5
        p[2] = 8
        UnsafeMutableRawPointer(p + 3).storeBytes(of: value.bitPattern.bigEndian, as: UInt32.self)
    }

    /// A BIT STRING of exactly 8 bits: `tag 02 00 <octet>`.
    @inlinable @inline(__always)
    public mutating func bitString8(_ octet: UInt8, tag: BERTag) {
        p -= 4
        p[0] = tag.leading | UInt8(truncatingIfNeeded: tag.number)
        p[1] = 2
        p[2] = 0
        p[3] = octet
    }

    /// An INTEGER in its shortest two's-complement form (a 32-bit value takes at most 6 bytes
    /// with its header, a 64-bit one 10).
    @inlinable @inline(__always)
    public mutating func integer(_ value: Int64, tag: BERTag) {
        // Octets needed: the bits that differ from the sign, plus the sign bit.
        let magnitude = UInt64(bitPattern: value ^ (value >> 63))
        contents(UInt64(bitPattern: value), octets: (64 - magnitude.leadingZeroBitCount) / 8 + 1, tag: tag)
    }

    /// A non-negative INTEGER (an MMS Unsigned), with a leading zero when the top bit is set.
    @inlinable @inline(__always)
    public mutating func unsigned(_ value: UInt64, tag: BERTag) {
        contents(value, octets: (64 - value.leadingZeroBitCount) / 8 + 1, tag: tag)
    }

    /// The low `n` octets of `value`, big-endian, under `tag` (octets past the eighth are zero).
    @inlinable @inline(__always)
    mutating func contents(_ value: UInt64, octets n: Int, tag: BERTag) {
        var v = value
        var i = 0
        while i < n {
            p -= 1
            p.pointee = UInt8(truncatingIfNeeded: v)
            v >>= 8
            i += 1
        }
        header(tag, length: n)
    }

    /// Bytes prepended since `mark` (a `position` taken earlier).
    @inlinable public var position: UnsafeMutablePointer<UInt8> { p }
    @inlinable public func count(since mark: UnsafeMutablePointer<UInt8>) -> Int { mark - p }
}
