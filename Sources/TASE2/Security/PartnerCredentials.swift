/// What a partner must prove, per bilateral table (IEC 62351-4): the certificate it presents
/// (pinned by SHA-256 fingerprint, or by subject and issuer common names) and the ACSE password
/// (mechanism 2.2.3.1). A partner matching another table's AP-title with its own certificate is
/// refused: the AP-title selects the table, the credentials must then be that table's.
public struct PartnerCredentials: Hashable, Sendable {
    /// Fingerprints (`AB:CD:…`) of the certificates this partner may present; any one matches.
    public var certificateSHA256: [String] = []
    /// The common name the certificate's subject must carry.
    public var certificateSubject: String?
    /// The common name of its issuer (with `certificateSubject`).
    public var certificateIssuer: String?
    /// The ACSE password the AARQ must carry.
    public var password: String?

    public init(certificateSHA256: [String] = [], certificateSubject: String? = nil, certificateIssuer: String? = nil, password: String? = nil) {
        self.certificateSHA256 = certificateSHA256
        self.certificateSubject = certificateSubject
        self.certificateIssuer = certificateIssuer
        self.password = password
    }

    public var requiresCertificate: Bool { !certificateSHA256.isEmpty || certificateSubject != nil }

    /// Why `certificate` is not this partner's (nil: it is).
    public func mismatch(_ certificate: X509Certificate) -> String? {
        if !certificateSHA256.isEmpty, !certificateSHA256.contains(certificate.sha256Fingerprint) {
            return "certificate SHA-256 \(certificate.sha256Fingerprint) is not one the table names"
        }
        if let s = certificateSubject, !certificate.subjectCommonNames.contains(s) {
            return "certificate subject CN \(certificate.subjectCommonNames.joined(separator: ",")) is not \(s)"
        }
        if let i = certificateIssuer, !certificate.issuerCommonNames.contains(i) {
            return "certificate issuer CN \(certificate.issuerCommonNames.joined(separator: ",")) is not \(i)"
        }
        return nil
    }
}

/// Secure mode (IEC 62351-3 profile over RFC 1006, port 3782): our certificate and key, the
/// roots partners' certificates must chain to, and CRLs. Mutual authentication is the default.
public struct TLSSettings: Hashable, Sendable {
    /// PEM file of our certificate chain, leaf first.
    public var certificate: String
    /// PEM file of its private key.
    public var key: String
    /// PEM files of the trust roots for partners' certificates.
    public var trustRoots: [String] = []
    /// CRL files (PEM or DER), checked on every association; reloaded on SIGHUP.
    public var crls: [String] = []
    /// Refuse partners without a certificate (the 62351-3 default; false only for testing).
    public var requireClientCertificate = true
    /// Days before our own certificate expires from which a warning is logged at start.
    public var expiryWarningDays = 30
    /// A plain-TCP port served beside the secure one, only when configured (partners not yet
    /// migrated); its associations carry no certificate, so tables that bind one refuse them.
    public var plainPort: Int?

    public init(certificate: String, key: String, trustRoots: [String] = [], crls: [String] = []) {
        self.certificate = certificate
        self.key = key
        self.trustRoots = trustRoots
        self.crls = crls
    }
}
