/// A decoding failure with the byte offset (from the start of the decoded buffer) where it was found.
///
/// Every ill-formed input is reported with one of these; the codecs never trap on
/// network data.
public struct BERError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The input ends before the element (or its header) does.
        case truncated
        /// A length octet form this decoder refuses: reserved `0xFF`, or more than 8 length octets.
        case unsupportedLengthForm
        /// A definite length larger than the configured element limit.
        case elementTooLarge(limit: Int)
        /// The whole input is larger than the configured limit.
        case inputTooLarge(limit: Int)
        /// Constructed elements nested deeper than the configured limit.
        case nestingTooDeep(limit: Int)
        /// An indefinite-length element whose end-of-contents octets never come.
        case missingEndOfContents
        /// Indefinite length on a primitive element (forbidden by X.690).
        case indefiniteLengthOnPrimitive
        /// A tag number that does not fit 32 bits, or a non-minimal long-form tag.
        case invalidTag
        /// An element was found where another was required.
        case unexpectedTag(expected: String, found: BERTag)
        /// A required element is missing.
        case missingElement(String)
        /// Bytes left over after a complete value.
        case trailingData
        /// The contents are not a legal encoding of the value (what and why in the text).
        case invalidValue(String)
        /// The value is legal BER but outside what the protocol allows.
        case valueOutOfRange(String)
    }

    public var kind: Kind
    /// Offset of the offending element in the buffer that was being decoded.
    public var offset: Int

    @inlinable
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch kind {
        case .truncated: what = "input truncated"
        case .unsupportedLengthForm: what = "unsupported length form"
        case .elementTooLarge(let l): what = "element longer than the limit of \(l) bytes"
        case .inputTooLarge(let l): what = "input longer than the limit of \(l) bytes"
        case .nestingTooDeep(let l): what = "nesting deeper than the limit of \(l)"
        case .missingEndOfContents: what = "indefinite length without end-of-contents"
        case .indefiniteLengthOnPrimitive: what = "indefinite length on a primitive element"
        case .invalidTag: what = "invalid tag"
        case .unexpectedTag(let e, let f): what = "expected \(e), found tag \(f)"
        case .missingElement(let e): what = "missing \(e)"
        case .trailingData: what = "trailing data after the value"
        case .invalidValue(let s): what = "invalid value: \(s)"
        case .valueOutOfRange(let s): what = "value out of range: \(s)"
        }
        return "BER error at offset \(offset): \(what)"
    }
}
