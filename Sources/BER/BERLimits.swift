/// Explicit bounds on what a decoder accepts, so that a hostile peer cannot make
/// us recurse without end or allocate without bound.
public struct BERLimits: Hashable, Sendable {
    /// Deepest nesting of constructed elements.
    public var maxDepth: Int
    /// Largest definite length of a single element.
    public var maxElementLength: Int
    /// Largest input handed to one decode call.
    public var maxInputLength: Int
    /// Deepest nesting of structures and arrays inside one MMS Data value (or type
    /// description): the association's negotiated dataStructureNestingLevel.
    public var maxDataNesting: Int

    public init(maxDepth: Int = 64, maxElementLength: Int = 16 << 20, maxInputLength: Int = 16 << 20, maxDataNesting: Int = 64) {
        self.maxDepth = maxDepth
        self.maxElementLength = maxElementLength
        self.maxInputLength = maxInputLength
        self.maxDataNesting = maxDataNesting
    }

    public static let `default` = BERLimits()
}
