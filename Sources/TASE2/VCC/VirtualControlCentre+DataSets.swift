import BER
import MMS

/// DefineNamedVariableList, GetNamedVariableListAttributes, DeleteNamedVariableList.
extension VirtualControlCentre {
    public func defineList(_ request: DefineNamedVariableListRequest, for association: AssociationContext) async throws(ServiceError) {
        guard let s = session(association) else { throw ServiceError.accessObjectAccessDenied }
        let maxMembers = s.table?.config.maxDataSetMembers ?? 2000
        let maxSets = s.table?.config.maxDataSets ?? 100
        switch request.name {
        case .domainSpecific(let d, let n):
            // Data sets of a partner live in its own ICC only.
            guard mayUse(domain: d, s) else { throw ServiceError.accessObjectAccessDenied }
            guard TASE2Names.isValidObjectName(n) else { throw ServiceError.definitionObjectAttributeInconsistent }
        case .vmdSpecific(let n):
            if s.table != nil { throw ServiceError.accessObjectAccessDenied }
            guard TASE2Names.isValidObjectName(n) else { throw ServiceError.definitionObjectAttributeInconsistent }
        case .aaSpecific(let n):
            guard TASE2Names.isValidObjectName(n) else { throw ServiceError.definitionObjectAttributeInconsistent }
        }
        guard !request.variables.isEmpty else { throw ServiceError.definitionObjectAttributeInconsistent }
        guard request.variables.count <= maxMembers else {
            throw ServiceError(.resource, 1, additionalDescription: "more than \(maxMembers) members (the bilateral table's max_data_set_members)")
        }
        var members: [ObjectName] = []
        for v in request.variables {
            guard case .name(let n) = v.variable, v.alternateAccess == nil else { throw ServiceError.definitionObjectAttributeInconsistent }
            // Points, transfer-set variables of either scope, and tags the partner may read.
            if reportMember(n, s) != nil {
                members.append(n)
                continue
            }
            switch resolve(n, s) {
            case .success(.deviceTag(let i)) where !devices.may(.getTag, i, s): throw ServiceError.accessObjectAccessDenied
            case .success: throw ServiceError.definitionObjectAttributeInconsistent
            case .failure(.objectAccessDenied): throw ServiceError.accessObjectAccessDenied
            case .failure: throw ServiceError.definitionObjectUndefined
            }
        }
        let set = DataSet(members: members, deletable: true)
        // Per partner: its ICC's data sets and its association-scope ones together.
        let aaCount = s.state.withLock { $0.aaLists.count }
        func capError(_ icc: Int) -> ServiceError? {
            icc + aaCount >= maxSets ? ServiceError(.resource, 1, additionalDescription: "\(maxSets) data sets already (the bilateral table's max_data_sets)") : nil
        }
        switch request.name {
        case .aaSpecific(let n):
            let definedHere = s.icc.map { dataSets.definedCount(domain: $0) } ?? 0
            if let e = capError(definedHere) { throw e }
            try s.state.withLock { st throws(ServiceError) in
                guard st.aaLists[n] == nil else { throw ServiceError.definitionObjectExists }
                st.aaLists[n] = set
            }
        case .domainSpecific(let d, _):
            try dataSets.define(request.name, set) { st in capError(st.domains[d]?.values.filter(\.deletable).count ?? 0) }
        case .vmdSpecific:
            try dataSets.define(request.name, set) { _ in nil }
        }
    }

    public func listAttributes(of name: ObjectName, for association: AssociationContext) async throws(ServiceError)
        -> GetNamedVariableListAttributesResponse
    {
        guard let s = session(association) else { throw ServiceError.accessObjectAccessDenied }
        let ds = try dataSet(name, s)
        return GetNamedVariableListAttributesResponse(mmsDeletable: ds.deletable, variables: ds.members.map { VariableAccess($0) })
    }

    public func deleteLists(_ request: DeleteNamedVariableListRequest, for association: AssociationContext) async throws(ServiceError)
        -> DeleteNamedVariableListResponse
    {
        guard let s = session(association) else { throw ServiceError.accessObjectAccessDenied }
        let aa = s.state.withLock { st in st.aaLists.keys.map { ObjectName.aaSpecific($0) } }
        let names = request.targets(among: dataSets.allNames + aa)
        // A list an enabled transfer set reports is not deleted (spec §12 #27).
        func inUse(_ n: ObjectName) -> Bool { pools.values.contains { $0.uses(n) } }
        var (matched, deleted) = dataSets.delete(names.filter { $0.domain != nil || $0.isVMD }, may: { n in
            if case .domainSpecific(let d, _) = n { return mayUse(domain: d, s) }
            return s.table == nil
        }, inUse: inUse)
        for case .aaSpecific(let n) in names {
            s.state.withLock { st in
                guard st.aaLists[n] != nil else { return }
                matched += 1
                if !st.enabled.values.contains(where: { $0.dataSet == .aaSpecific(n) }) {
                    st.aaLists[n] = nil
                    deleted += 1
                }
            }
        }
        return DeleteNamedVariableListResponse(numberMatched: matched, numberDeleted: deleted)
    }
}

extension ObjectName {
    var isVMD: Bool { if case .vmdSpecific = self { return true } else { return false } }
}
