import BER
import MMS

/// Why an information message cannot be sent.
public enum InformationMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Larger than every configured `Info_Buff_<n>`.
    case tooLarge(size: Int, largestBuffer: Int)
    public var description: String {
        switch self {
        case .tooLarge(let s, let l): return "information message of \(s) octets exceeds the largest information buffer (\(l))"
        }
    }
}

/// Information messages (conformance block 4): server to partner only, to associations that
/// enabled `IM_Transfer_Set`, in the smallest configured buffer that holds the text.
extension VirtualControlCentre {
    /// The informationReports that deliver one message: VCC scope to every association that enabled
    /// messages, ICC scope only to associations bound to that ICC's bilateral table.
    public func informationMessage(_ message: [UInt8], infoReference: Int32, localReference: Int32, messageID: Int32,
                                   scope: ObjectScope) throws(InformationMessageError) -> [(association: UInt64, pdu: [UInt8])] {
        let sizes = configuration.vcc.infoBufferSizes.sorted()
        guard let size = sizes.first(where: { $0 >= message.count }) else {
            throw .tooLarge(size: message.count, largestBuffer: sizes.last ?? 0)
        }
        let header = MMSData.structure([.integer(Int64(infoReference)), .integer(Int64(localReference)), .integer(Int64(messageID)),
                                        .integer(Int64(message.count))])
        let buffer = MMSData.octetString(message + [UInt8](repeating: 0, count: size - message.count))
        let report = InformationReport(
            .listOfVariable([VariableAccess(scope.objectName(TASE2Names.infoMessHeader)), VariableAccess(scope.objectName(TASE2Names.infoBuffer(size)))]),
            results: [.success(header), .success(buffer)])
        let pdu = MMSPDU.unconfirmed(.informationReport(report)).encoded()
        return state.withLock { s in
            s.imEnabled.sorted().compactMap { id -> (UInt64, [UInt8])? in
                guard let b = s.bindings[id] else { return nil }
                guard let t = b.table.map({ tables[$0] }) else { return configuration.vcc.openMode ? (id, pdu) : nil }
                // The bilateral table decides (libtase2: InfoReference and VCC scope).
                switch scope {
                case .icc(let d): guard t.icc == d else { return nil }
                case .vcc: guard t.config.vccMessages else { return nil }
                }
                let refs = t.config.messageInfoReferences
                guard refs.isEmpty || refs.contains(infoReference) else { return nil }
                return (id, pdu)
            }
        }
    }
}
