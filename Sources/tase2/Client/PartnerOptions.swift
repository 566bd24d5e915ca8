import ArgumentParser
import BER
import Foundation
import Logging
import MMS
import MMSNIO
import NIOSSL
import TASE2
import TASE2TLS

/// Where the remote VCC is and who we are to it.
struct PartnerOptions: ParsableArguments {
    @Option(name: .long, help: "Host of the remote VCC.")
    var host: String = "127.0.0.1"
    @Option(name: .long, help: "TCP port of the remote VCC.")
    var port: Int = 102
    @Option(name: .long, help: "Our AP-title (the partner's bilateral table must know it).")
    var apTitle: String = "1.1.1.999"
    @Option(name: .long, help: "Our AE-qualifier.")
    var aeQualifier: Int64 = 12
    @Option(name: .long, help: "The remote AP-title.")
    var remoteApTitle: String = "1.1.1.999.1"
    @Option(name: .long, help: "The remote AE-qualifier.")
    var remoteAeQualifier: Int64 = 12
    @Option(name: .long, help: "TLS (IEC 62351-4): PEM certificate(s) to trust for the remote VCC.")
    var tlsCa: String?
    @Option(name: .long, help: "TLS: our PEM certificate chain, for the partner's mutual authentication (with --tls-key).")
    var tlsCert: String?
    @Option(name: .long, help: "TLS: the private key of --tls-cert.")
    var tlsKey: String?
    @Option(name: .long, help: "TLS: trust exactly the server certificate with this SHA-256 fingerprint (instead of --tls-ca).")
    var tlsSha256: String?
    @Option(name: .long, help: "ACSE password (IEC 62351-4 authentication, mechanism 2.2.3.1) the partner's table expects.")
    var password: String?
    @Option(name: .long, help: "Most names one GetNameList may return (all pages); a partner that sends more is an error.")
    var maxNames: Int = MMSClientLimits().maxNames
    @Option(name: .long, help: "Seconds one request may wait for its answer.")
    var requestTimeout: Double = 10
    @Option(name: .long, help: "Seconds the whole command may take; 0: no limit (default 120 for browse, read and control; none for watch and messages).")
    var timeout: Double?
    @Option(name: .long, help: "The Bilateral_Table_ID we expect: the ICC is the one whose table has it, and a partner with none is refused.")
    var bilateralTableId: String?
    @Option(name: .long, help: "A configuration file shared with the partner's `tase2 serve`: its points' types are used to decode values.")
    var config: String?
    @Option(name: .long, parsing: .singleValue,
            help: "NAME=TYPE: decode NAME as TYPE (e.g. ICC1/Breaker_2=StateQ); wins over --config and the partner's description. Repeatable.")
    var type: [String] = []
    @Flag(name: .long, help: "JSON for scripts: one document, or one line per event (NDJSON) for watch and messages.")
    var json = false

    func validate() throws {
        guard OID(apTitle) != nil else { throw ValidationError("--ap-title \(escaped(apTitle)) is not a dotted object identifier such as 1.1.1.999") }
        guard OID(remoteApTitle) != nil else {
            throw ValidationError("--remote-ap-title \(escaped(remoteApTitle)) is not a dotted object identifier such as 1.1.1.999.1")
        }
        guard maxNames > 0 else { throw ValidationError("--max-names must be positive") }
        guard requestTimeout > 0, requestTimeout <= 86_400 else { throw ValidationError("--request-timeout must be between 0 and 86400 seconds") }
        if let timeout, timeout < 0 || timeout > 86_400 { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
        _ = try typeOptions()  // the file of --config is read once, when the command runs
    }

    /// The types from `--type` and `--config` (`--type` wins).
    func declaredTypes() throws -> [ObjectName: PointTypeInfo] {
        var out: [ObjectName: PointTypeInfo] = [:]
        if let config {
            do {
                let c = try ConfigLoader.load(file: config)
                let shape: StateQShape = c.vcc.stateQShape
                for p in c.points { out[p.scope.objectName(p.name)] = PointTypeInfo(p.type, stateQ: shape) }
            } catch {
                throw ValidationError("--config: \(error)")
            }
        }
        for (n, t) in try typeOptions() { out[n] = t }
        return out
    }

    /// `--type NAME=TYPE`, checked (no file is read).
    func typeOptions() throws -> [ObjectName: PointTypeInfo] {
        var out: [ObjectName: PointTypeInfo] = [:]
        for t in type {
            let parts = t.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--type \(escaped(t)) is not NAME=TYPE") }
            let name = try checkedObjectName(parts[0])
            let typeName = parts[1].lowercased()
            var shape = StateQShape.bitString
            var bare = typeName
            if typeName.hasSuffix(":valueandflags") {
                shape = .valueAndFlags
                bare = String(typeName.dropLast(14))
            }
            guard let pt = PointType.allCases.first(where: { $0.rawValue.lowercased() == bare }) else {
                throw ValidationError("--type \(escaped(t)): \(escaped(parts[1])) is not a point type; one of \(PointType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            out[name] = PointTypeInfo(pt, stateQ: shape)
        }
        return out
    }

    func configuration() throws -> MMSClient.Configuration {
        guard let local = OID(apTitle), let remote = OID(remoteApTitle) else {
            throw ValidationError("AP-titles are dotted object identifiers, e.g. 1.1.1.999")
        }
        var config = MMSClient.Configuration(host: host, port: port, local: OSIAddress(apTitle: local, aeQualifier: aeQualifier),
                                             remote: OSIAddress(apTitle: remote, aeQualifier: remoteAeQualifier))
        config.timeouts.request = .nanoseconds(Int64(requestTimeout * 1e9))
        config.timeouts.associate = .nanoseconds(Int64(max(requestTimeout, 10) * 1e9))
        config.timeouts.release = .nanoseconds(Int64(min(requestTimeout, 10) * 1e9))
        config.connectTimeout = .nanoseconds(Int64(max(requestTimeout, 10) * 1e9))
        config.clientLimits.maxNames = maxNames
        config.authentication = password.map { .charString($0) }
        guard tlsCa != nil || tlsCert != nil || tlsSha256 != nil else { return config }
        var tls: TLSConfiguration
        if let tlsCert {
            guard let tlsKey else { throw ValidationError("--tls-cert needs --tls-key") }
            tls = try SecureProfile(certificateFile: tlsCert, keyFile: tlsKey, trustRootFiles: tlsCa.map { [$0] } ?? []).clientConfiguration()
        } else {
            tls = TLSConfiguration.makeClientConfiguration()
            tls.minimumTLSVersion = .tlsv12
            if let tlsCa { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(tlsCa)) }
        }
        if let tlsSha256 {
            var c = config
            c.pipelinePrelude = try TASE2TLS.client(tls, serverHostname: host, pinnedSHA256: tlsSha256)
            return c
        }
        return try config.withTLS(tls, serverHostname: host)
    }

    var logger: Logger {
        var logger = Logger(label: "tase2")
        logger.logLevel = .warning
        return logger
    }

    /// Runs `body` on a plain MMS association (browse and read work with any MMS server), within
    /// `--timeout`; concludes at the end.
    func withMMS(_ what: String, _ body: @escaping @Sendable (MMSAssociation) async throws -> Void) async throws {
        let config = try configuration()
        let logger = self.logger
        try await withDeadline(what, seconds: timeout ?? 120) {
            let a = try await MMSClient.connect(config, logger: logger)
            do {
                try await body(a)
                try await a.conclude()
            } catch {
                await a.abort()
                throw error
            }
        }
    }

    /// Runs `body` on a TASE.2 association, after the association check. `limited`: within `--timeout`.
    func withTASE2(_ what: String, icc: String? = nil, limited: Bool = true, _ body: @escaping @Sendable (TASE2Client) async throws -> Void) async throws {
        let config = try configuration()
        let logger = self.logger
        let expected = bilateralTableId
        let declared = try declaredTypes()
        try await withDeadline(what, seconds: timeout ?? (limited ? 120 : 0)) {
            try await TASE2Client.withClient(config, icc: icc, expectedBilateralTableID: expected, logger: logger) { c in
                c.declare(declared)
                try await body(c)
            }
        }
    }
}

/// Runs `body`, failing with a clear error when it takes longer than `seconds` (0: no limit).
func withDeadline(_ what: String, seconds: Double, _ body: @escaping @Sendable () async throws -> Void) async throws {
    guard seconds > 0 else { return try await body() }
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return false
        }
        defer { group.cancelAll() }
        guard try await group.next() == true else {
            throw MMSAssociationError.timeout("\(what) did not finish within \(Int(seconds)) s (--timeout)")
        }
    }
}

/// A name given on the command line, checked: MMS identifiers only.
func checkedObjectName(_ text: String) throws -> ObjectName {
    let n = objectName(text)
    guard MMSIdentifier.isValid(n.itemName), n.domain.map(MMSIdentifier.isValid) ?? true else {
        throw ValidationError("\(escaped(text)) is not NAME or ICC/NAME with MMS identifiers (letters, digits, _ and $, at most 32, not starting with a digit)")
    }
    return n
}

/// `ICC1/Name` is an ICC object, `Name` a VCC one.
func objectName(_ text: String) -> ObjectName {
    let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
    return parts.count == 2 ? .domainSpecific(domain: parts[0], item: parts[1]) : .vmdSpecific(text)
}
