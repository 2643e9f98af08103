import Foundation
import Testing
import WebhookTestSupport

@testable import Notifications

/// The progress file: records read back as written, a torn tail cut, compaction saying the same as the history.
struct ProgressJournalTests {
    static let letter = DeadLetter(
        position: 4, eventId: "e-4", eventType: "points.earned", memberId: "m-1", tries: 8,
        lastError: "answered 500", body: Array(#"{"id":"e-4"}"#.utf8))

    @Test("Every record kind reads back as written; a checksum mismatch or a torn tail stops the reading there")
    func records() {
        let records: [ProgressRecord] = [
            .acknowledged(2), .deadLettered(Self.letter), .watermark(1), .revived(4), .acknowledged(4),
        ]
        var bytes: [UInt8] = []
        for record in records { record.encode(into: &bytes) }
        var offset = 0
        var read: [ProgressRecord] = []
        while let record = ProgressRecord.decode(bytes, at: &offset) { read.append(record) }
        #expect(read == records && offset == bytes.count)
        for cut in [1, 5, 13] {
            var torn = Array(bytes.dropLast(cut))
            var tornOffset = 0
            var count = 0
            while ProgressRecord.decode(torn, at: &tornOffset) != nil { count += 1 }
            #expect(count == records.count - 1, "cut \(cut) bytes")
            torn[torn.count - 1] ^= 0xff
        }
        var damaged = bytes
        damaged[10] ^= 0x01
        var damagedOffset = 0
        #expect(ProgressRecord.decode(damaged, at: &damagedOffset) == nil && damagedOffset == 0)
    }

    @Test("The watermark moves over positions finished out of order; dead letters and revivals are kept apart")
    func state() {
        var state = ProgressState()
        for record: ProgressRecord in [.acknowledged(3), .acknowledged(1), .deadLettered(Self.letter)] {
            state.apply(record)
        }
        #expect(state.watermark == 1 && state.finishedPastWatermark == [3, 4])
        state.apply(.acknowledged(2))
        #expect(state.watermark == 4 && state.finishedPastWatermark.isEmpty)
        #expect(state.deadLetters[4] == Self.letter)
        state.apply(.revived(4))
        #expect(state.deadLetters.isEmpty && state.revived[4] == Self.letter)
        state.apply(.acknowledged(4))
        #expect(state.revived.isEmpty && state.watermark == 4)
    }

    @Test("A journal reopened after commits (and after a compaction) replays to the state it had; a torn tail is cut")
    func reopen() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/webhook.progress"
        let journal = try ProgressJournal(path: path)
        journal.append(.acknowledged(2))
        journal.append(.deadLettered(Self.letter))
        journal.watermark.store(1, ordering: .relaxed)
        #expect(journal.commit(durable: true))
        journal.append(.revived(4))
        #expect(journal.commit(durable: true))
        let committed = journal.state
        #expect(try ProgressJournal(path: path).state == committed)
        journal.compact(durable: true)
        #expect(try ProgressJournal(path: path).state == committed)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data([9, 0, 0, 0, 1, 2]))
        handle.closeFile()
        let reopened = try ProgressJournal(path: path)
        #expect(reopened.state == committed)
        reopened.append(.acknowledged(3))
        #expect(reopened.commit(durable: true))
        var expected = committed
        expected.apply(.acknowledged(3))
        #expect(try ProgressJournal(path: path).state == expected, "records after a cut tail read back")
    }
}
