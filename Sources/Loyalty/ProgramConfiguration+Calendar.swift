/// Reading and checking the program's calendar and UTC offset (docs/loyalty-rules.md, "Calendar and time zone"),
/// and campaign times written in them.
extension ProgramConfiguration {
    static func readCalendar(_ reader: JSONObjectReader) throws(ProgramConfigurationError) -> CalendarSystem {
        guard reader.has("calendar") else { return .gregorian }
        guard let system = CalendarSystem(rawValue: try reader.string("calendar")) else {
            let allowed = CalendarSystem.allCases.map(\.rawValue).joined(separator: ", ")
            throw reader.fail("calendar", "must be one of \(allowed)")
        }
        return system
    }

    /// `"+03:30"`, `"-05:00"`, `"+00:00"`: a sign, hours and minutes, so the offset reads as operators write it.
    static func readUTCOffset(_ reader: JSONObjectReader) throws(ProgramConfigurationError) -> Int {
        guard reader.has("utcOffset") else { return 0 }
        let problem = "must be a UTC offset ±HH:MM from -12:00 to +14:00 (Tehran: +03:30)"
        let bytes = Array(try reader.string("utcOffset").utf8)
        guard bytes.count == 6, bytes[0] == 0x2B || bytes[0] == 0x2D, bytes[3] == 0x3A,
            [1, 2, 4, 5].allSatisfy({ (0x30...0x39).contains(bytes[$0]) })
        else { throw reader.fail("utcOffset", problem) }
        let digit = { (index: Int) in Int(bytes[index] - 0x30) }
        let (hours, minutes) = (digit(1) * 10 + digit(2), digit(4) * 10 + digit(5))
        let offset = (bytes[0] == 0x2D ? -1 : 1) * (hours * 60 + minutes)
        guard minutes < 60, ClubCalendar.utcOffsetMinutesRange.contains(offset) else {
            throw reader.fail("utcOffset", problem)
        }
        return offset
    }

    /// The offset as the configuration writes it, for error messages.
    static func utcOffsetText(_ minutes: Int) -> String {
        let magnitude = abs(minutes)
        let two = { (value: Int) in value < 10 ? "0\(value)" : "\(value)" }
        return "\(minutes < 0 ? "-" : "+")\(two(magnitude / 60)):\(two(magnitude % 60))"
    }

    /// A campaign time in the program's calendar and offset, as epoch milliseconds. A trailing `Z` (UTC) is
    /// accepted only when the offset is +00:00, where it is true; elsewhere it would contradict the offset.
    static func readTime(
        _ reader: JSONObjectReader, _ key: String, _ calendar: ClubCalendar
    ) throws(ProgramConfigurationError) -> Int64 {
        let text = try reader.string(key)
        let years = "\(calendar.yearRange.lowerBound)...\(calendar.yearRange.upperBound)"
        let offset = utcOffsetText(Int(calendar.utcOffsetMs / 60_000))
        guard let fields = CampaignTime.fields(text) else {
            throw reader.fail(
                key,
                "must be a time YYYY-MM-DDTHH:MM:SS in the \(calendar.system.rawValue) calendar (years \(years)) "
                    + "at the program's utcOffset \(offset)")
        }
        if fields.isUTC && calendar.utcOffsetMs != 0 {
            throw reader.fail(key, "ends in Z (UTC) but the program's times are at utcOffset \(offset): drop the Z")
        }
        guard
            let time = calendar.epochMilliseconds(
                year: fields.year, month: fields.month, day: fields.day, secondsOfDay: fields.secondsOfDay)
        else {
            guard calendar.yearRange.contains(fields.year) else {
                throw reader.fail(key, "years are \(years) in the \(calendar.system.rawValue) calendar")
            }
            let monthDays =
                (1...12).contains(fields.month) ? calendar.daysIn(month: fields.month, year: fields.year) : 0
            throw reader.fail(
                key,
                "\(text.prefix(10)) is no date of the \(calendar.system.rawValue) calendar"
                    + (monthDays > 0 ? " (month \(fields.month) of \(fields.year) has \(monthDays) days)" : ""))
        }
        return time
    }

    func validateCalendar() throws(ProgramConfigurationError) {
        let range = ClubCalendar.utcOffsetMinutesRange
        try Self.check(
            range.contains(utcOffsetMinutes), "utcOffset",
            "must be from \(Self.utcOffsetText(range.lowerBound)) to \(Self.utcOffsetText(range.upperBound))")
    }
}
