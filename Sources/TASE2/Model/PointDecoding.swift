import BER
import MMS

/// Points typed straight from BER: what a client does with every value of a received report,
/// without building the `MMSData` tree (one heap array per structure, most of the cost of
/// decoding a point).
extension PointType {
    /// The value of this type that the Data element `e` carries, or nil when it does not have the
    /// type's shape: the same as `PointTypeInfo.decode` of the decoded tree, for an element that
    /// `MMSData.decode` accepts (the client's reports are checked at receipt). Like `prepend`, it
    /// restates the layout table member for member, in straight-line code (a loop over the
    /// table's members cost twice the time); `typedDecodingAgreesWithTheTree` holds the two together.
    public func value(_ e: BERElement, in r: BERReader, stateQ: StateQShape = .bitString) -> PointValue? {
        var v = PointValue()
        let isState = base == .state
        if family == .plain || (family == .q && isState && stateQ == .bitString) {
            // One element: the plain types, and SISCO's one-octet StateQ.
            return member(isState ? .stateOctet : .value, e, r, &v) ? v : nil
        }
        guard e.tag == .contextConstructed(2), var c = try? r.contents(of: e) else { return nil }
        let ok: Bool
        switch family {
        case .plain: return nil  // handled above
        case .q where isState: ok = next(.stateValue, &c, &v) && next(.flags, &c, &v)
        case .q: ok = next(.value, &c, &v) && next(.flags, &c, &v)
        case .qTimeTag where isState: ok = next(.timeStamp, &c, &v) && next(.stateOctet, &c, &v)
        case .qTimeTag: ok = next(.value, &c, &v) && next(.timeStamp, &c, &v) && next(.flags, &c, &v)
        case .extended where isState: ok = next(.timeStamp, &c, &v) && next(.stateOctet, &c, &v) && next(.cov, &c, &v)
        case .extended: ok = next(.value, &c, &v) && next(.timeStamp, &c, &v) && next(.flags, &c, &v) && next(.cov, &c, &v)
        case .qTimeTagExtended where isState: ok = next(.timeStampExtended, &c, &v) && next(.stateOctet, &c, &v)
        case .qTimeTagExtended: ok = next(.value, &c, &v) && next(.timeStampExtended, &c, &v) && next(.flags, &c, &v)
        case .protection:
            ok = self == .singleProtectionEvent
                ? next(.singleEventFlags, &c, &v) && next(.operatingTime, &c, &v) && next(.eventTime, &c, &v)
                : next(.packedEvent, &c, &v) && next(.packedEventFlags, &c, &v) && next(.operatingTime, &c, &v) && next(.eventTime, &c, &v)
        }
        return ok && c.isAtEnd ? v : nil
    }

    /// Reads the next member of a structure, `m`, from `c` into `v`.
    @inline(__always)
    func next(_ m: PointMember, _ c: inout BERReader, _ v: inout PointValue) -> Bool {
        guard !c.isAtEnd, let child = try? c.readElement() else { return false }
        return member(m, child, c, &v)
    }

    /// Sets member `m` of `v` from `e`; false when `e` does not have the member's type
    /// (`memberType`), as `TypeSpecification.accepts` decides.
    @inline(__always)
    func member(_ m: PointMember, _ e: BERElement, _ r: BERReader, _ v: inout PointValue) -> Bool {
        switch m {
        case .value:
            switch base {
            case .real:
                guard e.tag == .context(7), let f = try? MMSData.floatingPoint(e, in: r) else { return false }
                v.real = Float(f.doubleValue)
            case .discrete:
                guard let i = Self.integer(e, r, bits: 32) else { return false }
                v.discrete = Int32(i)
            default:
                guard let o = Self.octet(e, r) else { return false }
                v.state = o
            }
        case .stateOctet:
            guard let o = Self.octet(e, r) else { return false }
            v.state = o & 0xC0
            v.flags = DataFlags(rawValue: o)
        case .stateValue:
            guard let o = Self.octet(e, r) else { return false }
            v.state = o & 0xC0
        case .flags:
            guard let o = Self.octet(e, r) else { return false }
            v.flags = DataFlags(rawValue: o)
        case .timeStamp:
            guard let t = Self.integer(e, r, bits: 32) else { return false }
            v.timeStamp = Int32(t)
        case .timeStampExtended, .eventTime:
            // TimeStampExtended { GMTBasedS Integer32, Milliseconds Integer16 }.
            guard e.tag == .contextConstructed(2), var c = try? r.contents(of: e),
                  let s = try? c.readElement(), let seconds = Self.integer(s, c, bits: 32),
                  let ms = try? c.readElement(), let milliseconds = Self.integer(ms, c, bits: 16), c.isAtEnd else { return false }
            v.timeStamp = Int32(seconds)
            v.milliseconds = Int16(milliseconds)
        case .cov:
            // Unsigned16, which also accepts a non-negative Integer.
            let u: UInt64
            if e.tag == .context(6), let x = try? r.unsigned(of: e) { u = x }
            else if e.tag == .context(5), let x = try? r.integer(of: e), x >= 0 { u = UInt64(x) }
            else { return false }
            guard u < 1 << 16 else { return false }
            v.cov = UInt16(u)
        case .singleEventFlags, .packedEventFlags:
            guard let o = Self.octet(e, r) else { return false }
            v.eventFlags = o
        case .packedEvent:
            guard let o = Self.octet(e, r) else { return false }
            v.packedEvent = o
        case .operatingTime:
            guard let t = Self.integer(e, r, bits: 16) else { return false }
            v.operatingTime = Int16(t)
        }
        return true
    }

    /// A BitString(8): two content octets, no unused bits.
    @inline(__always)
    static func octet(_ e: BERElement, _ r: BERReader) -> UInt8? {
        guard e.tag == .context(4), e.contentLength == 2, r.byte(at: e.contentOffset) == 0 else { return nil }
        return r.byte(at: e.contentOffset + 1)
    }

    /// An Integer of at most `bits` bits.
    @inline(__always)
    static func integer(_ e: BERElement, _ r: BERReader, bits: Int) -> Int64? {
        guard e.tag == .context(5), let i = try? r.integer(of: e) else { return nil }
        let limit = Int64(1) << (bits - 1)
        return i >= -limit && i < limit ? i : nil
    }
}

extension PointTypeInfo {
    /// The value of this type that the Data element `e` carries (`PointType.value(_:in:stateQ:)`).
    public func decode(_ e: BERElement, in r: BERReader) -> PointValue? { type.value(e, in: r, stateQ: stateQ) }
}
