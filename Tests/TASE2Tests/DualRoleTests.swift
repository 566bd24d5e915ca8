import BER
import Logging
import MMS
import MMSNIO
import NIOCore
import Testing
@testable import TASE2

/// ICCP partners are each other's clients on one association. A hub (H) calls a partner (P):
/// H's VCC serves P, H's client role subscribes to P's points; P's table for H has a client role
/// too (without `connect`), so P subscribes to H's points over the association H called.
@Suite("Dual role: our client role on the partner's VCC", .timeLimit(.minutes(1)))
struct DualRoleTests {
    static let hubTitle: OID = [1, 3, 9999, 10]
    static let partnerTitle: OID = [1, 3, 9999, 20]

    static func partnerConfig() -> TASE2Configuration {
        var c = TASE2Configuration()
        c.vcc.host = "127.0.0.1"
        c.vcc.port = 0
        c.vcc.apTitle = partnerTitle
        c.vcc.aeQualifier = 20
        var t = BilateralTableConfig(id: "BLT_HUB", icc: "HUB", partnerAPTitle: hubTitle, partnerAEQualifier: 10, transferSets: 4)
        var p = PartnerVCCConfig(points: [.vmdSpecific("H_Load")])
        p.interval = 0
        p.integrityCheck = 1
        p.rbe = true
        t.partnerVCC = p
        c.bilateralTables = [t]
        c.points = [
            PointConfig(name: "P_Line_MW", type: .realQ, scope: .vcc, initial: .real(10)),
            PointConfig(name: "P_Freq", type: .real, scope: .icc("HUB"), initial: .real(50)),
        ]
        return c
    }

    static func hubConfig(partnerPort: Int) -> TASE2Configuration {
        var c = TASE2Configuration()
        c.vcc.host = "127.0.0.1"
        c.vcc.port = 0
        c.vcc.apTitle = hubTitle
        c.vcc.aeQualifier = 10
        var t = BilateralTableConfig(id: "BLT_P", icc: "ICC_P", partnerAPTitle: partnerTitle, partnerAEQualifier: 20, transferSets: 4)
        var p = PartnerVCCConfig(connect: ["127.0.0.1:\(partnerPort)"], icc: "HUB",
                                 points: [.vmdSpecific("P_Line_MW"), .domainSpecific(domain: "HUB", item: "P_Freq")])
        p.interval = 0
        p.integrityCheck = 1
        p.rbe = true
        p.critical = true
        t.partnerVCC = p
        c.bilateralTables = [t]
        c.points = [PointConfig(name: "H_Load", type: .realQ, scope: .vcc, initial: .real(1))]
        return c
    }

    /// Waits for a partner value of `name` satisfying `accept`.
    static func await(_ values: inout AsyncStream<PartnerValue>.Iterator, _ name: ObjectName, _ accept: (MMSData) -> Bool) async -> PartnerValue? {
        while let v = await values.next() {
            if v.name == name, case .success(let d) = v.result, accept(d) { return v }
        }
        return nil
    }

    @Test func bothSidesSubscribeOnTheAssociationTheHubCalled() async throws {
        try await withTASE2Server(Self.partnerConfig()) { partner, partnerPort in
            try await withTASE2Server(Self.hubConfig(partnerPort: partnerPort)) { hub, _ in
                var fromPartner = hub.partnerValues.makeAsyncIterator()
                var fromHub = partner.partnerValues.makeAsyncIterator()
                // Integrity reports bring the current values both ways.
                let first = await Self.await(&fromPartner, .vmdSpecific("P_Line_MW")) { $0 == PointType.realQ.data(.real(10)) }
                #expect(first?.bilateralTable == "BLT_P" && first?.conditions?.contains(.integrityTimeOut) == true)
                #expect(await Self.await(&fromPartner, .domainSpecific(domain: "HUB", item: "P_Freq")) { $0 == .float(50) } != nil)
                #expect(await Self.await(&fromHub, .vmdSpecific("H_Load")) { $0 == PointType.realQ.data(.real(1)) }?.bilateralTable == "BLT_HUB")
                // Changes flow both ways (RBE).
                partner.update(partner.handle("P_Line_MW", in: .vcc)!, to: .real(77))
                hub.update(hub.handle("H_Load", in: .vcc)!, to: .real(5))
                #expect(await Self.await(&fromPartner, .vmdSpecific("P_Line_MW")) { $0 == PointType.realQ.data(.real(77)) } != nil)
                #expect(await Self.await(&fromHub, .vmdSpecific("H_Load")) { $0 == PointType.realQ.data(.real(5)) } != nil)
                // One association carries it all: the hub called, the partner never did.
                #expect(partner.mms.associations.count == 1 && hub.mms.associations.isEmpty)
                // The hub's critical transfer set is acknowledged by the hub's client role.
                #expect(partner.vcc.enabledTransferSets.count == 1 && hub.vcc.enabledTransferSets.count == 1)

                // The association is lost: the hub calls again and the values flow again.
                await partner.mms.associations.first?.abort()
                partner.update(partner.handle("P_Line_MW", in: .vcc)!, to: .real(88))
                #expect(await Self.await(&fromPartner, .vmdSpecific("P_Line_MW")) { $0 == PointType.realQ.data(.real(88)) } != nil)
                #expect(partner.mms.associations.count == 1)
            }
        }
    }

    /// A partner that stops answering (here: stops reading, with the TCP connection up) is
    /// noticed by the Identify keepalive although no report is due: the association is aborted
    /// and the hub calls again, and the values flow over the new association.
    @Test func aPartnerThatStopsAnsweringIsNoticedByTheKeepalive() async throws {
        // Each connection the partner accepts gets a valve, announced on a stream.
        let (connections, announce) = AsyncStream.makeStream(of: ReadValve.self)
        let prelude: @Sendable (any Channel) throws -> Void = { channel in
            let v = ReadValve()
            announce.yield(v)
            try channel.pipeline.syncOperations.addHandler(v, position: .first)
        }
        var partnerConfig = Self.partnerConfig()
        partnerConfig.bilateralTables[0].partnerVCC = nil
        try await withTASE2Server(partnerConfig, pipelinePrelude: prelude) { partner, partnerPort in
            var hubConfig = Self.hubConfig(partnerPort: partnerPort)
            hubConfig.bilateralTables[0].partnerVCC?.critical = false
            hubConfig.bilateralTables[0].partnerVCC?.identifyInterval = 1
            let short = MMSTimeouts(request: .seconds(1), release: .seconds(1))
            try await withTASE2Server(hubConfig, timeouts: short) { hub, _ in
                var valves = connections.makeAsyncIterator()
                var fromPartner = hub.partnerValues.makeAsyncIterator()
                let line = partner.handle("P_Line_MW", in: .vcc)!
                partner.update(line, to: .real(11))
                #expect(await Self.await(&fromPartner, .vmdSpecific("P_Line_MW")) { $0 == PointType.realQ.data(.real(11)) } != nil)
                // The partner stops reading, though its integrity reports keep coming: only
                // an unanswered request shows the link is dead.
                let first = try #require(await valves.next())
                first.close()
                // The hub aborts and calls again: a second connection, and values over it.
                let second = await valves.next()
                #expect(second != nil)
                partner.update(line, to: .real(12))
                #expect(await Self.await(&fromPartner, .vmdSpecific("P_Line_MW")) { $0 == PointType.realQ.data(.real(12)) } != nil)
                first.open()
            }
        }
        announce.finish()
    }

    /// A partner that fails our association check (no ICC for us) leaves the association up:
    /// our VCC still serves it, and the check is tried again (a partner that answered late once
    /// must not leave the link without data for the association's life).
    @Test func aPartnerVCCThatFailsTheCheckDoesNotEndTheAssociation() async throws {
        var p = Self.partnerConfig()
        p.bilateralTables[0].partnerVCC = nil
        try await withTASE2Server(p) { partner, partnerPort in
            var h = Self.hubConfig(partnerPort: partnerPort)
            h.bilateralTables[0].partnerVCC?.icc = "NO_SUCH_ICC"
            try await withTASE2Server(h) { hub, _ in
                var failures = 0
                for await e in hub.events {
                    if case .partnerSubscriptionFailed(let t, let reason) = e {
                        #expect(t == "BLT_P" && reason.contains("association check"))
                        failures += 1
                        if failures == 2 { break }
                    }
                }
                #expect(failures == 2)
                // The partner can still use the hub's VCC on the association the hub called.
                let a = try #require(partner.mms.associations.first)
                #expect(try await a.read(.domainSpecific(domain: "ICC_P", item: "Bilateral_Table_ID")) == .visibleString("BLT_P"))
                #expect(try await a.read(.vmdSpecific("H_Load")) == PointType.realQ.data(.real(1)))
                #expect(a.isOpen)
            }
        }
    }
}
