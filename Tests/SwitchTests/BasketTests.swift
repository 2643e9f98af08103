import ISO8583
import Ledger
import TestSupport
import Testing

@testable import SwitchCore

/// The basket in field 48 (tag `IT`): what a line may hold, how many lines, the sum rule, and that every malformed
/// basket is refused (the switch answers 30) while a purchase without one is read as before.
@Suite struct BasketTests {
    /// Field 48 entry `IT` for one line's value.
    static func entry(_ value: String) -> String {
        "IT" + Wire.digits(value.utf8.count, 2) + value
    }

    static func parse(_ text: String, _ kind: TransactionKind = .purchase) -> AdditionalData? {
        Array(text.utf8).withUnsafeBytes { AdditionalData.parse($0, allowing: AdditionalData.Tags.allowed(in: kind)) }
    }

    static func line(_ text: String) -> SaleLine? {
        Array(text.utf8).withUnsafeBytes { Basket.line($0) }
    }

    /// A purchase of `amount` with field 48 = `field48`, read as the switch reads it.
    static func request(_ field48: String, amount: Int64 = 100_000, kind: Int = 200, processing: String = "000000")
        throws -> ISOMessage
    {
        var terminal = Terminal()
        var message = terminal.message(kind, processing: processing, card: Wire.card(1), amount: amount)
        try message.set(48, field48)
        return message
    }

    @Test("a line reads SKU, category (optional), quantity and amount exactly, codes kept byte for byte")
    func lineFields() throws {
        let milk = try #require(Self.line("MILK-1L;DAIRY;2;90000"))
        #expect(milk.sku.text == "MILK-1L" && milk.category.text == "DAIRY")
        #expect(milk.quantity == 2 && milk.amountMinor == 90_000)
        let bare = try #require(Self.line("X;;1;0"))
        #expect(bare.sku.text == "X" && bare.category == .none && bare.amountMinor == 0)
        let widest = try #require(Self.line("ABCDEFGHIJKLMNOP;abcdefghijklmnop;9999;999999999999"))
        #expect(widest.sku.text == "ABCDEFGHIJKLMNOP" && widest.category.text == "abcdefghijklmnop")
        #expect(widest.quantity == 9_999 && widest.amountMinor == 999_999_999_999)
        #expect(widest.sku == SaleCode(ascii: Array("ABCDEFGHIJKLMNOP".utf8)), "the same bytes as the ledger's code")
        #expect(Self.line("a;A;1;1")?.sku != Self.line("A;A;1;1")?.sku, "codes are case-sensitive")
    }

    @Test("every malformed line class is refused: fields, separators, characters, ranges and widths")
    func malformedLines() {
        for bad in [
            "", ";", ";;;", ";DAIRY;1;100", "MILK;DAIRY;1", "MILK;DAIRY;1;100;", "MILK;DAIRY;1;100;X",
            "MILK DAY;DAIRY;1;100", "MILK;DAI RY;1;100", "MILK\u{7F};DAIRY;1;100", "MILK;DAIRY;0;100",
            "MILK;DAIRY;;100", "MILK;DAIRY;1;", "MILK;DAIRY;10000;100", "MILK;DAIRY;-1;100", "MILK;DAIRY;1;-100",
            "MILK;DAIRY;1;1000000000000", "MILK;DAIRY;1a;100", "MILK;DAIRY;1;10.5", "ABCDEFGHIJKLMNOPQ;D;1;1",
            "A;ABCDEFGHIJKLMNOPQ;1;1", "MILK;DAIRY;+1;100", "MILK;DAIRY;1;1 ",
        ] {
            #expect(Self.line(bad) == nil, "\(bad)")
            #expect(Self.parse(Self.entry(bad)) == nil, "\(bad) in field 48")
        }
    }

    @Test("up to 12 lines are read and summed; the 13th is refused, and so is the basket on kinds without it")
    func lineCountAndKinds() throws {
        let twelve = (1...12).map { Self.entry("SKU\($0);CAT;1;\($0 * 100)") }.joined()
        let data = try #require(Self.parse(twelve))
        #expect(data.basketLineCount == 12 && data.basketAmountMinor == 7_800)
        #expect(Self.parse(twelve + Self.entry("SKU13;CAT;1;1")) == nil, "13 lines")
        #expect(try #require(Self.parse(twelve, .offlinePurchase)).basketLineCount == 12, "0220 carries it too")
        let mixed = try #require(Self.parse("SC041001" + Self.entry("A;;1;5") + Self.entry("A;;1;5")))
        #expect(mixed.serviceCode == 1001 && mixed.basketLineCount == 2, "a repeated SKU is two lines, as sold")
        #expect(Self.parse("SC041001SC041001" + Self.entry("A;;1;5")) == nil, "SC still once")
        for kind in [TransactionKind.redeem, .profile, .refund, .reversal, .hold, .completion, .balanceInquiry] {
            #expect(Self.parse(Self.entry("A;;1;5"), kind) == nil, "a basket on \(kind)")
        }
    }

    @Test("the lines may add up to less than field 4 (the rest is not itemised), never to more (30)")
    func sumRule() throws {
        let basket = Self.entry("A;;1;60000") + Self.entry("B;;2;40000")
        #expect(AdditionalData.parse(try Self.request(basket, amount: 100_000), for: .purchase)?.basketLineCount == 2)
        #expect(AdditionalData.parse(try Self.request(basket, amount: 150_000), for: .purchase) != nil, "below")
        #expect(AdditionalData.parse(try Self.request(basket, amount: 99_999), for: .purchase) == nil, "above")
        let advice = try Self.request(basket, amount: 99_999, kind: 220)
        #expect(AdditionalData.parse(advice, for: .offlinePurchase) == nil, "above, on an advice")
    }

    @Test("kinds that ignore field 48 still ignore anything but a basket; a basket on them is refused")
    func basketOnKindsThatIgnoreField48() throws {
        let refund = try Self.request("free text the switch never read", processing: "200000")
        #expect(AdditionalData.parse(refund, for: .refund) != nil, "ignored as before")
        let basket = try Self.request("XX02ab" + Self.entry("A;;1;5"), processing: "200000")
        #expect(AdditionalData.parse(basket, for: .refund) == nil)
        #expect(AdditionalData.parse(try Self.request(Self.entry("A;;1;5")), for: .reversal) == nil)
        #expect(AdditionalData.parse(try Self.request(Self.entry("A;;1;5")), for: .balanceInquiry) == nil)
    }

    @Test("field 48 cut at every byte: only cuts between entries read, and read the lines before the cut")
    func everyLength() {
        let entries = [Self.entry("MILK-1L;DAIRY;2;90000"), Self.entry("BREAD;;1;25000"), "SC041001"]
        let whole = entries.joined()
        var boundaries: Set<Int> = [0]
        var end = 0
        for entry in entries {
            end += entry.utf8.count
            boundaries.insert(end)
        }
        let bytes = Array(whole.utf8)
        for length in 0...bytes.count {
            let prefix = String(decoding: bytes[0..<length], as: UTF8.self)
            let data = Self.parse(prefix)
            #expect((data != nil) == boundaries.contains(length), "cut at \(length)")
        }
        #expect(Self.parse(whole)?.basketAmountMinor == 115_000)
    }

    @Test("the lines the ledger request gets are the lines validated, in the terminal's order; none without a basket")
    func linesForTheLedger() throws {
        let basket = Self.entry("MILK-1L;DAIRY;2;90000") + "SC041001" + Self.entry("BREAD;;1;25000")
        let lines = Basket.lines(of: try Self.request(basket))
        #expect(lines.map(\.sku.text) == ["MILK-1L", "BREAD"])
        #expect(lines.map(\.quantity) == [2, 1] && lines.map(\.amountMinor) == [90_000, 25_000])
        #expect(lines[1].category == .none)
        #expect(Basket.lines(of: try Self.request("SC041001")).isEmpty)
        var terminal = Terminal()
        #expect(Basket.lines(of: terminal.purchase(Wire.card(1), 100)).isEmpty, "no field 48")
    }

    @Test("20,000 random and mutated baskets never crash; what parses builds exactly as many lines as it counted")
    func fuzz() throws {
        var generator = TestSupport.SplitMix64(seed: 16)
        let seed = Array((Self.entry("MILK-1L;DAIRY;2;90000") + Self.entry("BREAD;;1;25000")).utf8)
        let alphabet = Array("IT0123456789;;;ABab- ".utf8)
        for _ in 0..<20_000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[index] = alphabet.randomElement(using: &generator)!
                case 1: bytes.remove(at: index)
                default: bytes.insert(alphabet.randomElement(using: &generator)!, at: index)
                }
                if bytes.isEmpty { break }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            guard let data = Self.parse(text), data.basketLineCount > 0 else { continue }
            let lines = Basket.lines(of: try Self.request(text, amount: 999_999_999_999))
            #expect(lines.count == data.basketLineCount)
            #expect(lines.reduce(0) { $0 + $1.amountMinor } == data.basketAmountMinor)
        }
    }
}
