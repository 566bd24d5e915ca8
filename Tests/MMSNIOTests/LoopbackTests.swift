import BER
import InteropFixture
import Logging
import MMS
import MMSNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import OSI
import Synchronization
import Foundation
import Testing

func icc1(_ n: String) -> ObjectName { .domainSpecific(domain: "ICC1", item: n) }

@Suite("Our client against our server over TCP", .timeLimit(.minutes(1)))
struct LoopbackTests {
    @Test func fullServiceList() async throws {
        let received = Mutex<[InformationReport]>([])
        let device = Fixture.makeDevice(onReport: { r, _ in received.withLock { $0.append(r) } })
        try await withServer(device) { server, port in
            let a = try await MMSClient.connect(clientConfig(port))
            #expect(a.info.peerAPTitle == [1, 1, 1, 999, 1])
            let id = try await a.identify()
            #expect(id.vendorName == "FreeTase2")
            #expect(try await a.getNameList(.domain, scope: .vmdSpecific) == ["ICC1", "ICC2"])
            #expect(try await a.getNameList(.namedVariable, scope: .vmdSpecific) == ["Supported_Features", "TASE2_Version", "VMD_Counter", "VMD_Real"])
            #expect(try await a.getNameList(.namedVariable, scope: .domainSpecific("ICC1")) == ["Bilateral_Table_ID", "Breaker_1", "Setpoint_1", "Values_Array", "Voltage_1"])
            #expect(try await a.getNameList(.namedVariableList, scope: .domainSpecific("ICC1")) == ["DS_Analog"])
            #expect(try await a.read(.vmdSpecific("TASE2_Version")) == .structure([.integer(2000), .integer(8)]))
            #expect(try await a.read(icc1("Values_Array")) == .array([.float(1), .float(2), .float(3.5)]))
            #expect(try await a.read(icc1("Voltage_1"), alternateAccess: .component("Value")) == .float(230.5))
            #expect(try await a.read(icc1("Voltage_1$Flags")) == Fixture.flags(0))
            // Several variables in one PDU, one of them unknown.
            let many = try await a.read([VariableAccess(.vmdSpecific("VMD_Real")), VariableAccess(icc1("Nope")), VariableAccess(.domainSpecific(domain: "ICC9", item: "X"))])
            #expect(many == [.success(.float(1.5)), .failure(.objectNonExistent), .failure(.objectNonExistent)])
            try await a.write(icc1("Setpoint_1"), .float(12.25))
            #expect(try await a.read(icc1("Setpoint_1")) == .float(12.25))
            try await a.write(icc1("Voltage_1"), .float(99), alternateAccess: .component("Value"))
            #expect(try await a.read(icc1("Voltage_1")) == .structure([.float(99), Fixture.flags(0)]))
            await #expect(throws: DataAccessError.objectAccessDenied) { try await a.write(icc1("Bilateral_Table_ID"), .visibleString("x")) }
            await #expect(throws: DataAccessError.typeInconsistent) { try await a.write(icc1("Setpoint_1"), .integer(3)) }
            try await a.defineList(icc1("CLIENT_DS"), members: [VariableAccess(icc1("Voltage_1")), VariableAccess(icc1("Setpoint_1"))])
            #expect(try await a.read(list: icc1("CLIENT_DS")).count == 2)
            let attrs = try await a.listAttributes(icc1("CLIENT_DS"))
            #expect(attrs.mmsDeletable && attrs.variables.count == 2)
            await #expect(throws: MMSAssociationError.serviceError(.definitionObjectExists)) {
                try await a.defineList(icc1("CLIENT_DS"), members: [VariableAccess(icc1("Voltage_1"))])
            }
            await #expect(throws: MMSAssociationError.serviceError(.definitionObjectUndefined)) {
                try await a.defineList(icc1("BAD_DS"), members: [VariableAccess(icc1("Missing"))])
            }
            let del = try await a.deleteLists([icc1("CLIENT_DS"), icc1("DS_Analog")])
            #expect(del == DeleteNamedVariableListResponse(numberMatched: 2, numberDeleted: 1))
            let type = try await a.variableAccessAttributes(icc1("Voltage_1"))
            #expect(type.typeSpecification == Fixture.realQ)

            // Reports in both forms, from the server to this association.
            let serverSide = try #require(server.associations.first)
            for r in Fixture.reports(device) { try await serverSide.send(r) }
            var it = a.informationReports.makeAsyncIterator()
            let r1 = await it.next()
            let r2 = await it.next()
            #expect(r1 == Fixture.reports(device)[0])
            #expect(r2?.variableAccessSpecification == .variableListName(.vmdSpecific("VMD_DS")))
            // And one from the client to the server.
            try await a.send(InformationReport(.listOfVariable([VariableAccess(icc1("Transfer_Report_ACK"))]), results: [.success(.visibleString("ack"))]))
            // Dual role: the server asks the client (which serves nothing here) and gets a reject.
            await #expect(throws: MMSAssociationError.self) { _ = try await serverSide.identify() }
            try await a.conclude()
            #expect(!a.isOpen)
            #expect(received.withLock { $0.count } == 1)
            // The server forgets the association (before its end is told).
            await serverSide.waitUntilClosed()
            #expect(server.associations.isEmpty)
        }
    }

    @Test func pipelinedRequestsAndPaging() async throws {
        let device = InMemoryVMD()
        for i in 0..<3000 {
            device.setVariable(.vmdSpecific("Point_\(String(i + 100_000))"), .init(type: .float32, value: .float(Float(i))))
        }
        device.setVariable(.vmdSpecific("Blob"), .init(type: .octetString(3000), value: .octetString([UInt8](repeating: 1, count: 3000))))
        var cfg = MMSServer.Configuration(host: "127.0.0.1", port: 0)
        cfg.limits = MMSLimits(maxPDUSize: 4000, maxServOutstandingCalled: 3)
        try await withServer(device, configuration: cfg) { _, port in
            let a = try await MMSClient.connect(clientConfig(port))
            #expect(a.parameters.maxPDUSize == 4000)
            // Paging: 3000 names do not fit a 4000-octet PDU.
            let names = try await a.getNameList(.namedVariable, scope: .vmdSpecific)
            #expect(names.count == 3001)
            #expect(names == names.sorted())
            // 50 concurrent reads: never more than 3 outstanding on the wire, all answered.
            try await withThrowingTaskGroup(of: MMSData.self) { g in
                for i in 0..<50 { g.addTask { try await a.read(.vmdSpecific("Point_\(100_000 + i)")) } }
                var n = 0
                for try await _ in g { n += 1 }
                #expect(n == 50)
            }
            // A read whose response exceeds the negotiated PDU size gets a pdu-size error, not an oversize PDU.
            let many = [VariableAccess(.vmdSpecific("Blob")), VariableAccess(.vmdSpecific("Blob"))]
            #expect(try await a.read([VariableAccess(.vmdSpecific("Blob"))]).count == 1)
            do {
                _ = try await a.read(many)
                Issue.record("an oversized response was sent")
            } catch MMSAssociationError.serviceError(let e) {
                #expect(e.errorClass == .service && e.code == 3)
            }
            await a.abort()
        }
    }

    @Test func refusedAssociationAndBadPeers() async throws {
        let device = Fixture.makeDevice(accept: { r in r.callingAPTitle == [1, 1, 1, 999] ? .accept : .reject(.callingAPTitleNotRecognized) })
        var cfg = MMSServer.Configuration(host: "127.0.0.1", port: 0)
        // Long enough for the good client to associate on a loaded 2-core CI machine (the timer
        // runs from the TCP connect), short enough to keep the test quick.
        cfg.timeouts = MMSTimeouts(associate: .seconds(4), partialPDU: .seconds(2))
        try await withServer(device, configuration: cfg) { server, port in
            var c = clientConfig(port)
            c.local.apTitle = [1, 2, 3]
            await #expect(throws: MMSAssociationError.self) { _ = try await MMSClient.connect(c) }

            // A peer that sends nothing, and one that sends half a TPKT, are dropped; a good one is not disturbed.
            let good = try await MMSClient.connect(clientConfig(port))
            let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
            let half = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
            try await half.writeAndFlush(ByteBuffer(bytes: [0x03, 0x00, 0x00, 0x16, 0x11])).get()
            let garbage = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
            try await garbage.writeAndFlush(ByteBuffer(bytes: [0x47, 0x45, 0x54, 0x20, 0x2F, 0x20, 0x48, 0x54, 0x54, 0x50])).get()
            try await garbage.closeFuture.get()
            try await silent.closeFuture.get()
            try await half.closeFuture.get()
            #expect(try await good.read(.vmdSpecific("VMD_Counter")) == .integer(42))
            #expect(server.associations.count == 1)
            try await good.conclude()
        }
    }
}

@Suite("Dual role and cancellation", .timeLimit(.minutes(1)))
struct DualRoleTests {
    @Test func serverAsksTheClientOnTheSameAssociation() async throws {
        // The calling side hosts a model too: the called side reads from it (ICCP partners do both).
        let clientModel = InMemoryVMD(identity: IdentifyResponse(vendorName: "client-side", modelName: "m", revision: "1"))
        clientModel.setVariable(.vmdSpecific("Client_Point"), .init(type: .float32, value: .float(7)))
        try await withServer(Fixture.makeDevice()) { server, port in
            try await MMSClient.withAssociation(clientConfig(port), serving: clientModel) { a in
                let s = try #require(server.associations.first)
                #expect(try await s.identify().vendorName == "client-side")
                #expect(try await s.read(.vmdSpecific("Client_Point")) == .float(7))
                // Meanwhile the client keeps using the server.
                #expect(try await a.read(.vmdSpecific("VMD_Counter")) == .integer(42))
            }
        }
    }

    /// Requests chained on the event loop with `submit` (as a gateway or the load generator
    /// does): more workers than the server's limit of 3 outstanding, every answer right, every
    /// callback on the loop.
    @Test func requestsChainedOnTheEventLoop() async throws {
        let device = InMemoryVMD()
        for i in 0..<40 { device.setVariable(.vmdSpecific("P\(i)"), .init(type: .integer(32), value: .integer(Int64(i)))) }
        var cfg = MMSServer.Configuration(host: "127.0.0.1", port: 0)
        cfg.limits = MMSLimits(maxServOutstandingCalled: 3)
        try await withServer(device, configuration: cfg) { _, port in
            let a = try await MMSClient.connect(clientConfig(port))
            let done = a.eventLoop.makePromise(of: [Int: MMSData].self)
            let seen = NIOLockedValueBox<(answers: [Int: MMSData], offLoop: Int, left: Int)>(([:], 0, 5))
            @Sendable func next(_ i: Int) {
                guard i < 40 else {
                    if seen.withLockedValue({ $0.left -= 1; return $0.left }) == 0 { done.succeed(seen.withLockedValue { $0.answers }) }
                    return
                }
                a.submit(.read(ReadRequest(.listOfVariable([VariableAccess(.vmdSpecific("P\(i)"))])))).whenComplete { r in
                    seen.withLockedValue { s in
                        if !a.eventLoop.inEventLoop { s.offLoop += 1 }
                        if case .success(.read(let read)) = r, case .success(let d)? = read.results.first { s.answers[i] = d }
                    }
                    next(i + 5)
                }
            }
            a.eventLoop.execute { for w in 0..<5 { next(w) } }
            let answers = try await done.futureResult.get()
            #expect(answers.count == 40)
            #expect(answers.allSatisfy { $0.value == .integer(Int64($0.key)) })
            #expect(seen.withLockedValue { $0.offLoop } == 0)
            try await a.conclude()
        }
    }

    /// After the association ended, a request or a conclude fails at once, never waits: the
    /// handler has left the pipeline, and its promises were once dropped with the writes.
    @Test func aRequestAfterTheEndFails() async throws {
        try await withServer(Fixture.makeDevice()) { _, port in
            let a = try await MMSClient.connect(clientConfig(port))
            await a.abort()
            await #expect(throws: MMSAssociationError.notAssociated) { _ = try await a.read(.vmdSpecific("VMD_Counter")) }
            await #expect(throws: MMSAssociationError.notAssociated) { _ = try await a.submit(.identify).get() }
            await #expect(throws: MMSAssociationError.notAssociated) { try await a.conclude() }
        }
    }

    @Test func cancelledRequestFreesItsSlot() async throws {
        try await withServer(Fixture.makeDevice()) { _, port in
            let a = try await MMSClient.connect(clientConfig(port))
            let t = Task { try await a.read(.vmdSpecific("VMD_Counter")) }
            t.cancel()
            _ = await t.result
            #expect(try await a.read(.vmdSpecific("VMD_Counter")) == .integer(42))
            try await a.conclude()
        }
    }
}

@Suite("Server lifetime", .timeLimit(.minutes(1)))
struct ServerLifetimeTests {
    @Test func aServerThatNeverRanGoesAwayQuietly() {
        for _ in 0..<3 { _ = MMSServer(configuration: MMSServer.Configuration(host: "127.0.0.1", port: 0), device: InMemoryVMD()) }
    }
}

@Suite("Backpressure", .timeLimit(.minutes(1)))
struct BackpressureTests {
    /// A client that floods requests and never reads its answers does not disturb another
    /// association (the server pauses reading it while its answers pile up).
    @Test func aPeerThatDoesNotReadIsPaused() async throws {
        let device = InMemoryVMD()
        device.setVariable(.vmdSpecific("Blob"), .init(type: .octetString(60_000), value: .octetString([UInt8](repeating: 7, count: 60_000))))
        try await withServer(device) { server, port in
            // Associate with the state machine over a raw socket, then flood reads without reading.
            var sm = SM(role: .calling, configuration: .init(local: OSIAddress(apTitle: [1, 1, 1, 999], aeQualifier: 12)))
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_rcvbuf), value: 4096)
                .channelOption(.autoRead, value: false)
                .connect(host: "127.0.0.1", port: port).get()
            let collector = ResponseCollector()
            try await channel.pipeline.addHandler(collector).get()
            func send(_ a: SM.Action) async throws {
                if let w = written(a) { try await channel.writeAndFlush(w).get() }
            }
            /// Reads until the machine has something to say (autoRead is off: nothing else is read).
            func exchange() async throws -> [SM.Action] {
                for _ in 0..<100 {
                    channel.read()
                    let bytes = try await collector.next()
                    let actions = feed(&sm, bytes)
                    if !actions.isEmpty { return actions }
                }
                return []
            }
            try await send(sm.connected(now: .now()))
            for a in try await exchange() { try await send(a) }  // CC → CN
            _ = try await exchange()  // AC
            #expect(sm.isAssociated)
            for id in 1...200 {
                let read = ConfirmedServiceRequest.read(ReadRequest(.listOfVariable([VariableAccess(.vmdSpecific("Blob"))])))
                // Past the negotiated limit the machine queues; write straight to the socket instead.
                let frame = try #require(sm.framing).frame(.confirmedRequest(invokeID: UInt32(id), read))
                try await channel.writeAndFlush(frame).get()
            }
            // 200 answers of 60 kB stay unread (the server pauses reading this peer once its
            // outbound buffer passes the high-water mark). Meanwhile a normal client is served.
            let good = try await MMSClient.connect(clientConfig(port))
            #expect(try await good.identify().vendorName == "FreeTase2")
            try await good.conclude()
            _ = server
            try await channel.close()
        }
    }
}

/// Collects what a raw client channel reads, for `next()`.
final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
    var iterator: AsyncStream<ByteBuffer>.AsyncIterator?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func next() async throws -> ByteBuffer {
        if iterator == nil { iterator = stream.makeAsyncIterator() }
        guard let b = await iterator!.next() else { throw TestFailure("connection ended") }
        return b
    }
}
