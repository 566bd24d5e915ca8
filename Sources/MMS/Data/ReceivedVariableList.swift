import BER

/// The listOfVariable of a received informationReport, kept as it came, as its results are
/// (`ReceivedAccessResults`). It is checked at receipt exactly as strictly as decoding it
/// (`VariableAccess.validateList` takes each item apart with the decoder's own code), then
/// decoded on demand. An RBE report names every value it carries; a client that matches the
/// names by their octets (to the data set's members) so builds no String per value.
public struct ReceivedVariableList: Sendable {
    /// The list's content octets: the items (each a SEQUENCE), in order.
    public let bytes: [UInt8]
    /// Number of items.
    public let count: Int
    /// The limits the list was checked with (the association's).
    public let limits: BERLimits

    /// Checks the list `list` holds (a reader over the contents of `element`, in `r`) and copies it.
    init(_ element: BERElement, list: inout BERReader, in r: BERReader) throws {
        count = try VariableAccess.validateList(&list)
        bytes = r.octets(of: element)
        limits = r.limits
    }

    /// Every item, decoded.
    public func decoded() throws -> [VariableAccess] {
        try BERReader.withReader(bytes, limits: limits) { r in try VariableAccess.decodeList(&r) }
    }

    /// The name of the item whose SEQUENCE element is `e` (in a reader over `bytes`); nil for a
    /// variable named otherwise. Checked at receipt, so decoding it cannot fail.
    public static func name(of e: BERElement, in r: BERReader) -> ObjectName? {
        (try? VariableAccess.decode(e, in: r))?.variable.name
    }

    /// The name of the first item (what tells a report's kind: ACK, message, transfer report).
    public var firstName: ObjectName? {
        try? BERReader.withReader(bytes, limits: limits) { r in r.isAtEnd ? nil : Self.name(of: try r.element(at: 0), in: r) }
    }
}
