import HTTP
import Ledger
import Metrics

extension SwitchServer {
    /// Opens the sales store (DATA/sales/) and adds its indexer to the log views' reader, before the admin API opens and before the
    /// segments report is set up (its default source). A store that cannot be opened (a damaged mark, a file cut
    /// short below it) refuses the start, naming the file.
    func startSales() throws(SwitchStartError) {
        guard let sales = configuration.sales else { return }
        let ledger = runtime.ledger
        let store: SalesStore
        do {
            store = try SalesStore(
                root: configuration.dataDirectory, shardCount: ledger.shardCount,
                limits: SalesStore.Limits(retentionDays: sales.retentionDays, originalsMax: sales.originalsMax))
        } catch {
            throw SwitchStartError(message: "sales: \(error)")
        }
        let log = self.log
        let indexer = SalesIndexer(
            ledger: ledger, store: store, holdRecordsMax: UInt64(sales.logRecordsHeldMax), nowMs: runtime.clockMs,
            log: { line in log.warning(line, priority: .essential) })
        logViews.add(indexer)
        adminMetrics.sales.withLock { $0 = indexer }
    }

    /// The sales store's part of `GET /v1/health` once it has something to tell: a gap (log records it never
    /// indexed) or read failures. Neither makes the switch unhealthy: authorizations go on.
    static func writeSalesHealth(_ indexer: SalesIndexer, _ json: inout JSONWriter) {
        let counters = indexer.store.counters
        guard counters.recordsSkipped > 0 || indexer.readFailures > 0 else { return }
        json.key("sales")
        json.beginObject()
        json.member("sales", Int64(counters.sales))
        json.member("recordsSkipped", Int64(counters.recordsSkipped))
        json.member("readFailures", Int64(indexer.readFailures))
        json.endObject()
    }
}

extension AdminMetrics {
    /// The sales store's counts in `GET /metrics` (nothing while it is off). The lag reads each shard's newest
    /// segment headers: a few `pread`s per scrape.
    func writeSales(_ text: inout PrometheusText) {
        guard let indexer = sales.withLock({ $0 }) else { return }
        let counters = indexer.store.counters
        let indexed = indexer.store.indexedSequences
        let lag = LogViewReader.recordsBehind(root: ledger.directory, shardCount: indexed.count) { indexed[$0] }
        let samples: [(String, PrometheusText.MetricType, String, UInt64)] = [
            ("loyalty_sales_indexed_total", .counter, "Sales appended to the sales store since start.", counters.sales),
            (
                "loyalty_sales_lag_records", .gauge,
                "Durable log records (all shards) the sales store has not indexed yet.", lag
            ),
            (
                "loyalty_sales_records_skipped_total", .counter,
                "Log records the sales store never indexed (deleted past sales.logRecordsHeldMax, or unreadable): gaps.",
                counters.recordsSkipped
            ),
            ("loyalty_sales_files_dropped_total", .counter, "Sales day files dropped by sales.retentionDays.", counters.filesDropped),
            ("loyalty_sales_read_failures_total", .counter, "Failed reads of the log or the store (retried).", indexer.readFailures),
        ]
        text.singleSampleFamilies(samples)
    }
}
