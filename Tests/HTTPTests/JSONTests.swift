import HTTP
import TestSupport
import Testing

/// The bounded JSON reader and writer, and typed field reads that name the JSON path of what is wrong.
@Suite("JSON")
struct JSONTests {
    static func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws(JSONSyntaxError) -> JSONValue {
        try JSONDocument.parse(Array(text.utf8), limits: limits).root
    }

    static func syntaxError(_ text: String, limits: JSONLimits = JSONLimits()) -> JSONSyntaxError? {
        do {
            _ = try parse(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    static func syntaxError(bytes: [UInt8]) -> JSONSyntaxError? {
        do {
            _ = try JSONDocument.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("values of every kind read back; escapes and surrogate pairs decode; integers are exact to Int64")
    func reading() throws {
        let root = try Self.parse(
            #" {"a": [1, -2, 3.5, 1e3, true, false, null], "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "big": 9223372036854775807, "o": {}} "#
        )
        let members = root.members!
        #expect(members.map(\.key) == ["a", "s", "big", "o"])
        let array = members[0].value.elements!
        #expect(array.map(\.integer) == [1, -2, nil, 1000, nil, nil, nil])
        #expect(array[4].boolean == true && array[5].boolean == false && array[6].isNull && array[2].isNumber)
        #expect(members[1].value.string == "x\"\\/\u{8}\u{c}\n\r\té😀")
        #expect(members[2].value.integer == Int64.max)
        #expect(members[3].value.members!.isEmpty)
        #expect(try Self.parse("-9223372036854775808").integer == Int64.min)
        #expect(try Self.parse("9223372036854775808").integer == nil, "one past Int64 is a number but no integer")
    }

    @Test("a whole value is an integer however it is written (12.0, 1.2e1, 120e-1, -0.0), as JSON Schema counts it")
    func wholeNumbersBySpelling() throws {
        let whole: [(String, Int64)] = [
            ("12.0", 12), ("12.000", 12), ("1.2e1", 12), ("120e-1", 12), ("1E+3", 1000), ("-4.50e1", -45),
            ("-0.0", 0), ("0e-400", 0), ("9.223372036854775807e18", Int64.max), ("-9223372036854775808.0", Int64.min),
        ]
        for (text, value) in whole {
            let number = try Self.parse(text)
            #expect(number.integer == value && number.isWholeNumber, "\(text)")
        }
        for text in ["12.5", "1e-1", "1.25e1", "5e-400"] {
            let number = try Self.parse(text)
            #expect(number.integer == nil && !number.isWholeNumber, "\(text)")
        }
        for text in ["1e19", "9223372036854775808.0", "-1e400"] {
            let number = try Self.parse(text)
            #expect(number.integer == nil && number.isWholeNumber, "\(text): whole, but beyond Int64")
        }
    }

    /// Each malformed class with the path the error names.
    static let malformed: [(text: String, path: String)] = [
        ("", "$"), ("  ", "$"), ("{", "$"), ("[1,]", "$[1]"), ("{\"a\":1,}", "$"), ("{\"a\" 1}", "$.a"), ("{a:1}", "$"),
        ("[1 2]", "$[0]"), ("01", "$"), ("1.", "$"), (".5", "$"), ("1e", "$"), ("-", "$"), ("+1", "$"),
        ("tru", "$"), ("nul", "$"), ("\"abc", "$"), ("\"a\u{1}b\"", "$"), ("\"\\x\"", "$"), ("\"\\u12\"", "$"),
        ("\"\\udc00\"", "$"), ("\"\\ud800\"", "$"), ("\"\\ud800\\u0041\"", "$"),
        ("{\"a\":[1,{\"b\":tru}]}", "$.a[1].b"),
        ("{\"odd key\":[x]}", "$[\"odd key\"][0]"), ("1 2", "$"), ("[]]", "$"), ("{\"a\":1}}", "$"),
    ]

    @Test("every malformed class is refused with its JSON path", arguments: malformed.indices)
    func malformedText(_ index: Int) {
        let (text, path) = Self.malformed[index]
        let error = Self.syntaxError(text)
        #expect(error?.path == path, "\(text): \(String(describing: error))")
    }

    @Test("UTF-8 is checked: overlong forms, surrogates, code points past U+10FFFF, stray and cut bytes refused")
    func utf8() {
        let bad: [[UInt8]] = [
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF5, 0x80, 0x80, 0x80], [0x80], [0xBF], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xFE], [0xFF],
        ]
        for sequence in bad {
            #expect(Self.syntaxError(bytes: [0x22] + sequence + [0x22]) != nil, "\(sequence)")
        }
        let good: [[UInt8]] = [
            [0xC2, 0x80], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        ]
        for sequence in good { #expect(Self.syntaxError(bytes: [0x22] + sequence + [0x22]) == nil, "\(sequence)") }
    }

    @Test("depthMax, stringBytesMax, numberBytesMax and valuesMax: at the limit parsed, one over refused")
    func limits() {
        var limits = JSONLimits()
        limits.depthMax = 4
        limits.stringBytesMax = 8
        limits.numberBytesMax = 5
        limits.valuesMax = 6
        #expect(Self.syntaxError("[[[[1]]]]", limits: limits) == nil)
        #expect(Self.syntaxError("[[[[[1]]]]]", limits: limits)?.problem.contains("depthMax") == true)
        #expect(Self.syntaxError("\"12345678\"", limits: limits) == nil)
        #expect(Self.syntaxError("\"123456789\"", limits: limits)?.problem.contains("stringBytesMax") == true)
        #expect(Self.syntaxError("-1234", limits: limits) == nil)
        #expect(Self.syntaxError("-12345", limits: limits)?.problem.contains("numberBytesMax") == true)
        #expect(Self.syntaxError("[1,2,3,4,5]", limits: limits) == nil)
        #expect(Self.syntaxError("[1,2,3,4,5,6]", limits: limits)?.problem.contains("valuesMax") == true)
    }

    @Test("a 100,000-deep nesting is refused at depthMax without recursion or a crash")
    func deepNesting() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Self.syntaxError(text)?.problem.contains("depthMax") == true)
    }

    @Test("the writer escapes what JSON needs and its output reads back to the same values")
    func writerRoundTrip() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("text", "quote \" back \\ line \n tab \t bell \u{7} é")
        writer.member("min", Int64.min)
        writer.key("list")
        writer.beginArray()
        writer.integer(0)
        writer.boolean(true)
        writer.null()
        writer.beginObject()
        writer.endObject()
        writer.endArray()
        writer.endObject()
        #expect(writer.isComplete)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(
            text
                == #"{"text":"quote \" back \\ line \n tab \t bell \u0007 é","min":-9223372036854775808,"list":[0,true,null,{}]}"#
        )
        let root = try JSONDocument.parse(writer.bytes).root
        #expect(root.members![0].value.string == "quote \" back \\ line \n tab \t bell \u{7} é")
        #expect(root.members![1].value.integer == Int64.min)
    }

    @Test("typed fields: wrong type or missing is 400, out of range 422, unknown or repeated 400, each naming its path")
    func fields() throws {
        func problem(_ text: String, _ read: (inout JSONFields) throws(HTTPProblem) -> Void) -> HTTPProblem? {
            do {
                var fields = try JSONFields(try Self.parse(text))
                try read(&fields)
                try fields.finish()
                return nil
            } catch let problem as HTTPProblem {
                return problem
            } catch {
                return HTTPProblem(.internalServerError, detail: "\(error)")
            }
        }
        let amount: (inout JSONFields) throws(HTTPProblem) -> Void = { fields throws(HTTPProblem) in
            _ = try fields.integer("amount", range: 1...10_000)
            if var profile = try fields.object("profile") {
                _ = try profile.string("name", lengthMax: 4)
                try profile.finish()
            }
        }
        #expect(problem(#"{"amount": 5, "profile": {"name": "abcd"}}"#, amount) == nil)
        #expect(
            problem(#"{"amount": "5"}"#, amount) == HTTPProblem(.badRequest, detail: "$.amount: must be an integer"))
        #expect(
            problem(#"{"amount": 5.5}"#, amount) == HTTPProblem(.badRequest, detail: "$.amount: must be an integer"))
        #expect(
            problem(#"{"amount": 0}"#, amount)
                == HTTPProblem(.unprocessableContent, detail: "$.amount: must be 1...10000"))
        #expect(problem(#"{"amount": 99999999999999999999}"#, amount)?.status == .unprocessableContent)
        #expect(problem(#"{"amount": 5.0, "profile": {}}"#, amount) == nil, "5.0 is the integer 5")
        #expect(
            problem(#"{"amount": 1e5}"#, amount)
                == HTTPProblem(.unprocessableContent, detail: "$.amount: must be 1...10000"))
        #expect(
            problem(#"{"amount": 1, "profile": {"name": "abcde"}}"#, amount)?.detail
                == "$.profile.name: must be at most 4 characters")
        #expect(
            problem(#"{"amount": 1, "profile": {"nmae": "a"}}"#, amount)?.detail
                == "$.profile.nmae: unknown field (allowed: name)")
        #expect(problem(#"{"amount": 1, "amount": 2}"#, amount)?.detail == "$.amount: given twice")
        #expect(problem(#"[1]"#, amount)?.detail == "$: must be an object")
        let required: (inout JSONFields) throws(HTTPProblem) -> Void = { fields throws(HTTPProblem) in
            guard try fields.string("pan", lengthMax: 19) != nil else { throw fields.missing("pan") }
        }
        #expect(problem(#"{}"#, required) == HTTPProblem(.badRequest, detail: "$.pan: is required"))
    }

    @Test("100,000 mutated JSON texts: the reader accepts or refuses each, never crashes, and what it accepts re-reads")
    func fuzz() {
        var random = SplitMix64(seed: 0x4A53_4F4E)
        let bases = [
            #"{"pan": "4761739001010010", "amount": 1250, "tags": ["a", "b"], "profile": {"name": "Zoë", "vip": true}}"#,
            #"[1, -2.5e3, null, false, "\u00e9\ud83d\ude00", {"x": [[]]}]"#, #""plain""#, "12345",
        ].map { Array($0.utf8) }
        for _ in 0..<100_000 {
            var bytes = bases[random.below(bases.count)]
            for _ in 0...random.below(3) {
                switch random.below(4) {
                case 0 where !bytes.isEmpty: bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.insert(Array(#"{}[]",:\0x"#.utf8)[random.below(10)], at: random.below(bytes.count + 1))
                case 2 where !bytes.isEmpty: bytes.remove(at: random.below(bytes.count))
                default: bytes.removeLast(random.below(bytes.count + 1))
                }
            }
            guard let document = try? JSONDocument.parse(bytes) else { continue }
            #expect(document.root.kind.rawValue <= JSONKind.null.rawValue)
        }
    }
}
