import Foundation

/// A server or client process of the benchmark, with its stdout read line by line.
final class Child: @unchecked Sendable {
    let process = Process()
    let stdinPipe = Pipe()
    let stdoutPipe = Pipe()
    private var buffer = Data()

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = FileHandle.standardError
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// The next line the child prints (blocking), nil at EOF.
    func readLine() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer = Data(buffer[(nl + 1)...])
                return line
            }
            let chunk = stdoutPipe.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }

    /// The next line that is a JSON object, parsed.
    func readJSON() throws -> [String: Any] {
        while let l = readLine() {
            guard l.hasPrefix("{"), let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any] else { continue }
            return o
        }
        throw BenchmarkError("\(process.executableURL?.lastPathComponent ?? "child") ended before it printed its result")
    }

    func send(_ line: String) {
        stdinPipe.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Closes its stdin (our servers end on EOF), then SIGTERM, and waits.
    func stop() {
        try? stdinPipe.fileHandleForWriting.close()
        if process.isRunning { kill(pid, SIGTERM) }
        process.waitUntilExit()
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// CPU time (user + system) of a process in seconds, from /proc/PID/stat.
func cpuSeconds(_ pid: Int32) -> Double { cpuTimes(pid).total }

/// The process's CPU in user and in kernel mode: in the kernel on loopback, a server also pays
/// for delivering what it writes into the client's socket.
func cpuTimes(_ pid: Int32) -> (user: Double, kernel: Double, total: Double) {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = s.lastIndex(of: ")") else { return (0, 0, 0) }
    let fields = s[s.index(after: close)...].split(separator: " ")
    // After the name: state(0) ppid(1) … utime(11) stime(12), in clock ticks.
    guard fields.count > 12, let u = Double(fields[11]), let k = Double(fields[12]) else { return (0, 0, 0) }
    let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
    return (u / tick, k / tick, (u + k) / tick)
}

/// A field of /proc/PID/status: VmRSS and VmHWM in bytes, Threads as a count.
func procStatus(_ pid: Int32, _ key: String) -> Int {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix(key + ":") {
        let n = Int(line.dropFirst(key.count + 1).filter(\.isNumber)) ?? 0
        return line.hasSuffix("kB") ? n * 1024 : n
    }
    return 0
}

func monotonic() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Prints a line and flushes it (the figures are followed live, also through a pipe).
func say(_ s: String) {
    print(s)
    fflush(nil)
}
