import Foundation
import Testing

@testable import Ledger

/// When the idempotency table forgets keys before their retention ends (full under load), a reversal of an
/// unknown original cannot tell "never arrived" from "forgotten": it must not answer 00 and leave points behind.
@Suite struct LedgerForgottenOriginalTests {
    let directory = TemporaryDirectory()
    let clock = TestClock()
    var requests = RequestFactory()

    func openLedger(keys: Int) throws -> Ledger {
        var configuration = testConfiguration(clock: clock)
        configuration.idempotencyKeysPerShardMax = keys
        return try Ledger.open(directory: directory.data, configuration: configuration)
    }

    @Test("a reversal whose original was pushed out of a full table is refused (96), and nothing moves")
    mutating func reversalOfForgottenOriginalIsRefused() throws {
        let ledger = try openLedger(keys: 8)
        defer {
            ledger.close()
            directory.remove()
        }
        let original = requests.make(card(1), earn(50))
        #expect(ledger.perform(original).status == .approved)
        for _ in 0..<10 { _ = ledger.perform(requests.make(card(1), earn(1))) }
        // Before the fix this was a tombstone answered 00 while the 50 points stayed.
        let reversal = ledger.perform(requests.make(card(1), .reverse(originalKey: original.key)))
        #expect(reversal.status == .originalMayBeForgotten)
        #expect(ledger.perform(requests.make(card(1), .balance)).balance.points == 60)
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
