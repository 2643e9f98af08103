import Foundation
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// One read of each shard's log feeds every view past its own mark: a view behind, ahead, failing or not yet
/// ready neither loses records nor holds the others back, and a gap is counted only for the views it concerns.
@Suite struct LogViewReaderTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    /// A view that remembers what it was given; it can start at any mark, refuse to start, or fail on a sequence.
    final class RecordingView: LogView {
        let registration: LogViewRegistration
        var marks: [UInt64]
        var ready = true
        var failOn: UInt64?
        /// Records taken by reads that ended, in order; and those of the read in progress.
        var taken: [UInt64] = []
        private var reading: [UInt64] = []
        var gaps: [(skipped: UInt64, unreadable: UInt64)] = []
        var steps = 0

        init(_ name: String, ledger: Ledger, mark: UInt64 = 0) {
            registration = LogViewRegistration(name: name, ledger: ledger, holdRecordsMax: 1_000_000, log: { _ in })
            marks = Array(repeating: mark, count: ledger.shardCount)
            for shard in 0..<ledger.shardCount { registration.consumer.advance(shard: shard, from: mark + 1) }
        }

        func beginStep() -> Bool { ready }
        func mark(shard: Int) -> UInt64 { marks[shard] }
        func take(shard: Int, sequence: UInt64, body: borrowing WALRecord.Body) throws(LedgerError) {
            if sequence == failOn { throw .damagedLog(file: "view", offset: 0, reason: "refused \(sequence)") }
            reading.append(sequence)
        }
        func endRead(shard: Int, through: UInt64, skipped: UInt64, unreadable: UInt64) {
            taken += reading
            reading.removeAll()
            marks[shard] = through
            if skipped + unreadable > 0 { gaps.append((skipped, unreadable)) }
            registration.consumer.advance(shard: shard, from: through + 1)
        }
        func abandonRead(shard: Int) { reading.removeAll() }
        func endStep() { steps += 1 }
        var commits = 0
        func commit() { commits += 1 }
    }

    func configuration() -> LedgerConfiguration {
        var configuration = testConfiguration(clock: clock)
        configuration.decider = LoyaltyDecider(rules: LogTailTests.program)
        return configuration
    }

    /// A reader of this test's directory feeding `views`, in that order.
    func makeReader(_ views: RecordingView...) -> LogViewReader {
        let reader = LogViewReader(root: directory.path, shardCount: 1)
        for view in views { reader.add(view) }
        return reader
    }

    mutating func purchases(_ ledger: Ledger, _ count: Int) {
        for index in 0..<count {
            #expect(ledger.perform(requests.make(card(index % 7), LogTailTests.purchase(10_000))).status == .approved)
        }
    }

    @Test("views commit at the first step, then once per interval (not at every step); with an interval of 0 at every step")
    mutating func commitInterval() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        purchases(ledger, 3)
        let slow = RecordingView("slow", ledger: ledger)
        let reader = LogViewReader(root: directory.path, shardCount: 1, commitIntervalMs: 3_600_000)
        reader.add(slow)
        for _ in 0..<3 { reader.step() }
        #expect(slow.steps == 3 && slow.commits == 1)
        let eager = RecordingView("eager", ledger: ledger)
        let everyStep = LogViewReader(root: directory.path, shardCount: 1, commitIntervalMs: 0)
        everyStep.add(eager)
        for _ in 0..<3 { everyStep.step() }
        #expect(eager.commits == 3)
    }

    @Test("views at different marks each get exactly the records past their own, from one read, in order")
    mutating func marksApart() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        purchases(ledger, 30)
        let behind = RecordingView("behind", ledger: ledger)
        let ahead = RecordingView("ahead", ledger: ledger, mark: 12)
        let reader = makeReader(behind, ahead)
        #expect(!reader.step(), "30 records are less than a full read")
        let last = behind.taken.last ?? 0
        #expect(behind.taken == Array(1...last) && last >= 30)
        #expect(ahead.taken == Array(13...last))
        #expect(behind.marks == [last] && ahead.marks == [last] && behind.steps == 1 && ahead.steps == 1)
        purchases(ledger, 5)
        reader.step()
        let end = behind.marks[0]
        #expect(end >= last + 5 && behind.taken == Array(1...end) && ahead.taken == Array(13...end))
    }

    @Test("a view that fails a record loses that read alone, counted, and takes it again at the next step; the other goes on")
    mutating func failingViewRetries() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        purchases(ledger, 20)
        let failing = RecordingView("failing", ledger: ledger)
        failing.failOn = 7
        let steady = RecordingView("steady", ledger: ledger)
        let reader = makeReader(failing, steady)
        reader.step()
        #expect(failing.taken.isEmpty && failing.marks == [0] && failing.registration.readFailures == 1)
        let last = steady.taken.last ?? 0
        #expect(steady.taken == Array(1...last) && last >= 20)
        failing.failOn = nil
        reader.step()
        #expect(failing.taken == steady.taken && failing.marks == steady.marks, "read again from its own mark")
        #expect(steady.taken.count == last, "nothing twice for the view that had it")
    }

    @Test("a view not ready takes nothing and holds nobody back; once ready it starts from its mark")
    mutating func notReadyView() throws {
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration())
        defer { ledger.close() }
        purchases(ledger, 10)
        let late = RecordingView("late", ledger: ledger)
        late.ready = false
        let early = RecordingView("early", ledger: ledger)
        let reader = makeReader(late, early)
        reader.step()
        #expect(late.taken.isEmpty && late.steps == 0 && early.taken.count >= 10)
        late.ready = true
        reader.step()
        #expect(late.taken == early.taken)
    }

    @Test("records deleted past a view's hold are a gap for the view that had not read them, none for the one past them")
    mutating func gapPerView() throws {
        var configuration = configuration()
        configuration.segmentBytes = 64 << 10
        configuration.snapshotIntervalRecords = 100
        let ledger = try Ledger.open(directory: directory.path, configuration: configuration)
        defer { ledger.close() }
        let behind = RecordingView("behind", ledger: ledger)
        purchases(ledger, 1500)
        // The view behind holds everything (its bound is a million): let the log go up to 1,400 by hand, as a
        // consumer past its bound would, so the next snapshots drop the segments before it.
        behind.registration.consumer.advance(shard: 0, from: 1_400)
        let durable = LogViewReader.durableSequence(root: directory.path, shard: 0)
        let ahead = RecordingView("ahead", ledger: ledger, mark: durable - 10)
        purchases(ledger, 300)
        // Snapshots are written and segments deleted on the checkpoint thread: more purchases (more snapshots)
        // until the first segment is gone, bounded.
        let shardDirectory = DataDirectory.shardDirectory(directory.path, shard: 0)
        func firstSequence() throws -> UInt64 { try WALReader.segments(in: shardDirectory).first?.firstSequence ?? 0 }
        for _ in 0..<200 where try firstSequence() <= 1 {
            purchases(ledger, 10)
            usleep(20_000)
        }
        #expect(try firstSequence() > 1, "snapshots dropped the first segments")
        let reader = makeReader(behind, ahead)
        for _ in 0..<100 where reader.step() {}
        let skipped = behind.gaps.reduce(0) { $0 + $1.skipped }
        #expect(skipped > 0, "segments before 1,400 were dropped by snapshots")
        #expect(behind.taken.count + Int(skipped) == Int(behind.marks[0]), "every sequence taken or counted")
        #expect(ahead.gaps.isEmpty && ahead.taken == Array((durable - 9)...ahead.marks[0]))
        #expect(behind.marks == ahead.marks)
    }
}
