import Foundation

/// The captures the tests use, in `Tests/Fixtures` of this repository (see its README for where
/// they come from). Tests fail, never skip, when a fixture is missing.
public enum Fixtures {
    public static var root: URL {
        var dir = URL(fileURLWithPath: #filePath)
        dir.deleteLastPathComponent()  // Tests/TestSupport/Vectors.swift → Tests/TestSupport
        dir.deleteLastPathComponent()  // → Tests
        return dir.appendingPathComponent("Fixtures")
    }

    public static var vectors: URL { root.appendingPathComponent("vectors") }

    /// Every `.hex` vector, by capture directory, sorted by name.
    public static func vectorFiles() throws -> [(capture: String, name: String, bytes: [UInt8])] {
        let fm = FileManager.default
        var out: [(String, String, [UInt8])] = []
        let dirs = try fm.contentsOfDirectory(atPath: vectors.path).filter { $0.hasSuffix(".vectors") }.sorted()
        for d in dirs {
            let dir = vectors.appendingPathComponent(d)
            for f in try fm.contentsOfDirectory(atPath: dir.path).filter({ $0.hasSuffix(".hex") }).sorted() {
                let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
                out.append((d, f, try hexBytes(text)))
            }
        }
        return out
    }

    public static func vector(_ capture: String, prefix: String) throws -> [UInt8] {
        guard let v = try vectorFiles().first(where: { $0.capture.hasPrefix(capture) && $0.name.hasPrefix(prefix) }) else {
            throw NSError(domain: "vectors", code: 1, userInfo: [NSLocalizedDescriptionKey: "no vector \(capture)/\(prefix)*"])
        }
        return v.bytes
    }

    /// A fixture file by its path under `Tests/Fixtures`.
    public static func data(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(relative)))
    }
}

public struct HexError: Error {}

public func hexBytes(_ text: String) throws -> [UInt8] {
    let digits = text.unicodeScalars.filter { !$0.properties.isWhitespace }
    var out: [UInt8] = []
    var hi: UInt8?
    for c in digits {
        guard let v = UInt8(String(c), radix: 16) else { throw HexError() }
        if let h = hi {
            out.append(h << 4 | v)
            hi = nil
        } else {
            hi = v
        }
    }
    guard hi == nil else { throw HexError() }
    return out
}

public func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

import BER

/// True when every length in the BER value(s) is definite and in its shortest form, so
/// that a DER-style re-encoding must reproduce the bytes exactly.
public func usesMinimalLengths(_ bytes: [UInt8]) -> Bool {
    (try? BERReader.withReader(bytes) { r -> Bool in
        func walk(_ r: inout BERReader) throws -> Bool {
            while !r.isAtEnd {
                let e = try r.readElement()
                if !e.hasMinimalLength { return false }
                if e.tag.isConstructed {
                    var c = try r.contents(of: e)
                    if try !walk(&c) { return false }
                }
            }
            return true
        }
        return try walk(&r)
    }) ?? false
}
