import NIOCore

/// What a peer's answers and reports may make us hold, whichever side called. Each limit, when
/// reached, ends the operation with `MMSAssociationError.limitExceeded` naming it (or, for
/// reports, drops and counts them): a hostile peer costs bounded memory and time.
public struct MMSClientLimits: Sendable, Hashable {
    /// Most names one GetNameList (all its pages together) may return.
    public var maxNames: Int
    /// Most octets of names one GetNameList may return.
    public var maxNameBytes: Int
    /// Most encoded octets of informationReports kept for a reader that falls behind.
    public var reportBufferBytes: Int
    /// An overall deadline for operations of several requests (GetNameList paging); none by default.
    public var operationTimeout: TimeAmount?

    public init(maxNames: Int = 200_000, maxNameBytes: Int = 8 << 20, reportBufferBytes: Int = 16 << 20, operationTimeout: TimeAmount? = nil) {
        self.maxNames = maxNames
        self.maxNameBytes = maxNameBytes
        self.reportBufferBytes = reportBufferBytes
        self.operationTimeout = operationTimeout
    }
}
