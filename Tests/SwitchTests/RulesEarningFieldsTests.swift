import Foundation
import ISO8583
import SwitchCore
import Testing

/// What a purchase tells the rules beyond the amount and the merchant, from outside: the service bought
/// (field 48, tag SC) for `earning.byServiceCode`, and when an offline sale happened (fields 13 and 12).
@Suite("Earning fields under rules")
struct RulesEarningFieldsTests {
    @Test("field 48 SC feeds earning.byServiceCode: the service's points win over the merchant's rate")
    func serviceCodeEarnsItsPoints() throws {
        var settings = SwitchSettings()
        var rules = LoyaltyRulesTests.rules(version: 1, merchantPoints: 5)
        var earning = rules["earning"] as! [String: Any]
        earning["byServiceCode"] = ["1001": 50, "42": 7]
        rules["earning"] = earning
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(83)
            var checkUp = terminal.purchase(card, 10_000)
            try checkUp.set(48, "SC041001")
            #expect(try client.exchange(checkUp).amounts["90/999"] == 50, "the service's 50, not 5 per 100")
            var other = terminal.purchase(card, 10_000)
            try other.set(48, "SC0242")
            #expect(try client.exchange(other).amounts["90/999"] == 7)
            var unknown = terminal.purchase(card, 10_000)
            try unknown.set(48, "SC049999")
            #expect(try client.exchange(unknown).amounts["90/999"] == 500, "an unknown service earns the usual rate")
            var offline = terminal.message(220, processing: "000000", card: card, amount: 10_000)
            try offline.set(48, "SC041001")
            #expect(try client.exchange(offline).amounts["90/999"] == 50, "an offline advice carries it too")
            var malformed = terminal.purchase(card, 10_000)
            try malformed.set(48, "SC0710010001")
            #expect(try client.exchange(malformed).code == "30")
            #expect(try client.exchange(terminal.balance(card)).available == 607)
        }
    }

    /// `time` as the rules' UTC format and as fields 13 (MMDD) and 12 (hhmmss) in UTC.
    static func utc(_ time: time_t) -> (text: String, date: String, clock: String) {
        var seconds = time
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let date = Wire.digits(Int(parts.tm_mon) + 1, 2) + Wire.digits(Int(parts.tm_mday), 2)
        let clock =
            Wire.digits(Int(parts.tm_hour), 2) + Wire.digits(Int(parts.tm_min), 2)
            + Wire.digits(Int(parts.tm_sec), 2)
        let year = Wire.digits(Int(parts.tm_year) + 1900, 4)
        let text =
            "\(year)-\(date.prefix(2))-\(date.suffix(2))T\(clock.prefix(2)):\(clock.dropFirst(2).prefix(2)):"
            + "\(clock.suffix(2))Z"
        return (text, date, clock)
    }

    @Test("an offline advice earns by the campaigns of when the sale happened (fields 13/12), not of its upload")
    func offlineAdviceIsJudgedBySaleTime() throws {
        let now = time(nil)
        let day: time_t = 86_400
        var rules = LoyaltyRulesTests.rules(version: 1, merchantPoints: 5)
        rules["campaigns"] = [
            [
                "id": "FESTIVAL", "from": Self.utc(now - 3 * day).text, "until": Self.utc(now - day).text,
                "pointsMultiplierPercent": 200,
            ],
            [
                "id": "TODAY", "from": Self.utc(now - 3_600).text, "until": Self.utc(now + day).text,
                "pointsMultiplierPercent": 300,
            ],
        ]
        var settings = SwitchSettings()
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(84)
            func advice(soldAt sale: time_t) throws -> Reply {
                var message = terminal.message(220, processing: "000000", card: card, amount: 10_000)
                try message.set(13, Self.utc(sale).date)
                try message.set(12, Self.utc(sale).clock)
                return try client.exchange(message)
            }
            #expect(try client.exchange(terminal.purchase(card, 10_000)).amounts["90/999"] == 1_500, "TODAY: ×3")
            #expect(try advice(soldAt: now - 2 * day).amounts["90/999"] == 1_000, "sold in the FESTIVAL: ×2")
            #expect(try advice(soldAt: now - 20 * 3_600).amounts["90/999"] == 500, "between them: ×1")
            // Older than offlineAdviceAgeMaxHours (168 by default): declined, nothing earned.
            let stale = try advice(soldAt: now - 8 * day)
            #expect(stale.code == "05" && stale.amounts.isEmpty)
            #expect(server.waitForLog("offline advice of a sale 192 h old (limit 168 h"))
            var impossible = terminal.message(220, processing: "000000", card: card, amount: 10_000)
            try impossible.set(13, "0230")
            #expect(try client.exchange(impossible).code == "30")
            #expect(try client.exchange(terminal.balance(card)).available == 3_000)
        }
    }

    @Test("field 63 announces an amount offer when it is granted; the next visit reaching the amount receives it")
    func amountOfferAnnouncedOnTheReceipt() throws {
        var rules = LoyaltyRulesTests.rules(version: 1, merchantPoints: 5)
        rules["storeCredit"] = nil
        rules["offers"] = [
            [
                "id": "NEXT-VISIT", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
                "eligibility": ["purchasesAtLeast": 1], "trigger": ["purchaseAtLeastMinor": 200_000],
                "reward": ["creditBasisPoints": 2000], "validVisits": 1,
            ]
        ]
        var settings = SwitchSettings()
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(85)
            #expect(try client.exchange(terminal.purchase(card, 10_000)).field(63) == "POINTS +500 BALANCE 500")
            let granted = try client.exchange(terminal.purchase(card, 10_000))
            #expect(
                granted.field(63)
                    == "POINTS +500 BALANCE 1000 | OFFER NEXT-VISIT: 20% CREDIT ON YOUR NEXT PURCHASE OF 200000 OR MORE"
            )
            // A grant is used by a purchase after it: one in the same millisecond of the ledger's clock (the same
            // batch) does not use it, by design. Let the clock move on (this failed once in a loaded full run).
            usleep(3_000)
            let used = try client.exchange(terminal.purchase(card, 250_000))
            #expect(used.amounts["90/364"] == 50_000)
            #expect(
                used.field(63) == "POINTS +12500 BALANCE 13500 | CREDIT +50000 BALANCE 50000 | OFFER NEXT-VISIT APPLIED"
            )
        }
    }
}
