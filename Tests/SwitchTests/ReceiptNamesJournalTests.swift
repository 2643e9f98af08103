import Foundation
import Testing

@testable import Loyalty
import LoyaltyLedger
@testable import SwitchCore

/// The receipt names on disk: what a restart reads back, what damage it drops, how the file stays bounded.
@Suite struct ReceiptNamesJournalTests {
    static func names(_ version: Int) -> ReceiptNames {
        ReceiptNames(ReceiptRulesVersionTests.program(version, tiers: ["T\(version)", "U\(version)"]))
    }

    @Test("records added are read back in order; the same names twice are one record")
    func readBack() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (journal, warning) = try ReceiptNamesJournal.open(data: directory.path)
        #expect(journal.records.isEmpty && warning == nil, "no file yet: nothing, and nothing to warn about")
        for version in 1...3 { try journal.add(Self.names(version)) }
        try journal.add(Self.names(2))
        let (again, againWarning) = try ReceiptNamesJournal.open(data: directory.path)
        #expect(again.records == (1...3).map(Self.names) && againWarning == nil)
    }

    @Test("a torn last record is dropped with a warning naming the offset, and the file is cut there for new records")
    func tornTail() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (journal, _) = try ReceiptNamesJournal.open(data: directory.path)
        for version in 1...2 { try journal.add(Self.names(version)) }
        let path = directory.path + "/rules/" + ReceiptNamesJournal.fileName
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        let firstLength = ReceiptNamesJournal.encode(Self.names(1)).count
        try whole.prefix(whole.count - 3).write(to: URL(fileURLWithPath: path))
        var (torn, warning) = try ReceiptNamesJournal.open(data: directory.path)
        #expect(torn.records == [Self.names(1)])
        #expect(warning?.contains("from offset \(firstLength)") == true, "\(warning ?? "no warning")")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == firstLength, "cut after the whole record")
        try torn.add(Self.names(3))
        #expect(try ReceiptNamesJournal.open(data: directory.path).0.records == [Self.names(1), Self.names(3)])
        // A flipped byte inside a record fails its checksum: it and what follows are dropped the same way.
        var flipped = try Data(contentsOf: URL(fileURLWithPath: path))
        flipped[firstLength + 12] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: path))
        let (checked, checkedWarning) = try ReceiptNamesJournal.open(data: directory.path)
        #expect(checked.records == [Self.names(1)] && checkedWarning != nil)
    }

    @Test("past recordsMax records the file is rewritten with the newest namesVersionsKeptMax")
    func bounded() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var (journal, _) = try ReceiptNamesJournal.open(data: directory.path)
        let total = ReceiptNamesJournal.recordsMax + 1
        for version in 1...total { try journal.add(Self.names(version)) }
        let kept = LoyaltyDecider.namesVersionsKeptMax
        let read = try ReceiptNamesJournal.open(data: directory.path).0.records
        #expect(read.map(\.version) == Array(Int64(total - kept + 1)...Int64(total)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: journal.directory) == [ReceiptNamesJournal.fileName], "no temp file left")
    }
}
