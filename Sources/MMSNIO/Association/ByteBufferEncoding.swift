import BER
import NIOCore

extension ByteBufferAllocator {
    /// A buffer holding what `body` prepends, written back to front straight into the buffer's
    /// memory: no intermediate array, no copy. `capacity` is a guess; a PDU that outgrows it is
    /// finished in the writer's own memory and copied once (the only copy, and a rare one).
    public func prepending<R>(capacity: Int, _ body: (inout BERWriter) throws -> R) rethrows -> (ByteBuffer, R) {
        var buffer = buffer(capacity: capacity)
        var spilled: ByteBuffer?
        var result: R?
        var length = 0
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { raw in
            try BERWriter.withExternalStorage(raw) { w in
                result = try body(&w)
                length = w.count
                guard w.usesExternalStorage else {
                    var copy = self.buffer(capacity: w.count)
                    _ = w.withBytes { copy.writeBytes($0) }
                    spilled = copy
                    return 0
                }
                return raw.count
            }
        }
        if let spilled { return (spilled, result!) }
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes - length)
        return (buffer, result!)
    }
}
