/// Explicit bounds on what a decoder accepts, so that a hostile peer cannot make
/// us recurse without end or allocate without bound.
///
/// Stored in 32-bit fields (values past `Int32.max` are clamped to it): every `BERReader`
/// carries a copy, and each constructed element read makes a reader, so its size counts.
public struct BERLimits: Hashable, Sendable {
    @usableFromInline var depth: Int32
    @usableFromInline var elementLength: Int32
    @usableFromInline var inputLength: Int32
    @usableFromInline var dataNesting: Int32

    /// Deepest nesting of constructed elements.
    @inlinable public var maxDepth: Int {
        get { Int(depth) }
        set { depth = Int32(clamping: newValue) }
    }
    /// Largest definite length of a single element.
    @inlinable public var maxElementLength: Int {
        get { Int(elementLength) }
        set { elementLength = Int32(clamping: newValue) }
    }
    /// Largest input handed to one decode call.
    @inlinable public var maxInputLength: Int {
        get { Int(inputLength) }
        set { inputLength = Int32(clamping: newValue) }
    }
    /// Deepest nesting of structures and arrays inside one MMS Data value (or type
    /// description): the association's negotiated dataStructureNestingLevel.
    @inlinable public var maxDataNesting: Int {
        get { Int(dataNesting) }
        set { dataNesting = Int32(clamping: newValue) }
    }

    public init(maxDepth: Int = 64, maxElementLength: Int = 16 << 20, maxInputLength: Int = 16 << 20, maxDataNesting: Int = 64) {
        depth = Int32(clamping: maxDepth)
        elementLength = Int32(clamping: maxElementLength)
        inputLength = Int32(clamping: maxInputLength)
        dataNesting = Int32(clamping: maxDataNesting)
    }

    public static let `default` = BERLimits()
}
