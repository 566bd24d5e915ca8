import BER
import Foundation
import InteropFixture
import MMS
import MMSNIO
import NIOCore
import TASE2
import Testing

/// Our client side against a server that associates and then misbehaves (`HostileServer`):
/// every case ends in bounded time with the error that names it; nothing traps or grows.
@Suite("Our clients against a hostile MMS server", .timeLimit(.minutes(3)))
struct HostileServerTests {
    typealias B = HostileServer.Behavior

    static func config(_ port: Int, request: TimeAmount = .seconds(1)) -> MMSClient.Configuration {
        var c = MMSClient.Configuration(host: "127.0.0.1", port: port)
        // Associating is not what these tests try (the misbehaviour comes after it): 5 s leaves room
        // for a loaded 2-core machine running every suite at once, where 2 s once ran out.
        c.timeouts = MMSTimeouts(associate: .seconds(5), partialPDU: .seconds(2), request: request, release: .seconds(1))
        c.clientLimits = MMSClientLimits(maxNames: 5_000, maxNameBytes: 1 << 20, reportBufferBytes: 1 << 20)
        return c
    }

    /// Runs `body` against a fresh hostile server; returns how long it took.
    static func against<T>(_ b: B, floodReports: Int = 20_000, _ body: (Int) async throws -> T) async throws -> (T, Duration) {
        let server = try await HostileServer(b, floodReports: floodReports)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let r = try await body(server.port)
            await server.stop()
            return (r, clock.now - start)
        } catch {
            await server.stop()
            throw error
        }
    }

    static let two = [VariableAccess(.vmdSpecific("A")), VariableAccess(.vmdSpecific("B"))]

    @Test(arguments: [
        (B.readFewerResults, "1 results for 2 variables (invoke ID 1)"),
        (B.readNoResults, "0 results for 2 variables (invoke ID 1)"),
        (B.readExtraResults, "3 results for 2 variables (invoke ID 1)"),
        (B.wrongService, "a identify response to a read request (invoke ID 1)"),
    ])
    func answersOfTheWrongShapeAreProtocolErrors(_ b: B, _ why: String) async throws {
        let (_, took) = try await Self.against(b) { port in
            let a = try await MMSClient.connect(Self.config(port, request: .seconds(30)))
            await #expect(throws: MMSAssociationError.protocolError(why)) { _ = try await a.read(Self.two) }
            // The association goes on.
            #expect(try await a.identify().modelName == "h")
            await a.abort()
        }
        // Far below the 30 s request time-out: the mismatch ends it.
        #expect(took < .seconds(10))
    }

    @Test(arguments: [B.malformedTruncated, .malformedBadLength, .malformedBitString, .malformedFloat, .deepNesting])
    func malformedAnswersFailAtOnceWithTheDecodeError(_ b: B) async throws {
        let (_, took) = try await Self.against(b) { port in
            let a = try await MMSClient.connect(Self.config(port, request: .seconds(30)))
            do {
                _ = try await a.read(Self.two)
                Issue.record("a malformed answer was accepted")
            } catch MMSAssociationError.malformedResponse(let why) {
                #expect(why.hasPrefix("read response 1: "), "\(why)")
            }
            await a.abort()
        }
        // Far below the 30 s request time-out: the decode error ends it.
        #expect(took < .seconds(10))
    }

    @Test(arguments: [
        (B.initiateZeroOutstanding, "negotiated maxServOutstandingCalled 0 is outside 1…10"),
        (B.initiateNegativeOutstanding, "negotiated maxServOutstandingCalling -1 is outside 1…10"),
        (B.initiatePDUSizeZero, "negotiated maximum PDU size 0 is outside 64…65000"),
        (B.initiateNestingTooDeep, "negotiated data structure nesting 100 is outside 2…10"),
    ])
    func unacceptableInitiateAnswersRefuseTheAssociation(_ b: B, _ why: String) async throws {
        _ = try await Self.against(b) { port in
            await #expect(throws: MMSAssociationError.unacceptableParameters(why)) { _ = try await MMSClient.connect(Self.config(port)) }
        }
    }

    @Test func slowAnswersTimeOutPerRequest() async throws {
        let (_, took) = try await Self.against(.slowAnswers) { port in
            let a = try await MMSClient.connect(Self.config(port))
            await #expect(throws: MMSAssociationError.timeout("no answer within 1 s")) { _ = try await a.identify() }
            await a.abort()
        }
        // Well before the server's 20 s.
        #expect(took < .seconds(8))
    }

    @Test func anOverallDeadlineBoundsAPagedOperation() async throws {
        _ = try await Self.against(.slowAnswers) { port in
            var c = Self.config(port, request: .seconds(30))
            c.clientLimits.operationTimeout = .milliseconds(500)
            let a = try await MMSClient.connect(c)
            await #expect(throws: MMSAssociationError.timeout("GetNameList not finished within 500 ms (MMSClientLimits.operationTimeout)")) {
                _ = try await a.getNameList(.namedVariable, scope: .vmdSpecific)
            }
            await a.abort()
        }
    }

    @Test(arguments: [
        (B.silentConclude, "conclude not confirmed within 1 s"),
        (B.silentRelease, "release not confirmed within 1 s"),
    ])
    func unansweredConcludeOrReleaseEndsInBoundedTime(_ b: B, _ why: String) async throws {
        let (_, took) = try await Self.against(b) { port in
            let a = try await MMSClient.connect(Self.config(port))
            await #expect(throws: MMSAssociationError.timeout(why)) { try await a.conclude() }
            #expect(!a.isOpen)
        }
        #expect(took < .seconds(8))
    }

    @Test(arguments: [
        (B.nameListForever, MMSAssociationError.limitExceeded("GetNameList passed 5000 names (MMSClientLimits.maxNames)")),
        (B.nameListRepeats, .protocolError("GetNameList returned \"A\" twice")),
        (B.nameListEmptyName, .protocolError("GetNameList returned \"\", which is not an MMS identifier")),
        (B.nameListBadName, .protocolError("GetNameList returned \"Bad Name-1\", which is not an MMS identifier")),
    ])
    func nameListPagingIsBoundedAndChecked(_ b: B, _ error: MMSAssociationError) async throws {
        let (_, took) = try await Self.against(b) { port in
            let a = try await MMSClient.connect(Self.config(port))
            await #expect(throws: error) { _ = try await a.getNameList(.namedVariable, scope: .vmdSpecific) }
            await a.abort()
        }
        #expect(took < .seconds(10))
    }

    /// 300,000 reports of 1 kB that nobody reads cost at most the report buffer (1 MB here).
    @Test func aReportFloodIsBoundedInBytes() async throws {
        _ = try await Self.against(.reportFlood, floodReports: 300_000) { port in
            let a = try await MMSClient.connect(Self.config(port, request: .seconds(60)))
            // The identify answer comes after the whole flood on the same stream.
            #expect(try await a.identify().modelName == "h")
            let reports = a.informationReports
            #expect(reports.bufferedBytes <= 1 << 20)
            #expect(reports.bufferedBytes > (1 << 20) - 2_000)  // the limit was reached
            #expect(reports.droppedCount > 298_000)
            await a.abort()
        }
    }

    /// The TASE.2 association check against every misbehaviour: a clear error or a client, never a trap.
    @Test(arguments: B.allCases)
    func theTASE2ClientEndsEveryCaseCleanly(_ b: B) async throws {
        let (_, took) = try await Self.against(b) { port in
            do {
                try await TASE2Client.withClient(Self.config(port)) { c in
                    // Survived the check: what the server says is plausible, and escaped when shown.
                    #expect(c.icc == "ICC1" && c.bilateralTableID == "BLT_HOSTILE")
                }
            } catch let e as MMSAssociationError {
                #expect(!e.description.isEmpty)
            }
        }
        #expect(took < .seconds(15))
    }
}
