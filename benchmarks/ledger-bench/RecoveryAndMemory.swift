import Foundation
import Ledger

/// Writes `records` earns into a `shards`-shard log (fdatasync skipped while generating: the bytes on disk are
/// the same), stops without a snapshot, then times `Ledger.open`, which replays the whole log (shards in parallel).
func recoverySection(records: Int, shards: Int) -> String {
    let directory = baseDirectory + "/recovery"
    removeDirectory(directory)
    var configuration = LedgerConfiguration()
    configuration.shardCount = shards
    configuration.queueCapacity = 16384
    configuration.snapshotIntervalRecords = 0
    configuration.skipSync = true
    configuration.log = { _ in }
    let writer = try! Ledger.open(directory: directory, configuration: configuration)
    let sink = LatencySink(startNs: monotonicNs())
    let cards = (0..<100_000).map(benchmarkCard)
    var key: UInt64 = 1
    while key <= UInt64(records) {
        sink.waitForRoom(limit: 16000)
        sink.inFlight.add(1, ordering: .relaxed)
        if ledger(writer, submits: earnRequest(key: key, card: cards[Int(key % 100_000)], tag: 0), to: sink) {
            key += 1
        } else {
            sink.inFlight.subtract(1, ordering: .relaxed)
        }
    }
    while sink.inFlight.load(ordering: .relaxed) > 0 { usleep(1000) }
    writer.close(snapshot: false)
    let logBytes = (0..<shards).map { filesBytes(directory + "/shard-00\($0)") }.reduce(0, +)
    configuration.skipSync = false
    let startNs = monotonicNs()
    let reader = try! Ledger.open(directory: directory, configuration: configuration)
    let seconds = Double(monotonicNs() - startNs) / 1e9
    let replayed = reader.recoveryReports.map(\.recordsReplayed).reduce(0, +)
    reader.close(snapshot: false)
    removeDirectory(directory)
    let line =
        "| \(replayed) | \(shards) | \(logBytes / 1_000_000) MB | \(String(format: "%.2f", seconds)) s "
        + "| \(format(Double(replayed) / seconds)) |"
    progress(line)
    return [
        "", "### Recovery (replay of the whole log, no snapshot; page cache warm)", "",
        "| records | shards | log files | open time | records/s |", "|---|---|---|---|---|", line,
    ].joined(separator: "\n")
}

func ledger(_ ledger: Ledger, submits request: LedgerRequest, to sink: LatencySink) -> Bool {
    ledger.submit(request, to: sink)
}

func filesBytes(_ directory: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.reduce(0) { total, name in
        total + ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0)
    }
}

/// Resident memory growth while `members` members are enrolled with one card and two accounts each (one earn
/// crediting points and credit). The idempotency window is a fixed, configured cost and is set small here;
/// its cost per key is measured separately.
func memorySection(members: Int) -> String {
    let perMember = measureResident(members: members, keysPerShard: 1024)
    let withKeys = measureResident(members: members, keysPerShard: members)
    let perKey = Double(withKeys - perMember) / Double(members)
    let lines = [
        "", "### Memory", "",
        "| members (1 card, 2 accounts) | RSS growth | bytes per member |", "|---|---|---|",
        "| \(members) | \(perMember / 1_000_000) MB | \(format(Double(perMember) / Double(members))) |",
        "",
        "Idempotency window on top: \(format(perKey)) bytes per remembered key "
            + "(default 262144 keys per shard ≈ \(format(perKey * 262_144 / 1e6)) MB per shard, allocated as used).",
    ]
    progress(lines.joined(separator: "\n"))
    return lines.joined(separator: "\n")
}

func measureResident(members: Int, keysPerShard: Int) -> Int {
    let directory = baseDirectory + "/memory"
    removeDirectory(directory)
    var configuration = LedgerConfiguration()
    configuration.shardCount = 1
    configuration.membersPerShardMax = members
    configuration.cardsPerShardMax = members
    configuration.idempotencyKeysPerShardMax = keysPerShard
    configuration.queueCapacity = 16384
    configuration.snapshotIntervalRecords = 0
    configuration.skipSync = true
    configuration.log = { _ in }
    let ledger = try! Ledger.open(directory: directory, configuration: configuration)
    let sink = LatencySink(startNs: monotonicNs())
    let before = residentBytes()
    var key: UInt64 = 1
    while key <= UInt64(members) {
        sink.waitForRoom(limit: 16000)
        sink.inFlight.add(1, ordering: .relaxed)
        if ledger.submit(earnRequest(key: key, card: benchmarkCard(Int(key)), tag: 0), to: sink) {
            key += 1
        } else {
            sink.inFlight.subtract(1, ordering: .relaxed)
        }
    }
    while sink.inFlight.load(ordering: .relaxed) > 0 { usleep(1000) }
    let after = residentBytes()
    let closeStartNs = monotonicNs()
    ledger.close()
    let closeSeconds = Double(monotonicNs() - closeStartNs) / 1e9
    progress(
        "close with final snapshot: \(String(format: "%.2f", closeSeconds)) s (\(members) members, "
            + "\(keysPerShard) idempotency keys)")
    removeDirectory(directory)
    return after - before
}
