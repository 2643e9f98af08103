import Foundation
import ISO8583
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger

/// The sale in the log, end to end: ISO 8583 requests to the real binary leave records that name their terminal
/// (field 41) and merchant (field 42), and a SIGKILL plus the replay on restart keeps them.
@Suite struct SaleRecordEndToEndTests {
    /// Every durable record of every shard of `data` with its sale, as (kind, terminal, merchant).
    static func sales(_ data: String) throws -> [(CommandKind, String, MerchantName)] {
        var found: [(CommandKind, String, MerchantName)] = []
        var shard = 0
        while FileManager.default.fileExists(atPath: DataDirectory.shardDirectory(data, shard: shard)) {
            let tail = LogTail(root: data, shard: shard)
            var gap = LogTail.Gap(recordsSkipped: 0, recordsUnreadable: 0)
            for entry in try tail.read(after: 0, limit: 10_000, gap: &gap) {
                guard let sale = entry.body.sale else { continue }
                found.append((entry.body.command.kind, sale.terminal.text, sale.merchant))
            }
            shard += 1
        }
        return found
    }

    @Test("purchases at two terminals and a reversal keep terminal and merchant in their records across SIGKILL")
    func saleSurvivesKill() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var server = try SwitchProcess(directory: directory)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        var first = Terminal(id: "TERM0001")
        var second = Terminal(id: "TERM0002", firstStan: 500)
        second.merchant = "SHOP2"
        let card = Wire.card(71)
        #expect(try client.exchange(first.purchase(card, 10_000)).code == "00")
        #expect(try client.exchange(second.purchase(card, 20_000, stan: 501)).code == "00")
        let reversal = second.message(400, processing: "000000", card: card, amount: 20_000, stan: 501)
        #expect(try client.exchange(reversal).code == "00")
        #expect(try client.exchange(first.balance(card)).code == "00")
        server.stop()
        server = try SwitchProcess(directory: directory, run: 1)
        #expect(try SwitchClient(port: server.port).availablePoints(card, terminal: &first) == 100, "replayed")
        server.stop()
        let sales = try Self.sales(directory.data)
        #expect(sales.map(\.1) == ["TERM0001", "TERM0002", "TERM0002"], "\(sales)")
        #expect(sales.map(\.0) == [.earn, .earn, .reverse])
        let merchants = sales.map { $0.2.identifier.description }
        #expect(merchants == ["MERCHANT0000001", "SHOP2", "SHOP2"])
    }
}
