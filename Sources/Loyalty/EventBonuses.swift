/// One-off bonuses for events in a member's life (docs/loyalty-rules.md, "Event bonuses"): enrolment, the first
/// purchase, a referred member's first purchase (and the referrer's share), and the birthday.
///
/// They are paid on purchases (the evaluator is the only place rules run), after the caps, and are not capped:
/// each is paid at most once per member (the birthday once per year), so each is bounded by its own setting.
public struct EventBonuses: Sendable, Equatable {
    /// Paid on the member's first purchase that reaches the minimum purchase (`Program.enrolmentPoints` lets a
    /// ledger that enrols members without a purchase pay it at enrolment instead and set
    /// `Member.enrolmentRewarded`).
    public var enrolmentPoints: Int64
    public var firstPurchasePoints: Int64
    /// Paid on the first purchase inside `birthdayWindowDays` days either side of the member's birthday, once a
    /// year.
    public var birthdayPoints: Int64
    public var birthdayWindowDays: Int64
    /// For the referrer, when a referred member makes their first purchase (`Decision.referrerBonusPoints`; the
    /// ledger credits the referrer).
    public var referrerPoints: Int64
    /// For the referred member on their first purchase, on top of `firstPurchasePoints`.
    public var referredFirstPurchasePoints: Int64

    public init(
        enrolmentPoints: Int64 = 0, firstPurchasePoints: Int64 = 0, birthdayPoints: Int64 = 0,
        birthdayWindowDays: Int64 = 0, referrerPoints: Int64 = 0, referredFirstPurchasePoints: Int64 = 0
    ) {
        self.enrolmentPoints = enrolmentPoints
        self.firstPurchasePoints = firstPurchasePoints
        self.birthdayPoints = birthdayPoints
        self.birthdayWindowDays = birthdayWindowDays
        self.referrerPoints = referrerPoints
        self.referredFirstPurchasePoints = referredFirstPurchasePoints
    }
}

/// Calendar arithmetic for the birthday bonus, in integers (UTC, proleptic Gregorian).
enum Birthday {
    /// The year whose birthday window holds `dayNumber` (days since 1970-01-01), or nil. A 29 February birthday
    /// falls on 28 February in other years; a day beyond the month's end (31 April) on its last day. With
    /// windows of at most 30 days either side, at most one year's window can hold a day.
    static func year(holding dayNumber: Int64, month: Int, day: Int, windowDays: Int64) -> Int? {
        let year = civilYear(dayNumber)
        for candidate in (year - 1)...(year + 1) where CampaignTime.yearRange.contains(candidate) {
            let dayInMonth = min(day, CampaignTime.daysInMonth(candidate, month))
            let birthday = Int64(CampaignTime.daysSinceEpoch(year: candidate, month: month, day: dayInMonth))
            if abs(dayNumber - birthday) <= windowDays { return candidate }
        }
        return nil
    }

    /// The calendar year of a day number.
    static func civilYear(_ dayNumber: Int64) -> Int { civilYearAndMonth(dayNumber).year }

    /// The calendar year and month (1...12) of a day number (Howard Hinnant's `civil_from_days`).
    static func civilYearAndMonth(_ dayNumber: Int64) -> (year: Int, month: Int) {
        let shifted = dayNumber + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        return (Int(yearOfEra + era * 400) + (monthFromMarch >= 10 ? 1 : 0), Int((monthFromMarch + 2) % 12 + 1))
    }
}
