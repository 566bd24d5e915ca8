import BER
import OSI

/// Addresses of the upper layers of one end of an association.
public struct OSIAddress: Hashable, Sendable {
    public var tsel: [UInt8]?
    public var ssel: [UInt8]?
    public var psel: [UInt8]?
    public var apTitle: OID?
    public var aeQualifier: Int64?

    public init(tsel: [UInt8]? = [0, 1], ssel: [UInt8]? = [0, 1], psel: [UInt8]? = [0, 0, 0, 1], apTitle: OID? = nil, aeQualifier: Int64? = nil) {
        self.tsel = tsel
        self.ssel = ssel
        self.psel = psel
        self.apTitle = apTitle
        self.aeQualifier = aeQualifier
    }
}

/// Builds the TSDUs of each phase, and frames MMS PDUs for the data transfer phase.
public enum OSIEncoder {
    static func external(_ mms: MMSPDU, contextID: Int64) -> External {
        External(indirectReference: contextID, encoding: .singleASN1Type(mms.encoded()))
    }

    /// CN + CP + AARQ carrying `initiate`.
    public static func connect(calling: OSIAddress, called: OSIAddress, initiate: MMSPDU,
                               authentication: AuthenticationValue? = nil, contexts: PresentationContexts = .init(),
                               applicationContext: OID = WellKnownOID.mmsApplicationContext) -> [UInt8] {
        var aarq = AARQ(
            applicationContext: applicationContext,
            called: ApplicationEntity(apTitle: called.apTitle, aeQualifier: called.aeQualifier),
            calling: ApplicationEntity(apTitle: calling.apTitle, aeQualifier: calling.aeQualifier),
            userInformation: [external(initiate, contextID: contexts.mms)])
        if let auth = authentication {
            aarq.authenticationValue = auth
            aarq.senderRequirements = BitString(msbFirst: 1 << 63, count: 1)
            if case .charString = auth { aarq.mechanismName = AuthenticationValue.passwordMechanism }
        }
        let cp = CPType(
            callingSelector: calling.psel, calledSelector: called.psel,
            contexts: [
                PresentationContextDefinition(id: contexts.acse, abstractSyntax: WellKnownOID.acseAbstractSyntax),
                PresentationContextDefinition(id: contexts.mms, abstractSyntax: WellKnownOID.mmsAbstractSyntax),
            ],
            userData: .fullyEncoded([PDV(contextID: contexts.acse, value: .singleASN1Type(ACSEAPDU.associationRequest(aarq).encoded()))]))
        return SPDU.connect(callingSSEL: calling.ssel, calledSSEL: called.ssel, userData: cp.encoded()).encoded()
    }

    /// AC + CPA + AARE (accepted) carrying the initiate response.
    /// AC + CPA + AARE (accepted) carrying the initiate response. `proposed` are the CP's context
    /// definitions: each gets a result (ACSE and MMS accepted, others refused as unsupported), and
    /// the AARE echoes the application context the caller proposed.
    public static func accept(responding: OSIAddress, initiate: MMSPDU, contexts: PresentationContexts,
                              proposed: [PresentationContextDefinition] = [], applicationContext: OID = WellKnownOID.mmsApplicationContext) -> [UInt8] {
        let aare = AARE(
            applicationContext: applicationContext, result: .accepted, diagnostic: .null,
            responding: ApplicationEntity(apTitle: responding.apTitle, aeQualifier: responding.aeQualifier),
            userInformation: [external(initiate, contextID: contexts.mms)])
        let cpa = CPAType(
            respondingSelector: responding.psel, results: results(for: proposed, contexts),
            userData: .fullyEncoded([PDV(contextID: contexts.acse, value: .singleASN1Type(ACSEAPDU.associationResponse(aare).encoded()))]))
        return SPDU.accept(respondingSSEL: responding.ssel, userData: cpa.encoded()).encoded()
    }

    static func results(for proposed: [PresentationContextDefinition], _ contexts: PresentationContexts) -> [PresentationContextResult] {
        guard !proposed.isEmpty else { return [.accepted, .accepted] }
        return proposed.map { d in
            guard d.id == contexts.acse || d.id == contexts.mms else {
                return PresentationContextResult(result: 2, providerReason: 1)  // abstract-syntax-not-supported
            }
            guard d.transferSyntaxes.contains(WellKnownOID.berTransferSyntax) else {
                return PresentationContextResult(result: 2, providerReason: 2)  // proposed-transfer-syntaxes-not-supported
            }
            return .accepted
        }
    }

    /// An association refused by ACSE: AARE rejected-permanent with `diagnostic`, in a CPR
    /// (presentation user-rejection) in a session RF, as ISO 8823 and ISO 8327 map a refused
    /// P-CONNECT.
    public static func reject(responding: OSIAddress, diagnostic: AARE.Diagnostic, initiateError: MMSPDU?, contexts: PresentationContexts,
                              proposed: [PresentationContextDefinition] = [], applicationContext: OID = WellKnownOID.mmsApplicationContext) -> [UInt8] {
        let aare = AARE(
            applicationContext: applicationContext, result: .rejectedPermanent, diagnostic: diagnostic,
            responding: ApplicationEntity(apTitle: responding.apTitle, aeQualifier: responding.aeQualifier),
            userInformation: initiateError.map { [external($0, contextID: contexts.mms)] } ?? [])
        let cpr = CPRType(
            respondingSelector: responding.psel, results: results(for: proposed, contexts),
            userData: .fullyEncoded([PDV(contextID: contexts.acse, value: .singleASN1Type(ACSEAPDU.associationResponse(aare).encoded()))]))
        return SPDU.refuse(reason: 0, userData: cpr.encoded()).encoded()
    }

    /// FN + RLRQ (normal).
    public static func releaseRequest(contexts: PresentationContexts) -> [UInt8] {
        SPDU.finish(userData: acseUserData(.releaseRequest(reason: 0, userInformation: []), contexts)).encoded()
    }

    /// DN + RLRE (normal).
    public static func releaseResponse(contexts: PresentationContexts) -> [UInt8] {
        SPDU.disconnect(userData: acseUserData(.releaseResponse(reason: 0, userInformation: []), contexts)).encoded()
    }

    /// AB + ARU + ABRT (source: 0 service user, 1 service provider).
    public static func abort(source: Int64 = 0, contexts: PresentationContexts) -> [UInt8] {
        let abrt = ACSEAPDU.abort(source: source, diagnostic: nil, userInformation: [])
        let aru = AbortPPDU.userAbort(
            contextIDs: [],
            userData: .fullyEncoded([PDV(contextID: contexts.acse, value: .singleASN1Type(abrt.encoded()))]))
        return SPDU.abort(userData: aru.encoded()).encoded()
    }

    static func acseUserData(_ apdu: ACSEAPDU, _ contexts: PresentationContexts) -> [UInt8] {
        PresentationUserData.fullyEncoded([PDV(contextID: contexts.acse, value: .singleASN1Type(apdu.encoded()))]).encoded()
    }

    /// Frames the MMS PDU held by `w` for data transfer: prepends the presentation wrapper and
    /// the session Give-Tokens + DT header, in place.
    public static func prependDataFraming(to w: inout BERWriter, contexts: PresentationContexts) {
        PresentationUserData.prependFullyEncoded(contextID: contexts.mms, to: &w)
        // Give-Tokens + DT, both empty: 01 00 01 00.
        w.prepend(0x00)
        w.prepend(0x01)
        w.prepend(0x00)
        w.prepend(0x01)
    }

    /// A whole data-transfer TSDU for one MMS PDU.
    public static func data(_ pdu: MMSPDU, contexts: PresentationContexts = .init()) -> [UInt8] {
        var w = BERWriter(capacity: 256)
        pdu.prepend(to: &w)
        prependDataFraming(to: &w, contexts: contexts)
        return w.toArray()
    }
}

