import Foundation
import ISO8583
import Testing

/// `loyalty-switch iso decode|encode` from the outside: round trips for every built-in dialect, masking, errors.
@Suite("iso command")
struct ISOCommandTests {
    /// A message with the reference purchase fields, encoded by the codec in `dialect`.
    static func referenceHex(_ dialect: Dialect) throws -> String {
        var message = ISOMessage(dialect: dialect, mti: MTI(200)!)
        let fields: [(Int, String)] = [
            (2, "4761739001010010"), (3, "000000"), (4, "000000012345"), (7, "1125120000"), (11, "000123"),
            (12, "120000"), (32, "123456"), (35, "4761739001010010=2512101123"), (37, "123456789012"),
            (41, "TERM0001"), (42, "MERCHANT0000001"), (49, "364"),
        ]
        for (field, value) in fields where dialect.formats[field] != nil { try message.set(field, value) }
        return try message.encoded().map { String(format: "%02X", $0) }.joined()
    }

    @Test(
        "decode --unmasked then encode gives the same bytes, for every built-in dialect",
        arguments: BuiltinDialects.names)
    func roundTrip(dialectName: String) throws {
        let hex = try Self.referenceHex(BuiltinDialects.dialect(named: dialectName)!)
        let decoded = try CommandRunner.run(["iso", "decode", "--spec", dialectName, "--unmasked", hex])
        #expect(decoded.status == 0, "\(decoded.standardError)")
        let encoded = try CommandRunner.run(
            ["iso", "encode", "--spec", dialectName, "-"], input: decoded.standardOutput)
        #expect(encoded.status == 0, "\(encoded.standardError)")
        #expect(encoded.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == hex)
    }

    @Test("every pyiso8583 golden vector of iso87ascii decodes and re-encodes through the CLI")
    func goldenVectorsRoundTrip() throws {
        let url = CommandRunner.repositoryRoot.appendingPathComponent("fixtures/golden/iso87ascii.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let vectors = (root["vectors"] as! [[String: Any]]).prefix(10)
        for vector in vectors {
            let hex = vector["hex"] as! String
            let decoded = try CommandRunner.run(["iso", "decode", "--unmasked", hex])
            let encoded = try CommandRunner.run(["iso", "encode", "-"], input: decoded.standardOutput)
            #expect(
                encoded.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == hex.uppercased(),
                "\(vector["name"]!)")
        }
    }

    @Test("decode masks fields 2 and 35 to first 6 + last 4 unless --unmasked")
    func masksCardNumbers() throws {
        let hex = try Self.referenceHex(BuiltinDialects.dialect(named: "iso87ascii")!)
        let masked = try CommandRunner.run(["iso", "decode", hex])
        #expect(masked.status == 0)
        #expect(!masked.standardOutput.contains("4761739001010010"))
        #expect(masked.standardOutput.contains("\"2\": \"476173******0010\""))
        #expect(masked.standardOutput.contains("\"35\": \"476173******0010=**********\""))
    }

    @Test("a bad byte is reported with field and offset on stderr, exit status 1")
    func decodeErrorNamesFieldAndOffset() throws {
        // MTI 0200, bitmap with field 3 only, field 3 = "00A000": 'A' is at offset 12+2 = 14.
        let hex = "30323030" + "2000000000000000" + "303041303030"
        let outcome = try CommandRunner.run(["iso", "decode", hex])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("field 3 at offset 14: invalid character 0x41"))
        #expect(outcome.standardOutput.isEmpty)
    }

    @Test("encode refuses a bad value naming the field")
    func encodeErrorNamesField() throws {
        let outcome = try CommandRunner.run(["iso", "encode", #"{"mti": "0200", "fields": {"4": "12AB"}}"#])
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("field 4"))
    }

    @Test("--framed decodes every frame of a stream, one JSON line each")
    func framedStream() throws {
        let dialect = BuiltinDialects.dialect(named: "iso87ascii")!
        var message = ISOMessage(dialect: dialect, mti: MTI(800)!)
        try message.set(11, "000001")
        try message.set(70, "301")
        let bytes = try message.encoded()
        var stream: [UInt8] = []
        Framing().appendFrame(message: bytes, requestTPDU: nil, to: &stream)
        Framing().appendFrame(message: bytes, requestTPDU: nil, to: &stream)
        let hex = stream.map { String(format: "%02X", $0) }.joined()
        let outcome = try CommandRunner.run(["iso", "decode", "--framed", hex])
        #expect(outcome.status == 0)
        #expect(outcome.standardOutput.split(separator: "\n").count == 2)
        let truncated = try CommandRunner.run(["iso", "decode", "--framed", String(hex.dropLast(2))])
        #expect(truncated.status == 1)
        #expect(truncated.standardError.contains("do not form a whole frame"))
    }

    @Test("a jPOS GenericPackager XML file works as --spec")
    func jposPackagerAsSpec() throws {
        let xml = CommandRunner.repositoryRoot.appendingPathComponent("fixtures/jpos/iso87ascii.xml").path
        let outcome = try CommandRunner.run([
            "iso", "encode", "--spec", xml, #"{"mti": "0800", "fields": {"11": "000001", "70": "301"}}"#,
        ])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let back = try CommandRunner.run([
            "iso", "decode", "--spec", xml, outcome.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines),
        ])
        #expect(back.standardOutput.contains("\"70\": \"301\""))
    }

    @Test("--help works on every command and unknown options are usage errors")
    func helpAndUsage() throws {
        for command in [["--help"], ["iso", "--help"], ["iso", "decode", "--help"], ["serve", "--help"]] {
            let outcome = try CommandRunner.run(command)
            #expect(outcome.status == 0, "\(command)")
            #expect(outcome.standardOutput.contains("usage"), "\(command)")
        }
        let unknown = try CommandRunner.run(["iso", "decode", "--bogus", "00"])
        #expect(unknown.status == 2)
        #expect(unknown.standardError.contains("unknown option --bogus"))
    }
}
