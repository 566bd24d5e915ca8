import BER

/// InformationReport: unsolicited values (TASE.2 transfer reports, information messages,
/// and the client's acknowledgements of critical reports).
public struct InformationReport: Hashable, Sendable {
    public var variableAccessSpecification: VariableAccessSpecification
    public var results: [AccessResult]

    public init(_ spec: VariableAccessSpecification, results: [AccessResult]) {
        self.variableAccessSpecification = spec
        self.results = results
    }

    static func decode(_ r: inout BERReader) throws -> InformationReport {
        let spec = try VariableAccessSpecification.decode(&r)
        var list = try r.readConstructed(.contextConstructed(0), "listOfAccessResult")
        let results = try AccessResult.decodeList(&list)
        try r.expectEnd()
        if case .listOfVariable(let vars) = spec, vars.count != results.count {
            throw BERError(.invalidValue("informationReport names \(vars.count) variables but carries \(results.count) results"), at: 0)
        }
        return InformationReport(spec, results: results)
    }

    public func prependContents(to w: inout BERWriter) {
        let mark = w.count
        AccessResult.prependList(results, to: &w)
        w.prependHeader(.contextConstructed(0), length: w.count - mark)
        variableAccessSpecification.prepend(to: &w)
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
