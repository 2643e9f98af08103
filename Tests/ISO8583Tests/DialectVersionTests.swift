import Testing

@testable import ISO8583

/// A dialect says which edition of ISO 8583 it follows, so that the switch can refuse to serve one it cannot answer.
@Suite("Dialect version")
struct DialectVersionTests {
    static func spec(version: String) -> [UInt8] {
        Array(#"{"name": "v", \#(version) "fields": {"11": {"type": "n", "max": 6}}}"#.utf8)
    }

    @Test("the built-in dialects are 1987 but iso93ascii, which is 1993")
    func builtinVersions() {
        for name in BuiltinDialects.names {
            #expect(BuiltinDialects.dialect(named: name)?.version == (name == "iso93ascii" ? .iso1993 : .iso1987))
        }
    }

    @Test("a JSON spec declares its version; without one it is 1987; another year is refused")
    func declaredVersion() throws {
        #expect(try Dialect.fromJSON(Self.spec(version: #""version": 1993,"#), source: "v.json").version == .iso1993)
        #expect(try Dialect.fromJSON(Self.spec(version: ""), source: "v.json").version == .iso1987)
        #expect(throws: DialectError.self) {
            try Dialect.fromJSON(Self.spec(version: #""version": 1995,"#), source: "v.json")
        }
        #expect(ISOVersion.iso1993.description == "ISO 8583:1993" && ISOVersion.iso1993.mtiDigit == 1)
    }
}
