/// A small reader for classic libpcap files (Ethernet or Linux cooked capture), IPv4 and
/// TCP, enough to replay captures of port 102 in tests.
public struct PcapPacket {
    public var timestamp: Double
    public var srcIP: UInt32
    public var dstIP: UInt32
    public var srcPort: UInt16
    public var dstPort: UInt16
    public var seq: UInt32
    public var flags: UInt8
    public var payload: ArraySlice<UInt8>
}

public enum PcapError: Error { case badMagic, truncated }

public func readPcap(_ data: [UInt8]) throws -> [PcapPacket] {
    guard data.count >= 24 else { throw PcapError.truncated }
    let magic = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
    let little: Bool
    switch magic {
    case 0xA1B2_C3D4, 0xA1B2_3C4D: little = true
    case 0xD4C3_B2A1, 0x4D3C_B2A1: little = false
    default: throw PcapError.badMagic
    }
    func u32(_ i: Int) -> UInt32 {
        little
            ? UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
            : UInt32(data[i]) << 24 | UInt32(data[i + 1]) << 16 | UInt32(data[i + 2]) << 8 | UInt32(data[i + 3])
    }
    func be16(_ i: Int) -> UInt16 { UInt16(data[i]) << 8 | UInt16(data[i + 1]) }
    func be32(_ i: Int) -> UInt32 { UInt32(be16(i)) << 16 | UInt32(be16(i + 2)) }
    let linkType = u32(20)
    var out: [PcapPacket] = []
    var i = 24
    while i + 16 <= data.count {
        let ts = Double(u32(i)) + Double(u32(i + 4)) / 1e6
        let incl = Int(u32(i + 8))
        let start = i + 16
        i = start + incl
        guard i <= data.count else { throw PcapError.truncated }
        var p = start
        switch linkType {
        case 1:  // Ethernet, possibly VLAN-tagged
            var etherType = be16(p + 12)
            p += 14
            while etherType == 0x8100 {
                etherType = be16(p + 2)
                p += 4
            }
            guard etherType == 0x0800 else { continue }
        case 113:  // Linux cooked
            guard be16(p + 14) == 0x0800 else { continue }
            p += 16
        case 101:  // raw IP
            break
        default: continue
        }
        guard data[p] >> 4 == 4 else { continue }
        let ihl = Int(data[p] & 0x0F) * 4
        let totalLength = Int(be16(p + 2))
        guard data[p + 9] == 6 else { continue }
        let src = be32(p + 12), dst = be32(p + 16)
        let ipEnd = min(p + totalLength, i)
        let t = p + ihl
        let dataOffset = Int(data[t + 12] >> 4) * 4
        out.append(
            PcapPacket(
                timestamp: ts, srcIP: src, dstIP: dst, srcPort: be16(t), dstPort: be16(t + 2), seq: be32(t + 4),
                flags: data[t + 13], payload: data[(t + dataOffset)..<max(ipEnd, t + dataOffset)]))
    }
    return out
}

/// One direction of one TCP connection.
public struct FlowKey: Hashable, CustomStringConvertible {
    public var srcIP: UInt32, dstIP: UInt32, srcPort: UInt16, dstPort: UInt16
    public var description: String { "\(srcIP >> 24).\(srcIP >> 16 & 255).\(srcIP >> 8 & 255).\(srcIP & 255):\(srcPort)→\(dstPort)" }
    public var reversed: FlowKey { FlowKey(srcIP: dstIP, dstIP: srcIP, srcPort: dstPort, dstPort: srcPort) }
}

/// Reassembles TCP byte streams: drops retransmitted bytes, holds segments that arrive early.
/// A SYN starts a new stream on the flow (connection reuse of a port pair).
public struct TCPReassembler {
    struct Flow {
        var next: UInt32?
        var pending: [UInt32: ArraySlice<UInt8>] = [:]
        var generation = 0
    }
    var flows: [FlowKey: Flow] = [:]

    public init() {}

    /// Feeds one packet; returns the in-order bytes it releases (with the flow and a generation
    /// number that changes when the flow is reused by a new connection).
    public mutating func feed(_ p: PcapPacket) -> (FlowKey, Int, [UInt8]) {
        let key = FlowKey(srcIP: p.srcIP, dstIP: p.dstIP, srcPort: p.srcPort, dstPort: p.dstPort)
        var f = flows[key] ?? Flow()
        if p.flags & 0x02 != 0 {  // SYN
            if f.next != nil { f = Flow(generation: f.generation + 1) }
            f.next = p.seq &+ 1
            flows[key] = f
            return (key, f.generation, [])
        }
        var out: [UInt8] = []
        if !p.payload.isEmpty {
            if f.next == nil { f.next = p.seq }
            let next = f.next!
            let diff = Int32(bitPattern: p.seq &- next)
            if diff <= 0 {
                let skip = Int(-diff)
                if skip < p.payload.count {
                    out += p.payload.dropFirst(skip)
                    f.next = next &+ UInt32(p.payload.count - skip)
                }
            } else {
                f.pending[p.seq] = p.payload
            }
            // Release held segments that are now in order.
            var progressed = true
            while progressed && !f.pending.isEmpty {
                progressed = false
                for (seq, seg) in f.pending {
                    let d = Int32(bitPattern: seq &- f.next!)
                    if d <= 0 {
                        f.pending[seq] = nil
                        let skip = Int(-d)
                        if skip < seg.count {
                            out += seg.dropFirst(skip)
                            f.next = f.next! &+ UInt32(seg.count - skip)
                        }
                        progressed = true
                    }
                }
            }
        }
        flows[key] = f
        return (key, f.generation, out)
    }
}
