import BER

/// The listOfAccessResult of a received informationReport, kept as it came. It is checked at
/// receipt exactly as strictly as decoding it (`AccessResult.validateList` walks it with the
/// decoder's own code), then decoded on demand: whole, one result at a time, or typed straight
/// from its elements by a caller that knows the types. A TASE.2 client receiving reports of
/// thousands of points so builds no `MMSData` tree (one heap array per structure).
public final class ReceivedAccessResults: Sendable {
    /// The list's content octets: the results, in order.
    public let bytes: [UInt8]
    /// Number of results.
    public let count: Int
    /// The limits the list was checked with (the association's).
    @usableFromInline let limits: BERLimits

    /// Checks the list `list` holds (a reader over the contents of `element`, in `r`) and copies it.
    init(_ element: BERElement, list: inout BERReader, in r: BERReader) throws {
        count = try AccessResult.validateList(&list)
        bytes = r.octets(of: element)
        limits = r.limits
    }

    /// Every result, decoded.
    public func decoded() throws -> [AccessResult] {
        try BERReader.withReader(bytes, limits: limits) { r in try AccessResult.decodeList(&r) }
    }

    /// Calls `body` with each result's element and the reader it lies in (valid only during the
    /// call), in order; element offsets are into `bytes`. Inlinable, so that `body` is inlined
    /// into the caller's loop (it runs once per point).
    @inlinable
    public func forEachElement(_ body: (BERElement, BERReader) throws -> Void) throws {
        try BERReader.withReader(bytes, limits: limits) { r in
            var o = 0
            while o < r.end {
                let e = try r.element(at: o)
                o = e.endOffset
                try body(e, r)
            }
        }
    }

    /// The result whose element starts at `offset`.
    public func result(at offset: Int) throws -> AccessResult {
        try BERReader.withReader(bytes, limits: limits) { r in
            r.offset = offset
            return try AccessResult.decode(try r.readElement(), in: r)
        }
    }
}

/// One result of a received list, decoded when asked for.
public struct ReceivedAccessResult: Sendable {
    public let list: ReceivedAccessResults
    /// Offset of its element in `list.bytes`.
    public let offset: Int

    public init(_ list: ReceivedAccessResults, offset: Int) {
        self.list = list
        self.offset = offset
    }

    /// The result. The list was checked at receipt by the decoder's own code, so decoding it
    /// again cannot fail; were it to, the result says object-value-invalid rather than vanish.
    public var result: AccessResult {
        (try? list.result(at: offset)) ?? .failure(.objectValueInvalid)
    }
}
