import Logging
import MMS
import MMSNIO
import OSI
import Synchronization
import TASE2

/// Our native load generator: MMS reads over one association, either one at a time or with as
/// many in flight as the server allows (the negotiated outstanding limit), for a fixed time.
struct ReadLoad: Sendable {
    enum Kind: Sendable { case single([ObjectName]), list(ObjectName) }
    var requests = 0
    var values = 0
    var errors = 0
    var seconds = 0.0

    static func connect(_ port: Int) async throws -> MMSAssociation {
        var cfg = MMSClient.Configuration(host: "127.0.0.1", port: port)
        cfg.local.apTitle = [1, 1, 1, 999]
        cfg.local.aeQualifier = 12
        // Quiet: the scale run's clients read no reports on purpose, and every association logs.
        var logger = Logger(label: "bench.client")
        logger.logLevel = .critical
        return try await MMSClient.connect(cfg, logger: logger)
    }

    /// `inFlight` 0: the negotiated limit.
    static func run(_ port: Int, _ kind: Kind, inFlight: Int, seconds: Double) async throws -> (ReadLoad, Int) {
        let a = try await connect(port)
        let workers = inFlight > 0 ? inFlight : max(1, a.parameters.maxServOutstandingCalling)
        let total = Totals()
        let warmUp = monotonic() + 0.5
        let end = warmUp + seconds
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<workers {
                group.addTask {
                    var mine = ReadLoad()
                    var i = w
                    while true {
                        let now = monotonic()
                        if now >= end { break }
                        let counting = now >= warmUp
                        do {
                            switch kind {
                            case .single(let names):
                                _ = try await a.read(names[i % names.count])
                                i += workers
                                if counting { mine.values += 1 }
                            case .list(let name):
                                let r = try await a.read(list: name)
                                if counting { mine.values += r.count }
                            }
                        } catch {
                            if counting { mine.errors += 1 }
                        }
                        if counting { mine.requests += 1 }
                    }
                    total.m.withLock { t in
                        t.requests += mine.requests
                        t.values += mine.values
                        t.errors += mine.errors
                    }
                }
            }
        }
        try? await a.conclude()
        var r = total.m.withLock { $0 }
        r.seconds = seconds
        return (r, workers)
    }
}

final class Totals: Sendable {
    let m = Mutex(ReadLoad())
}
