import Foundation
import Ledger
import Testing

@testable import Loyalty
import LoyaltyLedger
@testable import SwitchCore

/// The request fields the loyalty path reads beyond wire contract v1: field 48 of an enrolment (birthday,
/// referrer) and field 54 of a purchase (the part paid with points). Hostile bytes must give a clean refusal.
@Suite struct RequestFieldParsingTests {
    static func parse(_ text: String, _ kind: TransactionKind = .profile) -> AdditionalData? {
        parse(Array(text.utf8), kind)
    }

    static func parse(_ bytes: [UInt8], _ kind: TransactionKind) -> AdditionalData? {
        bytes.withUnsafeBytes { AdditionalData.parse($0, allowing: AdditionalData.Tags.allowed(in: kind)) }
    }

    @Test("field 48: birthday and referrer read exactly; empty means no profile; each malformed class is refused")
    func profileField() throws {
        let profile = try #require(Self.parse("BD040315RF165041000000000002"))
        #expect(profile.birthMonth == 3 && profile.birthDay == 15)
        #expect(profile.referrer?.masked == CardNumber("5041000000000002")?.masked)
        let empty = try #require(Self.parse(""))
        #expect(empty.birthMonth == 0 && empty.referrer == nil)
        for bad in [
            "BD", "BD04", "BD0403", "BD04031X", "BD050315X", "XX0412345", "BD040315BD040316", "RF05123",
            "RF2012345678901234567890", "RF16504100000000000", "bd040315", "BD-40315",
        ] {
            #expect(Self.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("field 48: service code on purchases, purchase total on redemptions; each tag only where it is used")
    func tagsPerTransaction() throws {
        #expect(try #require(Self.parse("SC041001", .purchase)).serviceCode == 1001)
        #expect(try #require(Self.parse("SC06999999", .offlinePurchase)).serviceCode == 999_999)
        #expect(try #require(Self.parse("PT06100000", .redeem)).purchaseTotalMinor == 100_000)
        #expect(try #require(Self.parse("PT12999999999999", .redeem)).purchaseTotalMinor == 999_999_999_999)
        for (bad, kind) in [
            ("SC0000", TransactionKind.purchase), ("SC071234567", .purchase), ("SC041X01", .purchase),
            ("SC041001SC041002", .purchase), ("PT00", .redeem), ("PT131234567890123", .redeem),
            ("SC041001", .redeem), ("PT06100000", .purchase), ("BD040315", .purchase), ("SC041001", .profile),
            ("PT06100000", .balanceInquiry),
        ] {
            #expect(Self.parse(bad, kind) == nil, "\(bad) on \(kind)")
        }
    }

    @Test("field 48: 20,000 random and mutated values never crash, and what parses re-reads the same")
    func profileFieldFuzz() {
        var generator = SystemRandomNumberGenerator()
        let seed = Array("BD040315RF165041000000000002".utf8)
        let kinds: [TransactionKind] = [.profile, .purchase, .redeem]
        for round in 0..<20_000 {
            var bytes = seed
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
                        in: 0x20...0x7E, using: &generator)
                }
            }
            if let parsed = Self.parse(bytes, kinds[round % 3]) {
                #expect(parsed.birthMonth <= 99 && parsed.birthDay <= 99)
                #expect((parsed.serviceCode ?? 0) <= 999_999 && (parsed.purchaseTotalMinor ?? 0) >= 0)
            }
        }
    }

    @Test("field 54 of a purchase: 91 entries in money add up; points entries, C/D and other types are read right")
    func additionalAmounts() {
        func paid(_ text: String) -> Int64? {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Int64? in
                SwitchCore.AdditionalAmounts.paidWithPointsMinor(buffer)
            }
        }
        #expect(paid("") == 0)
        #expect(paid("0091364D000000004000") == 4_000)
        #expect(paid("0091364D000000004000" + "0091364D000000000500") == 4_500)
        #expect(paid("0091999D000000004000") == 0, "points themselves are not money paid")
        #expect(paid("0002364C000000004000") == 0, "a balance entry is not a payment")
        for bad in ["0091364D00000000400", "0091364X000000004000", "0091A64D000000004000", "0091364D00000000400A"] {
            #expect(paid(bad) == nil, "\(bad)")
        }
        #expect(paid(String(repeating: "0091364D999999999999", count: 6)) == Int64(5_999_999_999_994), "no overflow")
    }
}

/// The field 63 receipt line, written into a stack buffer: every part, byte for byte.
@Suite struct ReceiptTextTests {
    static let rules = try! Loyalty.Program(
        json: Array(
            """
            {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 100}},
             "tiers": {"windowDays": 365, "by": "count", "levels": [{"id": "BRONZE", "from": 0}, {"id": "GOLD", "from": 9}]},
             "offers": [{"id": "FREQUENT", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
                         "trigger": {"purchaseAtLeastMinor": 1}, "reward": {"creditBasisPoints": 1250, "bonusPoints": 40}},
                        {"id": "COME-BACK", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
                         "trigger": {"returnWithinDays": 20}, "reward": {"creditBasisPoints": 2005}}]}
            """.utf8))

    func text(_ reply: LedgerReply) -> String {
        var writer = ReceiptWriter()
        ResponseBuilder.writeReceipt(reply, names: ReceiptNames(Self.rules), into: &writer)
        return writer.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    @Test("purchase with every part, a balance inquiry, and a negative balance")
    func everyPart() {
        var reply = LedgerReply(tag: 1, key: .zero, status: .approved)
        reply.credited = AssetAmounts(points: 120, credit: 1_500)
        reply.available = AssetAmounts(points: 340, credit: 1_500)
        reply.receipt = LoyaltyReceipt(isDecided: true, tier: 1, tierBefore: 0, rulesVersion: 1)
        reply.receipt.offerAppliedHash = OfferTable.hash(of: ShortIdentifier("FREQUENT")!)
        reply.receipt.offerGrantedHash = OfferTable.hash(of: ShortIdentifier("COME-BACK")!)
        #expect(
            text(reply)
                == "POINTS +120 BALANCE 340 | CREDIT +1500 BALANCE 1500 | TIER GOLD (UP FROM BRONZE) | OFFER FREQUENT "
                + "APPLIED | OFFER COME-BACK: 20.05% CREDIT ON YOUR NEXT PURCHASE WITHIN 20 DAYS")
        var balance = LedgerReply(tag: 2, key: .zero, status: .approved)
        balance.available = AssetAmounts(points: -25, credit: 0)
        balance.receipt.tier = 0
        #expect(text(balance) == "POINTS BALANCE -25 | TIER BRONZE")
    }

    @Test("an amount offer granted for the next visits, or announced, says its condition")
    func amountOfferConditions() throws {
        let rules = try Loyalty.Program(
            json: Array(
                """
                {"version": 1, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 100}},
                 "offers": [{"id": "NEXT", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
                             "trigger": {"purchaseAtLeastMinor": 200000}, "reward": {"creditBasisPoints": 2000},
                             "validVisits": 1},
                            {"id": "NEXT3", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
                             "trigger": {"purchaseAtLeastMinor": 150000}, "reward": {"bonusPoints": 50},
                             "validVisits": 3},
                            {"id": "ANY", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
                             "trigger": {"purchaseAtLeastMinor": 2000000}, "reward": {"bonusPoints": 500}}]}
                """.utf8))
        func line(_ offer: String) -> String {
            var reply = LedgerReply(tag: 1, key: .zero, status: .approved)
            reply.credited = AssetAmounts(points: 5, credit: 0)
            reply.available = AssetAmounts(points: 5, credit: 0)
            reply.receipt = LoyaltyReceipt(isDecided: true, tier: 0, tierBefore: 0, rulesVersion: 1)
            reply.receipt.offerGrantedHash = OfferTable.hash(of: ShortIdentifier(offer)!)
            var writer = ReceiptWriter()
            ResponseBuilder.writeReceipt(reply, names: ReceiptNames(rules), into: &writer)
            return writer.withBytes { String(decoding: $0, as: UTF8.self) }
        }
        #expect(line("NEXT") == "POINTS +5 BALANCE 5 | OFFER NEXT: 20% CREDIT ON YOUR NEXT PURCHASE OF 200000 OR MORE")
        #expect(
            line("NEXT3")
                == "POINTS +5 BALANCE 5 | OFFER NEXT3: +50 POINTS ON ONE OF YOUR NEXT 3 PURCHASES OF 150000 OR MORE")
        #expect(line("ANY") == "POINTS +5 BALANCE 5 | OFFER ANY: +500 POINTS ON A PURCHASE OF 2000000 OR MORE")
    }
}

/// Field 39 comes from one table: every ledger outcome maps to the code wire contract v1 gives it.
@Suite struct ResponseCodeTests {
    @Test("every ledger outcome has its contract code; codes spell their two digits")
    func oneTable() {
        let expected: [(LedgerStatus, String)] = [
            (.approved, "00"), (.partiallyApproved, "10"), (.insufficientFunds, "51"), (.unknownCard, "14"),
            (.cardBlocked, "62"), (.invalidAmount, "13"), (.originalNotFound, "25"), (.declined, "05"),
            (.notPermitted, "57"), (.notPermittedAtMerchant, "58"), (.keyConflict, "94"), (.overloaded, "91"),
            (.undone, "91"), (.capacityExceeded, "96"), (.systemError, "96"), (.originalMayBeForgotten, "96"),
        ]
        for (status, code) in expected { #expect(ResponseCode(status).text == code, "\(status)") }
        #expect(ResponseCode.allCases.map(\.text).allSatisfy { $0.count == 2 && $0.allSatisfy(\.isNumber) })
        #expect(Set(ResponseCode.allCases.map(\.text)).count == ResponseCode.allCases.count)
    }
}

/// Which rules a receipt names things by.
@Suite struct ReceiptRulesVersionTests {
    static func program(_ version: Int, tiers: [String] = []) -> Loyalty.Program {
        let levels = tiers.enumerated().map { #"{"id": "\#($1)", "from": \#($0 * 5)}"# }.joined(separator: ", ")
        let tierPart = tiers.isEmpty ? "" : #", "tiers": {"windowDays": 365, "by": "count", "levels": [\#(levels)]}"#
        return try! Loyalty.Program(json: Array(#"{"version": \#(version), "currency": 364\#(tierPart)}"#.utf8))
    }

    @Test("programs: the latest 4 put in force in this process; receipt names: the latest 64, also remembered from disk")
    func decidingVersion() {
        let (one, two) = (Self.program(1), Self.program(2))
        let decider = LoyaltyDecider(rules: one)
        decider.setRules(two)
        #expect(decider.program(version: 1) === one)
        #expect(decider.program(version: 2) === two && decider.program === two)
        #expect(decider.program(version: 0) == nil, "no version recorded")
        #expect(LoyaltyDecider(rules: two).program(version: 1) == nil, "after a restart")
        for version in 3...5 { decider.setRules(Self.program(version)) }
        #expect(decider.program(version: 2) === two, "4 versions kept: 2...5")
        #expect(decider.program(version: 1) == nil, "the oldest is forgotten")
        #expect(decider.receiptNames(version: 1) == ReceiptNames(one), "names outlive the programs")
        for version in 6...65 { decider.setRules(Self.program(version)) }
        #expect(decider.receiptNames(version: 1) == nil && decider.receiptNames(version: 2) != nil, "64 kept: 2...65")
        let restarted = LoyaltyDecider(rules: Self.program(66))
        restarted.remember(ReceiptNames(Self.program(7, tiers: ["OLD"])))
        #expect(restarted.receiptNames(version: 7)?.tier(0) == ShortIdentifier("OLD"))
        #expect(restarted.receiptNames(version: 8) == nil)
        restarted.remember(ReceiptNames(Self.program(66, tiers: ["OTHER"])))
        #expect(restarted.receiptNames(version: 66)?.tiers == [], "the version in force is never replaced from disk")
    }

    @Test("receipt names round-trip through their bytes; a truncated or altered copy is refused")
    func namesBytes() {
        let names = ReceiptNames(ReceiptTextTests.rules)
        #expect(names.tiers.count == 2 && names.offers.count == 2)
        #expect(ReceiptNames(bytes: names.bytes) == names)
        #expect(ReceiptNames(bytes: names.bytes.dropLast()) == nil)
        #expect(ReceiptNames(bytes: names.bytes + [0]) == nil)
        var unprintable = names.bytes
        unprintable[10] = 0x07  // the first byte of the first tier's identifier
        #expect(ReceiptNames(bytes: unprintable) == nil)
    }
}
