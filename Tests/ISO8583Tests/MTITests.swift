import ISO8583
import Testing

/// Message type indicators: parsing, the response rule of wire contract v1 and the repeat digit.
@Suite("MTI")
struct MTITests {
    // The contract's table: function digit to response, repeat digit cleared.
    @Test(
        "response MTIs follow the wire contract",
        arguments: [
            ("0100", "0110"), ("0101", "0110"), ("0200", "0210"), ("0201", "0210"), ("0220", "0230"),
            ("0221", "0230"), ("0400", "0410"), ("0401", "0410"), ("0420", "0430"), ("0421", "0430"),
            ("0800", "0810"), ("0801", "0810"), ("1200", "1210"), ("1420", "1430"),
        ])
    func response(request: String, response: String) throws {
        #expect(try #require(MTI(request)).response?.description == response)
    }

    // A response, notification, acknowledgement or function digit 9 has no response: moving the digit would roll
    // 0290 into class 3 and 9990 past four digits, and make a request of a response.
    @Test(
        "messages that expect no response have no response MTI",
        arguments: ["0290", "0291", "0299", "9990", "9999", "0210", "0230", "0840", "0860", "1290"])
    func noResponse(mti: String) throws {
        let response: MTI? = try #require(MTI(mti)).response
        #expect(response == nil, "\(mti) -> \(response.map { "\($0)" } ?? "nil")")
    }

    // Only the repeat digit changes: 0221 → 0220; a first attempt stays as it is.
    @Test(
        "withoutRepeat clears only the repeat digit",
        arguments: [
            ("0221", "0220"), ("0421", "0420"), ("0401", "0400"), ("0201", "0200"), ("0200", "0200"),
            ("0420", "0420"), ("0800", "0800"), ("1421", "1420"),
        ])
    func withoutRepeat(mti: String, expected: String) throws {
        #expect(try #require(MTI(mti)).withoutRepeat.description == expected)
    }

    // 0420 and 0421 share an idempotency key; 0200 and 0420 do not.
    @Test("a repeat and its original share withoutRepeat; different classes do not")
    func repeatKeys() throws {
        let advice = try #require(MTI("0420"))
        let repeated = try #require(MTI("0421"))
        #expect(advice.withoutRepeat == repeated.withoutRepeat)
        #expect(try #require(MTI("0200")).withoutRepeat != advice.withoutRepeat)
    }

    // Digits are named as ISO 8583 names them.
    @Test("version, class, function and origin digits")
    func digits() throws {
        let mti = try #require(MTI("1421"))
        #expect(mti.version == 1)
        #expect(mti.messageClass == 4)
        #expect(mti.function == 2)
        #expect(mti.origin == 1)
        #expect(mti.value == 1421)
    }

    // Exactly four ASCII digits parse; anything else is refused.
    @Test("text that is not four digits is refused", arguments: ["", "200", "02000", "02A0", "-200", "+200", " 200", "０２００"])
    func invalidText(text: String) {
        #expect(MTI(text) == nil)
    }

    // Numbers outside 0...9999 are refused; the text form keeps leading zeros.
    @Test("numeric range and zero-padded description")
    func numbers() throws {
        #expect(MTI(-1) == nil)
        #expect(MTI(10_000) == nil)
        #expect(try #require(MTI(0)).description == "0000")
        #expect(try #require(MTI(200)).description == "0200")
        #expect(try #require(MTI(9999)).description == "9999")
        #expect(MTI("0200") == MTI(200))
    }
}
