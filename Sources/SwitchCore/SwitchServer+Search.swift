import Ledger
import Metrics
import Reports

/// What the segments report reads: its configuration and where members' purchases come from (nil: its source is
/// off — `sales` off, or `lifetimeFigures` with the search off — and the report answers 404 saying so).
struct SegmentsSetup: Sendable {
    var configuration: SegmentsConfiguration
    var source: (any MemberActivitySource & Sendable)?
    /// Tier and first card per member for the report's rows (the member search's index; nil while it is off).
    var index: MemberSearchIndex?
}

extension SwitchServer {
    /// Adds the member search's indexer to the log views' reader (it reads the checkpoint views on the reader's
    /// thread, so the start does not wait for it; searches answer 503 until it is ready) and sets up the segments report's source: the sales
    /// store (started before), or the search's lifetime figures when `segments.source` says so.
    func startSearch() {
        var setup = SegmentsSetup(configuration: configuration.segments, source: nil, index: nil)
        if configuration.segments.source == .sales { setup.source = adminMetrics.sales.withLock { $0 }?.store }
        defer { adminMetrics.segments.withLock { $0 = setup } }
        guard let search = configuration.search else { return }
        let ledger = runtime.ledger
        let limits = ledger.configuration
        let index = MemberSearchIndex(
            membersMax: search.membersMax > 0 ? search.membersMax : limits.membersPerShardMax * ledger.shardCount,
            cardsMax: search.cardsMax > 0 ? search.cardsMax : limits.cardsPerShardMax * ledger.shardCount)
        let log = self.log
        let indexer = MemberSearchIndexer(
            ledger: ledger, index: index, holdRecordsMax: UInt64(search.logRecordsHeldMax),
            log: { line in log.warning(line, priority: .essential) })
        logViews.add(indexer)
        adminMetrics.search.withLock { $0 = indexer }
        setup.index = index
        if configuration.segments.source == .lifetimeFigures { setup.source = LifetimeFiguresActivity(index: index) }
    }
}

extension AdminMetrics {
    /// The member search's counts in `GET /metrics` (nothing while it is off).
    func writeSearch(_ text: inout PrometheusText) {
        guard let indexer = search.withLock({ $0 }) else { return }
        let refused = indexer.index.refused
        let samples: [(String, PrometheusText.MetricType, String, UInt64)] = [
            ("loyalty_search_members", .gauge, "Members the member search's index holds.", UInt64(indexer.index.memberCount)),
            (
                "loyalty_search_refused_total", .counter,
                "Members and cards the member search did not keep at search.membersMax / search.cardsMax.",
                refused.members + refused.cards
            ),
            (
                "loyalty_search_views_reread_total", .counter,
                "Shard checkpoint views read again after log records were dropped before the index read them.",
                indexer.viewsReread
            ),
        ]
        text.singleSampleFamilies(samples)
    }
}
