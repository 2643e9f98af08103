/// Reading and checking the `events` section (docs/loyalty-rules.md, "Event bonuses").
extension ProgramConfiguration {
    static let eventKeys: [String] = [
        "enrolmentPoints", "firstPurchasePoints", "birthdayPoints", "birthdayWindowDays", "referrerPoints",
        "referredFirstPurchasePoints",
    ]

    static func readEvents(_ reader: JSONObjectReader?) throws(ProgramConfigurationError) -> EventBonuses {
        guard let reader else { return EventBonuses() }
        try reader.rejectUnknownKeys(Set(eventKeys))
        return EventBonuses(
            enrolmentPoints: try reader.integer("enrolmentPoints", default: 0),
            firstPurchasePoints: try reader.integer("firstPurchasePoints", default: 0),
            birthdayPoints: try reader.integer("birthdayPoints", default: 0),
            birthdayWindowDays: try reader.integer("birthdayWindowDays", default: 0),
            referrerPoints: try reader.integer("referrerPoints", default: 0),
            referredFirstPurchasePoints: try reader.integer("referredFirstPurchasePoints", default: 0))
    }

    func validateEvents() throws(ProgramConfigurationError) {
        let pointsMax = ProgramLimits.eventPointsMax
        let points: [(String, Int64)] = [
            ("enrolmentPoints", events.enrolmentPoints), ("firstPurchasePoints", events.firstPurchasePoints),
            ("birthdayPoints", events.birthdayPoints), ("referrerPoints", events.referrerPoints),
            ("referredFirstPurchasePoints", events.referredFirstPurchasePoints),
        ]
        for (key, value) in points {
            try Self.check((0...pointsMax).contains(value), "events.\(key)", "must be 0...\(pointsMax)")
        }
        let windowMax = ProgramLimits.birthdayWindowDaysMax
        try Self.check(
            (0...windowMax).contains(events.birthdayWindowDays), "events.birthdayWindowDays", "must be 0...\(windowMax)"
        )
    }
}
