import BER
import Foundation

/// What the VCC needs of an X.509 certificate (RFC 5280), read with our own BER reader: the
/// serial number and issuer (to look it up in a CRL), the subject (to match a bilateral
/// table), the validity, and the fingerprint. Signatures are BoringSSL's business, in the
/// TLS handshake that delivered the certificate.
public struct X509Certificate: Hashable, Sendable {
    public let der: [UInt8]
    public let serialNumber: [UInt8]
    /// The issuer and subject Names, DER-encoded (compared octet by octet, as CRL issuers are).
    public let issuer: [UInt8]
    public let subject: [UInt8]
    /// The subject's and issuer's common names (CN), for `certificate_subject` and for logs.
    public let subjectCommonNames: [String]
    public let issuerCommonNames: [String]
    public let notBefore: Double
    public let notAfter: Double

    public var sha256Fingerprint: String { SHA256.fingerprint(der) }

    public init(der: [UInt8]) throws {
        self.der = der
        var serial: [UInt8] = []
        var issuer: [UInt8] = []
        var subject: [UInt8] = []
        var names: [String] = []
        var issuerNames: [String] = []
        var validity: (Double, Double) = (0, 0)
        try BERReader.withReader(der) { r in
            var cert = try r.readConstructed(.sequence, "Certificate")
            var tbs = try cert.readConstructed(.sequence, "TBSCertificate")
            _ = try tbs.readOptionalElement(.contextConstructed(0))  // version
            serial = tbs.octets(of: try tbs.readElement(.integer, "serialNumber"))
            _ = try tbs.readElement(.sequence, "signature")
            let i = try tbs.readElement(.sequence, "issuer")
            issuer = tbs.encodedBytes(of: i)
            issuerNames = try X509Name.commonNames(tbs.contents(of: i))
            var v = try tbs.readConstructed(.sequence, "validity")
            validity = (try X509Time.read(&v), try X509Time.read(&v))
            let s = try tbs.readElement(.sequence, "subject")
            subject = tbs.encodedBytes(of: s)
            names = try X509Name.commonNames(tbs.contents(of: s))
        }
        serialNumber = serial
        self.issuer = issuer
        self.subject = subject
        subjectCommonNames = names
        issuerCommonNames = issuerNames
        (notBefore, notAfter) = validity
    }

    /// The DER certificates of a PEM file (or the one DER file).
    public static func load(file path: String) throws -> [X509Certificate] {
        try PEM.blocks(file: path, label: "CERTIFICATE").map { try X509Certificate(der: $0) }
    }
}

/// A certificate revocation list (RFC 5280 §5): its issuer, its validity and the serial
/// numbers it revokes. The file is trusted local configuration, as the trust roots beside it
/// are; its signature is not checked here.
public struct CertificateRevocationList: Hashable, Sendable {
    public let issuer: [UInt8]
    public let thisUpdate: Double
    public let nextUpdate: Double?
    public let revokedSerials: Set<[UInt8]>

    public init(der: [UInt8]) throws {
        var issuer: [UInt8] = []
        var this = 0.0
        var next: Double?
        var revoked: Set<[UInt8]> = []
        try BERReader.withReader(der) { r in
            var list = try r.readConstructed(.sequence, "CertificateList")
            var tbs = try list.readConstructed(.sequence, "TBSCertList")
            _ = try tbs.readOptionalElement(.integer)  // version
            _ = try tbs.readElement(.sequence, "signature")
            issuer = tbs.encodedBytes(of: try tbs.readElement(.sequence, "issuer"))
            this = try X509Time.read(&tbs)
            if let t = try tbs.peekTag(), t == BERTag(.universal, 23) || t == BERTag(.universal, 24) { next = try X509Time.read(&tbs) }
            if let t = try tbs.peekTag(), t == .sequence {
                var entries = try tbs.readConstructed(.sequence, "revokedCertificates")
                while !entries.isAtEnd {
                    var entry = try entries.readConstructed(.sequence, "revoked certificate")
                    revoked.insert(entry.octets(of: try entry.readElement(.integer, "userCertificate")))
                }
            }
        }
        self.issuer = issuer
        thisUpdate = this
        nextUpdate = next
        revokedSerials = revoked
    }

    public static func load(file path: String) throws -> [CertificateRevocationList] {
        try PEM.blocks(file: path, label: "X509 CRL").map { try CertificateRevocationList(der: $0) }
    }

    public func revokes(_ c: X509Certificate) -> Bool { c.issuer == issuer && revokedSerials.contains(c.serialNumber) }
}

enum X509Name {
    static let commonName: OID = [2, 5, 4, 3]

    /// The CN attribute values of a Name's RDNSequence.
    static func commonNames(_ rdns: BERReader) throws -> [String] {
        var r = rdns
        var out: [String] = []
        while !r.isAtEnd {
            var set = try r.readConstructed(.set, "RelativeDistinguishedName")
            while !set.isAtEnd {
                var atv = try set.readConstructed(.sequence, "AttributeTypeAndValue")
                let type = try atv.objectIdentifier(of: try atv.readElement(.objectIdentifier, "attribute type"))
                let value = try atv.readElement()
                if type == commonName { out.append(String(decoding: atv.octets(of: value), as: UTF8.self)) }
            }
        }
        return out
    }
}

enum X509Time {
    /// UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), as seconds since 1970.
    static func read(_ r: inout BERReader) throws -> Double {
        let e = try r.readElement()
        let text = Array(String(decoding: r.octets(of: e), as: UTF8.self).utf8)
        func n(_ from: Int, _ count: Int) throws -> Int {
            guard from + count <= text.count else { throw BERError(.invalidValue("short time"), at: e.offset) }
            var v = 0
            for c in text[from..<from + count] {
                guard c >= 48, c <= 57 else { throw BERError(.invalidValue("time is not digits"), at: e.offset) }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        let year: Int
        let rest: Int
        switch e.tag {
        case BERTag(.universal, 23):
            let yy = try n(0, 2)
            year = yy >= 50 ? 1900 + yy : 2000 + yy
            rest = 2
        case BERTag(.universal, 24):
            year = try n(0, 4)
            rest = 4
        default:
            throw BERError(.unexpectedTag(expected: "UTCTime or GeneralizedTime", found: e.tag), at: e.offset)
        }
        let (month, day, hour, minute, second) = (try n(rest, 2), try n(rest + 2, 2), try n(rest + 4, 2), try n(rest + 6, 2), try n(rest + 8, 2))
        // Days from civil (H. Hinnant).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second)
    }
}

/// PEM blocks (RFC 7468) of one label, or the whole file as DER when it has none.
enum PEM {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func blocks(file path: String, label: String) throws -> [[UInt8]] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "\(path): cannot read") }
        let bytes = [UInt8](data)
        guard let text = String(bytes: bytes, encoding: .utf8), text.contains("-----BEGIN ") else { return [bytes] }
        var out: [[UInt8]] = []
        var body: String?
        for line in text.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line == "-----BEGIN \(label)-----" {
                body = ""
            } else if line == "-----END \(label)-----", let b = body {
                guard let der = Data(base64Encoded: b) else { throw Failure(description: "\(path): a \(label) block is not base64") }
                out.append([UInt8](der))
                body = nil
            } else if body != nil {
                body! += line
            }
        }
        guard !out.isEmpty else { throw Failure(description: "\(path): no \(label) in the file") }
        return out
    }
}
