import Foundation

/// Certificates made for this run by `scripts/test-pki.sh` (openssl): a CA, our VCC, partners
/// A and B, A's name from another CA, an expired and a revoked certificate, and the CRL.
public enum TestPKI {
    public static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("freetase2-pki-\(getpid())")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Interop.repoRoot.appendingPathComponent("scripts/test-pki.sh").path, dir.path]
        try? p.run()
        p.waitUntilExit()
        return dir
    }()

    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    public static func fingerprint(_ name: String) -> String {
        ((try? String(contentsOfFile: path("\(name).sha256"), encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
