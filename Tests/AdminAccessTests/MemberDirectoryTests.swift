import AdminAccess
import Foundation
import HTTP
import Testing
import TestSupport

/// The member directory in the access layer: texts durable with their audit entry, found again after a reopen,
/// bounded by `directoryMembersMax`, and a private-file record whose entry never became durable dropped.
@Suite("Member directory")
struct MemberDirectoryTests {
    static let draft = AuditDraft(
        action: "members.create", target: "members/m1", detail: AuditDetail.make { $0.member("card", "603799…0001") })

    static func enrol(_ access: AccessControl, _ key: MemberKey, _ texts: MemberTexts, operation: UInt64) throws {
        try access.reserveMember()
        let done = Completion()
        try access.appendAudit(
            [draft], actor: .commandLine, operation: operation, member: (key, texts), completion: done.callback)
        #expect(done.wait() == nil)
    }

    @Test("texts (a Persian name) are found after the unit is durable and again after a reopen")
    func durableAndReopened() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var access = try AccessControl.openForTest(directory, clock: clock)
        let key = MemberKey(high: 0xABCD, low: 42)
        let texts = MemberTexts(name: "علی رضایی", phone: "+989121234567", birthday: "1990-04-12")
        try Self.enrol(access, key, texts, operation: 1)
        #expect(access.memberTexts(key) == texts)
        #expect(access.memberTexts(MemberKey(high: 0xABCD, low: 43)) == nil)
        access.close()
        access = try AccessControl.openForTest(directory, clock: clock)
        defer { access.close() }
        #expect(access.memberTexts(key) == texts)
        #expect(access.directoryCounts == (1, 0))
    }

    @Test("at directoryMembersMax a reservation is 409; a released place can be taken again")
    func limit() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var settings = AccessSettings()
        settings.directoryMembersMax = 2
        let access = try AccessControl.openForTest(directory, clock: VirtualClock(ms: 1_796_000_000_000), settings: settings)
        defer { access.close() }
        try Self.enrol(access, MemberKey(high: 1, low: 1), MemberTexts(name: "A"), operation: 1)
        try access.reserveMember()
        #expect(throws: HTTPProblem.self) { try access.reserveMember() }
        access.releaseMember()
        try Self.enrol(access, MemberKey(high: 1, low: 2), MemberTexts(phone: "09120000000"), operation: 2)
        #expect(access.directoryCounts == (2, 0))
        #expect(throws: HTTPProblem.self) { try access.reserveMember() }
    }

    @Test("a member record whose audit entry is not in the journal (crash between the files) is dropped at open")
    func recordWithoutItsEntryIsDropped() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = VirtualClock(ms: 1_796_000_000_000)
        var access = try AccessControl.openForTest(directory, clock: clock)
        try Self.enrol(access, MemberKey(high: 9, low: 9), MemberTexts(name: "Kept"), operation: 1)
        access.close()
        let orphan = #"{"kind":"member","member":"00000000000000070000000000000007","name":"Lost","seq":5}"# + "\n"
        let handle = try #require(FileHandle(forWritingAtPath: directory.privateFile))
        handle.seekToEndOfFile()
        handle.write(Data(orphan.utf8))
        handle.closeFile()
        access = try AccessControl.openForTest(directory, clock: clock)
        defer { access.close() }
        #expect(access.memberTexts(MemberKey(high: 7, low: 7)) == nil)
        #expect(access.memberTexts(MemberKey(high: 9, low: 9))?.name == "Kept")
    }

    @Test("the checks: names, phones and notes at and over their limits")
    func checks() {
        #expect(MemberTexts.nameProblem(String(repeating: "ن", count: 100)) == nil)
        #expect(MemberTexts.nameProblem(String(repeating: "ن", count: 101)) != nil)
        #expect(MemberTexts.nameProblem("a\u{7}") != nil && MemberTexts.nameProblem(" ") != nil)
        // The byte-count shortcut and the control check by value: the same answers as counting and the tables.
        #expect(MemberTexts.nameProblem(String(repeating: "x", count: 100)) == nil)
        #expect(MemberTexts.nameProblem(String(repeating: "x", count: 101)) != nil)
        #expect(MemberTexts.nameProblem(String(repeating: "e\u{301}", count: 100)) == nil)  // 100 characters
        #expect(MemberTexts.nameProblem(String(repeating: "e\u{301}", count: 101)) != nil)
        for control in ["\u{0}", "\u{1F}", "\u{7F}", "\u{85}", "\u{9F}"] {
            #expect(
                MemberTexts.nameProblem("a" + control + "b") != nil,
                "U+\(String(control.unicodeScalars.first!.value, radix: 16))")
        }
        for fine in ["\u{A0}", "\u{200C}", "\u{200F}"] {  // no-break space, ZWNJ (Persian), RLM: not Cc
            #expect(MemberTexts.nameProblem("نام" + fine + "x") == nil)
        }
        #expect(MemberTexts.phoneProblem("+123456789012345") == nil && MemberTexts.phoneProblem("1234") == nil)
        for phone in ["+1234567890123456", "123", "09-12", "+", "+٠٩١٢٣٤"] {
            #expect(MemberTexts.phoneProblem(phone) != nil, "\(phone)")
        }
        #expect(MemberTexts.noteProblem(String(repeating: "x", count: 500)) == nil)
        #expect(MemberTexts.noteProblem(String(repeating: "x", count: 501)) != nil)
        #expect(MemberTexts.noteProblem("two\nlines") == nil && MemberTexts.noteProblem("tab\there") != nil)
    }
}
