// Child process for the crash tests: applies earn operations forever and appends the key of each acknowledged
// (durable) one to an acknowledgement file, until the test kills it with SIGKILL.
//
// usage: ledger-crash-child DATA_DIR ACK_FILE KEY_START CARD_COUNT [lots:DAY | checkpoint]
//
// With `lots:DAY` the clock stands at DAY (days since the epoch) and lots expire fast, with frequent sweeps
// (`crashLotConfiguration` in CrashRequest.swift), and earns go to the half of the cards of the day's parity
// (`lotCrashRequest`), for the lot crash test. With `checkpoint` the tables are large enough that a snapshot takes
// a while to write (`crashCheckpointConfiguration`), for the checkpoint crash test.
import Foundation
import Ledger

#if canImport(Glibc)
    import Glibc
#endif

/// Writes "key\n" per acknowledged reply with one write(2) each: the page cache keeps it across SIGKILL.
final class AcknowledgementSink: LedgerReplySink, @unchecked Sendable {
    let descriptor: Int32
    let semaphore = DispatchSemaphore(value: 0)

    init(descriptor: Int32) { self.descriptor = descriptor }

    func deliver(_ replies: [LedgerReply]) {
        for reply in replies {
            precondition(reply.status == .approved, "crash child: earn not approved: \(reply.status)")
            let line = "\(reply.tag)\n"
            _ = line.withCString { write(descriptor, $0, strlen($0)) }
            semaphore.signal()
        }
    }
}

/// The configuration the crash tests use: small segments and frequent snapshots, so kills land during
/// rotation, snapshot writing and segment deletion too.
func crashConfiguration() -> LedgerConfiguration {
    var configuration = LedgerConfiguration()
    configuration.shardCount = 2
    configuration.membersPerShardMax = 1024
    configuration.cardsPerShardMax = 1024
    configuration.holdsPerShardMax = 64
    configuration.idempotencyKeysPerShardMax = 1 << 16
    // The lot crash test's clock runs over 8 days: every key must outlive it (the default is 7 days).
    configuration.idempotencyRetentionMs = 35 * 86_400_000
    configuration.batchBytesMax = 16 << 10
    configuration.segmentBytes = 64 << 10
    configuration.snapshotIntervalRecords = 300
    return configuration
}

func printError(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

let arguments = CommandLine.arguments
guard arguments.count == 5 || arguments.count == 6, let keyStart = UInt64(arguments[3]),
    let cardCount = UInt64(arguments[4])
else {
    printError("usage: ledger-crash-child DATA_DIR ACK_FILE KEY_START CARD_COUNT [lots:DAY | checkpoint]")
    exit(2)
}
var configuration = crashConfiguration()
var lotDay: Int64?
if arguments.count == 6 && arguments[5] == "checkpoint" {
    configuration = crashCheckpointConfiguration(configuration)
} else if arguments.count == 6 {
    guard arguments[5].hasPrefix("lots:"), let day = Int64(arguments[5].dropFirst(5)) else {
        printError("crash child: the sixth argument is lots:DAY or checkpoint")
        exit(2)
    }
    configuration = crashLotConfiguration(configuration, day: day)
    lotDay = day
}
let ledger: Ledger
do {
    ledger = try Ledger.open(directory: arguments[1], configuration: configuration)
} catch {
    printError("crash child: open failed: \(error)")
    exit(3)
}
let descriptor = open(arguments[2], O_WRONLY | O_CREAT | O_APPEND, 0o600)
precondition(descriptor >= 0, "crash child: cannot open the acknowledgement file")
let sink = AcknowledgementSink(descriptor: descriptor)
let windowSize = 32

/// The request for `key`: the lot crash test's (on the day's half of the cards) when running `lots:DAY`.
@MainActor
func request(key: UInt64) -> LedgerRequest {
    guard let lotDay else { return crashRequest(key: key, cardCount: cardCount) }
    return lotCrashRequest(key: key, cardCount: cardCount, day: lotDay)
}

var key = keyStart
for _ in 0..<windowSize {
    precondition(ledger.submit(request(key: key), to: sink), "queue full")
    key += 1
}
while key < keyStart + 10_000_000 {
    sink.semaphore.wait()
    precondition(ledger.submit(request(key: key), to: sink), "queue full")
    key += 1
}
