import BER
import MMS

/// Points typed straight from BER: what a client does with every value of a received report,
/// without building the `MMSData` tree (a heap array per structure, and a walk that moves a
/// reader per element).
extension PointType {
    /// The value of this type that the Data element `e` carries, or nil when it does not have the
    /// type's shape: the same as `PointTypeInfo.decode` of the decoded tree, for an element that
    /// `MMSData.decode` accepts (the client's reports are checked at receipt). Like `prepend`, it
    /// restates the layout table member for member, in straight-line code (a loop over the
    /// table's members, and a switch per member, cost twice the time);
    /// `typedDecodingAgreesWithTheTree` holds the two together.
    @inline(__always)
    public func value(_ e: BERElement, in r: BERReader, stateQ: StateQShape = .bitString) -> PointValue? {
        var v = PointValue()
        let isState = base == .state
        if family == .plain || (family == .q && isState && stateQ == .bitString) {
            // One element: the plain types, and SISCO's one-octet StateQ.
            return (isState ? Self.stateOctet(e, r, &v) : valueMember(e, r, &v)) ? v : nil
        }
        // The members are read through `r` itself, bounded by the structure's end: a reader over
        // its contents (`contents(of:)`, 56 bytes) was built and copied for every point.
        guard e.tag == .contextConstructed(2) else { return nil }
        var o = e.contentOffset
        let end = o + e.contentLength
        // Each member in the table's order: its element, then its setter.
        switch family {
        case .plain: return nil  // handled above
        case .q where isState:
            guard let a = Self.take(r, &o, end), Self.stateValue(a, r, &v), let b = Self.take(r, &o, end), Self.flags(b, r, &v) else { return nil }
        case .q:
            guard let a = Self.take(r, &o, end), valueMember(a, r, &v), let b = Self.take(r, &o, end), Self.flags(b, r, &v) else { return nil }
        case .qTimeTag where isState:
            guard let a = Self.take(r, &o, end), Self.timeStamp(a, r, &v), let b = Self.take(r, &o, end), Self.stateOctet(b, r, &v) else { return nil }
        case .qTimeTag:
            guard let a = Self.take(r, &o, end), valueMember(a, r, &v), let b = Self.take(r, &o, end), Self.timeStamp(b, r, &v), let d = Self.take(r, &o, end), Self.flags(d, r, &v)
            else { return nil }
        case .extended where isState:
            guard let a = Self.take(r, &o, end), Self.timeStamp(a, r, &v), let b = Self.take(r, &o, end), Self.stateOctet(b, r, &v), let d = Self.take(r, &o, end), Self.cov(d, r, &v)
            else { return nil }
        case .extended:
            guard let a = Self.take(r, &o, end), valueMember(a, r, &v), let b = Self.take(r, &o, end), Self.timeStamp(b, r, &v), let d = Self.take(r, &o, end), Self.flags(d, r, &v),
                  let f = Self.take(r, &o, end), Self.cov(f, r, &v) else { return nil }
        case .qTimeTagExtended where isState:
            guard let a = Self.take(r, &o, end), Self.timeStampExtended(a, r, &v), let b = Self.take(r, &o, end), Self.stateOctet(b, r, &v) else { return nil }
        case .qTimeTagExtended:
            guard let a = Self.take(r, &o, end), valueMember(a, r, &v), let b = Self.take(r, &o, end), Self.timeStampExtended(b, r, &v), let d = Self.take(r, &o, end), Self.flags(d, r, &v)
            else { return nil }
        case .protection:
            if self == .packedProtectionEvent {
                guard let a = Self.take(r, &o, end), let event = Self.octet(a, r) else { return nil }
                v.packedEvent = event
            }
            guard let a = Self.take(r, &o, end), let flags = Self.octet(a, r), let b = Self.take(r, &o, end), let t = Self.integer(b, r, bits: 16),
                  let d = Self.take(r, &o, end), Self.timeStampExtended(d, r, &v) else { return nil }
            v.eventFlags = flags  // SingleEventFlags, or PackedEventFlags
            v.operatingTime = Int16(t)
        }
        return o == end ? v : nil
    }

    /// The next member's element of a structure that ends at `end`. A member that runs past
    /// `end` leaves `o` past it, which the next `take` and the final `o == end` both refuse.
    @inline(__always)
    static func take(_ r: BERReader, _ o: inout Int, _ end: Int) -> BERElement? {
        guard o < end, let e = try? r.element(at: o) else { return nil }
        o = e.endOffset
        return e
    }

    // The members (`PointMember`), each read from its element as `TypeSpecification.accepts`
    // decides its type (`memberType`); false when the element does not have it.

    /// `.value`: Data_Real (float32), Data_Discrete (Integer32) or Data_StateSupplemental (BitString 8).
    @inline(__always)
    func valueMember(_ e: BERElement, _ r: BERReader, _ v: inout PointValue) -> Bool {
        switch base {
        case .real:
            guard e.tag == .context(7) else { return false }
            let p = e.contentOffset
            if e.contentLength == 5, r.byte(at: p) == 8 {
                // Single precision, as TASE.2 sends it: read here (the full decoder is a call).
                let bits = UInt32(r.byte(at: p + 1)) << 24 | UInt32(r.byte(at: p + 2)) << 16 | UInt32(r.byte(at: p + 3)) << 8 | UInt32(r.byte(at: p + 4))
                v.real = Float(bitPattern: bits)
            } else {
                guard case .double(let d)? = try? MMSData.floatingPoint(e, in: r) else { return false }
                v.real = Float(d)
            }
        case .discrete:
            guard let i = Self.integer(e, r, bits: 32) else { return false }
            v.discrete = Int32(i)
        default:
            guard let o = Self.octet(e, r) else { return false }
            v.state = o
        }
        return true
    }

    /// `.stateOctet`: Data_State, state and quality in one octet.
    @inline(__always)
    static func stateOctet(_ e: BERElement, _ r: BERReader, _ v: inout PointValue) -> Bool {
        guard let o = octet(e, r) else { return false }
        v.state = o & 0xC0
        v.flags = DataFlags(rawValue: o)
        return true
    }

    /// `.stateValue`: the state bits of libtase2's two-member StateQ.
    @inline(__always)
    static func stateValue(_ e: BERElement, _ r: BERReader, _ v: inout PointValue) -> Bool {
        guard let o = octet(e, r) else { return false }
        v.state = o & 0xC0
        return true
    }

    /// `.flags`: Data_Flags.
    @inline(__always)
    static func flags(_ e: BERElement, _ r: BERReader, _ v: inout PointValue) -> Bool {
        guard let o = octet(e, r) else { return false }
        v.flags = DataFlags(rawValue: o)
        return true
    }

    /// `.timeStamp`: GMTBasedS, an Integer32.
    @inline(__always)
    static func timeStamp(_ e: BERElement, _ r: BERReader, _ v: inout PointValue) -> Bool {
        guard let t = integer(e, r, bits: 32) else { return false }
        v.timeStamp = Int32(t)
        return true
    }

    /// `.timeStampExtended` and `.eventTime`: { GMTBasedS Integer32, Milliseconds Integer16 }.
    @inline(__always)
    static func timeStampExtended(_ e: BERElement, _ r: BERReader, _ v: inout PointValue) -> Bool {
        guard e.tag == .contextConstructed(2) else { return false }
        var o = e.contentOffset
        let end = o + e.contentLength
        guard let s = take(r, &o, end), let seconds = integer(s, r, bits: 32),
              let ms = take(r, &o, end), let milliseconds = integer(ms, r, bits: 16), o == end else { return false }
        v.timeStamp = Int32(seconds)
        v.milliseconds = Int16(milliseconds)
        return true
    }

    /// `.cov`: an Unsigned16, which also accepts a non-negative Integer.
    @inline(__always)
    static func cov(_ e: BERElement, _ r: BERReader, _ v: inout PointValue) -> Bool {
        let u: UInt64
        if e.tag == .context(6), let x = try? r.unsigned(of: e) { u = x }
        else if e.tag == .context(5), let x = try? r.integer(of: e), x >= 0 { u = UInt64(x) }
        else { return false }
        guard u < 1 << 16 else { return false }
        v.cov = UInt16(u)
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
