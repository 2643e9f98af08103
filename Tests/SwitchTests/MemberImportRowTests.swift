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
