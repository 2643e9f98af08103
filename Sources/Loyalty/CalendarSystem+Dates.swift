/// Whole dates (a year, a month and a day) written in a club's calendar, as files and forms bring them: a member
/// import's birthday column is `YYYY-MM-DD` of the program's calendar.
extension CalendarSystem {
    /// The years a date may be written in: Gregorian 1…9999 (four digits), Persian those of
    /// `PersianCalendarTable` (1300–1600 AP), whose leap years come from Foundation.
    public var dateYears: ClosedRange<Int> {
        self == .persian ? PersianCalendarTable.yearRange : 1...9999
    }

    /// Whether `year-month-day` exists in this calendar: 29 February only in a Gregorian leap year, 30 Esfand only
    /// in a Persian leap year.
    public func isDate(year: Int, month: Int, day: Int) -> Bool {
        guard dateYears.contains(year), (1...12).contains(month), day >= 1 else { return false }
        switch self {
        case .gregorian: return day <= CampaignTime.daysInMonth(year, month)
        case .persian: return day <= PersianCalendarTable.daysIn(month: month, year: year, PersianCalendarTable.firstDays)
        }
    }
}
