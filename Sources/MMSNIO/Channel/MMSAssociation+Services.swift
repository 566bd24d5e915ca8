import MMS
import NIOCore

/// The MMS services, typed. Answers of the wrong service or shape are already refused by the
/// association; what is checked here is what only the service knows.
extension MMSAssociation {

    public func identify() async throws -> IdentifyResponse {
        try await expect(.identify) { if case .identify(let i) = $0 { return i } else { return nil } }
    }

    public func status() async throws -> StatusResponse {
        try await expect(.status(extendedDerivation: false)) { if case .status(let s) = $0 { return s } else { return nil } }
    }

    /// All names of a class in a scope, following `moreFollows` page by page. Paging must make
    /// progress (each page ends on a name greater than the last, byte order) and stays within
    /// `limits.maxNames` names and `limits.maxNameBytes` octets; every name must be an MMS
    /// Identifier. A peer that breaks any of these gets a protocol or limit error, never a loop.
    public func getNameList(_ objectClass: GetNameListRequest.ObjectClass, scope: GetNameListRequest.ObjectScope) async throws -> [String] {
        try await withOperationDeadline("GetNameList") {
            var names: [String] = []
            var seen: Set<String> = []
            var bytes = 0
            var after: String?
            while true {
                let page = try await self.expect(.getNameList(GetNameListRequest(objectClass: objectClass, scope: scope, continueAfter: after))) {
                    if case .getNameList(let g) = $0 { return g } else { return nil }
                }
                for name in page.identifiers {
                    guard MMSIdentifier.isValid(name) else {
                        throw MMSAssociationError.protocolError("GetNameList returned \(escaped(name)), which is not an MMS identifier")
                    }
                    guard seen.insert(name).inserted else {
                        throw MMSAssociationError.protocolError("GetNameList returned \(escaped(name)) twice")
                    }
                    bytes += name.utf8.count
                }
                names += page.identifiers
                guard names.count <= self.limits.maxNames else {
                    throw MMSAssociationError.limitExceeded("GetNameList passed \(self.limits.maxNames) names (MMSClientLimits.maxNames)")
                }
                guard bytes <= self.limits.maxNameBytes else {
                    throw MMSAssociationError.limitExceeded("GetNameList passed \(self.limits.maxNameBytes) octets of names (MMSClientLimits.maxNameBytes)")
                }
                guard page.moreFollows else { return names }
                guard let last = page.identifiers.last else {
                    throw MMSAssociationError.protocolError("GetNameList page with moreFollows and no names")
                }
                if let after, !Array(after.utf8).lexicographicallyPrecedes(Array(last.utf8)) {
                    throw MMSAssociationError.protocolError("GetNameList paging does not advance: \(escaped(last)) after \(escaped(after))")
                }
                after = last
            }
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
        // The association checks that a read of n variables has n results.
        let results = try await read([VariableAccess(name, alternateAccess: alternateAccess)])
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

    /// Runs a multi-request operation within `limits.operationTimeout`, when one is set.
    func withOperationDeadline<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let timeout = limits.operationTimeout else { return try await body() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(max(timeout.nanoseconds, 0)))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw MMSAssociationError.timeout("\(what) not finished within \(seconds(timeout)) (MMSClientLimits.operationTimeout)")
            }
            return value
        }
    }
}

/// A string from the network as it may be shown on a terminal or in a log: control, format
/// (bidirectional overrides) and unassigned characters escaped (`\u{1b}`), so a peer cannot
/// drive the terminal; quoted unless `quoted` is false.
public func escaped(_ s: String, quoted: Bool = true) -> String {
    var out = quoted ? "\"" : ""
    for u in s.unicodeScalars {
        switch u {
        case "\"" where quoted: out += "\\\""
        case "\\": out += "\\\\"
        default:
            switch u.properties.generalCategory {
            case .control, .format, .privateUse, .surrogate, .unassigned, .lineSeparator, .paragraphSeparator:
                out += "\\u{\(String(u.value, radix: 16))}"
            default:
                out.unicodeScalars.append(u)
            }
        }
    }
    return quoted ? out + "\"" : out
}
