import Foundation
import Testing

@testable import Ledger
import TestSupport

/// A reversal of an original that left the in-memory window must not be taken for a reversal of an unknown one
/// (a tombstone answered 00 while the points stay): the key store still knows it.
@Suite struct LedgerForgottenOriginalTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    func openLedger(keys: Int) throws -> Ledger {
        var configuration = testConfiguration(clock: clock)
        configuration.idempotencyKeysPerShardMax = keys
        return try Ledger.open(directory: directory.data, configuration: configuration)
    }

    @Test("a reversal whose original was pushed out of the in-memory window finds it in the key store: points back")
    mutating func reversalOfOriginalOutsideTheWindow() throws {
        let ledger = try openLedger(keys: 8)
        defer {
            ledger.close()
            directory.remove()
        }
        let original = requests.make(card(1), earn(50))
        #expect(ledger.perform(original).status == .approved)
        for _ in 0..<10 { _ = ledger.perform(requests.make(card(1), earn(1))) }
        // Once a tombstone answered 00 while the 50 points stayed; then a refusal (96); now the original is found.
        let reversal = ledger.perform(requests.make(card(1), .reverse(originalKey: original.key)))
        #expect(reversal.status == .approved && reversal.debited.points == 50)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 10)
        #expect(ledger.perform(original).isReversed)
    }

    @Test("with room in the table an unknown original is still a tombstone: 00 now, the late original declined")
    mutating func unknownOriginalWithRoomIsATombstone() throws {
        let ledger = try openLedger(keys: 64)
        defer {
            ledger.close()
            directory.remove()
        }
        let original = requests.make(card(1), earn(50))
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: original.key))).status == .approved)
        #expect(ledger.perform(original).status == .declined)
    }

    @Test("replay skips the key store only for a record's own key: repeats, tombstones and originals pushed out of the ring answer after a restart as before it")
    mutating func replayAnswersLikeTheWriter() throws {
        var configuration = testConfiguration(clock: clock)
        configuration.idempotencyKeysPerShardMax = 8
        configuration.keyBufferEntriesMax = 16
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { directory.remove() }
        // A terminal reference (terminal + STAN) shaped like the switch's.
        func terminal(_ stan: UInt64) -> IdempotencyKey {
            IdempotencyKey(word0: 0xFFFF_5449_4400_0000 | stan, word1: 1, word2: 0x5445_524D_3031)
        }
        var original = requests.make(card(1), earn(50))
        original.terminalReference = terminal(1)
        #expect(ledger.perform(original).status == .approved)
        #expect(ledger.perform(requests.make(card(1), .reverse(originalKey: terminal(2)))).status == .approved)
        var late = requests.make(card(1), earn(70))
        late.terminalReference = terminal(2)
        // Enough newer keys that the original and the tombstone live only in the store's runs.
        for _ in 0..<40 { _ = ledger.perform(requests.make(card(1), earn(1))) }
        #expect(ledger.perform(original).isReplay, "a repeat found in the store")
        #expect(ledger.perform(late).status == .declined, "the tombstone found in the store")
        let reversal = ledger.perform(requests.make(card(1), .reverse(originalKey: original.key)))
        #expect(reversal.status == .approved && reversal.debited.points == 50)
        var refundByTerminal = requests.make(card(1), .reverse(originalKey: terminal(1)))
        refundByTerminal.terminalReference = .zero
        #expect(ledger.perform(refundByTerminal).debited == .zero, "reversed once")
        ledger.close(snapshot: false)
        // Every record is replayed and must reproduce its recorded outcome, or the open refuses.
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        #expect(ledger.recoveryReports[0].recordsReplayed > 40)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 40)
        let repeated = ledger.perform(original)
        #expect(repeated.isReplay && repeated.isReversed)
        #expect(ledger.perform(late).status == .declined)
    }
}
