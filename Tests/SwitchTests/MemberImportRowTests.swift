import Loyalty
import Testing

@testable import SwitchCore

/// The checks of one import row: header, card digits and Luhn, dates that exist, balances, field counts, UTF-8.
@Suite struct MemberImportRowTests {
    static func fields(_ values: [String]) -> [[UInt8]] { values.map { Array($0.utf8) } }

    static func problem(_ values: [String]) -> MemberImportRow.Problem? {
        if case .failure(let problem) = MemberImportRow.parse(fields(values), row: 7) { return problem }
        return nil
    }

    @Test("the header is the contract's six columns in order, without case or surrounding blanks")
    func header() {
        #expect(MemberImportRow.headerProblem(Self.fields(["PAN", " name", "phone ", "Birthday", "points", "credit"])) == nil)
        #expect(MemberImportRow.headerProblem(Self.fields(["name", "pan", "phone", "birthday", "points", "credit"])) != nil)
        #expect(MemberImportRow.headerProblem(Self.fields(["pan", "name"])) != nil)
    }

    @Test("a good row: texts, birthday month and day, balances; empty fields absent or zero")
    func goodRow() throws {
        let row = try MemberImportRow.parse(
            Self.fields(["4111111111111111", "مریم", "+989121234567", "2000-02-29", "15", ""]), row: 2
        ).get()
        #expect(row.texts.name == "مریم" && row.texts.phone == "+989121234567" && row.texts.birthday == "2000-02-29")
        #expect(row.profile.birthMonth == 2 && row.profile.birthDay == 29 && row.points == 15 && row.credit == 0)
        let bare = try MemberImportRow.parse(Self.fields(["4111111111111111", "", "", "", "", ""]), row: 3).get()
        #expect(bare.texts.isEmpty && bare.points == 0)
    }

    @Test("under a persian program the birthday is a Solar Hijri date: 31 Shahrivar and 30 Esfand 1403 exist, 31 Mehr and 30 Esfand 1402 do not")
    func persianBirthdays() throws {
        func parse(_ birthday: String, _ calendar: CalendarSystem) -> Result<MemberImportRow, MemberImportRow.Problem> {
            MemberImportRow.parse(Self.fields(["4111111111111111", "", "", birthday, "", ""]), row: 9, calendar: calendar)
        }
        let shahrivar = try parse("1370-06-31", .persian).get()
        #expect(shahrivar.texts.birthday == "1370-06-31")
        #expect(shahrivar.profile.birthMonth == 6 && shahrivar.profile.birthDay == 31)
        let leapEsfand = try parse("1403-12-30", .persian).get()
        #expect(leapEsfand.profile.birthMonth == 12 && leapEsfand.profile.birthDay == 30)
        for impossible in ["1370-07-31", "1402-12-30", "1299-12-29", "1601-01-01", "2000-02-29", "1370-13-01", "1370-00-10"] {
            guard case .failure(let problem) = parse(impossible, .persian) else {
                Issue.record("\(impossible) is not a Solar Hijri date")
                continue
            }
            #expect(problem.row == 9 && problem.column == "birthday" && problem.reason.contains("Solar Hijri"), "\(problem)")
        }
        // The same texts read as Gregorian dates: 31 July exists, 31 June does not.
        #expect((try? parse("1370-07-31", .gregorian).get()) != nil)
        #expect((try? parse("1370-06-31", .gregorian).get()) == nil, "30 days hath June")
    }

    @Test("each bad field is named by its column with why; the card never in full")
    func badFields() {
        let card = "4111111111111111"
        let cases: [([String], String, String)] = [
            (["4111111111111112", "", "", "", "", ""], "pan", "Luhn"),
            (["41111", "", "", "", "", ""], "pan", "digits"),
            (["", "", "", "", "", ""], "pan", "empty"),
            ([card, "a\u{7}b", "", "", "", ""], "name", "control"),
            ([card, "", "12ab", "", "", ""], "phone", "digits"),
            ([card, "", "", "2001-02-29", "", ""], "birthday", "YYYY-MM-DD"),
            ([card, "", "", "2001-13-01", "", ""], "birthday", "YYYY-MM-DD"),
            ([card, "", "", "", "-1", ""], "points", "negative"),
            ([card, "", "", "", "1.5", ""], "points", "whole number"),
            ([card, "", "", "", "", "1000000000000"], "credit", "at most"),
            ([card, ""], "row", "2 fields"),
        ]
        for (values, column, reason) in cases {
            let problem = Self.problem(values)
            #expect(problem?.column == column && problem?.reason.contains(reason) == true, "\(values): \(String(describing: problem))")
            #expect(problem?.row == 7 && problem?.reason.contains("4111111111111112") == false)
        }
        var invalid = Self.fields([card, "", "", "", "", ""])
        invalid[1] = [0xC3, 0x28]
        if case .failure(let problem) = MemberImportRow.parse(invalid, row: 2) {
            #expect(problem.column == "name" && problem.reason.contains("UTF-8"))
        } else {
            Issue.record("invalid UTF-8 accepted")
        }
    }
}
