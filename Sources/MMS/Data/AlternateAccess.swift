import BER

/// MMS AlternateAccess: selects part of a variable (a structure component, array elements).
/// TASE.2 uses it to write one member of a DS transfer set (`A5 08 81 06 "Status"`).
public struct AlternateAccess: Hashable, Sendable {
    public var items: [Item]

    public init(_ items: [Item]) { self.items = items }

    /// Selects one named component.
    public static func component(_ name: String) -> AlternateAccess { AlternateAccess([.unnamed(.selectAccess(.component(name)))]) }

    public enum Item: Hashable, Sendable {
        case unnamed(Selection)
        case named(componentName: String, Selection)
    }

    public indirect enum Selection: Hashable, Sendable {
        /// Select one level, then apply further alternate access inside it.
        case selectAlternateAccess(AccessSelection, AlternateAccess)
        case selectAccess(AccessSelection)
    }

    public enum AccessSelection: Hashable, Sendable {
        case component(String)
        case index(UInt32)
        case indexRange(low: UInt32, count: UInt32)
        case allElements
    }

    /// The component path when the access is a plain chain of component selections
    /// (`Voltage_1$Value` → ["Value"]); nil for index access.
    public var componentPath: [String]? {
        guard items.count == 1 else { return nil }
        switch items[0] {
        case .unnamed(.selectAccess(.component(let c))): return [c]
        case .unnamed(.selectAlternateAccess(.component(let c), let inner)):
            guard let rest = inner.componentPath else { return nil }
            return [c] + rest
        default: return nil
        }
    }

    /// Builds a nested component selection for a path of names.
    public static func path(_ components: [String]) -> AlternateAccess {
        precondition(!components.isEmpty)
        if components.count == 1 { return .component(components[0]) }
        return AlternateAccess([.unnamed(.selectAlternateAccess(.component(components[0]), path(Array(components.dropFirst()))))])
    }

    // MARK: Codec

    /// Decodes the AlternateAccess element `e` (its tag, such as [5] in a listOfVariable item, already matched).
    static func decode(_ e: BERElement, in r: BERReader) throws -> AlternateAccess {
        var c = try r.contents(of: e)
        return try decodeContents(&c)
    }

    /// Decodes the contents of an AlternateAccess SEQUENCE OF (tag already consumed: `r` is inside it).
    static func decodeContents(_ r: inout BERReader) throws -> AlternateAccess {
        var items: [Item] = []
        while !r.isAtEnd {
            let e = try r.readElement()
            if e.tag == .contextConstructed(5) {
                var c = try r.contents(of: e)
                let name = try MMSIdentifier.decode(c.readElement(.context(0), "componentName"), in: c)
                let sel = try decodeSelection(c.readElement(), c)
                try c.expectEnd()
                items.append(.named(componentName: name, sel))
            } else {
                items.append(.unnamed(try decodeSelection(e, r)))
            }
        }
        return AlternateAccess(items)
    }

    static func decodeSelection(_ e: BERElement, _ r: BERReader) throws -> Selection {
        if e.tag == .contextConstructed(0) {
            // selectAlternateAccess: accessSelection with tags 0…3, then an AlternateAccess.
            var c = try r.contents(of: e)
            let a = try c.readElement()
            let sel: AccessSelection
            switch a.tag {
            case .context(0): sel = .component(try MMSIdentifier.decode(a, in: c))
            case .context(1): sel = .index(try c.integer(of: a, as: UInt32.self))
            case .contextConstructed(2): sel = try decodeRange(a, c)
            case .context(3): sel = .allElements
            default: throw BERError(.unexpectedTag(expected: "accessSelection", found: a.tag), at: a.offset)
            }
            var inner = try c.readConstructed(.sequence, "alternateAccess")
            try c.expectEnd()
            return .selectAlternateAccess(sel, try decodeContents(&inner))
        }
        switch e.tag {
        case .context(1): return .selectAccess(.component(try MMSIdentifier.decode(e, in: r)))
        case .context(2): return .selectAccess(.index(try r.integer(of: e, as: UInt32.self)))
        case .contextConstructed(3): return .selectAccess(try decodeRange(e, r))
        case .context(4): return .selectAccess(.allElements)
        default: throw BERError(.unexpectedTag(expected: "AlternateAccessSelection", found: e.tag), at: e.offset)
        }
    }

    static func decodeRange(_ e: BERElement, _ r: BERReader) throws -> AccessSelection {
        var c = try r.contents(of: e)
        let lo = try c.integer(of: c.readElement(.context(0), "lowIndex"), as: UInt32.self)
        let n = try c.integer(of: c.readElement(.context(1), "numberOfElements"), as: UInt32.self)
        try c.expectEnd()
        return .indexRange(low: lo, count: n)
    }

    /// Prepends the SEQUENCE OF contents (without the outer tag).
    func prependContents(to w: inout BERWriter) {
        for item in items.reversed() {
            switch item {
            case .unnamed(let s): AlternateAccess.prepend(s, to: &w)
            case .named(let n, let s):
                w.prependConstructed(.contextConstructed(5)) { w in
                    AlternateAccess.prepend(s, to: &w)
                    w.prependString(n, tag: .context(0))
                }
            }
        }
    }

    static func prepend(_ s: Selection, to w: inout BERWriter) {
        switch s {
        case .selectAccess(let a): prepend(a, base: 1, to: &w)
        case .selectAlternateAccess(let a, let inner):
            w.prependConstructed(.contextConstructed(0)) { w in
                w.prependConstructed(.sequence) { inner.prependContents(to: &$0) }
                prepend(a, base: 0, to: &w)
            }
        }
    }

    static func prepend(_ a: AccessSelection, base: UInt32, to w: inout BERWriter) {
        switch a {
        case .component(let n): w.prependString(n, tag: .context(base))
        case .index(let i): w.prependInteger(Int64(i), tag: .context(base + 1))
        case .indexRange(let lo, let n):
            w.prependConstructed(.contextConstructed(base + 2)) { w in
                w.prependInteger(Int64(n), tag: .context(1))
                w.prependInteger(Int64(lo), tag: .context(0))
            }
        case .allElements: w.prependNull(tag: .context(base + 3))
        }
    }
}
