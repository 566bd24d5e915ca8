import ArgumentParser
import Foundation
import MMS
import MMSNIO
import Synchronization
import TASE2
import TASE2TLS

struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Check a remote VCC's conformance as far as a client can see it: one PASS / FAIL / N/A row per check, with the evidence.",
        discussion: """
            Checks the association and edition, Supported_Features against what the partner does, every \
            visible point (read and typed), block 1 (data set define/read/delete, Next_DSTransfer_Set, interval \
            and integrity reports and their special members), block 2 (report by exception, critical reports \
            acknowledged), block 4 (IM_Transfer_Set, a message arrives) and, with --allow-control, block 5 \
            (an operate without select is refused, a select returns a CheckBackName, GetTag). The probe defines \
            and deletes one data set (--data-set) in its ICC. Exit status 1 when a row FAILs.
            """)
    @OptionGroup var partner: PartnerOptions
    @Argument(help: "Host of the remote VCC (or --host).")
    var hostArgument: String?
    @Flag(name: .long, help: "Try block 5: an operate without select (command 0, which a conformant VCC refuses) and a select.")
    var allowControl = false
    @Option(name: .long, help: "Seconds to wait for what the partner sends on its own (changes, messages).")
    var wait: Double = 10
    @Option(name: .long, help: "Name of the data set the probe defines and deletes in its ICC.")
    var dataSet: String = "FT2_PROBE"

    func validate() throws {
        guard wait > 0, wait <= 600 else { throw ValidationError("--wait is between 0 and 600 seconds") }
        guard MMSIdentifier.isValid(dataSet) else { throw ValidationError("--data-set \(escaped(dataSet)) is not an MMS identifier") }
    }

    func run() async throws {
        var partner = self.partner
        if let hostArgument { partner.host = hostArgument }
        var probe = ConformanceProbe(allowControl: allowControl, wait: wait)
        probe.dataSet = dataSet
        let json = partner.json
        let declared = try partner.declaredTypes()
        let expected = partner.bilateralTableId
        let target = "\(partner.host):\(partner.port)"
        let live = Output.stdoutIsTerminal && !json
        let logger = partner.logger
        let rows = RowsBox()
        if !json { print("probing \(Output.safe(target))") }
        let configured = probe
        try await partner.withMMS("probe") { a in
            let got = await configured.run(on: a, expectedBilateralTableID: expected, declared: declared,
                                           transport: TASE2TLS.probeRow, logger: logger) { r in
                if live { print("  \(r.result.rawValue)  \(r.check)") }
            }
            rows.set(got)
        }
        let result = rows.get()
        if json {
            Output.json(["target": target, "rows": result.map { r -> [String: Any] in
                var o: [String: Any] = ["check": r.check, "result": r.result.rawValue, "evidence": r.evidence]
                if let b = r.block { o["block"] = b }
                return o
            }])
        } else {
            if live { print("") }
            let cells = result.map { [$0.block.map { "\($0)" } ?? "-", $0.check, $0.result.rawValue, Output.safe($0.evidence)] }
            for l in Output.table(["BLOCK", "CHECK", "RESULT", "EVIDENCE"], cells, indent: "") { print(l.trimmingTrailingSpaces) }
            let fails = result.filter { $0.result == .fail }.count
            print("")
            print("\(result.filter { $0.result == .pass }.count) PASS, \(fails) FAIL, \(result.filter { $0.result == .notApplicable }.count) N/A")
        }
        if result.contains(where: { $0.result == .fail }) { throw ExitCode.failure }
    }
}

/// The rows, out of the association's closure.
final class RowsBox: Sendable {
    let rows = Mutex<[ProbeRow]>([])
    func set(_ r: [ProbeRow]) { rows.withLock { $0 = r } }
    func get() -> [ProbeRow] { rows.withLock { $0 } }
}
