import BER

/// A protocol error below MMS: a TPDU, SPDU or PPDU that is not well formed, or
/// that is not allowed where it arrived.
public struct OSIError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Layer: String, Sendable { case tpkt = "TPKT", cotp = "COTP", session = "Session", presentation = "Presentation", acse = "ACSE" }
    public var layer: Layer
    public var reason: String
    /// Offset in the unit being decoded, when known.
    public var offset: Int

    public init(_ layer: Layer, _ reason: String, at offset: Int = 0) {
        self.layer = layer
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(layer.rawValue) error at offset \(offset): \(reason)" }
}
