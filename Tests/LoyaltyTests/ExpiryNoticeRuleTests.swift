import Testing

@testable import Loyalty

/// The rules' `notifications` section: how many days before lots expire their member is told, and whether members are
/// greeted on their birthday, checked strictly.
@Suite struct ExpiryNoticeRuleTests {
    static func configuration(_ notifications: String) throws(ProgramConfigurationError) -> ProgramConfiguration {
        try ProgramConfiguration.fromJSON(Array(#"{"version": 1, "currency": 364, "notifications": \#(notifications)}"#.utf8))
    }

    static func error(_ notifications: String) -> ProgramConfigurationError? {
        do {
            _ = try configuration(notifications)
            return nil
        } catch {
            return error
        }
    }

    @Test("expiryNoticeDays is 0...365 (absent: 0, never told); an unknown key, a string, a fraction or a value out of range is an error naming its key")
    func strictSection() throws {
        #expect(try Program(configuration: Self.configuration(#"{"expiryNoticeDays": 7}"#)).expiryNoticeDays == 7)
        #expect(try Self.configuration(#"{}"#).expiryNoticeDays == 0)
        #expect(try Self.configuration(#"{"expiryNoticeDays": 365}"#).expiryNoticeDays == 365)
        let cases: [(String, String)] = [
            (#"{"expiryNoticeDays": 366}"#, "notifications.expiryNoticeDays"),
            (#"{"expiryNoticeDays": -1}"#, "notifications.expiryNoticeDays"),
            (#"{"expiryNoticeDays": "7"}"#, "notifications.expiryNoticeDays"),
            (#"{"expiryNoticeDays": 1.5}"#, "notifications.expiryNoticeDays"),
            (#"{"expiryNoticeDay": 7}"#, "notifications.expiryNoticeDay"),
            (#"[]"#, "notifications"),
        ]
        for (section, keyPath) in cases {
            let error = Self.error(section)
            #expect(error?.keyPath == keyPath, "\(section): \(String(describing: error))")
        }
    }

    @Test("birthdayGreeting is a boolean (absent: false); a string, a number or a misspelt key is an error naming its key")
    func birthdayGreetingKey() throws {
        #expect(try Program(configuration: Self.configuration(#"{"birthdayGreeting": true}"#)).birthdayGreeting)
        #expect(try Self.configuration(#"{"expiryNoticeDays": 3}"#).birthdayGreeting == false)
        let cases: [(String, String)] = [
            (#"{"birthdayGreeting": "yes"}"#, "notifications.birthdayGreeting"),
            (#"{"birthdayGreeting": 1}"#, "notifications.birthdayGreeting"),
            (#"{"birthdayGreetings": true}"#, "notifications.birthdayGreetings"),
        ]
        for (section, keyPath) in cases {
            let error = Self.error(section)
            #expect(error?.keyPath == keyPath, "\(section): \(String(describing: error))")
        }
    }
}
