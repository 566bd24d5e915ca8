import BER
import Logging
import MMS
import MMSNIO
import Synchronization

/// One line of a conformance probe: what was checked, the verdict, and what was seen.
public struct ProbeRow: Hashable, Sendable {
    public enum Result: String, Sendable { case pass = "PASS", fail = "FAIL", notApplicable = "N/A" }
    /// The conformance block the check belongs to (nil: the association itself).
    public var block: Int?
    public var check: String
    public var result: Result
    public var evidence: String

    public init(block: Int?, _ check: String, _ result: Result, _ evidence: String) {
        self.block = block
        self.check = check
        self.result = result
        self.evidence = evidence
    }
}

/// Checks a remote VCC's conformance as far as a client can see it (`tase2 probe`): the
/// association check and edition, Supported_Features against what the partner does, every
/// visible point read and typed, and the services of blocks 1, 2, 4 and (with `allowControl`)
/// 5. Passive except where asked: it defines and deletes one data set of its own, starts and
/// stops transfer sets, enables information messages, and operates a device only with
/// `allowControl`.
public struct ConformanceProbe: Sendable {
    public var allowControl = false
    /// Seconds to wait for what the partner sends on its own (changes, messages).
    public var wait: Double = 10
    /// The data set the probe defines (and deletes) in its ICC.
    public var dataSet = "FT2_PROBE"
    /// Most points read (a VCC of 100,000 points is sampled, not read whole).
    public var maxPoints = 5_000

    public init(allowControl: Bool = false, wait: Double = 10) {
        self.allowControl = allowControl
        self.wait = wait
    }

    /// Runs every check on `a` (which stays open; the caller concludes it). `progress` hears each row as it is decided.
    /// `transport`: a row about the transport below MMS (`TASE2TLS.probeRow` for TLS).
    public func run(on a: MMSAssociation, expectedBilateralTableID: String? = nil, declared: [ObjectName: PointTypeInfo] = [:],
                    transport: (@Sendable (MMSAssociation) async -> ProbeRow)? = nil,
                    logger: Logger = Logger(label: "freetase2.probe"), progress: (@Sendable (ProbeRow) -> Void)? = nil) async -> [ProbeRow] {
        // A class, not a local Mutex captured by a local function: the optimizer (Swift 6.2,
        // CopyPropagation) crashed on that in release builds.
        let rows = ProbeRows(progress)
        let add = rows.add
        if let transport { add(await transport(a)) }
        do {
            let id = try await a.identify()
            add(ProbeRow(block: nil, "Identify", .pass, "\(escaped(id.vendorName)) \(escaped(id.modelName)) \(escaped(id.revision))"))
        } catch {
            add(ProbeRow(block: nil, "Identify", .fail, "\(error)"))
        }
        let client: TASE2Client
        do {
            client = try await TASE2Client.attach(to: a, expectedBilateralTableID: expectedBilateralTableID, logger: logger)
        } catch {
            add(ProbeRow(block: nil, "association check", .fail, "\(error)"))
            return rows.all
        }
        client.declare(declared)
        add(ProbeRow(block: nil, "association check", .pass,
                     "ICC \(escaped(client.icc)), Bilateral_Table_ID \(escaped(client.bilateralTableID))"))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            let reports = Inbox<TransferReport>()
            let messages = Inbox<InformationMessage>()
            group.addTask {
                for await r in client.transferReports { reports.put(r) }
                reports.close()
            }
            group.addTask {
                for await m in client.informationMessages { messages.put(m) }
                messages.close()
            }
            await checks(client, reports: reports, messages: messages, add: add)
            // The association stays the caller's: only the tasks reading it end here.
            group.cancelAll()
        }
        return rows.all
    }

    // Not optimized: Swift 6.2's CopyPropagation pass crashes on this function in release builds
    // ("Found ownership error"); it runs once per probe, so nothing is lost.
    @_optimize(none)
    func checks(_ c: TASE2Client, reports: Inbox<TransferReport>, messages: Inbox<InformationMessage>, add: (ProbeRow) -> Void) async {
        let a = c.association
        // Edition and features.
        let version = try? await a.read(.vmdSpecific(TASE2Names.version))
        if case .structure(let v)? = version, v.count == 2, case .integer(let major) = v[0], case .integer(let minor) = v[1] {
            let known = (major == 1996 || major == 2000) && minor == 8
            add(ProbeRow(block: nil, "TASE2_Version", known ? .pass : .fail,
                         known ? "\(major).\(minor): edition \(major).08" : "\(major).\(minor) is neither 1996.08 nor 2000.08"))
        } else {
            add(ProbeRow(block: nil, "TASE2_Version", .fail, "not a {major, minor} structure: \(version.map { "\($0)" } ?? "unreadable")"))
        }
        let blocks = c.supportedBlocks.sorted()
        add(ProbeRow(block: nil, "Supported_Features", blocks.contains(1) ? .pass : .fail,
                     "blocks " + blocks.map(String.init).joined(separator: ", ") + (blocks.contains(1) ? "" : " (block 1 is mandatory)")))

        // Every visible point, read and typed.
        var names: [ObjectName] = []
        for scope in [GetNameListRequest.ObjectScope.vmdSpecific, .domainSpecific(c.icc)] {
            let list = (try? await a.getNameList(.namedVariable, scope: scope)) ?? []
            names += list.map { n in if case .domainSpecific(let d) = scope { .domainSpecific(domain: d, item: n) } else { .vmdSpecific(n) } }
        }
        let candidates = Array(names.filter { !$0.itemName.hasSuffix("_SBO") && !$0.itemName.hasSuffix("_TAG") }.prefix(maxPoints))
        _ = await c.types.describe(candidates)
        let pointNames = candidates.filter { c.types.known($0) != nil }
        let readings = (try? await c.readPoints(pointNames)) ?? []
        let readable = readings.filter { $0.value != nil }.map(\.name)
        let failed = readings.filter { $0.value == nil && $0.error != .objectAccessDenied }
        var byType: [String: Int] = [:]
        for r in readings where r.value != nil { byType[r.type!.type.rawValue, default: 0] += 1 }
        let summary = byType.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        if pointNames.isEmpty {
            add(ProbeRow(block: nil, "points read and typed", .notApplicable, "no variable of a point type is visible"))
        } else if failed.isEmpty {
            let denied = readings.count - readable.count
            add(ProbeRow(block: nil, "points read and typed", .pass,
                         "\(readable.count) points: \(summary)" + (denied > 0 ? "; \(denied) refused reading (devices or write-only)" : "")))
        } else {
            add(ProbeRow(block: nil, "points read and typed", .fail,
                         "\(failed.count) of \(readings.count) did not read as their type: " + failed.prefix(5).map { "\($0.name) (\($0.error.map { "\($0)" } ?? "\($0.result)"))" }.joined(separator: ", ")))
        }

        // Block 1: data sets, Next_DSTransfer_Set, interval and integrity reports.
        let sample = Array((readable.filter { $0.domain == c.icc } + readable.filter { $0.domain == nil }).prefix(4))
        if blocks.contains(1), sample.isEmpty {
            add(ProbeRow(block: 1, "data sets and transfer sets", .notApplicable, "no readable point to put in a data set"))
        } else if blocks.contains(1) {
            await block1(c, sample: sample, reports: reports, add: add)
        }
        if blocks.contains(2), !sample.isEmpty {
            await block2(c, sample: Array(readable.prefix(50)), reports: reports, add: add)
        } else {
            add(ProbeRow(block: 2, "report by exception, critical reports", .notApplicable, blocks.contains(2) ? "no readable point" : "block 2 not in Supported_Features"))
        }
        if blocks.contains(4) {
            await block4(c, messages: messages, add: add)
        } else {
            add(ProbeRow(block: 4, "information messages", .notApplicable, "block 4 not in Supported_Features"))
        }
        if !blocks.contains(5) {
            add(ProbeRow(block: 5, "device control", .notApplicable, "block 5 not in Supported_Features"))
        } else if !allowControl {
            add(ProbeRow(block: 5, "device control", .notApplicable, "not tried: give --allow-control (an operate is attempted)"))
        } else {
            await block5(c, names: names, add: add)
        }
    }

    // MARK: Block 1

    func block1(_ c: TASE2Client, sample: [ObjectName], reports: Inbox<TransferReport>, add: (ProbeRow) -> Void) async {
        let a = c.association
        let ds = ObjectName.domainSpecific(domain: c.icc, item: dataSet)
        let specials = [TASE2Names.transferSetName, TASE2Names.transferSetTimeStamp, TASE2Names.dsConditionsDetected]
            .map { ObjectName.domainSpecific(domain: c.icc, item: $0) }
        _ = try? await a.deleteLists([ds])
        do {
            try await a.defineList(ds, members: (specials + sample).map { VariableAccess($0) })
            let read = try await a.read(list: ds)
            let attributes = try await a.listAttributes(ds)
            let members = attributes.variables.compactMap(\.variable.name)
            _ = try await a.deleteLists([ds])
            let gone = (try? await a.listAttributes(ds)) == nil
            let ok = members == specials + sample && read.count == members.count && gone
            add(ProbeRow(block: 1, "data set define / read / delete", ok ? .pass : .fail,
                         "\(members.count) members listed (\(members == specials + sample ? "as defined" : "not as defined")), read gave \(read.count) results, "
                             + (gone ? "deleted" : "still there after delete")))
        } catch {
            add(ProbeRow(block: 1, "data set define / read / delete", .fail, "\(error)"))
        }
        do {
            let next = try await a.read(.domainSpecific(domain: c.icc, item: TASE2Names.nextDSTransferSet))
            if let ts = TASE2Names.objectName(from: next), ts.domain == c.icc {
                add(ProbeRow(block: 1, "Next_DSTransfer_Set", .pass, "\(ts)"))
            } else {
                add(ProbeRow(block: 1, "Next_DSTransfer_Set", .fail, "not a transfer set of ICC \(c.icc): \(next)"))
            }
        } catch {
            add(ProbeRow(block: 1, "Next_DSTransfer_Set", .fail, "\(error)"))
        }
        // Interval reports: two, a second apart, with the special members in their places.
        var specialsOK: ProbeRow?
        do {
            let ts = try await c.startTransfer(dataSet: dataSet, points: sample) { d in
                d.interval = 1
                d.conditions = [.intervalTimeOut]
            }
            var arrivals: [ContinuousClock.Instant] = []
            var problems: [String] = []
            let deadline = ContinuousClock.now + .seconds(6)
            while arrivals.count < 2, let r = await reports.next(before: deadline, where: { $0.dataSet == ds || $0.transferSet == ts }) {
                arrivals.append(.now)
                for p in Self.specialMemberProblems(r, ts: ts, expecting: .intervalTimeOut) where !problems.contains(p) { problems.append(p) }
            }
            try? await c.stopTransfer(ts)
            specialsOK = ProbeRow(block: 1, "report special members", problems.isEmpty && !arrivals.isEmpty ? .pass : .fail,
                                  arrivals.isEmpty ? "no report to look at" : problems.isEmpty
                                      ? "Transfer_Set_Name, Transfer_Set_Time_Stamp and DSConditions_Detected in place" : problems.joined(separator: "; "))
            if arrivals.count == 2 {
                let gap = Double((arrivals[1] - arrivals[0]).components.attoseconds) / 1e18 + Double((arrivals[1] - arrivals[0]).components.seconds)
                let ok = gap > 0.5 && gap < 2
                add(ProbeRow(block: 1, "interval reports", ok ? .pass : .fail,
                             "2 reports \(Self.seconds(gap)) apart (Interval 1 s)"))
            } else {
                add(ProbeRow(block: 1, "interval reports", .fail, "\(arrivals.count) of 2 reports within 6 s of Interval 1 s"))
            }
        } catch {
            add(ProbeRow(block: 1, "interval reports", .fail, "transfer set refused: \(error)"))
        }
        if let specialsOK { add(specialsOK) }
        // Integrity reports.
        reports.removeAll()
        do {
            let ts = try await c.startTransfer(dataSet: dataSet, points: sample) { d in
                d.integrityCheck = 2
                d.conditions = [.integrityTimeOut]
            }
            let started = ContinuousClock.now
            let r = await reports.next(before: started + .seconds(6), where: { ($0.dataSet == ds || $0.transferSet == ts) && $0.conditions?.contains(.integrityTimeOut) == true })
            try? await c.stopTransfer(ts)
            if let r {
                add(ProbeRow(block: 1, "integrity reports", .pass, "report with IntegrityTimeOut after \(Self.seconds(started, .now)) (IntegrityCheck 2 s), \(r.points.count) values"))
            } else {
                add(ProbeRow(block: 1, "integrity reports", .fail, "no report with IntegrityTimeOut within 6 s of IntegrityCheck 2 s"))
            }
        } catch {
            add(ProbeRow(block: 1, "integrity reports", .fail, "transfer set refused: \(error)"))
        }
        _ = try? await c.association.deleteLists([ds])
    }

    /// What is wrong with a report's special members (spec §5.2): the transfer set's name, a
    /// time stamp near now, and the condition that caused it.
    static func specialMemberProblems(_ r: TransferReport, ts: ObjectName, expecting condition: DSConditions) -> [String] {
        var p: [String] = []
        if r.transferSet == nil { p.append("Transfer_Set_Name is not an object name") } else if r.transferSet != ts {
            p.append("Transfer_Set_Name is \(r.transferSet!), not \(ts)")
        }
        if let t = r.timeStamp {
            if abs(Double(t) - currentTime()) > 300 { p.append("Transfer_Set_Time_Stamp \(ISO8601.format(secondsSince1970: Int64(t))) is more than 5 min from our clock") }
        } else {
            p.append("Transfer_Set_Time_Stamp is not an integer")
        }
        if let k = r.conditions {
            if !k.contains(condition) { p.append("DSConditions_Detected lacks the condition that caused the report") }
        } else {
            p.append("DSConditions_Detected is not a bit string")
        }
        return p
    }

    // MARK: Block 2

    func block2(_ c: TASE2Client, sample: [ObjectName], reports: Inbox<TransferReport>, add: (ProbeRow) -> Void) async {
        let ds = ObjectName.domainSpecific(domain: c.icc, item: dataSet)
        reports.removeAll()
        // RBE: a change report, or evidence (a read that shows a change) that one is missing.
        do {
            let before = try await c.readPoints(sample)
            let ts = try await c.startTransfer(dataSet: dataSet, points: sample) { d in
                d.rbe = true
                d.conditions = [.objectChange]
            }
            let deadline = ContinuousClock.now + .seconds(wait)
            var report: TransferReport?
            var changed: [PointReading] = []
            while report == nil, ContinuousClock.now < deadline {
                report = await reports.next(before: min(deadline, .now + .seconds(1)),
                                            where: { ($0.dataSet == ds || $0.transferSet == ts) && $0.conditions?.contains(.objectChange) == true })
                if report == nil, changed.isEmpty, let now = try? await c.readPoints(sample) {
                    changed = zip(before, now).filter { $0.value != nil && $0.value != $1.value }.map(\.1)
                }
            }
            // A change seen by reading may still be on its way: give its report a second.
            if report == nil, !changed.isEmpty {
                report = await reports.next(before: .now + .seconds(1), where: { ($0.dataSet == ds || $0.transferSet == ts) && $0.conditions?.contains(.objectChange) == true })
            }
            try? await c.stopTransfer(ts)
            if let report {
                add(ProbeRow(block: 2, "report by exception", .pass, "change report with ObjectChange, \(report.points.count) changed values"))
            } else if !changed.isEmpty {
                add(ProbeRow(block: 2, "report by exception", .fail, "\(changed[0].name) changed (read) but no ObjectChange report came within \(Int(wait)) s"))
            } else {
                add(ProbeRow(block: 2, "report by exception", .notApplicable, "no value of \(sample.count) points changed within \(Int(wait)) s"))
            }
        } catch {
            add(ProbeRow(block: 2, "report by exception", .fail, "transfer set refused: \(error)"))
        }
        // Critical: the report arrives, and our ACK goes when we take it.
        reports.removeAll()
        do {
            let ts = try await c.startCriticalTransfer(dataSet: dataSet, points: Array(sample.prefix(4))) { d in
                d.interval = 1
                d.conditions = [.intervalTimeOut]
            }
            // A critical report of this transfer set: reports of the sets before it (the same name,
            // reused) may still be waiting, and are not critical.
            let deadline = ContinuousClock.now + .seconds(6)
            var r = await reports.next(before: deadline, where: { $0.transferSet == ts && $0.critical })
            if r == nil { r = await reports.next(before: .now, where: { $0.dataSet == ds && $0.transferSet == nil }) }
            try? await c.stopTransfer(ts)
            if let r, r.critical {
                add(ProbeRow(block: 2, "critical reports", .pass,
                             "report of a critical transfer set received and acknowledged (Transfer_Report_ACK with time stamp \(r.timeStamp.map(String.init) ?? "none"))"))
            } else {
                add(ProbeRow(block: 2, "critical reports", .fail, r == nil ? "no report within 6 s of Interval 1 s" : "the report did not name its transfer set: not acknowledged"))
            }
        } catch {
            add(ProbeRow(block: 2, "critical reports", .fail, "critical transfer set refused: \(error)"))
        }
        _ = try? await c.association.deleteLists([ds])
    }

    // MARK: Block 4

    func block4(_ c: TASE2Client, messages: Inbox<InformationMessage>, add: (ProbeRow) -> Void) async {
        do {
            try await c.enableInformationMessages()
            add(ProbeRow(block: 4, "IM_Transfer_Set enable", .pass, "written TRUE"))
        } catch {
            add(ProbeRow(block: 4, "IM_Transfer_Set enable", .fail, "\(error)"))
            return
        }
        let m = await messages.next(before: .now + .seconds(wait), where: { _ in true })
        try? await c.enableInformationMessages(false)
        if let m, let wrong = m.nonConformance {
            add(ProbeRow(block: 4, "information message", .fail, "message \(m.messageID): \(wrong)"))
        } else if let m {
            let text = String(decoding: m.text, as: UTF8.self)
            add(ProbeRow(block: 4, "information message", .pass, "message \(m.messageID) (\(m.text.count) octets): \(escaped(String(text.prefix(60))))"))
        } else {
            add(ProbeRow(block: 4, "information message", .notApplicable, "none arrived within \(Int(wait)) s (the partner may have none to send)"))
        }
    }

    // MARK: Block 5

    func block5(_ c: TASE2Client, names: [ObjectName], add: (ProbeRow) -> Void) async {
        let sbo = names.filter { $0.itemName.hasSuffix("_SBO") }.sorted { ($0.domain == c.icc ? 0 : 1, $0.description) < ($1.domain == c.icc ? 0 : 1, $1.description) }
        guard let select = sbo.first else {
            add(ProbeRow(block: 5, "select-before-operate", .notApplicable, "no <Dev>_SBO is visible"))
            return
        }
        let device = String(select.itemName.dropLast(4))
        let scope: ObjectScope = select.domain.map { .icc($0) } ?? .vcc
        let shown = scope.objectName(device)
        // Without a select, the operate must be refused (nothing may move).
        do {
            try await c.operate(device, in: scope, command: 0)
            add(ProbeRow(block: 5, "operate without select refused", .fail, "\(shown) accepted command 0 without a select"))
        } catch let e as DataAccessError {
            add(ProbeRow(block: 5, "operate without select refused", .pass, "\(shown): \(e)"))
        } catch {
            add(ProbeRow(block: 5, "operate without select refused", .fail, "\(error)"))
        }
        do {
            let d = try await c.association.read(select)
            if case .integer(let v) = d, Int16(exactly: v) != nil {
                add(ProbeRow(block: 5, "select returns a CheckBackName", .pass, "\(select) = \(v)"))
            } else {
                add(ProbeRow(block: 5, "select returns a CheckBackName", .fail, "\(select) answered \(d), not an Integer16"))
            }
        } catch {
            add(ProbeRow(block: 5, "select returns a CheckBackName", .fail, "\(select): \(error)"))
        }
        let tag = select.renamedItem(device + "_TAG")
        if names.contains(tag) {
            do {
                let t = try await c.tag(device, in: scope)
                add(ProbeRow(block: 5, "GetTag", .pass, "\(tag): \(t)"))
            } catch {
                add(ProbeRow(block: 5, "GetTag", .fail, "\(tag): \(error)"))
            }
        }
    }

    static func seconds(_ s: Double) -> String {
        let ms = Int((s * 1000).rounded())
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - String(ms % 1000).count))\(ms % 1000) s"
    }

    static func seconds(_ a: ContinuousClock.Instant, _ b: ContinuousClock.Instant) -> String {
        let d = b - a
        return seconds(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}

extension ObjectName {
    /// The same scope, another item (`<Dev>` → `<Dev>_TAG`).
    public func renamedItem(_ item: String) -> ObjectName {
        switch self {
        case .vmdSpecific: return .vmdSpecific(item)
        case .domainSpecific(let d, _): return .domainSpecific(domain: d, item: item)
        case .aaSpecific: return .aaSpecific(item)
        }
    }
}

/// The probe's rows as they are decided, told to `progress` one by one.
final class ProbeRows: Sendable {
    let rows = Mutex<[ProbeRow]>([])
    let progress: (@Sendable (ProbeRow) -> Void)?
    init(_ progress: (@Sendable (ProbeRow) -> Void)?) { self.progress = progress }
    @Sendable func add(_ r: ProbeRow) {
        rows.withLock { $0.append(r) }
        progress?(r)
    }
    var all: [ProbeRow] { rows.withLock { $0 } }
}

/// Items one task puts and another takes, with a deadline: the probe waits for "a report of
/// this transfer set within 6 s" without racing an AsyncStream iterator against a timer (a
/// cancelled iteration ends an AsyncStream for good).
final class Inbox<T: Sendable>: Sendable {
    struct State {
        var items: [T] = []
        var closed = false
        /// Bumped by every put: a waiter that saw generation g sleeps only while it is still g.
        var generation = 0
        var waiter: CheckedContinuation<Void, Never>?
    }
    let state = Mutex(State())
    /// Most items held (what nobody takes is dropped oldest first).
    let capacity = 10_000

    func put(_ item: T) {
        let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.items.count >= capacity { s.items.removeFirst() }
            s.items.append(item)
            s.generation += 1
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume()
    }

    /// Forgets what nobody took (the reports of a check that is over).
    func removeAll() { state.withLock { $0.items.removeAll() } }

    func close() {
        let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            s.generation += 1
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume()
    }

    /// The first item matching `predicate` (removed), waiting until `deadline`; nil when none came.
    func next(before deadline: ContinuousClock.Instant, where predicate: (T) -> Bool) async -> T? {
        while true {
            let (found, closed, generation) = state.withLock { s -> (T?, Bool, Int) in
                if let i = s.items.firstIndex(where: predicate) { return (s.items.remove(at: i), s.closed, s.generation) }
                return (nil, s.closed, s.generation)
            }
            if let found { return found }
            if closed || ContinuousClock.now >= deadline || Task.isCancelled { return nil }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(until: deadline) }
                group.addTask { await self.changed(since: generation) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Returns after the next put or close (at once if one came since `generation`), or when cancelled.
    func changed(since generation: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.generation != generation || s.closed || s.waiter != nil || Task.isCancelled { return true }
                    s.waiter = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            w?.resume()
        }
    }
}
