/// The sales store for a tool (`loyalty-switch report sales|items|credit-conversion`): when no switch serves the
/// directory, the tool takes its writer lock and catches the store up from the log first, so a report after a
/// stop has every durable sale; when a switch serves it, the tool reads beside it what the store's mark covers
/// (the switch's indexer is at most a step behind its log) and writes nothing.
extension SalesStore {
    /// The store of `root` and the log records read to catch it up (nil: a switch serves the directory, read as
    /// its mark stands).
    public static func openForReport(root: String) throws(LedgerError) -> (store: SalesStore, recordsRead: UInt64?) {
        let shardCount = try Ledger.recordedShardCount(directory: root)
        let lock: Int32
        do {
            lock = try DataDirectory.lock(root)
        } catch .directoryInUse {
            return (try SalesStore(readingBeside: root, shardCount: shardCount), nil)
        }
        defer { _ = DataDirectory.unlock(root, descriptor: lock) }
        let store = try SalesStore(root: root, shardCount: shardCount, limits: Limits(retentionDays: 36_500))
        let records = try SalesIndexer.catchUp(root: root, store: store)
        return (store, records)
    }
}
