import BER
import Logging
import MMS
import MMSNIO
import NIOCore

/// Our client role on a partner's VCC (`partner_vcc` of its bilateral table), as an ICCP hub
/// plays it: on every association with that partner, whichever side called, we subscribe to
/// the configured points with a transfer set of ours and pass what it reports to the hosting
/// program (`TASE2Server.partnerValues`). For tables with `connect` addresses the server also
/// calls the partner, and calls again after a failure or a lost association.
extension TASE2Server {
    /// Runs the client role on `a` until the association ends. Failures are logged and tried
    /// again (1 s, doubling to 60 s) while the association lives: a partner's VCC that answered
    /// late once (a request time-out under load) must not leave the link without data, and a
    /// refusal must not end the association our VCC serves.
    func clientRole(_ a: MMSAssociation, table: BilateralTable, config p: PartnerVCCConfig) async {
        let log = logger.with(["bilateralTable": "\(table.id)", "peer": "\(a.remoteAddress)"])
        var backoff = 1.0
        var attached: TASE2Client?
        while attached == nil {
            do {
                attached = try await TASE2Client.attach(to: a, icc: p.icc, logger: log)
            } catch is CancellationError {
                return
            } catch {
                log.error("client role: the partner's VCC failed the association check: \(error); trying again in \(Int(backoff)) s")
                vcc.eventContinuation.yield(.partnerSubscriptionFailed(bilateralTable: table.id, reason: "association check: \(error)"))
                guard await Self.pause(&backoff, while: a) else { return }
            }
        }
        let client = attached!
        log.info("client role: the partner's VCC", metadata: ["icc": "\(client.icc)", "partnerTable": "\(client.bilateralTableID)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // The keepalive lives as long as the association: it ends when `run` does (or
                // ends the association when the partner stops answering).
                await withTaskGroup(of: Void.self) { inner in
                    inner.addTask { await client.run() }
                    if p.identifyInterval > 0 {
                        inner.addTask { await identifyKeepalive(a, every: p.identifyInterval, log: log) }
                    }
                    await inner.next()
                    if a.isOpen { await inner.next() }  // the keepalive aborted it: run ends next
                    inner.cancelAll()
                }
            }
            group.addTask {
                var backoff = 1.0
                while a.isOpen {
                    do {
                        let configure: (inout DSTransferSet) -> Void = { d in
                            d.interval = p.interval
                            d.integrityCheck = p.integrityCheck
                            d.rbe = p.rbe
                            var c: DSConditions = []
                            if p.interval > 0 { c.insert(.intervalTimeOut) }
                            if p.integrityCheck > 0 { c.insert(.integrityTimeOut) }
                            if p.rbe { c.insert(.objectChange) }
                            d.conditions = c
                        }
                        let ts = p.critical
                            ? try await client.startCriticalTransfer(dataSet: p.dataSet, points: p.points, configure: configure)
                            : try await client.startTransfer(dataSet: p.dataSet, points: p.points, configure: configure)
                        log.info("client role: subscribed", metadata: ["transferSet": "\(ts)", "points": "\(p.points.count)"])
                        return
                    } catch is CancellationError {
                        return
                    } catch {
                        log.error("client role: subscription refused by the partner: \(error); trying again in \(Int(backoff)) s")
                        self.vcc.eventContinuation.yield(.partnerSubscriptionFailed(bilateralTable: table.id, reason: "subscription: \(error)"))
                        guard await Self.pause(&backoff, while: a) else { return }
                    }
                }
            }
            group.addTask {
                // A critical report is acknowledged once its values are in `partnerValues`, the
                // hosting program's stream, not when the role took it from the association.
                var dropped = 0
                for await d in client.deliveries {
                    let r = d.report
                    for p in r.points {
                        if case .dropped = self.partnerValueContinuation.yield(PartnerValue(bilateralTable: table.id, name: p.name, result: p.result,
                                                                                            conditions: r.conditions, timeStamp: r.timeStamp)) {
                            dropped += 1
                            if dropped == 1 || dropped % 10_000 == 0 {
                                log.error("partnerValues is full: the hosting program is not reading; oldest values dropped (\(dropped) so far)")
                            }
                        }
                    }
                    if r.critical, let ts = r.transferSet { await d.demux.acknowledge(ts, timeStamp: r.timeStamp) }
                }
            }
        }
    }

    /// Waits `backoff` seconds and doubles it (to 60 s); false when the association ended or the task was cancelled.
    static func pause(_ backoff: inout Double, while a: MMSAssociation) async -> Bool {
        guard a.isOpen else { return false }
        do { try await Task.sleep(for: .seconds(backoff)) } catch { return false }
        backoff = min(backoff * 2, 60)
        return a.isOpen
    }

    /// Calls the partner of `table` at its `connect` addresses, in turn; each association is
    /// served by our VCC and carries the client role; when it ends, or a call fails, calls
    /// again after a back-off (1 s, doubling to 60 s; reset by an association that lasted).
    func callOut(_ table: BilateralTable, config p: PartnerVCCConfig) async {
        let addresses = p.connect.compactMap(PartnerAddress.init)
        guard !addresses.isEmpty else { return }
        let v = vcc.configuration.vcc
        var backoff = 1.0
        var next = 0
        while !Task.isCancelled {
            let address = addresses[next % addresses.count]
            next += 1
            var c = MMSClient.Configuration(host: address.host, port: address.port)
            let t = table.config
            c.local = OSIAddress(apTitle: t.localAPTitle ?? v.apTitle, aeQualifier: t.localAEQualifier ?? v.aeQualifier)
            c.remote = OSIAddress(tsel: t.partnerTSEL ?? [0, 1], ssel: t.partnerSSEL ?? [0, 1], psel: t.partnerPSEL ?? [0, 0, 0, 1],
                                  apTitle: p.remoteAPTitle ?? t.partnerAPTitle, aeQualifier: p.remoteAEQualifier ?? t.partnerAEQualifier)
            c.limits = MMSLimits(maxPDUSize: v.maxPDUSize)
            c.timeouts = timeouts
            let log = logger.with(["bilateralTable": "\(table.id)", "partner": "\(address)"])
            let started = vcc.clock.monotonic()
            let session = vcc.makeSession(table: table, maxPDUSize: Int(v.maxPDUSize), partner: "\(address)")
            do {
                try await MMSClient.withAssociation(c, serving: vcc, session: session, logger: log) { a in
                    log.info("called the partner")
                    await withTaskCancellationHandler {
                        await withTaskGroup(of: Void.self) { group in
                            group.addTask { await self.reports(a) }
                            group.addTask { await self.clientRole(a, table: table, config: p) }
                            await a.waitUntilClosed()
                            group.cancelAll()
                        }
                    } onCancel: {
                        a.requestAbort(reason: "server shutting down")
                    }
                }
                log.notice("association with the partner ended")
            } catch {
                log.warning("call to the partner failed: \(error)")
            }
            vcc.end(session)
            if vcc.clock.monotonic() - started > 60 { backoff = 1 }
            do {
                try await Task.sleep(nanoseconds: UInt64(backoff * 1e9))
            } catch {
                return
            }
            backoff = min(backoff * 2, 60)
        }
    }
}

extension Logger {
    /// A copy with more metadata.
    func with(_ metadata: Logger.Metadata) -> Logger {
        var l = self
        for (k, v) in metadata { l[metadataKey: k] = v }
        return l
    }
}

/// Sends Identify every `seconds` (monotonic) until the association ends; an Identify that
/// fails or is not answered in time aborts it: a partner that stopped answering is noticed
/// even when no reports are due, and a call-out calls again.
func identifyKeepalive(_ a: MMSAssociation, every seconds: Double, log: Logger) async {
    while a.isOpen {
        // Ends at once when the client role ends (its group is cancelled with the association).
        do { try await Task.sleep(for: .seconds(seconds)) } catch { return }
        guard a.isOpen else { return }
        do {
            _ = try await a.identify()
        } catch {
            guard a.isOpen, !Task.isCancelled else { return }
            log.warning("the partner did not answer Identify (\(error)): aborting the association")
            a.requestAbort(reason: "Identify keepalive not answered")
            return
        }
    }
}
