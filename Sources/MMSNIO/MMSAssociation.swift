import BER
import MMS
import NIOCore
import OSI

/// An established MMS association, from either side. Both roles may issue requests on it
/// (ICCP partners do), send informationReports, and read the ones that arrive.
public final class MMSAssociation: Sendable {
    let handler: NIOLoopBound<MMSChannelHandler>
    let channel: any Channel
    public let context: AssociationContext
    /// The peer's socket address, for logs.
    public let remoteAddress: String
    /// informationReports from the peer, in arrival order; finishes when the association ends.
    public let informationReports: AsyncStream<InformationReport>
    let closed: EventLoopFuture<Void>

    init(handler: NIOLoopBound<MMSChannelHandler>, channel: any Channel, context: AssociationContext, remoteAddress: String,
         reports: AsyncStream<InformationReport>, closed: EventLoopFuture<Void>) {
        self.handler = handler
        self.channel = channel
        self.context = context
        self.remoteAddress = remoteAddress
        self.informationReports = reports
        self.closed = closed
    }

    public var info: AssociationInfo { context.info }
    public var parameters: NegotiatedParameters { context.info.parameters }
    public var isOpen: Bool { channel.isActive }

    // MARK: Generic requests

    /// Sends one confirmed request and waits for its answer. Requests beyond the negotiated
    /// number outstanding wait their turn; a peer's error or reject is thrown.
    public func request(_ service: ConfirmedServiceRequest) async throws -> ConfirmedServiceResponse {
        let promise = channel.eventLoop.makePromise(of: ConfirmedServiceResponse.self)
        let handler = self.handler
        channel.eventLoop.execute { handler.value.sendRequest(service, promise: promise) }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            // The answer, if it still comes, is dropped; the slot is freed at once.
            handler.eventLoop.execute { handler.value.cancel(promise) }
        }
    }

    func expect<T>(_ service: ConfirmedServiceRequest, _ pick: (ConfirmedServiceResponse) -> T?) async throws -> T {
        let r = try await request(service)
        guard let v = pick(r) else { throw MMSAssociationError.unexpectedResponse(r.serviceName) }
        return v
    }

    // MARK: Services

    public func identify() async throws -> IdentifyResponse {
        try await expect(.identify) { if case .identify(let i) = $0 { return i } else { return nil } }
    }

    public func status() async throws -> StatusResponse {
        try await expect(.status(extendedDerivation: false)) { if case .status(let s) = $0 { return s } else { return nil } }
    }

    /// All names of a class in a scope, following `moreFollows` page by page.
    public func getNameList(_ objectClass: GetNameListRequest.ObjectClass, scope: GetNameListRequest.ObjectScope) async throws -> [String] {
        var names: [String] = []
        var after: String?
        while true {
            let page = try await expect(.getNameList(GetNameListRequest(objectClass: objectClass, scope: scope, continueAfter: after))) {
                if case .getNameList(let g) = $0 { return g } else { return nil }
            }
            names += page.identifiers
            guard page.moreFollows, let last = page.identifiers.last, last != after else { return names }
            after = last
        }
    }

    /// Reads several variables in one PDU: one result each.
    public func read(_ variables: [VariableAccess], specificationWithResult: Bool = false) async throws -> [AccessResult] {
        try await expect(.read(ReadRequest(specificationWithResult: specificationWithResult, .listOfVariable(variables)))) {
            if case .read(let r) = $0 { return r.results } else { return nil }
        }
    }

    /// Reads one variable (or, with `alternateAccess`, a part of it); a DataAccessError is thrown.
    public func read(_ name: ObjectName, alternateAccess: AlternateAccess? = nil) async throws -> MMSData {
        let results = try await read([VariableAccess(name, alternateAccess: alternateAccess)])
        guard results.count == 1 else { throw MMSAssociationError.protocolError("\(results.count) results for one variable") }
        switch results[0] {
        case .success(let d): return d
        case .failure(let e): throw e
        }
    }

    /// Reads a named variable list (a data set): one result per member.
    public func read(list: ObjectName) async throws -> [AccessResult] {
        try await expect(.read(ReadRequest(.variableListName(list)))) { if case .read(let r) = $0 { return r.results } else { return nil } }
    }

    public func write(_ variables: [VariableAccess], values: [MMSData]) async throws -> [WriteResult] {
        try await expect(.write(WriteRequest(.listOfVariable(variables), data: values))) {
            if case .write(let w) = $0 { return w } else { return nil }
        }
    }

    /// Writes one variable (or a part of it); a DataAccessError is thrown.
    public func write(_ name: ObjectName, _ value: MMSData, alternateAccess: AlternateAccess? = nil) async throws {
        let r = try await write([VariableAccess(name, alternateAccess: alternateAccess)], values: [value])
        if case .failure(let e)? = r.first { throw e }
    }

    public func variableAccessAttributes(_ name: ObjectName) async throws -> GetVariableAccessAttributesResponse {
        try await expect(.getVariableAccessAttributes(.name(name))) {
            if case .getVariableAccessAttributes(let g) = $0 { return g } else { return nil }
        }
    }

    public func defineList(_ name: ObjectName, members: [VariableAccess]) async throws {
        _ = try await expect(.defineNamedVariableList(DefineNamedVariableListRequest(name: name, variables: members))) {
            if case .defineNamedVariableList = $0 { return () } else { return nil }
        }
    }

    public func listAttributes(_ name: ObjectName) async throws -> GetNamedVariableListAttributesResponse {
        try await expect(.getNamedVariableListAttributes(name)) {
            if case .getNamedVariableListAttributes(let g) = $0 { return g } else { return nil }
        }
    }

    public func deleteLists(_ names: [ObjectName]) async throws -> DeleteNamedVariableListResponse {
        try await expect(.deleteNamedVariableList(DeleteNamedVariableListRequest(scopeOfDelete: .specific, names: names))) {
            if case .deleteNamedVariableList(let d) = $0 { return d } else { return nil }
        }
    }

    // MARK: Unconfirmed

    /// Sends an informationReport. Fails (and sends nothing) when it exceeds the negotiated PDU size.
    public func send(_ report: InformationReport) async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        channel.eventLoop.execute {
            do {
                try handler.value.sendUnconfirmed(.unconfirmed(.informationReport(report)))
                promise.succeed(())
            } catch {
                promise.fail(error)
            }
        }
        try await promise.futureResult.get()
    }

    /// Sends an unconfirmed PDU the caller encoded (e.g. a report built straight from storage).
    public func send(encodedUnconfirmedPDU mms: [UInt8]) async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        channel.eventLoop.execute {
            do {
                handler.value.perform(try handler.value.machine.sendEncoded(mms))
                promise.succeed(())
            } catch {
                promise.fail(error)
            }
        }
        try await promise.futureResult.get()
    }

    /// True when the connection can take more data now (for report flow control).
    public var isWritable: Bool { channel.isWritable }

    // MARK: Ending

    /// MMS conclude, then ACSE release; returns when the peer has confirmed both.
    public func conclude() async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        channel.eventLoop.execute { handler.value.conclude(promise: promise) }
        try await promise.futureResult.get()
        try? await closed.get()
        try? await channel.closeFuture.get()
    }

    /// Aborts the association (session AB with ACSE ABRT) and closes the connection.
    public func abort() async {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.abort() }
        try? await closed.get()
        try? await channel.closeFuture.get()
    }

    /// Returns when the association has ended, however it ended.
    public func waitUntilClosed() async {
        try? await closed.get()
        try? await channel.closeFuture.get()
    }
}
