import BER
import OSI

/// Presentation context identifiers in force on one connection (from the CP's definition list).
public struct PresentationContexts: Hashable, Sendable {
    public var acse: Int64
    public var mms: Int64
    public init(acse: Int64 = 1, mms: Int64 = 3) {
        self.acse = acse
        self.mms = mms
    }

    /// Takes the identifiers from a CP's definition list.
    public init(_ definitions: [PresentationContextDefinition]) throws {
        guard let a = definitions.first(where: { $0.abstractSyntax == WellKnownOID.acseAbstractSyntax }),
            let m = definitions.first(where: { $0.abstractSyntax == WellKnownOID.mmsAbstractSyntax })
        else { throw OSIError(.presentation, "CP does not define both the ACSE and the MMS presentation contexts") }
        self.init(acse: a.id, mms: m.id)
    }
}

/// What one TSDU carries, decoded through session, presentation and ACSE down to MMS.
public enum OSIMessage: Hashable, Sendable {
    /// CN + CP + AARQ (+ MMS initiate-Request in the AARQ user information).
    case connect(SPDU, CPType, AARQ, MMSPDU?)
    /// AC + CPA + AARE (+ MMS initiate-Response or -Error).
    case accept(SPDU, CPAType, AARE, MMSPDU?)
    /// RF, possibly with CPR and a rejecting AARE.
    case refuse(SPDU, CPRType?, AARE?)
    /// Data transfer of one MMS PDU.
    case data(MMSPDU)
    /// An ACSE APDU outside connect: RLRQ (in FN), RLRE (in DN), or ABRT (in AB or in data).
    case acse(SPDU, ACSEAPDU)
    /// AB or AA whose contents are not an ACSE abort (provider abort, or no user data).
    case abort(SPDU, AbortPPDU?)
    /// A session-level release without ACSE user data (FN or DN alone).
    case session(SPDU)

    /// Decodes one TSDU. A CP updates `contexts` to the identifiers it defines.
    public static func decode(
        tsdu: [UInt8], contexts: inout PresentationContexts, limits: BERLimits = .default
    ) throws -> OSIMessage {
        let spdu = try SPDU.decode(tsdu)
        switch spdu.kind {
        case .connect:
            guard let ud = spdu.userData else { throw OSIError(.session, "CN without user data") }
            let cp = try CPType.decode(ud, limits: limits)
            contexts = try PresentationContexts(cp.contexts)
            guard let pdv = cp.userData?.pdvs.first(where: { $0.contextID == contexts.acse }) else {
                throw OSIError(.presentation, "CP carries no ACSE PDU")
            }
            guard case .associationRequest(let aarq) = try ACSEAPDU.decode(pdv.bytes, limits: limits) else {
                throw OSIError(.acse, "CP carries an ACSE PDU other than AARQ")
            }
            return .connect(spdu, cp, aarq, try mmsInUserInformation(aarq.userInformation, limits))
        case .accept:
            guard let ud = spdu.userData else { throw OSIError(.session, "AC without user data") }
            let cpa = try CPAType.decode(ud, limits: limits)
            guard let pdv = cpa.userData?.pdvs.first else { throw OSIError(.presentation, "CPA carries no ACSE PDU") }
            guard case .associationResponse(let aare) = try ACSEAPDU.decode(pdv.bytes, limits: limits) else {
                throw OSIError(.acse, "CPA carries an ACSE PDU other than AARE")
            }
            return .accept(spdu, cpa, aare, try mmsInUserInformation(aare.userInformation, limits))
        case .refuse:
            // RF reason code 0 ("rejection by called SS-user") is followed by the user data.
            guard let reason = spdu.value(SessionParameter.Code.reasonCode), reason.count > 1 else {
                return .refuse(spdu, nil, nil)
            }
            let cpr = try CPRType.decode(Array(reason.dropFirst()), limits: limits)
            var aare: AARE?
            if let pdv = cpr.userData?.pdvs.first, case .associationResponse(let a) = try ACSEAPDU.decode(pdv.bytes, limits: limits) {
                aare = a
            }
            return .refuse(spdu, cpr, aare)
        case .data:
            let ud = try PresentationUserData.decode(spdu.userInformation, limits: limits)
            guard let pdv = ud.pdvs.first, ud.pdvs.count == 1 else {
                throw OSIError(.presentation, "data transfer with \(ud.pdvs.count) PDVs (expected one)")
            }
            if pdv.contextID == contexts.mms {
                return .data(try MMSPDU.decode(pdv.bytes, limits: limits))
            } else if pdv.contextID == contexts.acse {
                return .acse(spdu, try ACSEAPDU.decode(pdv.bytes, limits: limits))
            }
            throw OSIError(.presentation, "data for unknown presentation context \(pdv.contextID)")
        case .finish, .disconnect:
            guard let ud = spdu.userData, !ud.isEmpty else { return .session(spdu) }
            if ud[0] == 0xA0 || ud[0] == 0x30 {
                // Some stacks (hat-drivers) close with FN carrying an abort PPDU (ARU + ABRT): an abort.
                let ppdu = try AbortPPDU.decode(ud, limits: limits)
                if case .userAbort(_, let u?) = ppdu, let pdv = u.pdvs.first(where: { $0.contextID == contexts.acse }) {
                    return .acse(spdu, try ACSEAPDU.decode(pdv.bytes, limits: limits))
                }
                return .abort(spdu, ppdu)
            }
            let p = try PresentationUserData.decode(ud, limits: limits)
            guard let pdv = p.pdvs.first(where: { $0.contextID == contexts.acse }) else {
                throw OSIError(.presentation, "release without an ACSE PDU")
            }
            return .acse(spdu, try ACSEAPDU.decode(pdv.bytes, limits: limits))
        case .abort, .abortAccept:
            guard let ud = spdu.userData, !ud.isEmpty else { return .abort(spdu, nil) }
            let ppdu = try AbortPPDU.decode(ud, limits: limits)
            if case .userAbort(_, let u?) = ppdu, let pdv = u.pdvs.first(where: { $0.contextID == contexts.acse }) {
                return .acse(spdu, try ACSEAPDU.decode(pdv.bytes, limits: limits))
            }
            return .abort(spdu, ppdu)
        case .notFinished:
            return .session(spdu)
        }
    }

    static func mmsInUserInformation(_ ui: [External], _ limits: BERLimits) throws -> MMSPDU? {
        guard let ext = ui.first else { return nil }
        return try MMSPDU.decode(ext.bytes, limits: limits)
    }

    /// The MMS PDU this message carries, if any.
    public var mmsPDU: MMSPDU? {
        switch self {
        case .connect(_, _, _, let m), .accept(_, _, _, let m): return m
        case .data(let m): return m
        default: return nil
        }
    }
}
