import BER
import MMS

/// Why an information message cannot be sent.
public enum InformationMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Larger than every configured `Info_Buff_<n>`.
    case tooLarge(size: Int, largestBuffer: Int)
    /// Block 4 is not configured.
    case notConfigured
    public var description: String {
        switch self {
        case .tooLarge(let s, let l): return "information message of \(s) octets exceeds the largest information buffer (\(l))"
        case .notConfigured: return "information messages (Block 4) are not configured"
        }
    }
}

/// Information messages (conformance block 4): server to partner only, to associations that
/// enabled `IM_Transfer_Set` and whose bilateral table allows the message's scope,
/// InfoReference and LocalReference (libtase2), in the smallest configured buffer that holds it.
extension VirtualControlCentre {
    public func informationMessage(_ message: [UInt8], infoReference: Int32, localReference: Int32, messageID: Int32,
                                   scope: ObjectScope) throws(InformationMessageError) -> [(association: UInt64, pdu: [UInt8])] {
        guard blocks.blocks.contains(4) else { throw .notConfigured }
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
        return partnerSessions.sorted { $0.id < $1.id }.compactMap { s -> (UInt64, [UInt8])? in
            guard s.imEnabled, let association = s.state.withLock({ $0.association }) else { return nil }
            if let t = s.table {
                guard t.mayReceive(scope: scope, infoReference: infoReference, localReference: localReference) else { return nil }
            } else if case .icc(let d) = scope, !directory.hasICC(d) {
                return nil
            }
            return (association, pdu)
        }
    }
}
