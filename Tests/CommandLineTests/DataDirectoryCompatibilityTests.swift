import Foundation
import Glibc
import TestSupport
import Testing

/// A data directory written by an earlier format opens under this one with the same books (fixtures/data).
@Suite struct DataDirectoryCompatibilityTests {
    static var fixtures: URL { CommandRunner.repositoryRoot.appendingPathComponent("fixtures/data") }

    /// Unpacks `format5-club.tar.gz` into a fresh scratch directory; its `data` is the data directory.
    static func unpackFormat5() throws -> URL {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("format5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let tar = try ChildProcess.run(
            "/bin/tar", ["xzf", fixtures.appendingPathComponent("format5-club.tar.gz").path, "-C", scratch.path])
        try #require(tar.status == 0, "tar could not unpack the fixture: \(tar.output)")
        return scratch
    }

    @Test("a format-5 directory (2 shards, club program, snapshots and a log tail) verifies to the totals it had")
    func format5DirectoryVerifies() throws {
        let scratch = try Self.unpackFormat5()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outcome = try CommandRunner.run(["ledger", "verify", "--data", scratch.appendingPathComponent("data").path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let expected = try String(
            contentsOf: Self.fixtures.appendingPathComponent("format5-club.verify.txt"), encoding: .utf8)
        let lines = outcome.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        #expect(lines.joined(separator: "\n") == expected, "\(outcome.standardOutput)")
    }

    @Test("a format-5 segment (no header) cut mid-file is refused by verify, naming file, offset and sequences")
    func format5SegmentCutShortRefused() throws {
        let scratch = try Self.unpackFormat5()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let data = scratch.appendingPathComponent("data").path
        let segment = data + "/shard-000/wal-00000000000000000001.log"
        // Mid-record, about 20 KB before the end of its records (some 60 records after the snapshot): the old
        // torn-tail rule took such a file for an unacknowledged last batch and lost those records silently.
        let bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        #expect(bytes.count == 64 << 20, "the format-5 build allocated 64 MiB segments")
        let recordsEnd = (bytes.lastIndex { $0 != 0 } ?? 0) + 1
        let cut = recordsEnd - 20_003
        #expect(truncate(segment, off_t(cut)) == 0)
        let outcome = try CommandRunner.run(["ledger", "verify", "--data", data])
        #expect(outcome.status == 1, "\(outcome.standardOutput)")
        let text = outcome.standardOutput + outcome.standardError
        #expect(text.contains("damaged log: \(segment) at offset "), "\(text)")
        #expect(
            text.contains(
                "the file is \(cut) bytes but segments written before segment headers were allocated 67108864: cut "
                    + "short; its records end at sequence "), "\(text)")
    }
}
