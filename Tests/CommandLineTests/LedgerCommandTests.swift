import Foundation
import Testing

/// `loyalty-switch ledger breakage` as an operator runs it.
@Suite struct LedgerCommandTests {
    /// An empty one-shard data directory, as a first open leaves it before any record.
    static func emptyDataDirectory() throws -> String {
        let root = NSTemporaryDirectory() + "ledger-cli-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/shard-000", withIntermediateDirectories: true)
        let meta =
            "format=1 shards=1 membersPerShardMax=1024 cardsPerShardMax=1024 holdsPerShardMax=64 "
            + "holdsPerMemberMax=16 idempotencyKeysPerShardMax=1024 idempotencyRetentionMs=3024000000 "
            + "transfersInFlightMax=16\n"
        try Data(meta.utf8).write(to: URL(fileURLWithPath: root + "/ledger.meta"))
        return root
    }

    @Test("breakage prints the CSV header, a row per shard and a total row; exit 0 (a meta without lot limits reads)")
    func breakageOnEmptyDirectory() throws {
        let root = try Self.emptyDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let outcome = try CommandRunner.run(["ledger", "breakage", "--data", root])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(
            outcome.standardOutput
                == "shard,points_outstanding,points_expired,credit_outstanding,credit_expired\n0,0,0,0,0\n"
                + "total,0,0,0,0\n")
    }

    @Test("breakage without --data is a usage error (2); on a directory that is not a ledger it fails (1)")
    func breakageErrors() throws {
        #expect(try CommandRunner.run(["ledger", "breakage"]).status == 2)
        let outcome = try CommandRunner.run(["ledger", "breakage", "--data", NSTemporaryDirectory()])
        #expect(outcome.status == 1 && outcome.standardError.contains("not a ledger data directory"))
    }
}
