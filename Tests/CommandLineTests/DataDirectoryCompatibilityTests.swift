import Foundation
import Testing

/// A data directory written by an earlier format opens under this one with the same books (fixtures/data).
@Suite struct DataDirectoryCompatibilityTests {
    @Test("a format-5 directory (2 shards, club program, snapshots and a log tail) verifies to the totals it had")
    func format5DirectoryVerifies() throws {
        let fixtures = CommandRunner.repositoryRoot.appendingPathComponent("fixtures/data")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("format5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["xzf", fixtures.appendingPathComponent("format5-club.tar.gz").path, "-C", scratch.path]
        try tar.run()
        tar.waitUntilExit()
        try #require(tar.terminationStatus == 0, "tar could not unpack the fixture")
        let outcome = try CommandRunner.run(["ledger", "verify", "--data", scratch.appendingPathComponent("data").path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let expected = try String(
            contentsOf: fixtures.appendingPathComponent("format5-club.verify.txt"), encoding: .utf8)
        let lines = outcome.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        #expect(lines.joined(separator: "\n") == expected, "\(outcome.standardOutput)")
    }
}
