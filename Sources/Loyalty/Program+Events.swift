/// Event bonuses during a purchase and on undo (docs/loyalty-rules.md, "Event bonuses").
extension Program {
    /// What the ledger may pay when it enrols a member without a purchase; it then sets
    /// `Member.enrolmentRewarded` so the first purchase does not pay it again.
    public var enrolmentPoints: Int64 { events.enrolmentPoints }

    /// The points this version pays for each one-off bonus a purchase can mark (what a notification tells).
    public var bonusPoints: (enrolment: Int64, firstPurchase: Int64, referral: Int64, birthday: Int64) {
        (events.enrolmentPoints, events.firstPurchasePoints, events.referredFirstPurchasePoints, events.birthdayPoints)
    }

    /// The bonuses this purchase earns, added after the caps. Enrolment and first purchase are marked on the
    /// member even when their bonus is 0, so that bonuses configured later never pay members who enrolled and
    /// bought before. Returns the member's points; the referrer's go to `referrerBonusPoints`.
    @inline(never)
    func applyEvents(
        timeMs: Int64, _ member: inout Member, _ effect: inout PurchaseEffect, _ explanation: inout Explanation,
        referrerBonusPoints: inout Int64
    ) -> Int64 {
        var points: Int64 = 0
        if !member.enrolmentRewarded {
            member.enrolmentRewarded = true
            effect.rewardedEvents.insert(.enrolment)
            points += events.enrolmentPoints
        }
        if !member.firstPurchaseRewarded {
            member.firstPurchaseRewarded = true
            effect.rewardedEvents.insert(.firstPurchase)
            points += events.firstPurchasePoints
            if member.isReferred {
                effect.rewardedEvents.insert(.referral)
                points += events.referredFirstPurchasePoints
                referrerBonusPoints = events.referrerPoints
            }
        }
        if events.birthdayPoints > 0, member.birthMonth != 0, member.birthDay != 0,
            let year = calendar.birthdayYear(
                holding: calendar.localDay(max(0, timeMs)), month: Int(member.birthMonth),
                day: Int(member.birthDay), windowDays: events.birthdayWindowDays),
            Int(member.birthdayRewardYear) != year
        {
            effect.birthdayRewardYearBefore = member.birthdayRewardYear
            member.birthdayRewardYear = UInt16(year)
            effect.rewardedEvents.insert(.birthday)
            points += events.birthdayPoints
        }
        precondition(points >= 0 && referrerBonusPoints >= 0, "event bonuses are never negative")
        precondition(effect.rewardedEvents.isSubset(of: .all), "a purchase marks only known events")
        precondition(
            !effect.rewardedEvents.contains(.referral) || effect.rewardedEvents.contains(.firstPurchase),
            "a referral bonus is paid only with the first purchase")
        explanation.events = effect.rewardedEvents
        explanation.eventPoints = Int32(points)
        return points
    }

    /// On a full undo: the events this purchase rewarded become available again (the ledger takes their
    /// points back with the purchase's postings).
    func undoEvents(_ effect: PurchaseEffect, _ member: inout Member) {
        if effect.rewardedEvents.contains(.enrolment) { member.enrolmentRewarded = false }
        if effect.rewardedEvents.contains(.firstPurchase) { member.firstPurchaseRewarded = false }
        if effect.rewardedEvents.contains(.birthday) { member.birthdayRewardYear = effect.birthdayRewardYearBefore }
    }
}
