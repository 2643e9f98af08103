import Foundation
import Loyalty
import LoyaltyLedger
import Testing

@testable import Ledger
import TestSupport

/// The sale in the log (WALRecord+Sale.swift): a purchase's, payment's, refund's or reversal's terminal, merchant
/// and basket travel with the command out of line and end its record; records without it read as before.
@Suite struct SaleRecordTests {
    let directory = TemporaryDirectory()
    let clock = VirtualClock()
    var requests = RequestFactory()

    static func code(_ text: String) -> SaleCode { SaleCode(ascii: Array(text.utf8))! }

    static func line(_ index: Int) -> SaleLine {
        let category: SaleCode = index % 2 == 0 ? code("DAIRY") : .none
        let sku = code("SKU-" + String(index) + "-ABCDEFGH")
        return SaleLine(sku: sku, category: category, quantity: Int32(index + 1), amountMinor: Int64(1_000 * (index + 1)))
    }

    static func sale(lines: Int) -> SaleDetail {
        let merchant = MerchantName(ShortIdentifier("SHOP-1")!)
        return SaleDetail(terminal: code("TERM0001"), merchant: merchant, lines: (0..<lines).map(line))
    }

    func roundTrip(_ body: WALRecord.Body, mutate: (UnsafeMutableRawPointer, Int) -> Int = { $1 }) -> WALRecord.Body? {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let length = mutate(buffer, WALRecord.encodeBody(body, at: buffer))
        return WALRecord.decodeBody(buffer, length: length)
    }

    func encodedLength(_ body: WALRecord.Body) -> Int {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        return WALRecord.encodeBody(body, at: buffer)
    }

    @Test("a purchase reads back with its terminal, merchant and lines; without a sale the body is the old one")
    func roundTripWithAndWithoutTail() throws {
        var body = WALRecord.Body(
            command: PurchaseRecordTests.decidedPurchase(), timeMs: 1, status: .approved, balanceAfter: .zero)
        let old = encodedLength(body)
        #expect(roundTrip(body)?.sale == nil, "no sale: none read back")
        body.sale = Self.sale(lines: 3)
        let decoded = try #require(roundTrip(body))
        #expect(decoded.sale == Self.sale(lines: 3))
        #expect(decoded.command.amounts == body.command.amounts && decoded.command.rulesVersion == 9)
        #expect(encodedLength(body) == old + WALRecord.saleHeadBytes + 3 * WALRecord.saleLineBytes)
        body.sale = SaleDetail(terminal: Self.code("T2"), merchant: .none)
        #expect(roundTrip(body)?.sale == SaleDetail(terminal: Self.code("T2")), "a sale without a basket")
    }

    @Test("a body written before the sale existed (flags byte without bit 2) decodes unchanged")
    func oldBytesDecode() throws {
        let command = PurchaseRecordTests.decidedPurchase()
        let body = WALRecord.Body(command: command, timeMs: 5, status: .approved, balanceAfter: .zero)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: WALRecord.bodyBytesMax, alignment: 8)
        defer { buffer.deallocate() }
        let length = WALRecord.encodeBody(body, at: buffer)
        #expect(buffer.load(fromByteOffset: 5, as: UInt8.self) == 0, "the flags byte of an old record")
        let decoded = try #require(WALRecord.decodeBody(buffer, length: length))
        #expect(decoded.sale == nil && decoded.timeMs == 5 && decoded.command.options == command.options)
    }

    @Test("refused: a cut tail, 13 lines, a zero quantity, a code with a gap, a sale on a kind without one")
    func refusesWhatNoWriterWrites() {
        var body = WALRecord.Body(
            command: PurchaseRecordTests.decidedPurchase(), timeMs: 1, status: .approved, balanceAfter: .zero)
        body.sale = Self.sale(lines: 2)
        #expect(roundTrip(body) { _, length in length - 1 } == nil, "cut by one byte")
        let tailStart = encodedLength(body) - WALRecord.saleHeadBytes - 2 * WALRecord.saleLineBytes
        #expect(roundTrip(body) { base, length in
            (base + tailStart + 32).storeBytes(of: 13, as: UInt8.self)
            return length
        } == nil, "more lines than linesMax")
        #expect(roundTrip(body) { base, length in
            (base + tailStart + WALRecord.saleHeadBytes + 32).storeBytes(of: Int32(0).littleEndian, as: Int32.self)
            return length
        } == nil, "a line of zero units")
        #expect(roundTrip(body) { base, length in
            (base + tailStart + 1).storeBytes(of: 0, as: UInt8.self)  // "T\0RM0001": bytes after the end
            return length
        } == nil, "a terminal code with a zero inside")
        var balance = WALRecord.Body(
            command: ShardCommand(kind: .balance, key: IdempotencyKey(word0: 1, word1: 2)), timeMs: 1,
            status: .approved, balanceAfter: .zero)
        let plain = encodedLength(balance)
        balance.sale = nil
        #expect(roundTrip(balance) { base, length in
            (base + 5).storeBytes(of: WALRecord.bodyFlagSale, as: UInt8.self)
            var writer = ByteWriter(base: base + length, capacity: WALRecord.saleHeadBytes)
            WALRecord.encodeSale(SaleDetail(), &writer)
            return length + writer.offset
        } == nil && plain > 0, "a balance inquiry keeps no sale")
    }

    @Test("the largest body (a purchase with every option, admin stamp, member key, 12 lines) fits bodyBytesMax")
    func largestBodyFits() {
        var purchase = PurchaseRecordTests.decidedPurchase()
        purchase.options.formUnion([.hasReference, .hasTerminalReference, .hasLotTerms, .admin])
        purchase.reference = IdempotencyKey(word0: 1, word1: 2)
        purchase.terminalReference = IdempotencyKey(word0: 3, word1: 4)
        purchase.lotTerms = LotTerms(pointsExpiresOnDay: 5, creditExpiresOnDay: 6, origin: 7)
        purchase.admin = AdminStamp(operation: 1, actor: 2, role: 3, reason: 4)
        var body = WALRecord.Body(command: purchase, timeMs: 1, status: .approved, balanceAfter: .zero)
        body.member = CardHash(high: 9, low: 9)
        body.sale = Self.sale(lines: SaleDetail.linesMax)
        let length = encodedLength(body)
        #expect(length <= WALRecord.bodyBytesMax && length > WALRecord.bodyBytesMax - 100, "\(length) bytes")
        #expect(roundTrip(body)?.sale?.lines.count == SaleDetail.linesMax)
    }

    @Test("the sale stays out of the command: ShardCommand keeps its size (a 4-byte index in its padding)")
    func commandStaysSmall() {
        #expect(MemoryLayout<ShardCommand>.stride == 792, "stride \(MemoryLayout<ShardCommand>.stride)")
    }

    static func records(_ directory: String, shard: Int = 0) throws -> [WALRecord.Body] {
        let tail = LogTail(root: directory, shard: shard)
        var gap = LogTail.Gap(recordsSkipped: 0, recordsUnreadable: 0)
        return try tail.read(after: 0, limit: 1_000, gap: &gap).map(\.body)
    }

    @Test("a purchase, payment and refund keep their sale in the log through a crash and a replay; others keep none")
    mutating func saleSurvivesReplay() throws {
        var configuration = testConfiguration(clock: clock)
        configuration.decider = LoyaltyDecider(rules: LedgerCoalitionTests.rules)
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { directory.remove() }
        var purchase = requests.make(card(1), LedgerPurchaseTests.purchase(500_000, merchant: "SHOP-1"))
        purchase.sale = Self.sale(lines: 2)
        #expect(ledger.perform(purchase).status == .approved)
        var pay = requests.make(card(1), LedgerCoalitionTests.pay(1_000, at: "KIOSK"))
        pay.sale = SaleDetail(terminal: Self.code("TERM0002"), merchant: MerchantName(ShortIdentifier("SHOP-1")!))
        #expect(ledger.perform(pay).status.isApproval)
        var refund = requests.make(card(1), .refund(originalKey: purchase.key, refundAmountMinor: 100_000))
        refund.sale = SaleDetail(terminal: Self.code("TERM0001"))
        #expect(ledger.perform(refund).status == .approved)
        var balance = requests.make(card(1), .balance)
        balance.sale = Self.sale(lines: 1)
        _ = ledger.perform(balance)
        ledger.close(snapshot: false)
        let written = try Self.records(directory.data)
        #expect(written.map { $0.sale?.terminal.text ?? "-" } == ["TERM0001", "TERM0002", "TERM0001", "-"])
        #expect(written[0].sale == Self.sale(lines: 2))
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        #expect(ledger.perform(requests.make(card(1), .balance)).status == .approved)
        ledger.close(snapshot: false)
        let replayed = try Self.records(directory.data)
        #expect(replayed.prefix(3).map(\.sale) == written.prefix(3).map(\.sale), "replay rewrote nothing")
    }
}
