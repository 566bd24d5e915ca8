import Foundation

/// Certificates made for this run by `scripts/test-pki.sh` (openssl): a CA, our VCC, partners
/// A and B, A's name from another CA, an expired and a revoked certificate, and the CRL.
public enum TestPKI {
    public static var directory: URL { made.directory }

    /// The folder, and what went wrong making it (openssl missing, …).
    static let made: (directory: URL, problem: String?) = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("freetase2-pki-\(getpid())")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Interop.repoRoot.appendingPathComponent("scripts/test-pki.sh").path, dir.path]
        let err = Pipe()
        p.standardError = err
        do { try p.run() } catch { return (dir, "cannot run scripts/test-pki.sh: \(error)") }
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (dir, p.terminationStatus == 0 ? nil : "scripts/test-pki.sh failed (is openssl installed? scripts/setup-peers.sh installs it): \(message)")
    }()

    /// Fails (never skips) when the certificates could not be made.
    public static func require() throws {
        if let problem = made.problem { throw PeerError(problem) }
    }

    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    public static func fingerprint(_ name: String) -> String {
        ((try? String(contentsOfFile: path("\(name).sha256"), encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
