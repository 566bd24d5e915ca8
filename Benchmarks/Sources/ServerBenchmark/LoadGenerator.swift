import Logging
import NIOCore
import MMS
import MMSNIO
import OSI
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

    /// `inFlight` 0: the negotiated limit. The workers run on the association's event loop
    /// (`submit`): each answer's callback sends the worker's next request, so the answers of
    /// one read are followed by their successors in one write, and the generator's own cost
    /// (and thread hops) do not decide how many requests the server finds per wake-up.
    static func run(_ port: Int, _ kind: Kind, inFlight: Int, seconds: Double) async throws -> (ReadLoad, Int) {
        let a = try await connect(port)
        let workers = inFlight > 0 ? inFlight : max(1, a.parameters.maxServOutstandingCalling)
        let requests: [ConfirmedServiceRequest]
        switch kind {
        case .single(let names):
            requests = names.map { .read(ReadRequest(.listOfVariable([VariableAccess($0)]))) }
        case .list(let name):
            requests = [.read(ReadRequest(.variableListName(name)))]
        }
        let warmUp = monotonic() + 0.5
        let loop = a.eventLoop
        let done = loop.makePromise(of: ReadLoad.self)
        loop.execute {
            LoopLoad(association: a, requests: requests, workers: workers, warmUp: warmUp, end: warmUp + seconds).start(done)
        }
        var r = try await done.futureResult.get()
        try? await a.conclude()
        r.seconds = seconds
        return (r, workers)
    }
}

/// The generator's workers, on the association's event loop only (so plain counters).
final class LoopLoad {
    let association: MMSAssociation
    let requests: [ConfirmedServiceRequest]
    let workers: Int
    let warmUp: Double
    let end: Double
    var totals = ReadLoad()
    var running = 0
    var done: EventLoopPromise<ReadLoad>?

    init(association: MMSAssociation, requests: [ConfirmedServiceRequest], workers: Int, warmUp: Double, end: Double) {
        self.association = association
        self.requests = requests
        self.workers = workers
        self.warmUp = warmUp
        self.end = end
    }

    func start(_ done: EventLoopPromise<ReadLoad>) {
        self.done = done
        running = workers
        for w in 0..<workers { issue(w) }
    }

    /// Worker `w`'s next request: name `i` of the rotation (workers take every `workers`-th).
    func issue(_ i: Int) {
        let now = monotonic()
        guard now < end else {
            running -= 1
            if running == 0 { done?.succeed(totals) }
            return
        }
        let counting = now >= warmUp
        let bound = NIOLoopBound(self, eventLoop: association.eventLoop)
        association.submit(requests[i % requests.count]).whenComplete { result in
            let me = bound.value
            if counting {
                me.totals.requests += 1
                // A failed result (DataAccessError) is an error, as `read` throws it.
                if case .success(.read(let r)) = result, !r.results.isEmpty,
                   !r.results.contains(where: { if case .failure = $0 { true } else { false } }) {
                    me.totals.values += r.results.count
                } else {
                    me.totals.errors += 1
                }
            }
            me.issue(i + me.workers)
        }
    }
}
