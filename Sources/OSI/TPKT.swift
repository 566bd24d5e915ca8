/// RFC 1006 TPKT framing: `03 00 <length16>` in front of each TPDU.
public enum TPKT {
    public static let headerLength = 4
    /// RFC 1006 caps a TPKT at 65,535 octets including its header.
    public static let maxLength = 65_535

    /// The total length announced by a TPKT header, validated.
    /// - Returns: nil when fewer than four bytes are available.
    public static func frameLength(header b: some Collection<UInt8>) throws -> Int? {
        guard b.count >= 4 else { return nil }
        var i = b.startIndex
        let version = b[i]
        i = b.index(after: i)
        let reserved = b[i]
        i = b.index(after: i)
        let hi = b[i]
        i = b.index(after: i)
        let lo = b[i]
        _ = reserved  // RFC 1006: reserved, ignored on receipt
        return try frameLength(version: version, length: Int(hi) << 8 | Int(lo))
    }

    /// Validates a TPKT header given its version octet and announced length.
    public static func frameLength(version: UInt8, length: Int) throws -> Int {
        guard version == 3 else { throw OSIError(.tpkt, "version \(version), expected 3") }
        // The smallest TPDU (a DT header) is 3 octets: a shorter TPKT cannot be valid.
        guard length >= 7 else { throw OSIError(.tpkt, "length \(length) too small") }
        return length
    }

    /// The TPKT header for a payload of `payloadLength` bytes.
    public static func header(payloadLength: Int) -> [UInt8] {
        let l = payloadLength + headerLength
        precondition(l <= maxLength, "TPKT payload too large")
        return [3, 0, UInt8(l >> 8), UInt8(l & 0xFF)]
    }
}

/// Splits a byte stream into TPKT payloads (pure; the NIO handler uses the same rules).
public struct TPKTStreamDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// Buffered bytes not yet returned as a frame.
    public var pendingCount: Int { buffer.count - readIndex }

    /// The next complete TPKT payload (TPDU), or nil when more bytes are needed.
    public mutating func nextPayload() throws -> [UInt8]? {
        guard let length = try TPKT.frameLength(header: buffer[readIndex...]) else { return nil }
        guard buffer.count - readIndex >= length else { return nil }
        let payload = Array(buffer[(readIndex + TPKT.headerLength)..<(readIndex + length)])
        readIndex += length
        if readIndex > 4096 && readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        return payload
    }
}
