/// Reading and checking the `notifications` section (docs/loyalty-rules.md, "Notifications"): what the rules say
/// about telling members, as opposed to where the switch delivers (the switch configuration's `notifications`).
extension ProgramConfiguration {
    static func readNotifications(
        _ reader: JSONObjectReader?
    ) throws(ProgramConfigurationError) -> (expiryNoticeDays: Int64, birthdayGreeting: Bool) {
        guard let reader else { return (0, false) }
        try reader.rejectUnknownKeys(["expiryNoticeDays", "birthdayGreeting"])
        return (
            try reader.integer("expiryNoticeDays", default: 0), try reader.boolean("birthdayGreeting", default: false)
        )
    }

    func validateNotifications() throws(ProgramConfigurationError) {
        let daysMax = ProgramLimits.expiryNoticeDaysMax
        try Self.check(
            (0...daysMax).contains(expiryNoticeDays), "notifications.expiryNoticeDays", "must be 0...\(daysMax)")
    }
}
