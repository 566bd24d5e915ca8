import Foundation
import InteropFixture
import Testing
import TestSupport

/// Every `tase2` client command against every misbehaviour of `HostileServer`: each run ends
/// by itself in bounded time, with exit status 0 only where the misbehaviour does not touch the
/// command, and otherwise with an error on stderr that names the cause. Nothing traps, and no
/// control character from the server reaches the terminal.
@Suite("The tase2 commands against a hostile MMS server", .timeLimit(.minutes(5)))
struct HostileCLITests {
    typealias B = HostileServer.Behavior

    enum Command: String, CaseIterable, Sendable {
        case browse, read, watch, control, tag, messages, probe

        func arguments(_ port: Int) -> [String] {
            let common = ["--port", "\(port)", "--request-timeout", "1", "--timeout", "12", "--max-names", "20000"]
            switch self {
            case .browse: return ["browse"] + common
            case .read: return ["read"] + common + ["ICC1/A", "ICC1/B"]
            case .watch: return ["watch"] + common + ["--count", "1", "--interval", "1", "ICC1/A"]
            case .control: return ["control"] + common + ["--select", "ICC1/Breaker", "--command", "1"]
            case .tag: return ["tag"] + common + ["ICC1/Breaker"]
            case .probe: return ["probe"] + common + ["--wait", "1", "--allow-control"]
            case .messages: return ["messages"] + common + ["--count", "1"]
            }
        }

        /// Whether the misbehaviour reaches what this command asks of the server.
        func isTouched(by b: B) -> Bool {
            switch b {
            case .reportFlood: return false
            // watch waits for reports that never come: its --timeout ends it before any conclude.
            case .silentConclude, .silentRelease: return self != .watch
            case .nameListForever, .nameListRepeats: return self != .read  // the TASE.2 commands list domains too
            case .nameListEmptyName, .nameListBadName: return self == .browse
            default: return true
            }
        }
    }

    /// What stderr must say when the misbehaviour ends the command.
    static func cause(_ b: B) -> String {
        switch b {
        case .readFewerResults, .readNoResults, .readExtraResults: return "results for"
        case .initiateZeroOutstanding, .initiateNegativeOutstanding, .initiatePDUSizeZero, .initiateNestingTooDeep:
            return "unacceptable association parameters"
        case .silentConclude: return "conclude not confirmed"
        case .silentRelease: return "release not confirmed"
        case .slowAnswers: return "no answer within 1 s"
        case .nameListForever: return "GetNameList passed"
        case .nameListRepeats: return "twice"
        case .nameListEmptyName, .nameListBadName: return "not an MMS identifier"
        case .malformedTruncated, .malformedBadLength, .malformedBitString, .malformedFloat, .deepNesting: return "malformed response"
        case .wrongService: return "response to a read request"
        case .reportFlood: return "-"
        }
    }

    @Test(arguments: B.allCases)
    func everyCommandEndsCleanly(_ b: B) async throws {
        let server = try await HostileServer(b, floodReports: 20_000)
        let binary = try Tase2Binary.path()
        let clock = ContinuousClock()
        for command in Command.allCases {
            let start = clock.now
            let p = try PeerProcess(binary, command.arguments(server.port))
            for await _ in p.lines {}
            let status = await p.wait(seconds: 20)
            let took = clock.now - start
            let out = p.stdout, err = p.stderr
            let label = "\(command.rawValue) against \(b.rawValue): status \(status), \(took)\nstdout: \(out.suffix(400))\nstderr: \(err.suffix(600))"
            #expect(status == 0 || status == 1, "ended by a signal or by the test's deadline: \(label)")
            #expect(took < .seconds(15), "\(label)")
            #expect(!err.contains("Fatal error") && !err.contains("Stack dump"), "\(label)")
            #expect(!(out + err).unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "a control character reached the terminal: \(label)")
            if command == .probe {
                // The probe turns what goes wrong into FAIL rows (or ends at its --timeout):
                // it must end, in time, without a trap; what it says is checked against real peers.
                #expect(status == 1 || !command.isTouched(by: b), "\(label)")
            } else if command == .tag {
                // This server has no device tags: where the misbehaviour does not end it first,
                // the command ends on the wrong shape, said plainly.
                #expect(status == 1 && [Self.cause(b), "is not a TagValue", "no answer within 1 s"].contains { err.contains($0) }, "\(label)")
            } else if b == .reportFlood {
                // The flood delays every answer: a 1 s request time-out may expire first.
                #expect(status == 0 || err.contains("no answer within 1 s"), "\(label)")
            } else if status == 0 {
                #expect(!command.isTouched(by: b), "succeeded although the server misbehaved: \(label)")
            } else if command.isTouched(by: b) {
                #expect(err.contains(Self.cause(b)), "\(label)")
            } else {
                // Untouched streaming commands wait for data the hostile server never sends.
                #expect(err.contains("(--timeout)"), "\(label)")
            }
            if command == .messages && status == 0 {
                #expect(out.contains("clear\\u{1b}[2J\\u{7}screen"), "\(label)")
            }
        }
        await server.stop()
    }
}
