import BER
import Foundation
import InteropFixture
import Logging
import MMS
@testable import MMSNIO
import NIOCore
import NIOPosix
import Testing

@Suite("Requests of one association are served in order", .timeLimit(.minutes(1)))
struct OrderingTests {
    /// 200 Write-then-Read pairs pipelined on one association: every Read sees its Write.
    @Test func aReadAfterAWriteReadsTheWrittenValue() async throws {
        let device = Fixture.makeDevice()
        try await withServer(device) { _, port in
            let a = try await MMSClient.connect(clientConfig(port))
            var services: [ConfirmedServiceRequest] = []
            for i in 0..<200 {
                services.append(.write(WriteRequest(.listOfVariable([VariableAccess(.vmdSpecific("VMD_Real"))]), data: [.float(Float(i))])))
                services.append(.read(ReadRequest(.listOfVariable([VariableAccess(.vmdSpecific("VMD_Real"))]))))
            }
            let results = await a.requests(services)
            var wrong = 0
            for i in 0..<200 {
                guard case .success(.read(let r)) = results[2 * i + 1], r.results == [.success(.float(Float(i)))] else {
                    wrong += 1
                    continue
                }
            }
            #expect(wrong == 0, "\(wrong) of 200 reads did not see the write before them")
            try await a.conclude()
        }
    }
}

@Suite("Connection admission", .timeLimit(.minutes(1)))
struct AdmissionTests {
    /// 300 connections that never associate and one that dribbles a byte at a time cannot lock
    /// a partner out: the newcomer evicts the oldest connection that has not associated.
    @Test func idleConnectionsDoNotLockOutAPartner() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        try await withServer(Fixture.makeDevice()) { server, port in
            var idle: [any Channel] = []
            for _ in 0..<300 {
                idle.append(try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get())
            }
            // The slow sender: half a CR, a byte at a time.
            let slow = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
            let dribble = Task {
                for b: UInt8 in [0x03, 0x00, 0x00, 0x16, 0x11, 0xE0] {
                    try await slow.writeAndFlush(ByteBuffer(bytes: [b])).get()
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let clock = ContinuousClock()
            let start = clock.now
            let partner = try await MMSClient.connect(clientConfig(port))
            let took = clock.now - start
            #expect(took < .seconds(1), "a partner took \(took) to associate")
            #expect(try await partner.read(.vmdSpecific("VMD_Counter")) == .integer(42))
            // The limit was hit: all but the newest pending connections were closed by the server.
            var closed = 0
            for c in idle {
                let isClosed = await withCheckedContinuation { k in c.eventLoop.execute { k.resume(returning: !c.isActive) } }
                if isClosed { closed += 1 }
            }
            #expect(closed >= 300 - 16, "only \(closed) of 300 idle connections were closed")
            #expect(server.connectionCount <= 18)
            dribble.cancel()
            try await partner.conclude()
            for c in idle { try? await c.close() }
            try? await slow.close()
        }
    }

    /// Established associations are never evicted by strangers: at the cap, newcomers are refused.
    @Test func establishedAssociationsStay() async throws {
        var cfg = MMSServer.Configuration(host: "127.0.0.1", port: 0)
        cfg.maxConnections = 3
        try await withServer(Fixture.makeDevice(), configuration: cfg) { server, port in
            var partners: [MMSAssociation] = []
            for _ in 0..<3 { partners.append(try await MMSClient.connect(clientConfig(port))) }
            await #expect(throws: MMSAssociationError.self) { _ = try await MMSClient.connect(clientConfig(port)) }
            for p in partners { #expect(try await p.read(.vmdSpecific("VMD_Counter")) == .integer(42)) }
            #expect(server.associations.count == 3)
            for p in partners { try await p.conclude() }
        }
    }
}
