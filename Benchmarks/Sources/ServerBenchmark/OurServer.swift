import Foundation
import Logging
import MMS
import TASE2

/// The benchmark's model, the same on both servers: N float points in one domain (ours: `Real`
/// points of ICC1, named P0…; libiec61850: FLOAT32 attributes of one logical device), a named
/// variable list of the first 1,000, and for RBE a data set of the first 10,000 with the
/// transfer-set special variables in front.
enum Model {
    static let icc = "ICC1"
    static let list = "DS1000"
    static let rbeDataSet = "DS_RBE"
    static let rbePoints = 10_000

    static func configuration(points n: Int, listSize: Int) -> TASE2Configuration {
        var c = TASE2Configuration()
        c.vcc.host = "127.0.0.1"
        c.vcc.port = 0
        c.vcc.name = "Bench"
        c.bilateralTables = [BilateralTableConfig(id: "BLT_BENCH", icc: icc, partnerAPTitle: [1, 1, 1, 999], partnerAEQualifier: 12, transferSets: 400)]
        c.points.reserveCapacity(n)
        for i in 0..<n { c.points.append(PointConfig(name: "P\(i)", type: .real, scope: .icc(icc), initial: .real(Float(i) * 0.5))) }
        c.dataSets.append(DataSetConfig(name: list, scope: .icc(icc), members: (0..<min(listSize, n)).map { .domainSpecific(domain: icc, item: "P\($0)") }))
        let specials = ["Transfer_Set_Name", "Transfer_Set_Time_Stamp", "DSConditions_Detected"].map { ObjectName.domainSpecific(domain: icc, item: $0) }
        c.dataSets.append(DataSetConfig(name: rbeDataSet, scope: .icc(icc),
                                        members: specials + (0..<min(rbePoints, n)).map { .domainSpecific(domain: icc, item: "P\($0)") }))
        return c
    }
}

/// Microseconds on the monotonic clock, modulo 2^24 so that the value survives a float32 exactly:
/// RBE latency is measured by writing this time into the changed point and reading it back in the
/// client (both processes share CLOCK_MONOTONIC).
func stampMicros() -> Float {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    let us = UInt64(t.tv_sec) * 1_000_000 + UInt64(t.tv_nsec) / 1000
    return Float(us & 0xFF_FFFF)
}

/// `ServerBenchmark serve N LIST`: our server as a process of its own, so that its CPU time and
/// memory are measured apart from the clients. It prints one JSON line when ready and then takes
/// commands on stdin: `rbe RATE [N]` changes RATE points per second (of the RBE data set's
/// points, or its first N, in turn, stamped with `stampMicros`), `rbe 0` stops; EOF ends it.
func serveOurs(points: Int, listSize: Int) async throws {
    let t0 = Date()
    var logger = Logger(label: "bench.server")
    logger.logLevel = .error
    let server = try TASE2Server(configuration: Model.configuration(points: points, listSize: listSize), logger: logger)
    let handles = (0..<min(points, Model.rbePoints)).map { server.handle("P\($0)", in: .icc(Model.icc))! }
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let port = try await server.localAddress().port ?? 0
        print("{\"ready\": true, \"port\": \(port), \"points\": \(points), \"startup_s\": \(Date().timeIntervalSince(t0))}")
        fflush(nil)
        let rate = RateBox()
        group.addTask { await changeLoop(server, handles, rate) }
        // Commands from stdin, read on a thread of their own (blocking reads).
        let lines = AsyncStream<String> { c in
            Thread.detachNewThread {
                while let l = readLine() { c.yield(l) }
                c.finish()
            }
        }
        for await l in lines {
            let words = l.split(separator: " ")
            if words.first == "rbe", (2...3).contains(words.count), let r = Double(words[1]) {
                rate.set(r, over: words.count == 3 ? Int(words[2]) ?? Int.max : Int.max)
            }
        }
        rate.stop()
        server.shutdown()
        try await group.waitForAll()
    }
}

/// The rate the hosting program changes points at (0: idle), over how many of the RBE data set's
/// points (the first ones), and whether to stop.
final class RateBox: @unchecked Sendable {
    private let lock = NSLock()
    private var rate = 0.0
    private var points = Int.max
    private var stopped = false
    func set(_ r: Double, over n: Int = Int.max) { lock.withLock { rate = r; points = max(1, n) } }
    func stop() { lock.withLock { stopped = true } }
    var value: (rate: Double, points: Int, stopped: Bool) { lock.withLock { (rate, points, stopped) } }
}

/// The hosting program: every millisecond, changes as many points as the rate says are due.
func changeLoop(_ server: TASE2Server, _ handles: [PointHandle], _ rate: RateBox) async {
    var next = 0
    var due = 0.0
    var last = Date()
    var batch: [(PointHandle, PointValue)] = []
    while true {
        let (r, points, stopped) = rate.value
        if stopped || Task.isCancelled { return }
        let n = min(points, handles.count)
        // Idle: look again every 50 ms (a busy tick would add to the CPU the read runs measure).
        try? await Task.sleep(nanoseconds: r <= 0 ? 50_000_000 : 1_000_000)
        let now = Date()
        if r <= 0 { due = 0; last = now; continue }
        due += r * now.timeIntervalSince(last)
        last = now
        let count = min(Int(due), n)
        due -= Double(count)
        if count == 0 { continue }
        batch.removeAll(keepingCapacity: true)
        let v = PointValue.real(stampMicros())
        for _ in 0..<count {
            if next >= n { next = 0 }
            batch.append((handles[next], v))
            next += 1
        }
        server.update(batch)
    }
}
