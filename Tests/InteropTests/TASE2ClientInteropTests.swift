import Foundation
import MMS
import MMSNIO
import NIOCore
import NIOPosix
import TASE2
import Testing
import TestSupport

@Suite("Our TASE.2 client against a hat-drivers TASE.2 server", .enabled(if: Interop.requested, "interop runs via scripts/test-all.sh and in CI"),
       .timeLimit(.minutes(2)))
struct TASE2ClientInteropTests {
    @Test("association check, typed read, a critical transfer set's reports and our ACKs")
    func clientAgainstHatTASE2Server() async throws {
        try Interop.requirePeers()
        let (server, port) = try await PeerProcess.startServer("hat_tase2_server.py", [])
        defer { server.terminate() }
        try await TASE2Client.withClient(MMSClient.Configuration(host: "127.0.0.1", port: port)) { c in
            #expect(c.icc == "ICC1" && c.bilateralTableID == "HAT_BLT" && c.edition == .v2000 && c.supportedBlocks == [1, 2])
            let line = try await c.read("Line1_MW", in: .vcc, as: .realQ)
            #expect(line.real >= 100)
            let ts = try await c.startCriticalTransfer(dataSet: "DS_T", points: [.vmdSpecific("Line1_MW")]) { d in
                d.interval = 1
                d.conditions = [.intervalTimeOut]
            }
            #expect(ts == .domainSpecific(domain: "ICC1", item: "DSTrans1"))
            var reports = c.transferReports.makeAsyncIterator()
            for _ in 0..<2 {
                let r = await reports.next()
                #expect(r?.transferSet == ts && r?.conditions == .intervalTimeOut)
                #expect(r?.values.map(\.name) == [.vmdSpecific("Line1_MW")])
                #expect(r?.timeStamp.map { abs(Double($0) - Date().timeIntervalSince1970) < 30 } == true)
            }
            // The foreign server saw our acknowledgements (its event lines, read as they come).
            var acks = 0
            for await line in server.lines where jsonObject(line)?["event"] as? String == "ack" {
                acks += 1
                if acks == 2 { break }
            }
            #expect(acks == 2, "\(server.stdout.suffix(1500))")
            try await c.stopTransfer(ts)
        }
    }

    /// The foreign server refuses component writes as SISCO-based servers do: our client still
    /// stops its transfer set (a whole-structure write). Reports arrive typed, and a critical
    /// report is acknowledged only when the caller takes it.
    @Test("typed reports, ACKs only after delivery, stop by whole write to a server without alternate access")
    func typedReportsAcksAfterDeliveryAndWholeWriteStop() async throws {
        try Interop.requirePeers()
        let (server, port) = try await PeerProcess.startServer("hat_tase2_server.py", ["--no-alternate-access"])
        defer { server.terminate() }
        var lines = server.lines.makeAsyncIterator()
        /// Server events up to (and including) the `count`-th of `kind`.
        func events(until kind: String, count: Int = 1) async -> [[String: Any]] {
            var seen: [[String: Any]] = []
            var n = 0
            while n < count, let l = await lines.next() {
                guard let o = jsonObject(l) else { continue }
                seen.append(o)
                if o["event"] as? String == kind { n += 1 }
            }
            return seen
        }
        let c = try await TASE2Client.connect(MMSClient.Configuration(host: "127.0.0.1", port: port))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await c.run() }
            let ts = try await c.startCriticalTransfer(dataSet: "DS_T", points: [.vmdSpecific("Line1_MW")]) { d in
                d.interval = 1
                d.conditions = [.intervalTimeOut]
            }
            // Two reports sent and none taken by the caller: no ACK in between.
            let before = await events(until: "report-sent", count: 2)
            #expect(before.filter { $0["event"] as? String == "report-sent" }.count == 2)
            #expect(!before.contains { $0["event"] as? String == "ack" }, "ACKed before the caller had the report: \(before)")
            var reports = c.transferReports.makeAsyncIterator()
            for _ in 0..<2 {
                let r = await reports.next()
                #expect(r?.critical == true && r?.transferSet == ts)
                #expect(r?.points.first?.type == PointTypeInfo(.realQ), "typed from the foreign server's description")
                #expect((r?.points.first?.value?.real ?? 0) >= 100)
            }
            // One ACK per report, each with its report's time stamp (this server clears every
            // outstanding stamp on a matched ACK, as libtase2 does, so only the first is "matched").
            let after = await events(until: "ack", count: 2)
            let acks = after.filter { $0["event"] as? String == "ack" }
            var sent: [Int] = []
            for e in before where e["event"] as? String == "report-sent" { sent.append((e["time_stamp"] as? NSNumber)?.intValue ?? -1) }
            let acked = acks.map { ($0["time_stamp"] as? NSNumber)?.intValue ?? -2 }
            #expect(acked == sent && sent.count == 2 && (acks.first?["matched"] as? NSNumber)?.boolValue == true, "\(acks) \(sent)")
            // A component write is refused here; the stop is a whole-structure write and succeeds.
            await #expect(throws: DataAccessError.objectAccessUnsupported) {
                try await c.association.write(ts, .boolean(false), alternateAccess: .component("Status"))
            }
            try await c.stopTransfer(ts)
            let stop = await events(until: "ts-disabled")
            #expect(stop.last?["event"] as? String == "ts-disabled")
            try await c.close()
            try await group.waitForAll()
        }
    }

    /// A link left running: the first address is down (failover to the second), the server is
    /// restarted mid-watch, and the link calls again and restores its transfer set.
    @Test("reconnect with failover after the server restarts mid-watch, the transfer set restored")
    func linkReconnectsAndRestoresTheTransferSet() async throws {
        try Interop.requirePeers()
        let (first, port) = try await PeerProcess.startServer("hat_tase2_server.py")
        let dead = try await freePort()
        var config = TASE2Link.Configuration(addresses: [MMSClient.Configuration(host: "127.0.0.1", port: dead),
                                                         MMSClient.Configuration(host: "127.0.0.1", port: port)])
        config.initialBackoff = 0.2
        config.maxBackoff = 1
        let link = TASE2Link(config)
        try await link.addTransfer(dataSet: "DS_LINK", points: [.vmdSpecific("Line1_MW")]) { d in
            d.interval = 1
            d.conditions = [.intervalTimeOut]
        }
        var events = link.events.makeAsyncIterator()
        func next(_ matching: (TASE2Link.Event) -> Bool) async -> [TASE2Link.Event] {
            var seen: [TASE2Link.Event] = []
            while let e = await events.next() {
                seen.append(e)
                if matching(e) { break }
            }
            return seen
        }
        func restored(_ e: TASE2Link.Event) -> Bool { if case .transferRestored = e { true } else { false } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await link.run() }
            let up = await next(restored)
            #expect(up.first == .connecting(address: "127.0.0.1:\(dead)"))
            #expect(up.contains { if case .connectFailed(let a, _) = $0 { a == "127.0.0.1:\(dead)" } else { false } })
            #expect(up.contains(.connected(address: "127.0.0.1:\(port)", icc: "ICC1", bilateralTableID: "HAT_BLT")), "\(up)")
            #expect(up.last == .transferRestored(dataSet: "DS_LINK", transferSet: .domainSpecific(domain: "ICC1", item: "DSTrans1")))
            var reports = link.transferReports.makeAsyncIterator()
            #expect(await reports.next()?.points.first?.name == .vmdSpecific("Line1_MW"))

            // The server goes away mid-watch, and comes back on the same port.
            first.terminate()
            _ = await first.wait(seconds: 10)
            let down = await next { $0 == .disconnected(address: "127.0.0.1:\(port)") }
            #expect(down.last == .disconnected(address: "127.0.0.1:\(port)"))
            let restart = Int32(Date().timeIntervalSince1970)
            let (second, _) = try await PeerProcess.startServer("hat_tase2_server.py", port: port)
            defer { second.terminate() }
            let again = await next(restored)
            #expect(again.contains(.connected(address: "127.0.0.1:\(port)", icc: "ICC1", bilateralTableID: "HAT_BLT")), "\(again)")
            #expect(again.last == .transferRestored(dataSet: "DS_LINK", transferSet: .domainSpecific(domain: "ICC1", item: "DSTrans1")))
            // Reports flow again, from the new server.
            var fresh: TransferReport?
            while let r = await reports.next() {
                if (r.timeStamp ?? 0) >= restart { fresh = r; break }
            }
            #expect(fresh?.points.first?.value.map { $0.real >= 100 } == true)
            try await link.removeTransfer(dataSet: "DS_LINK")
            group.cancelAll()
        }
    }
}

/// A port nothing listens on.
func freePort() async throws -> Int {
    let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = probe.localAddress?.port ?? 0
    try await probe.close()
    return port
}
