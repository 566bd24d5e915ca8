// Loading a large VCC: time, peak RSS and RSS at rest for N points read from a CSV (the form a
// utility exports from its SCADA database), through the same path `tase2 serve --config` takes
// (ConfigLoader, validation, TASE2Server). Build in release:
// `swift run -c release --package-path Benchmarks LoadBenchmark [points]`.
import Glibc
import Logging
import TASE2

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// A field of /proc/self/status in bytes (VmRSS, VmHWM).
func status(_ key: String) -> Int {
    guard let f = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let s = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.hasPrefix(key + ":") {
            let digits = s.dropFirst(key.count + 1).filter(\.isNumber)
            return (Int(String(digits)) ?? 0) * 1024
        }
    }
    return 0
}

/// Resets VmHWM to the current RSS (Linux: writing 5 to clear_refs), so the peak measured
/// is the load's own, not that of writing the CSV.
func resetPeak() {
    guard let f = fopen("/proc/self/clear_refs", "w") else { return }
    fputs("5", f)
    fclose(f)
}

func mb(_ bytes: Int) -> String { "\(Double(bytes * 10 / 1_048_576) / 10) MB" }

let n = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
let dir = "/tmp/freetase2-load-\(getpid())"
mkdir(dir, 0o755)
defer {
    unlink(dir + "/points.csv")
    unlink(dir + "/vcc.yaml")
    rmdir(dir)
}

// The CSV: the point types in proportion to a transmission utility's export (mostly analogs
// and breaker states), two ICCs and the VCC.
do {
    let csv = fopen(dir + "/points.csv", "w")!
    fputs("name,type,scope,value,quality,writable\n", csv)
    let types = ["RealQTimeTag", "RealQTimeTag", "RealQ", "StateQTimeTag", "StateQ", "DiscreteQTimeTag", "RealQTimeTagExtended", "Real"]
    for i in 0..<n {
        let t = types[i % types.count]
        let value = t.hasPrefix("State") ? "on" : t.hasPrefix("Discrete") ? "\(i % 1000)" : "\(Double(i % 10_000) / 8)"
        let scope = i % 3 == 0 ? "VCC" : i % 3 == 1 ? "ICC1" : "ICC2"
        let quality = t == "Real" ? "" : "valid"
        fputs("Point_\(i),\(t),\(scope),\(value),\(quality),\(i % 10 == 0)\n", csv)
    }
    fclose(csv)
    let yaml = """
        vcc:
          name: LoadBenchmark
          port: 0
        bilateral_tables:
          - id: BLT_1
            icc: ICC1
            partner: { ap_title: 1.1.1.999 }
          - id: BLT_2
            icc: ICC2
            partner: { ap_title: 1.1.1.998 }
        points_csv: points.csv

        """
    let f = fopen(dir + "/vcc.yaml", "w")!
    fputs(yaml, f)
    fclose(f)
}

let baseline = status("VmRSS")
resetPeak()
/// Loads and builds in a function of its own so that the configuration is freed when it
/// returns, as in `tase2 serve`: what stays is what the server holds.
func load() -> (TASE2Server, Double, Double) {
    var logger = Logger(label: "load")
    logger.logLevel = .error
    let t0 = now()
    let config: TASE2Configuration
    do {
        config = try ConfigLoader.load(file: dir + "/vcc.yaml")
    } catch {
        print("LoadBenchmark: \(error)")
        exit(1)
    }
    let t1 = now()
    let server: TASE2Server
    do {
        server = try TASE2Server(configuration: config, logger: logger)
    } catch {
        print("LoadBenchmark: \(error)")
        exit(1)
    }
    return (server, t0, t1)
}
let (server, t0, t1) = load()
let t2 = now()
let count = server.handle("Point_\(n - 1)", in: (n - 1) % 3 == 0 ? .vcc : .icc((n - 1) % 3 == 1 ? "ICC1" : "ICC2")) == nil ? 0 : n
let atRest = status("VmRSS")
let peak = status("VmHWM")

print("Loading \(count) points from CSV (ConfigLoader + validation + TASE2Server)")
print("  parse and validate   \(Int((t1 - t0) * 1000)) ms")
print("  build the VCC        \(Int((t2 - t1) * 1000)) ms")
print("  total                \(Int((t2 - t0) * 1000)) ms        target < 1000 ms")
print("  peak RSS             \(mb(peak))   (\(mb(peak - baseline)) above the process before loading; target < 100 MB)")
print("  RSS at rest          \(mb(atRest))   (\(mb(atRest - baseline)) above it: \((atRest - baseline) / max(count, 1)) bytes per point; target < 300)")
withExtendedLifetime(server) {}
