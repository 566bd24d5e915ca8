import Testing
@testable import TASE2
import Synchronization

/// The pure transfer-set scheduler, one rule at a time. Times are plain numbers: `now` on the
/// monotonic axis, `wall` the wall clock at that moment (they differ, as they do on a real host).
@Suite("TransferSetEngine rules", .timeLimit(.minutes(1)))
struct TransferSetEngineTests {
    let key = TransferSetKey(icc: "ICC1", slot: 0)
    /// A host up for 1000 s at 2027-01-15: monotonic 1000 is wall 1_800_000_000.
    let now = 1000.0
    let wall = 1_800_000_000.0

    func settings(_ configure: (inout DSTransferSet) -> Void) -> DSTransferSet {
        var d = DSTransferSet()
        d.status = true
        configure(&d)
        return d
    }

    /// StartTime = 2 (1970) with Interval 5, as the Siemens partner writes it: the next report
    /// is found in closed form (a loop from 1970 would take ~3.6e8 steps and trip the time limit)
    /// and lands on the 5 s grid counted from StartTime.
    @Test func startTimeInThePastIsClosedForm() {
        var e = TransferSetEngine()
        e.enable(key, settings { $0.startTime = 2; $0.interval = 5; $0.conditions = [.intervalTimeOut] }, now: now, wall: wall)
        let next = e.nextDue
        #expect(next > now && next <= now + 5)
        // On the grid: wall time of the report minus StartTime is a multiple of 5.
        let wallAtNext = wall + (next - now)
        #expect((wallAtNext - 2).truncatingRemainder(dividingBy: 5) == 0)
        let r1 = e.due(at: next - 0.001)
        #expect(r1.isEmpty)
        let r2 = e.due(at: next)
        #expect(r2.map(\.cause) == [.intervalTimeOut])
        // Far in the future (a host that slept): one report, the next again on the grid.
        let later = next + 1e9 + 2.5
        let r3 = e.due(at: later)
        #expect(r3.count == 1)
        #expect(e.nextDue > later && e.nextDue <= later + 5)
    }

    /// Nothing before a StartTime in the future: neither periodic nor object-change reports.
    @Test func nothingBeforeStartTime() {
        var e = TransferSetEngine()
        e.enable(key, settings { $0.startTime = Int32(wall + 10); $0.interval = 2; $0.conditions = [.intervalTimeOut, .objectChange] },
                 now: now, wall: wall)
        e.changed(key, at: now + 1)
        let r4 = e.due(at: now + 9.9)
        #expect(r4.isEmpty)
        #expect(e.nextDue == now + 10)
        // At StartTime the change reports; the first interval report is one Interval after it.
        let r5 = e.due(at: now + 10)
        #expect(r5.map(\.cause) == [.objectChange])
        #expect(e.nextDue == now + 12)
        let r6 = e.due(at: now + 12)
        #expect(r6.map(\.cause) == [.intervalTimeOut])
    }

    /// IntegrityTimeOut and IntervalTimeOut due at one instant: the integrity report alone (SISCO).
    @Test func integrityAloneWhenBothAreDue() {
        var e = TransferSetEngine()
        e.enable(key, settings { $0.interval = 2; $0.integrityCheck = 4; $0.conditions = [.intervalTimeOut, .integrityTimeOut] },
                 now: now, wall: wall)
        let r7 = e.due(at: now + 2)
        #expect(r7.map(\.cause) == [.intervalTimeOut])
        let both = e.due(at: now + 4)
        #expect(both.map(\.cause) == [.integrityTimeOut])
        #expect(both.first?.content == .full)
        let r8 = e.due(at: now + 6)
        #expect(r8.map(\.cause) == [.intervalTimeOut])
    }

    /// A periodic report due longer than TLE ago is not sent, and is told as stale.
    @Test func lateReportsBeyondTLEAreSkipped() {
        var e = TransferSetEngine()
        e.enable(key, settings { $0.interval = 2; $0.tle = 3; $0.conditions = [.intervalTimeOut] }, now: now, wall: wall)
        var stale: [DSConditions] = []
        // The loop was held up: 5 s after the report was due (> TLE 3).
        let r9 = e.due(at: now + 7) { _, c in stale.append(c) }
        #expect(r9.isEmpty)
        #expect(stale == [.intervalTimeOut])
        // Within TLE it is sent.
        stale = []
        let r10 = e.due(at: now + 8.5) { _, c in stale.append(c) }
        #expect(r10.map(\.cause) == [.intervalTimeOut])
        #expect(stale.isEmpty)
    }

    /// Object change: BufferTime after the first change, one report for changes within it.
    @Test func objectChangeWaitsBufferTime() {
        var e = TransferSetEngine()
        e.enable(key, settings { $0.bufferTime = 2; $0.rbe = true; $0.conditions = [.objectChange] }, now: now, wall: wall)
        e.changed(key, at: now + 1)
        e.changed(key, at: now + 2.5)
        let r11 = e.due(at: now + 2.9)
        #expect(r11.isEmpty)
        let jobs = e.due(at: now + 3)
        #expect(jobs.map(\.cause) == [.objectChange] && jobs.first?.content == .changes(skipIfNone: true))
        #expect(e.nextDue == .infinity)
        // Without ObjectChange requested, changes wait for the next (RBE) interval report.
        var f = TransferSetEngine()
        f.enable(key, settings { $0.interval = 5; $0.rbe = true; $0.conditions = [.intervalTimeOut] }, now: now, wall: wall)
        f.changed(key, at: now + 1)
        let r12 = f.due(at: now + 4)
        #expect(r12.isEmpty)
        let r13 = f.due(at: now + 5)
        #expect(r13.first?.content == .changes(skipIfNone: true))
    }

    /// An integrity report carries everything: a change waiting for its BufferTime goes with it.
    @Test func integrityAbsorbsAPendingChange() {
        var e = TransferSetEngine()
        e.enable(key, settings { $0.bufferTime = 3; $0.integrityCheck = 4; $0.conditions = [.objectChange, .integrityTimeOut] },
                 now: now, wall: wall)
        e.changed(key, at: now + 3)
        let r14 = e.due(at: now + 4)
        #expect(r14.map(\.cause) == [.integrityTimeOut])
        let r15 = e.due(at: now + 6)
        #expect(r15.isEmpty)
    }

    /// Operator requests and external events report at once, for the transfer sets that asked.
    @Test func requestsReportAtOnce() {
        var e = TransferSetEngine()
        e.enable(key, settings { $0.conditions = [.operatorRequest] }, now: now, wall: wall)
        let other = TransferSetKey(icc: "ICC1", slot: 1)
        e.enable(other, settings { $0.conditions = [.otherExternalEvent]; $0.eventCodeRequested = 7 }, now: now, wall: wall)
        let r16 = e.request(.operatorRequest, eventCode: 0) { _ in true }
        #expect(r16 == 1)
        let r17 = e.request(.otherExternalEvent, eventCode: 8) { $0.eventCodeRequested == 8 }
        #expect(r17 == 0)
        let r18 = e.request(.otherExternalEvent, eventCode: 7) { $0.eventCodeRequested == 7 }
        #expect(r18 == 1)
        #expect(e.nextDue == now)
        let jobs = e.due(at: now)
        #expect(Set(jobs.map(\.cause)) == [.operatorRequest, .otherExternalEvent])
        #expect(jobs.first { $0.cause == .otherExternalEvent }?.eventCode == 7)
    }

    /// Critical reports stay outstanding until acknowledged (up to a time stamp) or timed out.
    @Test func criticalReportsAreOutstandingUntilAcknowledged() {
        var e = TransferSetEngine()
        e.enable(key, settings { $0.critical = true; $0.interval = 1; $0.conditions = [.intervalTimeOut] }, now: now, wall: wall)
        e.sentCritical(key, timeStamp: 100, at: now)
        e.sentCritical(key, timeStamp: 101, at: now + 1)
        e.sentCritical(key, timeStamp: 102, at: now + 2)
        #expect(e.outstanding(key) == 3)
        let r19 = e.acknowledged(key, timeStamp: 101)
        #expect(r19)
        #expect(e.outstanding(key) == 1)
        let r20 = e.acknowledged(key, timeStamp: 101)
        #expect(!r20)
        #expect(e.nextCriticalTimeout(after: 30) == now + 32)
        let r21 = e.expired(at: now + 31.9, timeout: 30)
        #expect(r21.isEmpty)
        let r22 = e.expired(at: now + 32, timeout: 30)
        #expect(r22.map(\.1) == [102])
        #expect(e.outstanding(key) == 0)
    }

    /// The schedule lives on the monotonic axis: the wall clock is read once, at enable.
    @Test func theWallClockIsOnlyReadAtEnable() {
        var e = TransferSetEngine()
        e.enable(key, settings { $0.interval = 2; $0.conditions = [.intervalTimeOut] }, now: now, wall: wall)
        // Whatever the wall clock does afterwards, due() only sees monotonic time.
        for k in 1...5 {
            let jobs = e.due(at: now + Double(2 * k))
            #expect(jobs.count == 1)
        }
    }
}

@Suite("PointStore change sets", .timeLimit(.minutes(1)))
struct PointStoreChangeSetTests {
    /// Two change sets over the same points are each marked in place, taken in data-set order,
    /// and a set unregistered stops being marked; its slot is reused, so enabling and disabling
    /// for ever holds no more slots than were ever live at once.
    @Test func changeSetsAreMarkedInPlaceAndTheirSlotsReused() {
        let n = 100
        let store = PointStore(types: [PointType](repeating: .real, count: n), initial: [PointValue](repeating: .real(0), count: n),
                               writable: [Bool](repeating: false, count: n))
        let dirty = Mutex(0)
        let a = store.register((0..<n).map { PointStore.Key($0) }, allChanges: nil) { _ in dirty.withLock { $0 += 1 } }
        let b = store.register([PointStore.Key(7), nil, PointStore.Key(3)], allChanges: 10) { _ in dirty.withLock { $0 += 1 } }
        store.update([(PointHandle(index: 7), .real(1)), (PointHandle(index: 3), .real(2)), (PointHandle(index: 7), .real(3)),
                      (PointHandle(index: 50), .real(0))], now: 1)
        #expect(dirty.withLock { $0 } == 2)  // each set turned dirty once; P50 did not change
        #expect(store.dirtySince(a) == 1)
        #expect(store.takeChanges(a).members == [3, 7])
        let cb = store.takeChanges(b)
        #expect(cb.members == [0, 2])
        #expect(cb.log?.map { $0.member } == [0, 2, 0] && cb.log?.map { $0.value.real } == [1, 2, 3])
        #expect(store.takeChanges(a).isEmpty && store.dirtySince(a) == nil)

        store.unregister(b)
        store.update([(PointHandle(index: 3), .real(9))], now: 2)
        #expect(store.takeChanges(b).isEmpty)
        #expect(store.takeChanges(a).members == [3])
        for _ in 0..<1000 {
            let c = store.register([PointStore.Key(1)], allChanges: nil) { _ in }
            store.unregister(c)
        }
        #expect(store.changeSetCounts == (registered: 1, slots: 2))
    }
}
