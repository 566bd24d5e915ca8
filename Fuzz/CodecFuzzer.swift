import BER
import MMS
import OSI

/// libFuzzer entry: one input is one TSDU (or TPDU) from a peer. Every decoder must answer with
/// a value or a typed error; the state machine must keep framing whatever it writes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var contexts = PresentationContexts()
    _ = try? OSIMessage.decode(tsdu: bytes, contexts: &contexts)
    _ = try? MMSPDU.decode(bytes)
    _ = try? MMSData.decode(bytes)
    _ = try? TPDU.decode(bytes)
    _ = try? ACSEAPDU.decode(bytes)
    if let pdu = try? MMSPDU.decode(bytes) {
        // What decodes re-encodes to something that decodes to the same value.
        guard (try? MMSPDU.decode(pdu.encoded())) == pdu else { fatalError("round trip differs") }
    }
    return 0
}
