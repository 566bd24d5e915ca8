import NIOCore
import OSI

/// Cuts the bytes read from the socket into TPKT payloads (TPDUs). Each TPDU is a slice of
/// what was read: nothing is copied unless a frame straddles two reads.
struct TPKTFrameDecoder: Sendable {
    private var buffer: ByteBuffer?

    mutating func append(_ bytes: ByteBuffer) {
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = bytes
        } else {
            var more = bytes
            buffer!.writeBuffer(&more)
        }
    }

    /// Bytes of an unfinished frame are waiting for the rest.
    var hasPartialFrame: Bool { (buffer?.readableBytes ?? 0) > 0 }

    /// The next complete TPDU, or nil when more bytes are needed. A bad TPKT header is an error
    /// (the stream cannot be resynchronised).
    mutating func next() throws -> ByteBuffer? {
        guard var b = buffer, b.readableBytes >= TPKT.headerLength,
              let version = b.getInteger(at: b.readerIndex, as: UInt8.self),
              let announced = b.getInteger(at: b.readerIndex + 2, as: UInt16.self)
        else { return nil }
        let length = try TPKT.frameLength(version: version, length: Int(announced))
        guard b.readableBytes >= length else { return nil }
        b.moveReaderIndex(forwardBy: TPKT.headerLength)
        let tpdu = b.readSlice(length: length - TPKT.headerLength)!
        buffer = b.readableBytes == 0 ? nil : b
        return tpdu
    }
}

/// COTP class 0 reassembly of DT TPDUs into TSDUs, bounded. A TSDU carried by one DT (the
/// usual case) is that DT's slice; only a TSDU spread over several DTs is gathered (copied).
struct TSDUAssembler: Sendable {
    let maxTSDULength: Int
    private var partial: ByteBuffer?

    init(maxTSDULength: Int) { self.maxTSDULength = maxTSDULength }

    var isIdle: Bool { partial == nil }

    mutating func append(endOfTSDU: Bool, _ data: ByteBuffer) throws -> ByteBuffer? {
        let have = partial?.readableBytes ?? 0
        guard have + data.readableBytes <= maxTSDULength else {
            partial = nil
            throw OSIError(.cotp, "TSDU longer than the limit of \(maxTSDULength) octets")
        }
        if endOfTSDU && partial == nil { return data }
        var d = data
        if partial == nil { partial = ByteBufferAllocator().buffer(capacity: max(d.readableBytes * 2, 1024)) }
        partial!.writeBuffer(&d)
        guard endOfTSDU else { return nil }
        defer { partial = nil }
        return partial
    }
}

/// A DT TPDU read in place: its end-of-TSDU mark and its user data (a slice), or nil when the
/// TPDU is another kind (decoded the general way).
func dataTPDU(_ tpdu: ByteBuffer) -> (endOfTSDU: Bool, data: ByteBuffer)? {
    guard tpdu.readableBytes >= 3,
          let li = tpdu.getInteger(at: tpdu.readerIndex, as: UInt8.self), li == 2,
          let code = tpdu.getInteger(at: tpdu.readerIndex + 1, as: UInt8.self), code == 0xF0,
          let eot = tpdu.getInteger(at: tpdu.readerIndex + 2, as: UInt8.self)
    else { return nil }
    return (eot & 0x80 != 0, tpdu.getSlice(at: tpdu.readerIndex + 3, length: tpdu.readableBytes - 3)!)
}
