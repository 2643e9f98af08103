import Testing

@testable import Loyalty

/// Personalised offers (Offer.swift, Program+Offers.swift, ProgramConfiguration+Offers.swift): the brief's two
/// customers with exact numbers, eligibility bounds, use limits, validity, undo, reloads that reorder or rename
/// offers, and the configuration's errors and limits. Base rules: 1 point per whole 10,000 rials, no store credit,
/// so every rial of credit below comes from an offer.
@Suite("Personalised offers")
struct OfferTests {
    static let dayMs: Int64 = 86_400_000
    /// 2026-01-01T00:00:00Z; `date -u -d 2026-01-01T00:00:00Z +%s` = 1767225600.
    static let january: Int64 = 1_767_225_600_000
    static func day(_ number: Int64) -> Int64 { january + number * dayMs }

    static let frequentSmall = """
        {"id": "FREQUENT-SMALL", "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
         "eligibility": {"purchasesAtLeast": 3, "averageTicketMaxMinor": 100000, "averageIntervalDaysMax": 14},
         "trigger": {"purchaseAtLeastMinor": 200000}, "reward": {"creditBasisPoints": 2000}}
        """
    static let comeBack = """
        {"id": "COME-BACK", "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
         "eligibility": {"purchasesAtLeast": 2, "averageTicketMinMinor": 300000, "averageIntervalDaysMin": 30},
         "trigger": {"returnWithinDays": 20}, "reward": {"creditBasisPoints": 2000}, "usesPerMemberMax": 3}
        """

    static func program(_ offers: [String]) throws -> Program {
        let json = """
            {"version": 5, "currency": 364, "earning": {"default": {"points": 1, "perAmountMinor": 10000}},
             "offers": [\(offers.joined(separator: ", "))]}
            """
        return try Program(json: Array(json.utf8))
    }

    static func purchase(_ amountMinor: Int64, at timeMs: Int64) -> Transaction {
        Transaction(
            amountMinor: amountMinor, currencyCode: 364, merchantCategoryCode: 5411,
            merchant: ShortIdentifier("SHOP")!, terminal: ShortIdentifier("TERM0001")!, timeMs: timeMs)
    }

    static func run(_ program: Program, _ purchases: [(Int64, Int64)], from member: Member = .new) -> [Decision] {
        var member = member
        var decisions: [Decision] = []
        for (amount, time) in purchases {
            let decision = program.evaluate(transaction: purchase(amount, at: time), member: member)
            #expect(decision.memberAfter.isPlausible)
            member = decision.memberAfter
            decisions.append(decision)
        }
        return decisions
    }

    /// 50,000 on days 0, 10, 20, 30: four purchases, average ticket 50,000, average interval 10 days.
    static let frequentHistory: [(Int64, Int64)] = (0..<4).map { (50_000, day($0 * 10)) }
    /// 500,000 on days 0, 45, 90: average ticket 500,000, average interval 45 days.
    static let infrequentHistory: [(Int64, Int64)] = (0..<3).map { (500_000, day($0 * 45)) }

    static let frequentSmallNextVisit = frequentSmall.replacingOccurrences(
        of: #""reward": {"creditBasisPoints": 2000}}"#,
        with: #""reward": {"creditBasisPoints": 2000}, "validVisits": 1}"#)

    @Test("an amount offer is announced on the receipt of the purchase at which the member holds it and misses it")
    func amountOfferIsAnnounced() throws {
        let program = try Self.program([Self.frequentSmall])
        let hash = OfferTable.hash(of: ShortIdentifier("FREQUENT-SMALL")!)
        let decisions = Self.run(program, Self.frequentHistory + [(250_000, Self.day(40))])
        // Days 0–20: not yet eligible (fewer than 3 purchases before); day 30: eligible, 50,000 misses 200,000.
        #expect(decisions[0..<3].allSatisfy { $0.effect.offerGrantedHash == 0 && $0.explanation.offerGranted < 0 })
        #expect(decisions[3].effect.offerGrantedHash == hash && decisions[3].explanation.offerGranted == 0)
        #expect(decisions[3].memberAfter.pendingOfferHash == 0, "announced, not pending: it needs no grant")
        #expect(decisions[4].effect.offerAppliedHash == hash && decisions[4].postings.creditEarnedMinor == 50_000)
        #expect(decisions[4].effect.offerGrantedHash == 0, "received, so not announced again")
    }

    @Test("validVisits 1: the purchase that makes the member eligible grants it for the next visit only")
    func amountOfferForTheNextVisit() throws {
        let program = try Self.program([Self.frequentSmallNextVisit])
        let hash = OfferTable.hash(of: ShortIdentifier("FREQUENT-SMALL")!)
        // Day 30 grants (shown), day 35's 250,000 receives 20% = 50,000.
        let used = Self.run(program, Self.frequentHistory + [(250_000, Self.day(35))])
        #expect(used[3].effect.offerGrantedHash == hash && used[3].memberAfter.pendingOfferHash == hash)
        #expect(used[3].memberAfter.pendingOfferVisitsLeft == 1 && used[3].postings.creditEarnedMinor == 0)
        #expect(used[4].effect.offerAppliedHash == hash && used[4].postings.creditEarnedMinor == 50_000)
        #expect(used[4].memberAfter.pendingOfferHash == 0)
        // A next visit below the amount ends the grant (and does not grant it again): the one after gets nothing,
        // even at 250,000, but is granted it again for the visit after (still eligible, a use left).
        let missed = Self.run(program, Self.frequentHistory + [(60_000, Self.day(35)), (250_000, Self.day(38))])
        #expect(missed[4].effect.offerAppliedHash == 0 && missed[4].memberAfter.pendingOfferHash == 0)
        #expect(missed[4].effect.offerGrantedHash == 0)
        #expect(missed[5].effect.offerAppliedHash == 0 && missed[5].postings.creditEarnedMinor == 0)
        #expect(missed[5].effect.offerGrantedHash == hash)
        // Without the grant, the granting purchase itself does not receive it, whatever its amount.
        let big = Self.run(program, Array(Self.frequentHistory.prefix(3)) + [(250_000, Self.day(30))])
        #expect(big[3].postings.creditEarnedMinor == 0 && big[3].effect.offerGrantedHash == hash)
    }

    @Test("validVisits 3: below-amount visits use the grant up; undoing the granting purchase withdraws it")
    func amountOfferForThreeVisits() throws {
        let three = Self.frequentSmall.replacingOccurrences(
            of: #""reward": {"creditBasisPoints": 2000}}"#,
            with: #""reward": {"creditBasisPoints": 2000}, "validVisits": 3}"#)
        let program = try Self.program([three])
        let visits = Self.run(
            program, Self.frequentHistory + [(10_000, Self.day(31)), (10_000, Self.day(32)), (250_000, Self.day(33))])
        #expect(visits[4].memberAfter.pendingOfferVisitsLeft == 2 && visits[5].memberAfter.pendingOfferVisitsLeft == 1)
        #expect(visits[6].postings.creditEarnedMinor == 50_000, "the third visit still holds it")
        let late = Self.run(
            program,
            Self.frequentHistory + [
                (10_000, Self.day(31)), (10_000, Self.day(32)), (10_000, Self.day(33)),
                (250_000, Self.day(34)),
            ])
        #expect(late[6].memberAfter.pendingOfferHash == 0 && late[7].postings.creditEarnedMinor == 0)
        let granting = visits[3]
        let undone = program.undo(granting.effect, refundedMinor: 50_000, member: granting.memberAfter)
        #expect(undone.pendingOfferHash == 0 && undone.pendingOfferVisitsLeft == 0 && undone.isPlausible)
    }

    @Test("validVisits: 1...255, and only on an amount trigger")
    func validVisitsConfiguration() throws {
        #expect(
            try Self.program([Self.frequentSmallNextVisit]).offer(
                withHash: OfferTable.hash(of: ShortIdentifier("FREQUENT-SMALL")!))?.validVisits == 1)
        for (bad, problem) in [
            (Self.frequentSmall.replacingOccurrences(of: "}}", with: #"}, "validVisits": 256}"#), "must be 1...255"),
            (
                Self.comeBack.replacingOccurrences(of: #""usesPerMemberMax": 3"#, with: #""validVisits": 1"#),
                "only for a purchaseAtLeastMinor trigger"
            ),
        ] {
            let error = #expect(throws: ProgramConfigurationError.self) { try Self.program([bad]) }
            #expect(error?.keyPath == "offers[0].validVisits" && error?.problem.contains(problem) == true)
        }
    }

    @Test("the frequent small spender gets 20% credit on a purchase of at least 200,000, once")
    func frequentSmallSpender() throws {
        let program = try Self.program([Self.frequentSmall, Self.comeBack])
        let member = Self.run(program, Self.frequentHistory).last!.memberAfter
        // Day 40: 250,000 ≥ 200,000 → 20% = 50,000 credit and 25 points.
        let offered = program.evaluate(transaction: Self.purchase(250_000, at: Self.day(40)), member: member)
        #expect(offered.postings == Postings(pointsEarned: 25, creditEarnedMinor: 50_000))
        #expect(offered.explanation.offerApplied == 0)
        #expect(program.offerIdentifier(at: 0) == ShortIdentifier("FREQUENT-SMALL"))
        #expect(offered.explanation.description.hasSuffix("; offers[0] applied"))
        #expect(offered.effect.offerAppliedHash == OfferTable.hash(of: ShortIdentifier("FREQUENT-SMALL")!))
        // 199,999 does not trigger it; the offer is used up after one use (usesPerMemberMax defaults to 1).
        let below = program.evaluate(transaction: Self.purchase(199_999, at: Self.day(40)), member: member)
        #expect(below.postings == Postings(pointsEarned: 19, creditEarnedMinor: 0))
        #expect(below.explanation.offerApplied == -1)
        let again = program.evaluate(transaction: Self.purchase(250_000, at: Self.day(50)), member: offered.memberAfter)
        #expect(again.postings.creditEarnedMinor == 0)
        // The infrequent big spender is not eligible for it (average ticket 500,000 > 100,000); at day 100 they
        // receive instead the come-back reward their day-90 purchase was granted (10 days earlier).
        let big = Self.run(program, Self.infrequentHistory).last!.memberAfter
        let notForBig = program.evaluate(transaction: Self.purchase(250_000, at: Self.day(100)), member: big)
        #expect(notForBig.explanation.offerApplied == 1)
    }

    @Test("the infrequent big spender is granted 20% for returning within 20 days: paid at day 15, not at day 25")
    func infrequentBigSpenderReturn() throws {
        let program = try Self.program([Self.frequentSmall, Self.comeBack])
        let member = Self.run(program, Self.infrequentHistory).last!.memberAfter
        // Day 135: the grant of day 90 has lapsed (45 days); eligible again (3 purchases, average 500,000, every
        // 45 days) → granted anew, shown on this receipt, no credit yet.
        let grant = program.evaluate(transaction: Self.purchase(500_000, at: Self.day(135)), member: member)
        #expect(grant.explanation.offerGranted == 1)
        #expect(grant.explanation.offerApplied == -1)
        #expect(grant.postings == Postings(pointsEarned: 50, creditEarnedMinor: 0))
        #expect(grant.memberAfter.pendingOfferHash == OfferTable.hash(of: ShortIdentifier("COME-BACK")!))
        #expect(grant.explanation.description.hasSuffix("; offers[1] granted"))
        // Day 150 (15 days later): 20% of 100,000 = 20,000.
        let back = program.evaluate(transaction: Self.purchase(100_000, at: Self.day(150)), member: grant.memberAfter)
        #expect(back.postings == Postings(pointsEarned: 10, creditEarnedMinor: 20_000))
        #expect(back.explanation.offerApplied == 1)
        #expect(back.memberAfter.offerUses.uses(ofHash: grant.memberAfter.pendingOfferHash) == 1)
        // Day 160 (25 days later): too late → nothing, and the grant is consumed.
        let late = program.evaluate(transaction: Self.purchase(100_000, at: Self.day(160)), member: grant.memberAfter)
        #expect(late.postings == Postings(pointsEarned: 10, creditEarnedMinor: 0))
        #expect(late.explanation.offerApplied == -1)
        #expect(late.memberAfter.offerUses.uses(ofHash: grant.memberAfter.pendingOfferHash) == 0)
        // Exactly 20 days later still counts: the bound is inclusive.
        let edge = program.evaluate(transaction: Self.purchase(100_000, at: Self.day(155)), member: grant.memberAfter)
        #expect(edge.postings.creditEarnedMinor == 20_000)
    }

    @Test("eligibility bounds: purchases, interval and recency need history; an empty member gets nothing")
    func eligibilityNeedsHistory() throws {
        let recent = """
            {"id": "RECENT", "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
             "eligibility": {"daysSinceLastPurchaseMin": 60}, "trigger": {"purchaseAtLeastMinor": 0},
             "reward": {"bonusPoints": 100}, "usesPerMemberMax": 255}
            """
        let program = try Self.program([recent])
        #expect(
            program.evaluate(transaction: Self.purchase(10_000, at: Self.day(0)), member: .new).postings.pointsEarned
                == 1)
        let member = Self.run(program, [(10_000, Self.day(0))]).last!.memberAfter
        // 59 days after the last purchase: not yet; 60 days: 1 + 100 bonus points.
        #expect(
            program.evaluate(transaction: Self.purchase(10_000, at: Self.day(59)), member: member).postings.pointsEarned
                == 1)
        #expect(
            program.evaluate(transaction: Self.purchase(10_000, at: Self.day(60)), member: member).postings.pointsEarned
                == 101)
    }

    @Test("an offer runs from `from` to just before `until`")
    func validityWindow() throws {
        let program = try Self.program([Self.frequentSmall.replacingOccurrences(of: "2027-01-01", with: "2026-02-10")])
        let member = Self.run(program, Self.frequentHistory).last!.memberAfter
        #expect(
            program.evaluate(transaction: Self.purchase(250_000, at: Self.day(40) - 1), member: member).postings
                .creditEarnedMinor == 50_000)
        #expect(
            program.evaluate(transaction: Self.purchase(250_000, at: Self.day(40)), member: member).postings
                .creditEarnedMinor == 0)
    }

    @Test("undo gives an offer's use back; undo of the granting purchase withdraws a pending grant only")
    func undoOffers() throws {
        let program = try Self.program([Self.frequentSmall, Self.comeBack])
        let frequent = Self.run(program, Self.frequentHistory).last!.memberAfter
        let used = program.evaluate(transaction: Self.purchase(250_000, at: Self.day(40)), member: frequent)
        let undone = program.undo(used.effect, refundedMinor: 250_000, member: used.memberAfter)
        #expect(undone.offerUses.uses(ofHash: used.effect.offerAppliedHash) == 0)
        #expect(
            program.evaluate(transaction: Self.purchase(250_000, at: Self.day(41)), member: undone).postings
                .creditEarnedMinor == 50_000)
        // A partial refund keeps the use.
        let refunded = program.undo(used.effect, refundedMinor: 100_000, member: used.memberAfter)
        #expect(refunded.offerUses.uses(ofHash: used.effect.offerAppliedHash) == 1)

        let infrequent = Self.run(program, Self.infrequentHistory).last!.memberAfter
        let grant = program.evaluate(transaction: Self.purchase(500_000, at: Self.day(135)), member: infrequent)
        let withdrawn = program.undo(grant.effect, refundedMinor: 500_000, member: grant.memberAfter)
        #expect(withdrawn.pendingOfferHash == 0)
        #expect(withdrawn.pendingOfferGrantTimeMs == 0)
        // Once the return purchase consumed the grant, undoing the grant changes no offer state; undoing the
        // return purchase gives its use back.
        let back = program.evaluate(transaction: Self.purchase(100_000, at: Self.day(150)), member: grant.memberAfter)
        let afterGrantUndo = program.undo(grant.effect, refundedMinor: 500_000, member: back.memberAfter)
        #expect(afterGrantUndo.offerUses == back.memberAfter.offerUses)
        #expect(afterGrantUndo.pendingOfferHash == back.memberAfter.pendingOfferHash)
        let afterReturnUndo = program.undo(back.effect, refundedMinor: 100_000, member: back.memberAfter)
        #expect(afterReturnUndo.offerUses.uses(ofHash: back.effect.offerAppliedHash) == 0)
    }

    @Test("reloads: use counts follow the offer's id, not its position; a renamed offer starts afresh")
    func reloadKeepsCountsById() throws {
        let first = try Self.program([Self.frequentSmall, Self.comeBack])
        let frequent = Self.run(first, Self.frequentHistory).last!.memberAfter
        let used = first.evaluate(transaction: Self.purchase(250_000, at: Self.day(40)), member: frequent).memberAfter
        let reordered = try Self.program([Self.comeBack, Self.frequentSmall])
        #expect(
            reordered.evaluate(transaction: Self.purchase(250_000, at: Self.day(41)), member: used).postings
                .creditEarnedMinor == 0)
        let renamed = try Self.program([
            Self.frequentSmall.replacingOccurrences(of: "FREQUENT-SMALL", with: "FREQUENT-2")
        ])
        let fresh = renamed.evaluate(transaction: Self.purchase(250_000, at: Self.day(41)), member: used)
        #expect(fresh.postings.creditEarnedMinor == 50_000)
        // The old offer's slot is reused only when no slot is free: here slot 1 is free.
        #expect(fresh.memberAfter.offerUses.slot(ofHash: OfferTable.hash(of: ShortIdentifier("FREQUENT-2")!)) == 1)
    }

    @Test("8 offers each used once fill the 8 slots; a later program's new offer reuses a slot of a removed one")
    func slotsAtTheLimit() throws {
        func offer(_ name: String) -> String {
            """
            {"id": "\(name)", "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
             "trigger": {"purchaseAtLeastMinor": 0}, "reward": {"bonusPoints": 1}}
            """
        }
        let eight = try Self.program((0..<8).map { offer("OLD-\($0)") })
        var member = Member.new
        for index in 0..<8 {
            let decision = eight.evaluate(
                transaction: Self.purchase(10_000, at: Self.day(Int64(index))), member: member)
            #expect(decision.explanation.offerApplied == Int8(index))
            member = decision.memberAfter
        }
        #expect((0..<8).allSatisfy { member.offerUses.count(atSlot: $0) == 1 })
        let replaced = try Self.program((0..<7).map { offer("OLD-\($0)") } + [offer("NEW")])
        let decision = replaced.evaluate(transaction: Self.purchase(10_000, at: Self.day(9)), member: member)
        #expect(decision.explanation.offerApplied == 7)
        #expect(decision.memberAfter.offerUses.slot(ofHash: OfferTable.hash(of: ShortIdentifier("NEW")!)) == 7)
        #expect(throws: ProgramConfigurationError.self) { try Self.program((0..<9).map { offer("O\($0)") }) }
    }

    static func error(_ offer: String) -> String? {
        do {
            _ = try program([offer])
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("offer errors name the key path")
    func configurationErrors() {
        func offer(_ body: String) -> String {
            #"{"id": "O", "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z", \#(body)}"#
        }
        let reward = #""reward": {"creditBasisPoints": 2000}"#
        let trigger = #""trigger": {"purchaseAtLeastMinor": 1}"#
        #expect(Self.error(offer(reward)) == "offers[0].trigger: is missing")
        #expect(Self.error(offer(trigger)) == "offers[0].reward: is missing")
        #expect(
            Self.error(offer(#"\#(trigger), "reward": {}"#))
                == "offers[0].reward: must give creditBasisPoints or bonusPoints above 0")
        #expect(
            Self.error(offer(#"\#(trigger), "reward": {"creditBasisPoints": 10001}"#))
                == "offers[0].reward.creditBasisPoints: must be 0...10000")
        #expect(
            Self.error(offer(#""trigger": {"returnWithinDays": 0}, \#(reward)"#))
                == "offers[0].trigger.returnWithinDays: must be 1...3660")
        #expect(
            Self.error(offer(#""trigger": {"returnWithinDays": 5, "purchaseAtLeastMinor": 1}, \#(reward)"#))?.hasPrefix(
                "offers[0].trigger.purchaseAtLeastMinor: unknown key") == true)
        #expect(
            Self.error(offer(#"\#(trigger), \#(reward), "usesPerMemberMax": 256"#))
                == "offers[0].usesPerMemberMax: must be 1...255")
        #expect(Self.error(offer(#"\#(trigger), \#(reward), "usesPerMemberMax": 255"#)) == nil)
        #expect(
            Self.error(
                offer(
                    #"\#(trigger), \#(reward), "eligibility": {"averageTicketMinMinor": 5, "averageTicketMaxMinor": 4}"#
                )) == "offers[0].eligibility.averageTicketMaxMinor: must not be below averageTicketMinMinor")
        #expect(
            Self.error(offer(#"\#(trigger), \#(reward), "eligibility": {"averageIntervalDaysMax": 3661}"#))
                == "offers[0].eligibility.averageIntervalDaysMax: must be 0...3660")
        #expect(
            Self.error(offer(#"\#(trigger), \#(reward), "eligibility": {"frequent": true}"#))?.hasPrefix(
                "offers[0].eligibility.frequent: unknown key") == true)
        #expect(
            Self.error(offer(#"\#(trigger), \#(reward)"#).replacingOccurrences(of: "2027", with: "2025"))
                == "offers[0].until: must be after from")
        let duplicate = try? Self.program([offer(#"\#(trigger), \#(reward)"#), offer(#"\#(trigger), \#(reward)"#)])
        #expect(duplicate == nil)
    }

    @Test("the id hash is pinned (members store it, so it must never change); colliding ids are refused")
    func hashPinnedAndCollisionsRefused() throws {
        // FNV-1a over the id's 16 bytes, zero-padded; worked out independently.
        #expect(OfferTable.hash(of: ShortIdentifier("O57285")!) == 0x81DA_45BF)
        #expect(OfferTable.hash(of: ShortIdentifier("O118421")!) == 0x81DA_45BF)
        func offer(_ name: String) -> String {
            """
            {"id": "\(name)", "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z",
             "trigger": {"purchaseAtLeastMinor": 0}, "reward": {"bonusPoints": 1}}
            """
        }
        #expect(
            throws: ProgramConfigurationError(
                keyPath: "offers[1].id", problem: "id hash collides with offer O57285; choose another id")
        ) {
            try Self.program([offer("O57285"), offer("O118421")])
        }
        #expect(throws: ProgramConfigurationError(keyPath: "offers[1].id", problem: "duplicate offer A")) {
            try Self.program([offer("A"), offer("A")])
        }
    }
}
