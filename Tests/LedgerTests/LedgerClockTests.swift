import Foundation
import Testing

@testable import Ledger
import TestSupport

/// The ledger's time only moves forward: records are stamped max(newest time so far, clock), and an open with a
/// clock behind the newest record beyond the tolerance is refused.
@Suite struct LedgerClockTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    /// The time of every record in shard 0's log, in log order, read back from the files.
    func recordTimes() throws -> [Int64] {
        let reader = WALReader(directory: DataDirectory.shardDirectory(directory.data, shard: 0), readOnly: true)
        var times: [Int64] = []
        _ = try reader.scan(afterSequence: 0, snapshotCRC: nil) { body, _, _ in times.append(body.timeMs) }
        return times
    }

    @Test("a clock that steps back while the ledger runs does not move the ledger's time back")
    mutating func clockSteppingBackWhileRunning() throws {
        defer { directory.remove() }
        let start = clock.nowMs
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        clock.advance(byMs: -60_000)
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        clock.advance(byMs: 120_000)
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        ledger.close(snapshot: false)
        #expect(try recordTimes() == [start, start, start + 60_000])
    }

    @Test("an open with the clock behind the newest record by more than the tolerance is refused, naming both")
    mutating func clockBehindAtOpenIsRefused() throws {
        defer { directory.remove() }
        let newest = clock.nowMs
        let ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        ledger.close()
        clock.advance(byMs: -(LedgerConfiguration.clockBehindToleranceDefaultMs + 1))
        let behind = clock.nowMs
        #expect(throws: LedgerError.clockBehind(newestRecordMs: newest, clockMs: behind)) {
            try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        }
        #expect(try recordTimes() == [newest], "the refused open wrote nothing")
    }

    @Test("a clock behind within the tolerance opens, and new records keep the newest record's time")
    mutating func clockBehindWithinToleranceKeepsTheNewestTime() throws {
        defer { directory.remove() }
        let newest = clock.nowMs
        var ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        ledger.close()
        clock.advance(byMs: -LedgerConfiguration.clockBehindToleranceDefaultMs)
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(ledger.newestRecordTimeMs == newest)
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        ledger.close()
        #expect(try recordTimes() == [newest, newest])
    }

    @Test("with the check off (the operator's override), a clock far behind opens and records keep the newest time")
    mutating func clockBehindAllowedByTheOperator() throws {
        defer { directory.remove() }
        let newest = clock.nowMs
        var ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        ledger.close()
        clock.advance(byMs: -86_400_000)
        var configuration = testConfiguration(clock: clock)
        configuration.clockBehindToleranceMs = nil
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        // The clock passes the newest record: from then on its own time is used.
        clock.advance(byMs: 86_400_000 + 5_000)
        #expect(ledger.perform(requests.make(card(1), earn(1))).status == .approved)
        ledger.close()
        #expect(try recordTimes() == [newest, newest, newest + 5_000])
    }
}
