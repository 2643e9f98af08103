import Foundation
import Testing

@testable import Ledger
import TestSupport

/// `undo`: the caller's own reversal of an operation it answered "not done" (the switch's 91 after a missed budget).
@Suite struct LedgerUndoTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    @Test("undo takes the effect back and a repeat of the original replays as undone (91), also after a restart")
    mutating func undoRewritesTheRememberedOutcome() throws {
        var ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), earn(10)))
        let original = requests.make(card(1), earn(50))
        #expect(ledger.perform(original).status == .approved)
        let undo = ledger.perform(requests.make(card(1), .undo(originalKey: original.key)))
        #expect(undo.status == .approved && undo.debited.points == 50 && undo.balance.points == 10)
        let repeated = ledger.perform(original)
        #expect(repeated.isReplay && repeated.status == .undone)
        // A plain reversal keeps the original's outcome: its repeats replay the approval byte for byte.
        let other = requests.make(card(1), earn(7))
        _ = ledger.perform(other)
        _ = ledger.perform(requests.make(card(1), .reverse(originalKey: other.key)))
        let otherRepeat = ledger.perform(other)
        #expect(otherRepeat.isReplay && otherRepeat.status == .approved && otherRepeat.isReversed)
        ledger.close(snapshot: false)
        ledger = try Ledger.open(directory: directory.data, configuration: testConfiguration(clock: clock))
        #expect(ledger.perform(original).status == .undone)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 10)
    }
}
