import HTTP
import Ledger
import Metrics
import Network
import Notifications
import Synchronization

/// Admin requests by route and status, counted per loop (each loop writes its own counters, no lock) and added
/// up at scrape time.
final class AdminRequestCounters: HTTPServerObserver {
    /// Statuses with a slot of their own, then one slot per class (1xx…5xx) for the rest.
    static let statuses = HTTPStatus.counted
    static let statusSlotCount = statuses.count + 5

    let routeNames: [String]
    /// Per loop: (routes + 1 for answers no route gave) × status slots.
    let perLoop: [CounterArray]

    init(routeNames: [String], loopCount: Int) {
        self.routeNames = routeNames
        perLoop = (0..<loopCount).map { _ in CounterArray(count: (routeNames.count + 1) * Self.statusSlotCount) }
        precondition(perLoop.count == loopCount, "a counter array per loop")
    }

    func responded(route: Int?, status: HTTPStatus, loopIndex: Int) {
        let routeSlot = route ?? routeNames.count
        precondition(routeSlot <= routeNames.count, "an unknown route answered")
        precondition(loopIndex >= 0 && loopIndex < perLoop.count, "an answer of one of the admin loops")
        perLoop[loopIndex].add(1, at: routeSlot * Self.statusSlotCount + Self.statusSlot(status))
    }

    static func statusSlot(_ status: HTTPStatus) -> Int {
        if let index = statuses.firstIndex(of: status) { return index }
        let slot = statuses.count + status.code / 100 - 1
        precondition(slot >= statuses.count && slot < statusSlotCount, "a status class 1xx...5xx has its slot")
        return slot
    }

    static func statusLabel(_ slot: Int) -> String {
        precondition(slot >= 0 && slot < statusSlotCount, "a status slot in range")
        return slot < statuses.count ? String(statuses[slot].code) : "\(slot - statuses.count + 1)xx"
    }
}

/// Everything `GET /metrics` shows, read without locks on the request path: the loops' ISO 8583 counters, the
/// shards' statistics, the listeners' connections and TLS handshakes, and the admin requests.
final class AdminMetrics: Sendable {
    let loops: [LoopMetrics]
    let ledger: Ledger
    let group: EventLoopGroup
    /// Set once the admin listener exists (its router names the routes).
    let requests = Mutex<AdminRequestCounters?>(nil)
    /// The admin listener's address, to label its connections `admin` rather than `iso8583`.
    let adminAddress = Mutex<String?>(nil)
    /// The admin API's own loop, whose listener the ISO group does not list (`admin.loop` `"own"`).
    let adminGroup = Mutex<EventLoopGroup?>(nil)
    /// Set once notifications start (nil while off).
    let notifier = Mutex<Notifier?>(nil)
    /// The ledger outbox feeding the notifier (nil with the test source or without webhooks).
    let outbox = Mutex<LedgerOutbox?>(nil)
    /// The movements history's indexer (nil while `history` is off).
    let history = Mutex<HistoryIndexer?>(nil)
    /// The member search's indexer (nil while `search` is off) and what the segments report reads.
    let search = Mutex<MemberSearchIndexer?>(nil)
    let segments = Mutex<SegmentsSetup?>(nil)
    /// The sales store's indexer (nil while `sales` is off).
    let sales = Mutex<SalesIndexer?>(nil)
    /// The scheduled backups (nil while `backup` is not configured).
    let backups = Mutex<BackupSchedule?>(nil)
    /// The hold of a standby's uncopied log (nil while `standby` is not configured).
    let standbyHold = Mutex<StandbyHold?>(nil)

    init(loops: [LoopMetrics], ledger: Ledger, group: EventLoopGroup) {
        self.loops = loops
        self.ledger = ledger
        self.group = group
    }

    /// The whole text exposition, built on the scraping loop's thread.
    func exposition() -> [UInt8] {
        var text = PrometheusText()
        writeISO(&text)
        writeLedger(&text)
        writeBusiness(&text)
        writeListeners(&text)
        writeAdmin(&text)
        writeNotifications(&text)
        writeHistory(&text)
        writeSearch(&text)
        writeSales(&text)
        writeBackups(&text)
        writeStandby(&text)
        precondition(!text.bytes.isEmpty, "an exposition always has the ISO families")
        return text.bytes
    }

    func writeISO(_ text: inout PrometheusText) {
        text.family(
            "loyalty_iso_requests_total", type: .counter,
            help: "ISO 8583 requests answered, by request MTI (repeat digit cleared) and response code (field 39).")
        for mti in 0..<LoopMetrics.mtiSlotCount {
            for code in 0..<LoopMetrics.codeSlotCount {
                let slot = mti * LoopMetrics.codeSlotCount + code
                let count = loops.reduce(0) { $0 &+ $1.answers.load(at: slot) }
                guard count > 0 else { continue }
                text.sample([("mti", LoopMetrics.mtiLabel(mti)), ("code", LoopMetrics.codeLabel(code))], value: count)
            }
        }
        // The loops' histograms, each the sum of every loop's.
        let loopHistograms: [(String, String, (LoopMetrics) -> Histogram)] = [
            (
                "loyalty_authorization_latency_seconds",
                "From an ISO 8583 request's decoding to its answer being queued for sending, every answer.",
                { $0.latency }
            ),
            (
                "loyalty_ledger_wait_seconds",
                "From an ISO 8583 request's hand-over to the ledger to its reply reaching its loop, every reply.",
                { $0.ledgerWait }
            ),
        ]
        for (name, help, histogram) in loopHistograms {
            var sum = HistogramSnapshot(bounds: LoopMetrics.latencyBoundsNs)
            for loop in loops { sum.add(histogram(loop).snapshot()) }
            text.family(name, type: .histogram, help: help)
            text.histogram([], sum, unitDivisor: 1_000_000_000)
        }
        text.family(
            "loyalty_iso_requests_in_flight", type: .gauge,
            help: "ISO 8583 requests waiting for the ledger, across loops (as of each loop's latest iteration).")
        text.sample(value: loops.reduce(0) { $0 &+ $1.waitingForLedger.load(at: 0) })
    }

    func writeLedger(_ text: inout PrometheusText) {
        let shards = ledger.shardStatistics
        precondition(shards.count == ledger.shardCount, "statistics of every shard")
        text.family(
            "loyalty_ledger_shard_up", type: .gauge, help: "1 while a ledger shard accepts work, 0 once it stopped.")
        for (index, shard) in shards.enumerated() {
            text.sample([("shard", String(index))], value: shard.stoppedReason == nil ? 1 : 0)
        }
        text.family("loyalty_ledger_members", type: .gauge, help: "Members on each ledger shard.")
        for (index, shard) in shards.enumerated() {
            text.sample([("shard", String(index))], value: UInt64(shard.members))
        }
        text.family(
            "loyalty_ledger_batch_records", type: .histogram, help: "Log records per group commit, per shard.")
        for (index, shard) in shards.enumerated() {
            text.histogram([("shard", String(index))], shard.batchRecords.snapshot(), unitDivisor: 1)
        }
        text.family(
            "loyalty_ledger_commit_seconds", type: .histogram,
            help: "Time of one group commit (one write and one fdatasync of the write-ahead log), per shard.")
        for (index, shard) in shards.enumerated() {
            text.histogram([("shard", String(index))], shard.commitNanoseconds.snapshot(), unitDivisor: 1_000_000_000)
        }
        text.family(
            "loyalty_ledger_queue_wait_seconds", type: .histogram,
            help: "Per batch a shard took from its queue, how long its oldest command had waited there, per shard.")
        for (index, shard) in shards.enumerated() {
            text.histogram(
                [("shard", String(index))], shard.queueWaitNanoseconds.snapshot(), unitDivisor: 1_000_000_000)
        }
        // A group's wall time far above its CPU time is the shard waiting: for a core, or for the disk (the commit).
        let groupFamilies: [(String, String, (ShardStatistics) -> (Histogram, Histogram))] = [
            (
                "loyalty_ledger_group_seconds",
                "Wall time of one commit group (its first command to its replies delivered), per shard, apart while "
                    + "a checkpoint is written.", { ($0.batchNanoseconds, $0.batchNanosecondsCheckpointing) }
            ),
            (
                "loyalty_ledger_group_cpu_seconds", "The shard thread's CPU time in the same commit groups.",
                { ($0.batchCPUNanoseconds, $0.batchCPUNanosecondsCheckpointing) }
            ),
        ]
        for (name, help, histograms) in groupFamilies {
            text.family(name, type: .histogram, help: help)
            for (index, shard) in shards.enumerated() {
                let (quiet, checkpointing) = histograms(shard)
                for (label, histogram) in [("false", quiet), ("true", checkpointing)] {
                    text.histogram(
                        [("shard", String(index)), ("checkpoint", label)], histogram.snapshot(),
                        unitDivisor: 1_000_000_000)
                }
            }
        }
        text.family(
            "loyalty_ledger_checkpoint_stall_seconds", type: .histogram,
            help: "Time a shard spent on a checkpoint in one commit group (starting it, saving chunks before writing "
                + "them), for the groups that spent any.")
        for (index, shard) in shards.enumerated() {
            text.histogram(
                [("shard", String(index))], shard.checkpointStallNanoseconds.snapshot(), unitDivisor: 1_000_000_000)
        }
        text.family(
            "loyalty_ledger_checkpoints_total", type: .counter,
            help: "Checkpoints (snapshots) finished while serving, per shard: written, failed or abandoned.")
        for (index, shard) in shards.enumerated() {
            text.sample([("shard", String(index))], value: UInt64(shard.checkpointCount))
        }
        text.family(
            "loyalty_ledger_checkpoints_abandoned_total", type: .counter,
            help: "Checkpoints abandoned because the shard's writes needed more than limits.checkpointCopyBytesMax.")
        for (index, shard) in shards.enumerated() {
            text.sample([("shard", String(index))], value: UInt64(shard.checkpointAbandonedCount))
        }
        text.family(
            "loyalty_ledger_checkpoint_paced_seconds_total", type: .counter,
            help: "Time checkpoint writers waited for limits.checkpointBytesPerSecondMax, per shard.")
        for (index, shard) in shards.enumerated() {
            text.sample(
                [("shard", String(index))], value: shard.checkpointPacedNanoseconds, unitDivisor: 1_000_000_000)
        }
    }

    func writeListeners(_ text: inout PrometheusText) {
        let listeners = group.listenerStatuses + (adminGroup.withLock { $0 }?.listenerStatuses ?? [])
        let admin = adminAddress.withLock { $0 }
        text.family("loyalty_connections_open", type: .gauge, help: "Open connections, by listener.")
        for listener in listeners {
            let kind = listener.address == admin ? "admin" : "iso8583"
            text.sample([("listener", listener.address), ("kind", kind)], value: UInt64(listener.openConnections))
        }
        let secured = listeners.compactMap { listener in listener.tlsStatistics.map { (listener.address, $0) } }
        guard !secured.isEmpty else { return }
        text.family(
            "loyalty_tls_handshakes_total", type: .counter,
            help: "TLS handshakes by listener and outcome: completed, or the kind of refusal.")
        for (address, statistics) in secured {
            text.sample([("listener", address), ("outcome", "completed")], value: UInt64(statistics.completed))
            for kind in TLSHandshakeFailure.allCases {
                text.sample(
                    [("listener", address), ("outcome", Self.outcomeLabel(kind))],
                    value: UInt64(statistics.refused(kind)))
            }
        }
        text.family(
            "loyalty_tls_handshake_steps_deferred_total", type: .counter,
            help: "TLS handshake steps put off to a later loop iteration by tlsHandshakesPerIterationMax.")
        for (address, statistics) in secured {
            text.sample([("listener", address)], value: UInt64(statistics.deferredSteps))
        }
    }

    /// A refusal kind as a label value.
    static func outcomeLabel(_ kind: TLSHandshakeFailure) -> String {
        switch kind {
        case .notTLS: return "not_tls"
        case .protocolVersion: return "protocol_version"
        case .clientCertificateMissing: return "client_certificate_missing"
        case .clientCertificateRefused: return "client_certificate_refused"
        case .closedDuringHandshake: return "closed_during_handshake"
        case .timeout: return "timeout"
        case .malformed: return "malformed"
        }
    }

    func writeAdmin(_ text: inout PrometheusText) {
        guard let counters = requests.withLock({ $0 }) else { return }
        text.family(
            "loyalty_admin_requests_total", type: .counter,
            help: "Admin API answers by route (unmatched: no route answered) and status.")
        precondition(
            counters.perLoop.allSatisfy {
                $0.count == (counters.routeNames.count + 1) * AdminRequestCounters.statusSlotCount
            },
            "every loop counts every route and status")
        for route in 0...counters.routeNames.count {
            for slot in 0..<AdminRequestCounters.statusSlotCount {
                let count = counters.perLoop.reduce(0) {
                    $0 &+ $1.load(at: route * AdminRequestCounters.statusSlotCount + slot)
                }
                guard count > 0 else { continue }
                let name = route < counters.routeNames.count ? counters.routeNames[route] : "unmatched"
                text.sample([("route", name), ("status", AdminRequestCounters.statusLabel(slot))], value: count)
            }
        }
    }
}
