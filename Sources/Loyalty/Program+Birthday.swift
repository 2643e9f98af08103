/// The birthday greeting (`member.birthday`, the rules' `notifications.birthdayGreeting`): which members' birthday
/// is today in the club's calendar and offset. The ledger's greeting step asks; the bonus paid with a purchase
/// (`events.birthdayPoints`, its window) is separate and unchanged.
extension Program {
    /// The year of the club's calendar (2026, or 1405 under `persian`) whose birthday `month`/`day` falls on the
    /// club's local day of `timeMs`, or nil: not today, no birthday (month 0), or greetings off. A birthday the
    /// year lacks (29 February, 30 Esfand) is greeted on the month's last day, as the birthday window treats it.
    public func birthdayGreetingYear(month: Int, day: Int, atTimeMs timeMs: Int64) -> Int? {
        guard birthdayGreeting, calendar.system.isBirthday(month: month, day: day) else { return nil }
        let year = calendar.birthdayYear(holding: calendar.localDay(timeMs), month: month, day: day, windowDays: 0)
        precondition(year.map { $0 > 0 && $0 <= Int(UInt16.max) } ?? true, "a calendar year fits the record")
        return year
    }
}
