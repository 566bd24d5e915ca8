import Foundation

/// Where the interop peers live and whether this run must use them.
public enum Interop {
    /// Interop tests run when the README test command asks for them (FREETASE2_INTEROP=1) and always in CI.
    public static var requested: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["FREETASE2_INTEROP"] == "1" || env["CI"] == "true"
    }

    /// The repository root (the folder holding Package.swift).
    public static var repoRoot: URL {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir
    }

    public static var python: String {
        if let p = ProcessInfo.processInfo.environment["FREETASE2_PYTHON"] { return p }
        return repoRoot.appendingPathComponent(".venv/bin/python").path
    }

    public static func script(_ name: String) -> String { repoRoot.appendingPathComponent("interop/\(name)").path }

    /// Fails (never skips) when the peers are not installed.
    public static func requirePeers() throws {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw PeerError("interop peers missing: no Python at \(python); run scripts/setup-peers.sh (CI runs it via scripts/test-all.sh)")
        }
    }
}

public struct PeerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// A foreign peer run as a child process. Its stdout and stderr go to files (pipes proved
/// unreliable at end of file here); `lines` polls the stdout file and yields each complete line.
public final class PeerProcess: @unchecked Sendable {
    public let process = Process()
    let outURL: URL
    let errURL: URL
    public let lines: AsyncStream<String>

    public init(_ executable: String, _ arguments: [String]) throws {
        let tmp = FileManager.default.temporaryDirectory
        let tag = "freetase2-peer-\(getpid())-\(UInt64.random(in: 0..<UInt64.max))"
        outURL = tmp.appendingPathComponent(tag + ".out")
        errURL = tmp.appendingPathComponent(tag + ".err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        env["PYTHONUNBUFFERED"] = "1"
        process.environment = env
        try process.run()
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        lines = stream
        let url = outURL
        let proc = process
        Task.detached {
            var consumed = 0
            var partial = Data()
            while true {
                let running = proc.isRunning
                if let data = try? Data(contentsOf: url), data.count > consumed {
                    partial.append(data[consumed...])
                    consumed = data.count
                    while let nl = partial.firstIndex(of: 0x0A) {
                        continuation.yield(String(decoding: partial[partial.startIndex..<nl], as: UTF8.self))
                        partial = Data(partial[(nl + 1)...])
                    }
                }
                if !running {
                    if !partial.isEmpty { continuation.yield(String(decoding: partial, as: UTF8.self)) }
                    continuation.finish()
                    return
                }
                try? await Task.sleep(for: .milliseconds(30))
            }
        }
    }

    public var stderr: String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }
    public var stdout: String { (try? String(contentsOf: outURL, encoding: .utf8)) ?? "" }

    public func terminate() {
        if process.isRunning { process.terminate() }
    }

    /// Waits for the process to exit (at most `seconds`, then kills it) and returns its status.
    public func wait(seconds: Double) async -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            process.terminate()
            try? await Task.sleep(for: .milliseconds(200))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            return -1
        }
        return process.terminationStatus
    }

    deinit {
        // Nothing may outlive the test run: a peer that did not stop on request is killed.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
}

/// One JSON-lines record of a peer script.
public func jsonObject(_ line: String) -> [String: Any]? {
    guard let d = line.data(using: .utf8), let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return nil }
    return o
}

extension PeerProcess {
    /// Starts a peer server script that prints `{"event": "listening", "port": N}` and returns it
    /// with its port; fails when it never says so. `port` 0: a free one.
    public static func startServer(_ script: String, _ arguments: [String] = [], port: Int = 0) async throws -> (PeerProcess, Int) {
        let server = try PeerProcess(Interop.python, [Interop.script(script), "\(port)"] + arguments)
        for await line in server.lines {
            if let o = jsonObject(line), o["event"] as? String == "listening", let p = o["port"] as? Int { return (server, p) }
        }
        server.terminate()
        throw PeerError("\(script) did not start: \(server.stderr)")
    }
}

/// The `tase2` executable of this build: beside the test bundle (whatever the build folder or
/// configuration), else in `.build/debug`. `swift build --build-tests` and `swift test` build it.
public enum Tase2Binary {
    public static func path() throws -> String {
        let fm = FileManager.default
        var candidates: [String] = []
        if let arg0 = CommandLine.arguments.first {
            var dir = URL(fileURLWithPath: arg0).deletingLastPathComponent()
            // Inside an .xctest bundle on Darwin the executable sits in Contents/MacOS.
            for _ in 0..<4 {
                candidates.append(dir.appendingPathComponent("tase2").path)
                dir.deleteLastPathComponent()
            }
        }
        candidates.append(Interop.repoRoot.appendingPathComponent(".build/debug/tase2").path)
        if let found = candidates.first(where: { fm.isExecutableFile(atPath: $0) }) { return found }
        throw PeerError("no tase2 executable beside the tests (looked in \(candidates.joined(separator: ", "))); build it with `swift build`")
    }
}
