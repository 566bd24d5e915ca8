import BER
import MMS
import MMSNIO
import Synchronization

/// The point types a client knows on one association, by name: declared (by the caller, or
/// from a configuration shared with `tase2 serve`), else learnt from the partner with
/// GetVariableAccessAttributes once per name. Works on any MMS association: `tase2 read`
/// decodes points without the TASE.2 association check.
public final class PointTypes: Sendable {
    let association: MMSAssociation
    enum Entry: Sendable {
        case point(PointTypeInfo)
        /// Described by the partner, and not a point type: never guessed.
        case notAPoint
        /// The partner would not describe it: the type is guessed from the value.
        case undescribed
        var type: PointTypeInfo? { if case .point(let t) = self { return t } else { return nil } }
    }
    let state = Mutex<[ObjectName: Entry]>([:])
    /// Bumped under `state`'s lock by every change of it: a subscription's `EntryCache` is
    /// current while it holds the same number.
    let generation = Atomic<UInt64>(0)

    /// The entries of one subscription's members as of a `generation`: a report then costs no
    /// name lookups (an ObjectName hash and compare, about 200 ns a point, four times the
    /// point's typed decode) while no type was declared or learnt.
    final class EntryCache: Sendable {
        let held = Mutex<(generation: UInt64, entries: [Entry?])?>(nil)
        init() {}
    }
    /// Most names one lookup asks about (a partner listing millions of names is not asked about all).
    public static let maxLookup = 200_000

    public init(_ association: MMSAssociation) { self.association = association }

    /// TASE.2's own variables: the association check, transfer-set specials, ACK/NACK, messages.
    public static let systemNames: Set<String> = [
        TASE2Names.bilateralTableID, TASE2Names.version, TASE2Names.supportedFeatures, TASE2Names.nextDSTransferSet,
        TASE2Names.transferSetName, TASE2Names.transferSetTimeStamp, TASE2Names.dsConditionsDetected, TASE2Names.eventCodeDetected,
        TASE2Names.transferReportACK, TASE2Names.transferReportNACK, TASE2Names.infoMessHeader, TASE2Names.imTransferSet,
    ]

    /// A declared type wins over what the partner describes.
    public func declare(_ declared: [ObjectName: PointTypeInfo]) {
        state.withLock {
            for (n, t) in declared { $0[n] = .point(t) }
            generation.add(1, ordering: .releasing)
        }
    }

    public func declare(points: [PointConfig], stateQ: StateQShape = .bitString) {
        declare(Dictionary(points.map { ($0.scope.objectName($0.name), PointTypeInfo($0.type, stateQ: stateQ)) }, uniquingKeysWith: { a, _ in a }))
    }

    /// The type known for `name` now, without asking.
    @Sendable public func known(_ name: ObjectName) -> PointTypeInfo? { state.withLock { $0[name]?.type } }

    /// The types of `names`: known, else asked of the partner (up to 8 requests in flight);
    /// names that are not points (or that the partner does not describe) are absent.
    public func lookup(_ names: [ObjectName], progress: (@Sendable (Int, Int) -> Void)? = nil) async -> [ObjectName: PointTypeInfo] {
        let unknown = state.withLock { t in Array(Set(names.filter { t[$0] == nil }).prefix(Self.maxLookup)) }
        _ = await ask(unknown, progress: progress)
        return state.withLock { t in
            var out: [ObjectName: PointTypeInfo] = [:]
            for n in names { if let x = t[n]?.type { out[n] = x } }
            return out
        }
    }

    /// The partner's type descriptions of `names` (those it answers), asked for every name that
    /// was not declared; point types among them are remembered for later reads.
    public func describe(_ names: [ObjectName], progress: (@Sendable (Int, Int) -> Void)? = nil) async -> [ObjectName: TypeSpecification] {
        let ask = state.withLock { t in
            Array(Set(names.filter { n in if case .point? = t[n] { return false } else { return true } }).prefix(Self.maxLookup))
        }
        return await self.ask(ask, progress: progress)
    }

    /// GetVariableAccessAttributes of each name, up to 8 in flight.
    func ask(_ names: [ObjectName], progress: (@Sendable (Int, Int) -> Void)?) async -> [ObjectName: TypeSpecification] {
        guard !names.isEmpty else { return [:] }
        var out: [ObjectName: TypeSpecification] = [:]
        await withTaskGroup(of: (ObjectName, TypeSpecification?).self) { group in
            var next = 0
            var done = 0
            func add() {
                let n = names[next]
                next += 1
                group.addTask { (n, try? await self.association.variableAccessAttributes(n).typeSpecification) }
            }
            // TASE.2's own variables are never points, whatever their MMS type (an Integer32
            // Transfer_Set_Time_Stamp looks like a Discrete).
            while next < min(8, names.count) { add() }
            while let (n, t) = await group.next() {
                let entry: Entry = PointTypes.systemNames.contains(n.itemName) || n.itemName.hasPrefix("Info_Buff_") ? .notAPoint
                    : t.map { PointTypeInfo(typeDescription: $0).map(Entry.point) ?? .notAPoint } ?? .undescribed
                state.withLock { s in
                    if case .point? = s[n] { return }
                    s[n] = entry
                    generation.add(1, ordering: .releasing)
                }
                if let t { out[n] = t }
                done += 1
                progress?(done, names.count)
                if next < names.count { add() }
            }
        }
        return out
    }

    /// `result` of `name` decoded with what is known of its type, under one lock: a guess from
    /// the value only when the partner would not describe it.
    public func reading(_ name: ObjectName, _ result: AccessResult) -> PointReading {
        let entry = state.withLock { $0[name] }
        if case .undescribed? = entry { return PointReading(name: name, type: nil, result: result, guess: true) }
        return PointReading(name: name, type: entry?.type, result: result)
    }

    /// The readings of a received report's results, typed straight from BER (one lock for the
    /// whole report). Result i is of `names[order[i]]`, or of `names[i]` without an order; the
    /// results of names where `isSpecial` is true go to `special` decoded.
    func readings(_ names: [ObjectName], _ received: ReceivedAccessResults, into out: inout [PointReading],
                  skipping isSpecial: [Bool], cache: EntryCache?, order: [Int]? = nil,
                  special: (ObjectName, AccessResult) -> PointReading?) throws {
        let entries = cache.map { self.entries(of: names, cache: $0) } ?? lookUp(names)
        var i = 0
        try received.forEachElement { e, r in
            defer { i += 1 }
            let k: Int
            if let order {
                guard i < order.count else { return }
                k = order[i]
            } else {
                guard i < names.count else { return }
                k = i
            }
            let n = names[k]
            if isSpecial[k] {
                if let kept = special(n, try AccessResult(e, in: r)) { out.append(kept) }
                return
            }
            let entry = entries[k]
            let guess: Bool = if case .undescribed? = entry { true } else { false }
            out.append(PointReading(name: n, type: entry?.type, received: ReceivedAccessResult(received, offset: e.offset),
                                    element: e, in: r, guess: guess))
        }
    }

    /// The entries of `names` (always the same names for one `cache`): those the cache holds
    /// while nothing changed, else looked up again. The generation is read before the table, so
    /// a change made in between is tagged older than it is and looked up again next time.
    func entries(of names: [ObjectName], cache: EntryCache) -> [Entry?] {
        cache.held.withLock { held in
            let now = generation.load(ordering: .acquiring)
            if let held, held.generation == now, held.entries.count == names.count { return held.entries }
            let entries = lookUp(names)
            held = (now, entries)
            return entries
        }
    }

    /// The entries of `names`, in order, under one lock.
    func lookUp(_ names: [ObjectName]) -> [Entry?] { state.withLock { t in names.map { t[$0] } } }

    /// Reads objects and decodes the points among them with their types, in requests of at
    /// most `perRequest` names; one reading per name, in order. `progress`: names read so far.
    public func read(_ names: [ObjectName], perRequest: Int = 100, progress: (@Sendable (Int) -> Void)? = nil) async throws -> [PointReading] {
        _ = await lookup(names)
        var out: [PointReading] = []
        out.reserveCapacity(names.count)
        var i = 0
        while i < names.count {
            let chunk = names[i..<min(names.count, i + max(1, perRequest))]
            let results = try await association.read(chunk.map { VariableAccess($0) })
            for (n, r) in zip(chunk, results) { out.append(reading(n, r)) }
            i += chunk.count
            progress?(i)
        }
        return out
    }
}

/// A point's TASE.2 type as a client knows it: the type and, for Data_StateQ, which of the two
/// shapes the partner uses.
public struct PointTypeInfo: Hashable, Sendable, CustomStringConvertible {
    public var type: PointType
    public var stateQ: StateQShape
    public init(_ type: PointType, stateQ: StateQShape = .bitString) {
        self.type = type
        self.stateQ = stateQ
    }
    public var description: String { type.rawValue }

    /// The type whose MMS type description is `t`. Component names are compared without case
    /// where the server gives them (they tell DiscreteQ `{Value, Flags}` from StateQTimeTag
    /// `{TimeStamp, Flags}`, the same wire shape); a server that names none is matched by shape.
    /// Where two types still share a shape the first of `PointType.allCases` wins: a lone
    /// BitString(8) is `State` (StateQ decodes identically), `{BitString(8), BitString(8)}` is
    /// libtase2's `StateQ` (not StateSupplementalQ), an Integer32 is `Discrete`. A caller that
    /// knows better declares the type, and the declaration wins.
    public init?(typeDescription t: TypeSpecification) {
        for (type, stateQ) in PointTypeInfo.candidates where type.typeSpecification(stateQ: stateQ).sameShape(t) {
            self.init(type, stateQ: stateQ)
            return
        }
        return nil
    }

    /// The type a value has when nothing else says (no GetVariableAccessAttributes, no
    /// declaration): the first type, in the order above, whose shape accepts `d`. Values carry
    /// no names, so `{Integer32, BitString(8)}` is taken for a DiscreteQ, never a StateQTimeTag.
    public init?(guessingFrom d: MMSData) {
        for (type, stateQ) in PointTypeInfo.candidates where type.typeSpecification(stateQ: stateQ).accepts(d) {
            self.init(type, stateQ: stateQ)
            return
        }
        return nil
    }

    static let candidates: [(PointType, StateQShape)] = PointType.allCases.flatMap { t in
        t == .stateQ ? [(t, StateQShape.bitString), (t, .valueAndFlags)] : [(t, StateQShape.bitString)]
    }

    /// Decodes a value of this type, or nil when `d` does not have its shape.
    public func decode(_ d: MMSData) -> PointValue? {
        guard type.typeSpecification(stateQ: stateQ).accepts(d) else { return nil }
        return type.value(from: d, stateQ: stateQ)
    }
}

extension TypeSpecification {
    /// Equal types, where component names count only when both sides have them (and without case).
    public func sameShape(_ o: TypeSpecification) -> Bool {
        switch (self, o) {
        case (.structure(_, let a), .structure(_, let b)):
            return a.count == b.count && zip(a, b).allSatisfy { x, y in
                (x.name == nil || y.name == nil || x.name!.lowercased() == y.name!.lowercased()) && x.type.sameShape(y.type)
            }
        case (.array(_, let n, let x), .array(_, let m, let y)):
            return n == m && x.sameShape(y)
        default:
            return self == o
        }
    }
}

/// One object as a client read it or received it in a report: decoded with its TASE.2 type
/// when it is a point, else the MMS data as it came.
public struct PointReading: Hashable, Sendable {
    public var name: ObjectName
    /// The point's type, nil when the object is not an indication point (or its type is unknown
    /// and the value fits none).
    public var type: PointTypeInfo?
    /// The decoded value; nil when the read failed or the object is not a point.
    public var value: PointValue?
    /// What the wire carried (decoded on each call for a reading of a received report).
    public var result: AccessResult {
        get {
            switch raw {
            case .decoded(let r): return r
            case .received(let x): return x.result
            }
        }
        set { raw = .decoded(newValue) }
    }

    /// A report's points are typed straight from BER and keep their result encoded.
    enum Raw: Sendable {
        case decoded(AccessResult)
        case received(ReceivedAccessResult)
    }
    var raw: Raw

    /// `guess`: with no type, take the first whose shape the value has (`PointTypeInfo(guessingFrom:)`).
    public init(name: ObjectName, type: PointTypeInfo?, result: AccessResult, guess: Bool = false) {
        self.name = name
        self.raw = .decoded(result)
        if let type, case .success(let d) = result, let v = type.decode(d) {
            self.type = type
            value = v
        } else if type == nil, guess, case .success(let d) = result, let guessed = PointTypeInfo(guessingFrom: d) {
            self.type = guessed
            value = guessed.decode(d)
        } else {
            self.type = type
            value = nil
        }
    }

    /// The result `received` whose element `e` lies in `r`, typed straight from BER: the same
    /// reading as `init(name:type:result:guess:)` of the decoded result, without the tree
    /// (which is built only to guess a type).
    public init(name: ObjectName, type: PointTypeInfo?, received: ReceivedAccessResult, element e: BERElement, in r: BERReader,
                guess: Bool = false) {
        if type == nil, guess, e.tag != .context(0) {
            self = PointReading(name: name, type: nil, result: received.result, guess: true)
            return
        }
        self.name = name
        self.type = type
        self.raw = .received(received)
        value = e.tag == .context(0) ? nil : type?.decode(e, in: r)
    }

    public static func == (a: PointReading, b: PointReading) -> Bool {
        a.name == b.name && a.type == b.type && a.value == b.value && a.result == b.result
    }

    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(type)
        h.combine(value)
        h.combine(result)
    }

    /// The object's error, when the partner answered one.
    public var error: DataAccessError? { if case .failure(let e) = result { return e } else { return nil } }
}

// MARK: Describing values to operators

extension PointValue {
    /// Value or state, as an operator reads it (`12.61`, `42`, `ON`, `0x4c`).
    public func valueText(_ t: PointType) -> String {
        switch t.base {
        case .real: return "\(real)"
        case .discrete: return "\(discrete)"
        case .state: return StateValue(octet: state).name
        case .stateSupplemental: return "0x" + hex2(state)
        case .protection: return t == .singleProtectionEvent ? "events 0x" + hex2(eventFlags) : "event 0x\(hex2(packedEvent)) flags 0x\(hex2(eventFlags))"
        }
    }

    /// The time stamp as ISO 8601 UTC with milliseconds when the type carries them, nil when it carries none.
    public func timeText(_ t: PointType) -> String? {
        let layout = t.layout()
        guard layout.carriesTimeStamp else { return nil }
        return ISO8601.format(secondsSince1970: Int64(timeStamp), milliseconds: layout.carriesMilliseconds ? Int(milliseconds) : nil)
    }

    /// Quality as words (`valid telemetered off-normal`), nil when the type carries none.
    public func qualityText(_ t: PointType) -> String? {
        guard t.layout().carriesFlags else { return nil }
        var parts = [flags.validity.name, flags.currentSource.name]
        if flags.offNormal { parts.append("off-normal") }
        if flags.timeStampInvalid { parts.append("time-invalid") }
        return parts.joined(separator: " ")
    }

    /// COV counter and operating time, where the type carries them (`cov 3`).
    public func countersText(_ t: PointType) -> String? {
        let layout = t.layout()
        var parts: [String] = []
        if layout.carriesCOV { parts.append("cov \(cov)") }
        if layout.carriesOperatingTime { parts.append("operating \(operatingTime) ms") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// `ON valid telemetered 2026-12-01T08:31:06.000Z` — the fields the type carries.
    public func text(_ t: PointType) -> String {
        [valueText(t), qualityText(t), timeText(t), countersText(t)].compactMap { $0 }.joined(separator: " ")
    }
}

private func hex2(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}

extension StateValue {
    /// TASE.2's names: ON/CLOSED is HI, OFF/OPEN/TRIPPED is LO.
    public var name: String {
        switch self {
        case .between: return "BETWEEN"
        case .off: return "OFF"
        case .on: return "ON"
        case .invalid: return "INVALID"
        }
    }
}

extension DataFlags.Validity {
    public var name: String {
        switch self {
        case .valid: return "valid"
        case .held: return "held"
        case .suspect: return "suspect"
        case .notValid: return "not-valid"
        }
    }
}

extension DataFlags.CurrentSource {
    public var name: String {
        switch self {
        case .telemetered: return "telemetered"
        case .calculated: return "calculated"
        case .entered: return "entered"
        case .estimated: return "estimated"
        }
    }
}

/// ISO 8601 UTC text without Foundation (the library does not depend on it).
public enum ISO8601 {
    /// `2026-12-01T08:31:06Z`, or `…06.250Z` with milliseconds.
    public static func format(secondsSince1970 s: Int64, milliseconds: Int? = nil) -> String {
        let days = s >= 0 ? s / 86_400 : (s - 86_399) / 86_400
        let secs = s - days * 86_400
        // Days to civil date (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func p(_ v: Int64, _ w: Int) -> String {
            let t = String(v)
            return String(repeating: "0", count: max(0, w - t.count)) + t
        }
        var out = "\(p(y, 4))-\(p(m, 2))-\(p(d, 2))T\(p(secs / 3600, 2)):\(p(secs / 60 % 60, 2)):\(p(secs % 60, 2))"
        if let ms = milliseconds { out += "." + p(Int64(max(0, min(999, ms))), 3) }
        return out + "Z"
    }
}
