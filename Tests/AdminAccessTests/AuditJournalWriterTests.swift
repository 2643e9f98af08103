import Foundation
import Glibc
import Testing

@testable import AdminAccess

/// The journal thread's queue is bounded: at `unitsQueuedMax` a change is refused with the limit's name, and
/// nothing queued is lost when the thread drains it; a failed write stops it.
@Suite("Audit journal writer")
struct AuditJournalWriterTests {
    /// A writer (not started) on `j` and `p` in `directory`, the journal opened with `journalFlags`; the caller
    /// closes the descriptors after stopping it.
    static func makeWriter(
        _ directory: TemporaryDirectory, journalFlags: Int32, unitsQueuedMax: Int
    ) throws -> (writer: AuditJournalWriter, descriptors: [Int32]) {
        _ = FileManager.default.createFile(atPath: directory.path + "/j", contents: nil)
        let journal = try AccessFile.open(directory.path + "/j", flags: journalFlags)
        let privateFile = try AccessFile.open(directory.path + "/p", flags: O_RDWR | O_CREAT)
        let writer = AuditJournalWriter(
            journalPath: directory.path + "/j", journalDescriptor: journal, journalEnd: 0,
            privatePath: directory.path + "/p", privateDescriptor: privateFile, privateEnd: 0,
            unitsQueuedMax: unitsQueuedMax)
        return (writer, [journal, privateFile])
    }

    @Test("unitsQueuedMax: the unit over it is refused; started, the thread writes and reports the queued ones")
    func queueLimit() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (writer, descriptors) = try Self.makeWriter(directory, journalFlags: O_RDWR, unitsQueuedMax: 2)
        defer { for descriptor in descriptors { close(descriptor) } }
        let completions = [Completion(), Completion()]
        for (index, completion) in completions.enumerated() {
            try writer.enqueue(
                JournalUnit(
                    privateBytes: Array("p\(index)\n".utf8), journalBytes: Array("j\(index)\n".utf8),
                    done: completion.callback))
        }
        do {
            try writer.enqueue(JournalUnit(done: { _ in }))
            Issue.record("a third unit was queued over unitsQueuedMax 2")
        } catch {
            #expect(error.message.contains("unitsQueuedMax"))
        }
        writer.start()
        for completion in completions { #expect(completion.wait() == nil) }
        writer.stop()
        #expect(
            String(decoding: FileManager.default.contents(atPath: directory.path + "/j")!, as: UTF8.self) == "j0\nj1\n")
        #expect(
            String(decoding: FileManager.default.contents(atPath: directory.path + "/p")!, as: UTF8.self) == "p0\np1\n")
    }

    @Test("a failed write stops the writer: the unit gets the error naming the file, every later unit is refused")
    func failedWriteStops() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (writer, descriptors) = try Self.makeWriter(directory, journalFlags: O_RDONLY, unitsQueuedMax: 8)
        defer { for descriptor in descriptors { close(descriptor) } }
        writer.start()
        defer { writer.stop() }
        let completion = Completion()
        try writer.enqueue(JournalUnit(journalBytes: Array("j\n".utf8), done: completion.callback))
        let failure = try #require(completion.wait())
        #expect(failure.message.contains(directory.path + "/j: write failed") && failure.message.contains("restart"))
        #expect(writer.failure != nil)
        #expect(throws: AccessError.self) { try writer.enqueue(JournalUnit(done: { _ in })) }
    }
}
