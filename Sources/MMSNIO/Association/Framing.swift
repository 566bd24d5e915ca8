import BER
import MMS
import NIOCore
import OSI

/// How MMS PDUs travel on one established association: the presentation contexts, the COTP
/// TPDU size and the negotiated PDU size. Fixed once the association is up, so any thread may
/// encode a PDU for it (a report straight from point storage, a response) into the very
/// buffer that is written: the PDU back to front, then presentation, session, COTP and TPKT
/// headers in front of it, with no copy.
public struct Framing: Sendable, Hashable {
    public let contexts: PresentationContexts
    public let maxTPDUSize: Int
    /// Largest MMS PDU the peer accepts (the negotiated localDetail).
    public let maxPDUSize: Int

    public init(contexts: PresentationContexts, maxTPDUSize: Int, maxPDUSize: Int) {
        self.contexts = contexts
        self.maxTPDUSize = maxTPDUSize
        self.maxPDUSize = maxPDUSize
    }

    /// Encodes the MMS PDU that `body` prepends and frames it for the wire. Fails with
    /// `pduTooLarge` (and nothing to send) when it exceeds the negotiated PDU size.
    /// `capacity` is a guess of the framed size; a larger PDU costs one copy.
    public func frame(capacity: Int = 512, allocator: ByteBufferAllocator = ByteBufferAllocator(),
                      _ body: (inout BERWriter) throws -> Void) throws -> ByteBuffer {
        let (buffer, size) = try allocator.prepending(capacity: capacity + Framing.overhead) { w -> Int in
            try body(&w)
            let size = w.count
            guard size <= maxPDUSize else { return size }
            OSIEncoder.prependDataFraming(to: &w, contexts: contexts)
            COTPSegmenter.prependFrames(to: &w, maxTPDUSize: maxTPDUSize)
            return size
        }
        guard size <= maxPDUSize else { throw MMSAssociationError.pduTooLarge(size: size, limit: maxPDUSize) }
        return buffer
    }

    /// Frames an MMS PDU value.
    public func frame(_ pdu: MMSPDU, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> ByteBuffer {
        try frame(capacity: 256, allocator: allocator) { pdu.prepend(to: &$0) }
    }

    /// Room for the headers in front of an MMS PDU that fits one TPDU: TPKT 4, DT 3, session 4,
    /// presentation about 12.
    static let overhead = 32

    /// Octets a framed PDU of `mmsSize` octets takes on the wire.
    public func wireSize(ofPDU mmsSize: Int) -> Int {
        let tsdu = mmsSize + 4 + 12
        let chunk = maxTPDUSize - 3
        return tsdu + 7 * ((tsdu + chunk - 1) / chunk)
    }
}
