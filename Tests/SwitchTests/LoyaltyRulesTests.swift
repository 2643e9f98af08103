import Foundation
import ISO8583
import SwitchCore
import TestSupport
import Testing

/// The loyalty rules engine inside the authorization: what a purchase earns comes from the configured rules.
@Suite("Loyalty rules in the switch")
struct LoyaltyRulesTests {
    /// 1 point per 100 by default, 2 per 100 at grocery stores (MCC 5411, which Terminal sends), 5 per 100 at
    /// MERCHANT0000001 (the terminal's merchant), and the brief's stepped store credit: 10 % from 300,000, 17 %
    /// from 600,000.
    static func rules(version: Int, merchantPoints: Int) -> [String: Any] {
        [
            "version": version, "currency": 364,
            "merchants": [["id": "MERCHANT0000001"]],
            "earning": [
                "default": ["points": 1, "perAmountMinor": 100],
                "byMerchantCategory": ["5411": ["points": 2, "perAmountMinor": 100]],
                "byMerchant": ["MERCHANT0000001": ["points": merchantPoints, "perAmountMinor": 100]],
            ],
            "storeCredit": [
                "default": [
                    "steps": [
                        ["fromAmountMinor": 300_000, "basisPoints": 1000],
                        ["fromAmountMinor": 600_000, "basisPoints": 1700],
                    ]
                ]
            ],
        ]
    }

    @Test("a purchase earns the merchant's rate and stepped store credit; field 54 reports points and credit")
    func rulesDecideWhatAPurchaseEarns() throws {
        var settings = SwitchSettings()
        settings.rules = Self.rules(version: 1, merchantPoints: 5)
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(71)
            let big = try client.exchange(terminal.purchase(card, 600_000))
            #expect(big.code == "00")
            // 600,000 at 5 points per 100 = 30,000 points; 17 % credit = 102,000 in currency 364.
            #expect(big.amounts["90/999"] == 30_000 && big.available == 30_000)
            #expect(big.amounts["90/364"] == 102_000 && big.amounts["02/364"] == 102_000)
            // Field 63: a receipt line a terminal may print, from the ledger's outcome (so replays repeat it).
            #expect(big.field(63) == "POINTS +30000 BALANCE 30000 | CREDIT +102000 BALANCE 102000")
            var elsewhere = Terminal(id: "TERM0002")
            elsewhere.merchant = "OTHERSHOP000001"
            let small = try client.exchange(elsewhere.purchase(card, 299_999))
            // Unknown merchant: the MCC rate (2 per 100) = 5,998 points; below the first credit step: no credit.
            #expect(small.code == "00" && small.amounts["90/999"] == 5_998)
            #expect(small.amounts["90/364"] == nil && small.amounts["02/364"] == 102_000)
        }
    }

    @Test("a rules change does not change a replay: the ledger logged the amounts the old rules decided")
    func replayAfterRulesChange() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var terminal = Terminal()
        let card = Wire.card(72)
        let purchase = terminal.purchase(card, 10_000)
        var first: [UInt8] = []
        do {
            var settings = SwitchSettings()
            settings.rules = Self.rules(version: 1, merchantPoints: 5)
            let server = try SwitchProcess(directory: directory, settings: settings, run: 0)
            defer { server.stop() }
            let reply = try SwitchClient(port: server.port).exchange(purchase)
            #expect(reply.amounts["90/999"] == 500)
            first = reply.bytes
            #expect(server.signalAndWait(SIGTERM)?.status == 0)
        }
        var settings = SwitchSettings()
        settings.rules = Self.rules(version: 2, merchantPoints: 9)
        let server = try SwitchProcess(directory: directory, settings: settings, run: 1)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        let again = try client.exchange(purchase)
        #expect(again.bytes == first, "the repeat replays the original response byte for byte")
        #expect(try client.exchange(terminal.balance(card)).available == 500)
        // A new purchase earns at the new rate.
        #expect(try client.exchange(terminal.purchase(card, 10_000)).amounts["90/999"] == 900)
    }

    @Test("SIGHUP puts a newer rules version in force; an older or equal one is refused; a SIGKILL replays both")
    func reloadOnSignal() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var terminal = Terminal()
        let card = Wire.card(74)
        var settings = SwitchSettings()
        settings.rules = Self.rules(version: 1, merchantPoints: 5)
        do {
            let server = try SwitchProcess(directory: directory, settings: settings, run: 0)
            defer { server.stop() }
            let client = try SwitchClient(port: server.port)
            #expect(try client.exchange(terminal.purchase(card, 10_000)).amounts["90/999"] == 500)
            settings.rules = Self.rules(version: 2, merchantPoints: 9)
            try server.rewriteConfiguration(settings)
            kill(server.process.pid, SIGHUP)
            #expect(server.waitForLog("rules version 2 in force (was 1)"))
            #expect(try client.exchange(terminal.purchase(card, 10_000)).amounts["90/999"] == 900)
            // The same version with other content is refused: a version names one set of rules.
            settings.rules = Self.rules(version: 2, merchantPoints: 1)
            try server.rewriteConfiguration(settings)
            kill(server.process.pid, SIGHUP)
            #expect(server.waitForLog("rules version 2 is not newer than the version in force (2)"))
            #expect(try client.exchange(terminal.purchase(card, 10_000)).amounts["90/999"] == 900)
            #expect(server.isRunning)
        }
        // Killed above (SIGKILL in stop): the restart replays decisions of both versions under version 3.
        settings.rules = Self.rules(version: 3, merchantPoints: 1)
        let server = try SwitchProcess(directory: directory, settings: settings, run: 1)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        #expect(try client.exchange(terminal.balance(card)).available == 2_300)
    }

    @Test("a repeat after reloads that rename tiers, and after a SIGKILL and restart, names them as the version that decided did (byte for byte)")
    func receiptNamesFollowTheDecidingVersion() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        func rules(_ version: Int, _ names: (String, String)) -> [String: Any] {
            var rules = Self.rules(version: version, merchantPoints: 5)
            rules["tiers"] = [
                "windowDays": 365, "by": "count",
                "levels": [["id": names.0, "from": 0], ["id": names.1, "from": 5]],
            ]
            return rules
        }
        var settings = SwitchSettings()
        settings.rules = rules(1, ("BRONZE", "SILVER"))
        var terminal = Terminal()
        let card = Wire.card(86)
        let purchase = terminal.purchase(card, 1_000)
        let second = terminal.purchase(card, 1_000)
        let (first, secondAnswer): (Reply, Reply)
        do {
            let server = try SwitchProcess(directory: directory, settings: settings, run: 0)
            defer { server.stop() }
            let client = try SwitchClient(port: server.port)
            /// Puts `version` with tiers named `names` in force by SIGHUP and waits for the switch to say so.
            func reload(_ version: Int, _ names: (String, String)) throws {
                settings.rules = rules(version, names)
                try server.rewriteConfiguration(settings)
                kill(server.process.pid, SIGHUP)
                #expect(server.waitForLog("rules version \(version) in force (was \(version - 1))"))
            }
            first = try client.exchange(purchase)
            #expect(first.field(63) == "POINTS +50 BALANCE 50 | TIER BRONZE")
            try reload(2, ("BASE", "PLUS"))
            #expect(try client.exchange(purchase).bytes == first.bytes, "decided under 1: named by 1")
            secondAnswer = try client.exchange(second)
            #expect(secondAnswer.field(63) == "POINTS +50 BALANCE 100 | TIER BASE")
            // Two reloads later the process still holds version 1: the repeat renames nothing.
            try reload(3, ("LOW", "HIGH"))
            #expect(try client.exchange(purchase).bytes == first.bytes, "decided under 1, two reloads ago: named by 1")
            #expect(try client.exchange(terminal.purchase(card, 1_000)).field(63) == "POINTS +50 BALANCE 150 | TIER LOW")
        }
        // SIGKILLed above; a new process under version 4 has never held versions 1 and 2 in memory: their names
        // come from the data directory (receipt-names), so the repeats are still the first answers byte for byte.
        settings.rules = rules(4, ("START", "TOP"))
        let server = try SwitchProcess(directory: directory, settings: settings, run: 1)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        #expect(try client.exchange(purchase).bytes == first.bytes, "decided under 1, after a restart: named by 1")
        #expect(try client.exchange(second).bytes == secondAnswer.bytes, "decided under 2, after a restart: named by 2")
        #expect(try client.exchange(terminal.purchase(card, 1_000)).field(63) == "POINTS +50 BALANCE 200 | TIER START")
    }

    @Test("field 63: the purchase that reaches a tier says so, its reversal takes the tier back, inquiries show it")
    func tierOnTheReceipt() throws {
        var settings = SwitchSettings()
        var rules = Self.rules(version: 1, merchantPoints: 5)
        rules["tiers"] = [
            "windowDays": 365, "by": "count",
            "levels": [
                ["id": "BRONZE", "from": 0], ["id": "SILVER", "from": 2, "pointsMultiplierPercent": 200],
            ],
        ]
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(75)
            let first = try client.exchange(terminal.purchase(card, 1_000, stan: 81))
            #expect(first.field(63) == "POINTS +50 BALANCE 50 | TIER BRONZE")
            // The second purchase crosses the threshold: it earns at BRONZE and its receipt shows the upgrade.
            let second = try client.exchange(terminal.purchase(card, 1_000, stan: 82))
            #expect(second.field(63) == "POINTS +50 BALANCE 100 | TIER SILVER (UP FROM BRONZE)")
            let third = try client.exchange(terminal.purchase(card, 1_000, stan: 83))
            #expect(third.field(63) == "POINTS +100 BALANCE 200 | TIER SILVER")
            #expect(try client.exchange(terminal.balance(card)).field(63) == "POINTS BALANCE 200 | TIER SILVER")
            // Reversing two of the three purchases leaves one in the window: back to BRONZE.
            for stan in [82, 83] {
                let reversal = terminal.message(
                    400, processing: "000000", card: card, amount: 1_000,
                    original: terminal.originalData(mti: 200, stan: stan))
                #expect(try client.exchange(reversal).code == "00")
            }
            #expect(try client.exchange(terminal.balance(card)).field(63) == "POINTS BALANCE 50 | TIER BRONZE")
            let again = try client.exchange(terminal.purchase(card, 1_000, stan: 84))
            #expect(again.field(63) == "POINTS +50 BALANCE 100 | TIER SILVER (UP FROM BRONZE)")
        }
    }

    @Test("0200/91 enrols with a referrer in field 48; the referred member's first purchase pays the referrer")
    func referralThroughTheSwitch() throws {
        var settings = SwitchSettings()
        var rules = Self.rules(version: 1, merchantPoints: 5)
        rules["events"] = ["referrerPoints": 500, "referredFirstPurchasePoints": 200]
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let referrer = Wire.card(76)
            let referred = Wire.card(77)
            #expect(try client.exchange(terminal.purchase(referrer, 1_000)).amounts["90/999"] == 50)
            var enrol = terminal.message(200, processing: "910000", card: referred)
            try enrol.set(48, "BD040315RF\(referrer.count)\(referrer)")
            #expect(try client.exchange(enrol).code == "00")
            var malformed = terminal.message(200, processing: "910000", card: referred)
            try malformed.set(48, "RF99" + referrer)
            #expect(try client.exchange(malformed).code == "30")
            var another = terminal.message(200, processing: "910000", card: referred)
            try another.set(48, "RF16" + Wire.card(78))
            #expect(try client.exchange(another).code == "57", "a referrer is set once")
            // 50 by the merchant rate + 200 for a referred member's first purchase; the referrer gets 500.
            #expect(try client.exchange(terminal.purchase(referred, 1_000)).amounts["90/999"] == 250)
            var points: Int64?
            for _ in 0..<100 {
                points = try client.availablePoints(referrer, terminal: &terminal)
                if points == 550 { break }
                usleep(10_000)
            }
            #expect(points == 550)
        }
    }

    @Test("a purchase's field 54 entry 91 (already paid with points) earns nothing; a malformed 54 is 30")
    func partPaidWithPointsEarnsNothing() throws {
        var settings = SwitchSettings()
        settings.rules = Self.rules(version: 1, merchantPoints: 5)
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(79)
            var purchase = terminal.purchase(card, 10_000)
            try purchase.set(54, "0091364D000000004000")
            // 6,000 paid in money at 5 points per 100.
            #expect(try client.exchange(purchase).amounts["90/999"] == 300)
            var malformed = terminal.purchase(card, 10_000)
            try malformed.set(54, "0091364D00000000400")
            #expect(try client.exchange(malformed).code == "30")
            var tooMuch = terminal.purchase(card, 10_000)
            try tooMuch.set(54, "0091364D000000010001")
            #expect(try client.exchange(tooMuch).code == "13")
        }
    }

    @Test("the README's example program (fixtures/rules/club-program.json) loads: 3 tiers, 5 offers, product rules")
    func exampleProgramLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/rules/club-program.json").path
        let rules = try #require(try SwitchConfiguration.load(path: path).rules)
        #expect(rules.version == 1 && rules.tierCount == 3 && rules.redemption.pointValueMinor == 10)
        #expect(rules.offerIdentifier(at: 4).description == "NEW-HABIT")
        #expect(rules.hasProductRules)
    }

    @Test("earn at FLORIST01, pay at CAFE01 (one coalition): 'ledger settlement' says FLORIST01 owes CAFE01")
    func coalitionSettlementThroughTheSwitch() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var settings = SwitchSettings()
        settings.rules = [
            "version": 1, "currency": 364, "groups": [["id": "MALL", "kind": "coalition"]],
            "merchants": [["id": "FLORIST01", "groups": ["MALL"]], ["id": "CAFE01", "groups": ["MALL"]]],
            "earning": ["default": ["points": 1, "perAmountMinor": 100]],
        ]
        let server = try SwitchProcess(directory: directory, settings: settings, run: 0)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        var florist = Terminal(id: "FLOR0001")
        florist.merchant = "FLORIST01      "
        var cafe = Terminal(id: "CAFE0001")
        cafe.merchant = "CAFE01         "
        let card = Wire.card(80)
        #expect(try client.exchange(florist.purchase(card, 10_000)).amounts["90/999"] == 100)
        let paid = try client.exchange(cafe.redeem(card, 30))
        #expect(paid.code == "00" && paid.amounts["91/999"] == -30)
        // A hold and its completion at CAFE01 settle the same way.
        #expect(
            try client.exchange(cafe.message(100, processing: "900000", card: card, amount: 20, stan: 700)).code == "00"
        )
        let completion = cafe.message(
            220, processing: "900000", card: card, amount: 20, original: cafe.originalData(mti: 100, stan: 700))
        #expect(try client.exchange(completion).code == "00")
        // Not at a merchant outside the coalition (the terminal's default merchant is in no group of the rules).
        // 58, not 51: the member has the points, they may not be spent here; field 63 and the log say why.
        var outside = Terminal(id: "OUT00001")
        let refused = try client.exchange(outside.redeem(card, 10))
        #expect(refused.code == "58" && refused.field(63) == "NOT SPENDABLE AT THIS MERCHANT: EARNED OUTSIDE ITS GROUP")
        #expect(try client.exchange(outside.message(100, processing: "900000", card: card, amount: 10)).code == "58")
        #expect(server.waitForLog("declined 58, the member's value was earned where the rules' groups do not allow"))
        // More than the member holds anywhere is still 51.
        #expect(try client.exchange(cafe.redeem(card, 1_000)).code == "51")
        #expect(server.signalAndWait(SIGTERM)?.status == 0)
        let settlement = try Self.runCommand(
            ["ledger", "settlement", "--data", directory.data, "--config", directory.path + "/config-0.json"])
        #expect(settlement == "payer,payee,points,credit_minor,value_minor\nFLORIST01,CAFE01,50,0,50\n")
        let verify = try Self.runCommand(["ledger", "verify", "--data", directory.data])
        #expect(verify.contains("rules purchases counted: 1 (volume 10000); members by tier: 1"), "\(verify)")
        #expect(verify.contains("coalition settlement pairs: 1 (value 50)"), "\(verify)")
    }

    /// Runs `loyalty-switch` with `arguments`; its standard output (the exit status must be 0).
    static func runCommand(_ arguments: [String]) throws -> String {
        let outcome = try ChildProcess.capture(try SwitchExecutable.path(), arguments)
        #expect(outcome.status == 0, "\(arguments): \(outcome.errors)")
        return outcome.output
    }

    @Test("under rules with a point value of 10, redeem, hold and completion all convert at 10 per point")
    func pointValueOfTheRules() throws {
        var settings = SwitchSettings()
        var rules = Self.rules(version: 1, merchantPoints: 5)
        rules["redemption"] = ["pointValueMinor": 10, "partialApproval": true]
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(81)
            #expect(try client.exchange(terminal.purchase(card, 10_000, stan: 90)).available == 500)
            let redeem = try client.exchange(terminal.redeem(card, 1_000, stan: 91))
            #expect(redeem.code == "00" && redeem.amounts["91/999"] == -100 && redeem.available == 400)
            let hold = try client.exchange(
                terminal.message(100, processing: "900000", card: card, amount: 2_000, stan: 92))
            #expect(hold.code == "00" && hold.available == 200, "2,000 at 10 per point holds 200 points")
            let completion = terminal.message(
                220, processing: "900000", card: card, amount: 1_500,
                original: terminal.originalData(mti: 100, stan: 92))
            let captured = try client.exchange(completion)
            #expect(captured.code == "00" && captured.available == 250, "1,500 captures 150; the other 50 are released")
            // More than the balance covers: partial, field 4 says what the 250 points pay.
            let partial = try client.exchange(
                terminal.message(100, processing: "900000", card: card, amount: 9_000, stan: 93))
            #expect(partial.code == "10" && partial.field(4) == "000000002500")
        }
    }

    @Test("a running campaign doubles a purchase's points at the merchants in its scope, and only there")
    func campaignThroughTheSwitch() throws {
        var settings = SwitchSettings()
        var rules = Self.rules(version: 1, merchantPoints: 5)
        rules["campaigns"] = [
            [
                "id": "ALWAYS", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
                "scope": ["merchants": ["MERCHANT0000001"]], "pointsMultiplierPercent": 200,
            ]
        ]
        settings.rules = rules
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(73)
            // 10,000 at 5 per 100 = 500 points, doubled by the campaign.
            #expect(try client.exchange(terminal.purchase(card, 10_000)).amounts["90/999"] == 1_000)
            var elsewhere = Terminal(id: "TERM0003")
            elsewhere.merchant = "OTHERSHOP000001"
            // Outside the scope: the MCC rate, 2 per 100 = 200 points, not doubled.
            #expect(try client.exchange(elsewhere.purchase(card, 10_000)).amounts["90/999"] == 200)
        }
    }

    @Test("a rules mistake in --config stops the switch at start, naming the key path")
    func rulesErrorsNameTheKey() throws {
        var settings = SwitchSettings()
        var rules = Self.rules(version: 1, merchantPoints: 5)
        rules["earning"] = ["byMerchant": ["NOPE": ["points": 1, "perAmountMinor": 100]]]
        settings.rules = rules
        let directory = ScratchDirectory()
        defer { directory.remove() }
        do {
            let server = try SwitchProcess(directory: directory, settings: settings, run: 0)
            server.stop()
            Issue.record("the switch started with a rule naming an unknown merchant")
        } catch {
            #expect("\(error)".contains("rules.earning.byMerchant.NOPE"), "\(error)")
        }
    }
}
