import Foundation
import Testing

@testable import ISO8583

/// The JSON spec loader (Dialect+JSON.swift), spec-file loading by path or name (Dialect+Load.swift), and the
/// embedded copies of specs/*.json.
@Suite("Dialect JSON specs")
struct DialectJSONTests {
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// A minimal valid spec with `fieldJSON` as its only field 2 (or the whole "fields" object when given).
    static func spec(field fieldJSON: String = #"{"type": "n", "max": 6}"#, root: String = "") -> [UInt8] {
        Array(#"{"name": "test", \#(root) "fields": {"2": \#(fieldJSON)}}"#.utf8)
    }

    /// Loads `json` and returns the error it must raise.
    static func loadError(_ json: [UInt8], source: String = "test.json") -> DialectError? {
        do {
            _ = try Dialect.fromJSON(json, source: source)
            return nil
        } catch {
            return error
        }
    }

    struct ErrorCase: Sendable, CustomStringConvertible {
        let label: String
        let json: String
        /// The field the error must name, nil for file-level errors.
        let field: String?
        /// A piece of the message that says what is wrong.
        let says: String
        var description: String { label }
    }

    static let errorCases: [ErrorCase] = [
        .init(label: "not JSON", json: "{nope", field: nil, says: "not valid JSON"),
        .init(label: "top level array", json: "[1, 2]", field: nil, says: "top level must be an object"),
        .init(label: "name missing", json: #"{"fields": {}}"#, field: nil, says: "\"name\" is missing"),
        .init(label: "name empty", json: #"{"name": "", "fields": {}}"#, field: nil, says: "\"name\" is missing"),
        .init(
            label: "bad mti", json: #"{"name": "t", "mti": "hex", "fields": {}}"#, field: nil,
            says: "\"mti\" must be one of"),
        .init(
            label: "bad bitmap", json: #"{"name": "t", "bitmap": "bcd", "fields": {}}"#, field: nil,
            says: "\"bitmap\" must be one of"),
        .init(
            label: "header too long", json: #"{"name": "t", "headerLength": 65, "fields": {}}"#, field: nil,
            says: "headerLength"),
        .init(label: "fields missing", json: #"{"name": "t"}"#, field: nil, says: "\"fields\" is missing"),
        .init(
            label: "strict not a boolean", json: #"{"name": "t", "strictCharacterClasses": "yes", "fields": {}}"#,
            field: nil, says: "\"strictCharacterClasses\" must be true or false"),
        .init(
            label: "strict a number", json: #"{"name": "t", "strictCharacterClasses": 1, "fields": {}}"#,
            field: nil, says: "\"strictCharacterClasses\" must be true or false"),
        .init(
            label: "field 1", json: #"{"name": "t", "fields": {"1": {"type": "n", "max": 1}}}"#, field: "1",
            says: "field numbers must be 2...128"),
        .init(
            label: "field 129 without tertiary", json: #"{"name": "t", "fields": {"129": {"type": "n", "max": 1}}}"#,
            field: "129", says: "2...128"),
        .init(
            label: "field not a number", json: #"{"name": "t", "fields": {"two": {"type": "n", "max": 1}}}"#,
            field: "two", says: "field numbers"),
        .init(
            label: "65 with tertiary",
            json: #"{"name": "t", "tertiaryBitmap": true, "fields": {"65": {"type": "b", "max": 8}}}"#, field: "65",
            says: "tertiary bitmap"),
        .init(
            label: "field not an object", json: #"{"name": "t", "fields": {"2": 5}}"#, field: "2",
            says: "must be an object"),
        .init(
            label: "type missing", json: String(decoding: spec(field: #"{"max": 6}"#), as: UTF8.self), field: "2",
            says: "\"type\" must be one of"),
        .init(
            label: "type unknown", json: String(decoding: spec(field: #"{"type": "q", "max": 6}"#), as: UTF8.self),
            field: "2", says: "\"type\""),
        .init(
            label: "length unknown",
            json: String(decoding: spec(field: #"{"type": "n", "length": "LLLLL", "max": 6}"#), as: UTF8.self),
            field: "2", says: "\"length\" must be"),
        .init(
            label: "max missing", json: String(decoding: spec(field: #"{"type": "n"}"#), as: UTF8.self), field: "2",
            says: "\"max\" must be"),
        .init(
            label: "max zero", json: String(decoding: spec(field: #"{"type": "n", "max": 0}"#), as: UTF8.self),
            field: "2", says: "\"max\" must be 1..."),
        .init(
            label: "max over LL",
            json: String(decoding: spec(field: #"{"type": "n", "length": "LL", "max": 100}"#), as: UTF8.self),
            field: "2", says: "1...99"),
        .init(
            label: "max over fixed limit",
            json: String(decoding: spec(field: #"{"type": "ans", "max": 10000}"#), as: UTF8.self), field: "2",
            says: "1...9999"),
        .init(
            label: "encoding unknown",
            json: String(decoding: spec(field: #"{"type": "n", "max": 6, "encoding": "utf16"}"#), as: UTF8.self),
            field: "2", says: "\"encoding\" must be one of"),
        .init(
            label: "bcd for text",
            json: String(decoding: spec(field: #"{"type": "an", "max": 6, "encoding": "bcd"}"#), as: UTF8.self),
            field: "2", says: "bcd is only for types n, z and x+n"),
        .init(
            label: "ascii for binary",
            json: String(decoding: spec(field: #"{"type": "b", "max": 6, "encoding": "ascii"}"#), as: UTF8.self),
            field: "2", says: "type b needs encoding binary or hex"),
        .init(
            label: "hex for numeric",
            json: String(decoding: spec(field: #"{"type": "n", "max": 6, "encoding": "hex"}"#), as: UTF8.self),
            field: "2", says: "only for type b"),
        .init(
            label: "prefix unknown",
            json: String(
                decoding: spec(field: #"{"type": "n", "length": "LL", "max": 6, "prefixEncoding": "hex"}"#),
                as: UTF8.self), field: "2", says: "\"prefixEncoding\" must be one of"),
        .init(
            label: "padding unknown",
            json: String(decoding: spec(field: #"{"type": "n", "max": 6, "padding": "middle"}"#), as: UTF8.self),
            field: "2", says: "\"padding\" must be one of"),
        .init(
            label: "padding not a string",
            json: String(decoding: spec(field: #"{"type": "n", "max": 6, "padding": 1}"#), as: UTF8.self), field: "2",
            says: "\"padding\""),
    ]

    @Test("every loader error names the file, the field when there is one, and the problem", arguments: errorCases)
    func loaderErrorNamesFileAndField(_ errorCase: ErrorCase) throws {
        let error = try #require(Self.loadError(Array(errorCase.json.utf8), source: "specs/broken.json"))
        #expect(error.source == "specs/broken.json")
        #expect(error.field == errorCase.field)
        #expect(error.message.contains(errorCase.says), "message was: \(error.message)")
        #expect(error.description.hasPrefix("specs/broken.json: "))
        if let field = errorCase.field { #expect(error.description.contains("field \(field): ")) }
    }

    @Test("defaults: encoding and prefix from \"defaults\", type b stays binary, padding per type")
    func defaultsApply() throws {
        let json = #"""
            {"name": "t", "defaults": {"encoding": "bcd", "prefixEncoding": "binary"},
             "fields": {"2": {"type": "n", "length": "LL", "max": 19}, "52": {"type": "b", "max": 8},
                        "41": {"type": "ans", "max": 8, "encoding": "ascii"}}}
            """#
        let dialect = try Dialect.fromJSON(Array(json.utf8), source: "t.json")
        let pan = try #require(dialect.formats[2])
        #expect(pan.encoding == .bcd && pan.prefixEncoding == .binary && pan.padding == .leftZeroNibble)
        let pin = try #require(dialect.formats[52])
        #expect(pin.encoding == .binary && pin.padding == nil)
        let terminal = try #require(dialect.formats[41])
        #expect(terminal.encoding == .ascii && terminal.padding == .rightSpace)
        #expect(dialect.mtiEncoding == .ascii && dialect.bitmapEncoding == .binary && dialect.headerLength == 0)
    }

    @Test("every padding name maps to its side and value")
    func paddingNames() throws {
        let expected: [(String, Padding?)] = [
            ("none", nil), ("left-zero", .leftZero), ("right-space", .rightSpace),
            ("left-space", Padding(side: .left, value: 0x20)), ("right-zero", Padding(side: .right, value: 0x30)),
            ("left-nibble-0", .leftZeroNibble), ("left-nibble-F", .leftFNibble),
            ("right-nibble-0", .rightZeroNibble), ("right-nibble-F", .rightFNibble),
        ]
        for (name, padding) in expected {
            let dialect = try Dialect.fromJSON(
                Self.spec(field: #"{"type": "n", "max": 6, "padding": "\#(name)"}"#), source: "t.json")
            #expect(dialect.formats[2]?.padding == padding, "\(name)")
        }
    }

    @Test("the embedded JSON of every dialect is byte for byte specs/NAME.json (run specs/embed.sh when not)")
    func embeddedEqualsDisk() throws {
        let folder = Self.repositoryRoot.appendingPathComponent("specs")
        // admin-api.json is the admin API's OpenAPI document, not a dialect (embedded for SwitchCore).
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
            $0.hasSuffix(".json") && $0 != "admin-api.json"
        }
        let names = files.map { String($0.dropLast(".json".count)) }.sorted()
        #expect(names == BuiltinDialects.names.sorted())
        for name in names {
            let disk = try String(contentsOf: folder.appendingPathComponent("\(name).json"), encoding: .utf8)
            let embedded = try #require(BuiltinDialects.json(named: name))
            // The generated raw string literal drops the file's final newline.
            #expect(embedded + "\n" == disk, "specs/\(name).json differs from its embedded copy")
        }
    }

    @Test("every built-in dialect loads and names itself after its file")
    func builtinsLoad() throws {
        for name in BuiltinDialects.names {
            let dialect = try #require(BuiltinDialects.dialect(named: name))
            #expect(dialect.name == name)
        }
        #expect(BuiltinDialects.names.contains("iso87bcd") && BuiltinDialects.names.contains("iso93ascii"))
    }

    @Test("Dialect.named resolves a built-in name before a path")
    func namedBuiltin() throws {
        let dialect = try Dialect.named("iso93ascii")
        #expect(dialect.name == "iso93ascii" && dialect.formats[24]?.maxLength == 3)
    }

    @Test("Dialect.load reads a JSON file by content, with leading white space and a byte order mark")
    func loadJSONFile() throws {
        let path = try Self.temporaryFile("\u{FEFF}\n  " + String(decoding: Self.spec(), as: UTF8.self))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dialect = try Dialect.load(path: path)
        #expect(dialect.name == "test" && dialect.formats[2]?.maxLength == 6)
        #expect(try Dialect.named(path).name == "test")
    }

    @Test("Dialect.load errors name the file: missing, directory, empty, neither JSON nor XML, bad JSON")
    func loadErrorsNameTheFile() throws {
        let missing = "/nonexistent/dialect-\(UInt32.random(in: 0...UInt32.max)).json"
        let cases: [(String, String)] = [
            (missing, "no such file"),
            (NSTemporaryDirectory(), "is a directory"),
            (try Self.temporaryFile("  \n"), "empty"),
            (try Self.temporaryFile("name: iso87"), "not a spec file"),
            (try Self.temporaryFile("{\"name\": 3}"), "\"name\" is missing"),
        ]
        defer {
            for (path, _) in cases.dropFirst(2) { try? FileManager.default.removeItem(atPath: path) }
        }
        for (path, says) in cases {
            do {
                _ = try Dialect.named(path)
                Issue.record("\(path) loaded")
            } catch {
                #expect(error.source == path)
                #expect(error.message.contains(says), "\(path): \(error.message)")
            }
        }
    }

    static func temporaryFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "dialect-test-\(UInt64.random(in: 0...UInt64.max)).spec"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
