import NIOCore

/// Reads the cipher suite the server chose from its ServerHello as it passes (the one TLS
/// handshake message sent in the clear in both 1.2 and 1.3), because swift-nio-ssl does not
/// expose the negotiated suite. Sits in front of the TLS handler, passes every byte on
/// unchanged, and stops looking after the first handshake record.
final class ServerHelloObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    /// Bytes held while the first record is incomplete (a ServerHello is a few hundred octets).
    var pending: [UInt8] = []
    var done = false
    private(set) var cipherSuite: UInt16?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !done {
            let b = unwrapInboundIn(data)
            pending += b.readableBytesView
            inspect()
        }
        context.fireChannelRead(data)
    }

    /// Record: type 22 (handshake), version (2), length (2); handshake: type 2 (ServerHello),
    /// length (3), version (2), random (32), session id (1 + n), then the cipher suite (2).
    func inspect() {
        guard pending.count >= 5 else { return }
        guard pending[0] == 22 else { return finish() }
        let length = Int(pending[3]) << 8 | Int(pending[4])
        guard pending.count >= 5 + min(length, 4 + 2 + 32 + 1 + 32 + 2) else {
            if pending.count > 16_384 + 5 { finish() }
            return
        }
        let h = 5
        guard pending[h] == 2, pending.count > h + 38 else { return finish() }
        let sid = Int(pending[h + 38])
        let at = h + 39 + sid
        if pending.count >= at + 2 { cipherSuite = UInt16(pending[at]) << 8 | UInt16(pending[at + 1]) }
        finish()
    }

    func finish() {
        done = true
        pending = []
    }

    /// IANA names of the suites the profile allows (and a few a peer might pick).
    static func name(_ suite: UInt16) -> String {
        switch suite {
        case 0x1301: return "TLS_AES_128_GCM_SHA256"
        case 0x1302: return "TLS_AES_256_GCM_SHA384"
        case 0x1303: return "TLS_CHACHA20_POLY1305_SHA256"
        case 0xC02B: return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        case 0xC02C: return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
        case 0xC02F: return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        case 0xC030: return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        case 0xCCA8: return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        case 0xCCA9: return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        default:
            let digits = Array("0123456789ABCDEF")
            return "0x" + String((0..<4).map { digits[Int(suite >> UInt16(12 - 4 * $0) & 15)] })
        }
    }
}
