import BER
import MMS

/// Identifies a DS transfer set: its ICC and its slot in that ICC's pool.
struct TransferSetKey: Hashable, Sendable, CustomStringConvertible {
    let icc: String
    let slot: Int
    var description: String { "\(icc)#\(slot)" }
}

/// A report a transfer set owes, for the report loop to build and send.
struct ReportJob: Sendable, Hashable {
    enum Content: Sendable, Hashable {
        /// Every member (named-variable-list form).
        case full
        /// The members that changed (listOfVariable form); with `skipIfNone`, nothing is sent
        /// when none did (an RBE interval report, as SISCO does).
        case changes(skipIfNone: Bool)
    }
    let key: TransferSetKey
    let cause: DSConditions
    let content: Content
    let eventCode: Int16
    /// When it fell due (monotonic).
    let due: Double
}

/// The schedule of every enabled DS transfer set of one association, as a pure value: given
/// the monotonic time it says which reports are due and when the next falls due, in closed
/// form (a StartTime of 2 in 1970 is a multiplication, not a loop). The wall clock only places
/// StartTime on the monotonic axis when a transfer set is enabled, and stamps reports.
///
/// Rules (spec §5.2, libtase2, SISCO): nothing before StartTime; IntegrityTimeOut and
/// IntervalTimeOut due at once send the integrity report alone; object changes report
/// BufferTime after the first change; a periodic report later than TLE is not sent; with RBE an
/// interval report carries the changes, and none when nothing changed.
struct TransferSetEngine: Sendable {
    struct Scheduled: Sendable {
        let settings: DSTransferSet
        /// StartTime on the monotonic axis.
        let start: Double
        var nextInterval: Double
        var nextIntegrity: Double
        /// First change + BufferTime (not before start), while changes wait.
        var changeDue: Double?
        /// Operator requests and external events waiting for their report.
        var requests: [(cause: DSConditions, eventCode: Int16)] = []
        /// Critical reports sent and not acknowledged: their Transfer_Set_Time_Stamp and when sent.
        var outstanding: [(timeStamp: Int32, sentAt: Double)] = []
    }

    private(set) var sets: [TransferSetKey: Scheduled] = [:]

    var isEmpty: Bool { sets.isEmpty }
    func settings(_ key: TransferSetKey) -> DSTransferSet? { sets[key]?.settings }

    /// The first occurrence of a period after `now`, counting from `start`.
    static func first(_ period: Int32, start: Double, after now: Double) -> Double {
        let p = Double(period)
        guard now >= start else { return start + p }
        return start + p * ((now - start) / p + 1).rounded(.down)
    }

    /// Enables a transfer set: `wall` and `now` are the two clocks at this moment.
    mutating func enable(_ key: TransferSetKey, _ v: DSTransferSet, now: Double, wall: Double) {
        // StartTime (GMTBasedS) on the monotonic axis; 0 means now, and the past rolls forward.
        let start = v.startTime > 0 ? now + (Double(v.startTime) - wall) : now
        let interval = v.conditions.contains(.intervalTimeOut) && v.interval > 0 ? Self.first(v.interval, start: start, after: now) : .infinity
        let integrity = v.conditions.contains(.integrityTimeOut) && v.integrityCheck > 0
            ? Self.first(v.integrityCheck, start: start, after: now) : .infinity
        sets[key] = Scheduled(settings: v, start: start, nextInterval: interval, nextIntegrity: integrity)
    }

    mutating func disable(_ key: TransferSetKey) -> Scheduled? { sets.removeValue(forKey: key) }

    /// A watched member changed at `at` (the change set just turned dirty).
    mutating func changed(_ key: TransferSetKey, at: Double) {
        guard var s = sets[key], s.changeDue == nil else { return }
        let v = s.settings
        // Without ObjectChange the changes wait for the next (RBE) interval report.
        guard v.conditions.contains(.objectChange) else { return }
        s.changeDue = max(at + Double(v.bufferTime), s.start)
        sets[key] = s
    }

    /// An operator request or external event for every transfer set that asked for it; returns how many.
    mutating func request(_ cause: DSConditions, eventCode: Int16, matching: (DSTransferSet) -> Bool) -> Int {
        var n = 0
        for (k, s) in sets where s.settings.conditions.contains(cause) && matching(s.settings) {
            sets[k]!.requests.append((cause, eventCode))
            n += 1
        }
        return n
    }

    /// The reports due at `now`; advances the schedules. `stale` gets the periodic reports that
    /// were due longer than TLE ago (and are not sent).
    mutating func due(at now: Double, stale: (TransferSetKey, DSConditions) -> Void = { _, _ in }) -> [ReportJob] {
        var jobs: [ReportJob] = []
        for (k, var s) in sets {
            guard now >= s.start else { continue }
            let v = s.settings
            let tle = Double(v.tle)
            func late(_ due: Double) -> Bool { tle > 0 && now - due > tle }
            let integrityDue = s.nextIntegrity <= now
            let intervalDue = s.nextInterval <= now
            if integrityDue {
                if late(s.nextIntegrity) { stale(k, .integrityTimeOut) } else {
                    jobs.append(ReportJob(key: k, cause: .integrityTimeOut, content: .full, eventCode: 0, due: s.nextIntegrity))
                }
                s.nextIntegrity = Self.first(v.integrityCheck, start: s.start, after: now)
                s.changeDue = nil
            }
            if intervalDue {
                // Due with an integrity report: the integrity report alone (SISCO).
                if !integrityDue {
                    if late(s.nextInterval) { stale(k, .intervalTimeOut) } else {
                        jobs.append(ReportJob(key: k, cause: .intervalTimeOut, content: v.rbe ? .changes(skipIfNone: true) : .full,
                                              eventCode: 0, due: s.nextInterval))
                    }
                }
                s.nextInterval = Self.first(v.interval, start: s.start, after: now)
            }
            if let c = s.changeDue, c <= now, !integrityDue {
                jobs.append(ReportJob(key: k, cause: .objectChange, content: v.rbe ? .changes(skipIfNone: true) : .full, eventCode: 0, due: c))
                s.changeDue = nil
            } else if integrityDue {
                s.changeDue = nil
            }
            for r in s.requests { jobs.append(ReportJob(key: k, cause: r.cause, content: .full, eventCode: r.eventCode, due: now)) }
            s.requests.removeAll()
            sets[k] = s
        }
        return jobs.sorted { $0.due < $1.due }
    }

    /// When `due` next has something to say (infinity when nothing is scheduled).
    var nextDue: Double {
        var t = Double.infinity
        for s in sets.values {
            t = min(t, max(s.start, min(s.nextInterval, s.nextIntegrity, s.changeDue ?? .infinity, s.requests.isEmpty ? .infinity : s.start)))
        }
        return t
    }

    /// Earliest time a critical report times out.
    func nextCriticalTimeout(after timeout: Double) -> Double {
        sets.values.compactMap { $0.outstanding.first.map { $0.sentAt + timeout } }.min() ?? .infinity
    }

    // MARK: Critical transfers

    mutating func sentCritical(_ key: TransferSetKey, timeStamp: Int32, at now: Double) {
        sets[key]?.outstanding.append((timeStamp, now))
    }

    /// An ACK clears the outstanding reports up to its time stamp (all when it has none); true when any were.
    mutating func acknowledged(_ key: TransferSetKey, timeStamp: Int64?) -> Bool {
        guard var s = sets[key] else { return false }
        let before = s.outstanding.count
        s.outstanding.removeAll { r in timeStamp.map { Int64(r.timeStamp) <= $0 } ?? true }
        sets[key] = s
        return s.outstanding.count < before
    }

    /// Critical reports not acknowledged within `timeout`, removed.
    mutating func expired(at now: Double, timeout: Double) -> [(TransferSetKey, Int32)] {
        var out: [(TransferSetKey, Int32)] = []
        for (k, s) in sets {
            var s = s
            while let f = s.outstanding.first, now - f.sentAt >= timeout {
                out.append((k, f.timeStamp))
                s.outstanding.removeFirst()
            }
            sets[k] = s
        }
        return out
    }

    func outstanding(_ key: TransferSetKey) -> Int { sets[key]?.outstanding.count ?? 0 }
}
