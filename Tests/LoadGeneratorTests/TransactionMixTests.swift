import ISO8583
import Network
import Testing

@testable import LoadGenerator

@Suite("Transaction mix, cards and requests")
struct TransactionMixTests {
    @Test("100,000 picks follow the percentages within half a percentage point")
    func proportions() throws {
        let mix = try TransactionMix.parse("purchase=60,redeem=15,balance=10,reversal=10,refund=5")
        var random = SplitMix64(seed: 7)
        var counts = [Int](repeating: 0, count: RequestKind.allCases.count)
        for _ in 0..<100_000 { counts[mix.pick(&random).rawValue] += 1 }
        for kind in RequestKind.allCases {
            let share = Double(counts[kind.rawValue]) / 1000
            #expect(abs(share - Double(mix.percentages[kind.rawValue])) < 0.5, "\(kind): \(share) %")
        }
        #expect(mix.description == "purchase=60,redeem=15,balance=10,reversal=10,refund=5")
    }

    @Test("a mix that does not add up to 100, or names an unknown kind, is refused with a reason")
    func badMixes() {
        #expect(throws: UsageProblem.self) { try TransactionMix.parse("purchase=50,redeem=10") }
        #expect(throws: UsageProblem.self) { try TransactionMix.parse("purchase=90,transfer=10") }
        #expect(throws: UsageProblem.self) { try TransactionMix.parse("purchase=-10,redeem=110") }
    }

    @Test("card numbers are 16 digits with the issuer prefix and pass the Luhn check")
    func cards() {
        let pool = CardPool(size: 1000)
        for index in [0, 1, 999] {
            let digits = String(pool.cardNumber(index)).compactMap(\.wholeNumberValue)
            #expect(digits.count == 16)
            #expect(digits.prefix(6) == [6, 0, 0, 0, 0, 0])
            var sum = 0
            for (position, digit) in digits.reversed().enumerated() {
                let doubled = position % 2 == 1 ? digit * 2 : digit
                sum += doubled > 9 ? doubled - 9 : doubled
            }
            #expect(sum % 10 == 0)
        }
    }

    @Test("a refund names its original in field 90: MTI, STAN, field 7, field 32 zero-filled to 11, 11 zeros")
    func originalDataElements() throws {
        let dialect = BuiltinDialects.dialect(named: "iso87ascii")!
        let configuration = LoadConfiguration(target: SocketAddress("127.0.0.1:1")!, dialect: dialect)
        let runner = try LoadRunner(configuration: configuration)
        runner.transmission = 1_125_120_000
        var original = InFlightRequest()
        original.stan = 4567
        original.transmission = 1_124_235_959
        original.cardNumber = configuration.cardPool.cardNumber(3)
        original.amountMinor = 5000
        var message = ISOMessage(dialect: dialect, mti: nil)
        try runner.fill(
            &message, kind: .refund, stan: 4568, card: original.cardNumber, amount: 5000,
            terminal: configuration.terminalId(0), original: original)
        #expect(message.mti == MTI(200))
        #expect(message.string(3) == "200000")
        #expect(message.string(90) == "0200" + "004567" + "1124235959" + "00000123456" + "00000000000")
        #expect(message.string(41) == "LG000000")
        #expect(message.string(11) == "004568")
        try runner.fill(
            &message, kind: .reversal, stan: 4569, card: original.cardNumber, amount: 5000,
            terminal: configuration.terminalId(0), original: original)
        #expect(message.mti == MTI(400))
        #expect(message.string(3) == "000000")
    }

    @Test("STANs skip slots still in flight, wrap after 999999 and never use 0")
    func inFlightTable() {
        var table = InFlightTable(limit: 2, firstStan: 999_998)
        let first = table.claim()
        let second = table.claim()
        #expect(first.stan == 999_998 && second.stan == 999_999)
        #expect(table.isFull)
        table.release(first.slot)
        let third = table.claim()
        #expect(third.stan == 1)
        #expect(table.find(stan: 999_999) == second.slot)
        #expect(table.find(stan: 999_998) == nil)
        #expect(table.find(stan: 0) == nil)
    }

    @Test("reversals and refunds against a live responder name approved originals and are answered")
    func mixAgainstResponder() throws {
        let responder = try TestResponder()
        defer { responder.stop() }
        var configuration = responder.configuration(durationMs: 300)
        configuration.mix = try TransactionMix.parse("purchase=40,redeem=20,balance=10,reversal=15,refund=15")
        let result = try responder.run(configuration)
        let statistics = result.statistics
        #expect(statistics.errorCount == 0)
        #expect(statistics.sentByKind[RequestKind.reversal.rawValue] > 0)
        #expect(statistics.sentByKind[RequestKind.refund.rawValue] > 0)
        #expect(statistics.answered == statistics.sent)
        #expect(statistics.responseCount("00") == statistics.answered)
    }

    @Test("another dialect and framing: iso87bcd with BCD length headers and a TPDU, every kind, no errors")
    func bcdDialectWithTPDU() throws {
        let responder = try TestResponder(
            dialect: BuiltinDialects.dialect(named: "iso87bcd")!, framing: Framing(lengthHeader: .bcd2, hasTPDU: true))
        defer { responder.stop() }
        var configuration = responder.configuration(durationMs: 200)
        configuration.mix = try TransactionMix.parse("purchase=50,redeem=10,balance=10,reversal=20,refund=10")
        let result = try responder.run(configuration)
        #expect(result.statistics.answered > 50)
        #expect(result.statistics.errorCount == 0)
        #expect(result.dialectName == "iso87bcd")
    }
}
