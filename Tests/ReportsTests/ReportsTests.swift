import Foundation
import Ledger
import LoyaltyLedger
import Reports
import Testing

/// Every report over a small real ledger (two shards, earns, a blocked card), read as a report reads it: the
/// checkpoint and the log after it, read-only, while the ledger is still open.
@Suite struct ReportsTests {
    var directory = NSTemporaryDirectory() + "reports-test-\(UInt32.random(in: 0...UInt32.max))"
    static let cardCount = 12

    func configuration() -> LedgerConfiguration {
        var configuration = LedgerConfiguration()
        configuration.shardCount = 2
        configuration.membersPerShardMax = 1024
        configuration.cardsPerShardMax = 1024
        configuration.holdsPerShardMax = 64
        configuration.idempotencyKeysPerShardMax = 1024
        configuration.batchBytesMax = 16 << 10
        configuration.segmentBytes = 256 << 10
        configuration.snapshotIntervalRecords = 0
        configuration.decider = LoyaltyDecider()
        configuration.log = { _ in }
        configuration.logFailure = { _ in }
        return configuration
    }

    static func card(_ number: Int) -> CardNumber { CardNumber(String(5_000_000_000_000_000 + number))! }

    /// Card i earns 10·(i+1) points and i credit; card 3 is blocked afterwards. The ledger stays open.
    func writeBooks() throws -> Ledger {
        let ledger = try Ledger.open(directory: directory, configuration: configuration())
        for index in 0..<Self.cardCount {
            let key = IdempotencyKey(word0: UInt64(index + 1), word1: 7)
            let reply = ledger.perform(
                LedgerRequest(
                    tag: key.word0, key: key, digest: ContentDigest(high: 0, low: key.word0), card: Self.card(index),
                    operation: .earn(
                        amounts: AssetAmounts(points: Int64(10 * (index + 1)), credit: Int64(index)),
                        purchaseAmountMinor: 1000, autoEnrol: true)))
            #expect(reply.status == .approved)
        }
        let key = IdempotencyKey(word0: 999, word1: 7)
        let blocked = ledger.perform(
            LedgerRequest(
                tag: 999, key: key, digest: ContentDigest(high: 0, low: 999), card: Self.card(3), operation: .block))
        #expect(blocked.status == .approved)
        return ledger
    }

    func report(_ name: ReportName, merchants: Set<UInt32>? = nil, chunkBytes: Int = 1024) throws -> [[String]] {
        var bytes: [UInt8] = []
        var csv = CSVWriter(chunkBytes: chunkBytes) { chunk throws(ReportError) in bytes += chunk }
        let context = ReportContext(memberId: { "mbr_\($0.high)" }, merchantName: { "m\($0)" })
        _ = try Reports.write(
            ReportQuery(name: name, merchantTags: merchants), directory: directory, configuration: configuration(),
            context: context, to: &csv)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("500000000000000"), "no full card number in a report")
        return try CSVParse.rows(text)
    }

    @Test("members: one row per member, balances as earned, masked first card, ids of the member's first card")
    func members() throws {
        let ledger = try writeBooks()
        defer {
            ledger.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let rows = try report(.members)
        #expect(rows[0] == ReportName.members.columns)
        #expect(rows.count == 1 + Self.cardCount)
        let points = rows.dropFirst().map { Int($0[3])! }.sorted()
        #expect(points == (1...Self.cardCount).map { 10 * $0 })
        #expect(rows.dropFirst().allSatisfy { $0[1].hasPrefix("500000") && $0[1].contains("******") })
        #expect(Set(rows.dropFirst().map { $0[0] }).count == Self.cardCount)
    }

    @Test("cards-issued lists every card; lost-cards only the blocked one, with its member")
    func cards() throws {
        let ledger = try writeBooks()
        defer {
            ledger.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let issued = try report(.cardsIssued)
        #expect(issued.count == 1 + Self.cardCount)
        let lost = try report(.lostCards)
        #expect(lost.count == 2)
        #expect(lost[1][0] == "500000******0003" && lost[1][3] == "blocked" && lost[1][1] == "loyalty")
        #expect(issued.contains(lost[1]))
    }

    @Test("tiers adds every member's balances; breakage gives the numbers `ledger breakage` prints")
    func tiersAndBreakage() throws {
        let ledger = try writeBooks()
        let totalPoints = (1...Self.cardCount).reduce(0) { $0 + 10 * $1 }
        let totalCredit = (0..<Self.cardCount).reduce(0, +)
        let tiers = try report(.tiers)
        #expect(tiers.count == 2 && tiers[1] == ["0", String(Self.cardCount), String(totalPoints), String(totalCredit), "0", "0"])
        let breakage = try report(.breakage)
        ledger.close()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cli = try LedgerBreakage.report(directory: directory, decider: LoyaltyDecider()).get()
        #expect(breakage.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n" == cli)
        #expect(breakage.last == ["total", String(totalPoints), "0", String(totalCredit), "0"])
    }

    @Test("settlement: the header and no rows without coalition spending; a merchant filter keeps the header")
    func settlement() throws {
        let ledger = try writeBooks()
        defer {
            ledger.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
        #expect(try report(.settlement) == [ReportName.settlement.columns])
        #expect(try report(.settlement, merchants: [42]) == [ReportName.settlement.columns])
    }

    @Test("a directory that is not a ledger is refused as unreadable, before any byte is written")
    func unreadable() {
        var written = 0
        var csv = CSVWriter { chunk throws(ReportError) in written += chunk.count }
        #expect(throws: ReportError.self) {
            _ = try Reports.write(
                ReportQuery(name: .members), directory: directory + "/missing", configuration: configuration(),
                context: ReportContext(memberId: { _ in "" }), to: &csv)
        }
        #expect(written == 0)
    }
}

/// A strict RFC 4180 reader for the tests: quoted fields, doubled quotes, CRLF row ends only.
enum CSVParse {
    struct Malformed: Error {}

    static func rows(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text.unicodeScalars)[...]
        while let scalar = characters.popFirst() {
            if quoted {
                if scalar == "\"" {
                    if characters.first == "\"" {
                        field.unicodeScalars.append(characters.removeFirst())
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
            } else if scalar == "\"" && field.isEmpty {
                quoted = true
            } else if scalar == "," {
                row.append(field)
                field = ""
            } else if scalar == "\r" {
                guard characters.popFirst() == "\n" else { throw Malformed() }
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else if scalar == "\n" || scalar == "\"" {
                throw Malformed()
            } else {
                field.unicodeScalars.append(scalar)
            }
        }
        guard !quoted && row.isEmpty && field.isEmpty else { throw Malformed() }
        return rows
    }
}
