/// One decoded TLV header: where the element and its contents lie in the buffer.
public struct BERElement: Hashable, Sendable {
    public let tag: BERTag
    /// Offset of the first identifier octet.
    public let offset: Int
    /// Offset of the first content octet.
    public let contentOffset: Int
    /// Number of content octets (for indefinite length: up to, not including, end-of-contents).
    public let contentLength: Int
    public let isIndefinite: Bool

    /// Offset just past the element (past the end-of-contents octets for indefinite length).
    @inlinable public var endOffset: Int { contentOffset + contentLength + (isIndefinite ? 2 : 0) }
    @inlinable public var headerLength: Int { contentOffset - offset }

    @inlinable
    public init(tag: BERTag, offset: Int, contentOffset: Int, contentLength: Int, isIndefinite: Bool) {
        self.tag = tag
        self.offset = offset
        self.contentOffset = contentOffset
        self.contentLength = contentLength
        self.isIndefinite = isIndefinite
    }
    /// True when the header used the shortest length form X.690 DER would use.
    @inlinable public var hasMinimalLength: Bool {
        !isIndefinite && headerLength == tag.encodedLength + BERWriter.lengthOfLength(contentLength)
    }
}

/// Byte containers a reader can borrow without copying.
public protocol BERInput {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: BERInput where Element == UInt8 {}
extension ArraySlice: BERInput where Element == UInt8 {}
extension UnsafeRawBufferPointer: BERInput {
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}

/// A cursor over BER elements of one constructed value (or of a whole PDU).
///
/// The reader borrows the bytes for the duration of a `withReader` call and never
/// copies them: primitive contents are decoded straight from the buffer. All
/// arithmetic on lengths is checked against the end of the enclosing element.
public struct BERReader {
    @usableFromInline let base: UnsafeRawBufferPointer
    /// Current position (offset from the start of the buffer).
    public var offset: Int
    /// End of the region this reader may read.
    public let end: Int
    /// Nesting depth of this region.
    public let depth: Int
    public let limits: BERLimits

    @inlinable
    init(base: UnsafeRawBufferPointer, offset: Int, end: Int, depth: Int, limits: BERLimits) {
        self.base = base
        self.offset = offset
        self.end = end
        self.depth = depth
        self.limits = limits
    }

    /// Runs `body` with a reader over `bytes`. The reader must not escape `body`.
    @inlinable
    public static func withReader<Bytes: BERInput, R>(
        _ bytes: Bytes, limits: BERLimits = .default, _ body: (inout BERReader) throws -> R
    ) throws -> R {
        try bytes.withUnsafeBytes { raw in
            if raw.count > limits.maxInputLength {
                throw BERError(.inputTooLarge(limit: limits.maxInputLength), at: 0)
            }
            var reader = BERReader(base: raw, offset: 0, end: raw.count, depth: 0, limits: limits)
            return try body(&reader)
        }
    }

    @inlinable public var isAtEnd: Bool { offset >= end }
    @inlinable public var remaining: Int { end - offset }

    // MARK: Headers

    /// Parses the header at `at` without consuming anything.
    @inlinable @inline(__always)
    func header(at start: Int) throws -> BERElement {
        // Most elements have a one-octet tag and a short definite length: read those here, and
        // leave the rest (multi-octet tags, long and indefinite lengths, errors) to `fullHeader`.
        if start >= 0, end - start >= 2 {
            let first = base[start], l = base[start + 1]
            if first & 0x1F != 0x1F, l < 0x80, end - start - 2 >= Int(l) {
                return BERElement(tag: BERTag(leading: first, number: UInt32(first & 0x1F)), offset: start,
                                  contentOffset: start + 2, contentLength: Int(l), isIndefinite: false)
            }
        }
        return try BERReader.fullHeader(base: base, at: start, end: end, depth: depth, limits: limits)
    }

    /// Parses any header at `at` (see `header(at:)`). Static, with the reader's fields as
    /// arguments, so that the fast path need not build a copy of the reader for the call.
    @usableFromInline
    static func fullHeader(base: UnsafeRawBufferPointer, at start: Int, end: Int, depth: Int, limits: BERLimits) throws -> BERElement {
        try BERReader(base: base, offset: start, end: end, depth: depth, limits: limits).fullHeader(at: start)
    }

    func fullHeader(at start: Int) throws -> BERElement {
        var o = start
        // `element(at:)` takes any offset: one before the buffer is refused, never read.
        guard o >= 0, o < end else { throw BERError(.truncated, at: start) }
        let first = base[o]
        o += 1
        var number = UInt32(first & 0x1F)
        if number == 0x1F {
            number = 0
            var count = 0
            while true {
                guard o < end else { throw BERError(.truncated, at: start) }
                let b = base[o]
                o += 1
                if count == 0 && b == 0x80 { throw BERError(.invalidTag, at: start) }
                count += 1
                if count > 5 || (count == 5 && number > 0x1FF_FFFF) { throw BERError(.invalidTag, at: start) }
                number = (number << 7) | UInt32(b & 0x7F)
                if b & 0x80 == 0 { break }
            }
        }
        let tag = BERTag(leading: first, number: number)
        guard o < end else { throw BERError(.truncated, at: start) }
        let l = base[o]
        o += 1
        var length: Int
        var indefinite = false
        if l < 0x80 {
            length = Int(l)
        } else if l == 0x80 {
            guard tag.isConstructed else { throw BERError(.indefiniteLengthOnPrimitive, at: start) }
            indefinite = true
            length = 0
        } else {
            let n = Int(l & 0x7F)
            guard l != 0xFF, n <= 8 else { throw BERError(.unsupportedLengthForm, at: start) }
            guard end - o >= n else { throw BERError(.truncated, at: start) }
            var v: UInt64 = 0
            for i in 0..<n { v = (v << 8) | UInt64(base[o + i]) }
            o += n
            guard v <= UInt64(limits.maxElementLength) else {
                throw BERError(.elementTooLarge(limit: limits.maxElementLength), at: start)
            }
            length = Int(v)
        }
        if indefinite {
            let eoc = try findEndOfContents(from: o, depth: depth + 1, elementStart: start)
            length = eoc - o
        } else {
            guard end - o >= length else { throw BERError(.truncated, at: start) }
        }
        return BERElement(tag: tag, offset: start, contentOffset: o, contentLength: length, isIndefinite: indefinite)
    }

    /// Walks the elements of an indefinite-length value and returns the offset of its end-of-contents.
    @usableFromInline
    func findEndOfContents(from start: Int, depth: Int, elementStart: Int) throws -> Int {
        guard depth <= limits.maxDepth else {
            throw BERError(.nestingTooDeep(limit: limits.maxDepth), at: elementStart)
        }
        var inner = BERReader(base: base, offset: start, end: end, depth: depth, limits: limits)
        while true {
            guard inner.end - inner.offset >= 2 else { throw BERError(.missingEndOfContents, at: elementStart) }
            if inner.base[inner.offset] == 0 && inner.base[inner.offset + 1] == 0 { return inner.offset }
            do {
                let child = try inner.header(at: inner.offset)
                inner.offset = child.endOffset
            } catch let e as BERError where e.kind == .truncated {
                throw BERError(.missingEndOfContents, at: elementStart)
            }
        }
    }

    /// The tag of the next element, or nil at the end.
    @inlinable
    public func peekTag() throws -> BERTag? {
        if offset >= end { return nil }
        return try header(at: offset).tag
    }

    /// The element whose header starts at `offset` (inside this region), without moving. A loop
    /// that keeps its position in a local variable walks faster than one that moves a reader.
    @inlinable @inline(__always)
    public func element(at offset: Int) throws -> BERElement { try header(at: offset) }

    /// Reads the next element header and moves past the whole element.
    @inlinable @inline(__always)
    public mutating func readElement() throws -> BERElement {
        let e = try header(at: offset)
        offset = e.endOffset
        return e
    }

    /// Reads the next element, which must carry `tag`.
    @inlinable
    public mutating func readElement(_ tag: BERTag, _ what: @autoclosure () -> String) throws -> BERElement {
        let e = try header(at: offset)
        guard e.tag == tag else { throw BERError(.unexpectedTag(expected: what(), found: e.tag), at: e.offset) }
        offset = e.endOffset
        return e
    }

    /// Reads the next element if it carries `tag`, else leaves the reader unchanged.
    @inlinable
    public mutating func readOptionalElement(_ tag: BERTag) throws -> BERElement? {
        if offset >= end { return nil }
        let e = try header(at: offset)
        guard e.tag == tag else { return nil }
        offset = e.endOffset
        return e
    }

    /// A reader over the contents of a constructed element, one level deeper. Always inlined:
    /// returned through memory, the reader was read back before its stores had landed, which
    /// cost a third of checking a report.
    @inlinable @inline(__always)
    public func contents(of element: BERElement) throws -> BERReader {
        guard element.tag.isConstructed else {
            throw BERError(.invalidValue("primitive element where a constructed one is required"), at: element.offset)
        }
        guard depth + 1 <= limits.maxDepth else {
            throw BERError(.nestingTooDeep(limit: limits.maxDepth), at: element.offset)
        }
        return BERReader(
            base: base, offset: element.contentOffset, end: element.contentOffset + element.contentLength,
            depth: depth + 1, limits: limits)
    }

    /// Reads a constructed element with `tag` and returns a reader over its contents.
    @inlinable
    public mutating func readConstructed(_ tag: BERTag, _ what: @autoclosure () -> String) throws -> BERReader {
        let e = try readElement(tag, what())
        return try contents(of: e)
    }

    /// Throws unless every byte of this region was consumed.
    @inlinable
    public func expectEnd() throws {
        if offset < end { throw BERError(.trailingData, at: offset) }
    }

    /// The raw content octets of a primitive element (valid only inside `withReader`).
    @inlinable
    public func contentBytes(of e: BERElement) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: base[e.contentOffset..<(e.contentOffset + e.contentLength)])
    }

    /// All octets of an element, header included, not copied (valid only inside `withReader`).
    @inlinable
    public func elementBytes(of e: BERElement) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: base[e.offset..<e.endOffset])
    }

    /// All octets of an element, header included, copied out.
    public func encodedBytes(of e: BERElement) -> [UInt8] {
        Array(base[e.offset..<e.endOffset])
    }

    @inlinable
    public func byte(at i: Int) -> UInt8 { base[i] }

    // MARK: Primitive contents

    @inlinable
    public func boolean(of e: BERElement) throws -> Bool {
        guard e.contentLength == 1 else {
            throw BERError(.invalidValue("BOOLEAN of \(e.contentLength) octets"), at: e.offset)
        }
        return base[e.contentOffset] != 0
    }

    /// A two's-complement INTEGER that must fit 64 bits.
    @inlinable
    public func integer(of e: BERElement) throws -> Int64 {
        let n = e.contentLength
        guard n > 0 else { throw BERError(.invalidValue("INTEGER with no content octets"), at: e.offset) }
        guard n <= 8 else { throw BERError(.valueOutOfRange("INTEGER of \(n) octets"), at: e.offset) }
        let p = e.contentOffset
        var v = Int64(Int8(bitPattern: base[p]))
        var i = 1
        while i < n {
            v = (v << 8) | Int64(base[p + i])
            i += 1
        }
        return v
    }

    /// A non-negative INTEGER that must fit 64 bits (a leading zero octet is allowed).
    @inlinable
    public func unsigned(of e: BERElement) throws -> UInt64 {
        let n = e.contentLength
        guard n > 0 else { throw BERError(.invalidValue("INTEGER with no content octets"), at: e.offset) }
        let p = e.contentOffset
        guard base[p] & 0x80 == 0 else { throw BERError(.valueOutOfRange("negative unsigned value"), at: e.offset) }
        var start = 0
        if n == 9 {
            guard base[p] == 0 else { throw BERError(.valueOutOfRange("unsigned of 9 octets"), at: e.offset) }
            start = 1
        } else if n > 9 {
            throw BERError(.valueOutOfRange("unsigned of \(n) octets"), at: e.offset)
        }
        var v: UInt64 = 0
        var i = start
        while i < n {
            v = (v << 8) | UInt64(base[p + i])
            i += 1
        }
        return v
    }

    /// An INTEGER that must lie in `range`.
    @inlinable
    public func integer<T: FixedWidthInteger>(of e: BERElement, as type: T.Type) throws -> T {
        let v = try integer(of: e)
        guard let t = T(exactly: v) else {
            throw BERError(.valueOutOfRange("\(v) does not fit \(T.self)"), at: e.offset)
        }
        return t
    }

    @inlinable
    public func octets(of e: BERElement) -> [UInt8] {
        Array(contentBytes(of: e))
    }

    /// Contents as text; VisibleString/GraphicString must be printable ASCII, other strings UTF-8.
    @inlinable
    public func visibleString(of e: BERElement) throws -> String {
        try checkVisibleString(of: e)
        return String(decoding: contentBytes(of: e), as: UTF8.self)
    }

    /// Checks what `visibleString(of:)` checks, building no String.
    @inlinable @inline(__always)
    public func checkVisibleString(of e: BERElement) throws {
        for b in contentBytes(of: e) where b < 0x20 || b > 0x7E {
            throw BERError(.invalidValue("VisibleString with octet 0x\(String(b, radix: 16))"), at: e.offset)
        }
    }

    public func utf8String(of e: BERElement) throws -> String {
        guard let s = String(validating: contentBytes(of: e), as: UTF8.self) else {
            throw BERError(.invalidValue("invalid UTF-8"), at: e.offset)
        }
        return s
    }

    public func objectIdentifier(of e: BERElement) throws -> OID {
        try OID(berContents: contentBytes(of: e), at: e.offset)
    }

    public func bitString(of e: BERElement) throws -> BitString {
        try BitString(berContents: contentBytes(of: e), at: e.offset)
    }

    @inlinable
    public func null(of e: BERElement) throws {
        guard e.contentLength == 0 else { throw BERError(.invalidValue("NULL with contents"), at: e.offset) }
    }
}
