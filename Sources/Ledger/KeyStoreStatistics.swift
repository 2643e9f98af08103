/// What a shard's key store holds and what its merges cost, taken when the shard stops (for the benchmark and
/// `ledger verify`): run files and their bytes, the RAM their in-memory index takes, keys in runs, merges.
public struct KeyStoreStatistics: Sendable, Equatable {
    public var runCount = 0
    public var runFileBytes: Int64 = 0
    /// Filters, page fences and amended positions of every run: what the store keeps in RAM per key.
    public var indexMemoryBytes = 0
    /// First versions in runs: one per remembered request older than the in-memory window and buffers.
    public var keysInRuns = 0
    /// Names indexed in runs (a key, and a reference and a terminal reference where a request has them).
    public var namesInRuns = 0
    public var merges = 0
    public var mergeNanoseconds: UInt64 = 0
    public var mergedBytes: Int64 = 0

    public init() {}
}

extension KeyStore {
    /// The store's figures now (shard thread, or after it stopped).
    var statistics: KeyStoreStatistics {
        var result = KeyStoreStatistics()
        result.runCount = runs.count
        for run in runs {
            result.runFileBytes += run.header.fileBytes
            result.indexMemoryBytes += run.filter.words.count * 8 + run.fences.count * 8 + run.amendedPositions.count * 8
                + run.blockFirsts.count * 4
            result.keysInRuns += run.header.firstCount
            result.namesInRuns += run.header.nameCount
        }
        result.merges = mergeCount
        result.mergeNanoseconds = mergeNanoseconds
        result.mergedBytes = mergedBytes
        return result
    }
}
