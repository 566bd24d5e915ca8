import BER
import OSI

/// What one side of an association is willing to do: offered in Initiate, met halfway by the peer.
public struct MMSLimits: Hashable, Sendable {
    /// Largest MMS PDU this side accepts (localDetail).
    public var maxPDUSize: Int32
    /// Requests this side will serve at once (the called side's maxServOutstanding when we are called).
    public var maxServOutstandingCalled: Int16
    /// Requests this side will have outstanding towards the peer.
    public var maxServOutstandingCalling: Int16
    public var dataStructureNestingLevel: Int8
    /// Largest TPDU (COTP class 0) proposed or accepted: 128 … 8192.
    public var maxTPDUSize: Int
    /// Our requests that may wait for a free slot (beyond the negotiated outstanding limit)
    /// before new ones fail with `limitExceeded`.
    public var maxQueuedRequests: Int

    public init(maxPDUSize: Int32 = 65_000, maxServOutstandingCalled: Int16 = 10, maxServOutstandingCalling: Int16 = 10,
                dataStructureNestingLevel: Int8 = 10, maxTPDUSize: Int = 8192, maxQueuedRequests: Int = 10_000) {
        self.maxPDUSize = maxPDUSize
        self.maxServOutstandingCalled = maxServOutstandingCalled
        self.maxServOutstandingCalling = maxServOutstandingCalling
        self.dataStructureNestingLevel = dataStructureNestingLevel
        self.maxTPDUSize = maxTPDUSize
        self.maxQueuedRequests = maxQueuedRequests
    }
}

/// Services and parameter CBBs FreeTase2 offers in Initiate.
public enum MMSCapabilities {
    /// str1, str2, vnam, valt, vlis.
    public static let parameterCBB = BitString(bytes: [0xF1, 0x00], count: 11)

    /// ServiceSupportOptions bit numbers.
    public enum Service: Int, CaseIterable, Sendable {
        case status = 0, getNameList = 1, identify = 2, read = 4, write = 5, getVariableAccessAttributes = 6,
            defineNamedVariableList = 11, getNamedVariableListAttributes = 12, deleteNamedVariableList = 13,
            informationReport = 79, conclude = 83
    }

    public static let servicesSupported: BitString = {
        var b = BitString(count: 85)
        for s in Service.allCases { b[bit: s.rawValue] = true }
        return b
    }()
}

/// The parameters both sides agreed in Initiate.
public struct NegotiatedParameters: Hashable, Sendable {
    public var maxPDUSize: Int
    /// Requests the calling side may have outstanding at the called side.
    public var maxServOutstandingCalling: Int
    /// Requests the called side may have outstanding at the calling side.
    public var maxServOutstandingCalled: Int
    public var dataStructureNestingLevel: Int?
    public var versionNumber: Int
    public var parameterCBB: BitString
    /// The services the peer said it supports.
    public var peerServices: BitString
    /// Negotiated COTP TPDU size.
    public var maxTPDUSize: Int

    public init(maxPDUSize: Int, maxServOutstandingCalling: Int, maxServOutstandingCalled: Int, dataStructureNestingLevel: Int? = nil,
                versionNumber: Int, parameterCBB: BitString, peerServices: BitString, maxTPDUSize: Int) {
        self.maxPDUSize = maxPDUSize
        self.maxServOutstandingCalling = maxServOutstandingCalling
        self.maxServOutstandingCalled = maxServOutstandingCalled
        self.dataStructureNestingLevel = dataStructureNestingLevel
        self.versionNumber = versionNumber
        self.parameterCBB = parameterCBB
        self.peerServices = peerServices
        self.maxTPDUSize = maxTPDUSize
    }

    /// How many of the peer's requests we serve at once: the called side serves the calling
    /// side's requests, and the other way round.
    public func servedConcurrently(asCalled: Bool) -> Int { asCalled ? maxServOutstandingCalled : maxServOutstandingCalling }
    /// How many requests we may have outstanding at the peer.
    public func issuedConcurrently(asCalled: Bool) -> Int { asCalled ? maxServOutstandingCalling : maxServOutstandingCalled }
}

extension InitiateParameters {
    /// The calling side's proposal.
    public static func request(_ limits: MMSLimits) -> InitiateParameters {
        InitiateParameters(
            localDetail: limits.maxPDUSize, maxServOutstandingCalling: limits.maxServOutstandingCalling,
            maxServOutstandingCalled: limits.maxServOutstandingCalled, dataStructureNestingLevel: limits.dataStructureNestingLevel,
            versionNumber: 1, parameterCBB: MMSCapabilities.parameterCBB, servicesSupported: MMSCapabilities.servicesSupported)
    }

    /// The called side's answer to `request`: every limit is the smaller of the two.
    public static func response(to request: InitiateParameters, limits: MMSLimits) -> InitiateParameters {
        let pdu = min(request.localDetail ?? limits.maxPDUSize, limits.maxPDUSize)
        var cbb = BitString(count: MMSCapabilities.parameterCBB.count)
        for i in 0..<cbb.count { cbb[bit: i] = MMSCapabilities.parameterCBB[bit: i] && request.parameterCBB[bit: i] }
        return InitiateParameters(
            localDetail: max(pdu, 64),
            maxServOutstandingCalling: max(1, min(request.maxServOutstandingCalling, limits.maxServOutstandingCalling)),
            maxServOutstandingCalled: max(1, min(request.maxServOutstandingCalled, limits.maxServOutstandingCalled)),
            dataStructureNestingLevel: request.dataStructureNestingLevel.map { min($0, limits.dataStructureNestingLevel) },
            versionNumber: min(request.versionNumber, 1), parameterCBB: cbb, servicesSupported: MMSCapabilities.servicesSupported)
    }

    public func negotiated(peerServices: BitString, tpduSize: Int) -> NegotiatedParameters {
        NegotiatedParameters(
            maxPDUSize: Int(localDetail ?? 65_000), maxServOutstandingCalling: Int(maxServOutstandingCalling),
            maxServOutstandingCalled: Int(maxServOutstandingCalled), dataStructureNestingLevel: dataStructureNestingLevel.map(Int.init),
            versionNumber: Int(versionNumber), parameterCBB: parameterCBB, peerServices: peerServices, maxTPDUSize: tpduSize)
    }
}
