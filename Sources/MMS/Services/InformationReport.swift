import BER

/// InformationReport: unsolicited values (TASE.2 transfer reports, information messages,
/// and the client's acknowledgements of critical reports).
public struct InformationReport: Hashable, Sendable {
    /// What the results are of. A received listOfVariable stays encoded (`receivedVariables`)
    /// and is decoded here on each call: a caller that reads it more than once keeps it.
    public var variableAccessSpecification: VariableAccessSpecification {
        get {
            switch specification {
            case .built(let s): return s
            // Checked at receipt by the decoder's own code: this cannot fail.
            case .received(let l): return .listOfVariable((try? l.decoded()) ?? [])
            }
        }
        set { specification = .built(newValue) }
    }
    /// The listOfVariable as received, to be matched by its octets; nil for a report built here
    /// or one naming a data set.
    public var receivedVariables: ReceivedVariableList? {
        if case .received(let l) = specification { return l } else { return nil }
    }
    enum Specification: Sendable {
        case built(VariableAccessSpecification)
        case received(ReceivedVariableList)
    }
    var specification: Specification
    /// The results. A received report keeps them encoded (`received`) and decodes them here on
    /// each call: a caller that reads them more than once keeps the array.
    public var results: [AccessResult] {
        get {
            switch storage {
            case .built(let r): return r
            case .received(let x):
                // Checked at receipt by the decoder's own code: this cannot fail. Were it to, every
                // result says object-value-invalid rather than vanish.
                return (try? x.decoded()) ?? Array(repeating: .failure(.objectValueInvalid), count: x.count)
            }
        }
        set { storage = .built(newValue) }
    }
    /// The results as received, to be typed straight from their elements; nil for a report built here.
    public var received: ReceivedAccessResults? {
        if case .received(let x) = storage { return x } else { return nil }
    }
    public var resultCount: Int {
        switch storage {
        case .built(let r): return r.count
        case .received(let x): return x.count
        }
    }

    enum Storage: Sendable {
        case built([AccessResult])
        case received(ReceivedAccessResults)
    }
    var storage: Storage

    public init(_ spec: VariableAccessSpecification, results: [AccessResult]) {
        self.specification = .built(spec)
        self.storage = .built(results)
    }

    init(_ spec: Specification, received: ReceivedAccessResults) {
        self.specification = spec
        self.storage = .received(received)
    }

    public static func == (a: InformationReport, b: InformationReport) -> Bool {
        a.variableAccessSpecification == b.variableAccessSpecification && a.results == b.results
    }

    public func hash(into h: inout Hasher) {
        h.combine(variableAccessSpecification)
        h.combine(results)
    }

    /// Decodes the report, keeping its results encoded once they are checked.
    static func decode(_ r: inout BERReader) throws -> InformationReport {
        let s = try r.readElement()
        let spec: Specification
        if s.tag == .contextConstructed(0) {
            var list = try r.contents(of: s)
            spec = .received(try ReceivedVariableList(s, list: &list, in: r))
        } else {
            spec = .built(try VariableAccessSpecification.decode(s, in: r))
        }
        let e = try r.readElement(.contextConstructed(0), "listOfAccessResult")
        var list = try r.contents(of: e)
        let results = try ReceivedAccessResults(e, list: &list, in: r)
        try r.expectEnd()
        if case .received(let vars) = spec, vars.count != results.count {
            throw BERError(.invalidValue("informationReport names \(vars.count) variables but carries \(results.count) results"), at: 0)
        }
        return InformationReport(spec, received: results)
    }

    public func prependContents(to w: inout BERWriter) {
        let mark = w.count
        switch storage {
        case .built(let r): AccessResult.prependList(r, to: &w)
        case .received(let x): w.prepend(x.bytes)  // as it came
        }
        w.prependHeader(.contextConstructed(0), length: w.count - mark)
        switch specification {
        case .built(let s): s.prepend(to: &w)
        case .received(let l):  // as it came
            let m = w.count
            w.prepend(l.bytes)
            w.prependHeader(.contextConstructed(0), length: w.count - m)
        }
    }
}

extension InformationReport {
    /// Prepends a whole unconfirmed-PDU informationReport whose access results `results` prepends
    /// (last first), so that a server can encode a report straight from its point storage.
    public static func prependPDU(_ spec: VariableAccessSpecification, to w: inout BERWriter, results: (inout BERWriter) -> Void) {
        let start = w.count
        let mark = w.count
        results(&w)
        w.prependHeader(.contextConstructed(0), length: w.count - mark)
        spec.prepend(to: &w)
        w.prependHeader(.contextConstructed(0), length: w.count - start)
        w.prependHeader(.contextConstructed(3), length: w.count - start)
    }

    /// A listOfVariable report whose entries the caller prepends already encoded (each a
    /// `VariableAccess.encoded()`, cached per data-set member), so no names are built per report.
    public static func prependPDU(encodedVariables: (inout BERWriter) -> Void, to w: inout BERWriter,
                                  results: (inout BERWriter) -> Void) {
        let start = w.count
        results(&w)
        w.prependHeader(.contextConstructed(0), length: w.count - start)
        let mark = w.count
        encodedVariables(&w)
        w.prependHeader(.contextConstructed(0), length: w.count - mark)
        w.prependHeader(.contextConstructed(0), length: w.count - start)
        w.prependHeader(.contextConstructed(3), length: w.count - start)
    }
}
