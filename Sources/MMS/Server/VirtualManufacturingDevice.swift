import BER
import OSI

/// Identifies one association to a server model (for association-specific objects and for
/// state a model keeps per partner). Equal when the association is.
public struct AssociationContext: Hashable, Sendable {
    public let id: UInt64
    public let info: AssociationInfo
    /// What the model attached when it accepted the association (`AcceptedAssociation.session`),
    /// or set up for an association it called.
    public let session: (any AnyObject & Sendable)?

    public init(id: UInt64, info: AssociationInfo, session: (any AnyObject & Sendable)? = nil) {
        self.id = id
        self.info = info
        self.session = session
    }

    public static func == (a: AssociationContext, b: AssociationContext) -> Bool { a.id == b.id && a.info == b.info }
    public func hash(into h: inout Hasher) {
        h.combine(id)
        h.combine(info)
    }
}

/// How one confirmed request was served.
public enum ConfirmedServiceResult: Hashable, Sendable {
    case response(ConfirmedServiceResponse)
    case error(ServiceError)
    /// Reject the request (confirmed-requestPDU reason, e.g. 1 unrecognized-service, 4 invalid-argument).
    case reject(Int64)
}

/// The objects a server hosts: what the MMS server asks of its model. Names are returned in
/// ascending order so that GetNameList paging by `continueAfter` works; the MMS server does
/// the paging. TASE.2 (issue 4) implements this for a Virtual Control Centre.
public protocol VirtualManufacturingDevice: Sendable {
    var identity: IdentifyResponse { get }

    /// Called before an association is accepted (the place for bilateral tables and passwords).
    func accept(_ request: AssociationRequest) async -> AssociationDecision
    func associationEstablished(_ association: AssociationContext) async
    /// The association ended (conclude/release, abort or TCP close): free what it held.
    func associationEnded(_ association: AssociationContext) async

    /// Names of one object class in one scope, visible to this association, ascending.
    func names(of objectClass: GetNameListRequest.ObjectClass, in scope: GetNameListRequest.ObjectScope,
               for association: AssociationContext) async throws(ServiceError) -> [String]
    /// One GetNameList page, for models that keep their names sorted (no list built per
    /// request); nil (the default) lets the dispatcher page `names`.
    func namePage(_ request: GetNameListRequest, budget: Int, for association: AssociationContext) async throws(ServiceError) -> GetNameListResponse?
    func read(_ variables: [VariableAccess], for association: AssociationContext) async -> [AccessResult]
    /// Read of a named variable list: one result per member.
    func read(list: ObjectName, for association: AssociationContext) async throws(ServiceError) -> [AccessResult]
    func write(_ variables: [VariableAccess], values: [MMSData], for association: AssociationContext) async -> [WriteResult]
    func write(list: ObjectName, values: [MMSData], for association: AssociationContext) async throws(ServiceError) -> [WriteResult]
    func variableAccessAttributes(of name: ObjectName, for association: AssociationContext) async throws(ServiceError)
        -> GetVariableAccessAttributesResponse
    func defineList(_ request: DefineNamedVariableListRequest, for association: AssociationContext) async throws(ServiceError)
    func listAttributes(of name: ObjectName, for association: AssociationContext) async throws(ServiceError)
        -> GetNamedVariableListAttributesResponse
    func deleteLists(_ request: DeleteNamedVariableListRequest, for association: AssociationContext) async throws(ServiceError)
        -> DeleteNamedVariableListResponse
    /// An unconfirmed informationReport the partner sent us (TASE.2: ACK/NACK of critical reports).
    func received(_ report: InformationReport, for association: AssociationContext) async
    func status(for association: AssociationContext) async -> StatusResponse
    /// True when the model answers this Read straight from its storage (`prependReadResponse`).
    func readsFromStorage(_ request: ReadRequest, for association: AssociationContext) -> Bool
    /// A model that answers a Read straight from its storage prepends the whole
    /// confirmed-ResponsePDU to `w`, synchronously, into the buffer that will be written: no
    /// value tree, no copy. Only called when `readsFromStorage` said so.
    func prependReadResponse(_ request: ReadRequest, invokeID: UInt32, for association: AssociationContext,
                             to w: inout BERWriter) throws(ServiceError)
}

extension VirtualManufacturingDevice {
    public func accept(_ request: AssociationRequest) async -> AssociationDecision { .accept }
    public func associationEstablished(_ association: AssociationContext) async {}
    public func associationEnded(_ association: AssociationContext) async {}
    public func received(_ report: InformationReport, for association: AssociationContext) async {}
    public func status(for association: AssociationContext) async -> StatusResponse { StatusResponse() }
    public func namePage(_ request: GetNameListRequest, budget: Int, for association: AssociationContext) async throws(ServiceError)
        -> GetNameListResponse?
    { nil }
    public func readsFromStorage(_ request: ReadRequest, for association: AssociationContext) -> Bool { false }
    public func prependReadResponse(_ request: ReadRequest, invokeID: UInt32, for association: AssociationContext,
                                    to w: inout BERWriter) throws(ServiceError) {}
}

/// Serves confirmed requests from a `VirtualManufacturingDevice`: the MMS server's dispatch.
public enum VMDDispatcher {
    /// Serves one request. `maxPDUSize` bounds GetNameList pages.
    public static func serve(_ request: ConfirmedServiceRequest, invokeID: UInt32, device: some VirtualManufacturingDevice,
                             association: AssociationContext, maxPDUSize: Int) async -> ConfirmedServiceResult {
        do throws(ServiceError) {
            switch request {
            case .status:
                return .response(.status(await device.status(for: association)))
            case .identify:
                return .response(.identify(device.identity))
            case .getNameList(let q):
                if let page = try await device.namePage(q, budget: maxPDUSize - 24, for: association) { return .response(.getNameList(page)) }
                let all = try await device.names(of: q.objectClass, in: q.scope, for: association)
                return .response(.getNameList(page(all, after: q.continueAfter, maxPDUSize: maxPDUSize)))
            case .read(let q):
                let results: [AccessResult]
                switch q.variableAccessSpecification {
                case .listOfVariable(let vars): results = await device.read(vars, for: association)
                case .variableListName(let n): results = try await device.read(list: n, for: association)
                }
                return .response(.read(ReadResponse(
                    variableAccessSpecification: q.specificationWithResult ? q.variableAccessSpecification : nil, results: results)))
            case .write(let q):
                switch q.variableAccessSpecification {
                case .listOfVariable(let vars):
                    guard vars.count == q.data.count else { return .reject(4) }
                    return .response(.write(await device.write(vars, values: q.data, for: association)))
                case .variableListName(let n):
                    return .response(.write(try await device.write(list: n, values: q.data, for: association)))
                }
            case .getVariableAccessAttributes(let spec):
                guard case .name(let n) = spec else { throw ServiceError.accessObjectAccessUnsupported }
                return .response(.getVariableAccessAttributes(try await device.variableAccessAttributes(of: n, for: association)))
            case .defineNamedVariableList(let q):
                try await device.defineList(q, for: association)
                return .response(.defineNamedVariableList)
            case .getNamedVariableListAttributes(let n):
                return .response(.getNamedVariableListAttributes(try await device.listAttributes(of: n, for: association)))
            case .deleteNamedVariableList(let q):
                return .response(.deleteNamedVariableList(try await device.deleteLists(q, for: association)))
            case .unsupported:
                return .reject(1)
            }
        } catch {
            return .error(error)
        }
    }

    /// One GetNameList page: names after `continueAfter`, as many as fit the PDU, and an explicit
    /// `moreFollows` (FALSE on the last page: its ASN.1 default is TRUE).
    public static func page(_ sortedNames: [String], after: String?, maxPDUSize: Int) -> GetNameListResponse {
        var start = 0
        if let a = after {
            // Binary search for the first name greater than `a` (byte order, as the names are sorted).
            var lo = 0, hi = sortedNames.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if Array(sortedNames[mid].utf8).lexicographicallyPrecedes(Array(a.utf8)) || sortedNames[mid] == a { lo = mid + 1 } else { hi = mid }
            }
            start = lo
        }
        var budget = maxPDUSize - 24  // invoke ID, tags, lengths and moreFollows
        var out: [String] = []
        var i = start
        while i < sortedNames.count {
            let cost = sortedNames[i].utf8.count + 2
            if cost > budget && !out.isEmpty { break }
            budget -= cost
            out.append(sortedNames[i])
            i += 1
        }
        return GetNameListResponse(identifiers: out, moreFollows: i < sortedNames.count)
    }

    /// Sorts names the way GetNameList must return them: ascending by bytes.
    public static func sorted(_ names: some Sequence<String>) -> [String] {
        names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
