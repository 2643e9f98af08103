@testable import AdminAccess
import Foundation
import HTTP
import Testing
import TestSupport

/// The audit journal's checkpoint: written at a clean close, used at the next open (users, operation ids and the
/// chain carry over), and never hiding damage — before it (open and verify refuse), after it (the tail is still
/// re-hashed), removed entries, a rewritten trail, a damaged checkpoint file (ignored, rewritten).
struct AuditJournalCheckpointTests {
    static let settings: AccessSettings = {
        var settings = AccessSettings()
        settings.checkpointEntriesBetween = 3
        return settings
    }()

    var checkpointPath: (TemporaryDirectory) -> String { { $0.path + "/audit/journal.checkpoint" } }

    /// Users a, b, c, d (b deleted) and two entries with operation ids: nine entries, closed with a checkpoint.
    func makeTrail(_ directory: TemporaryDirectory, clock: VirtualClock) throws -> [String] {
        let access = try AccessControl.openForTest(directory, clock: clock, settings: Self.settings)
        defer { access.close() }
        var ids: [String] = []
        for name in ["a", "b", "c", "d"] { ids.append(try access.createForTest(name).user.id) }
        let deleted = Completion()
        try access.deleteUser(id: ids[1], actor: .commandLine, completion: deleted.callback)
        #expect(deleted.wait() == nil)
        let draft = AuditDraft(action: "cards.block", target: "cards/c1", detail: AuditDetail.make { $0.member("n", 1) })
        for operation: UInt64 in [41, 40] {
            let done = Completion()
            try access.appendAudit([draft], actor: .commandLine, operation: operation, completion: done.callback)
            #expect(done.wait() == nil)
        }
        return [ids[0], ids[2], ids[3]]
    }

    @Test("a clean close writes a checkpoint; the next open takes users, operation ids and the chain from it")
    func reopenFromCheckpoint() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        let users = try makeTrail(directory, clock: clock)
        let checkpoint = try #require(try AuditJournalCheckpoint.read(directory: directory.path + "/audit"))
        #expect(checkpoint.entryCount == 7 && checkpoint.operations == [40, 41] && checkpoint.userSeqs == [1, 3, 4])
        let access = try AccessControl.openForTest(directory, clock: clock, settings: Self.settings)
        defer { access.close() }
        #expect(access.users.map(\.id) == users)
        #expect(access.highestOperation == 41 && access.containsOperation(40) && !access.containsOperation(39))
        #expect(try access.entries(after: 0, limit: 10).entries.map(\.seq) == Array(1...7))
        _ = try access.createForTest("e")
        #expect(try AuditJournalFile.verify(dataDirectory: directory.path).damage == nil)
    }

    @Test("damage BEFORE the checkpoint: open refuses naming the entry, audit verify names it too")
    func damageBeforeCheckpoint() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        _ = try makeTrail(directory, clock: clock)
        var bytes = try #require(FileManager.default.contents(atPath: directory.journal))
        let secondLine = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 1
        let name = try #require(bytes[secondLine...].firstRange(of: Data(#""name":"b""#.utf8)))
        bytes[name.upperBound - 2] = UInt8(ascii: "x")
        try bytes.write(to: URL(fileURLWithPath: directory.journal))
        #expect(try AuditJournalFile.verify(dataDirectory: directory.path).damage?.seq == 2)
        do {
            _ = try AccessControl.openForTest(directory, clock: clock, settings: Self.settings)
            Issue.record("a journal damaged before its checkpoint opened")
        } catch {
            #expect("\(error)".contains("entry seq 2 at byte offset \(secondLine)"))
        }
    }

    @Test("damage AFTER the checkpoint: the entries after it are still re-hashed at open and by verify")
    func damageAfterCheckpoint() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        _ = try makeTrail(directory, clock: clock)
        var settings = Self.settings
        settings.checkpointEntriesBetween = 100
        let access = try AccessControl.openForTest(directory, clock: clock, settings: settings)
        _ = try access.createForTest("late")
        access.close()
        #expect(try AuditJournalCheckpoint.read(directory: directory.path + "/audit")?.entryCount == 7)
        var bytes = try #require(FileManager.default.contents(atPath: directory.journal))
        let name = try #require(bytes.firstRange(of: Data(#""name":"late""#.utf8)))
        bytes[name.upperBound - 2] = UInt8(ascii: "x")
        try bytes.write(to: URL(fileURLWithPath: directory.journal))
        #expect(try AuditJournalFile.verify(dataDirectory: directory.path).damage?.seq == 8)
        do {
            _ = try AccessControl.openForTest(directory, clock: clock, settings: settings)
            Issue.record("a journal damaged after its checkpoint opened")
        } catch {
            #expect("\(error)".contains("entry seq 8") && "\(error)".contains("hash mismatch"))
        }
    }

    @Test("entries the checkpoint sealed removed (a shorter, still chained journal): open and verify refuse")
    func removedEntries() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        _ = try makeTrail(directory, clock: clock)
        let bytes = try #require(FileManager.default.contents(atPath: directory.journal))
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        try Data(lines.prefix(5).joined(separator: [UInt8(ascii: "\n")]) + [UInt8(ascii: "\n")])
            .write(to: URL(fileURLWithPath: directory.journal))
        let damage = try #require(try AuditJournalFile.verify(dataDirectory: directory.path).damage)
        #expect(damage.seq == 6 && damage.reason.contains("entries were removed"))
        do {
            _ = try AccessControl.openForTest(directory, clock: clock, settings: Self.settings)
            Issue.record("a journal shorter than its checkpoint opened")
        } catch {
            #expect("\(error)".contains("entries were removed"))
        }
    }

    @Test("a damaged checkpoint file is not one: the open reads the whole journal and writes a good checkpoint")
    func damagedCheckpointFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        let users = try makeTrail(directory, clock: clock)
        var bytes = try #require(FileManager.default.contents(atPath: checkpointPath(directory)))
        bytes[20] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: checkpointPath(directory)))
        #expect(try AuditJournalCheckpoint.read(directory: directory.path + "/audit") == nil)
        let access = try AccessControl.openForTest(directory, clock: clock, settings: Self.settings)
        #expect(access.users.map(\.id) == users && access.highestOperation == 41)
        access.close()
        #expect(try AuditJournalCheckpoint.read(directory: directory.path + "/audit")?.entryCount == 7)
    }

    @Test("the checkpoint's bytes round-trip; any truncation or flipped byte decodes as none")
    func encoding() {
        let checkpoint = AuditJournalCheckpoint(
            entryCount: 9, end: 4000, journalCRC: 0xDEAD_BEEF, lastHash: String(repeating: "ab", count: 32),
            userSeqs: [1, 5], operations: [2, 3, 99])
        let bytes = checkpoint.encoded()
        #expect(AuditJournalCheckpoint.decode(bytes) == checkpoint)
        for index in stride(from: 0, to: bytes.count, by: 7) {
            var damaged = bytes
            damaged[index] ^= 0x01
            #expect(AuditJournalCheckpoint.decode(damaged) == nil)
        }
        #expect(AuditJournalCheckpoint.decode(Array(bytes.dropLast(8))) == nil)
    }
}
