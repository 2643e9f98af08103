import Testing

@testable import Loyalty

/// Unknown keys in the rules: refused with their key path, and with the key probably meant when one is close.
@Suite("JSON object reader")
struct JSONObjectReaderTests {
    static func problem(_ json: String) -> String? {
        do {
            _ = try ProgramConfiguration.fromJSON(Array(json.utf8))
            return nil
        } catch {
            return error.description
        }
    }

    @Test(
        "a misspelt key names the key it probably meant",
        arguments: [
            (#"{"version": 1, "currency": 364, "earnings": {}}"#, "earnings: unknown key (did you mean earning?)"),
            (#"{"version": 1, "currency": 364, "Tiers": {}}"#, "Tiers: unknown key (did you mean tiers?)"),
            (
                #"{"version": 1, "currency": 364, "redemption": {"partialAproval": true}}"#,
                "redemption.partialAproval: unknown key (did you mean partialApproval?)"
            ),
        ])
    func misspeltKeySuggestsTheKnownOne(json: String, expected: String) {
        #expect(Self.problem(json) == expected)
    }

    @Test("a key close to none lists the keys allowed there")
    func unrelatedKeyListsTheAllowedKeys() {
        #expect(
            Self.problem(#"{"version": 1, "currency": 364, "lottery": true}"#)
                == "lottery: unknown key (allowed: calendar, campaigns, currency, earning, engagement, events, expiry, "
                + "groups, merchants, notifications, offers, redemption, storeCredit, tiers, utcOffset, version)")
    }
}
