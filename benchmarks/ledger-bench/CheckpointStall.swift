import Foundation
import Ledger
import Metrics

/// `--only checkpoint`: the shard thread's longest stall per checkpoint at `members` members (the shard's own
/// counter, `ShardStatistics.checkpointStallNanosecondsMax`: starting a checkpoint plus the chunks it saved in
/// one batch), with earns on random members while checkpoints are written, then the recovery time from the
/// newest checkpoint and the log after it. For comparison, the copy formats up to 6 made on the shard thread is
/// timed here as a memcpy of the same bytes into fresh memory (what `SnapshotImage` did).
func checkpointSection(members: Int, earnsAfter: Int, savesPerCommitMax: Int, checkpointEvery: Int = 500_000) -> String {
    precondition(members >= 1 && earnsAfter >= 0 && checkpointEvery >= 1, "a workload")
    let directory = baseDirectory + "/checkpoint"
    removeDirectory(directory)
    var configuration = LedgerConfiguration()
    configuration.shardCount = 1
    configuration.membersPerShardMax = members
    configuration.cardsPerShardMax = members
    configuration.queueCapacity = 16384
    configuration.snapshotIntervalRecords = checkpointEvery
    configuration.checkpointSavesPerCommitMax = savesPerCommitMax
    configuration.skipSync = true
    configuration.log = { line in progress("  ledger: " + line) }
    let ledger = try! Ledger.open(directory: directory, configuration: configuration)
    let sink = LatencySink(startNs: monotonicNs())
    var key: UInt64 = 1
    let total = UInt64(members + earnsAfter)
    while key <= total {
        sink.waitForRoom(limit: 16000)
        sink.inFlight.add(1, ordering: .relaxed)
        // Enrol every member once, then earn on random ones (writes spread over the whole state).
        let index = key <= UInt64(members) ? Int(key) : Int.random(in: 1...members)
        if ledger.submit(earnRequest(key: key, card: benchmarkCard(index), tag: 0), to: sink) {
            key += 1
        } else {
            sink.inFlight.subtract(1, ordering: .relaxed)
        }
    }
    while sink.inFlight.load(ordering: .relaxed) > 0 { usleep(1000) }
    let notApproved = sink.notApproved.withLock { $0 }
    let statistics = ledger.shardStatistics[0]
    ledger.close(snapshot: false)
    let snapshotBytes = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/shard-000"))?
        .filter { $0.hasSuffix(".snap") }
        .compactMap { try? FileManager.default.attributesOfItem(atPath: directory + "/shard-000/" + $0)[.size] as? Int }
        .first ?? 0
    let copy = UnsafeMutableRawPointer.allocate(byteCount: max(snapshotBytes, 1), alignment: 16)
    let source = UnsafeMutableRawPointer.allocate(byteCount: max(snapshotBytes, 1), alignment: 16)
    source.initializeMemory(as: UInt8.self, repeating: 1, count: max(snapshotBytes, 1))
    let copyStartNs = monotonicNs()
    copy.copyMemory(from: source, byteCount: snapshotBytes)
    let copyNs = monotonicNs() - copyStartNs
    copy.deallocate()
    source.deallocate()
    let openStartNs = monotonicNs()
    let openStartCPU = processCPUSeconds()
    let reopened = try! Ledger.open(directory: directory, configuration: configuration)
    let openSeconds = Double(monotonicNs() - openStartNs) / 1e9
    let openCPUSeconds = processCPUSeconds() - openStartCPU
    reopened.close(snapshot: false)
    removeDirectory(directory)
    var lines = [
        "", "### Checkpoint stall on the shard thread (\(members) members, then \(earnsAfter) earns with a request key "
            + "each, 1 shard, default 262,144-key ring, a checkpoint every \(checkpointEvery) records, "
            + "checkpointSavesPerCommitMax \(savesPerCommitMax))", "",
        "| checkpoints | abandoned | chunks saved (512 B) | longest shard stall per checkpoint | snapshot bytes | "
            + "the same bytes copied at once (formats ≤ 6) | recovery from the newest checkpoint + log |",
        "|---|---|---|---|---|---|---|",
        "| \(statistics.checkpointCount) | \(statistics.checkpointAbandonedCount) | \(statistics.checkpointChunksSaved) | "
            + "\(String(format: "%.3f", Double(statistics.checkpointStallNanosecondsMax) / 1e6)) ms (the start alone "
            + "\(String(format: "%.3f", Double(statistics.checkpointStartNanosecondsMax) / 1e6)) ms) | "
            + "\(snapshotBytes / 1_000_000) MB | \(String(format: "%.1f", Double(copyNs) / 1e6)) ms | "
            + "\(String(format: "%.2f", openSeconds)) s (CPU \(String(format: "%.2f", openCPUSeconds)) s) |",
    ]
    if !notApproved.isEmpty {
        lines += ["", "**Replies not approved (a run of earns expects none):** \(notApproved.sorted { $0.key < $1.key })"]
    }
    let distribution = [
        "", "Batches (wall time and the shard thread's CPU time; p50/p99 are histogram bucket bounds, max exact); "
            + "most chunks saved in one batch: \(statistics.checkpointChunksSavedPerBatchMax)", "",
        "| batches | count | wall p50 | wall p99 | wall max | CPU p50 | CPU p99 |", "|---|---|---|---|---|---|---|",
        batchRow(
            "no checkpoint running", statistics.batchNanoseconds.snapshot(),
            statistics.batchCPUNanoseconds.snapshot(), max: statistics.batchNanosecondsMax),
        batchRow(
            "a checkpoint being written", statistics.batchNanosecondsCheckpointing.snapshot(),
            statistics.batchCPUNanosecondsCheckpointing.snapshot(), max: statistics.batchNanosecondsCheckpointingMax),
    ]
    lines += distribution
    // How rare the worst is: every checkpoint start and every group that saved chunks, against the issue's ~1 ms.
    let stalls = statistics.checkpointStallNanoseconds.snapshot()
    let millisecond = ShardStatistics.checkpointStallBounds.firstIndex(of: 1_000_000)!
    let overMillisecond = stalls.buckets[(millisecond + 1)...].reduce(0, +)
    lines += [
        "", "The shard's own time on checkpoints per commit group (`loyalty_ledger_checkpoint_stall_seconds`): "
            + "\(stalls.count) groups or starts spent any; p50 \(quantileBound(stalls, 0.5)), "
            + "p99 \(quantileBound(stalls, 0.99)), p99.9 \(quantileBound(stalls, 0.999)); over 1 ms: \(overMillisecond) "
            + "(\(String(format: "%.4f", stalls.count == 0 ? 0 : 100 * Double(overMillisecond) / Double(stalls.count))) %)",
    ]
    progress(lines.joined(separator: "\n"))
    return lines.joined(separator: "\n")
}

/// The smallest bucket bound below which `fraction` of the observations fall (the +Inf bucket: "more").
func quantileBound(_ histogram: HistogramSnapshot, _ fraction: Double) -> String {
    let total = histogram.count
    guard total > 0 else { return "-" }
    var seen: UInt64 = 0
    for (index, count) in histogram.buckets.enumerated() {
        seen += count
        if Double(seen) >= fraction * Double(total) {
            guard index < histogram.bounds.count else { return "more" }
            return "≤ " + milliseconds(histogram.bounds[index])
        }
    }
    return "more"
}

func milliseconds(_ nanoseconds: UInt64) -> String { String(format: "%.3f ms", Double(nanoseconds) / 1e6) }

func batchRow(_ name: String, _ wall: HistogramSnapshot, _ cpu: HistogramSnapshot, max: UInt64) -> String {
    "| \(name) | \(wall.count) | \(quantileBound(wall, 0.5)) | \(quantileBound(wall, 0.99)) | \(milliseconds(max)) | "
        + "\(quantileBound(cpu, 0.5)) | \(quantileBound(cpu, 0.99)) |"
}

/// User + system CPU time of the whole process (every thread), in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
