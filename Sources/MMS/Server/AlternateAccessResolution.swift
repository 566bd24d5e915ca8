/// Applies an AlternateAccess to a typed value: the part of a variable a Read or Write names.
enum AccessPath {
    /// One step: a structure component by name, or array elements.
    enum Step: Hashable { case component(String), index(Int), range(Int, Int) }

    /// The steps of a chain of selections (the only form TASE.2 and IEC 61850 clients send).
    static func steps(_ aa: AlternateAccess) -> [Step]? {
        guard aa.items.count == 1 else { return nil }
        func step(_ s: AlternateAccess.AccessSelection) -> Step? {
            switch s {
            case .component(let c): return .component(c)
            case .index(let i): return .index(Int(i))
            case .indexRange(let lo, let n): return .range(Int(lo), Int(n))
            case .allElements: return nil
            }
        }
        switch aa.items[0] {
        case .unnamed(.selectAccess(let s)), .named(_, .selectAccess(let s)):
            return step(s).map { [$0] }
        case .unnamed(.selectAlternateAccess(let s, let inner)), .named(_, .selectAlternateAccess(let s, let inner)):
            guard let first = step(s), let rest = steps(inner) else { return nil }
            return [first] + rest
        }
    }

    /// The type and value at `steps`, or the access error to answer.
    static func select(_ steps: ArraySlice<Step>, type: TypeSpecification, value: MMSData) -> Result<(TypeSpecification, MMSData), DataAccessError> {
        guard let step = steps.first else { return .success((type, value)) }
        switch (step, type, value) {
        case (.component(let name), .structure(_, let comps), .structure(let items)):
            guard let i = comps.firstIndex(where: { $0.name == name }), i < items.count else { return .failure(.objectNonExistent) }
            return select(steps.dropFirst(), type: comps[i].type, value: items[i])
        case (.index(let i), .array(_, _, let el), .array(let items)):
            guard i >= 0, i < items.count else { return .failure(.objectNonExistent) }
            return select(steps.dropFirst(), type: el, value: items[i])
        case (.range(let lo, let n), .array(let packed, _, let el), .array(let items)):
            guard steps.count == 1, lo >= 0, n >= 0, lo + n <= items.count else { return .failure(.objectNonExistent) }
            return .success((.array(packed: packed, count: UInt32(n), element: el), .array(Array(items[lo..<(lo + n)]))))
        default:
            return .failure(.objectAccessUnsupported)
        }
    }

    /// `value` with the part at `steps` replaced by `new` (already checked against the part's type).
    static func replace(_ steps: ArraySlice<Step>, in value: MMSData, type: TypeSpecification, with new: MMSData) -> MMSData? {
        guard let step = steps.first else { return new }
        switch (step, type, value) {
        case (.component(let name), .structure(_, let comps), .structure(var items)):
            guard let i = comps.firstIndex(where: { $0.name == name }), i < items.count,
                let inner = replace(steps.dropFirst(), in: items[i], type: comps[i].type, with: new)
            else { return nil }
            items[i] = inner
            return .structure(items)
        case (.index(let i), .array(_, _, let el), .array(var items)):
            guard i >= 0, i < items.count, let inner = replace(steps.dropFirst(), in: items[i], type: el, with: new) else { return nil }
            items[i] = inner
            return .array(items)
        default:
            return nil
        }
    }
}
