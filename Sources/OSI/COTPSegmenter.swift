import BER

/// Cuts a TSDU into TPKT-framed class 0 DT TPDUs no larger than the negotiated TPDU size.
public enum COTPSegmenter {
    /// Appends the TPKT frames carrying `tsdu` to `out`.
    public static func frames(_ tsdu: ArraySlice<UInt8>, maxTPDUSize: Int, into out: inout [UInt8]) {
        let chunk = max(maxTPDUSize - 3, 1)
        var start = tsdu.startIndex
        repeat {
            let end = min(start + chunk, tsdu.endIndex)
            let last = end == tsdu.endIndex
            out += TPKT.header(payloadLength: 3 + (end - start))
            out += TPDU.dataHeader(endOfTSDU: last)
            out += tsdu[start..<end]
            start = end
        } while start < tsdu.endIndex
    }

    public static func frames(_ tsdu: [UInt8], maxTPDUSize: Int) -> [UInt8] {
        var out: [UInt8] = []
        frames(tsdu[...], maxTPDUSize: maxTPDUSize, into: &out)
        return out
    }

    /// When the TSDU in `w` fits one TPDU, prepends the DT and TPKT headers in place and returns true.
    public static func prependSingleFrame(to w: inout BERWriter, maxTPDUSize: Int) -> Bool {
        guard w.count + 3 <= maxTPDUSize, w.count + 7 <= TPKT.maxLength else { return false }
        // DT header `02 F0 80`, then the TPKT header, byte by byte: no temporary arrays.
        w.prepend(0x80)
        w.prepend(0xF0)
        w.prepend(0x02)
        let total = w.count + TPKT.headerLength
        w.prepend(UInt8(total & 0xFF))
        w.prepend(UInt8(total >> 8))
        w.prepend(0x00)
        w.prepend(0x03)
        return true
    }

    /// Frames the TSDU held by `w` as TPKT-framed DT TPDUs of at most `maxTPDUSize` octets, in
    /// place: one frame is prepended; several are made by sliding each chunk forward by the
    /// headers before it, so the TSDU is never copied to another buffer.
    public static func prependFrames(to w: inout BERWriter, maxTPDUSize: Int) {
        if prependSingleFrame(to: &w, maxTPDUSize: maxTPDUSize) { return }
        let length = w.count
        let chunk = max(min(maxTPDUSize, TPKT.maxLength - TPKT.headerLength) - 3, 1)
        let frames = (length + chunk - 1) / chunk
        w.prependUninitialized(7 * frames)
        w.withUnsafeMutableWrittenBytes { p in
            let base = p.baseAddress!
            for k in 0..<frames {
                // Chunk k sits after all 7 * frames header bytes; it moves to just after its own header.
                let from = 7 * frames + k * chunk
                let header = k * (chunk + 7)
                let size = min(chunk, length - k * chunk)
                (base + header + 7).copyMemory(from: base + from, byteCount: size)  // regions may overlap
                let total = size + 7
                p[header] = 3
                p[header + 1] = 0
                p[header + 2] = UInt8(total >> 8)
                p[header + 3] = UInt8(total & 0xFF)
                p[header + 4] = 0x02
                p[header + 5] = 0xF0
                p[header + 6] = k == frames - 1 ? 0x80 : 0x00
            }
        }
    }
}
