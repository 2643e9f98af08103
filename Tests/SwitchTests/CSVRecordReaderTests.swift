import TestSupport
import Testing

@testable import SwitchCore

/// The streaming CSV reader: RFC 4180 framing, the same records whatever the pieces the bytes come in, and every
/// malformed input class reported per record without stopping the stream.
@Suite struct CSVRecordReaderTests {
    /// The records of `text` read whole, byte by byte and in seeded random pieces; all three must agree.
    static func records(_ bytes: [UInt8], fieldBytesMax: Int = 64, fieldsMax: Int = 8) -> [CSVRecord] {
        func read(_ pieces: [Range<Int>]) -> [CSVRecord] {
            var reader = CSVRecordReader(fieldBytesMax: fieldBytesMax, fieldsMax: fieldsMax)
            var out: [CSVRecord] = []
            bytes.withUnsafeBytes { raw in
                for piece in pieces { reader.feed(UnsafeRawBufferPointer(rebasing: raw[piece])) { out.append($0) } }
            }
            reader.finish { out.append($0) }
            return out
        }
        let whole = read([0..<bytes.count])
        let single = read(bytes.indices.map { $0..<($0 + 1) })
        var generator = TestSupport.SplitMix64(seed: UInt64(bytes.count))
        var pieces: [Range<Int>] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + 1 + Int(generator.next() % 7))
            pieces.append(start..<end)
            start = end
        }
        let random = read(pieces)
        #expect(whole == single, "byte by byte")
        #expect(whole == random, "random pieces")
        return whole
    }

    static func records(_ text: String, fieldBytesMax: Int = 64, fieldsMax: Int = 8) -> [CSVRecord] {
        records(Array(text.utf8), fieldBytesMax: fieldBytesMax, fieldsMax: fieldsMax)
    }

    static func row(_ number: Int, _ fields: [String]) -> CSVRecord {
        .fields(number: number, fields.map { Array($0.utf8) })
    }

    @Test("quoted fields hold commas, doubled quotes and line breaks; CRLF, LF and lone CR end records")
    func rfc4180() {
        let text = "a,b,c\r\n\"x,y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\n1,,3\r4,5,6"
        #expect(
            Self.records(text) == [
                Self.row(1, ["a", "b", "c"]), Self.row(2, ["x,y", "say \"hi\"", "two\r\nlines"]),
                Self.row(3, ["1", "", "3"]), Self.row(4, ["4", "5", "6"]),
            ])
    }

    @Test("a byte order mark at the start is skipped (also split across pieces); EF not followed by BB BF is data")
    func byteOrderMark() {
        #expect(Self.records([0xEF, 0xBB, 0xBF] + Array("pan,name\n1,2\n".utf8)) == [
            Self.row(1, ["pan", "name"]), Self.row(2, ["1", "2"]),
        ])
        #expect(Self.records([0xEF, 0x41, 0x0A]) == [.fields(number: 1, [[0xEF, 0x41]])])
        #expect(Self.records([0xEF, 0xBB]) == [.fields(number: 1, [[0xEF, 0xBB]])], "a cut mark at the end is data")
    }

    @Test("blank lines are counted in row numbers but not emitted; a final line end adds no record")
    func blankLines() {
        #expect(Self.records("h\n\n\r\nx\n") == [Self.row(1, ["h"]), Self.row(4, ["x"])])
        #expect(Self.records("\"\"\n") == [Self.row(1, [""])], "a quoted empty field is a record")
        #expect(Self.records("").isEmpty)
    }

    @Test("Persian names in UTF-8 pass through as bytes")
    func persian() {
        #expect(Self.records("6037991234567893,\"رضا محمدی\"\n") == [Self.row(1, ["6037991234567893", "رضا محمدی"])])
    }

    @Test("a quote inside an unquoted field, a character after a closing quote: that record malformed, the next read")
    func strayQuotes() {
        let records = Self.records("a,b\"c\n\"x\"y,z\nok,1\n")
        #expect(records.count == 3)
        guard case .malformed(1, 2, let first) = records[0], case .malformed(2, 1, let second) = records[1] else {
            Issue.record("\(records)")
            return
        }
        #expect(first.contains("quote inside an unquoted field") && second.contains("after a closing quote"))
        #expect(records[2] == Self.row(3, ["ok", "1"]))
    }

    @Test("a quoted field open at the end of the file is malformed")
    func unterminatedQuote() {
        let records = Self.records("a,b\n\"never closed,\nmore")
        #expect(records.first == Self.row(1, ["a", "b"]))
        guard case .malformed(2, 1, let reason)? = records.last, records.count == 2 else {
            Issue.record("\(records)")
            return
        }
        #expect(reason.contains("not closed"))
    }

    @Test("a field at the limit is kept; one byte over is malformed and skipped without keeping it; so are extra fields")
    func limits() {
        let atLimit = String(repeating: "x", count: 16)
        let over = String(repeating: "y", count: 17)
        let quotedOver = "\"" + String(repeating: "z,\n", count: 40) + "\""
        let records = Self.records(
            "\(atLimit)\n\(over),next\n\(quotedOver)\n1,2,3,4\n1,2,3,4,5\nend\n", fieldBytesMax: 16, fieldsMax: 4)
        #expect(records.count == 6, "\(records)")
        #expect(records[0] == Self.row(1, [atLimit]))
        guard case .malformed(2, 1, let long) = records[1], case .malformed(3, 1, _) = records[2],
            case .malformed(5, 5, let many) = records[4]
        else {
            Issue.record("\(records)")
            return
        }
        #expect(long.contains("longer than 16 bytes") && many.contains("more than 4 fields"))
        #expect(records[3] == Self.row(4, ["1", "2", "3", "4"]))
        #expect(records[5] == Self.row(6, ["end"]))
    }

    @Test("hostile bytes: random input never crashes, never emits a field over the limit, agrees piece by piece")
    func hostileBytes() {
        var generator = TestSupport.SplitMix64(seed: 7)
        let alphabet: [UInt8] = Array("a,\"\r\n\u{00}".utf8) + [0xEF, 0xBB, 0xBF, 0xFF]
        for _ in 0..<300 {
            let bytes = (0..<Int(generator.next() % 200)).map { _ in alphabet[Int(generator.next() % 10)] }
            for record in Self.records(bytes, fieldBytesMax: 8, fieldsMax: 4) {
                if case .fields(_, let fields) = record {
                    #expect(fields.count <= 4 && fields.allSatisfy { $0.count <= 8 })
                }
            }
        }
    }
}
