import Foundation
import Glibc
import Testing

@testable import Ledger

/// The ledger's time only moves forward: a machine clock behind the newest log record is refused at start unless
/// the operator overrides it, and then the ledger keeps stamping the newest record's time until the clock passes it.
@Suite struct ClockTests {
    /// An hour ahead: far beyond the tolerance, as a machine whose clock was once wrong would have written.
    static let aheadMs: Int64 = 3_600_000
    static let card = Wire.card(93)

    /// Writes one purchase of `card` into `data` with a ledger clock an hour ahead; returns that time.
    static func writeRecordFromTheFuture(data: String, shards: Int) throws -> Int64 {
        var configuration = LedgerConfiguration()
        configuration.shardCount = shards
        let future = LedgerConfiguration.realtimeMs() + aheadMs
        configuration.clockMs = { future }
        configuration.log = { _ in }
        let ledger = try Ledger.open(directory: data, configuration: configuration)
        defer { ledger.close() }
        let key = IdempotencyKey(word0: 1, word1: 2)
        let reply = ledger.perform(
            LedgerRequest(
                tag: 1, key: key, digest: ContentDigest(high: 1, low: 1), card: CardNumber(card)!,
                operation: .earn(amounts: AssetAmounts(points: 5), purchaseAmountMinor: 500, autoEnrol: true)))
        guard reply.status == .approved else { throw SwitchTestError("the future record was refused: \(reply)") }
        return future
    }

    /// RFC 3339 in UTC with milliseconds, as the switch names times.
    static func rfc3339(_ timeMs: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(timeMs) / 1000))
    }

    /// Every RFC 3339 time (with milliseconds) in `text`, in milliseconds since the epoch.
    static func times(in text: String) -> [Int64] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let pattern = try! NSRegularExpression(pattern: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"#)
        let range = NSRange(text.startIndex..., in: text)
        return pattern.matches(in: text, range: range).compactMap { match in
            Range(match.range, in: text).flatMap { formatter.date(from: String(text[$0])) }
                .map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
        }
    }

    /// The time of every record in every shard's log, read back from the files.
    static func recordTimes(data: String, shards: Int) throws -> [Int64] {
        var times: [Int64] = []
        for shard in 0..<shards {
            let reader = WALReader(directory: DataDirectory.shardDirectory(data, shard: shard), readOnly: true)
            _ = try reader.scan(afterSequence: 0, snapshotCRC: nil) { body, _, _ in times.append(body.timeMs) }
        }
        return times
    }

    @Test("serve refuses a clock behind the newest log record, naming both times (UTC) and how to override it")
    func clockBehindIsRefused() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let before = LedgerConfiguration.realtimeMs()
        let future = try Self.writeRecordFromTheFuture(data: directory.data, shards: 2)
        let outcome = try SwitchProcess.serve(json: #"{"shards": 2, "loops": 1}"#, directory: directory)
        let after = LedgerConfiguration.realtimeMs()
        #expect(outcome.status == 1, "\(outcome.standardError)")
        let line = outcome.standardError.split(separator: "\n").first { $0.contains("cannot start") } ?? ""
        #expect(line.contains(Self.rfc3339(future)), "the newest record's time: \(line)")
        let named = Self.times(in: String(line)).filter { $0 != future }
        #expect(named.contains { (before - 1000)...(after + 1000) ~= $0 }, "the machine's time: \(line)")
        #expect(line.contains("--allow-clock-behind"))
        #expect(try Self.recordTimes(data: directory.data, shards: 2) == [future], "nothing was written")
    }

    @Test("serve --allow-clock-behind starts with a warning and stamps new records with the newest record's time")
    func clockBehindCanBeAllowed() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let future = try Self.writeRecordFromTheFuture(data: directory.data, shards: 2)
        let server = try SwitchProcess(directory: directory, arguments: ["--allow-clock-behind"])
        defer { server.stop() }
        let warning = server.log.split(separator: "\n").first { $0.contains("WARN") && $0.contains("clock") } ?? ""
        #expect(warning.contains(Self.rfc3339(future)) && warning.contains("--allow-clock-behind"), "\(server.log)")
        var terminal = Terminal()
        let reply = try SwitchClient(port: server.port).exchange(terminal.purchase(Self.card, 1_000))
        #expect(reply.code == "00" && reply.available == 15)
        #expect(server.signalAndWait(SIGTERM)?.status == 0)
        // The purchase happened an hour "before" the record already in the log: it is stamped with that record's
        // time, so the log's time never goes backwards.
        #expect(try Self.recordTimes(data: directory.data, shards: 2) == [future, future])
    }
}
