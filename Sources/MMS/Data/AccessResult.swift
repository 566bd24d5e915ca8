import BER

/// DataAccessError: why one variable of a Read or Write failed.
public struct DataAccessError: Hashable, Sendable, CustomStringConvertible, Error {
    public var code: Int64
    public init(code: Int64) { self.code = code }

    public static let objectInvalidated = DataAccessError(code: 0)
    public static let hardwareFault = DataAccessError(code: 1)
    public static let temporarilyUnavailable = DataAccessError(code: 2)
    public static let objectAccessDenied = DataAccessError(code: 3)
    public static let objectUndefined = DataAccessError(code: 4)
    public static let invalidAddress = DataAccessError(code: 5)
    public static let typeUnsupported = DataAccessError(code: 6)
    public static let typeInconsistent = DataAccessError(code: 7)
    public static let objectAttributeInconsistent = DataAccessError(code: 8)
    public static let objectAccessUnsupported = DataAccessError(code: 9)
    public static let objectNonExistent = DataAccessError(code: 10)
    public static let objectValueInvalid = DataAccessError(code: 11)

    static let names = [
        "object-invalidated", "hardware-fault", "temporarily-unavailable", "object-access-denied",
        "object-undefined", "invalid-address", "type-unsupported", "type-inconsistent",
        "object-attribute-inconsistent", "object-access-unsupported", "object-non-existent", "object-value-invalid",
    ]

    public var description: String {
        code >= 0 && code < DataAccessError.names.count ? DataAccessError.names[Int(code)] : "data-access-error(\(code))"
    }
}

/// AccessResult: a value or the reason there is none.
public enum AccessResult: Hashable, Sendable {
    case success(MMSData)
    case failure(DataAccessError)

    public var data: MMSData? { if case .success(let d) = self { return d } else { return nil } }

    static func decodeList(_ r: inout BERReader) throws -> [AccessResult] {
        var out: [AccessResult] = []
        // A result takes at least 3 octets; most TASE.2 points take 8 to 25.
        out.reserveCapacity(min(r.remaining / 8 + 1, 4096))
        let list = r
        var o = list.offset
        while o < list.end {
            let e = try list.element(at: o)
            o = e.endOffset
            out.append(try decode(e, in: list))
        }
        r.offset = o
        return out
    }

    /// The AccessResult element `e` that `r` read.
    public init(_ e: BERElement, in r: BERReader) throws { self = try AccessResult.decode(e, in: r) }

    /// The AccessResult element `e`.
    static func decode(_ e: BERElement, in r: BERReader) throws -> AccessResult {
        if e.tag == .context(0) { return .failure(DataAccessError(code: try r.integer(of: e))) }
        return .success(try MMSData.decode(e, in: r, nesting: 0))
    }

    /// Checks a list as `decodeList` would and counts it, building no values (`MMSData.validate`).
    static func validateList(_ r: inout BERReader) throws -> Int {
        let list = r  // a local copy, not re-read through the inout reference for every result
        var n = 0
        var o = list.offset
        while o < list.end {
            let e = try list.element(at: o)
            o = e.endOffset
            if e.tag == .context(0) { _ = try list.integer(of: e) } else { try MMSData.validateInline(e, in: list, nesting: 0) }
            n += 1
        }
        r.offset = o
        return n
    }

    public func prepend(to w: inout BERWriter) {
        switch self {
        case .success(let d): d.prepend(to: &w)
        case .failure(let e): w.prependInteger(e.code, tag: .context(0))
        }
    }

    static func prependList(_ list: [AccessResult], to w: inout BERWriter) {
        list.withUnsafeBufferPointer { buf in
            var i = buf.count - 1
            while i >= 0 {
                buf[i].prepend(to: &w)
                i -= 1
            }
        }
    }
}
