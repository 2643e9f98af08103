import Foundation
import Ledger

/// The key store at `keys` remembered keys (one shard, fdatasync skipped: the store's cost, not the disk's):
/// RAM and disk per key, new-key and repeat throughput on the shard (each a lookup that misses the ring),
/// merge cost. `window` is the in-memory ring, `buffer` the store's buffer (both the defaults unless given).
func keyIndexSection(keys: Int, window: Int, buffer: Int) -> String {
    let directory = baseDirectory + "/keys"
    removeDirectory(directory)
    var configuration = LedgerConfiguration()
    configuration.shardCount = 1
    configuration.queueCapacity = 16384
    configuration.idempotencyKeysPerShardMax = window
    configuration.keyBufferEntriesMax = buffer
    configuration.snapshotIntervalRecords = 2_000_000
    configuration.skipSync = true
    configuration.log = { _ in }
    let cards = (0..<100_000).map(benchmarkCard)
    let residentBefore = residentBytes()
    var ledger = try! Ledger.open(directory: directory, configuration: configuration)
    let tenth = max(keys / 10, 1)
    var rates: [Double] = []
    for part in 0..<10 {
        let first = UInt64(part * tenth + 1)
        rates.append(submitRate(ledger, keys: first..<(first + UInt64(tenth)), cards: cards))
        progress("keys: \((part + 1) * tenth) written, \(format(rates.last!)) new keys/s")
    }
    ledger.close()
    let stored = ledger.keyStoreStatistics[0]
    let residentAfterWrite = residentBytes() - residentBefore
    ledger = try! Ledger.open(directory: directory, configuration: configuration)
    // Repeats of keys long out of the ring (the first 90 %), spread over every run; then keys still in the ring.
    let sample = 200_000
    let oldStride = UInt64(max(keys * 9 / 10 / sample, 1))
    let oldRepeats = submitRate(ledger, keys: (0..<UInt64(sample)).map { 1 + $0 * oldStride }, cards: cards)
    let recentFirst = UInt64(keys - min(window, sample) + 1)
    let recentRepeats = submitRate(ledger, keys: Array(recentFirst...UInt64(keys)), cards: cards)
    let newKeys = submitRate(
        ledger, keys: UInt64(keys + 1)..<UInt64(keys + 1 + sample), cards: cards)
    let residentAfterLookups = residentBytes() - residentBefore
    ledger.close()
    removeDirectory(directory)
    let megabyte = 1_048_576.0
    return """
        | keys | window / buffer | run files | disk per key | index RAM per key | merges (time, bytes written) |
        |---|---|---|---|---|---|
        | \(stored.keysInRuns) in runs of \(keys) | \(window) / \(buffer) | \(stored.runCount) \
        | \(String(format: "%.0f", Double(stored.runFileBytes) / Double(max(stored.keysInRuns, 1)))) B \
        | \(String(format: "%.2f", Double(stored.indexMemoryBytes) / Double(max(stored.keysInRuns, 1)))) B \
        (\(String(format: "%.1f", Double(stored.indexMemoryBytes) / megabyte)) MiB for \(stored.namesInRuns) names) \
        | \(stored.merges) (\(String(format: "%.1f", Double(stored.mergeNanoseconds) / 1e9)) s, \
        \(String(format: "%.0f", Double(stored.mergedBytes) / megabyte)) MiB) |

        | shard throughput (1 shard, no fdatasync) | per second | µs each |
        |---|---|---|
        | new keys while writing, first tenth | \(format(rates.first!)) | \(String(format: "%.2f", 1e6 / rates.first!)) |
        | new keys while writing, last tenth | \(format(rates.last!)) | \(String(format: "%.2f", 1e6 / rates.last!)) |
        | new keys after reopening, store full | \(format(newKeys)) | \(String(format: "%.2f", 1e6 / newKeys)) |
        | repeats of keys in runs (two preads each, page cache) | \(format(oldRepeats)) | \(String(format: "%.2f", 1e6 / oldRepeats)) |
        | repeats of keys in the ring | \(format(recentRepeats)) | \(String(format: "%.2f", 1e6 / recentRepeats)) |

        Resident memory growth: \(String(format: "%.0f", Double(residentAfterWrite) / megabyte)) MiB after writing \
        (ring, buffers, members, page-cache-free), \(String(format: "%.0f", Double(residentAfterLookups) / megabyte)) \
        MiB after reopening and the lookups.

        """
}

/// Submits an earn for each key as fast as the shard takes them (a 16,000-request window); returns per second.
func submitRate(_ ledger: Ledger, keys: some Sequence<UInt64>, cards: [CardNumber]) -> Double {
    let sink = LatencySink(startNs: monotonicNs())
    let startNs = monotonicNs()
    var count = 0
    for key in keys {
        let request = earnRequest(key: key, card: cards[Int(key % UInt64(cards.count))], tag: 0)
        while true {
            sink.waitForRoom(limit: 16000)
            sink.inFlight.add(1, ordering: .relaxed)
            if ledger.submit(request, to: sink) { break }
            sink.inFlight.subtract(1, ordering: .relaxed)
        }
        count += 1
    }
    while sink.inFlight.load(ordering: .relaxed) > 0 { usleep(1000) }
    return Double(count) / (Double(monotonicNs() - startNs) / 1e9)
}
