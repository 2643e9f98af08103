import Foundation
import Testing

@testable import Ledger

/// A reversal of an original that left the in-memory window must not be taken for a reversal of an unknown one
/// (a tombstone answered 00 while the points stay): the key store still knows it.
@Suite struct LedgerForgottenOriginalTests {
    let directory = TemporaryDirectory()
    let clock = TestClock()
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
}
