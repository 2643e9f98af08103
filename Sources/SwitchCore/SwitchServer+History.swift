import HTTP
import Ledger
import Metrics

extension SwitchServer {
    /// Opens the movements history (DATA/history/) and adds its indexer to the log views' reader, before the admin
    /// API opens. A store that cannot be opened (a damaged mark, a file cut short below it) refuses the start,
    /// naming the file.
    func startHistory() throws(SwitchStartError) {
        guard let history = configuration.history else { return }
        let ledger = runtime.ledger
        let ledgerLimits = ledger.configuration
        let limits = HistoryStore.Limits(
            membersMax: history.membersMax > 0 ? history.membersMax : ledgerLimits.membersPerShardMax * ledger.shardCount,
            cardsMax: history.cardsMax > 0 ? history.cardsMax : ledgerLimits.cardsPerShardMax * ledger.shardCount,
            recordsPerFile: history.recordsPerFile, retentionMs: Int64(history.retentionDays) * 86_400_000)
        let store: HistoryStore
        do {
            store = try HistoryStore(root: configuration.dataDirectory, shardCount: ledger.shardCount, limits: limits)
        } catch {
            throw SwitchStartError(message: "history: \(error)")
        }
        let log = self.log
        let indexer = HistoryIndexer(
            ledger: ledger, store: store, holdRecordsMax: UInt64(history.logRecordsHeldMax), nowMs: runtime.clockMs,
            log: { line in log.warning(line, priority: .essential) })
        logViews.add(indexer)
        adminMetrics.history.withLock { $0 = indexer }
    }

    /// The history's part of `GET /v1/health`, once it has something to tell: a gap (log records it never
    /// indexed), movements refused at its member bound, or read failures. A whole history adds nothing, so a
    /// healthy switch answers exactly `{"status":"ok"}`. None of these makes the switch unhealthy: authorizations
    /// go on.
    static func writeHistoryHealth(_ indexer: HistoryIndexer, _ json: inout JSONWriter) {
        let counters = indexer.store.statistics
        guard counters.recordsSkipped > 0 || counters.movementsRefused > 0 || indexer.readFailures > 0 else { return }
        json.key("history")
        json.beginObject()
        json.member("movements", Int64(counters.movements))
        json.member("recordsSkipped", Int64(counters.recordsSkipped))
        json.member("movementsRefused", Int64(counters.movementsRefused))
        json.member("readFailures", Int64(indexer.readFailures))
        json.endObject()
    }
}

extension AdminMetrics {
    /// The history's counters in `GET /metrics` (nothing while it is off).
    func writeHistory(_ text: inout PrometheusText) {
        guard let indexer = history.withLock({ $0 }) else { return }
        let counters = indexer.store.statistics
        let samples: [(String, String, UInt64)] = [
            ("loyalty_history_movements_total", "Movements kept in the history store (since it was created).", counters.movements),
            (
                "loyalty_history_records_skipped_total",
                "Log records the history never indexed (deleted past history.logRecordsHeldMax, or unreadable): gaps.",
                counters.recordsSkipped
            ),
            (
                "loyalty_history_movements_refused_total",
                "Movements not kept because the history's member map was full (history.membersMax).",
                counters.movementsRefused
            ),
            ("loyalty_history_files_dropped_total", "Movement files dropped by history.retentionDays.", counters.filesDropped),
        ]
        for (name, help, value) in samples {
            text.family(name, type: .counter, help: help)
            text.sample(value: value)
        }
    }
}
