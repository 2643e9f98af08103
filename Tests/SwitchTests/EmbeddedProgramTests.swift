import Foundation
import ISO8583
import Ledger
import LoyaltyLedger
import Testing

@testable import SwitchCore

/// The flat `program` section is an embedded loyalty program (version 0): every purchase is decided by the rules'
/// path, answers carry what the flat rate gave, and purchases the flat rate wrote as `.earn` records keep their
/// balances, refunds and reversals.
@Suite struct EmbeddedProgramTests {
    /// Writes what the flat program wrote for `purchase` before issue 11: an `.earn` of 1 point per 100 minor units
    /// under the keys the switch builds for that message, in a directory of `shards` shards.
    static func writeFlatEarn(_ purchase: ISOMessage, card: String, data: String, shards: Int) throws {
        var configuration = LedgerConfiguration()
        configuration.shardCount = shards
        configuration.decider = LoyaltyDecider()
        configuration.log = { _ in }
        let ledger = try Ledger.open(directory: data, configuration: configuration)
        defer { ledger.close() }
        let amountMinor = purchase.integer(4)!
        let reply = ledger.perform(
            LedgerRequest(
                tag: 1, key: RequestKeys.key(of: purchase), digest: ContentDigest(high: 1, low: 2),
                card: CardNumber(card)!,
                operation: .earn(
                    amounts: AssetAmounts(points: amountMinor / 100), purchaseAmountMinor: amountMinor, autoEnrol: true),
                reference: RequestKeys.retrievalReference(of: purchase) ?? .zero,
                terminalReference: RequestKeys.terminalReference(of: purchase)))
        guard reply.status == .approved else { throw SwitchTestError("the flat earn was refused: \(reply)") }
    }

    @Test("a flat-rate .earn record keeps its balance, is refunded pro rata and reversed; new purchases earn alike")
    func flatEarnRecordsKeepWorking() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let settings = SwitchSettings()
        var terminal = Terminal()
        let card = Wire.card(71)
        try Self.writeFlatEarn(
            terminal.purchase(card, 100_000, stan: 10), card: card, data: directory.data, shards: settings.shards)
        let server = try SwitchProcess(directory: directory, settings: settings)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        #expect(try client.availablePoints(card, terminal: &terminal) == 1_000, "the .earn replayed")
        let refund = terminal.message(
            200, processing: "200000", card: card, amount: 25_000, original: terminal.originalData(mti: 200, stan: 10))
        let refunded = try client.exchange(refund)
        #expect(refunded.code == "00" && refunded.debited == -250 && refunded.available == 750)
        let purchase = terminal.purchase(card, 12_345, stan: 11)
        let earned = try client.exchange(purchase)
        expectWellFormed(earned, to: purchase, mti: "0210", code: "00")
        #expect(earned.credited == 123 && earned.available == 873, "1 point per whole 100, as the flat rate")
        #expect(earned.field(63) == nil, "the embedded program names nothing on a receipt")
        let reversal = terminal.message(
            400, processing: "000000", card: card, amount: 100_000, original: terminal.originalData(mti: 200, stan: 10))
        expectWellFormed(try client.exchange(reversal), to: reversal, mti: "0410", code: "00")
        #expect(try client.availablePoints(card, terminal: &terminal) == 123, "the rest of the .earn went back")
    }

    @Test("program.pointValueMinor takes the rules' range: 1,000,001 is refused naming the key")
    func pointValueRange() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let outcome = try SwitchProcess.serve(
            json: #"{"program": {"pointValueMinor": 1000001}}"#, directory: directory)
        #expect(outcome.status != nil && outcome.status != 0)
        #expect(outcome.standardError.contains("program.pointValueMinor"), "\(outcome.standardError)")
    }
}
