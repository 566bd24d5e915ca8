import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOSSL
import MMSNIO
import TASE2
import TASE2TLS

/// The `tase2` command line tool: serve a VCC, check a configuration file, print the demo configuration.
@main
struct Tase2: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tase2",
        abstract: "FreeTase2: an ICCP / TASE.2 (IEC 60870-6) server, and a client to browse, read, watch, control and message remote VCCs.",
        subcommands: [ServeCommand.self, CheckConfigCommand.self, DemoConfigCommand.self, BrowseCommand.self, ReadCommand.self, WatchCommand.self,
                      ControlCommand.self, TagCommand.self, MessagesCommand.self, ProbeCommand.self])
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a VCC from a configuration file, or the simulated demo model when no file is given.")

    @Option(name: .long, help: "YAML configuration file (docs/configuration.md); the demo model when omitted.")
    var config: String?

    @Option(name: .long, help: "Address to listen on (overrides vcc.host).")
    var host: String?

    @Option(name: .long, help: "TCP port (overrides vcc.port; with TLS the default is 3782).")
    var port: Int?

    @Option(name: .long, help: "TLS (IEC 62351-4): PEM certificate chain of this VCC.")
    var tlsCert: String?

    @Option(name: .long, help: "TLS: PEM private key of the certificate.")
    var tlsKey: String?

    @Option(name: .long, help: "TLS: PEM trust roots for partners' certificates (mutual authentication; repeatable).")
    var tlsCa: [String] = []

    @Option(name: .long, help: "TLS: a CRL file (PEM or DER) of a trust root; reloaded on SIGHUP (repeatable).")
    var tlsCrl: [String] = []

    @Flag(name: .long, help: "TLS without client certificates (a one-way test setup; IEC 62351-3 requires mutual authentication).")
    var tlsNoClientAuth = false

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(name: .long, inversion: .prefixedNo,
          help: "Move the non-writable points and send demo information messages (default: on for the demo model, off with --config).")
    var simulate: Bool?

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown log level '\(logLevel)'; use trace, debug, info, notice, warning, error or critical")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tase2")
        var configuration: TASE2Configuration
        if let config {
            do {
                configuration = try ConfigLoader.load(file: config)
            } catch {
                printError(error.description)
                throw ExitCode.failure
            }
        } else {
            configuration = DemoConfiguration.make()
        }
        if let host { configuration.vcc.host = host }
        if let tlsCert {
            guard let tlsKey else { throw ValidationError("--tls-cert needs --tls-key") }
            guard !tlsCa.isEmpty || tlsNoClientAuth else {
                throw ValidationError("secure mode verifies partners' certificates: give --tls-ca (or --tls-no-client-auth for a one-way test setup)")
            }
            var t = TLSSettings(certificate: tlsCert, key: tlsKey, trustRoots: tlsCa, crls: tlsCrl)
            t.requireClientCertificate = !tlsNoClientAuth
            configuration.vcc.tls = t
        }
        if let port { configuration.vcc.port = port } else if configuration.vcc.tls != nil && config == nil { configuration.vcc.port = TASE2TLS.port }
        do {
            try configuration.validate()
        } catch {
            printError("command line: \(error)")
            throw ExitCode.failure
        }
        logServed(configuration, source: config ?? "demo model (simulated values)", logger: logger)
        do {
            try await Serve.run(configuration, simulate: simulate ?? (config == nil), logger: logger)
        } catch let error as ConfigurationError {
            printError(error.description)
            throw ExitCode.failure
        } catch let error as MMSServerError {
            // One line an operator can act on (e.g. port 102 without the right to bind it), not a stack trace.
            printError("tase2 serve: \(error)")
            throw ExitCode.failure
        }
    }
}

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file; errors are printed as file:line: field: message.")

    @Argument(help: "YAML configuration file.")
    var file: String

    func run() throws {
        do {
            let c = try ConfigLoader.load(file: file)
            print("\(file): OK: \(c.points.count) points, \(c.bilateralTables.count) bilateral tables, \(c.dataSets.count) data sets")
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}

struct DemoConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-config",
        abstract: "Print the demo configuration as YAML (a starting point for your own file).")

    func run() {
        print(DemoConfiguration.make().yaml(), terminator: "")
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// One startup summary, so an operator sees what partners can reach without reading the file.
func logServed(_ c: TASE2Configuration, source: String, logger: Logger) {
    let v = c.vcc
    logger.info("serving \(source)", metadata: [
        "address": "\(v.host):\(v.port)", "ap_title": "\(v.apTitle)", "ae_qualifier": "\(v.aeQualifier)",
        "edition": "\(v.edition.rawValue)", "points": "\(c.points.count)", "data_sets": "\(c.dataSets.count)",
    ])
    if c.bilateralTables.isEmpty {
        logger.info("open mode: no bilateral tables, any partner is accepted")
    }
    for t in c.bilateralTables {
        let partner = t.partnerDescription
        let points = c.points.filter { $0.scope == .icc(t.icc) }.count
        logger.info("bilateral table \(t.id)", metadata: [
            "partner": "\(partner)", "icc": "\(t.icc)", "icc_points": "\(points)", "transfer_sets": "\(t.transferSets)",
            "vcc_read": "\(t.vccRead.joined(separator: ","))", "vcc_write": "\(t.vccWrite.joined(separator: ","))",
        ])
    }
}
