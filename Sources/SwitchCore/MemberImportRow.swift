import AdminAccess
import Ledger
import Loyalty

/// A row of a member import (`pan,name,phone,birthday,points,credit`), checked field by field with the same rules
/// as `POST /v1/members` and `POST /v1/members/{id}/adjustments`. Empty name, phone and birthday are absent; empty
/// points and credit are zero. The birthday is a date of the program's calendar (`"calendar": "persian"`: Solar
/// Hijri, as the club's members know their birthdays), its month and day the ledger's birthday.
struct MemberImportRow {
    static let columns = ["pan", "name", "phone", "birthday", "points", "credit"]
    /// An opening balance is at most this (twelve digits, as an adjustment's amount).
    static let balanceMax: Int64 = 999_999_999_999
    /// Bytes of the longest field a valid row can hold (a name of 100 characters of 4 bytes each, with room for
    /// combining marks); the CSV reader skips longer fields without keeping them.
    static let fieldBytesMax = 4 * MemberTexts.nameScalarsMax

    var card: CardNumber
    var texts: MemberTexts
    var profile: MemberProfile
    var points: Int64
    var credit: Int64

    /// A refused row: its 1-based record number, the column named as in the header (or `row`), and why.
    struct Problem: Error, Equatable, Sendable {
        var row: Int
        var column: String
        var reason: String
    }

    /// Nil when `fields` is the header this import expects (names compared without case or surrounding blanks).
    static func headerProblem(_ fields: [[UInt8]]) -> String? {
        let names = fields.map {
            String(decoding: $0, as: UTF8.self).trimmingBlanks.lowercased()
        }
        guard names == columns else {
            return "the first row must be the header \(columns.joined(separator: ",")) (found "
                + "\(names.prefix(8).map { String($0.prefix(32)) }.joined(separator: ",")))"
        }
        return nil
    }

    /// The row, or the first problem found in it (columns checked left to right); birthdays in `calendar`.
    static func parse(
        _ fields: [[UInt8]], row: Int, calendar: CalendarSystem = .gregorian
    ) -> Result<MemberImportRow, Problem> {
        func problem(_ column: String, _ reason: String) -> Result<MemberImportRow, Problem> {
            .failure(Problem(row: row, column: column, reason: reason))
        }
        guard fields.count == columns.count else {
            return problem("row", "has \(fields.count) fields; the header has \(columns.count)")
        }
        var texts = [String?]()
        for (index, bytes) in fields.enumerated() {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return problem(columns[index], "is not UTF-8")
            }
            texts.append(text.isEmpty ? nil : text)
        }
        guard texts[0] != nil else { return problem("pan", "is empty; every row names its card") }
        guard let card = CardNumber(ascii: fields[0]) else {
            return problem("pan", "must be \(CardNumber.digitCountMin)...\(CardNumber.digitCountMax) digits")
        }
        guard Self.passesLuhn(fields[0]) else {
            return problem("pan", "fails the Luhn check (\(card.masked))")
        }
        var row = MemberImportRow(card: card, texts: MemberTexts(), profile: MemberProfile(), points: 0, credit: 0)
        if let name = texts[1] {
            if let reason = MemberTexts.nameProblem(name) { return problem("name", reason) }
            row.texts.name = name
        }
        if let phone = texts[2] {
            if let reason = MemberTexts.phoneProblem(phone) { return problem("phone", reason) }
            row.texts.phone = phone
        }
        if let birthday = texts[3] {
            guard let (month, day) = Self.date(birthday, calendar: calendar) else {
                return problem("birthday", Self.dateProblem(calendar))
            }
            row.texts.birthday = birthday
            row.profile.birthMonth = month
            row.profile.birthDay = day
        }
        for (column, index) in [("points", 4), ("credit", 5)] {
            guard let text = texts[index] else { continue }
            switch Self.balance(text) {
            case .success(let amount): if index == 4 { row.points = amount } else { row.credit = amount }
            case .failure(let reason): return problem(column, reason.message)
            }
        }
        precondition((0...balanceMax).contains(row.points) && (0...balanceMax).contains(row.credit), "checked balances")
        precondition((row.profile.birthMonth == 0) == (row.texts.birthday == nil), "a birthday gives a month and a day")
        return .success(row)
    }

    struct BalanceProblem: Error {
        let message: String
    }

    /// An opening balance: digits only, 0...`balanceMax`.
    static func balance(_ text: String) -> Result<Int64, BalanceProblem> {
        if text.hasPrefix("-") { return .failure(BalanceProblem(message: "must not be negative")) }
        guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return .failure(BalanceProblem(message: "must be a whole number of digits"))
        }
        guard text.utf8.count <= 12, let amount = Int64(text), amount <= balanceMax else {
            return .failure(BalanceProblem(message: "must be at most \(balanceMax)"))
        }
        precondition(amount >= 0 && amount <= balanceMax, "an opening balance is 0...balanceMax")
        return .success(amount)
    }

    /// Month and day of a date `YYYY-MM-DD` that exists in `calendar` (29 February only in a Gregorian leap year,
    /// 30 Esfand only in a Persian one).
    /// Read from the UTF-8 bytes in place (no split strings: an import reads a million of them).
    static func date(_ text: String, calendar: CalendarSystem = .gregorian) -> (UInt8, UInt8)? {
        var text = text
        return text.withUTF8 { bytes -> (UInt8, UInt8)? in
            guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for index in range {
                    let digit = Int(bytes[index]) - 0x30
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
                calendar.isDate(year: year, month: month, day: day)
            else { return nil }
            precondition((1...12).contains(month) && (1...31).contains(day), "a date of the calendar")
            return (UInt8(month), UInt8(day))
        }
    }

    /// Why a birthday is refused, naming the calendar it is read in.
    static func dateProblem(_ calendar: CalendarSystem) -> String {
        switch calendar {
        case .gregorian: return "must be a date YYYY-MM-DD"
        case .persian:
            return "must be a Solar Hijri date YYYY-MM-DD (the program's calendar is persian): years "
                + "\(calendar.dateYears.lowerBound)...\(calendar.dateYears.upperBound), months 1-6 of 31 days, 7-11 "
                + "of 30, Esfand 29 (30 in a leap year)"
        }
    }

    /// The Luhn (mod 10) check over ASCII digits.
    static func passesLuhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (position, byte) in digits.reversed().enumerated() {
            var digit = Int(byte) - 0x30
            if position % 2 == 1 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return sum % 10 == 0
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingBlanks: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
