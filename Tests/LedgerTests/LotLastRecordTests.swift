import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

@Suite struct ReviewLotCrashTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    // F7: the purchaser's and the same-shard referrer's new lots are each checked against the same free record.
    @Test("F7: a referral first purchase when one lot record is left does not crash the shard")
    mutating func lastLotRecord() throws {
        var configuration = testConfiguration(clock: clock)
        configuration.transfersInFlightMax = 1  // restore reserve 2
        configuration.lotsPerShardMax = 3  // one record usable
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        ledger.setRules(ReviewFindingsTests.referralRules)
        defer {
            ledger.close()
            directory.remove()
        }
        _ = ledger.perform(requests.make(card(1), .enrol))  // the referrer, no lot yet
        _ = ledger.perform(requests.make(card(2), .profile(MemberProfile(referrer: card(1)))))
        let reply = ledger.perform(requests.make(card(2), LedgerPurchaseTests.purchase(10_000)))
        #expect(reply.status == .approved || reply.status == .capacityExceeded)
    }
}
