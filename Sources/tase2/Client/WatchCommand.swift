import ArgumentParser
import Foundation
import MMS
import MMSNIO
import Synchronization
import TASE2

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Define a data set of the given points in our ICC, start a DS transfer set on it and show its reports.",
        discussion: """
            On a terminal: a table updated in place, with the number of reports and the time since the last. \
            In a pipe: one line per changed value, flushed as it arrives (NDJSON with --json). Ctrl-C stops \
            the transfer set (a whole-structure write), deletes the data set and concludes the association.
            """)
    @OptionGroup var partner: PartnerOptions
    @Option(name: .long, help: "Our ICC on the remote VCC (default: the one --bilateral-table-id names, else the first it lists).")
    var icc: String?
    @Option(name: .long, help: "Seconds between interval reports (0: none).")
    var interval: Int32 = 5
    @Option(name: .long, help: "Seconds between integrity reports (0: none).")
    var integrity: Int32 = 0
    @Flag(name: .long, help: "Report by exception: changes as they happen.")
    var rbe = false
    @Flag(name: .long, help: "A critical transfer set: each report is acknowledged once shown.")
    var critical = false
    @Option(name: .long, help: "Seconds the partner may buffer changes before reporting (BufferTime).")
    var bufferTime: Int32 = 0
    @Option(name: .long, help: "Stop after this many reports (0: until Ctrl-C).")
    var count: Int = 0
    @Option(name: .long, help: "Name of the data set defined in our ICC.")
    var dataSet: String = "FT2_WATCH"
    @Argument(help: "Points (NAME for VCC scope, ICC/NAME for the ICC).")
    var points: [String]

    func validate() throws {
        for p in points { _ = try checkedObjectName(p) }
        guard interval >= 0, integrity >= 0, bufferTime >= 0 else { throw ValidationError("--interval, --integrity and --buffer-time are seconds, 0 or more") }
        guard interval > 0 || integrity > 0 || rbe else { throw ValidationError("nothing would be reported: give --interval, --integrity or --rbe") }
        guard MMSIdentifier.isValid(dataSet) else { throw ValidationError("--data-set \(escaped(dataSet)) is not an MMS identifier") }
    }

    func run() async throws {
        let (interval, integrity, rbe, critical, bufferTime, count, dataSet) = (self.interval, self.integrity, self.rbe, self.critical, self.bufferTime, self.count, self.dataSet)
        let points = self.points.map(objectName)
        let json = partner.json
        let live = Output.stdoutIsTerminal && !json
        let interrupt = Interrupt()
        try await partner.withTASE2("watch", icc: icc, limited: false) { c in
            var conditions: DSConditions = []
            if interval > 0 { conditions.insert(.intervalTimeOut) }
            if integrity > 0 { conditions.insert(.integrityTimeOut) }
            if rbe { conditions.insert(.objectChange) }
            let ts = try await c.startTransfer(dataSet: dataSet, points: points) { d in
                d.interval = interval
                d.integrityCheck = integrity
                d.conditions = conditions
                d.rbe = rbe
                d.bufferTime = bufferTime
                d.critical = critical
            }
            let view = WatchView(transferSet: ts, dataSet: .domainSpecific(domain: c.icc, item: dataSet), points: points, live: live, json: json)
            view.started()
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var seen = 0
                    for await report in c.transferReports {
                        view.show(report)
                        seen += 1
                        if count > 0 && seen >= count { break }
                    }
                }
                group.addTask { await interrupt.wait() }
                if live { group.addTask { await view.tick() } }
                await group.next()
                group.cancelAll()
            }
            view.finish()
            try await c.stopTransfer(ts)
            _ = try? await c.association.deleteLists([.domainSpecific(domain: c.icc, item: dataSet)])
            if !json { FileHandle.standardError.write(Data("stopped \(ts) after \(view.reports) reports\n".utf8)) }
        }
    }
}

/// What `watch` shows: a live table on a terminal, else a line (or JSON line) per change.
final class WatchView: Sendable {
    let transferSet: ObjectName
    let dataSet: ObjectName
    let order: [ObjectName]
    let live: Bool
    let json: Bool
    struct State {
        var latest: [ObjectName: PointReading] = [:]
        var reports = 0
        var lastReport: ContinuousClock.Instant?
        var lastConditions: DSConditions?
    }
    let state = Mutex(State())

    init(transferSet: ObjectName, dataSet: ObjectName, points: [ObjectName], live: Bool, json: Bool) {
        self.transferSet = transferSet
        self.dataSet = dataSet
        order = points
        self.live = live
        self.json = json
    }

    var reports: Int { state.withLock { $0.reports } }

    func started() {
        if json {
            Output.json(["event": "started", "transferSet": transferSet.description, "dataSet": dataSet.description, "points": order.map(\.description)])
        } else if live {
            print("\u{1B}[?25l", terminator: "")  // no cursor while redrawing
            redraw()
        } else {
            print("watching \(Output.safe(transferSet.description)) on data set \(Output.safe(dataSet.description)) (\(order.count) points)")
            Output.flush()
        }
    }

    func show(_ r: TransferReport) {
        let changed: [PointReading] = state.withLock { s in
            s.reports += 1
            s.lastReport = .now
            s.lastConditions = r.conditions
            var changed: [PointReading] = []
            for p in r.points where s.latest[p.name] != p {
                s.latest[p.name] = p
                changed.append(p)
            }
            return changed
        }
        if live { return redraw() }
        let n = reports
        let conditions = r.conditions.map(conditionNames) ?? []
        let time = r.timeStamp.map { ISO8601.format(secondsSince1970: Int64($0)) }
        for p in changed {
            if json {
                var o = Output.json(p)
                o["report"] = n
                o["conditions"] = conditions
                if let time { o["reportTime"] = time }
                Output.json(o)
            } else {
                print("\(time ?? "-")  #\(n)  \(Output.line(p))")
            }
        }
        Output.flush()
    }

    func tick() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
            redraw()
        }
    }

    func redraw() {
        let (latest, reports, last, conditions) = state.withLock { ($0.latest, $0.reports, $0.lastReport, $0.lastConditions) }
        let ago = last.map { l -> String in
            let d = ContinuousClock.now - l
            return "\(d.components.seconds).\(d.components.attoseconds / 100_000_000_000_000_000) s ago"
        } ?? "none yet"
        var lines = ["watching \(Output.safe(transferSet.description)) on \(Output.safe(dataSet.description)) — \(reports) reports, last \(ago)"
            + (conditions.map { " (\(conditionNames($0).joined(separator: ", ")))" } ?? "") + " — Ctrl-C stops"]
        let rows = order.map { n in latest[n].map(Output.cells) ?? [Output.safe(n.description), "", "(no report yet)", "", ""] }
        lines += Output.table(["NAME", "TYPE", "VALUE", "QUALITY", "TIME"], rows)
        print("\u{1B}[H\u{1B}[2J" + lines.map(\.trimmingTrailingSpaces).joined(separator: "\n"))
        Output.flush()
    }

    func finish() {
        if live { print("\u{1B}[?25h", terminator: "") }
        if json { Output.json(["event": "stopped", "transferSet": transferSet.description, "reports": reports]) }
    }
}

func conditionNames(_ c: DSConditions) -> [String] {
    var out: [String] = []
    if c.contains(.intervalTimeOut) { out.append("interval") }
    if c.contains(.integrityTimeOut) { out.append("integrity") }
    if c.contains(.objectChange) { out.append("change") }
    if c.contains(.operatorRequest) { out.append("operator") }
    if c.contains(.otherExternalEvent) { out.append("external") }
    return out
}

/// Ctrl-C (SIGINT) and SIGTERM as an event: `wait()` returns when one arrives (or when cancelled),
/// so the command can stop its transfer set and conclude instead of dying mid-association.
final class Interrupt: Sendable {
    /// Kept alive for the program's life.
    let sources: Mutex<[any DispatchSourceSignal]>
    let stream: AsyncStream<Void>

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.stream = stream
        sources = Mutex([SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                continuation.yield()
                signal(sig, SIG_DFL)  // a second Ctrl-C ends the program at once
            }
            s.resume()
            return s
        })
    }

    func wait() async {
        for await _ in stream { return }
    }
}
