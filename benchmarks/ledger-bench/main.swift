// Ledger benchmark: durable earn throughput with 1, 2 and 4 shards (group commit, real fdatasync), records per
// fdatasync, commit latency percentiles, recovery speed of a 10M-record log, and RAM per member at 1M members;
// with `--only keys` the request-key store at a large key count (benchmarks/request-keys.sh).
//
//     swift run -c release --scratch-path .build-ledger ledger-bench [--quick] [--directory DIR] [--only PART]
//
// Numbers go to benchmarks/RESULTS.md, section "Ledger (issue 3)". Not a test: nothing here asserts.
import Foundation
import Ledger

#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
let quick = arguments.contains("--quick")
let baseDirectory: String = {
    if let index = arguments.firstIndex(of: "--directory"), index + 1 < arguments.count { return arguments[index + 1] }
    return "/work/ledger-bench-data"
}()

func removeDirectory(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

func monotonicNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func format(_ value: Double) -> String { String(format: "%.0f", value) }

/// Progress goes to standard error; standard output gets only the final Markdown tables (for RESULTS.md).
func progress(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

progress(
    "ledger-bench: \(quick ? "quick" : "full") run in \(baseDirectory), "
        + "\(ProcessInfo.processInfo.activeProcessorCount) cores"
)
/// `--only throughput|recovery|memory` runs one part (for profiling).
let only: String? = arguments.firstIndex(of: "--only").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
var sections: [String] = []
if only == nil || only == "throughput" {
    sections.append(throughputSection(shardCounts: [1, 2, 4], seconds: quick ? 2 : 6))
}
if only == nil || only == "recovery" {
    sections.append(recoverySection(records: quick ? 1_000_000 : 10_000_000, shards: 1))
    sections.append(recoverySection(records: quick ? 1_000_000 : 10_000_000, shards: 2))
}
if only == "spare-ab" { sections.append(spareSection(rounds: 3, seconds: quick ? 2 : 4)) }
if only == nil || only == "memory" { sections.append(memorySection(members: quick ? 200_000 : 1_000_000)) }
/// `--only checkpoint [--saves-per-commit N[,N...]] [--earns N] [--checkpoint-every N]`: the shard's longest stall
/// per checkpoint at 1M members, and recovery from a checkpoint; one run per bound on the chunks a commit group may
/// save (default: the ledger's), one after the other in the same process, so their numbers share the machine's
/// load. `--earns` (default 3,000,000) earns after the enrolments, one request key each: 99,000,000 gives the
/// issue's 100M remembered keys; `--checkpoint-every` records between checkpoints (default 500,000).
if only == "checkpoint" {
    func option(_ name: String) -> Int? {
        arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? Int(arguments[$0 + 1]) : nil }
    }
    let savesList = arguments.firstIndex(of: "--saves-per-commit").flatMap {
        $0 + 1 < arguments.count ? arguments[$0 + 1].split(separator: ",").compactMap { Int($0) } : nil
    } ?? [LedgerConfiguration().checkpointSavesPerCommitMax]
    precondition(!savesList.isEmpty && savesList.allSatisfy { $0 >= 1 }, "--saves-per-commit: whole numbers ≥ 1")
    for saves in savesList {
        sections.append(
            checkpointSection(
                members: quick ? 200_000 : 1_000_000,
                earnsAfter: option("--earns") ?? (quick ? 1_000_000 : 3_000_000),
                savesPerCommitMax: saves, checkpointEvery: option("--checkpoint-every") ?? 500_000))
    }
}
/// `--only keys --keys N [--window W] [--buffer B]`: the request-key store at N keys (benchmarks/request-keys.sh).
if only == "keys" {
    func number(_ name: String, _ fallback: Int) -> Int {
        arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? Int(arguments[$0 + 1]) : nil } ?? fallback
    }
    let defaults = LedgerConfiguration()
    sections.append(
        keyIndexSection(
            keys: number("--keys", 1_000_000), window: number("--window", defaults.idempotencyKeysPerShardMax),
            buffer: number("--buffer", defaults.keyBufferEntriesMax)))
}
print(sections.joined(separator: "\n"))
removeDirectory(baseDirectory)
