// Our TASE.2 server side by side with the libiec61850 MMS server (the pyiec61850-ng wheel's
// library), same model, same clients, one run: single reads over N names, reads of a 1,000-value
// named list, RBE throughput and latency, and 100k points with 100 associations. Figures are
// printed with the ours/theirs ratio and written as JSON. Run through `scripts/benchmark.sh`
// (it installs the peers and passes --python), or:
// `swift run -c release --package-path Benchmarks ServerBenchmark --python .venv/bin/python`.
import Foundation
import Logging
import MMS
import MMSNIO
import TASE2


let args = Array(CommandLine.arguments.dropFirst())

if args.first == "serve" {
    let n = args.count > 1 ? Int(args[1]) ?? 1000 : 1000
    let list = args.count > 2 ? Int(args[2]) ?? 1000 : 1000
    do {
        try await serveOurs(points: n, listSize: list)
    } catch {
        FileHandle.standardError.write(Data("ServerBenchmark serve: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}

func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}
let quick = args.contains("--quick")
let seconds = Double(option("--seconds") ?? "") ?? (quick ? 1.5 : 4)
let sizes = (option("--points") ?? (quick ? "1000,10000" : "1000,10000,100000")).split(separator: ",").compactMap { Int($0) }
let scenarios = Set((option("--scenarios") ?? "single,list,rbe,scale").split(separator: ",").map(String.init))
let jsonPath = option("--json") ?? "benchmark-results.json"
/// Rounds of each read figure, ours and theirs taken in turn; the median of each is printed (the
/// VM's run-to-run noise is about 10%).
let rounds = max(1, Int(option("--repeat") ?? "") ?? 1)
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
let python = option("--python") ?? ProcessInfo.processInfo.environment["FREETASE2_PYTHON"] ?? "\(root)/.venv/bin/python"
guard FileManager.default.isExecutableFile(atPath: python) else {
    say("ServerBenchmark: no Python at \(python): run scripts/benchmark.sh, or pass --python (scripts/setup-peers.sh prints it)")
    exit(2)
}
let me = URL(fileURLWithPath: CommandLine.arguments[0]).path
var results: [String: Any] = ["machine": ProcessInfo.processInfo.hostName, "cores": ProcessInfo.processInfo.activeProcessorCount,
                              "seconds_per_run": seconds, "rounds": rounds]

/// One running server of either kind, and what a client needs to drive it.
struct Server {
    let name: String
    let child: Child
    let port: Int
    let names: [ObjectName]
    let namesFile: String
    let list: ObjectName
    let startup: Double
}

func startOurs(_ n: Int) throws -> Server {
    let c = try Child(me, ["serve", "\(n)", "1000"])
    let ready = try c.readJSON()
    let names = (0..<n).map { ObjectName.domainSpecific(domain: Model.icc, item: "P\($0)") }
    let file = NSTemporaryDirectory() + "/freetase2-bench-ours-\(n).txt"
    try names.map { "\(Model.icc)/\($0.itemName)" }.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    return Server(name: "ours", child: c, port: ready["port"] as? Int ?? 0, names: names, namesFile: file,
                  list: .domainSpecific(domain: Model.icc, item: Model.list), startup: ready["startup_s"] as? Double ?? 0)
}

func startTheirs(_ n: Int) throws -> Server {
    let port = Int.random(in: 20_000..<40_000)
    // Points per logical node: about √N is libiec61850's best (it looks names up linearly, per
    // logical node and per component), so the comparison is with its fastest layout.
    let perLN = max(10, Int(Double(n).squareRoot()))
    let c = try Child(python, ["\(root)/interop/bench_iec61850_server.py", "\(port)", "\(n)", "--list-size", "1000", "--per-ln", "\(perLN)"])
    let ready = try c.readJSON()
    let file = ready["names"] as? String ?? ""
    let text = try String(contentsOfFile: file, encoding: .utf8)
    let names = text.split(separator: "\n").map { line -> ObjectName in
        let parts = line.split(separator: "/", maxSplits: 1)
        return .domainSpecific(domain: String(parts[0]), item: String(parts[1]))
    }
    let l = (ready["list"] as? String ?? "").split(separator: "/", maxSplits: 1)
    return Server(name: "libiec61850", child: c, port: ready["port"] as? Int ?? port, names: names, namesFile: file,
                  list: .domainSpecific(domain: String(l.first ?? ""), item: String(l.last ?? "")), startup: ready["startup_s"] as? Double ?? 0)
}

/// One measured figure of one server.
struct Figure {
    var perSecond: Double  // requests/s (single) or values/s (list)
    var requestsPerSecond: Double
    var cpuPerRequest: Double  // server seconds
    var kernelPerRequest: Double  // the part of it in the kernel
    /// "73.0 µs (41.2 kernel)".
    var cpuText: String { us(cpuPerRequest) + String(format: " (%.0f kernel)", kernelPerRequest * 1e6) }
}

/// Runs `load` against `server`, measuring the server's CPU over the run.
func measure(_ server: Server, _ load: () async throws -> (requests: Int, values: Int, errors: Int, seconds: Double)) async throws -> Figure {
    let cpu0 = cpuTimes(server.child.pid)
    let r = try await load()
    let cpu1 = cpuTimes(server.child.pid)
    let cpu = cpu1.total - cpu0.total
    if r.errors > 0 { say("    (\(server.name): \(r.errors) requests failed)") }
    // The server's CPU covers the warm-up too: count its requests pro rata.
    let requestsIncludingWarmUp = Double(r.requests) * (r.seconds + 0.5) / r.seconds
    return Figure(perSecond: Double(r.values) / r.seconds, requestsPerSecond: Double(r.requests) / r.seconds,
                  cpuPerRequest: cpu / max(requestsIncludingWarmUp, 1),
                  kernelPerRequest: (cpu1.kernel - cpu0.kernel) / max(requestsIncludingWarmUp, 1))
}

/// `ours` and `theirs` measured `rounds` times in turn; each field is the median of its rounds.
func paired(_ ours: () async throws -> Figure, _ theirs: () async throws -> Figure) async throws -> (Figure, Figure) {
    var o: [Figure] = [], t: [Figure] = []
    for _ in 0..<rounds {
        o.append(try await ours())
        t.append(try await theirs())
    }
    func median(_ f: [Figure]) -> Figure {
        func m(_ k: KeyPath<Figure, Double>) -> Double { f.map { $0[keyPath: k] }.sorted()[f.count / 2] }
        return Figure(perSecond: m(\.perSecond), requestsPerSecond: m(\.requestsPerSecond), cpuPerRequest: m(\.cpuPerRequest),
                      kernelPerRequest: m(\.kernelPerRequest))
    }
    return (median(o), median(t))
}

func native(_ s: Server, _ kind: ReadLoad.Kind, inFlight: Int) async throws -> Figure {
    try await measure(s) {
        let (r, _) = try await ReadLoad.run(s.port, kind, inFlight: inFlight, seconds: seconds)
        return (r.requests, r.values, r.errors, r.seconds)
    }
}

func libiecClient(_ s: Server, mode: String) async throws -> Figure {
    try await measure(s) {
        var a = ["\(root)/interop/bench_iec61850_client.py", "127.0.0.1", "\(s.port)", "--names", s.namesFile, "--mode", mode,
                 "--seconds", "\(seconds)"]
        if mode == "list" { a += ["--list", "\(s.list.domain ?? "")/\(s.list.itemName)"] }
        let c = try Child(python, a)
        let o = try c.readJSON()
        c.stop()
        return (o["requests"] as? Int ?? 0, o["values"] as? Int ?? 0, o["errors"] as? Int ?? 0, o["seconds"] as? Double ?? seconds)
    }
}

func fmt(_ x: Double) -> String {
    if x >= 1e6 { return String(format: "%.2fM", x / 1e6) }
    if x >= 1e4 { return String(format: "%.1fk", x / 1e3) }
    if x >= 100 { return String(format: "%.0f", x) }
    return String(format: "%.2f", x)
}
func us(_ s: Double) -> String { String(format: "%.1f µs", s * 1e6) }
func mb(_ b: Int) -> String { String(format: "%.1f MB", Double(b) / 1_048_576) }
func row(_ label: String, _ ours: String, _ theirs: String, _ ratio: String) {
    say("  " + label.padding(toLength: 60, withPad: " ", startingAt: 0) + ours.padding(toLength: 22, withPad: " ", startingAt: 0)
          + theirs.padding(toLength: 22, withPad: " ", startingAt: 0) + ratio)
}
func ratio(_ a: Double, _ b: Double) -> String { b > 0 ? String(format: "%.2f×", a / b) : "-" }

/// The server-CPU row under a figure, and its JSON fields beside `rate` (ours and theirs).
func cpuRow(_ o: Figure, _ t: Figure, rate: (key: String, ours: Double, theirs: Double)) -> [String: Any] {
    row("  … server CPU per request", o.cpuText, t.cpuText, ratio(t.cpuPerRequest, o.cpuPerRequest) + " less")
    return ["ours_\(rate.key)": rate.ours, "theirs_\(rate.key)": rate.theirs,
            "ours_cpu_us": o.cpuPerRequest * 1e6, "theirs_cpu_us": t.cpuPerRequest * 1e6,
            "ours_kernel_us": o.kernelPerRequest * 1e6, "theirs_kernel_us": t.kernelPerRequest * 1e6]
}

say("FreeTase2 server vs libiec61850 1.6.1 MMS server, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(seconds) s per run"
      + (rounds > 1 ? ", read figures the median of \(rounds) rounds taken in turn" : ""))
say("  " + "".padding(toLength: 60, withPad: " ", startingAt: 0) + "ours".padding(toLength: 22, withPad: " ", startingAt: 0)
      + "libiec61850".padding(toLength: 22, withPad: " ", startingAt: 0) + "ours/theirs")

// MARK: Single reads and list reads

var single: [[String: Any]] = []
var memory: [[String: Any]] = []
for n in sizes where scenarios.contains("single") || scenarios.contains("list") {
    let ours = try startOurs(n)
    let theirs = try startTheirs(n)
    defer { ours.child.stop(); theirs.child.stop() }
    say("N = \(n) points (startup: ours \(String(format: "%.2f", ours.startup)) s, libiec61850 \(String(format: "%.2f", theirs.startup)) s)")
    var entry: [String: Any] = ["points": n]
    if scenarios.contains("single") {
        for (label, inFlight) in [("one at a time", 1), ("pipelined", 0)] {
            let (o, t) = try await paired({ try await native(ours, .single(ours.names), inFlight: inFlight) },
                                          { try await native(theirs, .single(theirs.names), inFlight: inFlight) })
            row("single reads, native client \(label), req/s", fmt(o.requestsPerSecond), fmt(t.requestsPerSecond), ratio(o.requestsPerSecond, t.requestsPerSecond))
            entry["native_\(inFlight == 1 ? "sequential" : "pipelined")"] = cpuRow(o, t, rate: ("req_s", o.requestsPerSecond, t.requestsPerSecond))
        }
        let (o, t) = try await paired({ try await libiecClient(ours, mode: "single") }, { try await libiecClient(theirs, mode: "single") })
        row("single reads, libiec61850 client, req/s", fmt(o.requestsPerSecond), fmt(t.requestsPerSecond), ratio(o.requestsPerSecond, t.requestsPerSecond))
        entry["libiec61850_client"] = cpuRow(o, t, rate: ("req_s", o.requestsPerSecond, t.requestsPerSecond))
    }
    if scenarios.contains("list") && n == sizes.first(where: { $0 >= 1000 }) {
        var l: [String: Any] = [:]
        for (label, key) in [("native one at a time", "native"), ("native pipelined", "native_pipelined"),
                             ("libiec61850 client", "libiec61850_client")] {
            func run(_ s: Server) async throws -> Figure {
                switch key {
                case "native": try await native(s, .list(s.list), inFlight: 1)
                case "native_pipelined": try await native(s, .list(s.list), inFlight: 0)
                default: try await libiecClient(s, mode: "list")
                }
            }
            let (o, t) = try await paired({ try await run(ours) }, { try await run(theirs) })
            row("1,000-value list reads, \(label), values/s", fmt(o.perSecond), fmt(t.perSecond), ratio(o.perSecond, t.perSecond))
            l[key] = cpuRow(o, t, rate: ("values_s", o.perSecond, t.perSecond))
        }
        results["list_reads"] = l
    }
    let (ro, rt) = (procStatus(ours.child.pid, "VmRSS"), procStatus(theirs.child.pid, "VmRSS"))
    row("RSS after the runs", mb(ro), mb(rt), ratio(Double(ro), Double(rt)))
    memory.append(["points": n, "ours_rss": ro, "theirs_rss": rt, "ours_startup_s": ours.startup, "theirs_startup_s": theirs.startup])
    single.append(entry)
}
results["single_reads"] = single
results["memory"] = memory

// MARK: RBE

/// Reserves a transfer set and enables it on `dataSet`: RBE on object change, BufferTime 0.
func enableRBE(_ a: MMSAssociation, dataSet: String, integrity: Int32 = 0) async throws {
    let reserved = try await a.read(.domainSpecific(domain: Model.icc, item: "Next_DSTransfer_Set"))
    guard let ts = TASE2Names.objectName(from: reserved) else { throw BenchmarkError("Next_DSTransfer_Set answered \(reserved)") }
    var d = DSTransferSet()
    d.dataSetName = .domainSpecific(domain: Model.icc, item: dataSet)
    d.rbe = true
    d.bufferTime = 0
    d.integrityCheck = integrity
    d.conditions = integrity > 0 ? [.objectChange, .integrityTimeOut] : [.objectChange]
    d.status = true
    try await a.write(ts, d.data(.v2000))
}

if scenarios.contains("rbe") {
    say("RBE: one association, a transfer set over \(Model.rbePoints) points, BufferTime 0 (ours only: libiec61850's MMS server has no TASE.2 transfer sets)")
    let ours = try startOurs(max(Model.rbePoints, 1000))
    defer { ours.child.stop() }
    let a = try await ReadLoad.connect(ours.port)
    try await enableRBE(a, dataSet: Model.rbeDataSet)
    let counter = RBECounter()
    let reader = Task {
        for await r in a.informationReports {
            let now = stampMicros()
            counter.received(r.results.lazy.compactMap { if case .success(.floatingPoint(.single(let v))) = $0 { v } else { nil } }, at: now)
        }
    }
    var steps: [[String: Any]] = []
    var knee: Double?
    say("  offered changes/s   values sent/s   reports/s   p50 change→wire   p99   server CPU")
    for rate in quick ? [10_000.0, 100_000, 1_000_000] : [10_000.0, 100_000, 500_000, 1_000_000, 2_000_000, 4_000_000] {
        ours.child.send("rbe \(Int(rate))")
        try await Task.sleep(nanoseconds: 500_000_000)
        counter.reset()
        let cpu0 = cpuSeconds(ours.child.pid)
        let t0 = monotonic()
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        let dt = monotonic() - t0
        let cpu = (cpuSeconds(ours.child.pid) - cpu0) / dt
        let (values, reports, p50, p99) = counter.snapshot()
        say("  " + fmt(rate).padding(toLength: 20, withPad: " ", startingAt: 0) + fmt(Double(values) / dt).padding(toLength: 16, withPad: " ", startingAt: 0)
              + fmt(Double(reports) / dt).padding(toLength: 12, withPad: " ", startingAt: 0)
              + String(format: "%.2f ms", p50 / 1000).padding(toLength: 18, withPad: " ", startingAt: 0)
              + String(format: "%.2f ms", p99 / 1000).padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: "%.0f%%", cpu * 100))
        steps.append(["offered_changes_s": rate, "values_s": Double(values) / dt, "reports_s": Double(reports) / dt,
                      "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "server_cpu_cores": cpu])
        if knee == nil && cpu >= 0.95 { knee = rate }
    }
    ours.child.send("rbe 0")
    say("  knee (server at one core): " + (knee.map { fmt($0) + " changes/s" } ?? "not reached"))
    results["rbe"] = ["steps": steps, "knee_changes_s": knee as Any]
    reader.cancel()
    try? await a.conclude()
}

// MARK: RBE through TASE2Client

// Not in the default run: the same server and hosting program, read by the product's client
// (`TASE2Client`: names matched to the data set's members by their octets, points typed from
// BER) instead of the MMS-level reader above, to show what that client costs per value. Its
// data set is one it defines, so it is smaller: 1,990 points and the 3 specials fit the bilateral
// table's 2,000 members and one 65,000-octet define request.
if scenarios.contains("rbe-client") {
    let points = 1_990
    say("RBE through TASE2Client: a transfer set over \(points) points it defines, changed in turn, BufferTime 0")
    let ours = try startOurs(max(Model.rbePoints, 1000))
    defer { ours.child.stop() }
    var cfg = MMSClient.Configuration(host: "127.0.0.1", port: ours.port)
    cfg.local.apTitle = [1, 1, 1, 999]
    cfg.local.aeQualifier = 12
    var logger = Logger(label: "bench.tase2client")
    logger.logLevel = .error
    let c = try await TASE2Client.connect(cfg, logger: logger)
    let runner = Task { await c.run() }
    let ts = try await c.startTransfer(dataSet: "DS_RBE_CLIENT", points: (0..<points).map { .domainSpecific(domain: Model.icc, item: "P\($0)") }) { d in
        d.rbe = true
        d.bufferTime = 0
        d.conditions = [.objectChange]
    }
    let counter = RBECounter()
    let reader = Task {
        for await r in c.transferReports {
            let now = stampMicros()
            counter.received(r.points.lazy.compactMap { $0.value?.real }, at: now)
        }
    }
    var steps: [[String: Any]] = []
    say("  offered changes/s   values received/s   p50 change→reader   p99       server CPU   client CPU per value")
    for rate in quick ? [10_000.0, 1_000_000] : [10_000.0, 100_000, 1_000_000, 2_000_000] {
        ours.child.send("rbe \(Int(rate)) \(points)")
        try await Task.sleep(nanoseconds: 500_000_000)
        counter.reset()
        let s0 = cpuSeconds(ours.child.pid), c0 = cpuSeconds(getpid())
        let t0 = monotonic()
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        let dt = monotonic() - t0
        let server = (cpuSeconds(ours.child.pid) - s0) / dt
        let client = cpuSeconds(getpid()) - c0
        let (values, _, p50, p99) = counter.snapshot()
        let perValue = values > 0 ? client / Double(values) * 1e9 : 0
        say("  " + fmt(rate).padding(toLength: 20, withPad: " ", startingAt: 0) + fmt(Double(values) / dt).padding(toLength: 20, withPad: " ", startingAt: 0)
              + String(format: "%.2f ms", p50 / 1000).padding(toLength: 20, withPad: " ", startingAt: 0)
              + String(format: "%.2f ms", p99 / 1000).padding(toLength: 10, withPad: " ", startingAt: 0)
              + String(format: "%.0f%%", server * 100).padding(toLength: 13, withPad: " ", startingAt: 0)
              + String(format: "%.0f ns (%.0f%% of a core)", perValue, client / dt * 100))
        steps.append(["offered_changes_s": rate, "values_s": Double(values) / dt, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000,
                      "server_cpu_cores": server, "client_cpu_ns_per_value": perValue])
    }
    ours.child.send("rbe 0")
    results["rbe_client"] = ["points": points, "steps": steps]
    try? await c.stopTransfer(ts)
    reader.cancel()
    try? await c.close()
    await runner.value
}

// MARK: Scale

if scenarios.contains("scale") {
    let n = quick ? 10_000 : 100_000
    let associations = quick ? 20 : 100
    say("Scale: \(n) points, \(associations) associations each with an enabled transfer set (libiec61850: the same associations, no transfer sets)")
    let ours = try startOurs(n)
    let theirs = try startTheirs(n)
    defer { ours.child.stop(); theirs.child.stop() }
    let before = (procStatus(ours.child.pid, "VmRSS"), procStatus(theirs.child.pid, "VmRSS"))
    var held: [MMSAssociation] = []
    var counts = (0, 0)
    do {
        for _ in 0..<associations {
            let a = try await ReadLoad.connect(ours.port)
            try await enableRBE(a, dataSet: Model.list, integrity: 60)
            held.append(a)
            counts.0 += 1
        }
    } catch {
        say("  ours: stopped after \(counts.0) associations: \(error)")
    }
    do {
        for _ in 0..<associations {
            held.append(try await ReadLoad.connect(theirs.port))
            counts.1 += 1
        }
    } catch {
        say("  libiec61850: stopped after \(counts.1) associations: \(error)")
    }
    let after = (procStatus(ours.child.pid, "VmRSS"), procStatus(theirs.child.pid, "VmRSS"))
    let peak = (procStatus(ours.child.pid, "VmHWM"), procStatus(theirs.child.pid, "VmHWM"))
    let threads = (procStatus(ours.child.pid, "Threads"), procStatus(theirs.child.pid, "Threads"))
    row("startup (load the model, listen)", String(format: "%.2f s", ours.startup), String(format: "%.2f s", theirs.startup), ratio(theirs.startup, ours.startup) + " faster")
    row("RSS at rest, before associations", mb(before.0), mb(before.1), ratio(Double(before.0), Double(before.1)))
    row("RSS with the associations (ours \(counts.0), libiec61850 \(counts.1))", mb(after.0), mb(after.1), ratio(Double(after.0), Double(after.1)))
    row("peak RSS", mb(peak.0), mb(peak.1), ratio(Double(peak.0), Double(peak.1)))
    row("per association", "\((after.0 - before.0) / max(counts.0, 1) / 1024) kB", "\((after.1 - before.1) / max(counts.1, 1) / 1024) kB", "")
    row("per point at rest (whole process / points)", "\(before.0 / n) B", "\(before.1 / n) B", "")
    row("threads", "\(threads.0)", "\(threads.1)", "")
    results["scale"] = [
        "points": n, "associations": associations, "ours_associations": counts.0, "theirs_associations": counts.1,
        "ours": ["startup_s": ours.startup, "rss_rest": before.0, "rss_associations": after.0, "rss_peak": peak.0, "threads": threads.0],
        "theirs": ["startup_s": theirs.startup, "rss_rest": before.1, "rss_associations": after.1, "rss_peak": peak.1, "threads": threads.1],
    ]
    for a in held { try? await a.conclude() }
}

let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
try data.write(to: URL(fileURLWithPath: jsonPath))
say("figures written to \(jsonPath)")
