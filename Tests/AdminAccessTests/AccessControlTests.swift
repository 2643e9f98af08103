import AdminAccess
import Foundation
import HTTP
import Testing
import TestSupport

/// Users, tokens and the journal in process with real files: durability across a reopen, revocation, limits,
/// coalesced refusals, the operation-id API the ledger will use, and what a damaged or torn journal does.
@Suite("Access control and audit journal")
struct AccessControlTests {
    @Test("users and their tokens survive a reopen; a deleted user's token is refused at once and after reopening")
    func usersAreDurable() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var access = try AccessControl.openForTest(directory, clock: clock)
        let ada = try access.createForTest("Ada", role: .admin)
        let bob = try access.createForTest("Bob", role: .merchant, merchants: ["MERCHANT000001"])
        #expect(access.authenticate(token: ada.token).userId == ada.user.id)
        let completion = Completion()
        try access.deleteUser(id: ada.user.id, actor: AuditActor(bob.user), completion: completion.callback)
        #expect(access.authenticate(token: ada.token).userId == nil, "revoked before the entry is durable")
        #expect(completion.wait() == nil)
        access.close()
        access = try AccessControl.openForTest(directory, clock: clock)
        defer { access.close() }
        #expect(access.users == [bob.user])
        #expect(access.authenticate(token: bob.token).userId == bob.user.id)
        let page = try access.entries(after: 0, limit: 10)
        #expect(page.entries.map(\.action) == ["users.create", "users.create", "users.delete", "auth.refused"])
        #expect(try AuditJournalFile.verify(dataDirectory: directory.path).entryCount == 4)
        #expect(access.authenticate(token: ada.token).userId == nil)
        #expect(
            !String(decoding: FileManager.default.contents(atPath: directory.journal)!, as: UTF8.self)
                .contains(bob.token), "the journal never holds a token")
    }

    @Test("usersMax: the creation over it is 409 and journals nothing")
    func usersMax() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var settings = AccessSettings()
        settings.usersMax = 2
        let access = try AccessControl.openForTest(directory, clock: VirtualClock(ms: 1_796_000_000_000), settings: settings)
        defer { access.close() }
        _ = try access.createForTest("one")
        _ = try access.createForTest("two")
        #expect(throws: HTTPProblem.self) { _ = try access.createForTest("three") }
        #expect(access.durableSeq == 2)
    }

    @Test("the same token is limited to requestsPerSecondPerToken, refilled as (virtual) time passes")
    func rateLimit() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var settings = AccessSettings()
        settings.requestsPerSecondPerToken = 3
        let access = try AccessControl.openForTest(directory, clock: clock, settings: settings)
        defer { access.close() }
        let user = try access.createForTest("fast")
        for _ in 0..<3 { #expect(access.authenticate(token: user.token).userId != nil) }
        guard case .limited(let seconds) = access.authenticate(token: user.token) else {
            Issue.record("the fourth request in the same millisecond is not limited")
            return
        }
        #expect(seconds == 1)
        clock.advance(milliseconds: 334)
        #expect(access.authenticate(token: user.token).userId != nil, "a third of a second refills one request")
    }

    @Test("refused logins: one auth.refused entry per interval, the next carrying the count of the flood")
    func refusedLoginsCoalesce() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        let access = try AccessControl.openForTest(directory, clock: clock)
        defer { access.close() }
        for _ in 0..<500 { _ = access.authenticate(token: "lsk_wrong") }
        clock.advance(milliseconds: 10_000)
        _ = access.authenticate(nil)
        let done = Completion()
        try access.appendAudit(
            [AuditDraft(action: "test.flush", target: "t", detail: AuditDetail.make { _ in })], actor: .commandLine,
            operation: nil, completion: done.callback)
        #expect(done.wait() == nil)
        let entries = try access.entries(after: 0, limit: 100).entries
        #expect(entries.map(\.action) == ["auth.refused", "auth.refused", "test.flush"])
        let counts = entries.prefix(2).compactMap { entry in
            entry.detail.members?.first { $0.key == "refusals" }?.value.integer
        }
        #expect(counts == [1, 500])
    }

    @Test("operation ids: appended with entries, asked for, refused twice, and found again after a reopen")
    func operationIds() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var access = try AccessControl.openForTest(directory, clock: clock)
        let draft = AuditDraft(
            action: "cards.block", target: "cards/c1", detail: AuditDetail.make { $0.member("reason", "lost") })
        #expect(access.highestOperation == nil)
        for operation: UInt64 in [7, 3] {
            let done = Completion()
            try access.appendAudit([draft], actor: .commandLine, operation: operation, completion: done.callback)
            #expect(done.wait() == nil)
        }
        #expect(throws: HTTPProblem.self) {
            try access.appendAudit([draft], actor: .commandLine, operation: 7) { _ in }
        }
        access.close()
        access = try AccessControl.openForTest(directory, clock: clock)
        defer { access.close() }
        #expect(access.highestOperation == 7 && access.containsOperation(3) && !access.containsOperation(4))
        #expect(try access.entries(after: 1, limit: 5).entries.map(\.operation) == [3])
    }

    @Test(
        "a detail written sorted is the canonical form of the same object; its entries chain and verify after a reopen")
    func sortedDetail() throws {
        let sorted = AuditDraft(action: "members.adjust", target: "members/m1") { json in
            json.member("amount", Int64(-12))
            json.member("asset", "points")
            json.member("card", "603799******0014")
            json.member("note", "import \"imp_1\" ن")
        }
        let parsed = AuditDraft(
            action: "members.adjust", target: "members/m1",
            detail: AuditDetail.make { json in
                json.member("note", "import \"imp_1\" ن")
                json.member("card", "603799******0014")
                json.member("asset", "points")
                json.member("amount", Int64(-12))
            })
        #expect(sorted.canonicalDetail == parsed.canonicalDetail)
        #expect(sorted.detail.members?.map(\.key) == ["amount", "asset", "card", "note"])
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var access = try AccessControl.openForTest(directory, clock: clock)
        let done = Completion()
        try access.appendAudit(
            batch: [
                AuditAppend(drafts: [sorted], actor: .commandLine, operation: 5),
                AuditAppend(drafts: [parsed], actor: .commandLine, operation: 6),
            ], completion: done.callback)
        #expect(done.wait() == nil)
        access.close()
        let state = try AuditJournalFile.verify(dataDirectory: directory.path)
        #expect(state.damage == nil && state.entryCount == 2)
        access = try AccessControl.openForTest(directory, clock: clock)
        defer { access.close() }
        let entries = try access.entries(after: 0, limit: 5).entries
        #expect(entries.map(\.operation) == [5, 6])
        #expect(
            entries.map { JSONWriter.canonicalBytes($0.detail) } == [sorted.canonicalDetail, sorted.canonicalDetail])
    }

    @Test("a torn last line (no newline) is cut at the next open; the entries before it stay")
    func tornTail() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var access = try AccessControl.openForTest(directory, clock: clock)
        let kept = try access.createForTest("kept")
        access.close()
        let handle = try #require(FileHandle(forWritingAtPath: directory.journal))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"seq":2,"time":"2026-12-03T"#.utf8))
        handle.closeFile()
        let state = try AuditJournalFile.verify(dataDirectory: directory.path)
        #expect(state.damage == nil && state.entryCount == 1 && state.tornTailBytes == 28)
        access = try AccessControl.openForTest(directory, clock: clock)
        let next = try access.createForTest("next")
        access.close()
        let after = try AuditJournalFile.verify(dataDirectory: directory.path)
        #expect(after.damage == nil && after.entryCount == 2 && after.tornTailBytes == 0)
        access = try AccessControl.openForTest(directory, clock: clock)
        defer { access.close() }
        #expect(access.users.map(\.id) == [kept.user.id, next.user.id])
    }

    @Test("one flipped byte in a middle entry: verify and open both name the file, that entry's seq and offset")
    func flippedByte() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        let access = try AccessControl.openForTest(directory, clock: clock)
        for name in ["a", "b", "c"] { _ = try access.createForTest(name) }
        access.close()
        var bytes = try #require(FileManager.default.contents(atPath: directory.journal))
        let secondLine = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 1
        let nameOffset = try #require(bytes[secondLine...].firstRange(of: Data(#""name":"b""#.utf8)))
        bytes[nameOffset.upperBound - 2] = UInt8(ascii: "x")
        try bytes.write(to: URL(fileURLWithPath: directory.journal))
        let state = try AuditJournalFile.verify(dataDirectory: directory.path)
        let damage = try #require(state.damage)
        #expect(damage.seq == 2 && damage.offset == Int64(secondLine) && damage.file == directory.journal)
        #expect(damage.reason.contains("hash mismatch"))
        #expect(state.entryCount == 1)
        do {
            _ = try AccessControl.openForTest(directory, clock: clock)
            Issue.record("a damaged journal opened")
        } catch {
            #expect("\(error)".contains("entry seq 2 at byte offset \(secondLine)"))
        }
    }

    @Test("a second writer is refused while the first holds the directory")
    func oneWriter() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let access = try AccessControl.openForTest(directory, clock: VirtualClock(ms: 1_796_000_000_000))
        defer { access.close() }
        #expect(throws: AccessError.self) { _ = try AccessControl.openForTest(directory, clock: VirtualClock(ms: 1_796_000_000_000)) }
    }
}
