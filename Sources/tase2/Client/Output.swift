import Foundation
import MMS
import MMSNIO
import TASE2

/// What the client commands print: typed lines for people, JSON for scripts. Streams flush
/// after every event (stdout is block-buffered in a pipe), so `tase2 watch | tee log` shows
/// each line at once and keeps all it saw on Ctrl-C.
enum Output {
    /// Flushes stdout (`fflush(nil)`: Swift 6 does not let us name the C global `stdout`).
    static func flush() { fflush(nil) }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// One JSON document (or NDJSON line), keys sorted.
    static func json(_ object: Any) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        print(String(decoding: data, as: UTF8.self))
        flush()
    }

    /// Text from the partner, with every control character escaped: nothing it sends can move
    /// the cursor or retitle the terminal.
    static func safe(_ s: String) -> String { escaped(s, quoted: false) }

    /// Columns padded to their widest cell (the last column is not padded).
    static func table(_ header: [String], _ rows: [[String]], indent: String = "  ") -> [String] {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for r in all { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        return all.map { r in
            indent + r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
    }

    // MARK: Readings

    /// The cells of one reading: name, type, value, quality, time.
    static func cells(_ r: PointReading) -> [String] {
        let name = safe(r.name.description)
        if let e = r.error { return [name, r.type?.description ?? "-", "error: \(e)", "", ""] }
        guard let t = r.type, let v = r.value else { return [name, "-", r.result.data.map(describe) ?? "-", "", ""] }
        let value = v.valueText(t.type) + (v.countersText(t.type).map { " (\($0))" } ?? "")
        return [name, t.type.rawValue, value, v.qualityText(t.type) ?? "", v.timeText(t.type) ?? ""]
    }

    /// `ICC1/Breaker_1  StateQTimeTag  ON  valid telemetered  2026-12-01T08:31:06Z`
    static func line(_ r: PointReading) -> String { cells(r).filter { !$0.isEmpty }.joined(separator: "  ") }

    static func json(_ r: PointReading) -> [String: Any] {
        var o: [String: Any] = ["name": r.name.description, "scope": r.name.domain ?? "VCC"]
        if let t = r.type { o["type"] = t.type.rawValue }
        if let e = r.error {
            o["error"] = "\(e)"
            return o
        }
        guard let t = r.type, let v = r.value else {
            if let d = r.result.data { o["data"] = describe(d) }
            return o
        }
        let layout = t.type.layout(stateQ: t.stateQ)
        switch t.type.base {
        case .real: o["value"] = Double(v.real)
        case .discrete: o["value"] = Int(v.discrete)
        case .state: o["state"] = StateValue(octet: v.state).name
        case .stateSupplemental: o["value"] = Int(v.state)
        case .protection:
            o["eventFlags"] = Int(v.eventFlags)
            if t.type == .packedProtectionEvent { o["packedEvent"] = Int(v.packedEvent) }
        }
        if layout.carriesFlags {
            o["validity"] = v.flags.validity.name
            o["source"] = v.flags.currentSource.name
            o["offNormal"] = v.flags.offNormal
            o["timeStampInvalid"] = v.flags.timeStampInvalid
        }
        if let time = v.timeText(t.type) { o["time"] = time }
        if layout.carriesCOV { o["cov"] = Int(v.cov) }
        if layout.carriesOperatingTime { o["operatingTime"] = Int(v.operatingTime) }
        return o
    }
}

/// Progress of a long operation on stderr, only when stderr is a terminal (never in a pipe or a log).
final class Progress: Sendable {
    let label: String
    let enabled: Bool
    init(_ label: String) {
        self.label = label
        enabled = Output.stderrIsTerminal
    }
    func update(_ done: Int, _ total: Int) {
        guard enabled, total >= 50, done % 25 == 0 || done == total else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(label) \(done)/\(total)".utf8))
    }
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}

/// A value as an operator reads it.
func describe(_ d: MMSData) -> String {
    switch d {
    case .floatingPoint(let f): return "\(f.doubleValue)"
    case .integer(let v): return "\(v)"
    case .unsigned(let v): return "\(v)u"
    case .boolean(let b): return b ? "TRUE" : "FALSE"
    case .bitString(let b): return "'" + (0..<b.count).map { b[bit: $0] ? "1" : "0" }.joined() + "'B"
    case .visibleString(let s), .mmsString(let s): return escaped(s)
    case .octetString(let o): return "0x" + o.map { String(format: "%02x", $0) }.joined()
    case .structure(let items): return "{" + items.map(describe).joined(separator: ", ") + "}"
    case .array(let items): return "[" + items.map(describe).joined(separator: ", ") + "]"
    default: return "\(d)"
    }
}

func describe(_ r: AccessResult) -> String {
    switch r {
    case .success(let d): return describe(d)
    case .failure(let e): return "error: \(e)"
    }
}

extension Output {
    /// Text for a JSON string: JSON escapes C0 controls itself; DEL and C1 controls (which some
    /// terminals obey) are replaced by U+FFFD so `jq -r` cannot replay them either.
    static func jsonSafe(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { u in
            (u.value < 0x20 && u != "\n" && u != "\t") || (0x7F...0x9F).contains(u.value) ? "\u{FFFD}" : u
        }))
    }
}
