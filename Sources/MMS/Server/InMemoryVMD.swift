import Synchronization

/// A ready-made VMD that keeps its variables and named variable lists in memory: VMD-,
/// domain- and association-specific variables with their types, server-defined lists (not
/// deletable) and client-defined ones, alternate access to components, IEC 61850-style
/// `Name$Component` item names, and write checks against the declared type.
public final class InMemoryVMD: VirtualManufacturingDevice {
    public struct Variable: Hashable, Sendable {
        public var type: TypeSpecification
        public var value: MMSData
        public var writable: Bool
        public init(type: TypeSpecification, value: MMSData, writable: Bool = false) {
            self.type = type
            self.value = value
            self.writable = writable
        }
    }

    struct NamedList: Sendable {
        var members: [VariableAccess]
        var deletable: Bool
    }

    /// One scope's objects.
    struct Scope: Sendable {
        var variables: [String: Variable] = [:]
        var lists: [String: NamedList] = [:]
    }

    struct State: Sendable {
        var vmd = Scope()
        var domains: [String: Scope] = [:]
        var associations: [UInt64: Scope] = [:]
    }

    public let identity: IdentifyResponse
    let state = Mutex(State())
    let acceptHandler: @Sendable (AssociationRequest) -> AssociationDecision
    let writeObserver: @Sendable (ObjectName, MMSData, AssociationContext) -> Void
    let reportObserver: @Sendable (InformationReport, AssociationContext) -> Void

    public init(
        identity: IdentifyResponse = IdentifyResponse(vendorName: "FreeTase2", modelName: "InMemoryVMD", revision: "1"),
        accept: @escaping @Sendable (AssociationRequest) -> AssociationDecision = { _ in .accept },
        onWrite: @escaping @Sendable (ObjectName, MMSData, AssociationContext) -> Void = { _, _, _ in },
        onReport: @escaping @Sendable (InformationReport, AssociationContext) -> Void = { _, _ in }
    ) {
        self.identity = identity
        self.acceptHandler = accept
        self.writeObserver = onWrite
        self.reportObserver = onReport
    }

    // MARK: Building the model

    public func addDomain(_ name: String) {
        state.withLock { s in if s.domains[name] == nil { s.domains[name] = Scope() } }
    }

    /// Adds or replaces a VMD- or domain-specific variable (the domain is created if needed).
    public func setVariable(_ name: ObjectName, _ variable: Variable) {
        state.withLock { s in
            switch name {
            case .vmdSpecific(let n): s.vmd.variables[n] = variable
            case .domainSpecific(let d, let n): s.domains[d, default: Scope()].variables[n] = variable
            case .aaSpecific: break
            }
        }
    }

    /// Updates the value of an existing variable; false when it does not exist or has another type.
    @discardableResult
    public func update(_ name: ObjectName, to value: MMSData) -> Bool {
        state.withLock { s in
            guard var v = Self.lookup(name, in: s, association: nil), v.type.accepts(value) else { return false }
            v.value = value
            Self.store(name, v, in: &s, association: nil)
            return true
        }
    }

    public func value(of name: ObjectName) -> MMSData? {
        state.withLock { s in Self.lookup(name, in: s, association: nil)?.value }
    }

    /// A server-defined (not deletable) named variable list.
    public func defineServerList(_ name: ObjectName, members: [ObjectName]) {
        state.withLock { s in
            Self.storeList(name, NamedList(members: members.map { VariableAccess($0) }, deletable: false), in: &s, association: nil)
        }
    }

    // MARK: Lookup

    static func lookup(_ name: ObjectName, in s: State, association: UInt64?) -> Variable? {
        switch name {
        case .vmdSpecific(let n): return s.vmd.variables[n]
        case .domainSpecific(let d, let n): return s.domains[d]?.variables[n]
        case .aaSpecific(let n): return association.flatMap { s.associations[$0]?.variables[n] }
        }
    }

    static func store(_ name: ObjectName, _ v: Variable, in s: inout State, association: UInt64?) {
        switch name {
        case .vmdSpecific(let n): s.vmd.variables[n] = v
        case .domainSpecific(let d, let n): s.domains[d]?.variables[n] = v
        case .aaSpecific(let n): if let a = association { s.associations[a, default: Scope()].variables[n] = v }
        }
    }

    static func list(_ name: ObjectName, in s: State, association: UInt64) -> NamedList? {
        switch name {
        case .vmdSpecific(let n): return s.vmd.lists[n]
        case .domainSpecific(let d, let n): return s.domains[d]?.lists[n]
        case .aaSpecific(let n): return s.associations[association]?.lists[n]
        }
    }

    static func storeList(_ name: ObjectName, _ l: NamedList?, in s: inout State, association: UInt64?) {
        switch name {
        case .vmdSpecific(let n): s.vmd.lists[n] = l
        case .domainSpecific(let d, let n): s.domains[d, default: Scope()].lists[n] = l
        case .aaSpecific(let n): if let a = association { s.associations[a, default: Scope()].lists[n] = l }
        }
    }

    /// Splits `Name$Comp$Sub` into the variable and a component path (IEC 61850 clients name parts so).
    static func resolve(_ access: VariableAccess, in s: State, association: UInt64) -> Result<(ObjectName, Variable, [AccessPath.Step]), DataAccessError> {
        guard case .name(let name) = access.variable else { return .failure(.objectAccessUnsupported) }
        var steps: [AccessPath.Step] = []
        if let aa = access.alternateAccess {
            guard let st = AccessPath.steps(aa) else { return .failure(.objectAccessUnsupported) }
            steps = st
        }
        if let v = lookup(name, in: s, association: association) { return .success((name, v, steps)) }
        let parts = name.itemName.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1 {
            let base: ObjectName
            switch name {
            case .vmdSpecific: base = .vmdSpecific(parts[0])
            case .domainSpecific(let d, _): base = .domainSpecific(domain: d, item: parts[0])
            case .aaSpecific: base = .aaSpecific(parts[0])
            }
            if let v = lookup(base, in: s, association: association) {
                return .success((base, v, parts.dropFirst().map { .component($0) } + steps))
            }
        }
        if case .domainSpecific(let d, _) = name, s.domains[d] == nil { return .failure(.objectNonExistent) }
        return .failure(.objectNonExistent)
    }

    // MARK: VirtualManufacturingDevice

    public func accept(_ request: AssociationRequest) async -> AssociationDecision { acceptHandler(request) }

    public func associationEnded(_ association: AssociationContext) async {
        _ = state.withLock { s in s.associations.removeValue(forKey: association.id) }
    }

    public func names(of objectClass: GetNameListRequest.ObjectClass, in scope: GetNameListRequest.ObjectScope,
                      for association: AssociationContext) async throws(ServiceError) -> [String] {
        try state.withLock { s throws(ServiceError) -> [String] in
            let sc: Scope
            switch scope {
            case .vmdSpecific:
                if objectClass == .domain { return VMDDispatcher.sorted(s.domains.keys) }
                sc = s.vmd
            case .domainSpecific(let d):
                guard let found = s.domains[d] else { throw ServiceError.accessObjectNonExistent }
                sc = found
            case .aaSpecific:
                sc = s.associations[association.id] ?? Scope()
            }
            switch objectClass {
            case .namedVariable: return VMDDispatcher.sorted(sc.variables.keys)
            case .namedVariableList: return VMDDispatcher.sorted(sc.lists.keys)
            case .domain: return []
            default: throw ServiceError(.access, 1)
            }
        }
    }

    public func read(_ variables: [VariableAccess], for association: AssociationContext) async -> [AccessResult] {
        state.withLock { s in
            variables.map { access in
                switch Self.resolve(access, in: s, association: association.id) {
                case .failure(let e): return .failure(e)
                case .success(let (_, v, steps)):
                    switch AccessPath.select(steps[...], type: v.type, value: v.value) {
                    case .success(let (_, value)): return .success(value)
                    case .failure(let e): return .failure(e)
                    }
                }
            }
        }
    }

    public func read(list: ObjectName, for association: AssociationContext) async throws(ServiceError) -> [AccessResult] {
        guard let l = state.withLock({ s in Self.list(list, in: s, association: association.id) }) else {
            throw ServiceError.accessObjectNonExistent
        }
        return await read(l.members, for: association)
    }

    public func write(_ variables: [VariableAccess], values: [MMSData], for association: AssociationContext) async -> [WriteResult] {
        var written: [(ObjectName, MMSData)] = []
        let results = state.withLock { s in
            zip(variables, values).map { access, value -> WriteResult in
                switch Self.resolve(access, in: s, association: association.id) {
                case .failure(let e): return .failure(e)
                case .success(let (name, v, steps)):
                    guard v.writable else { return .failure(.objectAccessDenied) }
                    switch AccessPath.select(steps[...], type: v.type, value: v.value) {
                    case .failure(let e): return .failure(e)
                    case .success(let (partType, _)):
                        guard partType.accepts(value) else { return .failure(.typeInconsistent) }
                        guard let newValue = AccessPath.replace(steps[...], in: v.value, type: v.type, with: value) else {
                            return .failure(.objectAccessUnsupported)
                        }
                        var nv = v
                        nv.value = newValue
                        Self.store(name, nv, in: &s, association: association.id)
                        written.append((name, newValue))
                        return .success
                    }
                }
            }
        }
        for (n, v) in written { writeObserver(n, v, association) }
        return results
    }

    public func write(list: ObjectName, values: [MMSData], for association: AssociationContext) async throws(ServiceError) -> [WriteResult] {
        guard let l = state.withLock({ s in Self.list(list, in: s, association: association.id) }) else {
            throw ServiceError.accessObjectNonExistent
        }
        guard l.members.count == values.count else { throw ServiceError(.access, 0, additionalDescription: "value count") }
        return await write(l.members, values: values, for: association)
    }

    public func variableAccessAttributes(of name: ObjectName, for association: AssociationContext) async throws(ServiceError)
        -> GetVariableAccessAttributesResponse
    {
        let r = state.withLock { s in Self.resolve(VariableAccess(name), in: s, association: association.id) }
        switch r {
        case .failure: throw ServiceError.accessObjectNonExistent
        case .success(let (_, v, steps)):
            switch AccessPath.select(steps[...], type: v.type, value: v.value) {
            case .success(let (t, _)): return GetVariableAccessAttributesResponse(mmsDeletable: false, typeSpecification: t)
            case .failure: throw ServiceError.accessObjectNonExistent
            }
        }
    }

    public func defineList(_ request: DefineNamedVariableListRequest, for association: AssociationContext) async throws(ServiceError) {
        try state.withLock { s throws(ServiceError) in
            if case .domainSpecific(let d, _) = request.name, s.domains[d] == nil { throw ServiceError.accessObjectNonExistent }
            guard Self.list(request.name, in: s, association: association.id) == nil else { throw ServiceError.definitionObjectExists }
            guard !request.variables.isEmpty else { throw ServiceError.definitionObjectAttributeInconsistent }
            for m in request.variables {
                if case .failure = Self.resolve(m, in: s, association: association.id) { throw ServiceError.definitionObjectUndefined }
            }
            Self.storeList(request.name, NamedList(members: request.variables, deletable: true), in: &s, association: association.id)
        }
    }

    public func listAttributes(of name: ObjectName, for association: AssociationContext) async throws(ServiceError)
        -> GetNamedVariableListAttributesResponse
    {
        guard let l = state.withLock({ s in Self.list(name, in: s, association: association.id) }) else {
            throw ServiceError.accessObjectNonExistent
        }
        return GetNamedVariableListAttributesResponse(mmsDeletable: l.deletable, variables: l.members)
    }

    public func deleteLists(_ request: DeleteNamedVariableListRequest, for association: AssociationContext) async throws(ServiceError)
        -> DeleteNamedVariableListResponse
    {
        state.withLock { s in
            var existing = s.vmd.lists.keys.map { ObjectName.vmdSpecific($0) }
            for (d, scope) in s.domains { existing += scope.lists.keys.map { ObjectName.domainSpecific(domain: d, item: $0) } }
            existing += (s.associations[association.id]?.lists.keys).map { $0.map { ObjectName.aaSpecific($0) } } ?? []
            let names = request.targets(among: existing)
            var matched: UInt32 = 0, deleted: UInt32 = 0
            for n in names {
                guard let l = Self.list(n, in: s, association: association.id) else { continue }
                matched += 1
                if l.deletable {
                    Self.storeList(n, nil, in: &s, association: association.id)
                    deleted += 1
                }
            }
            return DeleteNamedVariableListResponse(numberMatched: matched, numberDeleted: deleted)
        }
    }

    public func received(_ report: InformationReport, for association: AssociationContext) async {
        reportObserver(report, association)
    }
}
