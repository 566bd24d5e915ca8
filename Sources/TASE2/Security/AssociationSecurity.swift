import Foundation
import MMS
import OSI
import Synchronization

/// The CRLs of secure mode, replaced whole on reload (SIGHUP, or a changed file): associations
/// already up are not touched; each new association is checked against the lists of the moment.
public final class RevocationLists: Sendable {
    public let files: [String]
    let lists = Mutex<[CertificateRevocationList]>([])
    /// The files' modification times and sizes when last loaded.
    let stamps = Mutex<[String]>([])

    public init(files: [String]) { self.files = files }

    /// Reads every file again; on an error the lists in force stay as they were.
    public func reload() throws(ConfigurationError) {
        var loaded: [CertificateRevocationList] = []
        let seen = currentStamps()
        for f in files {
            do {
                loaded += try CertificateRevocationList.load(file: f)
            } catch {
                stamps.withLock { $0 = seen }  // a bad file is reported once, not at every check
                throw ConfigurationError(file: f, field: "vcc.tls.crls", "not a CRL (PEM or DER): \(error)")
            }
        }
        lists.withLock { $0 = loaded }
        stamps.withLock { $0 = seen }
    }

    /// Reloads when a file changed (modification time or size) since the last load; true when it did.
    public func reloadIfChanged() throws(ConfigurationError) -> Bool {
        guard currentStamps() != stamps.withLock({ $0 }) else { return false }
        try reload()
        return true
    }

    func currentStamps() -> [String] {
        files.map { f in
            let a = try? FileManager.default.attributesOfItem(atPath: f)
            return "\((a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1) \((a?[.size] as? NSNumber)?.intValue ?? -1)"
        }
    }

    public var count: Int { lists.withLock { $0.count } }

    public func revokes(_ c: X509Certificate) -> Bool { lists.withLock { $0.contains { $0.revokes(c) } } }
}

extension VirtualControlCentre {
    /// Why an association must be refused on security grounds (nil: it may go on), each refusal
    /// recorded once as a security event: a revoked or expired certificate, a certificate that is
    /// not the one the table its AP-title selects names, a missing or wrong ACSE password.
    func securityRefusal(_ r: AssociationRequest, table: BilateralTable?) -> AARE.Diagnostic? {
        let peer = r.peerAddress ?? "?"
        let id = table?.id
        func refuse(_ kind: SecurityEvent.Kind, _ reason: String, _ d: AARE.Diagnostic) -> AARE.Diagnostic {
            securityLog.record(SecurityEvent(kind, peer: peer, reason: reason + "; AARE rejected (\(d))", bilateralTable: id))
            return d
        }
        var certificate: X509Certificate?
        if let der = r.peerCertificate {
            guard let c = try? X509Certificate(der: der) else {
                return refuse(.certificateNotTrusted, "the partner's certificate cannot be read", .authenticationFailure)
            }
            certificate = c
            if revocation.revokes(c) {
                return refuse(.certificateRevoked, "certificate serial \(c.serialNumber.map { String($0, radix: 16) }.joined()) of CN \(c.subjectCommonNames.joined(separator: ",")) is revoked", .authenticationFailure)
            }
            let now = clock.wall()
            if now > c.notAfter || now < c.notBefore {
                return refuse(.certificateExpired, "certificate of CN \(c.subjectCommonNames.joined(separator: ",")) is outside its validity", .authenticationFailure)
            }
        }
        guard let table else { return nil }
        let credentials = table.config.credentials
        if credentials.requiresCertificate {
            guard let certificate else {
                return refuse(.certificateRequired, "the table requires a certificate and the partner presented none", .authenticationRequired)
            }
            if let why = credentials.mismatch(certificate) {
                return refuse(.certificateMismatch, why, .authenticationFailure)
            }
        }
        if let expected = credentials.password {
            if let m = r.mechanismName, m != AuthenticationValue.passwordMechanism {
                return refuse(.authenticationFailed, "ACSE mechanism \(m) is not password (2.2.3.1)", .authenticationMechanismNotRecognized)
            }
            guard let given = r.password else {
                return refuse(.authenticationRequired, "the table requires an ACSE password and the AARQ carries none", .authenticationRequired)
            }
            guard Self.constantTimeEqual(Array(given.utf8), Array(expected.utf8)) else {
                return refuse(.authenticationFailed, "wrong ACSE password", .authenticationFailure)
            }
        }
        return nil
    }

    /// Compares without stopping at the first difference (no timing hint of how much matched).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }
}
